/*
 * store_knowledge: the knowledge base's rows and passages; see store_knowledge.h.
 */
#include <glib.h>
#include <sqlite3.h>

#include "db.h"
#include "knowledge_split.h"
#include "store_knowledge.h"

static const char store_knowledge_files_sql[] =
    "SELECT id, mailbox, path, position, size, mtime_ns, sha256, passages, chars, indexed_at,"
    " warning, error FROM knowledge_files WHERE (?1 IS NULL OR mailbox = ?1)"
    " ORDER BY mailbox, position, id";
/* Another process (mailtriagectl knowledge reindex beside the daemon) may have written the row
 * since it was read: then it is updated, whatever its id. */
static const char store_knowledge_insert_sql[] =
    "INSERT INTO knowledge_files (mailbox, path, position, size, mtime_ns, sha256, passages,"
    " chars, indexed_at, warning, error) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    " ON CONFLICT (mailbox, path) DO UPDATE SET position = excluded.position,"
    " size = excluded.size, mtime_ns = excluded.mtime_ns, sha256 = excluded.sha256,"
    " passages = excluded.passages, chars = excluded.chars, indexed_at = excluded.indexed_at,"
    " warning = excluded.warning, error = excluded.error";
static const char store_knowledge_update_sql[] =
    "UPDATE knowledge_files SET mailbox = ?2, path = ?3, position = ?4, size = ?5, mtime_ns = ?6,"
    " sha256 = ?7, passages = ?8, chars = ?9, indexed_at = ?10, warning = ?11, error = ?12"
    " WHERE id = ?1";
static const char store_knowledge_passage_sql[] =
    "INSERT INTO knowledge_passages (text, heading, file, ordinal, mailbox, chars)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char store_knowledge_all_sql[] =
    "SELECT f.path, p.heading, p.text, p.chars, 0.0 FROM knowledge_passages p"
    " JOIN knowledge_files f ON f.id = p.file WHERE p.mailbox = ?1"
    " ORDER BY f.position, f.id, p.ordinal";
/* bm25() is negative, the better the lower; its weights follow the columns: text, heading. */
static const char store_knowledge_match_sql[] =
    "SELECT f.path, p.heading, p.text, p.chars, -bm25(knowledge_passages, 1.0, 2.0) AS score"
    " FROM knowledge_passages p JOIN knowledge_files f ON f.id = p.file"
    " WHERE knowledge_passages MATCH ?2 AND p.mailbox = ?1 ORDER BY score DESC LIMIT ?3";

void store_knowledge_file_free(struct store_knowledge_file *file)
{
    if (file == NULL)
        return;
    g_free(file->mailbox);
    g_free(file->path);
    g_free(file->sha256);
    g_free(file->warning);
    g_free(file->error);
    g_free(file);
}

void store_knowledge_passage_free(struct store_knowledge_passage *passage)
{
    if (passage == NULL)
        return;
    g_free(passage->path);
    g_free(passage->heading);
    g_free(passage->text);
    g_free(passage);
}

/* Step STMT to completion, finalize it, and map the result. */
static int store_knowledge_finish(sqlite3 *db, sqlite3_stmt *stmt, const char *context,
                                  char **error_r)
{
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return DB_OK;
    *error_r = db_error(db, context);
    return db_status_of(rc);
}

int store_knowledge_files(sqlite3 *db, const char *mailbox, GPtrArray **files_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, store_knowledge_files_sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, mailbox);
    GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)store_knowledge_file_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_knowledge_file *file = g_new0(struct store_knowledge_file, 1);
        file->id = sqlite3_column_int64(stmt, 0);
        file->mailbox = db_column_dup(stmt, 1);
        file->path = db_column_dup(stmt, 2);
        file->position = sqlite3_column_int64(stmt, 3);
        file->size = sqlite3_column_int64(stmt, 4);
        file->mtime_ns = sqlite3_column_int64(stmt, 5);
        file->sha256 = db_column_dup(stmt, 6);
        file->passages = sqlite3_column_int64(stmt, 7);
        file->chars = sqlite3_column_int64(stmt, 8);
        file->indexed_at = sqlite3_column_int64(stmt, 9);
        file->warning = db_column_dup(stmt, 10);
        file->error = db_column_dup(stmt, 11);
        g_ptr_array_add(files, file);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "read the knowledge files");
        g_ptr_array_unref(files);
        return db_status_of(rc);
    }
    *files_r = files;
    return DB_OK;
}

