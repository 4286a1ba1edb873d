/*
 * llm: what the model is asked about a message: its intent, and, for mail that gets it, the
 * reply text.
 *
 * llm_classify() looks [llm] provider up by name in a table of providers (llm_provider.h):
 * `openai` (any OpenAI-compatible server, llm_openai.c) or `builtin` (keywords, llm_builtin.c,
 * also the fallback). The prompt is built once for every provider (prompt.c) and a model's
 * text answer is checked once (llm_answer.c): an unusable answer is still a classification,
 * `unknown` with valid = FALSE and the reason. The classification carries no reply text:
 * llm_write_reply() asks for it in a second request, whose prompt begins with the first's
 * (prompt.h), once the decision knows that the text is used. llm_compose() asks for the first
 * message of a conversation the site starts (mailtriagectl compose). A request that fails returns
 * LLM_FAILED with the reason, its kind (llm_provider.h) and any Retry-After. At most
 * llm_limit_set() remote requests run at once in the process; the workers' clients share the
 * provider's kept-alive connections (one set per request in flight, so at most as many as the
 * limit) and, through http.h, the DNS cache and TLS sessions.
 *
 * Every remote request, the classification and the reply alike, goes through the process's
 * circuit breaker (breaker.h), shared by every client: while the endpoint is shut (failing, or
 * misconfigured) no request goes and LLM_FAILED says so (requested FALSE) with when to ask
 * again; each change of the endpoint's state is logged once, loudly when it shuts. With a
 * meter, the request is also counted, with its tokens, against [llm] daily_token_budget and
 * max_requests_per_minute (budget.h: over them, no request, LLM_FAILURE_OVER_BUDGET) and the
 * endpoint's state is kept in the database for `mailtriagectl health` (health.h), where a
 * process that starts also finds it.
 */
#ifndef MAILTRIAGE_LLM_H
#define MAILTRIAGE_LLM_H

#include <glib.h>

#include "classification.h"
#include "llm_builtin.h"
#include "llm_gate.h"
#include "llm_provider.h"

struct llm_client;

/* Once per process, before threads start. */
void llm_global_init(void);
void llm_global_cleanup(void);
void llm_limit_set(unsigned max_concurrency);

/* STOP, when not NULL, is polled during requests: a non-zero value aborts them. A client is
 * one thread's; the idle connections are freed with the last client. */
struct llm_client *llm_client_new(const volatile gint *stop);
void llm_client_free(struct llm_client *client);

/* Classify with the configured provider; METER may be NULL (mailtriaged -t: no budget, no
 * record). */
int llm_classify(struct llm_client *client, const struct llm_request *request,
                 const struct llm_meter *meter, struct classification **result_r,
                 struct llm_failure *failure_r) G_GNUC_WARN_UNUSED_RESULT;

/* The second request: the reply text for REQUEST, which the model classified as
 * CLASSIFICATION (prompt_build_reply()). LLM_ANSWERED with CLASSIFICATION's reply settled (its
 * text, or "" with the reason in reply_error; a provider that writes no text gives "" at once),
 * and the request's latency and tokens; or LLM_FAILED as llm_classify(). METER as there. */
int llm_write_reply(struct llm_client *client, const struct llm_request *request,
                    struct classification *classification, const struct llm_meter *meter,
                    struct llm_failure *failure_r) G_GNUC_WARN_UNUSED_RESULT;

/* The first message of a conversation the site starts (mailtriagectl compose), through the
 * same gate, breaker and budget as the other requests, its tokens counted: LLM_ANSWERED with
 * *COMPOSED_R (its error set when the answer cannot be sent; free with llm_composed_clear()),
 * or LLM_FAILED as llm_classify(); a provider that writes no text (builtin) fails at once as a
 * configuration error. METER as there (message 0: about no message). */
int llm_compose(struct llm_client *client, const struct llm_compose_request *request,
                const struct llm_meter *meter, struct llm_composed *composed_r,
                struct llm_failure *failure_r) G_GNUC_WARN_UNUSED_RESULT;

void llm_failure_clear(struct llm_failure *failure);

/* The provider called NAME; -1 with the reason for a name no row has. */
int llm_provider_find(const char *name, const struct llm_provider **provider_r,
                      char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
