/*
 * health: the LLM endpoint's recorded state and its judgement; see health.h.
 */
#include <glib.h>
#include <sqlite3.h>

#include "clock.h"
#include "db.h"
#include "health.h"
#include "redact.h"

static const char *const health_status_names[] = {"ok", "degraded", "failing", "unknown"};

const char *health_status_name(enum health_status status)
{
    return status <= HEALTH_UNKNOWN ? health_status_names[status] : "unknown";
}

static void health_bind_positive(sqlite3_stmt *stmt, int index, gint64 seconds)
{
    if (seconds > 0)
        sqlite3_bind_int64(stmt, index, seconds);
    else
        sqlite3_bind_null(stmt, index);
}

int health_record(sqlite3 *db, const char *url, const char *endpoint_id,
                  const struct breaker_view *view, gint64 now, const char *who, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db,
        "INSERT INTO llm_endpoints (url, state, reason, http_status, failures, open_until, since,"
        " last_success_at, last_failure_at, updated_at, updated_by, endpoint_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " ON CONFLICT (url) DO UPDATE SET state = excluded.state, reason = excluded.reason,"
        " http_status = excluded.http_status, failures = excluded.failures,"
        " open_until = excluded.open_until, since = excluded.since,"
        " last_success_at = max(coalesce(last_success_at, 0), coalesce(excluded.last_success_at,"
        " 0)), last_failure_at = excluded.last_failure_at, updated_at = excluded.updated_at,"
        " updated_by = excluded.updated_by, endpoint_id = excluded.endpoint_id",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    /* Keyed by the URL as it may be shown: its user name and password stay out of the file. */
    char *shown = redact_url(url);
    db_bind_text(stmt, 1, shown);
    g_free(shown);
    db_bind_text(stmt, 2, breaker_state_name(view->state));
    db_bind_text(stmt, 3, view->reason);
    health_bind_positive(stmt, 4, view->http_status);
    sqlite3_bind_int64(stmt, 5, view->failures);
    health_bind_positive(stmt, 6, view->until);
    health_bind_positive(stmt, 7, view->since);
    health_bind_positive(stmt, 8, view->last_success);
    health_bind_positive(stmt, 9, view->last_failure);
    sqlite3_bind_int64(stmt, 10, now);
    db_bind_text(stmt, 11, who);
    db_bind_text(stmt, 12, endpoint_id);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "record the LLM endpoint's state");
        return db_status_of(rc);
    }
    return DB_OK;
}

int health_load(sqlite3 *db, const char *url, struct breaker_view *view_r, char **endpoint_id_r,
                char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "SELECT state, reason, http_status, failures, open_until,"
                                    " since, last_success_at, last_failure_at, endpoint_id"
                                    " FROM llm_endpoints WHERE url = ?1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    /* Keyed by the URL as it may be shown: its user name and password stay out of the file. */
    char *shown = redact_url(url);
    db_bind_text(stmt, 1, shown);
    g_free(shown);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        int state = breaker_state_parse((const char *)sqlite3_column_text(stmt, 0));
        *view_r = (struct breaker_view){
            .state = state >= 0 ? (enum breaker_state)state : BREAKER_OK,
            .reason = db_column_dup(stmt, 1),
            .http_status = (long)sqlite3_column_int64(stmt, 2),
            .failures = (guint)sqlite3_column_int64(stmt, 3),
            .until = sqlite3_column_int64(stmt, 4),
            .since = sqlite3_column_int64(stmt, 5),
            .last_success = sqlite3_column_int64(stmt, 6),
            .last_failure = sqlite3_column_int64(stmt, 7),
        };
        *endpoint_id_r = db_column_dup(stmt, 8);
    } else if (rc != SQLITE_DONE)
        *error_r = db_error(db, "read the LLM endpoint's state");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_status_of(rc);
}

static char *health_time(gint64 seconds)
{
    char *text = seconds > 0 ? clock_format_local(seconds, "%Y-%m-%d %H:%M:%S") : NULL;
    return text != NULL ? text : g_strdup("never");
}

/* The summary of a shut endpoint (open or misconfigured). */
static char *health_shut_summary(const struct health_facts *facts)
{
    const struct breaker_view *view = &facts->view;
    char *until = health_time(view->until);
    char *since = health_time(view->since);
    char *text;
    if (view->state == BREAKER_MISCONFIGURED)
        text = g_strdup_printf("misconfigured since %s: %s; %" G_GINT64_FORMAT
                               " message(s) wait, their attempts not counted; next probe at %s",
                               since, view->reason != NULL ? view->reason : "(no reason)",
                               facts->waiting, until);
    else
        text = g_strdup_printf("circuit breaker open until %s after %u failure(s) in a row: %s; "
                               "%" G_GINT64_FORMAT " message(s) wait",
                               until, view->failures,
                               view->reason != NULL ? view->reason : "(no reason)", facts->waiting);
    g_free(until);
    g_free(since);
    return text;
}

enum health_status health_judge(const struct health_facts *facts, char **summary_r)
{
    const struct breaker_view *view = &facts->view;
    if (!facts->remote) {
        *summary_r = g_strdup("the builtin classifier needs no LLM endpoint");
        return HEALTH_OK;
    }
    if (!facts->recorded) {
        *summary_r = g_strdup("no mailtriage program has called the LLM endpoint yet (is "
                              "mailtriaged running, and has mail come?)");
        return HEALTH_UNKNOWN;
    }
    if (view->state == BREAKER_OPEN || view->state == BREAKER_MISCONFIGURED) {
        *summary_r = health_shut_summary(facts);
        return HEALTH_FAILING;
    }
    if (view->state == BREAKER_FAILING) {
        *summary_r =
            g_strdup_printf("%u failure(s) in a row, retried with back-off: %s", view->failures,
                            view->reason != NULL ? view->reason : "(no reason)");
        return HEALTH_DEGRADED;
    }
    if (facts->daily_token_budget > 0 && facts->tokens_today >= facts->daily_token_budget) {
        *summary_r =
            g_strdup_printf("answering, but the daily token budget is spent (%" G_GINT64_FORMAT
                            " of %" G_GINT64_FORMAT " tokens today)",
                            facts->tokens_today, facts->daily_token_budget);
        return HEALTH_DEGRADED;
    }
    if (facts->max_requests_per_minute > 0 &&
        facts->requests_last_minute >= facts->max_requests_per_minute) {
        *summary_r = g_strdup_printf("answering, at max_requests_per_minute (%" G_GINT64_FORMAT
                                     " in the last minute)",
                                     facts->requests_last_minute);
        return HEALTH_DEGRADED;
    }
    char *success = health_time(view->last_success);
    *summary_r = g_strdup_printf("answering (last answer %s)", success);
    g_free(success);
    return HEALTH_OK;
}
