/*
 * store_purge: the SQL that takes stored mail out; see store_purge.h.
 *
 * Each operation first puts the ids of its messages in a temporary table of the connection
 * (purge_set), so that the statements that count, empty and delete agree on one set inside
 * their transaction.
 */
#include <glib.h>
#include <sqlite3.h>

#include "db.h"
#include "store_purge.h"

#define STORE_PURGE_IN_SET " IN (SELECT id FROM temp.purge_set)"
/* A message retention may touch: settled, and no person may still send its draft. */
#define STORE_PURGE_SETTLED                                                                        \
    " m.state IN ('done', 'failed') AND NOT EXISTS (SELECT 1 FROM drafts d WHERE"                  \
    " d.message = m.id AND d.state IN ('pending', 'sending'))"

/* Run SQL with ?1 = TEXT (or NULL), ?2 = A and ?3 = B, to completion. *CHANGES_R (when not
 * NULL) gets the rows it changed, or its one result for a SELECT count(*). */
static int store_purge_run(sqlite3 *db, const char *sql, const char *text, gint64 a, gint64 b,
                           gint64 *changes_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    if (sqlite3_bind_parameter_count(stmt) >= 1)
        db_bind_text(stmt, 1, text);
    if (sqlite3_bind_parameter_count(stmt) >= 2)
        sqlite3_bind_int64(stmt, 2, a);
    if (sqlite3_bind_parameter_count(stmt) >= 3)
        sqlite3_bind_int64(stmt, 3, b);
    int rc = sqlite3_step(stmt);
    gint64 result = rc == SQLITE_ROW              ? sqlite3_column_int64(stmt, 0)
                    : sqlite3_stmt_readonly(stmt) ? 0
                                                  : sqlite3_changes(db);
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "purge");
        return db_status_of(rc);
    }
    if (changes_r != NULL)
        *changes_r += result;
    return DB_OK;
}

/* Run the statements of SQL in order, each as store_purge_run() does with the same TEXT, A and
 * B, into the counters of CHANGES (NULL: not counted), inside the transaction of the caller. */
static int store_purge_run_all(sqlite3 *db, const char *const sql[], gint64 *const changes[],
                               size_t n, const char *text, gint64 a, gint64 b, char **error_r)
{
    int status = DB_OK;
    for (size_t i = 0; i < n && status == DB_OK; i++)
        status = store_purge_run(db, sql[i], text, a, b, changes[i], error_r);
    return status;
}

/* Begin the transaction with an empty purge_set. */
static int store_purge_begin(sqlite3 *db, char **error_r)
{
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    status = db_exec(db,
                     "CREATE TEMP TABLE IF NOT EXISTS purge_set (id INTEGER PRIMARY KEY);"
                     " DELETE FROM temp.purge_set;"
                     " CREATE TEMP TABLE IF NOT EXISTS purge_conversations"
                     " (id INTEGER PRIMARY KEY); DELETE FROM temp.purge_conversations",
                     error_r);
    if (status != DB_OK)
        db_rollback(db);
    return status;
}

/* Commit when STATUS is DB_OK, else roll back; the counts of a rolled back transaction are
 * not kept. */
static int store_purge_end(sqlite3 *db, int status, const struct store_purge_counts *saved,
                           struct store_purge_counts *counts, char **error_r)
{
    if (status == DB_OK)
        status = db_commit(db, error_r);
    else
        db_rollback(db);
    if (status != DB_OK)
        *counts = *saved;
    return status;
}

