/*
 * decide_test: the specification of lib/core/decide.h, one row per behaviour: "why was this (not)
 * answered?" is answered here.
 *
 * decide_action(): each row gives the policy verdict, the mailbox (by its mode), the classification
 * (provider, intent, the model's reply text; no classification at all for mail the policy stopped)
 * and the action and a substring of the reason it must yield. The configuration has an intent with
 * a template of its own (own_template) beside intents that use the built-in template, which is only
 * a frame around {{reply}}: whether a reply would carry any text depends on it. decide_history():
 * each row gives the verdict of the other rules, the sender's history as context_load() reads it
 * and the mailbox, and the verdict, reason and, through decide_action(), the action that follow.
 * decide_needs_classification() and decide_needs_reply(): when tokens are spent, for the
 * classification and for the reply text. The grounding rows: a reply of a mailbox with knowledge
 * that names no source, or one it was not given, is held back as [mailbox] ungrounded says; a
 * reply whose PII check failed is escalated.
 */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "classification.h"
#include "config.h"
#include "context.h"
#include "decide.h"
#include "policy.h"
#include "store.h"
#include "testdata.h"

/* %s: the template files of own_template (with {{reply}}) and fixed (without, in either part:
 * its HTML part would otherwise be the built-in one, which has it). */
static const char decide_ini_format[] = "[daemon]\n"
                                        "hostname = mx.test.example\n"
                                        "[intent framed]\n"
                                        "action = reply\n"
                                        "[intent own_template]\n"
                                        "action = reply\n"
                                        "template = %s\n"
                                        "[intent fixed]\n"
                                        "action = reply\n"
                                        "template = %s\n"
                                        "template_html = %s\n"
                                        "[intent proposal]\n"
                                        "action = draft\n"
                                        "[intent hook]\n"
                                        "action = webhook\n"
                                        "webhook_url = http://127.0.0.1:9/hook\n"
                                        "[intent quiet]\n"
                                        "action = none\n"
                                        "[mailbox auto@example.org]\n"
                                        "intents = framed, own_template, fixed, proposal, hook, "
                                        "quiet\n"
                                        "escalate_to = staff@example.org\n"
                                        "[mailbox shadow@example.org]\n"
                                        "mode = shadow\n"
                                        "intents = framed, own_template, proposal, hook, quiet\n"
                                        "escalate_to = staff@example.org\n"
                                        "[mailbox draft@example.org]\n"
                                        "mode = draft\n"
                                        "intents = framed, own_template, proposal\n"
                                        "escalate_to = staff@example.org\n"
                                        "[mailbox off@example.org]\n"
                                        "mode = off\n"
                                        "intents = framed\n"
                                        "escalate_to = staff@example.org\n"
                                        "[mailbox keep@example.org]\n"
                                        "intents = framed\n"
                                        "escalate_to = staff@example.org\n"
                                        "escalate_suppressed = no\n"
                                        "[mailbox grounded@example.org]\n"
                                        "intents = framed, proposal\n"
                                        "escalate_to = staff@example.org\n"
                                        "ungrounded = draft\n"
                                        "[mailbox every@example.org]\n"
                                        "intents = own_template\n"
                                        "escalate_to = staff@example.org\n"
                                        "reply_interval = 0\n";

static const char own_template_text[] = "Hello {{sender_name}},\n\nOur prices are on "
                                        "https://www.example.org/pricing.\n{{reply}}\n";
static const char fixed_template_text[] = "Hello {{sender_name}},\n\nOur prices are on "
                                          "https://www.example.org/pricing.\n";
static const char fixed_template_html[] = "<html><body><p>Our prices are on "
                                          "https://www.example.org/pricing.</p></body></html>\n";

struct decide_case {
    const char *name;
    enum policy_verdict verdict;
    const char *mailbox;
    const char *provider; /* NULL: not classified */
    const char *intent;
    const char *reply;
    enum store_action_kind action;
    const char *reason; /* a substring of the reason */
};

#define EMPTY_NO_TEMPLATE                                                                          \
    "no reply sent: the answer would carry no text (empty model reply, no template of the "        \
    "intent's own); escalated"

