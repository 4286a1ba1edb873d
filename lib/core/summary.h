/*
 * summary: the one log line per message, as Postfix logs a delivery.
 *
 *   QUEUEID: id=N from=<sender> mailbox=<addr> intent=NAME confidence=0.93 action=reply
 *   to=<rcpt> msgid=<id> status=sent delay=1.2 llm=0.8 send=0.1 reason="..."
 *
 * The MTA's queue id leads where there is one (else ours); every address goes through
 * log_addr() (masking), <> is the null sender, - a field that does not apply; delays are
 * seconds with one or two decimals; status is sent, skipped, shadow (mode shadow: composed and
 * recorded, not sent), deferred, failed, held or lost; the reason is cleaned (valid UTF-8, no
 * control characters, no double quotes) and capped.
 */
#ifndef MAILTRIAGE_SUMMARY_H
#define MAILTRIAGE_SUMMARY_H

#include <glib.h>

#include "log.h"

struct summary {
    const char *mta_queue_id; /* NULL when none */
    gint64 id;
    const char *envelope_from; /* NULL unknown, "" null sender */
    const char *mailbox;
    const char *intent;     /* NULL: not classified */
    double confidence;      /* with intent */
    const char *action;     /* NULL: none decided */
    const char *recipient;  /* NULL: nothing sent */
    const char *message_id; /* without angle brackets, NULL: none */
    const char *status;     /* sent skipped shadow deferred failed held lost */
    gint64 delay_us;        /* since the message was received */
    gint64 llm_us, send_us; /* -1: none in this attempt */
    const char *reason;     /* NULL: none */
};

/* The line, without the queue id (log_msg_mta() puts it first). */
char *summary_format(const struct summary *summary);
/* Log it at LEVEL. */
void summary_log(enum log_level level, const struct summary *summary);

#endif
