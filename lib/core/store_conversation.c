/*
 * store_conversation: the SQL of conversations; see store_conversation.h.
 */
#include <string.h>

#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "clock.h"
#include "conversation.h"
#include "db.h"
#include "report.h"
#include "store_conversation.h"
#include "text.h"

/* Step STMT to completion, finalize it, and map the result. */
static int store_conversation_run(sqlite3 *db, sqlite3_stmt *stmt, const char *context,
                                  char **error_r)
{
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return DB_OK;
    *error_r = db_error(db, context);
    return db_status_of(rc);
}

/* Step STMT once: 1 when it gave a row (left for the caller to read and finalize), 0 when
 * none (finalized), or DB_BUSY/DB_ERROR (finalized). */
static int store_conversation_row(sqlite3 *db, sqlite3_stmt *stmt, const char *context,
                                  char **error_r)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        *error_r = db_error(db, context);
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? 0 : db_status_of(rc);
}

static enum conversation_status store_conversation_status_of(sqlite3_stmt *stmt, int column)
{
    enum conversation_status status = CONVERSATION_ACTIVE;
    if (!conversation_status_parse((const char *)sqlite3_column_text(stmt, column), &status))
        status = CONVERSATION_ACTIVE; /* the schema's CHECK allows nothing else */
    return status;
}

int store_conversation_of_message(sqlite3 *db, gint64 message, gint64 *conversation_r,
                                  enum conversation_status *status_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "SELECT c.id, c.status FROM messages m JOIN conversations c"
                                    " ON c.id = m.conversation WHERE m.id = ?1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    int found = store_conversation_row(db, stmt, "conversation of a message", error_r);
    if (found == 1) {
        *conversation_r = sqlite3_column_int64(stmt, 0);
        *status_r = store_conversation_status_of(stmt, 1);
        sqlite3_finalize(stmt);
    }
    return found;
}

int store_conversation_instructions(sqlite3 *db, gint64 id, char **instructions_r, char **error_r)
{
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT instructions FROM conversations WHERE id = ?1", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    int found = store_conversation_row(db, stmt, "conversation instructions", error_r);
    if (found == 1) {
        *instructions_r = db_column_dup(stmt, 0);
        sqlite3_finalize(stmt);
    }
    return found;
}

int store_conversation_get(sqlite3 *db, gint64 id, enum conversation_status *status_r,
                           char **mailbox_r, char **counterpart_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT status, mailbox, counterpart FROM conversations WHERE id = ?1", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    int found = store_conversation_row(db, stmt, "read conversation", error_r);
    if (found == 1) {
        *status_r = store_conversation_status_of(stmt, 0);
        if (mailbox_r != NULL)
            *mailbox_r = db_column_dup(stmt, 1);
        if (counterpart_r != NULL)
            *counterpart_r = db_column_dup(stmt, 2);
        sqlite3_finalize(stmt);
    }
    return found;
}

int store_conversation_find_by_reference(sqlite3 *db, const char *mailbox, const char *counterpart,
                                         const GPtrArray *ids, gint64 except,
                                         gint64 *conversation_r, char **error_r)
{
    /* Each of the three is an indexed lookup: conversation_messages_message_id,
     * messages_duplicate (message_id first), actions_outgoing. */
    sqlite3_stmt *stmt = db_prepare(
        db,
        "SELECT c.id FROM conversations c WHERE c.mailbox = ?1 AND c.counterpart = ?2"
        " AND c.id IN (SELECT conversation FROM conversation_messages WHERE message_id = ?3"
        " UNION ALL SELECT conversation FROM messages WHERE message_id = ?3 AND id != ?4"
        " AND conversation IS NOT NULL"
        " UNION ALL SELECT m.conversation FROM actions a JOIN messages m ON m.id = a.message"
        " WHERE a.outgoing_message_id = ?3 AND a.kind = 'reply' AND a.state = 'sent')"
        " ORDER BY c.updated_at DESC, c.id DESC LIMIT 1",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    int found = 0;
    for (guint i = 0; i < ids->len && found == 0; i++) {
        sqlite3_reset(stmt);
        db_bind_text(stmt, 1, mailbox);
        db_bind_text(stmt, 2, counterpart);
        db_bind_text(stmt, 3, g_ptr_array_index(ids, i));
        sqlite3_bind_int64(stmt, 4, except);
        int rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            *conversation_r = sqlite3_column_int64(stmt, 0);
            found = 1;
        } else if (rc != SQLITE_DONE) {
            *error_r = db_error(db, "find a conversation by reference");
            found = db_status_of(rc);
        }
    }
    sqlite3_finalize(stmt);
    return found;
}

