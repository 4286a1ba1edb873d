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
 * topmost header of a trusted authserv-id counts: a sender can forge lower ones).
 *
 * Authentication is about the address the reply goes to, the envelope sender (RFC 3834 section
 * 4), not about From: (REFERENCE.md section 6): a DMARC pass for From: says nothing about a
 * forged envelope sender under mail the attacker signed for a domain of its own. The envelope
 * sender is authenticated by spf=pass whose smtp.mailfrom has its very domain, or by a
 * dkim=pass whose header.d (else header.i) is aligned with it (the same domain, a parent or a
 * subdomain). require_auth = spf_or_dkim asks for that; dmarc asks for that, a dmarc=pass and
 * a From: domain aligned with the envelope sender's, so that the author DMARC authenticated
 * and the recipient of the reply are one organisation; none asks for nothing more. Whatever
 * require_auth says, an explicit failure holds the reply back, even for allow_senders:
 * dmarc=fail, or spf=fail for the envelope sender's domain without an aligned DKIM pass (plain
 * forwarding breaks SPF but not DKIM). Free the reason with policy_decision_clear(). */
void policy_decide(const struct config *cfg, const char *envelope_from,
                   const struct mime_message *msg, struct policy_decision *decision_r);
void policy_decision_clear(struct policy_decision *decision);

/* The pieces, for tests: is ADDRESS in LIST (addresses or @domains)? The spam or virus verdict
 * of upstream filters, or NULL. The authentication verdict for a reply to ENVELOPE_FROM, or
 * NULL when it passes; *FORGED_R (may be NULL) tells an explicit failure, which even
 * allow_senders does not pass. */
gboolean policy_sender_listed(char *const *list, const char *address);
char *policy_spam_verdict(const struct config *cfg, const struct mime_message *msg);
char *policy_auth_verdict(const struct config *cfg, const char *envelope_from,
                          const struct mime_message *msg, gboolean *forged_r);

#endif
