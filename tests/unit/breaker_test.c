/*
 * breaker_test: the specification of the circuit breaker (lib/core/breaker.h).
 *
 * Each row of breaker_cases is a story told at given times (seconds from 1000): a request is
 * admitted (or not, and until when), its outcome reported, and after each step the breaker's
 * state, whether the report was a change (the log line said once) and, when shut, until when.
 * The breaker's settings: 3 failures in a row, a cool-down of 10 s up to 40 s, probes given
 * up after 100 s (while one is out, the others come back after a cool-down).
 */
#include <glib.h>

#include "breaker.h"

#define T0 1000

enum step_kind { END, ADMIT, REPORT };

struct breaker_step {
    enum step_kind kind;
    gint64 at;                        /* seconds after T0 */
    enum breaker_admission admission; /* ADMIT: expected; REPORT: how it was admitted */
    enum breaker_outcome outcome;     /* REPORT */
    long http_status;                 /* REPORT */
    gint64 retry_after;               /* REPORT */
    gint64 retry_at;                  /* ADMIT that waits: expected, after T0 */
    enum breaker_state state;         /* expected after the step */
    gboolean changed;                 /* REPORT: expected */
    gint64 until;                     /* expected after T0 when shut; 0: not checked */
};

struct breaker_case {
    const char *name;
    struct breaker_step steps[16];
};

static const struct breaker_settings settings = {3, 10, 40, 100};

#define PASS_AT(t, st)                                                                             \
    {                                                                                              \
        ADMIT, t, BREAKER_PASS, 0, 0, 0, 0, st, FALSE, 0                                           \
    }
#define PROBE_AT(t, st)                                                                            \
    {                                                                                              \
        ADMIT, t, BREAKER_PROBE, 0, 0, 0, 0, st, FALSE, 0                                          \
    }
#define WAIT_AT(t, until_, st)                                                                     \
    {                                                                                              \
        ADMIT, t, BREAKER_WAIT, 0, 0, 0, until_, st, FALSE, 0                                      \
    }
#define GOT(t, adm, out, status, ra, st, ch, until_)                                               \
    {                                                                                              \
        REPORT, t, adm, out, status, ra, 0, st, ch, until_                                         \
    }
#define FAILED(t, st, ch, until_) GOT(t, BREAKER_PASS, BREAKER_TRANSIENT, 500, 0, st, ch, until_)
#define ANSWERED(t, st, ch) GOT(t, BREAKER_PASS, BREAKER_ANSWERED, 0, 0, st, ch, 0)
/* Three transient failures from T0: open until T0 + 10. */
#define OPENED                                                                                     \
    FAILED(0, BREAKER_FAILING, TRUE, 0), FAILED(0, BREAKER_FAILING, FALSE, 0),                     \
        FAILED(0, BREAKER_OPEN, TRUE, 10)

