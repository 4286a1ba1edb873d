/*
 * policy_test: the specification of policy_reply_refusal() (lib/policy.h), one case per rule.
 *
 * Each row of policy_cases is one behaviour: an inbound message (extra header lines put into a
 * plain human message), its envelope sender, and either NULL (a reply may go) or a substring
 * that the refusal reason must contain (compared case-insensitively). The configuration has
 * two monitored mailboxes, each with its escalation address, so that "one of our own
 * addresses" covers both kinds and more than the first mailbox.
 */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "config.h"
#include "mime.h"
#include "policy.h"
#include "testdata.h"

static const char policy_ini[] = "[daemon]\n"
                                 "hostname = mx.test.example\n"
                                 "[mailbox support@example.org]\n"
                                 "name = Example Support\n"
                                 "escalate_to = staff@example.org\n"
                                 "[mailbox sales@example.org]\n"
                                 "escalate_to = Boss@Example.org\n";

/* The message every case starts from; %s is the case's extra header lines. */
static const char policy_eml_format[] = "From: Alice Martin <alice@example.com>\n"
                                        "To: support@example.org\n"
                                        "Subject: Opening hours?\n"
                                        "Date: Mon, 3 Mar 2025 10:00:00 +0100\n"
                                        "Message-ID: <human-1@example.com>\n"
                                        "%s"
                                        "MIME-Version: 1.0\n"
                                        "Content-Type: text/plain; charset=utf-8\n"
                                        "\n"
                                        "Hello, when are you open on Saturdays?\n";

static const char policy_multipart_report_eml[] =
    "From: Mail Delivery System <bounces@mx.example.net>\n"
    "To: support@example.org\n"
    "Subject: Delivery Status Notification (Failure)\n"
    "Message-ID: <dsn-1@mx.example.net>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\n"
    "\n"
    "--b1\n"
    "Content-Type: text/plain\n"
    "\n"
    "Your message could not be delivered.\n"
    "--b1\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.net\n"
    "\n"
    "Final-Recipient: rfc822; nobody@example.net\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "--b1--\n";

#define HUMAN "alice@example.com"

struct policy_case {
    const char *name;
    const char *envelope_from; /* NULL: unknown envelope sender */
    const char *headers;       /* extra header lines, each ending in \n */
    const char *whole_eml;     /* instead of the format above, when not NULL */
    const char *refusal;       /* NULL: a reply may go; else a substring of the reason */
};

static const struct policy_case policy_cases[] = {
    /* The envelope sender (REFERENCE.md 1.2). */
    {"plain_human_message_may_be_answered", HUMAN, "", NULL, NULL},
    {"no_reply_to_unknown_envelope_sender", NULL, "", NULL, "unknown envelope sender"},
    {"no_reply_to_null_sender", "", "", NULL, "null envelope sender"},
    {"no_reply_to_sender_with_space", "alice @example.com", "", NULL, "not a plain mail address"},
    {"no_reply_to_sender_in_angle_brackets", "<alice@example.com>", "", NULL,
     "not a plain mail address"},
    {"no_reply_to_sender_with_crlf", "alice@example.com\r\nBcc: victim@example.net", "", NULL,
     "not a plain mail address"},
    {"no_reply_to_sender_without_at", "alice", "", NULL, "not a plain mail address"},
    {"no_reply_to_sender_with_two_ats", "alice@evil@example.com", "", NULL,
     "not a plain mail address"},

    /* Auto-Submitted (RFC 3834 section 2, REFERENCE.md 1.1). */
    {"no_reply_to_auto_replied", HUMAN, "Auto-Submitted: auto-replied\n", NULL,
     "Auto-Submitted: auto-replied"},
    {"no_reply_to_auto_generated", HUMAN, "Auto-Submitted: auto-generated\n", NULL,
     "Auto-Submitted: auto-generated"},
    {"no_reply_to_auto_submitted_uppercase", HUMAN, "Auto-Submitted: AUTO-GENERATED\n", NULL,
     "Auto-Submitted"},
    {"no_reply_to_auto_replied_with_comment", HUMAN, "Auto-Submitted: auto-replied (vacation)\n",
     NULL, "Auto-Submitted: auto-replied"},
    {"no_reply_to_auto_submitted_unknown_value", HUMAN, "Auto-Submitted: auto-notified\n", NULL,
     "Auto-Submitted"},
    {"auto_submitted_no_capitalised_allows_reply", HUMAN, "Auto-Submitted: No\n", NULL, NULL},
    {"auto_submitted_no_with_comment_allows_reply", HUMAN,
     "Auto-Submitted: no (sent by a person)\n", NULL, NULL},
    {"auto_submitted_comment_before_no_allows_reply", HUMAN, "Auto-Submitted: (human) no\n", NULL,
     NULL},

    /* Mailing lists (REFERENCE.md 1.4). */
    {"no_reply_to_list_id", HUMAN, "List-Id: Users <users.lists.example.com>\n", NULL, "List-Id"},
    {"no_reply_to_list_unsubscribe", HUMAN, "List-Unsubscribe: <mailto:leave@lists.example.com>\n",
     NULL, "List-Unsubscribe"},
    {"no_reply_to_list_post", HUMAN, "List-Post: <mailto:users@lists.example.com>\n", NULL,
     "List-Post"},
    {"no_reply_to_list_help", HUMAN, "List-Help: <mailto:help@lists.example.com>\n", NULL,
     "List-Help"},
    {"no_reply_to_list_owner", HUMAN, "List-Owner: <mailto:owner@lists.example.com>\n", NULL,
     "List-Owner"},
    {"no_reply_to_list_header_in_lowercase", HUMAN, "list-id: <users.lists.example.com>\n", NULL,
     "List-Id"},

    /* Precedence (REFERENCE.md 1.5). */
    {"no_reply_to_precedence_bulk", HUMAN, "Precedence: bulk\n", NULL, "Precedence: bulk"},
    {"no_reply_to_precedence_junk", HUMAN, "Precedence: junk\n", NULL, "Precedence: junk"},
    {"no_reply_to_precedence_list", HUMAN, "Precedence: list\n", NULL, "Precedence: list"},
    {"no_reply_to_precedence_auto_reply", HUMAN, "Precedence: auto_reply\n", NULL,
     "Precedence: auto_reply"},
    {"no_reply_to_precedence_uppercase", HUMAN, "Precedence: BULK\n", NULL, "Precedence: bulk"},
    {"no_reply_to_precedence_mixed_case", HUMAN, "Precedence: Junk\n", NULL, "Precedence: junk"},
    {"precedence_first_class_allows_reply", HUMAN, "Precedence: first-class\n", NULL, NULL},

    /* Our own mail (REFERENCE.md 1.9). */
    {"no_reply_to_our_loop_marker", HUMAN, "X-Mailtriage-Loop: mx.other.example\n", NULL,
     "X-Mailtriage-Loop"},
    {"no_reply_to_our_loop_marker_in_lowercase", HUMAN, "x-mailtriage-loop: mx.test.example\n",
     NULL, "X-Mailtriage-Loop"},
    {"no_reply_to_monitored_mailbox", "support@example.org", "", NULL, "our own addresses"},
    {"no_reply_to_monitored_mailbox_other_case", "SUPPORT@Example.ORG", "", NULL,
     "our own addresses"},
    {"no_reply_to_second_monitored_mailbox", "sales@example.org", "", NULL, "our own addresses"},
    {"no_reply_to_escalation_address", "staff@example.org", "", NULL, "our own addresses"},
    {"no_reply_to_escalation_address_other_case", "boss@EXAMPLE.ORG", "", NULL,
     "our own addresses"},
    {"other_address_at_our_domain_may_be_answered", "alice@example.org", "", NULL, NULL},

    /* Per-message rules of REFERENCE.md section 1 that need no database. */
    {"no_reply_to_mailer_daemon_sender", "MAILER-DAEMON@mx.example.net", "", NULL, "sender"},
    {"no_reply_to_noreply_sender", "noreply@shop.example.net", "", NULL, "sender"},
    {"no_reply_to_x_precedence_bulk", HUMAN, "X-Precedence: bulk\n", NULL, "Precedence"},
    {"no_reply_to_x_auto_response_suppress_oof", HUMAN,
     "X-Auto-Response-Suppress: OOF, AutoReply\n", NULL, "X-Auto-Response-Suppress"},
    {"no_reply_to_multipart_report", "bounces@mx.example.net", NULL, policy_multipart_report_eml,
     "report"},
};

