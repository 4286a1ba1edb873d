/*
 * llm_provider: what a classifier provider is given, returns and offers to llm.c.
 *
 * A provider is one row of llm.c's table, found by the name [llm] provider gives it. It may
 * keep per-client state (state_new once per llm_client, state_free with it; both NULL when it
 * needs none) and classifies one request: LLM_ANSWERED with a classification (which may be
 * an unusable answer recorded as `unknown`), or LLM_FAILED with the reason and any
 * Retry-After when no answer came. A provider whose requests leave the process (`remote`)
 * runs within the limit of llm_limit_set(). Providers include this header, never llm.h:
 * llm.c calls them, they do not call back.
 */
#ifndef MAILTRIAGE_LLM_PROVIDER_H
#define MAILTRIAGE_LLM_PROVIDER_H

#include <glib.h>

#include "classification.h"
#include "config.h"
#include "mime.h"

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

struct llm_provider {
    const char *name; /* as [llm] provider spells it */
    gboolean remote;
    void *(*state_new)(void);
    void (*state_free)(void *state);
    /* STOP, when not NULL, is polled during the request: a non-zero value aborts it. */
    int (*classify)(void *state, const volatile gint *stop, const struct llm_request *request,
                    struct classification **result_r, struct llm_failure *failure_r);
};

#endif
