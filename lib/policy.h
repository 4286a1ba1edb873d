/*
 * policy: may an automatic reply go to this sender at all? Cheap, deterministic, no tokens.
 *
 * policy_reply_refusal() applies the rules that need only the message and the configuration
 * (RFC 3834 and field practice, REFERENCE.md section 1, items 1 to 9): unknown or null
 * envelope sender, role and no-reply senders (SRS unwrapped), Auto-Submitted other than "no",
 * mailing-list headers, (X-)Precedence bulk/junk/list/auto_reply, X-Auto-Response-Suppress,
 * vendor markers of automatic mail, delivery and disposition reports, our own loop marker,
 * and a sender that is one of our own addresses. It returns NULL when a reply may
 * go, else the reason, which is recorded on the message. Rules that need the database (the
 * reply interval) are applied by process.c.
 */
#ifndef MAILTRIAGE_POLICY_H
#define MAILTRIAGE_POLICY_H

#include <glib.h>

#include "config.h"
#include "mime.h"

/* The header we add to everything we send; its presence on inbound mail stops any reply. */
#define POLICY_LOOP_HEADER "X-Mailtriage-Loop"

char *policy_reply_refusal(const struct config *cfg, const char *envelope_from,
                           const struct mime_message *msg);

#endif
