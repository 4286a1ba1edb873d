/*
 * store: classifications, actions and events; see store.h.
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "clock.h"
#include "db.h"
#include "store.h"

static const char *const store_kind_names[] = {"reply", "escalate", "draft", "webhook", "none"};
static const char *const store_state_names[] = {"pending", "sent", "failed", "skipped"};

const char *store_action_kind_name(enum store_action_kind kind)
{
    return store_kind_names[kind];
}

/* Step STMT to completion, finalize it, and map the result. */
static int store_finish_statement(sqlite3 *db, sqlite3_stmt *stmt, const char *context,
                                  char **error_r)
{
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc == SQLITE_DONE)
        return DB_OK;
    *error_r = db_error(db, context);
    return db_status_of(rc);
}

int store_classification_save(sqlite3 *db, gint64 message, const struct classification *c,
                              char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db,
        "INSERT INTO classifications (message, provider, model, intent, confidence, summary,"
        " reply, valid, error, latency_ms, prompt_tokens, completion_tokens, raw_answer,"
        " created_at, reply_settled, reply_error, reply_latency_ms, reply_prompt_tokens,"
        " reply_completion_tokens, reply_sources, reply_hold) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    db_bind_text(stmt, 2, c->provider);
    db_bind_text(stmt, 3, c->model);
    db_bind_text(stmt, 4, c->intent);
    sqlite3_bind_double(stmt, 5, c->confidence);
    db_bind_text(stmt, 6, c->summary);
    db_bind_text(stmt, 7, c->reply);
    sqlite3_bind_int(stmt, 8, c->valid ? 1 : 0);
    db_bind_text(stmt, 9, c->error);
    sqlite3_bind_int64(stmt, 10, c->latency_ms);
    sqlite3_bind_int64(stmt, 11, c->prompt_tokens);
    sqlite3_bind_int64(stmt, 12, c->completion_tokens);
    db_bind_text(stmt, 13, c->raw_answer);
    sqlite3_bind_int64(stmt, 14, clock_now());
    sqlite3_bind_int(stmt, 15, c->reply_settled ? 1 : 0);
    db_bind_text(stmt, 16, c->reply_error);
    sqlite3_bind_int64(stmt, 17, c->reply_latency_ms);
    sqlite3_bind_int64(stmt, 18, c->reply_prompt_tokens);
    sqlite3_bind_int64(stmt, 19, c->reply_completion_tokens);
    char *sources = classification_sources_json(c->reply_sources, FALSE);
    db_bind_text(stmt, 20, sources);
    g_free(sources);
    db_bind_text(stmt, 21, c->reply_hold);
    return store_finish_statement(db, stmt, "save classification", error_r);
}

int store_classification_save_reply(sqlite3 *db, gint64 message, const struct classification *c,
                                    char **error_r)
{
    sqlite3_stmt *stmt =
        db_prepare(db,
                   "UPDATE classifications SET reply = ?2, reply_settled = ?3, reply_error = ?4,"
                   " reply_latency_ms = ?5, reply_prompt_tokens = ?6, reply_completion_tokens = ?7,"
                   " reply_sources = ?8, reply_hold = ?9 WHERE id = (SELECT max(id) FROM "
                   "classifications WHERE message = ?1)",
                   error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    db_bind_text(stmt, 2, c->reply);
    sqlite3_bind_int(stmt, 3, c->reply_settled ? 1 : 0);
    db_bind_text(stmt, 4, c->reply_error);
    sqlite3_bind_int64(stmt, 5, c->reply_latency_ms);
    sqlite3_bind_int64(stmt, 6, c->reply_prompt_tokens);
    sqlite3_bind_int64(stmt, 7, c->reply_completion_tokens);
    char *sources = classification_sources_json(c->reply_sources, FALSE);
    db_bind_text(stmt, 8, sources);
    g_free(sources);
    db_bind_text(stmt, 9, c->reply_hold);
    return store_finish_statement(db, stmt, "save the reply text", error_r);
}

int store_classification_load(sqlite3 *db, gint64 message, struct classification **result_r,
                              char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db,
        "SELECT provider, model, intent, confidence, summary, reply, valid, error, latency_ms,"
        " prompt_tokens, completion_tokens, raw_answer, reply_settled, reply_error,"
        " reply_latency_ms, reply_prompt_tokens, reply_completion_tokens, reply_sources,"
        " reply_hold FROM classifications"
        " WHERE message = ?1 ORDER BY id DESC LIMIT 1",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        struct classification *c = g_new0(struct classification, 1);
        c->provider = db_column_dup(stmt, 0);
        c->model = db_column_dup(stmt, 1);
        c->intent = db_column_dup(stmt, 2);
        c->confidence = sqlite3_column_double(stmt, 3);
        c->summary = db_column_dup(stmt, 4);
        c->reply = db_column_dup(stmt, 5);
        c->valid = sqlite3_column_int(stmt, 6) != 0;
        c->error = db_column_dup(stmt, 7);
        c->latency_ms = sqlite3_column_int64(stmt, 8);
        c->prompt_tokens = sqlite3_column_int64(stmt, 9);
        c->completion_tokens = sqlite3_column_int64(stmt, 10);
        c->raw_answer = db_column_dup(stmt, 11);
        c->reply_settled = sqlite3_column_int(stmt, 12) != 0;
        c->reply_error = db_column_dup(stmt, 13);
        c->reply_latency_ms = sqlite3_column_int64(stmt, 14);
        c->reply_prompt_tokens = sqlite3_column_int64(stmt, 15);
        c->reply_completion_tokens = sqlite3_column_int64(stmt, 16);
        c->reply_sources =
            classification_sources_parse((const char *)sqlite3_column_text(stmt, 17));
        c->reply_hold = db_column_dup(stmt, 18);
        *result_r = c;
    } else if (rc != SQLITE_DONE)
        *error_r = db_error(db, "load classification");
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : db_status_of(rc);
}