int store_conversation_find_by_subject(sqlite3 *db, const char *mailbox, const char *counterpart,
                                       const char *subject_key, gint64 *conversation_r,
                                       gint64 *updated_at_r, char **error_r)
{
    if (subject_key == NULL || *subject_key == '\0')
        return 0; /* "no subject" is no common subject */
    sqlite3_stmt *stmt = db_prepare(db,
                                    "SELECT id, updated_at FROM conversations WHERE mailbox = ?1"
                                    " AND counterpart = ?2 AND subject_key = ?3"
                                    " ORDER BY updated_at DESC, id DESC LIMIT 1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, mailbox);
    db_bind_text(stmt, 2, counterpart);
    db_bind_text(stmt, 3, subject_key);
    int found = store_conversation_row(db, stmt, "find a conversation by subject", error_r);
    if (found == 1) {
        *conversation_r = sqlite3_column_int64(stmt, 0);
        *updated_at_r = sqlite3_column_int64(stmt, 1);
        sqlite3_finalize(stmt);
    }
    return found;
}

int store_conversation_create(sqlite3 *db, const char *mailbox, const char *counterpart,
                              const char *subject, const char *subject_key, gint64 now,
                              gint64 *id_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "INSERT INTO conversations (mailbox, counterpart, subject,"
                                    " subject_key, created_at, updated_at)"
                                    " VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, mailbox);
    db_bind_text(stmt, 2, counterpart);
    db_bind_text(stmt, 3, subject);
    db_bind_text(stmt, 4, subject_key != NULL ? subject_key : "");
    sqlite3_bind_int64(stmt, 5, now);
    int status = store_conversation_run(db, stmt, "create conversation", error_r);
    if (status == DB_OK)
        *id_r = sqlite3_last_insert_rowid(db);
    return status;
}

int store_conversation_link(sqlite3 *db, gint64 message, gint64 conversation, char **error_r)
{
    sqlite3_stmt *stmt =
        db_prepare(db, "UPDATE messages SET conversation = ?2 WHERE id = ?1", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    sqlite3_bind_int64(stmt, 2, conversation);
    return store_conversation_run(db, stmt, "link message to conversation", error_r);
}

int store_conversation_set_status(sqlite3 *db, gint64 id, enum conversation_status status,
                                  gint64 now, enum conversation_status *old_r, char **error_r)
{
    enum conversation_status old = CONVERSATION_ACTIVE;
    int found = store_conversation_get(db, id, &old, NULL, NULL, error_r);
    if (found != 1)
        return found;
    sqlite3_stmt *stmt = db_prepare(db,
                                    "UPDATE conversations SET status = ?2,"
                                    " updated_at = MAX(updated_at, ?3) WHERE id = ?1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    db_bind_text(stmt, 2, conversation_status_name(status));
    sqlite3_bind_int64(stmt, 3, now);
    int written = store_conversation_run(db, stmt, "set conversation status", error_r);
    if (written != DB_OK)
        return written;
    if (old_r != NULL)
        *old_r = old;
    return 1;
}

int store_conversation_decide(sqlite3 *db, gint64 id, enum conversation_status status,
                              const char *who, enum conversation_status *old_r, char **error_r)
{
    int begun = db_begin_immediate(db, error_r);
    if (begun != DB_OK)
        return begun;
    int found = store_conversation_set_status(db, id, status, clock_now(), old_r, error_r);
    if (found == 1) {
        char *event = g_strdup_printf(
            "%s by %s: %s", status == CONVERSATION_ACTIVE ? "resumed" : "stopped", who,
            status == CONVERSATION_ACTIVE ? "answered automatically again"
                                          : "no automatic reply until mailtriagectl "
                                            "conversation resume");
        store_conversation_event(db, id, "info", event);
        g_free(event);
        int committed = db_commit(db, error_r);
        return committed == DB_OK ? 1 : committed;
    }
    db_rollback(db);
    return found;
}

/* Bind 0 as NULL: no such row. */
static void store_conversation_bind_id(sqlite3_stmt *stmt, int index, gint64 id)
{
    if (id > 0)
        sqlite3_bind_int64(stmt, index, id);
    else
        sqlite3_bind_null(stmt, index);
}

int store_conversation_append(sqlite3 *db, const struct store_conversation_entry *entry,
                              gboolean *added_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db,
        "INSERT INTO conversation_messages (conversation, role, message, message_id, author,"
        " text, sources, created_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8"
        " WHERE (?3 IS NULL AND ?4 IS NULL) OR NOT EXISTS (SELECT 1 FROM conversation_messages"
        " WHERE conversation = ?1 AND role = ?2 AND message IS ?3 AND message_id IS ?4)",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, entry->conversation);
    db_bind_text(stmt, 2, conversation_role_name(entry->role));
    store_conversation_bind_id(stmt, 3, entry->message);
    db_bind_text(stmt, 4, entry->message_id);
    db_bind_text(stmt, 5, entry->author);
    db_bind_text(stmt, 6, entry->text != NULL ? entry->text : "");
    db_bind_text(stmt, 7, entry->sources);
    sqlite3_bind_int64(stmt, 8, entry->created_at);
    int status = store_conversation_run(db, stmt, "add to the conversation", error_r);
    if (status != DB_OK)
        return status;
    gboolean added = sqlite3_changes(db) == 1;
    if (added_r != NULL)
        *added_r = added;
    if (!added)
        return DB_OK;
    stmt = db_prepare(db, "UPDATE conversations SET updated_at = MAX(updated_at, ?2) WHERE id = ?1",
                      error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, entry->conversation);
    sqlite3_bind_int64(stmt, 2, entry->created_at);
    return store_conversation_run(db, stmt, "update conversation", error_r);
}

int store_conversation_recent(sqlite3 *db, gint64 conversation, gint64 except, guint limit,
                              GPtrArray **entries_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db,
        "SELECT role, author, text, created_at FROM conversation_messages WHERE conversation = ?1"
        " AND text != '' AND NOT (role = 'user' AND message IS ?2)"
        " ORDER BY created_at DESC, id DESC LIMIT ?3",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, conversation);
    store_conversation_bind_id(stmt, 2, except);
    sqlite3_bind_int64(stmt, 3, limit);
    GPtrArray *entries = g_ptr_array_new_with_free_func((GDestroyNotify)conversation_entry_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct conversation_entry *e = g_new0(struct conversation_entry, 1);
        if (!conversation_role_parse((const char *)sqlite3_column_text(stmt, 0), &e->role))
            e->role = CONVERSATION_USER; /* the schema's CHECK allows nothing else */
        e->author = db_column_dup(stmt, 1);
        /* Valid UTF-8 whatever the file holds: the history's caps count characters. */
        e->text = text_cut((const char *)sqlite3_column_text(stmt, 2), CONVERSATION_TEXT_MAX);
        e->created_at = sqlite3_column_int64(stmt, 3);
        g_ptr_array_add(entries, e);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "read the conversation's history");
        g_ptr_array_unref(entries);
        return db_status_of(rc);
    }
    *entries_r = entries;
    return DB_OK;
}