static const struct decide_case decide_cases[] = {
    /* A reply carries the model's text, or the template of the intent's own. */
    {"model_reply_is_sent", POLICY_REPLY, "auto@example.org", "openai", "framed",
     "Our plans start at 10 EUR.", STORE_ACTION_REPLY, "intent framed: reply"},
    {"empty_model_reply_without_template_is_escalated", POLICY_REPLY, "auto@example.org", "openai",
     "framed", "", STORE_ACTION_ESCALATE, "intent framed: " EMPTY_NO_TEMPLATE},
    {"blank_model_reply_without_template_is_escalated", POLICY_REPLY, "auto@example.org", "openai",
     "framed", " \n\t\u00a0\u200b\n", STORE_ACTION_ESCALATE, EMPTY_NO_TEMPLATE},
    {"missing_model_reply_without_template_is_escalated", POLICY_REPLY, "auto@example.org",
     "openai", "framed", NULL, STORE_ACTION_ESCALATE, EMPTY_NO_TEMPLATE},
    {"one_visible_character_is_an_answer", POLICY_REPLY, "auto@example.org", "openai", "framed",
     "  .\n", STORE_ACTION_REPLY, "intent framed: reply"},
    {"empty_model_reply_with_own_template_is_sent", POLICY_REPLY, "auto@example.org", "openai",
     "own_template", "", STORE_ACTION_REPLY, "intent own_template: reply"},
    {"builtin_without_template_is_escalated", POLICY_REPLY, "auto@example.org", "builtin", "framed",
     "", STORE_ACTION_ESCALATE,
     "no reply sent: the answer would carry no text (the builtin classifier writes no reply "
     "text, no template of the intent's own); escalated"},
    {"builtin_with_own_template_is_sent", POLICY_REPLY, "auto@example.org", "builtin",
     "own_template", "", STORE_ACTION_REPLY, "intent own_template: reply"},

    /* A draft with no text helps nobody either. */
    {"draft_mode_with_model_text_is_a_draft", POLICY_REPLY, "draft@example.org", "openai", "framed",
     "Our plans start at 10 EUR.", STORE_ACTION_DRAFT, "reply, mailbox mode draft"},
    {"draft_mode_empty_reply_is_escalated", POLICY_REPLY, "draft@example.org", "openai", "framed",
     "", STORE_ACTION_ESCALATE,
     "no draft made: the answer would carry no text (empty model reply, no template of the "
     "intent's own), and a draft with no text helps nobody; escalated"},
    {"draft_mode_own_template_is_a_draft", POLICY_REPLY, "draft@example.org", "builtin",
     "own_template", "", STORE_ACTION_DRAFT, "reply, mailbox mode draft"},
    {"draft_action_empty_reply_is_escalated", POLICY_REPLY, "auto@example.org", "openai",
     "proposal", "", STORE_ACTION_ESCALATE, "intent proposal: no draft made"},
    {"draft_action_with_text_is_a_draft", POLICY_REPLY, "auto@example.org", "openai", "proposal",
     "A proposal.", STORE_ACTION_DRAFT, "intent proposal: draft"},

    /* Actions that send no reply text do not need one. */
    {"escalate_intent_needs_no_text", POLICY_REPLY, "auto@example.org", "openai", "unknown", "",
     STORE_ACTION_ESCALATE, "intent unknown: escalate"},
    {"webhook_intent_needs_no_text", POLICY_REPLY, "auto@example.org", "builtin", "hook", "",
     STORE_ACTION_WEBHOOK, "intent hook: webhook"},
    {"none_intent_needs_no_text", POLICY_REPLY, "auto@example.org", "openai", "quiet", "",
     STORE_ACTION_NONE, "intent quiet: no action"},
    {"unclassified_mail_goes_to_a_person", POLICY_REPLY, "auto@example.org", NULL, NULL, NULL,
     STORE_ACTION_ESCALATE, "intent unknown: escalate"},
    {"intent_no_longer_configured_is_unknown", POLICY_REPLY, "auto@example.org", "openai",
     "removed_since", "Some text.", STORE_ACTION_ESCALATE, "intent unknown: escalate"},

    /* The policy and the mailbox's mode come first. */
    {"automated_mail_gets_nothing", POLICY_AUTOMATED, "auto@example.org", NULL, NULL, NULL,
     STORE_ACTION_NONE, "no reply: the policy's reason"},
    {"refused_mail_gets_nothing", POLICY_REFUSED, "auto@example.org", NULL, NULL, NULL,
     STORE_ACTION_NONE, "no reply: the policy's reason"},
    {"held_back_mail_is_escalated", POLICY_HELD_BACK, "auto@example.org", NULL, NULL, NULL,
     STORE_ACTION_ESCALATE, "no automatic reply (the policy's reason); escalated"},
    {"held_back_mail_is_recorded_when_escalate_suppressed_is_off", POLICY_HELD_BACK,
     "keep@example.org", NULL, NULL, NULL, STORE_ACTION_NONE, "no reply: the policy's reason"},
    {"mode_off_records_only", POLICY_REPLY, "off@example.org", NULL, NULL, NULL, STORE_ACTION_NONE,
     "mailbox mode is off"},
};

