/*
 * config_values: files named by keys, and language tags; see config_values.h.
 */
#include <string.h>
#include <sys/stat.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "config_values.h"

/* The contents of PATH, refused when it is not a regular file (a FIFO would block the load)
 * or is larger than MAX. */
static int config_values_read(const char *path, size_t max, char **text_r, gsize *len_r,
                              char **reason_r)
{
    GStatBuf st;
    gboolean found = g_stat(path, &st) == 0;
    if (found && !S_ISREG(st.st_mode)) {
        *reason_r = g_strdup_printf("%s is not a regular file", path);
        return -1;
    }
    if (found && (guint64)st.st_size > max) {
        *reason_r = g_strdup_printf("%s is larger than %zu bytes", path, max);
        return -1;
    }
    GError *gerror = NULL;
    if (!g_file_get_contents(path, text_r, len_r, &gerror)) {
        *reason_r = g_strdup(gerror->message);
        g_error_free(gerror);
        return -1;
    }
    if (*len_r > max) { /* it grew since the stat */
        g_free(*text_r);
        *reason_r = g_strdup_printf("%s is larger than %zu bytes", path, max);
        return -1;
    }
    return 0;
}

int config_values_read_text(const char *path, size_t max, char **text_r, char **reason_r)
{
    char *text = NULL;
    gsize len = 0;
    if (config_values_read(path, max, &text, &len, reason_r) < 0)
        return -1;
    if (memchr(text, '\0', len) != NULL || !g_utf8_validate(text, (gssize)len, NULL)) {
        g_free(text);
        *reason_r = g_strdup_printf("%s is not UTF-8 text", path);
        return -1;
    }
    *text_r = text;
    return 0;
}

int config_values_read_secret(const char *path, size_t max, char **secret_r, char **reason_r)
{
    /* A secret every local user can read is no secret: refused before it is read. */
    GStatBuf st;
    if (g_stat(path, &st) == 0 && (st.st_mode & S_IROTH) != 0) {
        *reason_r = g_strdup_printf("%s is readable by every user (chmod 600 or 640)", path);
        return -1;
    }
    char *text = NULL;
    gsize len = 0;
    if (config_values_read(path, max, &text, &len, reason_r) < 0)
        return -1;
    gboolean has_nul = memchr(text, '\0', len) != NULL;
    g_strstrip(text);
    if (has_nul || *text == '\0' || strpbrk(text, "\r\n") != NULL) {
        explicit_bzero(text, len);
        g_free(text);
        *reason_r = g_strdup_printf("%s must hold one secret on one line", path);
        return -1;
    }
    *secret_r = text;
    return 0;
}

void config_values_free_secret(char *secret)
{
    if (secret == NULL)
        return;
    explicit_bzero(secret, strlen(secret));
    g_free(secret);
}

/* Is TEXT[0..LEN) made of characters of which IS accepts each? */
static gboolean config_values_all(const char *text, size_t len, gboolean (*is)(gchar c))
{
    for (size_t i = 0; i < len; i++)
        if (!is(text[i]))
            return FALSE;
    return TRUE;
}

static gboolean config_values_alpha(gchar c)
{
    return g_ascii_isalpha(c);
}

static gboolean config_values_digit(gchar c)
{
    return g_ascii_isdigit(c);
}

static gboolean config_values_alnum(gchar c)
{
    return g_ascii_isalnum(c);
}

gboolean config_values_is_language(const char *tag)
{
    if (strcmp(tag, "auto") == 0)
        return TRUE;
    if (*tag == '\0' || strlen(tag) > 35)
        return FALSE;
    char **subtags = g_strsplit(tag, "-", -1);
    gboolean valid = TRUE;
    int stage = 0; /* 0 language, 1 script, 2 region, 3 variants */
    for (int i = 0; subtags[i] != NULL && valid; i++) {
        const char *s = subtags[i];
        size_t len = strlen(s);
        if (i == 0)
            valid = len >= 2 && len <= 3 && config_values_all(s, len, config_values_alpha);
        else if (stage < 1 && len == 4 && config_values_all(s, len, config_values_alpha))
            stage = 1;
        else if (stage < 2 && ((len == 2 && config_values_all(s, len, config_values_alpha)) ||
                               (len == 3 && config_values_all(s, len, config_values_digit))))
            stage = 2;
        else {
            /* A variant: 5 to 8 letters or digits, or 4 starting with a digit. */
            stage = 3;
            valid = config_values_all(s, len, config_values_alnum) &&
                    ((len >= 5 && len <= 8) || (len == 4 && g_ascii_isdigit(s[0])));
        }
    }
    g_strfreev(subtags);
    return valid;
}