int store_purge_bodies(sqlite3 *db, gint64 before, int limit, struct store_purge_counts *counts_r,
                       char **error_r)
{
    static const char *const sql[] = {
        "INSERT INTO temp.purge_set SELECT m.id FROM messages m WHERE m.received_at < ?2 AND"
        " m.raw IS NOT NULL AND" STORE_PURGE_SETTLED " ORDER BY m.id LIMIT ?3",
        "UPDATE messages SET raw = NULL WHERE id" STORE_PURGE_IN_SET,
        "UPDATE drafts SET text = '' WHERE message" STORE_PURGE_IN_SET " AND text != ''",
        "UPDATE classifications SET reply = NULL, raw_answer = NULL WHERE "
        "message" STORE_PURGE_IN_SET " AND (reply IS NOT NULL OR raw_answer IS NOT NULL)",
        /* The history: the entries of these messages (theirs and our replies), and what a
         * person wrote as long ago. */
        "UPDATE conversation_messages SET text = '' WHERE message" STORE_PURGE_IN_SET
        " AND text != ''",
        "UPDATE conversation_messages SET text = '' WHERE message IS NULL AND created_at < ?2"
        " AND text != ''",
        "UPDATE staff_messages SET raw = NULL WHERE received_at < ?2 AND processed_at IS NOT NULL"
        " AND raw IS NOT NULL",
        /* What a shadow action would have sent holds the reply, or the original attached. */
        "UPDATE actions SET shadow_text = NULL WHERE message" STORE_PURGE_IN_SET
        " AND shadow_text IS NOT NULL",
    };
    struct store_purge_counts saved = *counts_r;
    gint64 *const changes[] = {NULL,
                               &counts_r->messages,
                               &counts_r->drafts,
                               &counts_r->classifications,
                               &counts_r->entries,
                               &counts_r->entries,
                               &counts_r->staff,
                               NULL};
    int status = store_purge_begin(db, error_r);
    if (status != DB_OK)
        return status;
    status = store_purge_run_all(db, sql, changes, G_N_ELEMENTS(sql), NULL, before, limit, error_r);
    return store_purge_end(db, status, &saved, counts_r, error_r);
}

/* The statements that delete the messages of purge_set with what hangs on them, counting the
 * rows the cascade takes first (sqlite3_changes() counts only the messages). */
#define STORE_PURGE_IN_CONVERSATIONS " IN (SELECT id FROM temp.purge_conversations)"
static const char *const store_purge_delete_set[] = {
    "SELECT count(*) FROM classifications WHERE message" STORE_PURGE_IN_SET,
    "SELECT count(*) FROM actions WHERE message" STORE_PURGE_IN_SET,
    "SELECT count(*) FROM drafts WHERE message" STORE_PURGE_IN_SET,
    "SELECT count(*) FROM events WHERE message" STORE_PURGE_IN_SET,
    "SELECT count(*) FROM conversation_messages WHERE message" STORE_PURGE_IN_SET,
    "INSERT OR IGNORE INTO temp.purge_conversations SELECT conversation FROM messages"
    " WHERE id" STORE_PURGE_IN_SET " AND conversation IS NOT NULL",
    /* duplicate_of has no ON DELETE: a copy kept forgets its first one. */
    "UPDATE messages SET duplicate_of = NULL WHERE duplicate_of" STORE_PURGE_IN_SET
    " AND id NOT" STORE_PURGE_IN_SET,
    "DELETE FROM messages WHERE id" STORE_PURGE_IN_SET,
    /* A conversation goes with its last message: with what is left of its history (a person's
     * words) and its events (ON DELETE CASCADE); a staff message forgets it (SET NULL). */
    "DELETE FROM temp.purge_conversations WHERE EXISTS (SELECT 1 FROM messages m"
    " WHERE m.conversation = purge_conversations.id)",
    "SELECT count(*) FROM conversation_messages WHERE conversation" STORE_PURGE_IN_CONVERSATIONS,
    "SELECT count(*) FROM events WHERE conversation" STORE_PURGE_IN_CONVERSATIONS,
    "DELETE FROM conversations WHERE id" STORE_PURGE_IN_CONVERSATIONS,
};
#define STORE_PURGE_DELETE_CHANGES(counts)                                                         \
    {                                                                                              \
        &(counts)->classifications, &(counts)->actions, &(counts)->drafts, &(counts)->events,      \
            &(counts)->entries, NULL, NULL, &(counts)->messages, NULL, &(counts)->entries,         \
            &(counts)->events, &(counts)->conversations                                            \
    }

