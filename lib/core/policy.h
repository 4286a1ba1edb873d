/*
 * policy: may an automatic reply go to this sender at all? Cheap, deterministic, no tokens.
 *
 * policy_reply_refusal() applies the rules that need only the message and the configuration
 * (RFC 3834 and field practice, REFERENCE.md section 1, items 1 to 9): unknown or null
 * envelope sender, role and no-reply senders (addr_role_rule(), SRS unwrapped), Auto-Submitted
 * other than "no", mailing-list headers, (X-)Precedence bulk/junk/list/auto_reply,
 * X-Auto-Response-Suppress, vendor markers of automatic mail, delivery and disposition reports, our
 * own loop marker, and a sender that is one of our own addresses. It returns NULL when a reply may
 * go, else the reason, which is recorded on the message. Rules that need the database (the
 * reply interval) are applied by process.c.
 */
#ifndef MAILTRIAGE_POLICY_H
#define MAILTRIAGE_POLICY_H

#include <glib.h>

#include "config.h"
#include "mime.h"

char *policy_reply_refusal(const struct config *cfg, const char *envelope_from,
                           const struct mime_message *msg);

/* What the rules that need no database say about an automatic reply. */
enum policy_verdict {
    POLICY_REPLY,     /* a reply may go (the database rules are still to be asked) */
    POLICY_AUTOMATED, /* automatic mail (policy_reply_refusal): recorded only */
    POLICY_REFUSED,   /* blocked sender, spam or virus: recorded only */
    POLICY_HELD_BACK  /* a person's mail that gets no automatic reply (failed authentication) */
};
struct policy_decision {
    enum policy_verdict verdict;
    char *reason;     /* NULL for POLICY_REPLY */
    gboolean allowed; /* the sender is in allow_senders: spam, auth and rate rules skipped */
};

/* The whole verdict: policy_reply_refusal(), then block_senders, upstream spam and virus
 * verdicts, then sender authentication from trusted Authentication-Results headers (only the
 * topmost header of a trusted authserv-id counts: a sender can forge lower ones). Free the
 * reason with policy_decision_clear(). */
void policy_decide(const struct config *cfg, const char *envelope_from,
                   const struct mime_message *msg, struct policy_decision *decision_r);
void policy_decision_clear(struct policy_decision *decision);

/* The pieces, for tests: is ADDRESS in LIST (addresses or @domains)? The spam or virus verdict
 * of upstream filters, or NULL. The authentication verdict, or NULL when it passes. */
gboolean policy_sender_listed(char *const *list, const char *address);
char *policy_spam_verdict(const struct config *cfg, const struct mime_message *msg);
char *policy_auth_verdict(const struct config *cfg, const struct mime_message *msg);

#endif