int store_action_add(sqlite3 *db, gint64 message, const struct store_action *action,
                     enum store_action_state state, gint64 *id_r, char **error_r)
{
    sqlite3_stmt *stmt =
        db_prepare(db,
                   "INSERT INTO actions (message, kind, reason, state, recipient, envelope_sender,"
                   " outgoing_message_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                   error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    db_bind_text(stmt, 2, store_kind_names[action->kind]);
    db_bind_text(stmt, 3, action->reason);
    db_bind_text(stmt, 4, store_state_names[state]);
    db_bind_text(stmt, 5, action->recipient);
    db_bind_text(stmt, 6, action->envelope_sender);
    db_bind_text(stmt, 7, action->outgoing_message_id);
    sqlite3_bind_int64(stmt, 8, clock_now());
    int status = store_finish_statement(db, stmt, "record action", error_r);
    if (status == DB_OK && id_r != NULL)
        *id_r = sqlite3_last_insert_rowid(db);
    return status;
}

int store_action_add_shadow(sqlite3 *db, gint64 message, const struct store_action *action,
                            const char *text, size_t len, char **error_r)
{
    sqlite3_stmt *stmt =
        db_prepare(db,
                   "INSERT INTO actions (message, kind, reason, state, recipient, envelope_sender,"
                   " outgoing_message_id, created_at, shadow, shadow_text)"
                   " VALUES (?1, ?2, ?3, 'skipped', ?4, ?5, ?6, ?7, 1, ?8)",
                   error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    db_bind_text(stmt, 2, store_kind_names[action->kind]);
    db_bind_text(stmt, 3, action->reason);
    db_bind_text(stmt, 4, action->recipient);
    db_bind_text(stmt, 5, action->envelope_sender);
    db_bind_text(stmt, 6, action->outgoing_message_id);
    sqlite3_bind_int64(stmt, 7, clock_now());
    sqlite3_bind_blob64(stmt, 8, text, len, SQLITE_TRANSIENT);
    return store_finish_statement(db, stmt, "record shadow action", error_r);
}

int store_action_start(sqlite3 *db, gint64 action, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db, "UPDATE actions SET started_at = ?2 WHERE id = ?1 AND state = 'pending'", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, action);
    sqlite3_bind_int64(stmt, 2, clock_now());
    return store_finish_statement(db, stmt, "mark action started", error_r);
}

int store_action_finish(sqlite3 *db, gint64 action, enum store_action_state state,
                        int sendmail_status, const char *error, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "UPDATE actions SET state = ?2, sendmail_status = ?3,"
                                    " error = ?4, sent_at = ?5 WHERE id = ?1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, action);
    db_bind_text(stmt, 2, store_state_names[state]);
    if (sendmail_status >= 0)
        sqlite3_bind_int(stmt, 3, sendmail_status);
    else
        sqlite3_bind_null(stmt, 3);
    db_bind_text(stmt, 4, error);
    if (state == STORE_ACTION_SENT)
        sqlite3_bind_int64(stmt, 5, clock_now());
    else
        sqlite3_bind_null(stmt, 5);
    return store_finish_statement(db, stmt, "update action", error_r);
}

/* Step a bound SELECT whose first column is a count: 1 when it is positive, else 0. */
static int store_count_positive(sqlite3 *db, sqlite3_stmt *stmt, char **error_r)
{
    int rc = sqlite3_step(stmt);
    int found = rc == SQLITE_ROW && sqlite3_column_int64(stmt, 0) > 0;
    if (rc != SQLITE_ROW)
        *error_r = db_error(db, "query actions");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? found : db_status_of(rc);
}

int store_action_was_sent(sqlite3 *db, gint64 message, enum store_action_kind kind, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "SELECT COUNT(*) FROM actions WHERE message = ?1"
                                    " AND kind = ?2 AND state = 'sent'",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    db_bind_text(stmt, 2, store_kind_names[kind]);
    return store_count_positive(db, stmt, error_r);
}

int store_actions_sent(sqlite3 *db, gint64 message, guint *kinds_r, char **error_r)
{
    *kinds_r = 0;
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT DISTINCT kind FROM actions WHERE message = ?1 AND state = 'sent'", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(stmt, 0);
        for (guint i = 0; i < G_N_ELEMENTS(store_kind_names); i++)
            if (g_strcmp0(kind, store_kind_names[i]) == 0)
                *kinds_r |= 1u << i;
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "sent actions");
        return db_status_of(rc);
    }
    return DB_OK;
}

