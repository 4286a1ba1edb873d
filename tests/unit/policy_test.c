/*
 * policy_test: the specification of policy_reply_refusal() (lib/core/policy.h), one case per rule,
 * and of policy_decide(). The spellings of role and no-reply senders are addr_test's
 * (addr_role_rule()); here a role sender is refused with the rule named in the reason.
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
    {"role_sender_reason_names_the_rule", "owner-users@lists.example.net", "", NULL,
     "role or machine sender (owner-*)"},
    {"no_reply_to_x_precedence_bulk", HUMAN, "X-Precedence: bulk\n", NULL, "Precedence"},
    {"no_reply_to_x_auto_response_suppress_oof", HUMAN,
     "X-Auto-Response-Suppress: OOF, AutoReply\n", NULL, "X-Auto-Response-Suppress"},
    {"no_reply_to_multipart_report", HUMAN, NULL, policy_multipart_report_eml, "report"},
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

/* --- policy_decide(): the site's rules on top of RFC 3834 --- */

static const char decide_ini[] = "[daemon]\n"
                                 "hostname = mx.test.example\n"
                                 "[policy]\n"
                                 "trusted_authserv_ids = mx.example.org\n"
                                 "require_auth = spf_or_dkim\n"
                                 "allow_senders = vip@example.com, @partner.example\n"
                                 "block_senders = @spam.example, blocked@example.com\n"
                                 "spam_threshold = 5\n"
                                 "[mailbox support@example.org]\n"
                                 "escalate_to = staff@example.org\n";

#define AUTH_PASS                                                                                  \
    "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com;\n"                \
    " dkim=pass header.d=example.com; dmarc=pass header.from=example.com\n"

struct decide_case {
    const char *name;
    const char *envelope_from;
    const char *headers; /* above the rest of the header block */
    enum policy_verdict verdict;
    const char *reason; /* a substring of the reason, or NULL */
};

static const struct decide_case decide_cases[] = {
    {"authenticated_human_may_get_a_reply", HUMAN, AUTH_PASS, POLICY_REPLY, NULL},
    {"dmarc_fail_holds_back", HUMAN,
     "Authentication-Results: mx.example.org; spf=fail smtp.mailfrom=example.com; dmarc=fail\n",
     POLICY_HELD_BACK, "dmarc=fail"},
    {"untrusted_authserv_is_ignored", HUMAN,
     "Authentication-Results: evil.example; spf=pass smtp.mailfrom=example.com; dmarc=pass\n",
     POLICY_HELD_BACK, "no SPF pass or aligned DKIM pass"},
    {"only_the_topmost_trusted_header_counts", HUMAN,
     "Authentication-Results: mx.example.org; spf=softfail smtp.mailfrom=example.com\n" AUTH_PASS,
     POLICY_HELD_BACK, "no SPF pass or aligned DKIM pass"},
    {"forged_lower_fail_does_not_count", HUMAN,
     AUTH_PASS "Authentication-Results: mx.example.org; dmarc=fail\n", POLICY_REPLY, NULL},
    {"unaligned_spf_pass_is_not_enough", HUMAN,
     "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=other.example\n",
     POLICY_HELD_BACK, "no SPF pass or aligned DKIM pass"},
    {"dkim_pass_of_a_parent_domain_is_aligned", HUMAN,
     "Authentication-Results: mx.example.org (version 1); dkim=pass header.d=example.com\n",
     POLICY_REPLY, NULL},
    {"dkim_pass_by_identity_is_aligned", HUMAN,
     "Authentication-Results: mx.example.org; dkim=pass header.i=@mail.example.com\n", POLICY_REPLY,
     NULL},
    {"spamassassin_flag_refuses", HUMAN, AUTH_PASS "X-Spam-Flag: YES\n", POLICY_REFUSED,
     "X-Spam-Flag"},
    {"spamassassin_status_yes_refuses", HUMAN,
     AUTH_PASS "X-Spam-Status: Yes, score=9.1 required=5.0\n", POLICY_REFUSED, "X-Spam-Status"},
    {"spamassassin_score_at_threshold_refuses", HUMAN,
     AUTH_PASS "X-Spam-Status: No, score=5.0 required=8.0\n", POLICY_REFUSED, "score 5.0"},
    {"spamassassin_low_score_passes", HUMAN,
     AUTH_PASS "X-Spam-Status: No, score=1.2 required=5.0\n", POLICY_REPLY, NULL},
    {"spam_score_header_refuses", HUMAN, AUTH_PASS "X-Spam-Score: 12.5\n", POLICY_REFUSED,
     "X-Spam-Score"},
    {"rspamd_result_score_refuses", HUMAN,
     AUTH_PASS "X-Spamd-Result: default: False [6.00 / 15.00]; R_SPF_ALLOW(-0.20)\n",
     POLICY_REFUSED, "X-Spamd-Result"},
    {"rspamd_add_header_action_refuses", HUMAN, AUTH_PASS "X-Rspamd-Action: add header\n",
     POLICY_REFUSED, "X-Rspamd-Action"},
    {"rspamd_no_action_passes", HUMAN, AUTH_PASS "X-Rspamd-Action: no action\n", POLICY_REPLY,
     NULL},
    {"clamav_infected_refuses", HUMAN, AUTH_PASS "X-Virus-Status: Infected (Eicar-Signature)\n",
     POLICY_REFUSED, "virus"},
    {"clamav_clean_passes", HUMAN, AUTH_PASS "X-Virus-Status: Clean\n", POLICY_REPLY, NULL},
    {"blocked_domain_refuses", "someone@spam.example", AUTH_PASS, POLICY_REFUSED, "block_senders"},
    {"blocked_from_address_refuses", "newsletter-123@lists.example.net",
     AUTH_PASS "From: blocked@example.com\n", POLICY_REFUSED, "block_senders"},
    {"allowed_sender_skips_spam_and_auth", "vip@example.com", "X-Spam-Flag: YES\n", POLICY_REPLY,
     NULL},
    {"allowed_domain_skips_auth", "anyone@partner.example", "", POLICY_REPLY, NULL},
    {"allowed_sender_with_dmarc_fail_is_held_back", "vip@example.com",
     "Authentication-Results: mx.example.org; dmarc=fail\n", POLICY_HELD_BACK, "dmarc=fail"},
    {"automatic_mail_comes_first", "", AUTH_PASS, POLICY_AUTOMATED, "null envelope sender"},
};

