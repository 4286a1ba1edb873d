/*
 * summary_test: the one line per message (lib/core/summary.h), field by field.
 */
#include <string.h>

#include <glib.h>

#include "log.h"
#include "summary.h"

struct summary_case {
    const char *name;
    struct summary summary;
    const char *line;
};

static const struct summary_case summary_cases[] = {
    {"a_reply_sent",
     {"4XkQ1", 12, "ann@example.net", "support@example.org", "send_info", 0.93, "reply",
      "ann@example.net", "a.b.mailtriage@mx", "sent", 1200000, 800000, 100000,
      "intent send_info: reply"},
     "id=12 from=<ann@example.net> mailbox=<support@example.org> intent=send_info "
     "confidence=0.93 action=reply to=<ann@example.net> msgid=<a.b.mailtriage@mx> status=sent "
     "delay=1.2 llm=0.8 send=0.1 reason=\"intent send_info: reply\""},
    {"a_bounce_skipped",
     {NULL, 3, "", "support@example.org", NULL, 0, "none", NULL, NULL, "skipped", 50000, -1, -1,
      "no reply: null envelope sender"},
     "id=3 from=<> mailbox=<support@example.org> intent=- confidence=- action=none to=- msgid=- "
     "status=skipped delay=0.05 llm=- send=- reason=\"no reply: null envelope sender\""},
    {"unknown_sender_and_nothing_decided",
     {NULL, 4, NULL, "support@example.org", NULL, 0, NULL, NULL, NULL, "deferred", -5, -1, -1,
      NULL},
     "id=4 from=- mailbox=<support@example.org> intent=- confidence=- action=- to=- msgid=- "
     "status=deferred delay=0.0 llm=- send=-"},
    {"reason_is_cleaned",
     {NULL, 5, "a@b", "s@b", NULL, 0, NULL, NULL, NULL, "failed", 0, -1, -1,
      "sendmail said \"no\"\nnext line\x01"},
     "id=5 from=<a@b> mailbox=<s@b> intent=- confidence=- action=- to=- msgid=- status=failed "
     "delay=0.0 llm=- send=- reason=\"sendmail said 'no' next line \""},
};

static void test_summary_case(gconstpointer data)
{
    const struct summary_case *c = data;
    char *line = summary_format(&c->summary);
    g_assert_cmpstr(line, ==, c->line);
    g_free(line);
}

static void test_summary_reason_capped(void)
{
    char *long_reason = g_strnfill(1000, 'x');
    struct summary s = {NULL, 1,    "a@b",    "s@b", NULL, 0,  NULL,
                        NULL, NULL, "failed", 0,     -1,   -1, long_reason};
    char *line = summary_format(&s);
    g_assert_nonnull(strstr(line, "...\""));
    g_assert_cmpuint(strlen(line), <, 600);
    g_free(line);
    g_free(long_reason);
}

static void test_summary_masks_addresses(void)
{
    log_set_mask_addresses(TRUE);
    struct summary s = {NULL, 1,    "john@example.net", "s@b", NULL, 0,  NULL,
                        NULL, NULL, "skipped",          0,     -1,   -1, NULL};
    char *line = summary_format(&s);
    g_assert_null(strstr(line, "john@"));
    g_free(line);
    log_set_mask_addresses(FALSE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(summary_cases); i++) {
        char *path = g_strdup_printf("/summary/%s", summary_cases[i].name);
        g_test_add_data_func(path, &summary_cases[i], test_summary_case);
        g_free(path);
    }
    g_test_add_func("/summary/reason_capped", test_summary_reason_capped);
    g_test_add_func("/summary/masks_addresses", test_summary_masks_addresses);
    return g_test_run();
}
