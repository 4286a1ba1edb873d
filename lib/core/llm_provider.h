/*
 * llm_provider: what a provider is given, returns and offers to llm.c.
 *
 * A provider is one row of llm.c's table, found by the name [llm] provider gives it. It may
 * keep state (state_new, state_free; both NULL when it needs none; llm.c lends a state to one
 * request at a time) and classifies one request: LLM_ANSWERED with a classification (which
 * may be an unusable answer recorded as `unknown`), or LLM_FAILED when no answer came, with
 * the reason, the kind of failure (which decides what becomes of the message and of the
 * endpoint's state), the HTTP status and any Retry-After. A provider that writes text also
 * answers the second request, for the reply (struct llm_reply), and writes the first message
 * of a conversation the site starts (struct llm_compose_request), failing the same ways. A
 * provider whose requests leave the process (`remote`) runs within the limit of
 * llm_limit_set() and behind the circuit breaker and the budget (llm.h). Providers include
 * this header, never llm.h: llm.c calls them, they do not call back.
 */
#ifndef MAILTRIAGE_LLM_PROVIDER_H
#define MAILTRIAGE_LLM_PROVIDER_H

#include <glib.h>

#include "classification.h"
#include "config.h"
#include "conversation.h"
#include "knowledge.h"
#include "mime.h"

/* What the model is told about one message (prompt.h): the new message, and what comes before
 * it, each NULL when there is none. */
struct llm_request {
    const struct config *cfg;
    const struct config_mailbox *mailbox;
    const struct mime_message *msg;
    const GPtrArray *history; /* of struct conversation_entry *, oldest first (without msg) */
    const char *instructions; /* the site's staff's for the conversation */
    /* The sources chosen for the message (knowledge_select()); NULL when the mailbox has no
     * knowledge: the model then answers from the persona alone. */
    const struct knowledge_selection *knowledge;
};

/* Why no answer came; each kind has one fate (process.c). */
enum llm_failure_kind {
    /* It may answer next time: connection, DNS, timeout, HTTP 408, 425, 429, 5xx. The message
     * retries with back-off; after [llm] max_attempts the builtin classifier decides. */
    LLM_FAILURE_TRANSIENT,
    /* It refuses us until the configuration changes: HTTP 401, 403, 404 and the other 4xx, a
     * redirect, a TLS or URL error. The message waits, its attempts not counted. */
    LLM_FAILURE_CONFIG,
    /* The server refused this one request (HTTP 400, 413, 422: too long for the model, a
     * schema it does not take): the same request would get the same answer, so the builtin
     * classifier decides at once. */
    LLM_FAILURE_REJECTED,
    LLM_FAILURE_CANCELLED,   /* shutting down: the message goes back to the queue */
    LLM_FAILURE_OVER_BUDGET, /* no request: a limit of budget.h is reached ([llm] over_budget) */
    LLM_FAILURE_LOCAL        /* no request: the database could not count it; retry later */
};

struct llm_failure {
    char *reason;
    gint64 retry_after; /* seconds before asking again, 0 when nothing says */
    enum llm_failure_kind kind;
    gboolean requested; /* a request went out; FALSE when the breaker or the budget kept it */
    long http_status;   /* 0 when there was none */
};

enum llm_status { LLM_ANSWERED = 0, LLM_FAILED = -1 };

/* The answer to the second request, the reply text: "" with the reason in error when the
 * answer had no usable text (not JSON, no "reply", a refusal, cut at max_tokens). With
 * knowledge, the sources it names (classification.h); hold says why it may not go without a
 * person (PII), NULL when nothing does. */
struct llm_reply {
    char *text;
    char *error;
    GPtrArray *sources;
    char *hold;
    gint64 latency_ms;
    gint64 prompt_tokens;
    gint64 completion_tokens;
};

/* What the model is asked to write for `mailtriagectl compose`: the first message of a
 * conversation the site starts (prompt_build_compose()). */
struct knowledge_selection;
struct llm_compose_request {
    const struct config *cfg;
    const struct config_mailbox *mailbox;
    const char *recipient;    /* the address it goes to */
    const char *instructions; /* the site's, trusted: what the message is to say */
    const char *subject;      /* the site's subject, or NULL: the model proposes one */
    const struct knowledge_selection *knowledge; /* the numbered sources; NULL: none */
};

/* The answer to a compose request, checked (llm_answer_parse_compose()): subject and body
 * set, or error saying why the answer cannot be sent (then nothing is). */
struct llm_composed {
    char *subject;    /* one clean line, bounded */
    char *body;       /* plain text, non-empty */
    GArray *sources;  /* of int: the source numbers the body cites, each given, each once */
    char *error;      /* NULL when usable */
    char *raw_answer; /* the model's text, cut, for the audit */
    gint64 latency_ms;
    gint64 prompt_tokens;
    gint64 completion_tokens;
};
void llm_composed_clear(struct llm_composed *composed);

struct llm_provider {
    const char *name; /* as [llm] provider spells it */
    gboolean remote;
    void *(*state_new)(void);
    void (*state_free)(void *state);
    /* STOP, when not NULL, is polled during the request: a non-zero value aborts it. */
    int (*classify)(void *state, const volatile gint *stop, const struct llm_request *request,
                    struct classification **result_r, struct llm_failure *failure_r);
    /* The reply text for REQUEST, which the model classified as CLASSIFICATION: LLM_ANSWERED
     * with *REPLY_R filled in, or LLM_FAILED as classify. NULL for a provider that writes no
     * text (builtin). */
    int (*reply)(void *state, const volatile gint *stop, const struct llm_request *request,
                 const struct classification *classification, struct llm_reply *reply_r,
                 struct llm_failure *failure_r);
    /* The first message for REQUEST: LLM_ANSWERED with *COMPOSED_R filled in (its error set
     * when the answer is unusable), or LLM_FAILED as classify. NULL for a provider that
     * writes no text (builtin). */
    int (*compose)(void *state, const volatile gint *stop,
                   const struct llm_compose_request *request, struct llm_composed *composed_r,
                   struct llm_failure *failure_r);
};

#endif