static void test_policy_case(gconstpointer data)
{
    const struct policy_case *c = data;
    struct config *cfg = testdata_config(policy_ini);
    char *eml = c->whole_eml != NULL ? g_strdup(c->whole_eml)
                                     : g_strdup_printf(policy_eml_format, c->headers);
    struct mime_message *msg = testdata_message(eml);

    char *reason = policy_reply_refusal(cfg, c->envelope_from, msg);
    if (c->refusal == NULL) {
        g_assert_cmpstr(reason, ==, NULL);
    } else if (reason == NULL) {
        g_assert_nonnull(reason);
    } else {
        char *reason_lower = g_ascii_strdown(reason, -1);
        char *expected_lower = g_ascii_strdown(c->refusal, -1);
        if (strstr(reason_lower, expected_lower) == NULL)
            g_test_message("reason \"%s\" does not contain \"%s\"", reason, c->refusal);
        g_assert_nonnull(strstr(reason_lower, expected_lower));
        g_free(reason_lower);
        g_free(expected_lower);
    }
    g_free(reason);
    mime_message_free(msg);
    g_free(eml);
    config_unref(cfg);
}

/* The reason is recorded and shown to people: one line, no raw header text beyond a cap. */
static void test_reason_is_one_short_line(void)
{
    struct config *cfg = testdata_config(policy_ini);
    GString *value = g_string_new("Auto-Submitted: auto-generated");
    for (int i = 0; i < 200; i++)
        g_string_append(value, "x");
    g_string_append_c(value, '\n');
    char *eml = g_strdup_printf(policy_eml_format, value->str);
    struct mime_message *msg = testdata_message(eml);

    char *reason = policy_reply_refusal(cfg, HUMAN, msg);
    g_assert_nonnull(reason);
    if (reason != NULL) {
        g_assert_null(strpbrk(reason, "\r\n"));
        g_assert_cmpuint(strlen(reason), <, 120);
        g_assert_true(g_str_has_prefix(reason, "Auto-Submitted: auto-generatedxxx"));
    }
    g_free(reason);
    mime_message_free(msg);
    g_free(eml);
    g_string_free(value, TRUE);
    config_unref(cfg);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    g_mime_init();

    for (size_t i = 0; i < G_N_ELEMENTS(policy_cases); i++) {
        char *path = g_strdup_printf("/policy/%s", policy_cases[i].name);
        g_test_add_data_func(path, &policy_cases[i], test_policy_case);
        g_free(path);
    }
    g_test_add_func("/policy/reason_is_one_short_line", test_reason_is_one_short_line);

    int result = g_test_run();
    g_mime_shutdown();
    return result;
}
