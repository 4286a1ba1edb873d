/*
 * budget_test: the specification of the LLM budget (lib/core/budget.h) on a real database file.
 *
 * - Without limits nothing is reserved; every request is still counted once it ended.
 * - max_requests_per_minute counts the requests started in the last 60 seconds, pending ones
 *   too, and says when the next may go.
 * - daily_token_budget counts the tokens of today (the local calendar day) and says that the
 *   next may go at midnight; yesterday's tokens do not count.
 * - The count lives in the database: another connection (another process, or a restart) sees
 *   it.
 * - Rows older than a week are forgotten.
 */
#include <glib.h>
#include <sqlite3.h>

#include "budget.h"
#include "db.h"
#include "testutil.h"

struct budget_fixture {
    char *dir;
    char *path;
    sqlite3 *db;
    struct config_llm llm;
    gint64 now;
};

static void budget_fixture_init(struct budget_fixture *f)
{
    f->dir = testutil_tmpdir();
    f->path = g_build_filename(f->dir, "mt.db", NULL);
    char *error = NULL;
    if (db_open(f->path, 1000, &f->db, &error) != DB_OK)
        g_error("db_open: %s", error);
    f->llm = (struct config_llm){0};
    /* Noon of a day, so that a minute either way stays in it. */
    f->now = budget_day_start(testutil_now()) + 12 * 3600;
}

