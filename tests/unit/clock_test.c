/*
 * clock_test: the specification of lib/util/clock.h.
 *
 * The clock follows the system's real time until a test fixes it, and again after the fixed
 * time is cleared. The formatting rows use 2025-03-03 16:00:00 UTC and a local zone two hours
 * east of UTC (a POSIX TZ string, so that no zone database is needed).
 */
#include <glib.h>

#include "clock.h"

#define MARCH_3_2025_16H G_GINT64_CONSTANT(1741017600) /* 2025-03-03 16:00:00 UTC */

static void test_follows_the_real_clock(void)
{
    gint64 before = g_get_real_time();
    gint64 now_us = clock_now_us();
    gint64 now = clock_now();
    gint64 after = g_get_real_time();

    g_assert_cmpint(now_us, >=, before);
    g_assert_cmpint(now_us, <=, after);
    g_assert_cmpint(now, >=, before / G_USEC_PER_SEC);
    g_assert_cmpint(now, <=, after / G_USEC_PER_SEC);
}

static void test_fixed_for_tests_and_back(void)
{
    clock_set_for_tests(MARCH_3_2025_16H * G_USEC_PER_SEC + 999999);
    g_assert_cmpint(clock_now_us(), ==, MARCH_3_2025_16H * G_USEC_PER_SEC + 999999);
    g_assert_cmpint(clock_now(), ==, MARCH_3_2025_16H);
    GDateTime *local = clock_now_local();
    g_assert_cmpint(g_date_time_to_unix(local), ==, MARCH_3_2025_16H);
    g_assert_cmpint(g_date_time_get_utc_offset(local), ==, 2 * G_TIME_SPAN_HOUR);
    g_date_time_unref(local);

    clock_set_for_tests(0);
    g_assert_cmpint(clock_now(), >, MARCH_3_2025_16H);
    g_assert_cmpint(clock_now(), <=, g_get_real_time() / G_USEC_PER_SEC);
}

struct format_case {
    const char *name;
    char *(*format)(gint64 seconds, const char *format);
    gint64 seconds;
    const char *pattern;
    const char *expected; /* NULL: out of range */
};

static const struct format_case format_cases[] = {
    {"utc_message_id_stamp", clock_format_utc, MARCH_3_2025_16H, "%Y%m%d%H%M%S", "20250303160000"},
    {"local_date_of_a_template", clock_format_local, MARCH_3_2025_16H, "%Y-%m-%d", "2025-03-03"},
    {"local_time_is_in_the_local_zone", clock_format_local, MARCH_3_2025_16H, "%Y-%m-%d %H:%M:%S",
     "2025-03-03 18:00:00"},
    {"local_date_can_be_the_next_day", clock_format_local, MARCH_3_2025_16H + 7 * 3600, "%Y-%m-%d",
     "2025-03-04"},
    {"epoch", clock_format_utc, 0, "%Y-%m-%d %H:%M:%S", "1970-01-01 00:00:00"},
    {"after_year_9999_is_null", clock_format_utc, G_GINT64_CONSTANT(253402300800), "%Y", NULL},
};

static void test_format_case(gconstpointer data)
{
    const struct format_case *c = data;
    char *text = c->format(c->seconds, c->pattern);
    g_assert_cmpstr(text, ==, c->expected);
    g_free(text);
}

int main(int argc, char **argv)
{
    g_setenv("TZ", "XST-2", TRUE); /* before GLib first reads the local zone */
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();

    g_test_add_func("/clock/follows_the_real_clock", test_follows_the_real_clock);
    g_test_add_func("/clock/fixed_for_tests_and_back", test_fixed_for_tests_and_back);
    for (size_t i = 0; i < G_N_ELEMENTS(format_cases); i++) {
        char *path = g_strdup_printf("/clock/format/%s", format_cases[i].name);
        g_test_add_data_func(path, &format_cases[i], test_format_case);
        g_free(path);
    }
    return g_test_run();
}