/* The configuration of the tables, with its template file. */
struct decide_fixture {
    char *dir;
    struct config *cfg;
};

static void decide_fixture_open(struct decide_fixture *fx)
{
    fx->dir = testdata_tmpdir();
    char *template = g_build_filename(fx->dir, "own.txt", NULL);
    char *fixed = g_build_filename(fx->dir, "fixed.txt", NULL);
    char *fixed_html = g_build_filename(fx->dir, "fixed.html", NULL);
    testdata_write(template, own_template_text, -1, 0644);
    testdata_write(fixed, fixed_template_text, -1, 0644);
    testdata_write(fixed_html, fixed_template_html, -1, 0644);
    char *ini = g_strdup_printf(decide_ini_format, template, fixed, fixed_html);
    fx->cfg = testdata_config(ini);
    g_free(ini);
    g_free(fixed_html);
    g_free(fixed);
    g_free(template);
}

static void decide_fixture_close(struct decide_fixture *fx)
{
    config_unref(fx->cfg);
    testdata_rmdir(fx->dir);
}

static void test_decide_case(gconstpointer data)
{
    const struct decide_case *c = data;
    struct decide_fixture fx;
    decide_fixture_open(&fx);
    const struct config *cfg = fx.cfg;
    const struct config_mailbox *mailbox = config_mailbox_find(cfg, c->mailbox);
    g_assert_nonnull(mailbox);

    struct policy_decision policy = {c->verdict, NULL, FALSE};
    if (c->verdict != POLICY_REPLY)
        policy.reason = g_strdup("the policy's reason");
    struct classification *classification = NULL;
    if (c->provider != NULL) {
        classification = g_new0(struct classification, 1);
        classification->provider = g_strdup(c->provider);
        classification->intent = g_strdup(c->intent);
        classification->confidence = 0.9;
        classification->valid = TRUE;
        classification->summary = g_strdup("s");
        classification->reply = g_strdup(c->reply);
        classification->reply_settled = TRUE; /* as the request for the text leaves it */
    }

    struct decide_plan plan;
    decide_action(cfg, mailbox, &policy, classification, &plan);
    g_assert_false(decide_needs_reply(&plan, classification));
    g_assert_cmpstr(store_action_kind_name(plan.action), ==, store_action_kind_name(c->action));
    g_assert_nonnull(plan.reason);
    if (plan.reason != NULL && strstr(plan.reason, c->reason) == NULL)
        g_test_message("reason \"%s\" does not contain \"%s\"", plan.reason, c->reason);
    g_assert_true(plan.reason != NULL && strstr(plan.reason, c->reason) != NULL);

    decide_plan_clear(&plan);
    classification_free(classification);
    policy_decision_clear(&policy);
    decide_fixture_close(&fx);
}

/* decide_needs_reply(): the model is asked for the text only when the plan sends it. */
struct decide_reply_case {
    const char *name;
    enum policy_verdict verdict;
    const char *mailbox;
    const char *provider;
    const char *intent;
    gboolean settled;        /* the reply text was asked for (or none comes: builtin) */
    const char *reply_error; /* why the text written is empty */
    gboolean asks;           /* decide_needs_reply() */
    enum store_action_kind action;
    const char *reason;
};

