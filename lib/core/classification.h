/*
 * classification: what a classifier concluded about one message, the one type that the
 * providers produce, the store saves and loads, and the decision, compose and webhook read.
 *
 * All strings are owned (g_free); classification_free() takes NULL. An unusable answer is
 * still a classification: intent `unknown`, valid = FALSE and the reason in `error`.
 * classification_intent_allowed() says whether a name is in a mailbox's closed intent list,
 * the check every provider's answer must pass (small models stray outside enums). The sources a
 * reply names are kept as the JSON array the store and the CLI show:
 * [{"number": 2, "path": "/kb/prices.md", "heading": "Prices > Pro plan"}, ...], path and
 * heading null for a number the prompt did not give; classification_sources_json() and
 * classification_sources_parse() convert (the latter drops what is not such an entry).
 */
#ifndef MAILTRIAGE_CLASSIFICATION_H
#define MAILTRIAGE_CLASSIFICATION_H

#include <glib.h>

struct config_mailbox;

/* A source a reply names: the number the model gave and, when the prompt gave that number, the
 * file and heading it stands for (path NULL: it was not given). */
struct classification_source {
    gint64 number;
    char *path;
    char *heading;
};

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
    /* Grounding (knowledge.h): the sources the reply names, in the order named, without
     * duplicates; NULL when no sources were asked for (the mailbox has no knowledge), empty when
     * it names none. */
    GPtrArray *reply_sources; /* of struct classification_source * */
    /* Why the reply may not go without a person ([llm] redact = pii: pii_reply_is_safe()), NULL
     * when nothing says so. */
    char *reply_hold;
};

void classification_free(struct classification *classification);

/* Is INTENT in MAILBOX's list? */
gboolean classification_intent_allowed(const struct config_mailbox *mailbox, const char *intent);

/* An empty array of struct classification_source *, which frees them. */
GPtrArray *classification_sources_new(void);
/* SOURCES as JSON text (with GIVEN_ONLY, only the entries the prompt gave); NULL for NULL. */
char *classification_sources_json(const GPtrArray *sources, gboolean given_only);
/* The array JSON holds (NULL for NULL or text that is not an array). */
GPtrArray *classification_sources_parse(const char *json);

#endif
