/*
 * health_test: the specification of the LLM endpoint's health record and its judgement
 * (lib/core/health.h) and of what `mailtriagectl health` reads (report_health() of report.h).
 *
 * - health_record() and health_load() keep a breaker's view per URL, with the endpoint id.
 * - health_judge(): one row of judge_cases per situation, with its status (the check's exit
 *   status) and a word of its summary.
 * - report_health(): the JSON the CLI prints, from a database with a record, a queued message
 *   waiting for the LLM and the requests of today.
 */
#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "budget.h"
#include "db.h"
#include "health.h"
#include "report.h"
#include "testdata.h"
#include "testutil.h"

struct health_fixture {
    char *dir;
    sqlite3 *db;
};

static void health_fixture_init(struct health_fixture *f)
{
    f->dir = testutil_tmpdir();
    char *path = g_build_filename(f->dir, "mt.db", NULL);
    char *error = NULL;
    if (db_open(path, 1000, &f->db, &error) != DB_OK)
        g_error("db_open: %s", error);
    g_free(path);
}

static void health_fixture_clear(struct health_fixture *f)
{
    db_close(f->db);
    testutil_rmtree(f->dir);
    g_free(f->dir);
}

static void test_record_then_load_round_trips(void)
{
    struct health_fixture f;
    health_fixture_init(&f);
    struct breaker_view view = {.state = BREAKER_MISCONFIGURED,
                                .reason = (char *)"HTTP 401: Incorrect API key provided",
                                .http_status = 401,
                                .failures = 0,
                                .until = 2000,
                                .since = 1500,
                                .last_success = 1000,
                                .last_failure = 1500};
    char *error = NULL;
    g_assert_cmpint(
        health_record(f.db, "http://llm.test/v1", "abcd", &view, 1501, "mx:42 test", &error), ==,
        DB_OK);
    struct breaker_view loaded;
    char *endpoint_id = NULL;
    g_assert_cmpint(health_load(f.db, "http://llm.test/v1", &loaded, &endpoint_id, &error), ==, 1);
    g_assert_cmpint(loaded.state, ==, BREAKER_MISCONFIGURED);
    g_assert_cmpstr(loaded.reason, ==, "HTTP 401: Incorrect API key provided");
    g_assert_cmpint(loaded.http_status, ==, 401);
    g_assert_cmpint(loaded.until, ==, 2000);
    g_assert_cmpint(loaded.since, ==, 1500);
    g_assert_cmpint(loaded.last_success, ==, 1000);
    g_assert_cmpint(loaded.last_failure, ==, 1500);
    g_assert_cmpstr(endpoint_id, ==, "abcd");
    breaker_view_clear(&loaded);
    g_free(endpoint_id);
    g_assert_cmpint(health_load(f.db, "http://other.test/v1", &loaded, &endpoint_id, &error), ==,
                    0);

    /* One row per URL, rewritten; an older answer of another process does not hide a newer. */
    view = (struct breaker_view){.state = BREAKER_OK, .last_success = 900};
    g_assert_cmpint(
        health_record(f.db, "http://llm.test/v1", "abcd", &view, 1600, "mx:43 test", &error), ==,
        DB_OK);
    g_assert_cmpint(testutil_db_int(f.db, "SELECT count(*) FROM llm_endpoints"), ==, 1);
    g_assert_cmpint(testutil_db_int(f.db, "SELECT last_success_at FROM llm_endpoints"), ==, 1000);
    char *state = testutil_db_text(f.db, "SELECT state || ' ' || updated_by FROM llm_endpoints");
    g_assert_cmpstr(state, ==, "ok mx:43 test");
    g_free(state);
    health_fixture_clear(&f);
}

struct judge_case {
    const char *name;
    struct health_facts facts;
    enum health_status status;
    const char *words; /* in the summary */
};

