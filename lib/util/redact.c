/*
 * redact: secrets out of readable text; see redact.h.
 */
#include <string.h>

#include <glib.h>

#include "redact.h"

char *redact_url(const char *url)
{
    if (url == NULL)
        return NULL;
    const char *scheme_end = strstr(url, "://");
    if (scheme_end == NULL)
        return g_strdup(url);
    const char *authority = scheme_end + 3;
    size_t authority_len = strcspn(authority, "/?#");
    /* The last "@" of the authority ends the user information (a password may hold an "@"
     * that was not percent-encoded). */
    const char *at = g_strrstr_len(authority, (gssize)authority_len, "@");
    if (at == NULL)
        return g_strdup(url);
    return g_strdup_printf("%.*s" REDACT_MASK "%s", (int)(authority - url), url, at);
}

char *redact_secret(const char *text, const char *secret)
{
    if (text == NULL)
        return NULL;
    if (secret == NULL || *secret == '\0')
        return g_strdup(text);
    GString *out = g_string_new(NULL);
    size_t secret_len = strlen(secret);
    const char *p = text, *found;
    while ((found = strstr(p, secret)) != NULL) {
        g_string_append_len(out, p, found - p);
        g_string_append(out, REDACT_MASK);
        p = found + secret_len;
    }
    g_string_append(out, p);
    return g_string_free(out, FALSE);
}