static const struct breaker_case breaker_cases[] = {
    {"answers_keep_it_ok",
     {PASS_AT(0, BREAKER_OK), ANSWERED(0, BREAKER_OK, FALSE), PASS_AT(1, BREAKER_OK)}},
    {"opens_after_threshold_transient_failures_in_a_row", {OPENED, WAIT_AT(5, 10, BREAKER_OPEN)}},
    {"an_answer_between_failures_starts_the_count_again",
     {FAILED(0, BREAKER_FAILING, TRUE, 0), FAILED(0, BREAKER_FAILING, FALSE, 0),
      ANSWERED(1, BREAKER_OK, TRUE), FAILED(2, BREAKER_FAILING, TRUE, 0),
      FAILED(2, BREAKER_FAILING, FALSE, 0), PASS_AT(3, BREAKER_FAILING)}},
    {"after_the_cooldown_one_probe_goes_and_the_others_wait",
     {OPENED, PROBE_AT(10, BREAKER_OPEN), WAIT_AT(10, 20, BREAKER_OPEN),
      WAIT_AT(50, 60, BREAKER_OPEN), WAIT_AT(105, 110, BREAKER_OPEN)}},
    {"an_answered_probe_closes_it",
     {OPENED, PROBE_AT(10, BREAKER_OPEN),
      GOT(11, BREAKER_PROBE, BREAKER_ANSWERED, 0, 0, BREAKER_OK, TRUE, 0),
      PASS_AT(11, BREAKER_OK)}},
    {"each_failed_probe_doubles_the_cooldown_up_to_the_most",
     {OPENED, PROBE_AT(10, BREAKER_OPEN),
      GOT(10, BREAKER_PROBE, BREAKER_TRANSIENT, 500, 0, BREAKER_OPEN, FALSE, 30),
      WAIT_AT(29, 30, BREAKER_OPEN), PROBE_AT(30, BREAKER_OPEN),
      GOT(30, BREAKER_PROBE, BREAKER_TRANSIENT, 500, 0, BREAKER_OPEN, FALSE, 70),
      PROBE_AT(70, BREAKER_OPEN),
      GOT(70, BREAKER_PROBE, BREAKER_TRANSIENT, 500, 0, BREAKER_OPEN, FALSE, 110)}},
    {"closing_starts_the_cooldown_again_from_the_first",
     {OPENED, PROBE_AT(10, BREAKER_OPEN),
      GOT(10, BREAKER_PROBE, BREAKER_TRANSIENT, 500, 0, BREAKER_OPEN, FALSE, 30),
      PROBE_AT(30, BREAKER_OPEN),
      GOT(30, BREAKER_PROBE, BREAKER_ANSWERED, 0, 0, BREAKER_OK, TRUE, 0),
      FAILED(31, BREAKER_FAILING, TRUE, 0), FAILED(31, BREAKER_FAILING, FALSE, 0),
      FAILED(31, BREAKER_OPEN, TRUE, 41)}},
    {"a_retry_after_opens_it_at_once_for_that_long",
     {GOT(0, BREAKER_PASS, BREAKER_TRANSIENT, 429, 7, BREAKER_OPEN, TRUE, 7),
      WAIT_AT(6, 7, BREAKER_OPEN), PROBE_AT(7, BREAKER_OPEN)}},
    {"a_retry_after_longer_than_the_cooldown_wins",
     {FAILED(0, BREAKER_FAILING, TRUE, 0), FAILED(0, BREAKER_FAILING, FALSE, 0),
      GOT(0, BREAKER_PASS, BREAKER_TRANSIENT, 503, 25, BREAKER_OPEN, TRUE, 25)}},
    {"a_failure_in_flight_when_it_opened_does_not_move_the_end",
     {OPENED, FAILED(5, BREAKER_OPEN, FALSE, 10), WAIT_AT(9, 10, BREAKER_OPEN)}},
    {"a_configuration_error_misconfigures_it_at_once",
     {GOT(0, BREAKER_PASS, BREAKER_CONFIG, 401, 0, BREAKER_MISCONFIGURED, TRUE, 10),
      WAIT_AT(1, 10, BREAKER_MISCONFIGURED), PROBE_AT(10, BREAKER_MISCONFIGURED)}},
    {"the_same_configuration_error_again_is_no_change",
     {GOT(0, BREAKER_PASS, BREAKER_CONFIG, 401, 0, BREAKER_MISCONFIGURED, TRUE, 10),
      GOT(1, BREAKER_PASS, BREAKER_CONFIG, 401, 0, BREAKER_MISCONFIGURED, FALSE, 10),
      PROBE_AT(10, BREAKER_MISCONFIGURED),
      GOT(10, BREAKER_PROBE, BREAKER_CONFIG, 401, 0, BREAKER_MISCONFIGURED, FALSE, 30)}},
    {"another_configuration_error_is_a_change",
     {GOT(0, BREAKER_PASS, BREAKER_CONFIG, 401, 0, BREAKER_MISCONFIGURED, TRUE, 10),
      PROBE_AT(10, BREAKER_MISCONFIGURED),
      GOT(10, BREAKER_PROBE, BREAKER_CONFIG, 404, 0, BREAKER_MISCONFIGURED, TRUE, 30)}},
    {"a_misconfigured_endpoint_that_answers_is_ok",
     {GOT(0, BREAKER_PASS, BREAKER_CONFIG, 403, 0, BREAKER_MISCONFIGURED, TRUE, 10),
      PROBE_AT(10, BREAKER_MISCONFIGURED),
      GOT(10, BREAKER_PROBE, BREAKER_ANSWERED, 0, 0, BREAKER_OK, TRUE, 0),
      PASS_AT(10, BREAKER_OK)}},
    {"a_misconfigured_endpoint_that_stops_answering_is_open",
     {GOT(0, BREAKER_PASS, BREAKER_CONFIG, 404, 0, BREAKER_MISCONFIGURED, TRUE, 10),
      PROBE_AT(10, BREAKER_MISCONFIGURED),
      GOT(10, BREAKER_PROBE, BREAKER_TRANSIENT, 0, 0, BREAKER_OPEN, TRUE, 30)}},
    {"a_transient_failure_in_flight_leaves_it_misconfigured",
     {GOT(0, BREAKER_PASS, BREAKER_CONFIG, 401, 0, BREAKER_MISCONFIGURED, TRUE, 10),
      FAILED(1, BREAKER_MISCONFIGURED, FALSE, 10)}},
    {"one_rejected_request_leaves_it_ok",
     {GOT(0, BREAKER_PASS, BREAKER_REJECTED, 400, 0, BREAKER_OK, FALSE, 0),
      PASS_AT(0, BREAKER_OK)}},
    {"threshold_rejections_in_a_row_are_a_configuration_error",
     {GOT(0, BREAKER_PASS, BREAKER_REJECTED, 400, 0, BREAKER_OK, FALSE, 0),
      GOT(0, BREAKER_PASS, BREAKER_REJECTED, 400, 0, BREAKER_OK, FALSE, 0),
      GOT(0, BREAKER_PASS, BREAKER_REJECTED, 400, 0, BREAKER_MISCONFIGURED, TRUE, 10),
      WAIT_AT(1, 10, BREAKER_MISCONFIGURED)}},
    {"rejections_with_answers_between_them_stay_ok",
     {GOT(0, BREAKER_PASS, BREAKER_REJECTED, 400, 0, BREAKER_OK, FALSE, 0),
      GOT(0, BREAKER_PASS, BREAKER_REJECTED, 400, 0, BREAKER_OK, FALSE, 0),
      ANSWERED(0, BREAKER_OK, FALSE),
      GOT(0, BREAKER_PASS, BREAKER_REJECTED, 400, 0, BREAKER_OK, FALSE, 0),
      GOT(0, BREAKER_PASS, BREAKER_REJECTED, 400, 0, BREAKER_OK, FALSE, 0)}},
    {"a_rejected_probe_closes_it_the_server_answers",
     {OPENED, PROBE_AT(10, BREAKER_OPEN),
      GOT(10, BREAKER_PROBE, BREAKER_REJECTED, 400, 0, BREAKER_OK, TRUE, 0)}},
    {"a_probe_that_never_reports_is_given_up_after_probe_timeout",
     {OPENED, PROBE_AT(10, BREAKER_OPEN), WAIT_AT(109, 110, BREAKER_OPEN),
      PROBE_AT(110, BREAKER_OPEN)}},
    {"an_abandoned_probe_lets_the_next_request_probe",
     {OPENED, PROBE_AT(10, BREAKER_OPEN),
      GOT(10, BREAKER_PROBE, BREAKER_ABANDONED, 0, 0, BREAKER_OPEN, FALSE, 10),
      PROBE_AT(11, BREAKER_OPEN)}},
};

