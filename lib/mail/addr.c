/*
 * addr: address syntax, SRS and role senders; see addr.h.
 */
#include <string.h>

#include <glib.h>

#include "addr.h"

/* Local parts of role senders (vacation(1), Zammad); owner-* and *-request besides. */
static const char *const addr_role_names[] = {"mailer-daemon", "postmaster", "abuse", "root"};
/* Words that mark no-reply and bounce addresses wherever they stand in the local part, as
 * words of their own: a letter touching them makes another word (bouncer, noreplyguy). */
static const char *const addr_machine_words[] = {"noreply",      "no-reply", "donotreply",
                                                 "do-not-reply", "bounce",   "bounces"};

gboolean addr_is_safe(const char *address)
{
    size_t len = strlen(address);
    const char *at = strchr(address, '@');

    if (len == 0 || len > ADDR_MAX || at == NULL || at == address || at[1] == '\0' ||
        strchr(at + 1, '@') != NULL || address[0] == '-')
        return FALSE;
    for (const unsigned char *p = (const unsigned char *)address; *p != '\0'; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p) != NULL)
            return FALSE;
    return TRUE;
}

char *addr_bare(const char *text, size_t max_len)
{
    char *bare = g_strndup(text != NULL ? text : "", max_len);
    g_strstrip(bare);
    size_t len = strlen(bare);
    if (len >= 2 && bare[0] == '<' && bare[len - 1] == '>') {
        memmove(bare, bare + 1, len - 2);
        bare[len - 2] = '\0';
    }
    return bare;
}

const char *addr_domain(const char *address)
{
    const char *at = strrchr(address, '@');
    return at != NULL ? at + 1 : NULL;
}

char *addr_unwrap_srs(const char *address)
{
    char *current = g_strdup(address);
    for (int depth = 0; depth < 4; depth++) {
        const char *at = strrchr(current, '@');
        gboolean srs0 = g_ascii_strncasecmp(current, "SRS0", 4) == 0;
        gboolean srs1 = g_ascii_strncasecmp(current, "SRS1", 4) == 0;
        if (at == NULL || (!srs0 && !srs1) || strchr("=+-", current[4]) == NULL)
            break;
        char *local = g_strndup(current + 5, (gsize)(at - current - 5));
        char **fields = g_strsplit(local, "=", srs0 ? 4 : 3);
        char *unwrapped = NULL;
        if (srs1 && g_strv_length(fields) == 3 && fields[2][0] != '\0' &&
            strchr("=+-", fields[2][0]) != NULL)
            unwrapped = g_strdup_printf("SRS0%s%s", fields[2], at); /* its SRS0 part */
        else if (srs0 && g_strv_length(fields) == 4 && *fields[2] != '\0' && *fields[3] != '\0')
            unwrapped = g_strdup_printf("%s@%s", fields[3], fields[2]);
        g_strfreev(fields);
        g_free(local);
        if (unwrapped == NULL)
            break;
        g_free(current);
        current = unwrapped;
    }
    return current;
}

/* Is WORD in TEXT as a word of its own, with no letter touching it on either side? */
static gboolean addr_has_word(const char *text, const char *word)
{
    size_t len = strlen(word);
    for (const char *p = strstr(text, word); p != NULL; p = strstr(p + 1, word))
        if ((p == text || !g_ascii_isalpha(p[-1])) && !g_ascii_isalpha(p[len]))
            return TRUE;
    return FALSE;
}

/* The role name rule NAME (a lowercased local part) matches, or NULL. */
static const char *addr_role_name_rule(const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < G_N_ELEMENTS(addr_role_names); i++)
        if (strcmp(name, addr_role_names[i]) == 0)
            return addr_role_names[i];
    if (len > 6 && strncmp(name, "owner-", 6) == 0)
        return "owner-*"; /* "owner" alone is a person's address, or a list owner's */
    if (len > 8 && g_str_has_suffix(name, "-request"))
        return "*-request";
    return NULL;
}

const char *addr_role_rule(const char *address)
{
    char *unwrapped = addr_unwrap_srs(address);
    const char *at = strrchr(unwrapped, '@');
    char *local = g_ascii_strdown(unwrapped, at != NULL ? at - unwrapped : -1);
    local[strcspn(local, "+")] = '\0'; /* the sub-address: owner-list+tag=host, postmaster+x */
    /* A VERP address with '-' before the encoded recipient (foo-request-joe=example.org): its
     * role is what stands before that last '-'. */
    const char *equals = strchr(local, '=');
    const char *dash = equals != NULL ? g_strrstr_len(local, equals - local, "-") : NULL;
    const char *rule = addr_role_name_rule(local);
    if (rule == NULL && dash != NULL) {
        char *verp = g_strndup(local, (gsize)(dash - local));
        rule = addr_role_name_rule(verp);
        g_free(verp);
    }
    /* no_reply, no.reply, do_not_reply ...: one spelling per word once '_' and '.' are '-'. */
    g_strdelimit(local, "_.", '-');
    for (size_t i = 0; i < G_N_ELEMENTS(addr_machine_words) && rule == NULL; i++)
        if (addr_has_word(local, addr_machine_words[i]))
            rule = addr_machine_words[i];
    g_free(local);
    g_free(unwrapped);
    return rule;
}
