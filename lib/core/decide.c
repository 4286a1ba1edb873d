/*
 * decide: the action chooser; see decide.h.
 */
#include <glib.h>

#include "decide.h"
#include "template.h"

/* Is TEXT empty to a reader: nothing but white space and characters of no width? Bytes that
 * are not UTF-8 count as text: something is there, even if garbled. */
static gboolean decide_is_blank(const char *text)
{
    if (text == NULL)
        return TRUE;
    for (const char *p = text; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char_validated(p, -1);
        if (c == (gunichar)-1 || c == (gunichar)-2)
            return FALSE;
        if (!g_unichar_isspace(c) && !g_unichar_iszerowidth(c))
            return FALSE;
    }
    return TRUE;
}

gboolean decide_reply_has_text(const struct config_intent *intent,
                               const struct classification *classification)
{
    if (intent->template != NULL && *intent->template != '\0')
        return TRUE; /* the template carries the answer, as with the builtin classifier */
    return classification != NULL && !decide_is_blank(classification->reply);
}

/* Do INTENT's templates place the model's text? (A configuration loaded for checking only has
 * no template text: it counts as the built-in one, which does.) */
static gboolean decide_intent_uses_reply(const struct config_intent *intent)
{
    return intent->template_text == NULL || template_uses(intent->template_text, "reply") ||
           (intent->template_html_text != NULL &&
            template_uses(intent->template_html_text, "reply"));
}

gboolean decide_needs_reply(const struct decide_plan *plan, const struct classification *c)
{
    return (plan->action == STORE_ACTION_REPLY || plan->action == STORE_ACTION_DRAFT) &&
           c != NULL && !c->reply_settled && decide_intent_uses_reply(plan->intent);
}

/* A reply or draft of PLAN's intent that would carry no text becomes an escalation; one whose
 * text the model is still to write waits for it. */
static void decide_refuse_empty_reply(const struct classification *c, struct decide_plan *plan)
{
    if ((plan->action != STORE_ACTION_REPLY && plan->action != STORE_ACTION_DRAFT) ||
        decide_needs_reply(plan, c) || decide_reply_has_text(plan->intent, c))
        return;
    const char *why = c != NULL && g_strcmp0(c->provider, "builtin") == 0
                          ? "the builtin classifier writes no reply text"
                      : c != NULL && c->reply_error != NULL ? c->reply_error
                                                            : "empty model reply";
    char *reason =
        plan->action == STORE_ACTION_DRAFT
            ? g_strdup_printf("intent %s: no draft made: the answer would carry no text (%s, no "
                              "template of the intent's own), and a draft with no text helps "
                              "nobody; escalated",
                              plan->intent->intent, why)
            : g_strdup_printf("intent %s: no reply sent: the answer would carry no text (%s, no "
                              "template of the intent's own); escalated",
                              plan->intent->intent, why);
    g_free(plan->reason);
    plan->reason = reason;
    plan->action = STORE_ACTION_ESCALATE;
}

/* A reply or draft whose text may not go without a person ([llm] redact = pii: the model
 * wrote a placeholder the message did not have, an IBAN or a card number) is escalated. */
static void decide_refuse_unsafe_reply(const struct classification *c, struct decide_plan *plan)
{
    if ((plan->action != STORE_ACTION_REPLY && plan->action != STORE_ACTION_DRAFT) || c == NULL ||
        c->reply_hold == NULL)
        return;
    char *reason = g_strdup_printf("intent %s: no %s made: %s; escalated", plan->intent->intent,
                                   store_action_kind_name(plan->action), c->reply_hold);
    g_free(plan->reason);
    plan->reason = reason;
    plan->action = STORE_ACTION_ESCALATE;
}

/* Why C's reply is not grounded in the sources it was given, or NULL when it is (or no sources
 * were asked for: a mailbox without knowledge answers from its persona). */
static char *decide_ungrounded_reason(const struct classification *c)
{
    if (c == NULL || !c->reply_settled || c->reply_sources == NULL)
        return NULL;
    for (guint i = 0; i < c->reply_sources->len; i++) {
        const struct classification_source *source = g_ptr_array_index(c->reply_sources, i);
        if (source->path == NULL)
            return g_strdup_printf("the answer cites source %" G_GINT64_FORMAT
                                   ", which it was not given",
                                   source->number);
    }
    return c->reply_sources->len == 0 ? g_strdup("the answer names no source") : NULL;
}

/* A reply of a mailbox with knowledge whose answer is not grounded is not sent automatically:
 * [mailbox] ungrounded = draft files it for a person, escalate escalates it. A draft stays one,
 * with the reason for the person who approves it. */
static void decide_refuse_ungrounded(const struct config_mailbox *mailbox,
                                     const struct classification *c, struct decide_plan *plan)
{
    if (plan->action != STORE_ACTION_REPLY && plan->action != STORE_ACTION_DRAFT)
        return;
    char *why = decide_ungrounded_reason(c);
    if (why == NULL)
        return;
    char *reason;
    if (plan->action == STORE_ACTION_DRAFT)
        reason = g_strdup_printf("%s; %s: check it before approving", plan->reason, why);
    else if (mailbox->ungrounded == CONFIG_UNGROUNDED_DRAFT) {
        reason = g_strdup_printf("intent %s: not sent automatically: %s; a draft for a person "
                                 "(ungrounded = draft)",
                                 plan->intent->intent, why);
        plan->action = STORE_ACTION_DRAFT;
    } else {
        reason = g_strdup_printf("intent %s: no reply sent: %s; escalated (ungrounded = "
                                 "escalate)",
                                 plan->intent->intent, why);
        plan->action = STORE_ACTION_ESCALATE;
    }
    g_free(why);
    g_free(plan->reason);
    plan->reason = reason;
}