static void test_breaker_case(gconstpointer data)
{
    const struct breaker_case *c = data;
    struct breaker *breaker = breaker_new();
    for (size_t i = 0; i < G_N_ELEMENTS(c->steps) && c->steps[i].kind != END; i++) {
        const struct breaker_step *step = &c->steps[i];
        g_test_message("step %zu at T0+%" G_GINT64_FORMAT, i + 1, step->at);
        if (step->kind == ADMIT) {
            gint64 retry_at = -1;
            enum breaker_admission admission =
                breaker_admit(breaker, &settings, T0 + step->at, &retry_at);
            g_assert_cmpint(admission, ==, step->admission);
            if (admission == BREAKER_WAIT)
                g_assert_cmpint(retry_at, ==, T0 + step->retry_at);
        } else {
            gboolean changed =
                breaker_report(breaker, &settings, step->admission, step->outcome, "the reason",
                               step->http_status, step->retry_after, T0 + step->at);
            g_assert_cmpint(changed, ==, step->changed);
        }
        struct breaker_view view;
        breaker_view(breaker, &view);
        g_assert_cmpstr(breaker_state_name(view.state), ==, breaker_state_name(step->state));
        if (step->until != 0)
            g_assert_cmpint(view.until, ==, T0 + step->until);
        breaker_view_clear(&view);
    }
    breaker_free(breaker);
}