static const struct judge_case judge_cases[] = {
    {"builtin_needs_no_endpoint", {.remote = FALSE}, HEALTH_OK, "builtin"},
    {"nothing_recorded_is_unknown",
     {.remote = TRUE, .recorded = FALSE},
     HEALTH_UNKNOWN,
     "no mailtriage program has called"},
    {"answering_is_ok",
     {.remote = TRUE, .recorded = TRUE, .view = {.state = BREAKER_OK, .last_success = 1000}},
     HEALTH_OK,
     "answering"},
    {"transient_failures_are_degraded",
     {.remote = TRUE,
      .recorded = TRUE,
      .view = {.state = BREAKER_FAILING, .failures = 2, .reason = (char *)"HTTP 503: busy"}},
     HEALTH_DEGRADED,
     "2 failure(s) in a row, retried with back-off: HTTP 503: busy"},
    {"breaker_open_is_failing",
     {.remote = TRUE,
      .recorded = TRUE,
      .view = {.state = BREAKER_OPEN,
               .failures = 5,
               .until = 2000,
               .reason = (char *)"Couldn't connect to server"},
      .waiting = 12},
     HEALTH_FAILING,
     "circuit breaker open until"},
    {"misconfigured_is_failing_with_the_servers_words",
     {.remote = TRUE,
      .recorded = TRUE,
      .view = {.state = BREAKER_MISCONFIGURED,
               .until = 2000,
               .since = 1000,
               .reason = (char *)"HTTP 401: Incorrect API key provided"},
      .waiting = 3},
     HEALTH_FAILING,
     "HTTP 401: Incorrect API key provided; 3 message(s) wait"},
    {"a_spent_daily_budget_is_degraded",
     {.remote = TRUE,
      .recorded = TRUE,
      .view = {.state = BREAKER_OK},
      .tokens_today = 1200,
      .daily_token_budget = 1000},
     HEALTH_DEGRADED,
     "daily token budget is spent (1200 of 1000"},
    {"under_the_daily_budget_is_ok",
     {.remote = TRUE,
      .recorded = TRUE,
      .view = {.state = BREAKER_OK},
      .tokens_today = 999,
      .daily_token_budget = 1000},
     HEALTH_OK,
     "answering"},
    {"at_the_request_limit_is_degraded",
     {.remote = TRUE,
      .recorded = TRUE,
      .view = {.state = BREAKER_OK},
      .requests_last_minute = 60,
      .max_requests_per_minute = 60},
     HEALTH_DEGRADED,
     "max_requests_per_minute"},
    {"misconfigured_outranks_the_budget",
     {.remote = TRUE,
      .recorded = TRUE,
      .view = {.state = BREAKER_MISCONFIGURED, .reason = (char *)"HTTP 404"},
      .tokens_today = 5,
      .daily_token_budget = 1},
     HEALTH_FAILING,
     "misconfigured"},
};

static void test_judge_case(gconstpointer data)
{
    const struct judge_case *c = data;
    char *summary = NULL;
    g_assert_cmpint(health_judge(&c->facts, &summary), ==, c->status);
    if (!testdata_contains(summary, c->words))
        g_test_message("summary \"%s\" lacks \"%s\"", summary, c->words);
    g_assert_true(testdata_contains(summary, c->words));
    g_free(summary);
}

static void test_status_names_are_the_checks(void)
{
    g_assert_cmpstr(health_status_name(HEALTH_OK), ==, "ok");
    g_assert_cmpstr(health_status_name(HEALTH_DEGRADED), ==, "degraded");
    g_assert_cmpstr(health_status_name(HEALTH_FAILING), ==, "failing");
    g_assert_cmpstr(health_status_name(HEALTH_UNKNOWN), ==, "unknown");
    g_assert_cmpint(HEALTH_OK, ==, 0);
    g_assert_cmpint(HEALTH_UNKNOWN, ==, 3);
}

static const char *json_text(json_object *object, const char *key)
{
    json_object *value = NULL;
    return json_object_object_get_ex(object, key, &value) && value != NULL
               ? json_object_get_string(value)
               : NULL;
}