int store_replied_since(sqlite3 *db, const char *mailbox, const char *recipient, gint64 since,
                        gint64 except, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db,
        "SELECT COUNT(*) FROM actions JOIN messages ON messages.id = actions.message"
        " WHERE actions.kind = 'reply' AND actions.state = 'sent' AND messages.mailbox = ?1"
        " AND actions.recipient = ?2 COLLATE NOCASE AND actions.sent_at >= ?3"
        " AND messages.intake != 'compose'"
        " AND actions.message != ?4",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, mailbox);
    db_bind_text(stmt, 2, recipient);
    sqlite3_bind_int64(stmt, 3, since);
    sqlite3_bind_int64(stmt, 4, except);
    return store_count_positive(db, stmt, error_r);
}

int store_replies_to_since(sqlite3 *db, const char *mailbox, const char *recipient, gint64 since,
                           gint64 except, char **error_r)
{
    sqlite3_stmt *stmt =
        db_prepare(db,
                   "SELECT COUNT(*) FROM actions JOIN messages ON messages.id = actions.message"
                   " WHERE actions.kind = 'reply' AND actions.state = 'sent'"
                   " AND actions.recipient = ?2 COLLATE NOCASE AND actions.sent_at >= ?3"
                   " AND messages.intake != 'compose'"
                   " AND (?1 IS NULL OR messages.mailbox = ?1) AND actions.message != ?4",
                   error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, mailbox);
    db_bind_text(stmt, 2, recipient);
    sqlite3_bind_int64(stmt, 3, since);
    sqlite3_bind_int64(stmt, 4, except);
    int rc = sqlite3_step(stmt);
    int count = rc == SQLITE_ROW ? (int)MIN(sqlite3_column_int64(stmt, 0), G_MAXINT) : 0;
    if (rc != SQLITE_ROW)
        *error_r = db_error(db, "count replies");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? count : db_status_of(rc);
}

int store_reply_find(sqlite3 *db, const char *message_id, gint64 *action_r, char **recipient_r,
                     char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "SELECT id, recipient FROM actions WHERE kind = 'reply'"
                                    " AND state = 'sent' AND outgoing_message_id = ?1 LIMIT 1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, message_id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *action_r = sqlite3_column_int64(stmt, 0);
        *recipient_r = db_column_dup(stmt, 1);
    } else if (rc != SQLITE_DONE)
        *error_r = db_error(db, "find reply");
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : db_status_of(rc);
}

int store_bounce_add(sqlite3 *db, const char *address, gint64 action, gint64 report,
                     const char *status, const char *diagnostic, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "INSERT INTO bounces (address, action, report, status,"
                                    " diagnostic, time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, address);
    sqlite3_bind_int64(stmt, 2, action);
    sqlite3_bind_int64(stmt, 3, report);
    db_bind_text(stmt, 4, status);
    db_bind_text(stmt, 5, diagnostic);
    sqlite3_bind_int64(stmt, 6, clock_now());
    return store_finish_statement(db, stmt, "record bounce", error_r);
}

int store_bounced_since(sqlite3 *db, const char *address, gint64 since, char **error_r)
{
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT COUNT(*) FROM bounces WHERE address = ?1 AND time >= ?2", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, address);
    sqlite3_bind_int64(stmt, 2, since);
    return store_count_positive(db, stmt, error_r);
}