/* The view says what the health record needs: the reason and status of the last failure,
 * the failures in a row, since when, the last answer. */
static void test_view_keeps_the_last_failure_and_times(void)
{
    struct breaker *breaker = breaker_new();
    breaker_report(breaker, &settings, BREAKER_PASS, BREAKER_ANSWERED, NULL, 0, 0, T0);
    breaker_report(breaker, &settings, BREAKER_PASS, BREAKER_TRANSIENT, "HTTP 502: bad gateway",
                   502, 0, T0 + 5);
    breaker_report(breaker, &settings, BREAKER_PASS, BREAKER_TRANSIENT, "HTTP 503: busy", 503, 0,
                   T0 + 6);
    struct breaker_view view;
    breaker_view(breaker, &view);
    g_assert_cmpint(view.state, ==, BREAKER_FAILING);
    g_assert_cmpint(view.previous, ==, BREAKER_OK);
    g_assert_cmpstr(view.reason, ==, "HTTP 503: busy");
    g_assert_cmpint(view.http_status, ==, 503);
    g_assert_cmpuint(view.failures, ==, 2);
    g_assert_cmpint(view.since, ==, T0 + 5);
    g_assert_cmpint(view.last_success, ==, T0);
    g_assert_cmpint(view.last_failure, ==, T0 + 6);
    g_assert_cmpint(view.until, ==, 0);
    breaker_view_clear(&view);
    breaker_free(breaker);
}

/* A process that starts takes on a shut state another recorded while it is still shut, and
 * a run of failures. */
static void test_adopt_takes_on_what_tells_something(void)
{
    struct breaker_view recorded = {.state = BREAKER_MISCONFIGURED,
                                    .reason = (char *)"HTTP 401: Incorrect API key",
                                    .http_status = 401,
                                    .until = T0 + 60,
                                    .since = T0 - 100};
    struct breaker *breaker = breaker_new();
    breaker_adopt(breaker, &recorded, T0);
    gint64 retry_at = 0;
    g_assert_cmpint(breaker_admit(breaker, &settings, T0, &retry_at), ==, BREAKER_WAIT);
    g_assert_cmpint(retry_at, ==, T0 + 60);
    struct breaker_view view;
    breaker_view(breaker, &view);
    g_assert_cmpstr(view.reason, ==, "HTTP 401: Incorrect API key");
    g_assert_cmpint(view.since, ==, T0 - 100);
    breaker_view_clear(&view);
    breaker_free(breaker);

    breaker = breaker_new();
    breaker_adopt(breaker, &recorded, T0 + 60); /* its end has come: nothing to take on */
    g_assert_cmpint(breaker_admit(breaker, &settings, T0 + 60, &retry_at), ==, BREAKER_PASS);
    breaker_free(breaker);

    /* Failures in a row recorded by other processes count with the next one. */
    breaker = breaker_new();
    recorded.state = BREAKER_FAILING;
    recorded.failures = 2;
    breaker_adopt(breaker, &recorded, T0);
    g_assert_cmpint(breaker_admit(breaker, &settings, T0, &retry_at), ==, BREAKER_PASS);
    g_assert_true(breaker_report(breaker, &settings, BREAKER_PASS, BREAKER_TRANSIENT, "HTTP 500",
                                 500, 0, T0));
    g_assert_cmpint(breaker_admit(breaker, &settings, T0 + 1, &retry_at), ==, BREAKER_WAIT);
    breaker_free(breaker);

    /* An ok record says nothing that a new breaker does not know. */
    breaker = breaker_new();
    recorded.state = BREAKER_OK;
    breaker_adopt(breaker, &recorded, T0);
    struct breaker_view fresh;
    breaker_view(breaker, &fresh);
    g_assert_cmpuint(fresh.failures, ==, 0);
    g_assert_cmpuint(fresh.changes, ==, 0);
    breaker_view_clear(&fresh);
    breaker_free(breaker);
}

