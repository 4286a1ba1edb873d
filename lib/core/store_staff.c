/*
 * store_staff: the SQL of staff_messages; see store_staff.h.
 */
#include <glib.h>
#include <sqlite3.h>

#include "db.h"
#include "store_staff.h"

int store_staff_add(sqlite3 *db, const struct store_staff_new *row, gint64 *id_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "INSERT INTO staff_messages (mta_queue_id, envelope_from,"
                                    " rcpts, message_id, received_at, size, truncated, raw)"
                                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, row->mta_queue_id);
    db_bind_text(stmt, 2, row->envelope_from != NULL ? row->envelope_from : "");
    db_bind_text(stmt, 3, row->rcpts != NULL ? row->rcpts : "");
    db_bind_text(stmt, 4, row->message_id);
    sqlite3_bind_int64(stmt, 5, row->received_at);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)row->size);
    sqlite3_bind_int(stmt, 7, row->truncated ? 1 : 0);
    sqlite3_bind_blob64(stmt, 8, row->raw != NULL ? row->raw : "", row->raw_len, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "record staff message");
        return db_status_of(rc);
    }
    *id_r = sqlite3_last_insert_rowid(db);
    return DB_OK;
}

void store_staff_row_free(struct store_staff_row *row)
{
    if (row == NULL)
        return;
    g_free(row->envelope_from);
    g_free(row->rcpts);
    if (row->raw != NULL)
        g_bytes_unref(row->raw);
    g_free(row);
}

int store_staff_pending(sqlite3 *db, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT EXISTS (SELECT 1 FROM staff_messages WHERE processed_at IS NULL)", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    int rc = sqlite3_step(stmt);
    int pending = rc == SQLITE_ROW && sqlite3_column_int(stmt, 0) != 0;
    if (rc != SQLITE_ROW)
        *error_r = db_error(db, "look for staff messages");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? pending : db_status_of(rc);
}

int store_staff_next(sqlite3 *db, struct store_staff_row **row_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "SELECT id, envelope_from, rcpts, received_at, raw"
                                    " FROM staff_messages WHERE processed_at IS NULL"
                                    " ORDER BY id LIMIT 1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        struct store_staff_row *row = g_new0(struct store_staff_row, 1);
        row->id = sqlite3_column_int64(stmt, 0);
        row->envelope_from = db_column_dup(stmt, 1);
        row->rcpts = db_column_dup(stmt, 2);
        row->received_at = sqlite3_column_int64(stmt, 3);
        const void *raw = sqlite3_column_blob(stmt, 4);
        row->raw = g_bytes_new(raw, raw != NULL ? (gsize)sqlite3_column_bytes(stmt, 4) : 0);
        *row_r = row;
    } else if (rc != SQLITE_DONE)
        *error_r = db_error(db, "read staff message");
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : db_status_of(rc);
}

int store_staff_done(sqlite3 *db, gint64 id, gint64 conversation, const char *error, gint64 now,
                     char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "UPDATE staff_messages SET processed_at = ?2,"
                                    " conversation = ?3, error = ?4 WHERE id = ?1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, now);
    if (conversation > 0)
        sqlite3_bind_int64(stmt, 3, conversation);
    else
        sqlite3_bind_null(stmt, 3);
    db_bind_text(stmt, 4, error);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "mark staff message folded");
        return db_status_of(rc);
    }
    return DB_OK;
}