void store_unknown_free(struct store_unknown *unknown)
{
    if (unknown == NULL)
        return;
    g_free(unknown->recipient);
    g_free(unknown->message_id);
    g_free(unknown);
}

static enum store_action_kind store_kind_parse(const unsigned char *name)
{
    for (guint i = 0; name != NULL && i < G_N_ELEMENTS(store_kind_names); i++)
        if (strcmp((const char *)name, store_kind_names[i]) == 0)
            return (enum store_action_kind)i;
    return STORE_ACTION_NONE; /* the schema's CHECK allows nothing else */
}

/* The started pending actions of MESSAGE into UNKNOWN. */
static int store_read_unknown(sqlite3 *db, gint64 message, GPtrArray *unknown, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "SELECT id, kind, recipient, outgoing_message_id, started_at"
                                    " FROM actions WHERE message = ?1 AND state = 'pending'"
                                    " AND started_at IS NOT NULL ORDER BY id",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct store_unknown *u = g_new0(struct store_unknown, 1);
        u->action = sqlite3_column_int64(stmt, 0);
        u->kind = store_kind_parse(sqlite3_column_text(stmt, 1));
        u->recipient = db_column_dup(stmt, 2);
        u->message_id = db_column_dup(stmt, 3);
        u->started_at = sqlite3_column_int64(stmt, 4);
        g_ptr_array_add(unknown, u);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "read started actions");
        return db_status_of(rc);
    }
    return DB_OK;
}

int store_actions_resume(sqlite3 *db, gint64 message, GPtrArray **unknown_r, char **error_r)
{
    static const char *const sql[] = {
        /* Never handed to sendmail: nothing left, so it may be performed afresh. */
        "UPDATE actions SET state = 'failed', error = 'not started: the attempt stopped before"
        " it ran' WHERE message = ?1 AND state = 'pending' AND started_at IS NULL",
        "UPDATE actions SET error = 'outcome unknown: started, and the attempt stopped before"
        " recording what came of it' WHERE message = ?1 AND state = 'pending'"
        " AND started_at IS NOT NULL",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(sql); i++) {
        sqlite3_stmt *stmt = db_prepare(db, sql[i], error_r);
        if (stmt == NULL)
            return DB_ERROR;
        sqlite3_bind_int64(stmt, 1, message);
        int status = store_finish_statement(db, stmt, "settle pending actions", error_r);
        if (status != DB_OK)
            return status;
    }
    GPtrArray *unknown = g_ptr_array_new_with_free_func((GDestroyNotify)store_unknown_free);
    int status = store_read_unknown(db, message, unknown, error_r);
    if (status != DB_OK) {
        g_ptr_array_unref(unknown);
        return status;
    }
    *unknown_r = unknown;
    return DB_OK;
}

int store_actions_unknown_resolve(sqlite3 *db, gint64 message, const char *error, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "UPDATE actions SET state = 'failed', error = ?2"
                                    " WHERE message = ?1 AND state = 'pending'"
                                    " AND started_at IS NOT NULL",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    db_bind_text(stmt, 2, error);
    return store_finish_statement(db, stmt, "resolve unknown actions", error_r);
}

void store_event(sqlite3 *db, gint64 message, const char *level, const char *text)
{
    char *error = NULL;
    sqlite3_stmt *stmt = db_prepare(
        db, "INSERT INTO events (message, time, level, text) VALUES (?1, ?2, ?3, ?4)", &error);
    if (stmt == NULL) {
        g_free(error);
        return;
    }
    if (message > 0)
        sqlite3_bind_int64(stmt, 1, message);
    else
        sqlite3_bind_null(stmt, 1);
    sqlite3_bind_int64(stmt, 2, clock_now());
    db_bind_text(stmt, 3, level);
    db_bind_text(stmt, 4, text);
    if (store_finish_statement(db, stmt, "event", &error) != DB_OK)
        g_free(error);
}

int store_message_headers(sqlite3 *db, gint64 message, const char *from_addr, const char *subject,
                          const char *message_id, const char *in_reply_to, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "UPDATE messages SET from_addr = ?2, subject = ?3,"
                                    " message_id = COALESCE(message_id, ?4),"
                                    " in_reply_to = ?5 WHERE id = ?1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    db_bind_text(stmt, 2, from_addr);
    db_bind_text(stmt, 3, subject);
    db_bind_text(stmt, 4, message_id);
    db_bind_text(stmt, 5, in_reply_to);
    return store_finish_statement(db, stmt, "update message headers", error_r);
}
