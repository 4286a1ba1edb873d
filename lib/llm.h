/*
 * llm: classify a message into one intent of its mailbox's closed list.
 *
 * Two providers sit behind llm_classify(), chosen by [llm] provider: `openai` (any
 * OpenAI-compatible /v1/chat/completions server, llm_openai.c) and `builtin` (keywords,
 * llm_builtin.c), which also serves as the fallback. An answer always yields a classification:
 * an unusable one (bad JSON, no intent or one outside the list, low confidence, refusal,
 * truncation) is recorded as `unknown` with valid = FALSE and the reason. Only the intent must
 * be there: a missing or non-numeric confidence counts as min_confidence, a missing summary or
 * reply as empty, and the classification stays valid with a note of each in `error`. A
 * request that fails (network, timeout, HTTP error, oversized response) returns LLM_FAILED
 * with the reason and any Retry-After, so that the caller can retry later. At most
 * llm_limit_set() requests run at once in the process. A client is one thread's: it keeps its
 * connection alive between requests.
 */
#ifndef MAILTRIAGE_LLM_H
#define MAILTRIAGE_LLM_H

#include <glib.h>

#include "config.h"
#include "mime.h"

struct classification {
    char *provider;
    char *model;
    char *intent;
    double confidence;
    char *summary;
    char *reply;
    gboolean valid;
    char *error;
    gint64 latency_ms;
    gint64 prompt_tokens;
    gint64 completion_tokens;
    char *raw_answer;
};

struct llm_request {
    const struct config *cfg;
    const struct config_mailbox *mailbox;
    const struct mime_message *msg;
};

struct llm_failure {
    char *reason;
    gint64 retry_after; /* seconds, 0 when the server named none */
};

enum llm_status { LLM_ANSWERED = 0, LLM_FAILED = -1 };

struct llm_client;

/* Once per process, before threads start. */
void llm_global_init(void);
void llm_global_cleanup(void);
void llm_limit_set(unsigned max_concurrency);

/* STOP, when not NULL, is polled during requests: a non-zero value aborts them. */
struct llm_client *llm_client_new(const volatile gint *stop);
void llm_client_free(struct llm_client *client);

/* Classify with the configured provider. */
int llm_classify(struct llm_client *client, const struct llm_request *request,
                 struct classification **result_r,
                 struct llm_failure *failure_r) G_GNUC_WARN_UNUSED_RESULT;
/* Classify with the keyword rules; never fails. */
struct classification *llm_builtin_classify(const struct llm_request *request);

void classification_free(struct classification *classification);
void llm_failure_clear(struct llm_failure *failure);

/* For the providers: is INTENT in MAILBOX's list? */
gboolean llm_intent_allowed(const struct config_mailbox *mailbox, const char *intent);

#endif
