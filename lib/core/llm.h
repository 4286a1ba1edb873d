/*
 * llm: classify a message into one intent of its mailbox's closed list.
 *
 * llm_classify() looks [llm] provider up by name in a table of providers (llm_provider.h):
 * `openai` (any OpenAI-compatible server, llm_openai.c) or `builtin` (keywords, llm_builtin.c,
 * also the fallback). The prompt is built once for every provider (prompt.c) and a model's
 * text answer is checked once (llm_answer.c): an unusable answer is still a classification,
 * `unknown` with valid = FALSE and the reason. A request that fails returns LLM_FAILED with
 * the reason, its kind (llm_provider.h) and any Retry-After. At most llm_limit_set() remote
 * requests run at once in the process. A client is one thread's: it keeps its connection
 * alive between requests.
 *
 * Remote requests go through the process's circuit breaker (breaker.h), shared by every
 * client: while the endpoint is shut (failing, or misconfigured) no request goes and
 * LLM_FAILED says so (requested FALSE) with when to ask again; each change of the endpoint's
 * state is logged once, loudly when it shuts. With a meter, the request is also counted
 * against [llm] daily_token_budget and max_requests_per_minute (budget.h: over them, no
 * request, LLM_FAILURE_OVER_BUDGET) and the endpoint's state is kept in the database for
 * `mailtriagectl health` (health.h), where a process that starts also finds it.
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

/* STOP, when not NULL, is polled during requests: a non-zero value aborts them. */
struct llm_client *llm_client_new(const volatile gint *stop);
void llm_client_free(struct llm_client *client);

/* Classify with the configured provider; METER may be NULL (mailtriaged -t: no budget, no
 * record). */
int llm_classify(struct llm_client *client, const struct llm_request *request,
                 const struct llm_meter *meter, struct classification **result_r,
                 struct llm_failure *failure_r) G_GNUC_WARN_UNUSED_RESULT;

void llm_failure_clear(struct llm_failure *failure);

/* The provider called NAME; -1 with the reason for a name no row has. */
int llm_provider_find(const char *name, const struct llm_provider **provider_r,
                      char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