static const struct decide_reply_case decide_reply_cases[] = {
    {"reply_of_the_built_in_template_asks", POLICY_REPLY, "auto@example.org", "openai", "framed",
     FALSE, NULL, TRUE, STORE_ACTION_REPLY, "intent framed: reply"},
    {"reply_of_a_template_with_reply_asks", POLICY_REPLY, "auto@example.org", "openai",
     "own_template", FALSE, NULL, TRUE, STORE_ACTION_REPLY, "intent own_template: reply"},
    {"reply_of_a_template_without_reply_does_not_ask", POLICY_REPLY, "auto@example.org", "openai",
     "fixed", FALSE, NULL, FALSE, STORE_ACTION_REPLY, "intent fixed: reply"},
    {"draft_of_mode_draft_asks", POLICY_REPLY, "draft@example.org", "openai", "framed", FALSE, NULL,
     TRUE, STORE_ACTION_DRAFT, "reply, mailbox mode draft"},
    {"draft_action_asks", POLICY_REPLY, "auto@example.org", "openai", "proposal", FALSE, NULL, TRUE,
     STORE_ACTION_DRAFT, "intent proposal: draft"},
    {"written_reply_does_not_ask_again", POLICY_REPLY, "auto@example.org", "openai", "framed", TRUE,
     NULL, FALSE, STORE_ACTION_ESCALATE, "empty model reply"},
    {"escalated_intent_does_not_ask", POLICY_REPLY, "auto@example.org", "openai", "unknown", FALSE,
     NULL, FALSE, STORE_ACTION_ESCALATE, "intent unknown: escalate"},
    {"webhook_does_not_ask", POLICY_REPLY, "auto@example.org", "openai", "hook", FALSE, NULL, FALSE,
     STORE_ACTION_WEBHOOK, "intent hook: webhook"},
    {"no_action_does_not_ask", POLICY_REPLY, "auto@example.org", "openai", "quiet", FALSE, NULL,
     FALSE, STORE_ACTION_NONE, "intent quiet: no action"},
    {"held_back_mail_does_not_ask", POLICY_HELD_BACK, "auto@example.org", "openai", "framed", FALSE,
     NULL, FALSE, STORE_ACTION_ESCALATE, "escalated for a person"},
    {"mode_off_does_not_ask", POLICY_REPLY, "off@example.org", "openai", "framed", FALSE, NULL,
     FALSE, STORE_ACTION_NONE, "mailbox mode is off"},
    {"builtin_does_not_ask", POLICY_REPLY, "auto@example.org", "builtin", "framed", TRUE, NULL,
     FALSE, STORE_ACTION_ESCALATE, "the builtin classifier writes no reply text"},
    {"failed_reply_request_is_escalated_with_its_reason", POLICY_REPLY, "auto@example.org",
     "openai", "framed", TRUE, "the LLM server rejected the request: HTTP 400", FALSE,
     STORE_ACTION_ESCALATE,
     "no reply sent: the answer would carry no text (the LLM server rejected the request: HTTP "
     "400, no template of the intent's own); escalated"},
};

static void test_decide_reply(gconstpointer data)
{
    const struct decide_reply_case *c = data;
    struct decide_fixture fx;
    decide_fixture_open(&fx);
    const struct config_mailbox *mailbox = config_mailbox_find(fx.cfg, c->mailbox);
    g_assert_nonnull(mailbox);
    struct policy_decision policy = {c->verdict, NULL, FALSE};
    if (c->verdict != POLICY_REPLY)
        policy.reason = g_strdup("the policy's reason");
    struct classification classification = {.provider = (char *)c->provider,
                                            .intent = (char *)c->intent,
                                            .confidence = 0.9,
                                            .valid = TRUE,
                                            .summary = "s",
                                            .reply = "",
                                            .reply_settled = c->settled,
                                            .reply_error = (char *)c->reply_error};
    struct decide_plan plan;
    decide_action(fx.cfg, mailbox, &policy, &classification, &plan);
    g_assert_cmpint(decide_needs_reply(&plan, &classification), ==, c->asks);
    g_assert_cmpstr(store_action_kind_name(plan.action), ==, store_action_kind_name(c->action));
    if (plan.reason == NULL || strstr(plan.reason, c->reason) == NULL)
        g_test_message("reason \"%s\" does not contain \"%s\"", plan.reason, c->reason);
    g_assert_true(plan.reason != NULL && strstr(plan.reason, c->reason) != NULL);
    decide_plan_clear(&plan);
    policy_decision_clear(&policy);
    decide_fixture_close(&fx);
}

/* The rules on the text once written: a grounded answer, an ungrounded one as [mailbox]
 * ungrounded says (auto@example.org: the default escalate; grounded@example.org: draft), and a
 * reply held for its PII. */
struct decide_ground_case {
    const char *name;
    const char *mailbox;
    const char *intent;
    const char *reply;
    const char *sources; /* "1 7?": numbers, ? when not given; NULL: none asked for */
    const char *hold;
    enum store_action_kind action;
    const char *reason;
};

