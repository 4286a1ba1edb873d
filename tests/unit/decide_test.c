/*
 * decide_test: the specification of decide_action() (lib/decide.h), one row per behaviour.
 *
 * Each row gives the policy verdict, the mailbox (by its mode), the classification (provider,
 * intent, the model's reply text; no classification at all for mail the policy stopped) and
 * the action and a substring of the reason it must yield. The configuration has an intent
 * with a template of its own (own_template) beside intents that use the built-in template,
 * which is only a frame around {{reply}}: whether a reply would carry any text depends on it.
 */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "classification.h"
#include "config.h"
#include "decide.h"
#include "policy.h"
#include "store.h"
#include "testdata.h"

/* %s: the template file of own_template. */
static const char decide_ini_format[] = "[daemon]\n"
                                        "hostname = mx.test.example\n"
                                        "[intent framed]\n"
                                        "action = reply\n"
                                        "[intent own_template]\n"
                                        "action = reply\n"
                                        "template = %s\n"
                                        "[intent proposal]\n"
                                        "action = draft\n"
                                        "[intent hook]\n"
                                        "action = webhook\n"
                                        "webhook_url = http://127.0.0.1:9/hook\n"
                                        "[intent quiet]\n"
                                        "action = none\n"
                                        "[mailbox auto@example.org]\n"
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
                                        "escalate_suppressed = no\n";

static const char own_template_text[] = "Hello {{sender_name}},\n\nOur prices are on "
                                        "https://www.example.org/pricing.\n{{reply}}\n";

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

static void test_decide_case(gconstpointer data)
{
    const struct decide_case *c = data;
    char *dir = testdata_tmpdir();
    char *template = g_build_filename(dir, "own.txt", NULL);
    testdata_write(template, own_template_text, -1, 0644);
    char *ini = g_strdup_printf(decide_ini_format, template);
    struct config *cfg = testdata_config(ini);
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
    }

    struct decide_plan plan;
    decide_action(cfg, mailbox, &policy, classification, &plan);
    g_assert_cmpstr(store_action_kind_name(plan.action), ==, store_action_kind_name(c->action));
    g_assert_nonnull(plan.reason);
    if (plan.reason != NULL && strstr(plan.reason, c->reason) == NULL)
        g_test_message("reason \"%s\" does not contain \"%s\"", plan.reason, c->reason);
    g_assert_true(plan.reason != NULL && strstr(plan.reason, c->reason) != NULL);

    decide_plan_clear(&plan);
    classification_free(classification);
    policy_decision_clear(&policy);
    config_unref(cfg);
    g_free(ini);
    g_free(template);
    testdata_rmdir(dir);
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

    int result = g_test_run();
    g_mime_shutdown();
    return result;
}
