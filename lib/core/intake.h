/*
 * intake: recording an inbound message in the queue, for the milter and the pipe alike.
 *
 * The caller describes the message as it arrives: intake_message_new() with the configuration
 * it is recorded under, intake_add_recipient() for each envelope recipient (all of them go into
 * the rcpts column; a monitored mailbox gets one row however often it is named, unless its
 * [mailbox] intake leaves it to the other program), intake_append() for the text as it is read
 * (max_message_size bytes are kept, every byte is counted, what is dropped marks it truncated).
 * intake_record() writes one queue row per monitored mailbox in one transaction through
 * queue_insert(), which keeps the duplicate rule, and logs one "recorded:" line per row, with
 * store_ms, the milliseconds since the caller set `started` (the milter: its end-of-message
 * callback began) when it did. intake_record_batch() does the same for several messages in one
 * transaction (a group commit: one write lock and one fsync for all of them).
 * Nothing here knows libmilter or stdin; opening the database is the caller's job.
 */
#ifndef MAILTRIAGE_INTAKE_H
#define MAILTRIAGE_INTAKE_H

#include <stddef.h>

#include <glib.h>
#include <sqlite3.h>

#include "config.h"

enum intake_kind { INTAKE_MILTER, INTAKE_PIPE };

/* One inbound message. Strings are the message's own (set them with g_strdup and the like;
 * intake_message_free() frees them); NULL is unknown. */
struct intake_message {
    enum intake_kind kind;
    struct config *cfg; /* a reference: the mailboxes below point into it */
    char *mta_queue_id;
    char *envelope_from; /* "" is the null sender */
    char *client_addr;   /* the SMTP client and its HELO, which only the milter sees */
    char *helo;
    char *from_addr; /* the header fields the caller knows (the pipe parses the message) */
    char *subject;
    char *message_id; /* without angle brackets: duplicates are recognised by it */
    char *in_reply_to;
    GPtrArray *rcpts;     /* of char *: every envelope recipient, as given */
    GPtrArray *mailboxes; /* of const struct config_mailbox *: the rows to write, in order */
    GByteArray *raw;      /* the text kept: at most max_message_size bytes */
    guint64 size;         /* every byte offered to intake_append(), kept or not */
    gint64 started;       /* g_get_monotonic_time() when recording began; 0 when unknown */
};

/* A message with no recipient and no text yet, recorded by KIND under CFG. */
struct intake_message *intake_message_new(enum intake_kind kind, struct config *cfg);
void intake_message_free(struct intake_message *msg);

/* Add envelope recipient RCPT. TRUE when it is a mailbox this intake records; otherwise, when
 * SKIPPED_R is not NULL, *SKIPPED_R is why, as a line for the log. */
gboolean intake_add_recipient(struct intake_message *msg, const char *rcpt, char **skipped_r);
/* Add LEN bytes of the message's text, within max_message_size. */
void intake_append(struct intake_message *msg, const void *data, size_t len);
/* Whether some of the text was dropped for max_message_size. */
gboolean intake_truncated(const struct intake_message *msg);

/* Write MSG's rows in one transaction on DB: DB_OK and *IDS_R (a new array of gint64, one per
 * msg->mailboxes, in their order; empty when there is none), or DB_BUSY/DB_ERROR with the reason
 * in *ERROR_R and no row written. */
int intake_record(const struct intake_message *msg, sqlite3 *db, GArray **ids_r,
                  char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Write the rows of the N_MSGS messages MSGS in one transaction: DB_OK and IDS_R[i] (as
 * intake_record() gives them) for each, or DB_BUSY/DB_ERROR with the reason and no row of any
 * of them written (IDS_R untouched). */
int intake_record_batch(const struct intake_message *const *msgs, guint n_msgs, sqlite3 *db,
                        GArray **ids_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
