/*
 * compose: build the messages mailtriage sends, with GMime.
 *
 * compose_reply() builds an automatic reply (RFC 3834 section 3 and REFERENCE.md section 2):
 * From the mailbox, To the one recipient given, "Re: " added once to the original subject,
 * In-Reply-To and References, Auto-Submitted: auto-replied, the loop marker, a fresh
 * Message-ID and Date. Its body is multipart/alternative: text/plain rendered from the intent's
 * text template, then text/html rendered from its HTML template with every value escaped and
 * the reply, signature and disclaimer in paragraphs; both UTF-8 in a 7-bit transfer encoding.
 * compose_escalation() builds the mail to a human: the classification on top, the sender in
 * Reply-To, Auto-Submitted: auto-generated, the original attached as message/rfc822 byte for
 * byte as received (NUL bytes and broken MIME included), and for a draft the proposed reply,
 * indented. Untrusted text reaches headers only through GMime's encoders, with CR and LF
 * removed; what the model wrote is cleaned like parsed mail and can never start a line of
 * ours; the model never chooses a recipient or a header.
 * compose_first() builds the first message of a conversation the site starts (mailtriagectl
 * compose): From the mailbox, To the one recipient given, the subject as it is (no prefix),
 * no In-Reply-To, the loop marker, a fresh Message-ID and Date, and Auto-Submitted:
 * auto-generated: a person asked for it, so it answers nothing and is no auto-reply (RFC 3834
 * section 5), but a machine wrote it, and the header keeps the recipient's vacation responder
 * from answering it. Its body is text/plain: the model's text (cleaned as replies are), then
 * the mailbox's signature and disclaimer. It goes with the mailbox as envelope sender, so that
 * bounces come back to it (action.h).
 */
#ifndef MAILTRIAGE_COMPOSE_H
#define MAILTRIAGE_COMPOSE_H

#include <glib.h>

#include "classification.h"
#include "config.h"
#include "mime.h"

struct compose_reply {
    const struct config *cfg;
    const struct config_mailbox *mailbox;
    const struct config_intent *intent;
    const struct mime_message *original;
    const char *recipient;
    const struct classification *classification;
};

struct compose_escalation {
    const struct config *cfg;
    const struct config_mailbox *mailbox;
    const struct mime_message *original;
    gint64 queue_id;
    const char *envelope_from;                   /* NULL unknown, "" null sender */
    const struct classification *classification; /* NULL when policy stopped the message */
    const char *reason;                          /* why it reaches a human */
    const char *draft;                           /* the proposed reply, for drafts; else NULL */
};

struct compose_first {
    const struct config *cfg;
    const struct config_mailbox *mailbox;
    const char *recipient;
    const char *subject; /* one line, checked (llm_answer.h) */
    const char *body;    /* the model's text */
};

/* The text part of a reply, or the text of a draft: the intent's text template rendered, with
 * the blank lines left by empty values tidied away. */
char *compose_reply_text(const struct compose_reply *in);

/* Each returns the message as text and its Message-ID (without angle brackets). An escalation
 * may hold NUL bytes (its attachment is the original as received): *LEN_R is its length. */
char *compose_reply(const struct compose_reply *in, char **message_id_r);
char *compose_escalation(const struct compose_escalation *in, char **message_id_r, size_t *len_r);
char *compose_first(const struct compose_first *in, char **message_id_r);

#endif
