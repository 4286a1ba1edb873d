/*
 * decide: which action a message gets, as a pure function of values.
 *
 * decide_action() takes the mailbox, the policy verdict (with the database rules applied) and
 * the classification (NULL when the message was not classified) and returns the plan: the
 * action, the intent whose rule chose it and the reason recorded on the message and shown by
 * mailtriagectl. It reads no database and sends nothing. Besides the intent's rule and the
 * mailbox's mode it applies one rule of its own: a reply or a draft whose text would carry no
 * answer (a blank model reply, as the builtin classifier always gives, and no template of the
 * intent's own, the built-in one being only a frame around {{reply}}) is escalated instead.
 */
#ifndef MAILTRIAGE_DECIDE_H
#define MAILTRIAGE_DECIDE_H

#include <glib.h>

#include "classification.h"
#include "config.h"
#include "policy.h"
#include "store.h"

struct decide_plan {
    const struct config_intent *intent; /* NULL when no intent's rule decided */
    enum store_action_kind action;
    char *reason;
};

void decide_action(const struct config *cfg, const struct config_mailbox *mailbox,
                   const struct policy_decision *policy,
                   const struct classification *classification, struct decide_plan *plan_r);
void decide_plan_clear(struct decide_plan *plan);

/* Would a reply of INTENT built from CLASSIFICATION say anything? TRUE when the intent has a
 * text template of its own or the model's reply has a visible character. */
gboolean decide_reply_has_text(const struct config_intent *intent,
                               const struct classification *classification);

#endif
