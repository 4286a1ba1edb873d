/*
 * http: shared libcurl set-up for JSON POSTs; see http.h.
 */
#include <string.h>

#include <curl/curl.h>
#include <glib.h>

#include "http.h"
#include "text.h"

/* The process's share (http.h) and a lock for each kind of data libcurl locks in it. */
static CURLSH *http_share;
static GMutex http_share_locks[CURL_LOCK_DATA_LAST];

static void http_share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *user)
{
    g_mutex_lock(&http_share_locks[data < CURL_LOCK_DATA_LAST ? data : CURL_LOCK_DATA_NONE]);
}

static void http_share_unlock(CURL *handle, curl_lock_data data, void *user)
{
    g_mutex_unlock(&http_share_locks[data < CURL_LOCK_DATA_LAST ? data : CURL_LOCK_DATA_NONE]);
}

void http_share_init(void)
{
    if (http_share != NULL)
        return;
    CURLSH *share = curl_share_init();
    if (share == NULL)
        g_error("curl_share_init failed"); /* out of memory: abort like g_malloc */
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, http_share_lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, http_share_unlock);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    http_share = share;
}

void http_share_cleanup(void)
{
    if (http_share != NULL && curl_share_cleanup(http_share) == CURLSHE_OK)
        http_share = NULL;
}

CURL *http_handle_new(void)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        g_error("curl_easy_init failed"); /* out of memory: abort like g_malloc */
    if (http_share != NULL)
        curl_easy_setopt(curl, CURLOPT_SHARE, http_share);
    return curl;
}

struct curl_slist *http_prepare_post(CURL *curl, const char *url, const char *body,
                                     const char *extra_header, gint64 timeout_seconds)
{
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (extra_header != NULL)
        headers = curl_slist_append(headers, extra_header);

    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(timeout_seconds * 1000));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(MIN(timeout_seconds, 10) * 1000));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
    return headers;
}

char *http_excerpt(const GString *answer, size_t max_bytes)
{
    return text_make_valid_line(answer->str, (gssize)MIN(answer->len, max_bytes));
}

gint64 http_retry_after(const char *value, gint64 now, gint64 max_seconds)
{
    while (g_ascii_isspace(*value))
        value++;
    char *text = g_strchomp(g_strndup(value, 64));
    gint64 seconds = 0;
    if (g_ascii_isdigit(*text)) {
        guint64 delay = 0;
        if (g_ascii_string_to_unsigned(text, 10, 0, G_MAXINT64, &delay, NULL))
            seconds = (gint64)MIN(delay, (guint64)max_seconds);
        else if (strspn(text, "0123456789") == strlen(text))
            seconds = max_seconds; /* more digits than a number holds: a long wait */
    } else {
        time_t when = curl_getdate(text, NULL);
        if (when != -1 && (gint64)when > now)
            seconds = MIN((gint64)when - now, max_seconds);
    }
    g_free(text);
    return seconds;
}
