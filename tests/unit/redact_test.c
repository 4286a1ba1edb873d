/*
 * redact_test: the specification of lib/util/redact.c, one row per URL shape: a URL's user
 * name and password are masked wherever the authority has them, and nothing else changes.
 */
#include <glib.h>

#include "redact.h"

struct url_case {
    const char *name, *url, *shown;
};

static const struct url_case url_cases[] = {
    {"plain_url_unchanged", "http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1"},
    {"user_and_password_masked", "http://user:pass@127.0.0.1:8080/v1/chat/completions",
     "http://***@127.0.0.1:8080/v1/chat/completions"},
    {"user_alone_masked", "https://token@llm.example.org/v1", "https://***@llm.example.org/v1"},
    {"at_in_the_password_masked_to_the_last_at", "https://u:p@ss@llm.example.org/v1",
     "https://***@llm.example.org/v1"},
    {"at_in_the_path_is_not_user_information", "http://host/v1/a@b", "http://host/v1/a@b"},
    {"at_in_the_query_is_not_user_information", "http://host?user=a@b", "http://host?user=a@b"},
    {"at_in_the_fragment_is_not_user_information", "http://host#a@b", "http://host#a@b"},
    {"no_path", "http://u:p@host", "http://***@host"},
    {"not_a_url_unchanged", "/etc/mailtriage/llm.key", "/etc/mailtriage/llm.key"},
    {"empty", "", ""},
};

static void test_url_case(gconstpointer data)
{
    const struct url_case *c = data;
    char *shown = redact_url(c->url);
    g_assert_cmpstr(shown, ==, c->shown);
    g_free(shown);
}

static void test_url_null(void)
{
    g_assert_null(redact_url(NULL));
}

static void test_secret_every_occurrence_masked(void)
{
    char *shown = redact_secret("401: Incorrect API key sk-abc (sk-abc)", "sk-abc");
    g_assert_cmpstr(shown, ==, "401: Incorrect API key *** (***)");
    g_free(shown);
}

static void test_secret_absent_or_empty_copies(void)
{
    char *shown = redact_secret("no key here", "sk-abc");
    g_assert_cmpstr(shown, ==, "no key here");
    g_free(shown);
    shown = redact_secret("text", "");
    g_assert_cmpstr(shown, ==, "text");
    g_free(shown);
    shown = redact_secret("text", NULL);
    g_assert_cmpstr(shown, ==, "text");
    g_free(shown);
    g_assert_null(redact_secret(NULL, "sk-abc"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(url_cases); i++) {
        char *path = g_strdup_printf("/redact/url/%s", url_cases[i].name);
        g_test_add_data_func(path, &url_cases[i], test_url_case);
        g_free(path);
    }
    g_test_add_func("/redact/url/null", test_url_null);
    g_test_add_func("/redact/secret/every_occurrence_masked", test_secret_every_occurrence_masked);
    g_test_add_func("/redact/secret/absent_or_empty_copies", test_secret_absent_or_empty_copies);
    return g_test_run();
}
