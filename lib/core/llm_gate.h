/*
 * llm_gate: what stands between llm.h and a remote provider, for each request (the
 * classification and the reply alike): the circuit breaker, the budget and the health record.
 *
 * llm_gate_enter() says whether a request may go now: not while the endpoint is shut (one
 * breaker per process, shared by its threads, which takes on the state recorded in the
 * database at a process's first request), nor past a limit of budget.h. A refusal is an
 * llm_failure with requested FALSE, its kind (the endpoint's trouble, or the budget) and when
 * to ask again. llm_gate_leave() gives the outcome of a request that went to the breaker, logs
 * each change of the endpoint's state once (an error when it shuts, an info line when it
 * answers again), makes the failure's kind and Retry-After say what the endpoint's state now
 * implies (a rejection that made it misconfigured waits like a configuration error; nobody
 * comes back before the probe), counts the request and its tokens, and keeps the health record
 * current. A new [llm] url, model or API key (a reload) starts a new breaker.
 */
#ifndef MAILTRIAGE_LLM_GATE_H
#define MAILTRIAGE_LLM_GATE_H

#include <glib.h>
#include <sqlite3.h>

#include "breaker.h"
#include "config.h"
#include "llm_provider.h"

/* Where requests are counted and the endpoint's state kept: the database, and the message the
 * request is about. */
struct llm_meter {
    sqlite3 *db;
    gint64 message;
};

/* A request let through, for llm_gate_leave(). */
struct llm_gate_pass {
    struct breaker *breaker;
    enum breaker_admission admission;
    gint64 ticket; /* its budget row, 0 when none was reserved */
    gint64 started;
};

/* TRUE when a request may go now; FALSE with FAILURE_R set. METER may be NULL (no budget and
 * no record). */
gboolean llm_gate_enter(const struct config *cfg, const struct llm_meter *meter,
                        struct llm_gate_pass *pass_r, struct llm_failure *failure_r);
/* The request of PASS ended with STATUS (LLM_ANSWERED, having spent TOKENS as the server's
 * usage says, or LLM_FAILED with FAILURE, which this may change as said above). */
void llm_gate_leave(const struct config *cfg, const struct llm_meter *meter,
                    const struct llm_gate_pass *pass, int status, gint64 tokens,
                    struct llm_failure *failure);
/* At exit: the breaker's memory. */
void llm_gate_cleanup(void);

#endif