/* The action of the intent's rule under the mailbox's mode. */
static void decide_by_intent(const struct config_mailbox *mailbox, const struct classification *c,
                             struct decide_plan *plan)
{
    const char *name = plan->intent->intent;
    switch ((enum config_action)plan->intent->action) {
    case CONFIG_ACTION_REPLY:
        if (mailbox->mode == CONFIG_MODE_DRAFT) {
            plan->action = STORE_ACTION_DRAFT;
            plan->reason = g_strdup_printf("intent %s: reply, mailbox mode draft", name);
        } else {
            plan->action = STORE_ACTION_REPLY;
            plan->reason = g_strdup_printf("intent %s: reply", name);
        }
        break;
    case CONFIG_ACTION_DRAFT:
        plan->action = STORE_ACTION_DRAFT;
        plan->reason = g_strdup_printf("intent %s: draft", name);
        break;
    case CONFIG_ACTION_WEBHOOK:
        plan->action = STORE_ACTION_WEBHOOK;
        plan->reason = g_strdup_printf("intent %s: webhook", name);
        break;
    case CONFIG_ACTION_NONE:
        plan->action = STORE_ACTION_NONE;
        plan->reason = g_strdup_printf("intent %s: no action", name);
        break;
    case CONFIG_ACTION_ESCALATE:
    default:
        plan->action = STORE_ACTION_ESCALATE;
        plan->reason = c != NULL && c->error != NULL
                           ? g_strdup_printf("intent %s: escalate (%s)", name, c->error)
                           : g_strdup_printf("intent %s: escalate", name);
        break;
    }
}

void decide_history(const struct config *cfg, const struct config_mailbox *mailbox,
                    const struct context *context, struct policy_decision *policy)
{
    if (policy->verdict != POLICY_REPLY)
        return;
    const struct config_policy *rules = &cfg->policy;
    char *reason = NULL;
    /* A person's conversation is theirs, whoever the sender: allow_senders does not pass it. */
    if (context->conversation > 0 && context->conversation_status == CONVERSATION_HUMAN)
        reason = g_strdup_printf("conversation %" G_GINT64_FORMAT " is handled by a person "
                                 "(mailtriagectl conversation resume %" G_GINT64_FORMAT ")",
                                 context->conversation, context->conversation);
    else if (context->conversation > 0 && context->conversation_status == CONVERSATION_STOPPED)
        reason = g_strdup_printf("conversation %" G_GINT64_FORMAT " was stopped "
                                 "(mailtriagectl conversation resume %" G_GINT64_FORMAT ")",
                                 context->conversation, context->conversation);
    else if (policy->allowed)
        return;
    else if (rules->bounce_block > 0 && context->bounced)
        reason = g_strdup("a reply to this address hard-bounced within bounce_block");
    else if (mailbox->reply_interval > 0 && context->replied)
        reason = g_strdup("the sender had an automatic reply within reply_interval (RFC 3834)");
    else if ((guint)context->replies_from_mailbox >= rules->loop_limit_mailbox)
        reason = g_strdup_printf("loop cap: %d automatic replies to this address from this "
                                 "mailbox within loop_window",
                                 context->replies_from_mailbox);
    else if ((guint)context->replies_from_all >= rules->loop_limit_total)
        reason = g_strdup_printf("loop cap: %d automatic replies to this address within "
                                 "loop_window",
                                 context->replies_from_all);
    if (reason != NULL) {
        policy->verdict = POLICY_HELD_BACK;
        g_free(policy->reason);
        policy->reason = reason;
    }
}

gboolean decide_needs_classification(const struct config *cfg, const struct config_mailbox *mailbox,
                                     const struct policy_decision *policy)
{
    if (mailbox->mode == CONFIG_MODE_OFF)
        return FALSE;
    return policy->verdict == POLICY_REPLY || cfg->policy.classify_suppressed;
}

void decide_action(const struct config *cfg, const struct config_mailbox *mailbox,
                   const struct policy_decision *policy,
                   const struct classification *classification, struct decide_plan *plan_r)
{
    struct decide_plan plan = {NULL, STORE_ACTION_NONE, NULL, FALSE};
    enum policy_verdict verdict = policy->verdict;
    if (verdict == POLICY_AUTOMATED || verdict == POLICY_REFUSED ||
        (verdict == POLICY_HELD_BACK && !mailbox->escalate_suppressed))
        plan.reason = g_strdup_printf("no reply: %s", policy->reason);
    else if (mailbox->mode == CONFIG_MODE_OFF)
        plan.reason = g_strdup("mailbox mode is off: recorded only");
    else if (verdict == POLICY_HELD_BACK) {
        plan.action = STORE_ACTION_ESCALATE;
        plan.reason = g_strdup_printf("no automatic reply (%s); escalated for a person "
                                      "(escalate_suppressed)",
                                      policy->reason);
    } else {
        /* Mail that may be answered has been classified; were it not, the rule of unknown (a
         * person) is the safe one. */
        plan.intent =
            config_intent_find(cfg, classification != NULL ? classification->intent : "unknown");
        if (plan.intent == NULL) /* the configuration changed since it was classified */
            plan.intent = config_intent_find(cfg, "unknown");
        decide_by_intent(mailbox, classification, &plan);
        decide_refuse_empty_reply(classification, &plan);
        decide_refuse_unsafe_reply(classification, &plan);
        decide_refuse_ungrounded(mailbox, classification, &plan);
    }
    plan.shadow = mailbox->mode == CONFIG_MODE_SHADOW && plan.action != STORE_ACTION_NONE;
    *plan_r = plan;
}

void decide_plan_clear(struct decide_plan *plan)
{
    g_clear_pointer(&plan->reason, g_free);
}
