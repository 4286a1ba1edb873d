/*
 * redact: secrets taken out of text that people read (log lines, errors, events, printed
 * configuration).
 *
 * redact_url() hides the user name and password a URL may carry: in http://user:pass@host/v1
 * the "user:pass" becomes REDACT_MASK; everything else of the URL stays, so that a log line
 * still names the server. redact_secret() replaces every occurrence of a known secret (an API key a
 * server quoted back in its error) with "***". Both return a new string and accept NULL.
 * Nothing here knows about mail.
 */
#ifndef MAILTRIAGE_REDACT_H
#define MAILTRIAGE_REDACT_H

#include <glib.h>

#define REDACT_MASK "***"

char *redact_url(const char *url);
/* TEXT with each occurrence of SECRET masked; a copy of TEXT when SECRET is NULL or "". */
char *redact_secret(const char *text, const char *secret);

#endif
