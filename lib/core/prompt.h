/*
 * prompt: what the classifier is told about one message, built once for every provider.
 *
 * prompt_build() turns a request into: the system instructions (the mailbox's persona, its
 * closed intent list with each intent's description, the answer's JSON schema in words, the
 * rule that the message is untrusted data); the messages, oldest first, of which the new
 * message is the last, delimited between <<<MESSAGE and MESSAGE>>> so that its text cannot
 * close or reopen the block, its body cut to [llm] max_input_chars, the text of its small text
 * attachments after it within the same budget, marked as theirs (disclose.h); and the answer's
 * JSON schema (intent from the mailbox's list in its order, confidence, summary, reply; all
 * required, nothing else). With [llm] redact = pii every part of the message (From, subject,
 * text, attachments' names and text) goes through one map of placeholders, kept as pii: the
 * step that sends what the model wrote asks pii_reply_is_safe() of it and pii_restore()s it
 * (pii.h). A provider only puts these into its own wire format.
 */
#ifndef MAILTRIAGE_PROMPT_H
#define MAILTRIAGE_PROMPT_H

#include <glib.h>
#include <json-c/json.h>

#include "llm_provider.h"
#include "pii.h"

/* Who speaks a message; prompt_role_name() gives the chat-completion word ("user"). */
enum prompt_role { PROMPT_ROLE_USER };

struct prompt_message {
    enum prompt_role role;
    char *content;
};

struct prompt {
    char *system;
    GPtrArray *messages; /* of struct prompt_message *; the new message last */
    json_object *schema; /* owned: json_object_get() it to keep it beyond prompt_free() */
    struct pii_map *pii; /* [llm] redact = pii: what the placeholders stand for; else NULL */
};

struct prompt *prompt_build(const struct llm_request *request);
void prompt_free(struct prompt *prompt);
const char *prompt_role_name(enum prompt_role role);

#endif
