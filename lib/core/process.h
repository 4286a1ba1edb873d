/*
 * process: take one claimed message from the queue to its end, as one straight line.
 *
 * process_row(): load the context in one read (context.h) -> parse (mime.h) -> decide: the
 * RFC 3834 and policy rules (policy.h), the sender's history, whether to classify, the action
 * (decide.h, pure) -> classify if needed (llm.h; a stored classification is reused, LLM
 * failures are retried with back-off and after llm.max_attempts the builtin classifier
 * decides) -> act (action.h: every way mail leaves) -> record. Each step returns its outcome
 * and one place turns it into the queue transition: done, deferred with its reason, failed
 * with its reason, held for a person, or released (shutdown); a message is never dropped.
 * Before anything else it settles what an earlier, interrupted attempt left pending (action.h):
 * a mail whose outcome is unknown holds the message, naming the mail. Every write about the
 * message checks the claim's lease first (queue_lease_begin()), the audit trail's events aside
 * (a worker that lost its lease says so there too), and the lease is renewed while the worker
 * works (lease.h: the caller's keeper, or one of its own for the message when the caller has
 * none); a worker whose lease was lost stops at once, sends nothing more, leaves the message to
 * whoever has it and says so (status lost). Then the one summary line (summary.h).
 * process_try() runs the same decision for one file without a queue and without sending
 * (mailtriaged -t).
 */
#ifndef MAILTRIAGE_PROCESS_H
#define MAILTRIAGE_PROCESS_H

#include <glib.h>
#include <sqlite3.h>

#include "config.h"
#include "lease.h"
#include "llm.h"
#include "queue.h"

struct process_context {
    struct config *cfg;
    sqlite3 *db;
    struct llm_client *llm;
    const char *owner;           /* the claimer's name, as queue_claim() was given it */
    const volatile gint *stop;   /* non-zero: release rather than start slow work */
    struct lease_keeper *leases; /* renews the claim's lease; NULL: process_row() runs one */
};

enum process_result {
    PROCESS_DONE,
    PROCESS_DEFERRED,
    PROCESS_FAILED,
    PROCESS_RELEASED,
    PROCESS_STUCK, /* the database refused the final update; the lease will expire */
    PROCESS_HELD,  /* a person must decide: a mail of it has an unknown outcome */
    PROCESS_LOST   /* the lease was lost: someone else has the message; this worker stopped */
};

enum process_result process_row(struct process_context *ctx, const struct queue_row *row);

/* Parse, policy, classification and chosen action for RAW as if it came to MAILBOX from
 * ENVELOPE_FROM; the report, with the reply that would be sent, goes to OUT. */
int process_try(struct config *cfg, struct llm_client *llm, const char *raw, size_t len,
                const char *mailbox, const char *envelope_from, GString *out,
                char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
