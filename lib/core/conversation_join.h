/*
 * conversation_join: messages into their conversations as they come and go.
 *
 * conversation_join() makes a claimed inbound message join its conversation, as the holder of
 * its lease (one transaction): the store's lookups (store_conversation.h) by the message-ids of
 * its In-Reply-To and References, then by subject, under the rules of conversation.h; a new
 * conversation when none fits. A message that joined one in an earlier attempt keeps it. Its
 * new text (quoted history and signature removed, as mime.h sets them apart) is the user entry,
 * added once, and the context (context.h) learns the conversation and its status.
 * conversation_join_reply() adds a reply that went out, its text part and Message-ID, as the
 * assistant entry of the answered message's conversation; conversation_add_reply() does the
 * same inside the caller's transaction (an approved draft). Escalations and drafts waiting for
 * approval are no part of the history: the correspondent never saw them.
 */
#ifndef MAILTRIAGE_CONVERSATION_JOIN_H
#define MAILTRIAGE_CONVERSATION_JOIN_H

#include <stddef.h>

#include <glib.h>
#include <sqlite3.h>

#include "config.h"
#include "context.h"
#include "mime.h"
#include "queue.h"

/* DB_OK, QUEUE_LEASE_LOST, DB_BUSY or DB_ERROR; the event of the message says what it joined. */
int conversation_join(sqlite3 *db, const struct config *cfg, const struct queue_row *claim,
                      const struct mime_message *msg, struct context *context,
                      char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The reply MAIL (LEN bytes, the whole message as sendmail got it) with our MESSAGE_ID, sent
 * from MAILBOX for the claimed message, into its conversation. A failure is logged (a warning:
 * the mail went out, only its history entry is missing) and changes nothing else. */
void conversation_join_reply(sqlite3 *db, const struct queue_row *claim, const char *mailbox,
                             const char *mail, size_t len, const char *message_id,
                             const char *sources);
/* The same for the reply to MESSAGE, in the caller's transaction, without a lease. DB_OK also
 * when MESSAGE has joined no conversation (nothing to add to). SOURCES, for both: the JSON
 * array of the knowledge sources the answer used (classification_sources_json()), or NULL. */
int conversation_add_reply(sqlite3 *db, gint64 message, const char *mailbox, const char *mail,
                           size_t len, const char *message_id, const char *sources,
                           char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