/* FILE's row: an UPDATE of its id, else (no id yet, or the row went meanwhile) an insert. */
static int store_knowledge_write_row(sqlite3 *db, struct store_knowledge_file *file, char **error_r)
{
    gboolean update = file->id != 0;
    sqlite3_stmt *stmt =
        db_prepare(db, update ? store_knowledge_update_sql : store_knowledge_insert_sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    gboolean indexed = file->sha256 != NULL;
    if (update)
        sqlite3_bind_int64(stmt, 1, file->id);
    db_bind_text(stmt, 2, file->mailbox);
    db_bind_text(stmt, 3, file->path);
    sqlite3_bind_int64(stmt, 4, file->position);
    if (indexed) {
        sqlite3_bind_int64(stmt, 5, file->size);
        sqlite3_bind_int64(stmt, 6, file->mtime_ns);
        db_bind_text(stmt, 7, file->sha256);
        sqlite3_bind_int64(stmt, 10, file->indexed_at);
    }
    sqlite3_bind_int64(stmt, 8, file->passages);
    sqlite3_bind_int64(stmt, 9, file->chars);
    db_bind_text(stmt, 11, file->warning);
    db_bind_text(stmt, 12, file->error);
    int status = store_knowledge_finish(db, stmt, "write a knowledge file", error_r);
    if (status != DB_OK || (update && sqlite3_changes(db) > 0))
        return status;
    if (update) {
        file->id = 0;
        return store_knowledge_write_row(db, file, error_r);
    }
    stmt =
        db_prepare(db, "SELECT id FROM knowledge_files WHERE mailbox = ?1 AND path = ?2", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, file->mailbox);
    db_bind_text(stmt, 2, file->path);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        file->id = sqlite3_column_int64(stmt, 0);
    else
        *error_r = db_error(db, "find a knowledge file");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? DB_OK : db_status_of(rc);
}

static int store_knowledge_delete_passages(sqlite3 *db, gint64 file, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM knowledge_passages WHERE file = ?1", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, file);
    return store_knowledge_finish(db, stmt, "delete knowledge passages", error_r);
}

static int store_knowledge_insert_passages(sqlite3 *db, const struct store_knowledge_file *file,
                                           const GPtrArray *passages, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, store_knowledge_passage_sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    int rc = SQLITE_DONE;
    for (guint i = 0; i < passages->len && rc == SQLITE_DONE; i++) {
        const struct knowledge_passage *passage = g_ptr_array_index(passages, i);
        sqlite3_reset(stmt);
        db_bind_text(stmt, 1, passage->text);
        db_bind_text(stmt, 2, passage->heading);
        sqlite3_bind_int64(stmt, 3, file->id);
        sqlite3_bind_int64(stmt, 4, i);
        db_bind_text(stmt, 5, file->mailbox);
        sqlite3_bind_int64(stmt, 6, knowledge_passage_chars(passage));
        rc = sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return DB_OK;
    *error_r = db_error(db, "insert knowledge passages");
    return db_status_of(rc);
}

int store_knowledge_replace(sqlite3 *db, struct store_knowledge_file *file,
                            const GPtrArray *passages, char **error_r)
{
    gint64 old_id = file->id;
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    status = store_knowledge_write_row(db, file, error_r);
    if (status == DB_OK)
        status = store_knowledge_delete_passages(db, file->id, error_r);
    if (status == DB_OK)
        status = store_knowledge_insert_passages(db, file, passages, error_r);
    if (status == DB_OK)
        status = db_commit(db, error_r);
    if (status != DB_OK) {
        db_rollback(db);
        file->id = old_id; /* a row inserted is gone with the transaction */
    }
    return status;
}

int store_knowledge_save(sqlite3 *db, struct store_knowledge_file *file, char **error_r)
{
    return store_knowledge_write_row(db, file, error_r);
}

int store_knowledge_remove(sqlite3 *db, gint64 id, char **error_r)
{
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    status = store_knowledge_delete_passages(db, id, error_r);
    if (status == DB_OK) {
        sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM knowledge_files WHERE id = ?1", error_r);
        if (stmt == NULL)
            status = DB_ERROR;
        else {
            sqlite3_bind_int64(stmt, 1, id);
            status = store_knowledge_finish(db, stmt, "delete a knowledge file", error_r);
        }
    }
    if (status == DB_OK)
        status = db_commit(db, error_r);
    if (status != DB_OK)
        db_rollback(db);
    return status;
}

int store_knowledge_totals(sqlite3 *db, const char *mailbox, gint64 *passages_r, gint64 *chars_r,
                           char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT total(passages), total(chars) FROM knowledge_files WHERE mailbox = ?1",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, mailbox);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *passages_r = sqlite3_column_int64(stmt, 0);
        *chars_r = sqlite3_column_int64(stmt, 1);
    } else
        *error_r = db_error(db, "count the knowledge passages");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? DB_OK : db_status_of(rc);
}

/* The passages STMT (bound; finalized here) returns: path, heading, text, chars, score. */
static int store_knowledge_passages(sqlite3 *db, sqlite3_stmt *stmt, GPtrArray **passages_r,
                                    char **error_r)
{
    GPtrArray *passages =
        g_ptr_array_new_with_free_func((GDestroyNotify)store_knowledge_passage_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_knowledge_passage *passage = g_new0(struct store_knowledge_passage, 1);
        passage->path = db_column_dup(stmt, 0);
        passage->heading = db_column_dup(stmt, 1);
        passage->text = db_column_dup(stmt, 2);
        passage->chars = sqlite3_column_int64(stmt, 3);
        passage->score = sqlite3_column_double(stmt, 4);
        if (passage->heading == NULL)
            passage->heading = g_strdup("");
        if (passage->text == NULL)
            passage->text = g_strdup("");
        g_ptr_array_add(passages, passage);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "read knowledge passages");
        g_ptr_array_unref(passages);
        return db_status_of(rc);
    }
    *passages_r = passages;
    return DB_OK;
}

int store_knowledge_all(sqlite3 *db, const char *mailbox, GPtrArray **passages_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, store_knowledge_all_sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, mailbox);
    return store_knowledge_passages(db, stmt, passages_r, error_r);
}

int store_knowledge_match(sqlite3 *db, const char *mailbox, const char *query, int limit,
                          GPtrArray **passages_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, store_knowledge_match_sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, mailbox);
    db_bind_text(stmt, 2, query);
    sqlite3_bind_int(stmt, 3, limit);
    return store_knowledge_passages(db, stmt, passages_r, error_r);
}