int store_purge_rows(sqlite3 *db, gint64 before, int limit, struct store_purge_counts *counts_r,
                     char **error_r)
{
    static const char *const select_sql[] = {
        "INSERT INTO temp.purge_set SELECT m.id FROM messages m WHERE m.received_at < ?2 "
        "AND" STORE_PURGE_SETTLED " ORDER BY m.id LIMIT ?3",
    };
    static const char *const after_sql[] = {
        "DELETE FROM events WHERE message IS NULL AND time < ?2",
        "DELETE FROM bounces WHERE time < ?2",
        "DELETE FROM conversation_messages WHERE message IS NULL AND created_at < ?2",
        "DELETE FROM staff_messages WHERE received_at < ?2 AND processed_at IS NOT NULL",
    };
    struct store_purge_counts saved = *counts_r;
    gint64 *const none[] = {NULL};
    gint64 *const changes[] = STORE_PURGE_DELETE_CHANGES(counts_r);
    gint64 *const after[] = {&counts_r->events, &counts_r->bounces, &counts_r->entries,
                             &counts_r->staff};
    int status = store_purge_begin(db, error_r);
    if (status != DB_OK)
        return status;
    status = store_purge_run_all(db, select_sql, none, 1, NULL, before, limit, error_r);
    if (status == DB_OK)
        status = store_purge_run_all(db, store_purge_delete_set, changes,
                                     G_N_ELEMENTS(store_purge_delete_set), NULL, 0, 0, error_r);
    if (status == DB_OK)
        status = store_purge_run_all(db, after_sql, after, G_N_ELEMENTS(after_sql), NULL, before, 0,
                                     error_r);
    return store_purge_end(db, status, &saved, counts_r, error_r);
}

int store_purge_address(sqlite3 *db, const char *address, struct store_purge_counts *counts_r,
                        char **error_r)
{
    /* The messages first (bounces point at their actions), then what else names ADDRESS. */
    static const char *const select_sql[] = {
        "INSERT OR IGNORE INTO temp.purge_set SELECT id FROM messages WHERE"
        " envelope_from = ?1 COLLATE NOCASE OR from_addr = ?1 COLLATE NOCASE OR"
        " instr(' ' || lower(rcpts) || ' ', ' ' || lower(?1) || ' ') > 0",
        "INSERT OR IGNORE INTO temp.purge_set SELECT message FROM actions WHERE"
        " recipient = ?1 COLLATE NOCASE",
        "INSERT OR IGNORE INTO temp.purge_set SELECT message FROM drafts WHERE"
        " recipient = ?1 COLLATE NOCASE",
        "INSERT OR IGNORE INTO temp.purge_set SELECT report FROM bounces WHERE address = ?1 AND"
        " report IS NOT NULL",
        /* Its conversations, whole: every message of them goes, and so do they. */
        "INSERT OR IGNORE INTO temp.purge_set SELECT m.id FROM conversations c JOIN messages m"
        " ON m.conversation = c.id WHERE c.counterpart = lower(?1)",
        "DELETE FROM staff_messages WHERE envelope_from = ?1 COLLATE NOCASE OR"
        " instr(' ' || lower(rcpts) || ' ', ' ' || lower(?1) || ' ') > 0",
        "DELETE FROM bounces WHERE address = ?1 OR report" STORE_PURGE_IN_SET
        " OR action IN (SELECT id FROM actions WHERE message" STORE_PURGE_IN_SET ")",
        /* Our events write an address in angle brackets: <ann@x> is not within <joann@x>. */
        "DELETE FROM events WHERE (message IS NULL OR message NOT" STORE_PURGE_IN_SET ") AND"
        " instr(lower(text), '<' || lower(?1) || '>') > 0",
    };
    *counts_r = (struct store_purge_counts){0};
    struct store_purge_counts saved = *counts_r;
    gint64 *const selected[] = {
        NULL, NULL, NULL, NULL, NULL, &counts_r->staff, &counts_r->bounces, &counts_r->events};
    gint64 *const changes[] = STORE_PURGE_DELETE_CHANGES(counts_r);
    int status = store_purge_begin(db, error_r);
    if (status != DB_OK)
        return status;
    status = store_purge_run_all(db, select_sql, selected, G_N_ELEMENTS(select_sql), address, 0, 0,
                                 error_r);
    if (status == DB_OK)
        status = store_purge_run_all(db, store_purge_delete_set, changes,
                                     G_N_ELEMENTS(store_purge_delete_set), NULL, 0, 0, error_r);
    return store_purge_end(db, status, &saved, counts_r, error_r);
}