static void budget_fixture_clear(struct budget_fixture *f)
{
    db_close(f->db);
    testutil_rmtree(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

/* A request that ended at AT with TOKENS, as budget_settle() records one without reservation. */
static void budget_spent(sqlite3 *db, gint64 at, gint64 tokens)
{
    char *error = NULL;
    g_assert_cmpint(budget_settle(db, 0, 0, at, TRUE, 200, tokens, at, &error), ==, DB_OK);
    g_assert_null(error);
}

static void test_without_limits_nothing_is_reserved_and_everything_counted(void)
{
    struct budget_fixture f;
    budget_fixture_init(&f);
    gint64 ticket = -1, retry_at = 0;
    char *reason = NULL, *error = NULL;
    g_assert_cmpint(budget_reserve(f.db, &f.llm, 0, f.now, &ticket, &reason, &retry_at, &error), ==,
                    0);
    g_assert_cmpint(ticket, ==, 0);
    g_assert_cmpint(testutil_db_int(f.db, "SELECT count(*) FROM llm_requests"), ==, 0);
    g_assert_cmpint(budget_settle(f.db, 0, 0, f.now, TRUE, 200, 150, f.now + 1, &error), ==, DB_OK);
    g_assert_cmpint(budget_settle(f.db, 0, 0, f.now, FALSE, 503, 0, f.now + 1, &error), ==, DB_OK);
    g_assert_cmpint(testutil_db_int(f.db,
                                    "SELECT count(*) FROM llm_requests WHERE outcome = 'answered'"
                                    " AND tokens = 150 AND http_status = 200"),
                    ==, 1);
    g_assert_cmpint(testutil_db_int(f.db,
                                    "SELECT count(*) FROM llm_requests WHERE outcome = 'failed'"
                                    " AND http_status = 503"),
                    ==, 1);
    struct budget_use use;
    g_assert_cmpint(budget_read_use(f.db, f.now + 1, &use, &error), ==, DB_OK);
    g_assert_cmpint(use.tokens_today, ==, 150);
    g_assert_cmpint(use.requests_last_minute, ==, 2);
    budget_fixture_clear(&f);
}

static void test_requests_per_minute_are_counted_while_pending(void)
{
    struct budget_fixture f;
    budget_fixture_init(&f);
    f.llm.max_requests_per_minute = 2;
    gint64 first = 0, second = 0, third = 0, retry_at = 0;
    char *reason = NULL, *error = NULL;
    g_assert_cmpint(budget_reserve(f.db, &f.llm, 0, f.now, &first, &reason, &retry_at, &error), ==,
                    0);
    g_assert_cmpint(
        budget_reserve(f.db, &f.llm, 0, f.now + 10, &second, &reason, &retry_at, &error), ==, 0);
    g_assert_cmpint(first, >, 0);
    g_assert_cmpint(second, >, first);
    g_assert_cmpint(testutil_db_int(f.db, "SELECT count(*) FROM llm_requests WHERE outcome = "
                                          "'pending'"),
                    ==, 2);

    g_assert_cmpint(budget_reserve(f.db, &f.llm, 0, f.now + 20, &third, &reason, &retry_at, &error),
                    ==, 1);
    g_assert_cmpint(third, ==, 0);
    g_assert_nonnull(reason);
    g_assert_true(g_str_has_prefix(reason, "max_requests_per_minute reached (2 requests in the "
                                           "last minute, at most 2)"));
    /* The first leaves the window 60 s after it started. */
    g_assert_cmpint(retry_at, ==, f.now + 61);
    g_clear_pointer(&reason, g_free);

    g_assert_cmpint(budget_settle(f.db, first, 0, f.now, TRUE, 200, 10, f.now + 1, &error), ==,
                    DB_OK);
    g_assert_cmpint(budget_reserve(f.db, &f.llm, 0, f.now + 61, &third, &reason, &retry_at, &error),
                    ==, 0);
    g_assert_cmpint(third, >, second);
    g_assert_cmpint(testutil_db_int(f.db, "SELECT count(*) FROM llm_requests"), ==, 3);
    budget_fixture_clear(&f);
}

static void test_daily_budget_waits_for_midnight(void)
{
    struct budget_fixture f;
    budget_fixture_init(&f);
    f.llm.daily_token_budget = 100;
    budget_spent(f.db, f.now - 60, 60);
    gint64 ticket = 0, retry_at = 0;
    char *reason = NULL, *error = NULL;
    g_assert_cmpint(budget_reserve(f.db, &f.llm, 0, f.now, &ticket, &reason, &retry_at, &error), ==,
                    0);
    g_assert_cmpint(budget_settle(f.db, ticket, 0, f.now, TRUE, 200, 45, f.now + 1, &error), ==,
                    DB_OK);

    g_assert_cmpint(budget_reserve(f.db, &f.llm, 0, f.now + 2, &ticket, &reason, &retry_at, &error),
                    ==, 1);
    g_assert_cmpstr(reason, ==, "the daily token budget is spent (105 of 100 tokens today)");
    g_assert_cmpint(retry_at, ==, budget_next_day(f.now));
    g_free(reason);
    reason = NULL;
    /* Tomorrow the count starts again. */
    g_assert_cmpint(budget_reserve(f.db, &f.llm, 0, budget_next_day(f.now), &ticket, &reason,
                                   &retry_at, &error),
                    ==, 0);
    budget_fixture_clear(&f);
}

static void test_yesterday_does_not_count(void)
{
    struct budget_fixture f;
    budget_fixture_init(&f);
    budget_spent(f.db, budget_day_start(f.now) - 1, 1000);
    budget_spent(f.db, budget_day_start(f.now), 7);
    struct budget_use use;
    char *error = NULL;
    g_assert_cmpint(budget_read_use(f.db, f.now, &use, &error), ==, DB_OK);
    g_assert_cmpint(use.tokens_today, ==, 7);
    g_assert_cmpint(use.requests_last_minute, ==, 0);
    budget_fixture_clear(&f);
}

/* Another connection to the file is another process, or the daemon after a restart. */
static void test_the_count_survives_a_restart(void)
{
    struct budget_fixture f;
    budget_fixture_init(&f);
    f.llm.daily_token_budget = 100;
    f.llm.max_requests_per_minute = 1;
    budget_spent(f.db, f.now, 100);
    db_close(f.db);
    sqlite3 *other = NULL;
    char *reason = NULL, *error = NULL;
    g_assert_cmpint(db_open(f.path, 1000, &other, &error), ==, DB_OK);
    gint64 ticket = 0, retry_at = 0;
    g_assert_cmpint(
        budget_reserve(other, &f.llm, 0, f.now + 120, &ticket, &reason, &retry_at, &error), ==, 1);
    g_assert_true(g_str_has_prefix(reason, "the daily token budget is spent"));
    g_free(reason);
    f.db = other;
    budget_fixture_clear(&f);
}

static void test_day_boundaries_are_local_midnights(void)
{
    gint64 now = testutil_now();
    gint64 start = budget_day_start(now), next = budget_next_day(now);
    g_assert_cmpint(start, <=, now);
    g_assert_cmpint(next, >, now);
    /* 23, 24 or 25 hours, as daylight saving time makes a day. */
    g_assert_true(next - start == 23 * 3600 || next - start == 24 * 3600 ||
                  next - start == 25 * 3600);
    char *midnight = clock_format_local(start, "%H:%M:%S");
    g_assert_cmpstr(midnight, ==, "00:00:00");
    g_free(midnight);
    g_assert_cmpint(budget_day_start(next), ==, next);
    g_assert_cmpint(budget_day_start(next - 1), ==, start);
}

static void test_rows_older_than_a_week_are_forgotten(void)
{
    struct budget_fixture f;
    budget_fixture_init(&f);
    budget_spent(f.db, f.now - 9 * 86400, 5);
    budget_spent(f.db, f.now - 86400, 5);
    budget_spent(f.db, f.now, 5);
    g_assert_cmpint(testutil_db_int(f.db, "SELECT count(*) FROM llm_requests"), ==, 2);
    budget_fixture_clear(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    g_test_add_func("/budget/without_limits_nothing_is_reserved_and_everything_counted",
                    test_without_limits_nothing_is_reserved_and_everything_counted);
    g_test_add_func("/budget/requests_per_minute_are_counted_while_pending",
                    test_requests_per_minute_are_counted_while_pending);
    g_test_add_func("/budget/daily_budget_waits_for_midnight",
                    test_daily_budget_waits_for_midnight);
    g_test_add_func("/budget/yesterday_does_not_count", test_yesterday_does_not_count);
    g_test_add_func("/budget/the_count_survives_a_restart", test_the_count_survives_a_restart);
    g_test_add_func("/budget/day_boundaries_are_local_midnights",
                    test_day_boundaries_are_local_midnights);
    g_test_add_func("/budget/rows_older_than_a_week_are_forgotten",
                    test_rows_older_than_a_week_are_forgotten);
    return g_test_run();
}