static const struct decide_ground_case decide_ground_cases[] = {
    {"grounded_reply_is_sent", "auto@example.org", "framed", "From 10 EUR.", "1", NULL,
     STORE_ACTION_REPLY, "intent framed: reply"},
    {"reply_without_knowledge_is_sent", "auto@example.org", "framed", "From 10 EUR.", NULL, NULL,
     STORE_ACTION_REPLY, "intent framed: reply"},
    {"reply_naming_no_source_is_escalated", "auto@example.org", "framed", "From 10 EUR.", "", NULL,
     STORE_ACTION_ESCALATE,
     "intent framed: no reply sent: the answer names no source; escalated (ungrounded = "
     "escalate)"},
    {"reply_naming_no_source_is_a_draft_with_ungrounded_draft", "grounded@example.org", "framed",
     "From 10 EUR.", "", NULL, STORE_ACTION_DRAFT,
     "not sent automatically: the answer names no source; a draft for a person (ungrounded = "
     "draft)"},
    {"reply_citing_a_source_not_given_is_escalated", "auto@example.org", "framed", "From 10 EUR.",
     "1 7?", NULL, STORE_ACTION_ESCALATE, "the answer cites source 7, which it was not given"},
    {"reply_citing_a_source_not_given_is_a_draft_with_ungrounded_draft", "grounded@example.org",
     "framed", "From 10 EUR.", "-3?", NULL, STORE_ACTION_DRAFT,
     "the answer cites source -3, which it was not given"},
    {"ungrounded_draft_stays_a_draft_with_the_reason", "grounded@example.org", "proposal",
     "From 10 EUR.", "", NULL, STORE_ACTION_DRAFT,
     "intent proposal: draft; the answer names no source: check it before approving"},
    {"empty_ungrounded_reply_is_escalated_as_empty", "auto@example.org", "framed", "", "", NULL,
     STORE_ACTION_ESCALATE, "empty model reply"},
    {"reply_held_for_its_pii_is_escalated", "auto@example.org", "framed", "Your IBAN is ...", NULL,
     "the reply holds the placeholder [IBAN_1]", STORE_ACTION_ESCALATE,
     "intent framed: no reply made: the reply holds the placeholder [IBAN_1]; escalated"},
    {"draft_held_for_its_pii_is_escalated", "grounded@example.org", "proposal", "[EMAIL_7]", "1",
     "unknown placeholder [EMAIL_7]", STORE_ACTION_ESCALATE,
     "no draft made: unknown placeholder [EMAIL_7]; escalated"},
};

static GPtrArray *decide_sources(const char *spec)
{
    if (spec == NULL)
        return NULL;
    GPtrArray *sources = classification_sources_new();
    char **words = g_strsplit(spec, " ", -1);
    for (char **word = words; *word != NULL; word++) {
        if (**word == '\0')
            continue;
        struct classification_source *source = g_new0(struct classification_source, 1);
        source->number = g_ascii_strtoll(*word, NULL, 10);
        if (!g_str_has_suffix(*word, "?")) {
            source->path = g_strdup("/kb/prices.md");
            source->heading = g_strdup("Prices");
        }
        g_ptr_array_add(sources, source);
    }
    g_strfreev(words);
    return sources;
}

static void test_decide_ground(gconstpointer data)
{
    const struct decide_ground_case *c = data;
    struct decide_fixture fx;
    decide_fixture_open(&fx);
    const struct config_mailbox *mailbox = config_mailbox_find(fx.cfg, c->mailbox);
    g_assert_nonnull(mailbox);
    struct policy_decision policy = {POLICY_REPLY, NULL, FALSE};
    struct classification *classification = g_new0(struct classification, 1);
    classification->provider = g_strdup("openai");
    classification->intent = g_strdup(c->intent);
    classification->confidence = 0.9;
    classification->valid = TRUE;
    classification->summary = g_strdup("s");
    classification->reply = g_strdup(c->reply);
    classification->reply_settled = TRUE;
    classification->reply_sources = decide_sources(c->sources);
    classification->reply_hold = g_strdup(c->hold);
    struct decide_plan plan;
    decide_action(fx.cfg, mailbox, &policy, classification, &plan);
    g_assert_cmpstr(store_action_kind_name(plan.action), ==, store_action_kind_name(c->action));
    if (plan.reason == NULL || strstr(plan.reason, c->reason) == NULL)
        g_test_message("reason \"%s\" does not contain \"%s\"", plan.reason, c->reason);
    g_assert_true(plan.reason != NULL && strstr(plan.reason, c->reason) != NULL);
    decide_plan_clear(&plan);
    classification_free(classification);
    decide_fixture_close(&fx);
}

/* Mode shadow decides as mode auto, for every row of auto@example.org, and marks the plan shadow
 * unless it is no action. */