void store_conversation_event(sqlite3 *db, gint64 conversation, const char *level, const char *text)
{
    char *error = NULL;
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO events (conversation, time, level, text) VALUES (?1, ?2, ?3, ?4)", &error);
    if (stmt == NULL) {
        g_free(error);
        return;
    }
    sqlite3_bind_int64(stmt, 1, conversation);
    sqlite3_bind_int64(stmt, 2, clock_now());
    db_bind_text(stmt, 3, level);
    db_bind_text(stmt, 4, text);
    if (store_conversation_run(db, stmt, "conversation event", &error) != DB_OK)
        g_free(error);
}

/* ---- the views of mailtriagectl conversation ---- */

#define STORE_CONVERSATION_WHERE                                                                   \
    " WHERE (?1 IS NULL OR c.mailbox = ?1) AND (?2 IS NULL OR c.status = ?2)"

int store_conversation_list(sqlite3 *db, const struct store_conversation_filter *filter,
                            gint64 limit, json_object **rows_r, gint64 *total_r, char **error_r)
{
    static const char *const sql[] = {
        "SELECT count(*) AS total FROM conversations c" STORE_CONVERSATION_WHERE,
        "SELECT c.id, c.status, c.mailbox, c.counterpart, c.subject,"
        " (SELECT count(*) FROM conversation_messages e WHERE e.conversation = c.id) AS messages,"
        " c.created_at, c.updated_at FROM conversations c" STORE_CONVERSATION_WHERE
        " ORDER BY c.updated_at DESC, c.id DESC LIMIT ?3",
    };
    int status = db_begin_read(db, error_r);
    if (status != DB_OK)
        return status;
    char *mailbox = filter->mailbox != NULL ? g_ascii_strdown(filter->mailbox, -1) : NULL;
    json_object *counted = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(sql) && status == DB_OK; i++) {
        sqlite3_stmt *stmt = db_prepare(db, sql[i], error_r);
        if (stmt == NULL) {
            status = DB_ERROR;
            break;
        }
        db_bind_text(stmt, 1, mailbox);
        db_bind_text(stmt, 2, filter->status);
        if (i == 1)
            sqlite3_bind_int64(stmt, 3, limit > 0 ? limit : -1); /* SQLite's -1: no limit */
        status = report_rows(db, stmt, "list conversations", i == 0 ? &counted : rows_r, error_r);
    }
    if (counted != NULL) {
        json_object *row = json_object_array_get_idx(counted, 0);
        *total_r = json_object_get_int64(json_object_object_get(row, "total"));
        json_object_put(counted);
    }
    db_rollback(db);
    g_free(mailbox);
    return status;
}

