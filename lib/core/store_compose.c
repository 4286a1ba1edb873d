/*
 * store_compose: a first message's records; see store_compose.h.
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "clock.h"
#include "conversation.h"
#include "db.h"
#include "draft.h"
#include "store.h"
#include "store_compose.h"
#include "store_conversation.h"

/* Step STMT to completion, finalize it, and map the result. */
static int store_compose_run(sqlite3 *db, sqlite3_stmt *stmt, const char *context, char **error_r)
{
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return DB_OK;
    *error_r = db_error(db, context);
    return db_status_of(rc);
}

/* The row of messages that stands for the mail: ours, settled, never claimed. */
static int store_compose_message(sqlite3 *db, const struct store_compose *c, gint64 now,
                                 gint64 *id_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db,
        "INSERT INTO messages (intake, mailbox, envelope_from, rcpts, from_addr, subject,"
        " message_id, received_at, size, raw, state, next_attempt_at, updated_at)"
        " VALUES ('compose', ?1, ?1, ?2, ?1, ?3, ?4, ?5, ?6, ?7, 'done', ?5, ?5)",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, c->mailbox);
    db_bind_text(stmt, 2, c->recipient);
    db_bind_text(stmt, 3, c->subject);
    db_bind_text(stmt, 4, c->message_id);
    sqlite3_bind_int64(stmt, 5, now);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)c->len);
    sqlite3_bind_blob64(stmt, 7, c->mail, c->len, SQLITE_TRANSIENT);
    int status = store_compose_run(db, stmt, "record the composed message", error_r);
    if (status == DB_OK)
        *id_r = sqlite3_last_insert_rowid(db);
    return status;
}

/* The conversation the mail opens, with the staff's instructions, and the message in it. */
static int store_compose_conversation(sqlite3 *db, const struct store_compose *c, gint64 now,
                                      struct store_compose_ids *ids, char **error_r)
{
    char *counterpart = g_ascii_strdown(c->recipient, -1);
    char *key = conversation_subject_key(c->subject);
    int status = store_conversation_create(db, c->mailbox, counterpart, c->subject, key, now,
                                           &ids->conversation, error_r);
    g_free(key);
    g_free(counterpart);
    if (status != DB_OK)
        return status;
    sqlite3_stmt *stmt =
        db_prepare(db, "UPDATE conversations SET instructions = ?2 WHERE id = ?1", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, ids->conversation);
    db_bind_text(stmt, 2, c->instructions);
    status = store_compose_run(db, stmt, "record the conversation's instructions", error_r);
    if (status == DB_OK)
        status = store_conversation_link(db, ids->message, ids->conversation, error_r);
    if (status == DB_OK)
        store_conversation_event(db, ids->conversation, "info", c->event);
    return status;
}

/* Inside the transaction: everything but the transaction. */
static int store_compose_record_locked(sqlite3 *db, const struct store_compose *c,
                                       struct store_compose_ids *ids, char **error_r)
{
    gint64 now = clock_now();
    int status = store_compose_message(db, c, now, &ids->message, error_r);
    if (status == DB_OK && c->kind != STORE_COMPOSE_SHADOW)
        status = store_compose_conversation(db, c, now, ids, error_r);
    if (status != DB_OK)
        return status;
    struct store_action action = {STORE_ACTION_REPLY, c->reason, c->recipient, c->mailbox,
                                  c->message_id};
    if (c->kind == STORE_COMPOSE_SEND)
        status = store_action_add(db, ids->message, &action, STORE_ACTION_PENDING, &ids->action,
                                  error_r);
    else if (c->kind == STORE_COMPOSE_DRAFT)
        status =
            draft_add(db, ids->message, c->recipient, c->message_id, c->mail, &ids->draft, error_r);
    else
        status = store_action_add_shadow(db, ids->message, &action, c->mail, c->len, error_r);
    if (status == DB_OK)
        store_event(db, ids->message, "info", c->event);
    return status;
}

int store_compose_record(sqlite3 *db, const struct store_compose *compose,
                         struct store_compose_ids *ids_r, char **error_r)
{
    *ids_r = (struct store_compose_ids){0};
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    status = store_compose_record_locked(db, compose, ids_r, error_r);
    if (status == DB_OK)
        status = db_commit(db, error_r);
    else
        db_rollback(db);
    if (status != DB_OK)
        *ids_r = (struct store_compose_ids){0};
    return status;
}

int store_compose_start(sqlite3 *db, gint64 action, const char *unknown, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "UPDATE actions SET started_at = ?2, error = ?3 WHERE id = ?1"
                                    " AND state = 'pending' AND started_at IS NULL",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, action);
    sqlite3_bind_int64(stmt, 2, clock_now());
    db_bind_text(stmt, 3, unknown);
    int status = store_compose_run(db, stmt, "mark the composed mail started", error_r);
    if (status == DB_OK && sqlite3_changes(db) != 1) {
        *error_r = g_strdup("the composed mail's action is not pending and unstarted");
        status = DB_ERROR;
    }
    return status;
}

/* Inside the transaction: the outcome, the first entry, the event. */
static int store_compose_finish_locked(sqlite3 *db, const struct store_compose_outcome *o,
                                       char **error_r)
{
    int status =
        store_action_finish(db, o->ids->action, o->sent ? STORE_ACTION_SENT : STORE_ACTION_FAILED,
                            o->exit_status, o->failure, error_r);
    if (status == DB_OK && o->sent) {
        struct store_conversation_entry entry = {
            .conversation = o->ids->conversation,
            .role = CONVERSATION_ASSISTANT,
            .message = o->ids->message,
            .message_id = o->message_id,
            .author = o->author,
            .text = o->text,
            .sources = o->sources,
            .created_at = clock_now(),
        };
        status = store_conversation_append(db, &entry, NULL, error_r);
    }
    if (status == DB_OK) {
        store_event(db, o->ids->message, o->sent ? "info" : "error", o->event);
        store_conversation_event(db, o->ids->conversation, o->sent ? "info" : "error", o->event);
    }
    return status;
}

int store_compose_finish(sqlite3 *db, const struct store_compose_outcome *outcome, char **error_r)
{
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    status = store_compose_finish_locked(db, outcome, error_r);
    if (status == DB_OK)
        return db_commit(db, error_r);
    db_rollback(db);
    return status;
}