static void test_report_health_gathers_what_the_cli_prints(void)
{
    struct health_fixture f;
    health_fixture_init(&f);
    struct config *cfg = testdata_config("[llm]\n"
                                         "provider = openai\n"
                                         "url = http://llm.test/v1\n"
                                         "model = m\n"
                                         "daily_token_budget = 1000\n"
                                         "[mailbox support@example.org]\n"
                                         "escalate_to = staff@example.org\n");
    gint64 now = testutil_now();
    json_object *health = NULL;
    char *error = NULL;
    g_assert_cmpint(report_health(f.db, cfg, now, &health, &error), ==, DB_OK);
    g_assert_cmpstr(json_text(health, "status"), ==, "unknown");
    g_assert_cmpint(json_object_get_int(json_object_object_get(health, "exit_status")), ==, 3);
    g_assert_null(json_object_object_get(health, "endpoint"));
    json_object_put(health);

    struct breaker_view view = {.state = BREAKER_OPEN,
                                .reason = (char *)"HTTP 500: boom",
                                .http_status = 500,
                                .failures = 5,
                                .until = now + 30,
                                .since = now};
    g_assert_cmpint(health_record(f.db, "http://llm.test/v1", "id", &view, now, "mx:1", &error), ==,
                    DB_OK);
    g_assert_cmpint(budget_settle(f.db, 0, 0, now, TRUE, 200, 250, now, &error), ==, DB_OK);
    testutil_db_exec(f.db, "INSERT INTO messages (intake, mailbox, rcpts, received_at, size,"
                           " next_attempt_at, updated_at, state, last_error) VALUES"
                           " ('test', 'support@example.org', 'support@example.org', 1, 1, 1, 1,"
                           " 'queued', 'LLM: not sent: the circuit breaker is open'),"
                           " ('test', 'support@example.org', 'support@example.org', 1, 1, 1, 1,"
                           " 'queued', 'sendmail exited with status 75')");
    g_assert_cmpint(report_health(f.db, cfg, now, &health, &error), ==, DB_OK);
    g_assert_cmpstr(json_text(health, "status"), ==, "failing");
    g_assert_cmpint(json_object_get_int(json_object_object_get(health, "exit_status")), ==, 2);
    g_assert_true(testdata_contains(json_text(health, "summary"), "circuit breaker open"));
    g_assert_cmpstr(json_text(health, "url"), ==, "http://llm.test/v1");
    g_assert_cmpstr(json_text(health, "provider"), ==, "openai");
    json_object *endpoint = json_object_object_get(health, "endpoint");
    g_assert_cmpstr(json_text(endpoint, "state"), ==, "open");
    g_assert_cmpstr(json_text(endpoint, "reason"), ==, "HTTP 500: boom");
    g_assert_cmpint(json_object_get_int64(json_object_object_get(endpoint, "open_until")), ==,
                    now + 30);
    g_assert_cmpint(json_object_get_int64(json_object_object_get(health, "tokens_today")), ==, 250);
    g_assert_cmpint(json_object_get_int64(json_object_object_get(health, "daily_token_budget")), ==,
                    1000);
    g_assert_cmpint(json_object_get_int64(json_object_object_get(health, "requests_last_minute")),
                    ==, 1);
    g_assert_cmpint(json_object_get_int64(json_object_object_get(health, "waiting")), ==, 1);
    json_object_put(health);
    config_unref(cfg);
    health_fixture_clear(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    g_test_add_func("/health/record_then_load_round_trips", test_record_then_load_round_trips);
    for (size_t i = 0; i < G_N_ELEMENTS(judge_cases); i++) {
        char *path = g_strdup_printf("/health/judge/%s", judge_cases[i].name);
        g_test_add_data_func(path, &judge_cases[i], test_judge_case);
        g_free(path);
    }
    g_test_add_func("/health/status_names_are_the_checks", test_status_names_are_the_checks);
    g_test_add_func("/health/report_health_gathers_what_the_cli_prints",
                    test_report_health_gathers_what_the_cli_prints);
    return g_test_run();
}