/* The rows of SQL about conversation ID (?1), added to OBJECT at KEY. */
static int store_conversation_add_rows(sqlite3 *db, json_object *object, const char *key,
                                       const char *sql, gint64 id, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    json_object *rows = NULL;
    int status = report_rows(db, stmt, key, &rows, error_r);
    if (status == DB_OK)
        json_object_object_add(object, key, rows);
    return status;
}

/* The sources of each entry as the JSON array they were stored as. */
static void store_conversation_parse_sources(json_object *entries)
{
    for (size_t i = 0; i < json_object_array_length(entries); i++) {
        json_object *entry = json_object_array_get_idx(entries, i);
        json_object *sources = json_object_object_get(entry, "sources");
        if (sources == NULL)
            continue;
        json_object *parsed = json_tokener_parse(json_object_get_string(sources));
        if (parsed != NULL && json_object_is_type(parsed, json_type_array))
            json_object_object_add(entry, "sources", parsed);
        else
            json_object_put(parsed);
    }
}

int store_conversation_show(sqlite3 *db, gint64 id, json_object **conversation_r, char **error_r)
{
    static const char *const parts[][2] = {
        {"entries", "SELECT id, role, author, message, message_id, text, sources, created_at"
                    " FROM conversation_messages WHERE conversation = ?1 ORDER BY created_at, id"},
        {"messages", "SELECT id, state, received_at, subject FROM messages"
                     " WHERE conversation = ?1 ORDER BY id"},
        {"events", "SELECT time, level, text FROM events WHERE conversation = ?1 ORDER BY id"},
    };
    int status = db_begin_read(db, error_r);
    if (status != DB_OK)
        return status;
    json_object *rows = NULL, *conversation = NULL;
    sqlite3_stmt *stmt = db_prepare(db,
                                    "SELECT id, status, mailbox, counterpart, subject, subject_key,"
                                    " instructions, created_at, updated_at FROM conversations"
                                    " WHERE id = ?1",
                                    error_r);
    if (stmt != NULL) {
        sqlite3_bind_int64(stmt, 1, id);
        status = report_rows(db, stmt, "show conversation", &rows, error_r);
    } else
        status = DB_ERROR;
    if (status == DB_OK && json_object_array_length(rows) > 0)
        conversation = json_object_get(json_object_array_get_idx(rows, 0));
    for (size_t i = 0; conversation != NULL && i < G_N_ELEMENTS(parts) && status == DB_OK; i++)
        status =
            store_conversation_add_rows(db, conversation, parts[i][0], parts[i][1], id, error_r);
    db_rollback(db);
    json_object_put(rows);
    if (status != DB_OK || conversation == NULL) {
        json_object_put(conversation);
        return status;
    }
    store_conversation_parse_sources(json_object_object_get(conversation, "entries"));
    *conversation_r = conversation;
    return 1;
}