static void test_decide_case(gconstpointer data)
{
    const struct decide_case *c = data;
    struct config *cfg = testdata_config(decide_ini);
    char *eml = g_strdup_printf(policy_eml_format, "");
    char *full = g_strconcat(c->headers, eml, NULL);
    struct mime_message *msg = testdata_message(full);
    struct policy_decision decision;

    policy_decide(cfg, c->envelope_from, msg, &decision);
    g_assert_cmpint(decision.verdict, ==, c->verdict);
    if (c->reason == NULL)
        g_assert_null(decision.reason);
    else {
        g_assert_nonnull(decision.reason);
        if (decision.reason != NULL && strstr(decision.reason, c->reason) == NULL)
            g_test_message("reason \"%s\" does not contain \"%s\"", decision.reason, c->reason);
        g_assert_true(decision.reason != NULL && strstr(decision.reason, c->reason) != NULL);
    }
    policy_decision_clear(&decision);
    mime_message_free(msg);
    g_free(full);
    g_free(eml);
    config_unref(cfg);
}

/* --- whose identity a reply needs: the envelope sender's, under each require_auth --- */

/* The attacker signs for attacker.example (DKIM and DMARC pass for its From:) and forges the
 * envelope sender victim@victim.example, which the reply would go to. */
#define FORGED_ENVELOPE "victim@victim.example"
#define ATTACKER_FROM "ceo@attacker.example"
#define ATTACKER_SIGNED(spf)                                                                       \
    "Authentication-Results: mx.example.org; spf=" spf " smtp.mailfrom=victim.example;\n"          \
    " dkim=pass header.d=attacker.example header.s=s1; dmarc=pass header.from=attacker.example\n"
#define GENUINE "alice@customer.example"
#define GENUINE_PASS                                                                               \
    "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=customer.example;\n"           \
    " dkim=pass header.d=customer.example; dmarc=pass header.from=customer.example\n"

struct auth_case {
    const char *name;
    const char *require_auth; /* none, spf_or_dkim or dmarc */
    const char *envelope_from;
    const char *from;
    const char *results; /* the Authentication-Results line(s) */
    enum policy_verdict verdict;
    const char *reason; /* a substring of the reason, or NULL */
};

