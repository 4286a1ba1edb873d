/*
 * prompt: what the model is told about one message, built once for every provider.
 *
 * A message costs the model at most two requests: the classification, and then, only when the
 * decision sends the model's text, the reply. prompt_build() makes the first: the system
 * instructions, the same for every message of a mailbox so that a server's prefix cache keeps them
 * (the persona, the mailbox, its closed intent list with each intent's description, both steps'
 * answers in words, the rule that the messages are untrusted data and, for a mailbox with
 * knowledge, the rule to answer only from the numbered sources and name them); the messages: the
 * staff's instructions for the conversation when it has some (a user message that says they are
 * the site's), the conversation's history oldest first (the correspondent's entries as user, ours
 * and the staff's as assistant), the sources of knowledge.h when the mailbox has knowledge ("[N]
 * heading (file)" and the text between <<<SOURCES and SOURCES>>>, or a note that none matched),
 * and last the new message. Every mail text is delimited between <<<MESSAGE and MESSAGE>>> so that
 * it cannot close or reopen either block, the new message's body cut to [llm] max_input_chars; and
 * the schema of the answer (intent from the mailbox's list in its order, confidence, summary; all
 * required, nothing else). prompt_build_reply() makes the second: the same system text and
 * messages, so that the first request is a prefix of it, then the classification the model gave as
 * an assistant message and a user message asking for the reply, and the schema {"reply"}, or
 * {"reply", "sources": array of integers} with knowledge. The new message's body is followed by
 * the text of its small text attachments within the same budget, marked as theirs (disclose.h).
 * With [llm] redact = pii every part of the message (From, subject, text, attachments' names and
 * text) and of its history goes through one map of placeholders, kept as pii: the step that sends
 * what the model wrote asks pii_reply_is_safe() of it and pii_restore()s it (pii.h).
 * prompt_build_compose() asks for a first message that no one wrote to us about (below). A
 * provider only puts these into its own wire format.
 */
#ifndef MAILTRIAGE_PROMPT_H
#define MAILTRIAGE_PROMPT_H

#include <glib.h>
#include <json-c/json.h>

#include "classification.h"
#include "llm_provider.h"
#include "pii.h"

/* Who speaks a message; prompt_role_name() gives the chat-completion word ("user"). */
enum prompt_role { PROMPT_ROLE_USER, PROMPT_ROLE_ASSISTANT };

struct prompt_message {
    enum prompt_role role;
    char *content;
};

struct prompt {
    char *system;
    GPtrArray *messages;     /* of struct prompt_message *; the new message last */
    json_object *schema;     /* owned: json_object_get() it to keep it beyond prompt_free() */
    const char *schema_name; /* the schema's name for json_schema structured output */
    struct pii_map *pii;     /* [llm] redact = pii: what the placeholders stand for; else NULL */
};

struct prompt *prompt_build(const struct llm_request *request);
/* CLASSIFICATION is the model's answer to prompt_build()'s request: its raw answer is what
 * the model said (without any <think> block), or, when it is not kept, the classification's
 * own values as the JSON object the model was asked for. */
struct prompt *prompt_build_reply(const struct llm_request *request,
                                  const struct classification *classification);
/* The request for the first message of a conversation the site starts (mailtriagectl
 * compose): the system text holds the persona, the mailbox, the language, the rules and the
 * staff's instructions (the site's own words, trusted, cut to max_input_chars); the one user
 * message holds the recipient, the subject the staff gave (if any) and the numbered sources
 * (knowledge.h's contract), delimited as data; the schema is {"subject", "body", "sources"},
 * sources a list of integers. */
struct prompt *prompt_build_compose(const struct llm_compose_request *request);
void prompt_free(struct prompt *prompt);
const char *prompt_role_name(enum prompt_role role);

#endif
