/*
 * report: read-only views of the queue for the administrator; see report.h.
 */
#include <string.h>

#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "budget.h"
#include "db.h"
#include "health.h"
#include "report.h"

/* As the CHECK of messages.state in sql/001-initial.sql. */
const char *const report_message_states[] = {"queued", "working", "done", "failed", "held", NULL};

/* An action's state as shown: a shadow action (migration 009) is recorded as skipped. */
#define REPORT_ACTION_STATE "CASE WHEN shadow THEN 'shadow' ELSE state END"

static const char report_count_sql[] =
    "SELECT count(*) FROM messages WHERE (?1 IS NULL OR state = ?1)";
static const char report_list_sql[] =
    "SELECT m.id, m.state, m.attempts, m.received_at, m.mailbox, m.envelope_from,"
    " m.from_addr, m.subject, m.message_id, m.last_error,"
    " (SELECT intent FROM classifications c WHERE c.message = m.id ORDER BY c.id DESC LIMIT 1)"
    "   AS intent,"
    " (SELECT kind || ' ' || " REPORT_ACTION_STATE " FROM actions a WHERE a.message = m.id"
    "   ORDER BY a.id DESC LIMIT 1) AS action"
    " FROM messages m WHERE (?1 IS NULL OR m.state = ?1) ORDER BY m.id DESC LIMIT ?2";

static const char report_message_sql[] =
    "SELECT id, state, intake, mta_queue_id, mailbox, envelope_from, rcpts, client_addr, helo,"
    " from_addr AS \"from\", subject, message_id, in_reply_to, received_at, size, truncated,"
    " attempts, llm_failures, next_attempt_at, lease_until, last_error, conversation FROM messages"
    " WHERE id = ?1";
static const char report_classification_sql[] =
    "SELECT provider, model, intent, confidence, summary, reply, valid, error, latency_ms,"
    " prompt_tokens, completion_tokens, reply_error, reply_latency_ms, reply_prompt_tokens,"
    " reply_completion_tokens, reply_sources, reply_hold FROM classifications WHERE message = ?1"
    " ORDER BY id DESC LIMIT 1";
static const char report_actions_sql[] =
    "SELECT kind, " REPORT_ACTION_STATE " AS state, reason, recipient, envelope_sender,"
    " outgoing_message_id AS message_id, sendmail_status, error, created_at, sent_at,"
    " CAST(shadow_text AS TEXT) AS shadow_text FROM actions WHERE message = ?1 ORDER BY id";
static const char report_events_sql[] =
    "SELECT time, level, text FROM events WHERE message = ?1 ORDER BY id";

/* The classification's reply_sources as the array they were stored as (classification.h). */
static void report_parse_sources(json_object *classification)
{
    json_object *sources = NULL;
    if (classification == NULL ||
        !json_object_object_get_ex(classification, "reply_sources", &sources) || sources == NULL)
        return;
    json_object *parsed = json_tokener_parse(json_object_get_string(sources));
    if (parsed != NULL && json_object_is_type(parsed, json_type_array))
        json_object_object_add(classification, "reply_sources", parsed);
    else
        json_object_put(parsed);
}

/* Column I of STMT as a JSON value of its own type; NULL (JSON null) for SQL NULL. */
static json_object *report_column(sqlite3_stmt *stmt, int i)
{
    switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
        return json_object_new_int64(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT:
        return json_object_new_double(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT: /* with any NUL bytes it holds (a shadow escalation's original) */
        return json_object_new_string_len((const char *)sqlite3_column_text(stmt, i),
                                          sqlite3_column_bytes(stmt, i));
    default:
        return NULL;
    }
}

int report_rows(sqlite3 *db, sqlite3_stmt *stmt, const char *what, json_object **rows_r,
                char **error_r)
{
    json_object *rows = json_object_new_array();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_object *row = json_object_new_object();
        for (int i = 0; i < sqlite3_column_count(stmt); i++)
            json_object_object_add(row, sqlite3_column_name(stmt, i), report_column(stmt, i));
        json_object_array_add(rows, row);
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_object_put(rows);
        *error_r = db_error(db, what);
        return db_status_of(rc);
    }
    *rows_r = rows;
    return DB_OK;
}

/* The rows of SQL about message ID (?1). */
static int report_rows_of(sqlite3 *db, const char *sql, gint64 id, const char *what,
                          json_object **rows_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    return report_rows(db, stmt, what, rows_r, error_r);
}

/* A read transaction, so that the queries after it see one snapshot. */
static int report_begin(sqlite3 *db, char **error_r)
{
    return db_exec(db, "BEGIN", error_r);
}

/* End it: a read has nothing to commit. */
static void report_end(sqlite3 *db)
{
    db_rollback(db);
}

gboolean report_message_state_valid(const char *state)
{
    return state != NULL && g_strv_contains(report_message_states, state);
}

static int report_count(sqlite3 *db, const struct report_filter *filter, gint64 *total_r,
                        char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, report_count_sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, filter->state);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *total_r = sqlite3_column_int64(stmt, 0);
    else
        *error_r = db_error(db, "count messages");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? DB_OK : db_status_of(rc);
}

int report_list_messages(sqlite3 *db, const struct report_filter *filter, gint64 limit,
                         json_object **rows_r, gint64 *total_r, char **error_r)
{
    int status = report_begin(db, error_r);
    if (status != DB_OK)
        return status;
    if ((status = report_count(db, filter, total_r, error_r)) == DB_OK) {
        sqlite3_stmt *stmt = db_prepare(db, report_list_sql, error_r);
        if (stmt != NULL) {
            db_bind_text(stmt, 1, filter->state);
            /* SQLite's LIMIT -1 is no limit. */
            sqlite3_bind_int64(stmt, 2, limit > 0 ? limit : -1);
            status = report_rows(db, stmt, "list messages", rows_r, error_r);
        } else
            status = DB_ERROR;
    }
    report_end(db);
    return status;
}

