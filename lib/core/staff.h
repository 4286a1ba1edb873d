/*
 * staff: mail that the site's own people send to correspondents, which takes a conversation over.
 *
 * With [daemon] watch_outbound the milter asks staff_is_sender() of the envelope sender (a
 * monitored mailbox or a [policy] staff_addresses entry) and staff_is_outside() of each
 * recipient; a message from staff to an outside address is kept whole (within
 * max_message_size) and staff_record() writes it at end of message: one row of
 * staff_messages, never a queued inbound message. staff_fold_pending() is the daemon's part:
 * it folds up to MAX recorded rows, oldest first, each in one transaction, into their
 * conversations: the one its In-Reply-To or References name (a message of it, or our reply),
 * else the latest one of the same mailbox (the sender, or any monitored one) and counterpart
 * (an outside recipient) with the same subject key updated within [policy] thread_window. The
 * person's new text becomes a human entry and the conversation's status human: no automatic
 * reply until `mailtriagectl conversation resume`. A row that matches no conversation is kept
 * with that reason, logged once, and changes nothing. staff_note() is `mailtriagectl
 * conversation note`: the same fold, with the conversation given. At most
 * STAFF_RECIPIENTS_MAX outside recipients of one message are looked at.
 */
#ifndef MAILTRIAGE_STAFF_H
#define MAILTRIAGE_STAFF_H

#include <stddef.h>

#include <glib.h>
#include <sqlite3.h>

#include "config.h"
#include "intake.h"

#define STAFF_RECIPIENTS_MAX 10

/* Is ADDRESS (an envelope sender) a monitored mailbox or in staff_addresses? */
gboolean staff_is_sender(const struct config *cfg, const char *address);
/* Is ADDRESS (an envelope recipient) outside the site: neither a monitored mailbox, nor an
 * escalate_to address, nor in staff_addresses? */
gboolean staff_is_outside(const struct config *cfg, const char *address);

/* Write MSG (its envelope, Message-ID and text as collected) as a staff message, now; *ID_R
 * is its row. DB_OK, DB_BUSY or DB_ERROR. Logs the "recorded" line. */
int staff_record(sqlite3 *db, const struct intake_message *msg, gint64 *id_r,
                 char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Fold up to MAX pending staff messages; *FOLDED_R (may be NULL) counts those handled, folded
 * or not. DB_OK, DB_BUSY or DB_ERROR (what was done before stays done). */
int staff_fold_pending(sqlite3 *db, const struct config *cfg, guint max, guint *folded_r,
                       char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The message RAW (LEN bytes) as a note of WHO (the operator) in CONVERSATION, which becomes
 * human; an event of the conversation says so. DB_OK, DB_BUSY, or DB_ERROR (no such
 * conversation, a message that cannot be parsed...) with the reason. */
int staff_note(sqlite3 *db, gint64 conversation, const char *raw, size_t len, const char *who,
               char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
