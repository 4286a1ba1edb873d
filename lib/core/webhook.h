/*
 * webhook: tell another system (a CRM, a ticket tracker) about a message.
 *
 * webhook_post() POSTs one JSON object describing the message and its classification to an
 * intent's webhook_url, within the configured timeout, over http or https only, without
 * following redirects. A 2xx answer is success; anything else is a failure to retry later,
 * with the status and an excerpt of the answer as the reason.
 */
#ifndef MAILTRIAGE_WEBHOOK_H
#define MAILTRIAGE_WEBHOOK_H

#include <glib.h>

#include "classification.h"
#include "mime.h"

struct webhook_record {
    gint64 queue_id;
    const char *mailbox;
    const char *envelope_from;
    const struct mime_message *msg;
    const struct classification *classification;
};

/* Returns 0, or -1 with the reason in *ERROR_R. */
int webhook_post(const char *url, gint64 timeout_seconds, const struct webhook_record *record,
                 char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* The JSON body webhook_post() sends (for tests). */
char *webhook_body(const struct webhook_record *record);

#endif