/* The classification, actions and events of message ID, added to MESSAGE. */
static int report_add_history(sqlite3 *db, gint64 id, json_object *message, char **error_r)
{
    json_object *classifications = NULL, *actions = NULL, *events = NULL;
    int status = report_rows_of(db, report_classification_sql, id, "show classification",
                                &classifications, error_r);
    if (status == DB_OK)
        status = report_rows_of(db, report_actions_sql, id, "show actions", &actions, error_r);
    if (status == DB_OK)
        status = report_rows_of(db, report_events_sql, id, "show events", &events, error_r);
    if (status == DB_OK) {
        json_object *latest = json_object_array_get_idx(classifications, 0);
        report_parse_sources(latest);
        json_object_object_add(message, "classification", json_object_get(latest));
        json_object_object_add(message, "actions", json_object_get(actions));
        json_object_object_add(message, "events", json_object_get(events));
    }
    json_object_put(classifications);
    json_object_put(actions);
    json_object_put(events);
    return status;
}

int report_show_message(sqlite3 *db, gint64 id, json_object **message_r, char **error_r)
{
    int status = report_begin(db, error_r);
    if (status != DB_OK)
        return status;
    json_object *messages = NULL, *message = NULL;
    status = report_rows_of(db, report_message_sql, id, "show message", &messages, error_r);
    if (status == DB_OK && json_object_array_length(messages) > 0) {
        message = json_object_get(json_object_array_get_idx(messages, 0));
        status = report_add_history(db, id, message, error_r);
    }
    report_end(db);
    json_object_put(messages);
    if (status != DB_OK || message == NULL) {
        json_object_put(message);
        return status;
    }
    *message_r = message;
    return 1;
}

static const char report_endpoint_sql[] =
    "SELECT url, state, reason, http_status, failures, open_until, since, last_success_at,"
    " last_failure_at, updated_at, updated_by FROM llm_endpoints WHERE url = ?1";
static const char report_waiting_sql[] =
    "SELECT count(*) FROM messages WHERE state = 'queued' AND last_error LIKE 'LLM:%'";

/* Inside the read: what health_judge() looks at, and the endpoint's row in *ENDPOINT_R. */
static int report_health_facts(sqlite3 *db, const struct config *cfg, gint64 now,
                               struct health_facts *facts, json_object **endpoint_r, char **error_r)
{
    char *endpoint_id = NULL;
    int found = health_load(db, cfg->llm.url, &facts->view, &endpoint_id, error_r);
    g_free(endpoint_id);
    if (found < 0)
        return found;
    facts->recorded = found == 1;
    json_object *rows = NULL;
    sqlite3_stmt *stmt = db_prepare(db, report_endpoint_sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, cfg->llm.url);
    int status = report_rows(db, stmt, "show the LLM endpoint", &rows, error_r);
    if (status != DB_OK)
        return status;
    *endpoint_r = json_object_get(json_object_array_get_idx(rows, 0));
    json_object_put(rows);
    struct budget_use use = {0, 0};
    if ((status = budget_read_use(db, now, &use, error_r)) != DB_OK)
        return status;
    facts->tokens_today = use.tokens_today;
    facts->requests_last_minute = use.requests_last_minute;
    stmt = db_prepare(db, report_waiting_sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        facts->waiting = sqlite3_column_int64(stmt, 0);
    else
        *error_r = db_error(db, "count the messages waiting for the LLM");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? DB_OK : db_status_of(rc);
}

int report_health(sqlite3 *db, const struct config *cfg, gint64 now, json_object **health_r,
                  char **error_r)
{
    struct health_facts facts = {
        .remote = cfg->llm.provider == CONFIG_PROVIDER_OPENAI,
        .daily_token_budget = cfg->llm.daily_token_budget,
        .max_requests_per_minute = cfg->llm.max_requests_per_minute,
    };
    json_object *endpoint = NULL;
    int status = report_begin(db, error_r);
    if (status != DB_OK)
        return status;
    status = report_health_facts(db, cfg, now, &facts, &endpoint, error_r);
    report_end(db);
    if (status != DB_OK) {
        json_object_put(endpoint);
        if (facts.recorded)
            breaker_view_clear(&facts.view);
        return status;
    }
    char *summary = NULL;
    enum health_status judged = health_judge(&facts, &summary);
    json_object *health = json_object_new_object();
    json_object_object_add(health, "status", json_object_new_string(health_status_name(judged)));
    json_object_object_add(health, "exit_status", json_object_new_int((int)judged));
    json_object_object_add(health, "summary", json_object_new_string(summary));
    json_object_object_add(health, "provider",
                           json_object_new_string(facts.remote ? "openai" : "builtin"));
    json_object_object_add(health, "url", json_object_new_string(cfg->llm.url));
    json_object_object_add(health, "model", json_object_new_string(cfg->llm.model));
    json_object_object_add(health, "endpoint", endpoint);
    json_object_object_add(health, "tokens_today", json_object_new_int64(facts.tokens_today));
    json_object_object_add(health, "daily_token_budget",
                           json_object_new_int64(facts.daily_token_budget));
    json_object_object_add(health, "requests_last_minute",
                           json_object_new_int64(facts.requests_last_minute));
    json_object_object_add(health, "max_requests_per_minute",
                           json_object_new_int64(facts.max_requests_per_minute));
    json_object_object_add(health, "waiting", json_object_new_int64(facts.waiting));
    g_free(summary);
    if (facts.recorded)
        breaker_view_clear(&facts.view);
    *health_r = health;
    return DB_OK;
}
