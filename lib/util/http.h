/*
 * http: the libcurl settings every outgoing request of mailtriage shares.
 *
 * http_handle_new() makes a handle that uses the process's share of the DNS cache and TLS
 * sessions (http_share_init() once before threads start, http_share_cleanup() after the last
 * handle is gone; without it a handle shares nothing). Connections are not shared between
 * handles: libcurl does not support a connection cache used by concurrent threads
 * (CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT), so a handle keeps its own alive, used by one
 * thread at a time. http_prepare_post() resets a handle and sets it up for one JSON POST: http and
 * https only, no redirects, no signals (threads), the Content-Type and an empty Expect header plus
 * any EXTRA_HEADER (e.g. Authorization), the body, a total timeout and a connect timeout of at most
 * 10 s. It returns the header list, which the caller frees with curl_slist_free_all() after the
 * transfer. http_excerpt() makes a one-line, valid UTF-8 excerpt of an answer for an error message.
 * http_retry_after() reads a Retry-After value (RFC 9110 10.2.3: seconds, or an HTTP date) as the
 * seconds to wait from NOW.
 */
#ifndef MAILTRIAGE_HTTP_H
#define MAILTRIAGE_HTTP_H

#include <curl/curl.h>
#include <glib.h>

void http_share_init(void);
void http_share_cleanup(void);
CURL *http_handle_new(void);
struct curl_slist *http_prepare_post(CURL *curl, const char *url, const char *body,
                                     const char *extra_header, gint64 timeout_seconds);
char *http_excerpt(const GString *answer, size_t max_bytes);
/* The seconds VALUE asks to wait from NOW, at most MAX_SECONDS; 0 when it asks for none or
 * cannot be read (the caller's back-off applies then). */
gint64 http_retry_after(const char *value, gint64 now, gint64 max_seconds);

#endif