static void test_decide_shadow(void)
{
    struct decide_fixture fx;
    decide_fixture_open(&fx);
    const struct config_mailbox *automatic = config_mailbox_find(fx.cfg, "auto@example.org");
    const struct config_mailbox *shadow = config_mailbox_find(fx.cfg, "shadow@example.org");
    g_assert_nonnull(shadow);
    guint compared = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(decide_cases); i++) {
        const struct decide_case *c = &decide_cases[i];
        if (strcmp(c->mailbox, "auto@example.org") != 0)
            continue;
        struct policy_decision policy = {c->verdict, NULL, FALSE};
        if (c->verdict != POLICY_REPLY)
            policy.reason = g_strdup("the policy's reason");
        struct classification classification = {.provider = (char *)c->provider,
                                                .intent = (char *)c->intent,
                                                .confidence = 0.9,
                                                .valid = TRUE,
                                                .reply = (char *)c->reply};
        const struct classification *given = c->provider != NULL ? &classification : NULL;
        struct decide_plan as_auto, as_shadow;
        decide_action(fx.cfg, automatic, &policy, given, &as_auto);
        decide_action(fx.cfg, shadow, &policy, given, &as_shadow);
        g_test_message("%s", c->name);
        g_assert_cmpint(as_shadow.action, ==, as_auto.action);
        g_assert_cmpstr(as_shadow.reason, ==, as_auto.reason);
        g_assert_true(as_shadow.intent == as_auto.intent);
        g_assert_false(as_auto.shadow);
        g_assert_cmpint(as_shadow.shadow, ==, as_auto.action != STORE_ACTION_NONE);
        decide_plan_clear(&as_auto);
        decide_plan_clear(&as_shadow);
        policy_decision_clear(&policy);
        compared++;
    }
    g_assert_cmpuint(compared, >=, 15);
    decide_fixture_close(&fx);
}

struct decide_history_case {
    const char *name;
    enum policy_verdict verdict; /* of the rules before the history */
    gboolean allowed;            /* allow_senders */
    const char *mailbox;
    struct context context;
    enum policy_verdict result;
    const char *reason; /* a substring of the reason, NULL when the verdict stays REPLY */
    enum store_action_kind action; /* of decide_action() then (own_template, answered) */
};

#define HISTORY(bounced, replied, from_mailbox, from_all)                                          \
    {                                                                                              \
        NULL, 0, bounced, replied, from_mailbox, from_all, 7, CONVERSATION_ACTIVE                  \
    }
/* A clean sender history in conversation 7 of STATUS. */
#define IN_CONVERSATION(status)                                                                    \
    {                                                                                              \
        NULL, 0, FALSE, FALSE, 0, 0, 7, status                                                     \
    }

