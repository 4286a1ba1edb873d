/*
 * dsn_test: the specification of dsn_read() (lib/mail/dsn.h), one row per behaviour.
 */
#include <string.h>

#include <glib.h>

#include "dsn.h"

struct dsn_case {
    const char *name;
    const char *raw;
    gboolean hard;          /* dsn_read() says it is a hard bounce */
    const char *status;     /* then: its Status */
    const char *diagnostic; /* NULL when none */
    const char *ids;        /* our Message-IDs it quotes, space-separated */
};

#define REPORT(status)                                                                             \
    "From: MAILER-DAEMON@example.net\r\nContent-Type: multipart/report\r\n\r\n"                    \
    "Final-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: " status "\r\n"

static const struct dsn_case dsn_cases[] = {
    {"hard_bounce_of_our_reply",
     REPORT("5.1.1") "Diagnostic-Code: smtp; 550 no such user\r\n\r\n"
                     "Message-ID: <20261201.0a0b0c0d.mailtriage@mx.example.org>\r\n",
     TRUE, "5.1.1", "smtp; 550 no such user", "20261201.0a0b0c0d.mailtriage@mx.example.org"},
    {"soft_bounce_is_not_a_hard_one",
     REPORT("4.2.2") "\r\n"
                     "Message-ID: <1.2.mailtriage@mx.example.org>\r\n",
     FALSE, NULL, NULL, NULL},
    {"no_status_is_not_a_report", "Subject: hello\r\n\r\nStatus: nothing here\r\n", FALSE, NULL,
     NULL, NULL},
    {"status_must_start_a_line", "Subject: x\r\n\r\nThe Status: 5.1.1 of it\r\n", FALSE, NULL, NULL,
     NULL},
    {"hard_bounce_without_diagnostic", REPORT("5.7.1") "\r\nIn-Reply-To: <a.b.mailtriage@h>\r\n",
     TRUE, "5.7.1", NULL, "a.b.mailtriage@h"},
    {"other_message_ids_are_not_ours", REPORT("5.1.1") "\r\nMessage-ID: <abc@example.net>\r\n",
     TRUE, "5.1.1", NULL, ""},
    {"each_id_once",
     REPORT("5.1.1") "\r\nMessage-ID: <x.y.mailtriage@h>\r\nReferences: "
                     "<x.y.mailtriage@h> <z.w.mailtriage@h>\r\n",
     TRUE, "5.1.1", NULL, "x.y.mailtriage@h z.w.mailtriage@h"},
    {"an_id_with_spaces_is_refused", REPORT("5.1.1") "\r\nMessage-ID: <x y.mailtriage@h>\r\n", TRUE,
     "5.1.1", NULL, ""},
};

static void test_dsn_case(gconstpointer data)
{
    const struct dsn_case *c = data;
    struct dsn_report report;
    gboolean hard = dsn_read(c->raw, strlen(c->raw), &report);
    g_assert_cmpint(hard, ==, c->hard);
    if (hard) {
        g_assert_cmpstr(report.status, ==, c->status);
        g_assert_cmpstr(report.diagnostic, ==, c->diagnostic);
        g_ptr_array_add(report.message_ids, NULL);
        char *ids = g_strjoinv(" ", (char **)report.message_ids->pdata);
        g_assert_cmpstr(ids, ==, c->ids);
        g_free(ids);
    }
    dsn_report_clear(&report);
}

/* At most DSN_MAX_IDS, and never a read past the length given (no NUL at the end). */
static void test_dsn_bounded(void)
{
    GString *raw = g_string_new(REPORT("5.1.1") "\r\n");
    for (int i = 0; i < 50; i++)
        g_string_append_printf(raw, "References: <%d.x.mailtriage@h>\r\n", i);
    g_string_append(raw, "Status: 5.1.1");
    char *copy = g_memdup2(raw->str, raw->len); /* without its NUL */
    struct dsn_report report;
    g_assert_true(dsn_read(copy, raw->len, &report));
    g_assert_cmpuint(report.message_ids->len, ==, DSN_MAX_IDS);
    dsn_report_clear(&report);
    g_free(copy);
    g_string_free(raw, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(dsn_cases); i++) {
        char *path = g_strdup_printf("/dsn/%s", dsn_cases[i].name);
        g_test_add_data_func(path, &dsn_cases[i], test_dsn_case);
        g_free(path);
    }
    g_test_add_func("/dsn/bounded", test_dsn_bounded);
    return g_test_run();
}
