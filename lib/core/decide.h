/*
 * decide: which action a message gets, as a pure function of values.
 *
 * All "why was this (not) answered?" logic after the RFC 3834 and policy rules (policy.h) lives
 * here, and reads no database and sends nothing: decide_history() holds back a reply for what
 * the sender's history says (context.h: a conversation that a person handles or that was
 * stopped, a recent hard bounce, the reply interval, the loop caps), decide_needs_classification()
 * says whether the classifier is asked at all, and decide_action() takes the mailbox, the policy
 * verdict and the classification (NULL when the message was not classified) and returns the plan:
 * the action, the intent whose rule chose it and the reason recorded on the message and shown by
 * mailtriagectl. Besides the intent's rule and the mailbox's mode it applies one rule of its own: a
 * reply or a draft whose text would carry no answer (a blank model reply, as the builtin classifier
 * always gives, and no template of the intent's own, the built-in one being only a frame around
 * {{reply}}) is escalated instead; and two more on the text once written: a reply or draft
 * whose text may not go without a person (the reply's hold, [llm] redact = pii) is escalated
 * with that reason, and a reply of a mailbox with knowledge whose answer names no source ("the
 * answer names no source") or one it was not given ("the answer cites source 7, which it was
 * not given") is not sent: [mailbox] ungrounded = draft makes it a draft, escalate escalates
 * it (a draft stays one, the reason added). A mailbox without knowledge asks for no sources.
 * The model writes the reply only when decide_needs_reply() says the plan uses it: until then
 * the rules wait, and they apply to the text once written.
 * A mailbox in mode shadow gets the plan of mode auto, marked shadow: the same action and reason,
 * performed as a record only.
 */
#ifndef MAILTRIAGE_DECIDE_H
#define MAILTRIAGE_DECIDE_H

#include <glib.h>

#include "classification.h"
#include "config.h"
#include "context.h"
#include "policy.h"
#include "store.h"

struct decide_plan {
    const struct config_intent *intent; /* NULL when no intent's rule decided */
    enum store_action_kind action;
    char *reason;
    /* Mailbox mode shadow: the action is composed as mode auto would and recorded, and nothing
     * leaves (action.h). Never set for STORE_ACTION_NONE. */
    gboolean shadow;
};

/* A reply that the other rules let go (verdict REPLY) is held back (POLICY_HELD_BACK, with the
 * reason) when CONTEXT shows a conversation handled by a person or stopped (whoever the sender),
 * or, for a sender not allow-listed, a hard bounce within bounce_block, an automatic reply
 * within reply_interval, or a loop cap reached within loop_window. */
void decide_history(const struct config *cfg, const struct config_mailbox *mailbox,
                    const struct context *context, struct policy_decision *policy);
/* Is the classifier asked? Not for a mailbox in mode off, nor, unless classify_suppressed,
 * for mail that gets no answer: no tokens are spent on it. */
gboolean decide_needs_classification(const struct config *cfg, const struct config_mailbox *mailbox,
                                     const struct policy_decision *policy);
void decide_action(const struct config *cfg, const struct config_mailbox *mailbox,
                   const struct policy_decision *policy,
                   const struct classification *classification, struct decide_plan *plan_r);
void decide_plan_clear(struct decide_plan *plan);

/* Does PLAN send text that the model is still to write? A reply or draft of an intent whose
 * templates use {{reply}}, after a classification whose reply is not settled: the reply is
 * asked for (llm_write_reply()) and decide_action() run again with it. */
gboolean decide_needs_reply(const struct decide_plan *plan, const struct classification *c);

/* Would a reply of INTENT built from CLASSIFICATION say anything? TRUE when the intent has a
 * text template of its own or the model's reply has a visible character. */
gboolean decide_reply_has_text(const struct config_intent *intent,
                               const struct classification *classification);

#endif
