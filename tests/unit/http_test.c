/*
 * http_test: the specification of http_retry_after() (lib/util/http.h), one row per form of a
 * Retry-After value (RFC 9110 10.2.3): seconds, an HTTP date, and what cannot be read.
 */
#include <glib.h>

#include "http.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's own example. */
#define NOW 784111777

struct retry_after_case {
    const char *name;
    const char *value;
    gint64 seconds;
};

static const struct retry_after_case retry_after_cases[] = {
    {"seconds", "1", 1},
    {"seconds_with_spaces", "  30 \r\n", 30},
    {"zero_seconds_is_none", "0", 0},
    {"seconds_are_capped", "86400", 3600},
    {"more_digits_than_a_number_is_the_cap", "99999999999999999999999", 3600},
    {"http_date_in_the_future", "Sun, 06 Nov 1994 08:50:37 GMT", 60},
    {"http_date_in_the_past_is_none", "Sun, 06 Nov 1994 08:00:00 GMT", 0},
    {"http_date_far_ahead_is_capped", "Mon, 07 Nov 1994 08:49:37 GMT", 3600},
    {"negative_is_none", "-5", 0},
    {"words_are_none", "soon", 0},
    {"number_and_words_is_none", "5 seconds", 0},
    {"empty_is_none", "", 0},
};

static void test_retry_after_case(gconstpointer data)
{
    const struct retry_after_case *c = data;
    g_assert_cmpint(http_retry_after(c->value, NOW, 3600), ==, c->seconds);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(retry_after_cases); i++) {
        char *path = g_strdup_printf("/http/retry_after/%s", retry_after_cases[i].name);
        g_test_add_data_func(path, &retry_after_cases[i], test_retry_after_case);
        g_free(path);
    }
    return g_test_run();
}