static const struct decide_history_case decide_history_cases[] = {
    {"clean_history_lets_the_reply_go", POLICY_REPLY, FALSE, "auto@example.org",
     HISTORY(FALSE, FALSE, 0, 0), POLICY_REPLY, NULL, STORE_ACTION_REPLY},
    {"hard_bounce_holds_the_reply_back", POLICY_REPLY, FALSE, "auto@example.org",
     HISTORY(TRUE, FALSE, 0, 0), POLICY_HELD_BACK, "hard-bounced within bounce_block",
     STORE_ACTION_ESCALATE},
    {"reply_within_interval_holds_it_back", POLICY_REPLY, FALSE, "auto@example.org",
     HISTORY(FALSE, TRUE, 1, 1), POLICY_HELD_BACK, "within reply_interval (RFC 3834)",
     STORE_ACTION_ESCALATE},
    {"held_back_is_only_recorded_when_escalate_suppressed_is_off", POLICY_REPLY, FALSE,
     "keep@example.org", HISTORY(FALSE, TRUE, 1, 1), POLICY_HELD_BACK, "reply_interval",
     STORE_ACTION_NONE},
    {"reply_interval_0_answers_every_message", POLICY_REPLY, FALSE, "every@example.org",
     HISTORY(FALSE, TRUE, 1, 1), POLICY_REPLY, NULL, STORE_ACTION_REPLY},
    {"bounce_is_named_before_the_interval", POLICY_REPLY, FALSE, "auto@example.org",
     HISTORY(TRUE, TRUE, 0, 0), POLICY_HELD_BACK, "hard-bounced", STORE_ACTION_ESCALATE},
    {"mailbox_loop_cap_reached", POLICY_REPLY, FALSE, "every@example.org",
     HISTORY(FALSE, FALSE, 10, 10), POLICY_HELD_BACK,
     "loop cap: 10 automatic replies to this address from this mailbox within loop_window",
     STORE_ACTION_ESCALATE},
    {"mailbox_loop_cap_not_yet_reached", POLICY_REPLY, FALSE, "every@example.org",
     HISTORY(FALSE, FALSE, 9, 9), POLICY_REPLY, NULL, STORE_ACTION_REPLY},
    {"total_loop_cap_reached", POLICY_REPLY, FALSE, "every@example.org",
     HISTORY(FALSE, FALSE, 2, 30), POLICY_HELD_BACK,
     "loop cap: 30 automatic replies to this address within loop_window", STORE_ACTION_ESCALATE},
    {"shadow_mailbox_escalates_held_back_mail_in_shadow", POLICY_REPLY, FALSE, "shadow@example.org",
     HISTORY(FALSE, TRUE, 1, 1), POLICY_HELD_BACK, "reply_interval", STORE_ACTION_ESCALATE},
    {"allow_listed_sender_skips_the_history", POLICY_REPLY, TRUE, "auto@example.org",
     HISTORY(TRUE, TRUE, 50, 50), POLICY_REPLY, NULL, STORE_ACTION_REPLY},
    {"automated_mail_keeps_its_own_reason", POLICY_AUTOMATED, FALSE, "auto@example.org",
     HISTORY(TRUE, TRUE, 50, 50), POLICY_AUTOMATED, "the policy's reason", STORE_ACTION_NONE},
    {"refused_mail_keeps_its_own_reason", POLICY_REFUSED, FALSE, "auto@example.org",
     HISTORY(TRUE, FALSE, 0, 0), POLICY_REFUSED, "the policy's reason", STORE_ACTION_NONE},
    {"active_conversation_lets_the_reply_go", POLICY_REPLY, FALSE, "auto@example.org",
     IN_CONVERSATION(CONVERSATION_ACTIVE), POLICY_REPLY, NULL, STORE_ACTION_REPLY},
    {"human_conversation_is_escalated", POLICY_REPLY, FALSE, "auto@example.org",
     IN_CONVERSATION(CONVERSATION_HUMAN), POLICY_HELD_BACK,
     "conversation 7 is handled by a person (mailtriagectl conversation resume 7)",
     STORE_ACTION_ESCALATE},
    {"human_conversation_is_only_recorded_when_escalate_suppressed_is_off", POLICY_REPLY, FALSE,
     "keep@example.org", IN_CONVERSATION(CONVERSATION_HUMAN), POLICY_HELD_BACK,
     "is handled by a person", STORE_ACTION_NONE},
    {"stopped_conversation_is_escalated", POLICY_REPLY, FALSE, "auto@example.org",
     IN_CONVERSATION(CONVERSATION_STOPPED), POLICY_HELD_BACK,
     "conversation 7 was stopped (mailtriagectl conversation resume 7)", STORE_ACTION_ESCALATE},
    {"stopped_conversation_is_only_recorded_when_escalate_suppressed_is_off", POLICY_REPLY, FALSE,
     "keep@example.org", IN_CONVERSATION(CONVERSATION_STOPPED), POLICY_HELD_BACK, "was stopped",
     STORE_ACTION_NONE},
    {"allow_listed_sender_gets_no_reply_in_a_human_conversation", POLICY_REPLY, TRUE,
     "auto@example.org", IN_CONVERSATION(CONVERSATION_HUMAN), POLICY_HELD_BACK,
     "handled by a person", STORE_ACTION_ESCALATE},
    {"human_conversation_is_named_before_the_history",
     POLICY_REPLY,
     FALSE,
     "auto@example.org",
     {NULL, 0, TRUE, TRUE, 50, 50, 7, CONVERSATION_HUMAN},
     POLICY_HELD_BACK,
     "handled by a person",
     STORE_ACTION_ESCALATE},
    {"automated_mail_in_a_human_conversation_keeps_its_own_reason", POLICY_AUTOMATED, FALSE,
     "auto@example.org", IN_CONVERSATION(CONVERSATION_HUMAN), POLICY_AUTOMATED,
     "the policy's reason", STORE_ACTION_NONE},
    {"mode_off_records_a_human_conversation_only", POLICY_REPLY, FALSE, "off@example.org",
     IN_CONVERSATION(CONVERSATION_HUMAN), POLICY_HELD_BACK, "handled by a person",
     STORE_ACTION_NONE},
};

