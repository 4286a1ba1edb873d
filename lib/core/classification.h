/*
 * classification: what a classifier concluded about one message, the one type that the
 * providers produce, the store saves and loads, and the decision, compose and webhook read.
 *
 * All strings are owned (g_free); classification_free() takes NULL. An unusable answer is
 * still a classification: intent `unknown`, valid = FALSE and the reason in `error`.
 * classification_intent_allowed() says whether a name is in a mailbox's closed intent list,
 * the check every provider's answer must pass (small models stray outside enums).
 */
#ifndef MAILTRIAGE_CLASSIFICATION_H
#define MAILTRIAGE_CLASSIFICATION_H

#include <glib.h>

struct config_mailbox;

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
    /* The reply text is a second request's (llm_write_reply()): until it is made, a model's
     * classification has reply_settled FALSE and reply "". Then reply is final: the model's
     * text, or "" with the reason in reply_error. The builtin classifier's is settled at once
     * (it writes no text). */
    gboolean reply_settled;
    char *reply_error;
    gint64 reply_latency_ms;
    gint64 reply_prompt_tokens;
    gint64 reply_completion_tokens;
};

void classification_free(struct classification *classification);

/* Is INTENT in MAILBOX's list? */
gboolean classification_intent_allowed(const struct config_mailbox *mailbox, const char *intent);

#endif