static const struct auth_case auth_cases[] = {
    /* Forged envelope sender under attacker-signed mail: held back. */
    {"none_holds_back_spf_fail_envelope_under_attacker_signature", "none", FORGED_ENVELOPE,
     ATTACKER_FROM, ATTACKER_SIGNED("fail"), POLICY_HELD_BACK, "spf=fail for the envelope"},
    {"spf_or_dkim_holds_back_forged_envelope_spf_fail", "spf_or_dkim", FORGED_ENVELOPE,
     ATTACKER_FROM, ATTACKER_SIGNED("fail"), POLICY_HELD_BACK, "spf=fail for the envelope"},
    {"spf_or_dkim_holds_back_forged_envelope_spf_softfail", "spf_or_dkim", FORGED_ENVELOPE,
     ATTACKER_FROM, ATTACKER_SIGNED("softfail"), POLICY_HELD_BACK,
     "no SPF pass or aligned DKIM pass for the envelope sender's domain"},
    {"spf_or_dkim_holds_back_forged_envelope_spf_none", "spf_or_dkim", FORGED_ENVELOPE,
     ATTACKER_FROM, ATTACKER_SIGNED("none"), POLICY_HELD_BACK, "require_auth = spf_or_dkim"},
    {"dmarc_holds_back_forged_envelope_spf_fail", "dmarc", FORGED_ENVELOPE, ATTACKER_FROM,
     ATTACKER_SIGNED("fail"), POLICY_HELD_BACK, "spf=fail for the envelope"},
    {"dmarc_holds_back_forged_envelope_spf_softfail", "dmarc", FORGED_ENVELOPE, ATTACKER_FROM,
     ATTACKER_SIGNED("softfail"), POLICY_HELD_BACK,
     "no SPF pass or aligned DKIM pass for the envelope sender's domain"},
    /* none asks for nothing: without an explicit failure the reply goes. */
    {"none_replies_without_an_explicit_failure", "none", FORGED_ENVELOPE, ATTACKER_FROM,
     ATTACKER_SIGNED("softfail"), POLICY_REPLY, NULL},
    /* The attacker's SPF pass is for its own domain, not for the forged envelope sender. */
    {"spf_pass_for_another_domain_does_not_authenticate_the_envelope", "spf_or_dkim",
     FORGED_ENVELOPE, ATTACKER_FROM,
     "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=attacker.example;\n"
     " dkim=pass header.d=attacker.example; dmarc=pass\n",
     POLICY_HELD_BACK, "no SPF pass or aligned DKIM pass"},
    {"spf_pass_of_a_parent_domain_is_not_the_envelope_domain", "spf_or_dkim",
     "victim@mail.victim.example", ATTACKER_FROM,
     "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=victim.example\n",
     POLICY_HELD_BACK, "no SPF pass or aligned DKIM pass"},
    {"dkim_domain_ending_in_the_envelope_domain_is_not_aligned", "spf_or_dkim", FORGED_ENVELOPE,
     ATTACKER_FROM,
     "Authentication-Results: mx.example.org; spf=none smtp.mailfrom=victim.example;\n"
     " dkim=pass header.d=evilvictim.example; dkim=pass header.d=victim.example.attacker.example\n",
     POLICY_HELD_BACK, "no SPF pass or aligned DKIM pass"},
    {"failed_dkim_of_the_envelope_domain_is_not_a_pass", "spf_or_dkim", FORGED_ENVELOPE,
     ATTACKER_FROM,
     "Authentication-Results: mx.example.org; spf=softfail smtp.mailfrom=victim.example;\n"
     " dkim=fail header.d=victim.example; dkim=pass header.d=attacker.example; dmarc=pass\n",
     POLICY_HELD_BACK, "no SPF pass or aligned DKIM pass"},
    {"lower_forged_header_does_not_authenticate_the_envelope", "spf_or_dkim", FORGED_ENVELOPE,
     ATTACKER_FROM,
     ATTACKER_SIGNED("softfail") "Authentication-Results: mx.example.org; spf=pass "
                                 "smtp.mailfrom=victim.example\n",
     POLICY_HELD_BACK, "no SPF pass or aligned DKIM pass"},

    /* Genuine mail: answered. */
    {"none_replies_to_genuine_mail", "none", GENUINE, GENUINE, GENUINE_PASS, POLICY_REPLY, NULL},
    {"spf_or_dkim_replies_to_genuine_mail", "spf_or_dkim", GENUINE, GENUINE, GENUINE_PASS,
     POLICY_REPLY, NULL},
    {"dmarc_replies_to_genuine_mail", "dmarc", GENUINE, GENUINE, GENUINE_PASS, POLICY_REPLY, NULL},
    {"spf_or_dkim_replies_on_spf_pass_of_the_envelope_domain_alone", "spf_or_dkim",
     "Alice@Customer.Example", GENUINE,
     "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=alice@customer.example\n",
     POLICY_REPLY, NULL},
    /* Forwarded without SRS: SPF fails at the forwarder, the author's DKIM signature holds. */
    {"none_replies_to_forwarded_mail_with_aligned_dkim", "none", GENUINE, GENUINE,
     "Authentication-Results: mx.example.org; spf=fail smtp.mailfrom=customer.example;\n"
     " dkim=pass header.d=customer.example; dmarc=pass\n",
     POLICY_REPLY, NULL},
    {"spf_or_dkim_replies_to_forwarded_mail_with_aligned_dkim", "spf_or_dkim", GENUINE, GENUINE,
     "Authentication-Results: mx.example.org; spf=fail smtp.mailfrom=customer.example;\n"
     " dkim=pass header.d=customer.example; dmarc=pass\n",
     POLICY_REPLY, NULL},
    {"dmarc_replies_to_forwarded_mail_with_aligned_dkim", "dmarc", GENUINE, GENUINE,
     "Authentication-Results: mx.example.org; spf=fail smtp.mailfrom=customer.example;\n"
     " dkim=pass header.d=customer.example; dmarc=pass\n",
     POLICY_REPLY, NULL},
    {"dkim_of_the_parent_domain_authenticates_a_subdomain_envelope", "spf_or_dkim",
     "alice@mail.customer.example", GENUINE,
     "Authentication-Results: mx.example.org; dkim=pass header.d=customer.example\n", POLICY_REPLY,
     NULL},
    /* Mail sent through a provider: the envelope is the provider's, From: the author's. */
    {"spf_or_dkim_replies_to_an_authenticated_provider_envelope", "spf_or_dkim",
     "alice=customer.example@esp.example", GENUINE,
     "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=esp.example;\n"
     " dkim=pass header.d=customer.example; dmarc=pass\n",
     POLICY_REPLY, NULL},
    {"dmarc_holds_back_when_from_is_not_aligned_with_the_envelope", "dmarc",
     "alice=customer.example@esp.example", GENUINE,
     "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=esp.example;\n"
     " dkim=pass header.d=customer.example; dmarc=pass\n",
     POLICY_HELD_BACK, "From: domain is not aligned"},
    {"dmarc_needs_a_dmarc_pass", "dmarc", GENUINE, GENUINE,
     "Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=customer.example;\n"
     " dmarc=none header.from=customer.example\n",
     POLICY_HELD_BACK, "no dmarc=pass"},

    /* allow_senders is matched on the envelope sender: an explicit failure means it is forged. */
    {"allowed_but_forged_envelope_is_held_back", "spf_or_dkim", "vip@victim.example", ATTACKER_FROM,
     "Authentication-Results: mx.example.org; spf=fail smtp.mailfrom=victim.example;\n"
     " dkim=pass header.d=attacker.example; dmarc=pass\n",
     POLICY_HELD_BACK, "spf=fail for the envelope"},
    {"allowed_sender_without_explicit_failure_skips_auth", "dmarc", "vip@victim.example",
     ATTACKER_FROM, ATTACKER_SIGNED("softfail"), POLICY_REPLY, NULL},
};

