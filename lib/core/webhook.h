/*
 * webhook: tell another system (a CRM, a ticket tracker) about a message.
 *
 * webhook_post() POSTs one JSON object describing the message and its classification to an
 * intent's webhook_url, within the configured timeout, over http or https only, without
 * following redirects. A 2xx answer is success; anything else is a failure to retry later,
 * with the status and an excerpt of the answer as the reason. The body (webhook_body()) is
 *
 *   {"event_id": "...", "message": {"id", "message_id", "mailbox", "subject", "received_at",
 *    "text"}, "sender": {"envelope_from", "from", "from_name"}, "classification": {"intent",
 *    "confidence", "summary", "provider"}, "conversation_id": the conversation it joined, or null}
 *
 * where event_id is the same in every attempt for the message (a receiver deduplicates with
 * it) and differs between messages and hosts. With a secret (an intent's webhook_secret_file)
 * each POST is signed: X-Mailtriage-Timestamp: T (Unix seconds at the POST) and
 * X-Mailtriage-Signature: t=T,v1=HEX, HEX the HMAC-SHA256 with the secret of "T.BODY"
 * (webhook_signature()), so that a receiver can check both the sender and the freshness.
 */
#ifndef MAILTRIAGE_WEBHOOK_H
#define MAILTRIAGE_WEBHOOK_H

#include <glib.h>

#include "classification.h"
#include "mime.h"

struct webhook_record {
    gint64 queue_id;
    gint64 received_at;   /* of the message, Unix seconds */
    const char *hostname; /* ours: the event id differs between the hosts of a site */
    const char *mailbox;
    const char *envelope_from;
    const struct mime_message *msg;
    const struct classification *classification;
    gint64 conversation; /* the message's conversation, 0 when none */
};

/* Returns 0, or -1 with the reason in *ERROR_R. SECRET NULL or "": unsigned. */
int webhook_post(const char *url, gint64 timeout_seconds, const struct webhook_record *record,
                 const char *secret, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* The JSON body webhook_post() sends (and mode shadow keeps). */
char *webhook_body(const struct webhook_record *record);
/* The event id of RECORD: 32 hex digits, a digest of the host, the queue id, the time the
 * message was received and its mailbox. */
char *webhook_event_id(const struct webhook_record *record);
/* "t=TIMESTAMP,v1=HEX" for BODY signed with SECRET at TIMESTAMP. */
char *webhook_signature(const char *secret, gint64 timestamp, const char *body);

#endif