/* A new endpoint (a reload with another URL, model or key) starts from nothing. */
/* A transient failure of a request sent before a 401 was seen leaves the 401 as the cause. */
static void test_misconfigured_cause_stays_through_requests_in_flight(void)
{
    struct breaker *breaker = breaker_new();
    breaker_report(breaker, &settings, BREAKER_PASS, BREAKER_CONFIG, "HTTP 401: wrong key", 401, 0,
                   T0);
    breaker_report(breaker, &settings, BREAKER_PASS, BREAKER_TRANSIENT, "timeout", 0, 0, T0 + 1);
    breaker_report(breaker, &settings, BREAKER_PASS, BREAKER_REJECTED, "HTTP 400", 400, 0, T0 + 1);
    struct breaker_view view;
    breaker_view(breaker, &view);
    g_assert_cmpint(view.state, ==, BREAKER_MISCONFIGURED);
    g_assert_cmpstr(view.reason, ==, "HTTP 401: wrong key");
    g_assert_cmpint(view.http_status, ==, 401);
    breaker_view_clear(&view);
    breaker_free(breaker);
}

static void test_reset_forgets_everything(void)
{
    struct breaker *breaker = breaker_new();
    breaker_report(breaker, &settings, BREAKER_PASS, BREAKER_CONFIG, "HTTP 401", 401, 0, T0);
    breaker_reset(breaker);
    gint64 retry_at = 0;
    g_assert_cmpint(breaker_admit(breaker, &settings, T0 + 1, &retry_at), ==, BREAKER_PASS);
    struct breaker_view view;
    breaker_view(breaker, &view);
    g_assert_cmpint(view.state, ==, BREAKER_OK);
    g_assert_null(view.reason);
    breaker_view_clear(&view);
    breaker_free(breaker);
}

static void test_state_names_round_trip(void)
{
    for (int state = BREAKER_OK; state <= BREAKER_MISCONFIGURED; state++)
        g_assert_cmpint(breaker_state_parse(breaker_state_name(state)), ==, state);
    g_assert_cmpint(breaker_state_parse("closed"), ==, -1);
    g_assert_cmpint(breaker_state_parse(NULL), ==, -1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    for (size_t i = 0; i < G_N_ELEMENTS(breaker_cases); i++) {
        char *path = g_strdup_printf("/breaker/%s", breaker_cases[i].name);
        g_test_add_data_func(path, &breaker_cases[i], test_breaker_case);
        g_free(path);
    }
    g_test_add_func("/breaker/view_keeps_the_last_failure_and_times",
                    test_view_keeps_the_last_failure_and_times);
    g_test_add_func("/breaker/adopt_takes_on_what_tells_something",
                    test_adopt_takes_on_what_tells_something);
    g_test_add_func("/breaker/misconfigured_cause_stays_through_requests_in_flight",
                    test_misconfigured_cause_stays_through_requests_in_flight);
    g_test_add_func("/breaker/reset_forgets_everything", test_reset_forgets_everything);
    g_test_add_func("/breaker/state_names_round_trip", test_state_names_round_trip);
    return g_test_run();
}
