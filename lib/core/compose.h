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

/* The text part of a reply, or the text of a draft: the intent's text template rendered, with
 * the blank lines left by empty values tidied away. */
char *compose_reply_text(const struct compose_reply *in);

/* Each returns the message as text and its Message-ID (without angle brackets). An escalation
 * may hold NUL bytes (its attachment is the original as received): *LEN_R is its length. */
char *compose_reply(const struct compose_reply *in, char **message_id_r);
char *compose_escalation(const struct compose_escalation *in, char **message_id_r, size_t *len_r);

#endif
