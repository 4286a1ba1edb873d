/*
 * recorder: the milter's one database writer, with group commit.
 *
 * Every end-of-message callback hands its message to recorder_record(), which returns once
 * the message is durable (committed with synchronous=FULL) or could not be written. One
 * thread writes: it takes every message waiting (up to RECORDER_BATCH_MAX) and records them
 * in one transaction (intake_record_batch(): one write lock, one fsync), so that ten SMTP
 * sessions ending at once cost one commit, not ten connections fighting for SQLite's lock.
 * Its write turn comes before the workers' (db_gate.h, DB_GATE_FIRST). A batch that fails
 * otherwise than busy is written again message by message, so that one message the database
 * refuses fails alone; a connection that failed so, or whose file was removed, replaced or
 * made read-only (db_check_file() before each batch), is closed and the path opened afresh
 * for the next one. A message waits at most for the batch being written and then its own,
 * each bounded by busy_timeout. recorder_stop() writes what is still waiting, then ends the
 * thread. A staff message (staff.h: recorder_record_staff()) is written by the same thread, in a
 * transaction of its own.
 */
#ifndef MAILTRIAGE_RECORDER_H
#define MAILTRIAGE_RECORDER_H

#include <glib.h>

#include "intake.h"

#define RECORDER_BATCH_MAX 256

struct recorder;

struct recorder *recorder_start(void);
/* Record MSG (under its own configuration): as intake_record(), DB_OK with *IDS_R, or
 * DB_BUSY/DB_ERROR with *ERROR_R. */
int recorder_record(struct recorder *recorder, const struct intake_message *msg, GArray **ids_r,
                    char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Record MSG as a staff message (staff_record()): DB_OK with *ID_R, or DB_BUSY/DB_ERROR. */
int recorder_record_staff(struct recorder *recorder, const struct intake_message *msg, gint64 *id_r,
                          char **error_r) G_GNUC_WARN_UNUSED_RESULT;
void recorder_stop(struct recorder *recorder);

#endif
