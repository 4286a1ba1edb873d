/*
 * budget: LLM requests counted in the database against the configured limits; see budget.h.
 */
#include <glib.h>
#include <sqlite3.h>

#include "budget.h"
#include "db.h"

#define BUDGET_WINDOW_SECONDS 60
/* Long enough for a look back over the last days, short enough to stay a small table. */
#define BUDGET_KEEP_SECONDS (8 * 86400)

gint64 budget_day_start(gint64 now)
{
    GDateTime *when = g_date_time_new_from_unix_local(now);
    if (when == NULL)
        return now - now % 86400;
    GDateTime *midnight =
        g_date_time_new_local(g_date_time_get_year(when), g_date_time_get_month(when),
                              g_date_time_get_day_of_month(when), 0, 0, 0);
    gint64 start = midnight != NULL ? g_date_time_to_unix(midnight) : now - now % 86400;
    if (midnight != NULL)
        g_date_time_unref(midnight);
    g_date_time_unref(when);
    return start;
}

gint64 budget_next_day(gint64 now)
{
    /* Midnight of the day after, whatever length a change of daylight saving time gives this
     * day: noon of today plus a day lands inside tomorrow. */
    return budget_day_start(budget_day_start(now) + 12 * 3600 + 86400);
}

/* The one integer SQL (with ?1 = A, ?2 = B) selects, in *VALUE_R (0 for NULL). */
static int budget_query(sqlite3 *db, const char *sql, gint64 a, gint64 b, gint64 *value_r,
                        char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, a);
    sqlite3_bind_int64(stmt, 2, b);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *value_r = sqlite3_column_int64(stmt, 0);
    else
        *error_r = db_error(db, "count LLM requests");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? DB_OK : db_status_of(rc);
}

static int budget_tokens_today(sqlite3 *db, gint64 now, gint64 *tokens_r, char **error_r)
{
    return budget_query(db,
                        "SELECT coalesce(sum(tokens), 0) FROM llm_requests WHERE started_at >= ?1",
                        budget_day_start(now), 0, tokens_r, error_r);
}

static int budget_requests_in_window(sqlite3 *db, gint64 now, gint64 *count_r, char **error_r)
{
    return budget_query(db, "SELECT count(*) FROM llm_requests WHERE started_at > ?1",
                        now - BUDGET_WINDOW_SECONDS, 0, count_r, error_r);
}

int budget_read_use(sqlite3 *db, gint64 now, struct budget_use *use_r, char **error_r)
{
    int status = budget_tokens_today(db, now, &use_r->tokens_today, error_r);
    if (status == DB_OK)
        status = budget_requests_in_window(db, now, &use_r->requests_last_minute, error_r);
    return status;
}

/* Inside the reservation's transaction: 1 with the reason and the time to come back when a
 * limit of LLM is reached at NOW, 0 when not, or DB_BUSY/DB_ERROR. */
static int budget_over(sqlite3 *db, const struct config_llm *llm, gint64 now, char **reason_r,
                       gint64 *retry_at_r, char **error_r)
{
    gint64 tokens = 0, requests = 0, oldest = now;
    int status = DB_OK;
    if (llm->daily_token_budget > 0 &&
        (status = budget_tokens_today(db, now, &tokens, error_r)) == DB_OK &&
        tokens >= llm->daily_token_budget) {
        *reason_r = g_strdup_printf("the daily token budget is spent (%" G_GINT64_FORMAT
                                    " of %u tokens today)",
                                    tokens, llm->daily_token_budget);
        *retry_at_r = budget_next_day(now);
        return 1;
    }
    if (status == DB_OK && llm->max_requests_per_minute > 0 &&
        (status = budget_requests_in_window(db, now, &requests, error_r)) == DB_OK &&
        requests >= llm->max_requests_per_minute) {
        status = budget_query(db, "SELECT min(started_at) FROM llm_requests WHERE started_at > ?1",
                              now - BUDGET_WINDOW_SECONDS, 0, &oldest, error_r);
        if (status != DB_OK)
            return status;
        *reason_r = g_strdup_printf("max_requests_per_minute reached (%" G_GINT64_FORMAT
                                    " requests in the last minute, at most %u)",
                                    requests, llm->max_requests_per_minute);
        *retry_at_r = MAX(oldest + BUDGET_WINDOW_SECONDS, now) + 1;
        return 1;
    }
    return status;
}

static int budget_insert(sqlite3 *db, gint64 message, gint64 started, const char *outcome,
                         long http_status, gint64 tokens, gint64 *id_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "INSERT INTO llm_requests (message, started_at, outcome,"
                                    " http_status, tokens) VALUES (?1, ?2, ?3, ?4, ?5)",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    if (message > 0)
        sqlite3_bind_int64(stmt, 1, message);
    else
        sqlite3_bind_null(stmt, 1);
    sqlite3_bind_int64(stmt, 2, started);
    db_bind_text(stmt, 3, outcome);
    if (http_status > 0)
        sqlite3_bind_int64(stmt, 4, http_status);
    else
        sqlite3_bind_null(stmt, 4);
    sqlite3_bind_int64(stmt, 5, tokens);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "record an LLM request");
        return db_status_of(rc);
    }
    if (id_r != NULL)
        *id_r = sqlite3_last_insert_rowid(db);
    return DB_OK;
}

int budget_reserve(sqlite3 *db, const struct config_llm *llm, gint64 message, gint64 now,
                   gint64 *ticket_r, char **reason_r, gint64 *retry_at_r, char **error_r)
{
    *ticket_r = 0;
    if (llm->daily_token_budget == 0 && llm->max_requests_per_minute == 0)
        return 0;
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    int over = budget_over(db, llm, now, reason_r, retry_at_r, error_r);
    if (over == 0)
        over = budget_insert(db, message, now, "pending", 0, 0, ticket_r, error_r);
    if (over != 0) {
        db_rollback(db);
        return over;
    }
    return db_commit(db, error_r);
}

static int budget_update(sqlite3 *db, gint64 ticket, const char *outcome, long http_status,
                         gint64 tokens, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "UPDATE llm_requests SET outcome = ?2, http_status = ?3,"
                                    " tokens = ?4 WHERE id = ?1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, ticket);
    db_bind_text(stmt, 2, outcome);
    if (http_status > 0)
        sqlite3_bind_int64(stmt, 3, http_status);
    else
        sqlite3_bind_null(stmt, 3);
    sqlite3_bind_int64(stmt, 4, tokens);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "record an LLM request");
        return db_status_of(rc);
    }
    return DB_OK;
}

static int budget_forget_old(sqlite3 *db, gint64 now, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, "DELETE FROM llm_requests WHERE started_at < ?1", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, now - BUDGET_KEEP_SECONDS);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "forget old LLM requests");
        return db_status_of(rc);
    }
    return DB_OK;
}

int budget_settle(sqlite3 *db, gint64 ticket, gint64 message, gint64 started, gboolean answered,
                  long http_status, gint64 tokens, gint64 now, char **error_r)
{
    const char *outcome = answered ? "answered" : "failed";
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    status = ticket > 0 ? budget_update(db, ticket, outcome, http_status, MAX(tokens, 0), error_r)
                        : budget_insert(db, message, started, outcome, http_status, MAX(tokens, 0),
                                        NULL, error_r);
    if (status == DB_OK)
        status = budget_forget_old(db, now, error_r);
    if (status != DB_OK) {
        db_rollback(db);
        return status;
    }
    return db_commit(db, error_r);
}
