/*
 * store_staff: mail the site's staff sent outside, as the milter recorded it (staff_messages).
 *
 * store_staff_add() writes one row in one statement (durable when it returns, never in the
 * inbound queue); store_staff_next() reads the oldest row not yet folded into a conversation
 * and store_staff_done() marks it folded, with its conversation or the reason it matched none.
 * The daemon calls the last two inside one BEGIN IMMEDIATE transaction (staff.h), so that two
 * workers never fold one row. Functions return DB_OK, DB_BUSY or DB_ERROR unless they say
 * otherwise.
 */
#ifndef MAILTRIAGE_STORE_STAFF_H
#define MAILTRIAGE_STORE_STAFF_H

#include <stddef.h>

#include <glib.h>
#include <sqlite3.h>

/* A staff message as recorded; strings may be NULL where the schema allows. */
struct store_staff_new {
    const char *mta_queue_id;
    const char *envelope_from;
    const char *rcpts; /* every envelope recipient, separated by one space */
    const char *message_id;
    gint64 received_at;
    const char *raw;
    size_t raw_len;
    size_t size; /* before truncation */
    gboolean truncated;
};
int store_staff_add(sqlite3 *db, const struct store_staff_new *row, gint64 *id_r,
                    char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* A row read back. */
struct store_staff_row {
    gint64 id;
    char *envelope_from;
    char *rcpts;
    gint64 received_at;
    GBytes *raw; /* empty when retention removed it */
};
void store_staff_row_free(struct store_staff_row *row);
/* 1 when a row waits to be folded, else 0: a read, so that idle workers take no write lock. */
int store_staff_pending(sqlite3 *db, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 and the oldest row not yet folded in *ROW_R, 0 when there is none. */
int store_staff_next(sqlite3 *db, struct store_staff_row **row_r,
                     char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Row ID is folded as of NOW: into CONVERSATION (0: none), or not, for ERROR (NULL: none). */
int store_staff_done(sqlite3 *db, gint64 id, gint64 conversation, const char *error, gint64 now,
                     char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