static void test_auth_case(gconstpointer data)
{
    const struct auth_case *c = data;
    char *ini = g_strdup_printf("[daemon]\nhostname = mx.test.example\n[policy]\n"
                                "trusted_authserv_ids = mx.example.org\nrequire_auth = %s\n"
                                "allow_senders = vip@victim.example\n"
                                "[mailbox support@example.org]\nescalate_to = staff@example.org\n",
                                c->require_auth);
    struct config *cfg = testdata_config(ini);
    char *eml = g_strdup_printf("%sFrom: %s\nTo: support@example.org\nSubject: Invoice\n"
                                "Message-ID: <auth-1@example.net>\n\nPlease see the invoice.\n",
                                c->results, c->from);
    struct mime_message *msg = testdata_message(eml);
    struct policy_decision decision;

    policy_decide(cfg, c->envelope_from, msg, &decision);
    g_assert_cmpint(decision.verdict, ==, c->verdict);
    if (c->reason == NULL)
        g_assert_null(decision.reason);
    else {
        if (decision.reason == NULL || strstr(decision.reason, c->reason) == NULL)
            g_test_message("reason \"%s\" does not contain \"%s\"", decision.reason, c->reason);
        g_assert_true(decision.reason != NULL && strstr(decision.reason, c->reason) != NULL);
    }
    policy_decision_clear(&decision);
    mime_message_free(msg);
    g_free(eml);
    config_unref(cfg);
    g_free(ini);
}

static void test_sender_lists(void)
{
    char *list[] = {"a@example.com", "@example.net", NULL};
    g_assert_true(policy_sender_listed(list, "A@Example.com"));
    g_assert_true(policy_sender_listed(list, "x@EXAMPLE.net"));
    g_assert_false(policy_sender_listed(list, "x@sub.example.net"));
    g_assert_false(policy_sender_listed(list, "b@example.com"));
    g_assert_false(policy_sender_listed(list, ""));
    g_assert_false(policy_sender_listed(list, NULL));
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
    for (size_t i = 0; i < G_N_ELEMENTS(decide_cases); i++) {
        char *path = g_strdup_printf("/policy/decide/%s", decide_cases[i].name);
        g_test_add_data_func(path, &decide_cases[i], test_decide_case);
        g_free(path);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(auth_cases); i++) {
        char *path = g_strdup_printf("/policy/auth/%s", auth_cases[i].name);
        g_test_add_data_func(path, &auth_cases[i], test_auth_case);
        g_free(path);
    }
    g_test_add_func("/policy/sender_lists", test_sender_lists);

    int result = g_test_run();
    g_mime_shutdown();
    return result;
}