static void test_decide_history(gconstpointer data)
{
    const struct decide_history_case *c = data;
    struct decide_fixture fx;
    decide_fixture_open(&fx);
    const struct config_mailbox *mailbox = config_mailbox_find(fx.cfg, c->mailbox);
    g_assert_nonnull(mailbox);
    struct policy_decision policy = {c->verdict, NULL, c->allowed};
    if (c->verdict != POLICY_REPLY)
        policy.reason = g_strdup("the policy's reason");

    decide_history(fx.cfg, mailbox, &c->context, &policy);
    g_assert_cmpint(policy.verdict, ==, c->result);
    if (c->reason == NULL)
        g_assert_null(policy.reason);
    else
        g_assert_true(policy.reason != NULL && strstr(policy.reason, c->reason) != NULL);

    struct classification classification = {.provider = "openai",
                                            .intent = "own_template",
                                            .confidence = 0.9,
                                            .valid = TRUE,
                                            .reply = "Our plans start at 10 EUR."};
    struct decide_plan plan;
    decide_action(fx.cfg, mailbox, &policy, &classification, &plan);
    g_assert_cmpstr(store_action_kind_name(plan.action), ==, store_action_kind_name(c->action));
    decide_plan_clear(&plan);
    policy_decision_clear(&policy);
    decide_fixture_close(&fx);
}

struct decide_classify_case {
    const char *name;
    enum policy_verdict verdict;
    const char *mailbox;
    gboolean classify_suppressed;
    gboolean asked;
};

static const struct decide_classify_case decide_classify_cases[] = {
    {"mail_that_may_be_answered_is_classified", POLICY_REPLY, "auto@example.org", FALSE, TRUE},
    {"automated_mail_spends_no_tokens", POLICY_AUTOMATED, "auto@example.org", FALSE, FALSE},
    {"refused_mail_spends_no_tokens", POLICY_REFUSED, "auto@example.org", FALSE, FALSE},
    {"held_back_mail_spends_no_tokens", POLICY_HELD_BACK, "auto@example.org", FALSE, FALSE},
    {"classify_suppressed_classifies_held_back_mail", POLICY_HELD_BACK, "auto@example.org", TRUE,
     TRUE},
    {"classify_suppressed_classifies_automated_mail", POLICY_AUTOMATED, "auto@example.org", TRUE,
     TRUE},
    {"mode_shadow_is_classified_as_auto", POLICY_REPLY, "shadow@example.org", FALSE, TRUE},
    {"mode_off_is_never_classified", POLICY_REPLY, "off@example.org", FALSE, FALSE},
    {"mode_off_is_never_classified_even_with_classify_suppressed", POLICY_REPLY, "off@example.org",
     TRUE, FALSE},
};

static void test_decide_classify(gconstpointer data)
{
    const struct decide_classify_case *c = data;
    struct decide_fixture fx;
    decide_fixture_open(&fx);
    const struct config_mailbox *mailbox = config_mailbox_find(fx.cfg, c->mailbox);
    g_assert_nonnull(mailbox);
    fx.cfg->policy.classify_suppressed = c->classify_suppressed;
    struct policy_decision policy = {c->verdict, NULL, FALSE};
    g_assert_cmpint(decide_needs_classification(fx.cfg, mailbox, &policy), ==, c->asked);
    decide_fixture_close(&fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    g_mime_init();

    for (size_t i = 0; i < G_N_ELEMENTS(decide_cases); i++) {
        char *path = g_strdup_printf("/decide/%s", decide_cases[i].name);
        g_test_add_data_func(path, &decide_cases[i], test_decide_case);
        g_free(path);
    }

    for (size_t i = 0; i < G_N_ELEMENTS(decide_reply_cases); i++) {
        char *path = g_strdup_printf("/decide/reply/%s", decide_reply_cases[i].name);
        g_test_add_data_func(path, &decide_reply_cases[i], test_decide_reply);
        g_free(path);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(decide_ground_cases); i++) {
        char *path = g_strdup_printf("/decide/ground/%s", decide_ground_cases[i].name);
        g_test_add_data_func(path, &decide_ground_cases[i], test_decide_ground);
        g_free(path);
    }
    g_test_add_func("/decide/shadow_decides_as_auto", test_decide_shadow);
    for (size_t i = 0; i < G_N_ELEMENTS(decide_history_cases); i++) {
        char *path = g_strdup_printf("/decide/history/%s", decide_history_cases[i].name);
        g_test_add_data_func(path, &decide_history_cases[i], test_decide_history);
        g_free(path);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(decide_classify_cases); i++) {
        char *path = g_strdup_printf("/decide/classify/%s", decide_classify_cases[i].name);
        g_test_add_data_func(path, &decide_classify_cases[i], test_decide_classify);
        g_free(path);
    }
    int result = g_test_run();
    g_mime_shutdown();
    return result;
}
