/*
 * disclose: what of a message leaves the site for the model, and in what form.
 *
 * disclose_text() is one part of a message as the prompt may carry it: as written, or, with a
 * map ([llm] redact = pii), with its mail addresses, phone numbers, IBANs and card numbers
 * replaced by placeholders (pii.h); the prompt keeps one map for all its parts, so that an
 * address is one placeholder in the From line, the subject, the text and the attachments, and
 * the reply the model writes can be restored. disclose_attachment_text() says which texts of
 * attachments go: those of text/plain, text/csv and text/markdown attachments that mime.c
 * extracted (under 8 KiB, decoded, valid UTF-8); of any other attachment only its name, type
 * and size leave. disclose_append_attachments() appends those texts, each between marker lines
 * that name it as an attachment's text, within a budget of characters.
 */
#ifndef MAILTRIAGE_DISCLOSE_H
#define MAILTRIAGE_DISCLOSE_H

#include <stddef.h>

#include <glib.h>

#include "mime.h"
#include "pii.h"

/* TEXT (NULL counts as "") redacted with PII, or copied when PII is NULL. */
char *disclose_text(struct pii_map *pii, const char *text);
gboolean disclose_attachment_text(const struct mime_attachment *attachment);
/* Append to OUT the texts of MSG's attachments that may go, redacted with PII (NULL: as they
 * are), at most BUDGET characters of them in all; a text cut short says so. */
void disclose_append_attachments(GString *out, const struct mime_message *msg, size_t budget,
                                 struct pii_map *pii);

#endif
