/*
 * store_purge: stored mail taken out of the database, for retention and for a correspondent's
 * erasure (the SQL of retention.h and of `mailtriagectl forget`).
 *
 * Only settled messages are touched by retention: done or failed, with no draft pending or
 * being sent (a person may still approve it; a queued or working message still needs its text).
 * store_purge_bodies() empties their content and keeps their rows; store_purge_rows() deletes
 * the rows, their dependants going with them (foreign keys cascade). Both take at most LIMIT
 * messages in one short transaction, oldest first, so that intake waits for one batch at most;
 * the caller repeats while a batch was full. store_purge_address() deletes every trace of one
 * correspondent in one transaction: all of it or, on failure, nothing. Counts are of the rows
 * removed or emptied. Functions return DB_OK, DB_BUSY or DB_ERROR.
 */
#ifndef MAILTRIAGE_STORE_PURGE_H
#define MAILTRIAGE_STORE_PURGE_H

#include <glib.h>
#include <sqlite3.h>

/* Rows per table; in store_purge_bodies() the rows whose text was emptied. */
struct store_purge_counts {
    gint64 messages;        /* bodies: messages.raw removed */
    gint64 classifications; /* bodies: reply and raw_answer removed */
    gint64 actions;         /* the replies, escalations and the like: also the rate counts */
    gint64 drafts;          /* bodies: text emptied */
    gint64 events;
    gint64 bounces;
    gint64 conversations; /* rows: those whose last message went */
    gint64 entries;       /* of conversation histories; bodies: their text emptied */
    gint64 staff;         /* staff messages; bodies: their raw text removed */
};

/* The content of up to LIMIT settled messages received before BEFORE (Unix seconds): the
 * message as received (messages.raw becomes NULL), the text of their drafts that are no longer
 * waiting (''), the reply and raw_answer of their classifications (NULL), the text of their
 * conversation entries ('') and what their shadow actions would have sent (NULL); also the text
 * of what a person wrote (human entries, staff messages folded) before BEFORE. Added to
 * *COUNTS_R (shadow actions are not counted). */
int store_purge_bodies(sqlite3 *db, gint64 before, int limit, struct store_purge_counts *counts_r,
                       char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Up to LIMIT settled messages received before BEFORE, deleted with their classifications,
 * actions, drafts, events and conversation entries, and each conversation whose last message
 * they were, with the rest of its history and its events; also the events of no message, the
 * bounces, the human entries and the folded staff messages older than BEFORE. A later copy
 * that points at a deleted message (duplicate_of) forgets the pointer. Added to *COUNTS_R. */
int store_purge_rows(sqlite3 *db, gint64 before, int limit, struct store_purge_counts *counts_r,
                     char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Every trace of ADDRESS (case-insensitive), whatever the state: the messages it sent
 * (envelope sender or From:) or received (an envelope recipient), those our replies and drafts
 * to it belong to and the delivery reports of its bounces, each with its classifications,
 * actions, drafts and events; its bounces; and the other events that name it (as our events
 * write an address, in angle brackets); its conversations (counterpart ADDRESS) with every
 * message of them, and the staff messages from or to it. The counts are set in *COUNTS_R. */
int store_purge_address(sqlite3 *db, const char *address, struct store_purge_counts *counts_r,
                        char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
