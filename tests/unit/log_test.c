/*
 * log_test: the specification of the address masking of lib/util/log.c: log_addr() for one
 * address, log_mask_text() for the words of another program, with [daemon] mask_addresses on
 * and off.
 */
#include <glib.h>

#include "log.h"

static void test_addr_masked_only_when_on(void)
{
    char buf[LOG_ADDR_MAX];
    log_set_mask_addresses(FALSE);
    g_assert_cmpstr(log_addr("alice@customer.test", buf), ==, "alice@customer.test");
    log_set_mask_addresses(TRUE);
    g_assert_cmpstr(log_addr("alice@customer.test", buf), ==, "a***@customer.test");
    g_assert_cmpstr(log_addr("", buf), ==, "<>");
    g_assert_cmpstr(log_addr(NULL, buf), ==, "(unknown)");
    log_set_mask_addresses(FALSE);
}

struct text_case {
    const char *name, *text, *masked;
};

static const struct text_case text_cases[] = {
    {"no_address", "queue file write error", "queue file write error"},
    {"bare_address", "alice@customer.test... User unknown", "a***@customer.test... User unknown"},
    {"address_in_brackets", "550 5.1.1 <bob.smith+tag@mx.customer.test>: Recipient rejected",
     "550 5.1.1 <b***@mx.customer.test>: Recipient rejected"},
    {"two_addresses", "from=<a@x.test> to=<zed@y.test>", "from=<a***@x.test> to=<z***@y.test>"},
    {"sentence_end_dot_stays", "mail for carol@customer.test.", "mail for c***@customer.test."},
    {"lone_at_untouched", "meet @ noon, or @", "meet @ noon, or @"},
    {"url_with_user_masked_as_an_address", "http://llmuser@127.0.0.1:8080/v1",
     "http://l***@127.0.0.1:8080/v1"},
    {"redacted_url_left_alone", "http://***@127.0.0.1:8080/v1: HTTP 401",
     "http://***@127.0.0.1:8080/v1: HTTP 401"},
    {"empty", "", ""},
};

static void test_text_case(gconstpointer data)
{
    const struct text_case *c = data;
    log_set_mask_addresses(TRUE);
    char *masked = log_mask_text(c->text);
    g_assert_cmpstr(masked, ==, c->masked);
    g_free(masked);
    log_set_mask_addresses(FALSE);
    char *clear = log_mask_text(c->text);
    g_assert_cmpstr(clear, ==, c->text);
    g_free(clear);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/log/addr_masked_only_when_on", test_addr_masked_only_when_on);
    for (size_t i = 0; i < G_N_ELEMENTS(text_cases); i++) {
        char *path = g_strdup_printf("/log/mask_text/%s", text_cases[i].name);
        g_test_add_data_func(path, &text_cases[i], test_text_case);
        g_free(path);
    }
    return g_test_run();
}
