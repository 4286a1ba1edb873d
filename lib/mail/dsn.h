/*
 * dsn: reading a delivery report for one of our own messages.
 *
 * dsn_read() looks at a raw message that the policy found automatic and tells whether it
 * reports a permanent failure (a "Status: 5.x.x" field, RFC 3464) and which of our own
 * Message-IDs ("....mailtriage@HOST", at most DSN_MAX_IDS) it quotes, with the
 * Diagnostic-Code. It is pure and bounded: it never reads past LEN and caps every field. The
 * caller records the bounces (store_bounce_add) of the replies those Message-IDs name.
 */
#ifndef MAILTRIAGE_DSN_H
#define MAILTRIAGE_DSN_H

#include <stddef.h>

#include <glib.h>

/* As many as markers_find_message_ids() finds. */
#define DSN_MAX_IDS 20

struct dsn_report {
    char *status;           /* "5.1.1" */
    char *diagnostic;       /* NULL when none */
    GPtrArray *message_ids; /* of char *: our Message-IDs quoted in it, without angle brackets */
};

/* TRUE, with *REPORT_R filled, when RAW is a hard-bounce report; FALSE otherwise. */
gboolean dsn_read(const char *raw, size_t len, struct dsn_report *report_r);
void dsn_report_clear(struct dsn_report *report);

#endif
