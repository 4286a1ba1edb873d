/*
 * text: valid UTF-8 without control characters, as each destination needs it; see text.h.
 */
#include <string.h>

#include <glib.h>

#include "text.h"

/* A valid UTF-8 copy of the first LEN bytes of TEXT (-1: up to its NUL); "" for NULL. */
static char *text_make_valid(const char *text, gssize len)
{
    return g_utf8_make_valid(text != NULL ? text : "", text != NULL ? len : -1);
}

char *text_cut(const char *text, size_t max_chars)
{
    /* Made valid first: on a truncated sequence at the end, g_utf8_strlen() and
     * g_utf8_substring() step over the terminating NUL (a model's JSON string may hold any
     * bytes). And g_utf8_substring() would read past the end of a text shorter than the cut. */
    char *valid = text_make_valid(text, -1);
    if ((size_t)g_utf8_strlen(valid, -1) <= max_chars)
        return valid;
    char *cut = g_utf8_substring(valid, 0, (glong)max_chars);
    g_free(valid);
    return cut;
}

gboolean text_is_control_byte(unsigned char c)
{
    return c < ' ' || c == 0x7f;
}

char *text_make_valid_line(const char *text, gssize len)
{
    char *line = text_make_valid(text, len);
    for (char *p = line; *p != '\0'; p++)
        if ((unsigned char)*p < ' ')
            *p = ' ';
    return line;
}

char *text_clean_header(const char *text)
{
    char *line = text_make_valid(text, -1);
    for (char *p = line; *p != '\0'; p++)
        if (text_is_control_byte((unsigned char)*p))
            *p = ' ';
    return g_strstrip(line);
}

char *text_join_lines(const char *text, gssize len)
{
    char *line = text_make_valid(text, len);
    for (char *p = line; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    return g_strstrip(line);
}

char *text_unify_line_ends(const char *text)
{
    char *valid = text_make_valid(text, -1);
    GString *out = g_string_sized_new(strlen(valid) + 1);
    for (const char *p = valid; *p != '\0'; p++)
        if (*p != '\r')
            g_string_append_c(out, *p);
        else if (p[1] != '\n')
            g_string_append_c(out, '\n');
    g_free(valid);
    return g_string_free(out, FALSE);
}

char *text_clean_lines(const char *text)
{
    char *lines = text_unify_line_ends(text);
    char *kept = lines;
    for (const char *p = lines; *p != '\0'; p++)
        if (*p == '\n' || *p == '\t' || !text_is_control_byte((unsigned char)*p))
            *kept++ = *p;
    *kept = '\0';
    return lines;
}

char *text_clean_for_terminal(const char *text)
{
    char *valid = text_make_valid(text, -1);
    GString *out = g_string_sized_new(strlen(valid) + 1);
    for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c == '\r' && p[1] == '\n')
            continue;
        if (c != '\n' && c != '\t' && g_unichar_iscntrl(c))
            g_string_append_c(out, '?');
        else
            g_string_append_unichar(out, c);
    }
    g_free(valid);
    return g_string_free(out, FALSE);
}

char *text_terminal_line(const char *text)
{
    char *line = text_join_lines(text, -1);
    char *clean = text_clean_for_terminal(line);
    g_free(line);
    return clean;
}

char *text_quote_for_log(const char *text, glong max_chars)
{
    char *valid = text_make_valid(text, -1);
    GString *out = g_string_new(NULL);
    const char *p = valid;
    for (glong n = 0; *p != '\0' && n < max_chars; p = g_utf8_next_char(p), n++) {
        gunichar c = g_utf8_get_char(p);
        if (c == '"')
            g_string_append_c(out, '\'');
        else if (g_unichar_iscntrl(c))
            g_string_append_c(out, ' ');
        else
            g_string_append_unichar(out, c);
    }
    if (*p != '\0')
        g_string_append(out, "...");
    g_free(valid);
    return g_string_free(out, FALSE);
}

/* The character at P (before END) for text_append_strict(): U+FFFD for a byte that starts no
 * valid sequence (and then only that byte is taken), 0 for a NUL; *NEXT_R is what follows. */
static gunichar text_strict_char(const char *p, const char *end, const char **next_r)
{
    gunichar c = g_utf8_get_char_validated(p, end - p);
    *next_r = p + 1;
    if (*p == '\0')
        return 0;
    if (c == (gunichar)-1 || c == (gunichar)-2)
        return 0xFFFD;
    *next_r = g_utf8_next_char(p);
    return c;
}

/* C as text_append_strict() keeps it in MODE, or (gunichar)-1 when it is dropped. Line and
 * paragraph separators count as controls: readers and terminals break lines at them. */
static gunichar text_strict_map(gunichar c, enum text_strict_mode mode)
{
    if (c == 0xFEFF) /* byte order mark */
        return (gunichar)-1;
    if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0) || c == 0x2028 || c == 0x2029) {
        if (mode == TEXT_STRICT_LINE)
            return ' ';
        if (c == '\r' || c == 0x2028 || c == 0x2029)
            return '\n';
        if (c != '\n' && c != '\t')
            return (gunichar)-1;
    }
    return c;
}

gboolean text_append_strict(GString *out, const char *in, size_t len, size_t cap,
                            enum text_strict_mode mode)
{
    const char *p = in, *end = in + len;
    size_t start = out->len;
    gboolean truncated = FALSE;

    while (p < end) {
        const char *next;
        gunichar c = text_strict_char(p, end, &next);
        char buf[6];

        if (c == '\r' && mode == TEXT_STRICT_BODY && next < end && *next == '\n') {
            p = next;
            continue;
        }
        c = text_strict_map(c, mode);
        if (c == (gunichar)-1 || (mode == TEXT_STRICT_LINE && c == ' ' &&
                                  (out->len == start || out->str[out->len - 1] == ' '))) {
            p = next;
            continue;
        }
        int n = g_unichar_to_utf8(c, buf);
        if (out->len - start + n > cap) {
            truncated = TRUE;
            break;
        }
        g_string_append_len(out, buf, n);
        p = next;
    }
    if (mode == TEXT_STRICT_LINE)
        while (out->len > start && out->str[out->len - 1] == ' ')
            g_string_truncate(out, out->len - 1);
    return truncated;
}

char *text_strict_line(const char *value, size_t cap, gboolean *truncated_r)
{
    if (value == NULL)
        return NULL;
    GString *out = g_string_new(NULL);
    if (text_append_strict(out, value, strlen(value), cap, TEXT_STRICT_LINE))
        *truncated_r = TRUE;
    return g_string_free(out, FALSE);
}
