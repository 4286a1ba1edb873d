/*
 * store_compose: the records of a first message the site sends (mailtriagectl compose).
 *
 * store_compose_record() writes, in one transaction, what the mail is before anything is sent:
 * a row of messages with intake 'compose' and state done (no worker takes it; the envelope is
 * the mailbox and the recipient, raw the mail as sendmail gets it), the conversation it opens
 * (the mailbox, the recipient as counterpart, the subject, the staff's instructions, which the
 * workers add to the prompt of its later replies) linked to it, an event of each, and by kind:
 * the reply action pending with the Message-ID fixed (the intent), a pending draft for
 * `mailtriagectl draft approve`, or, for mode shadow, a shadow action (nothing is sent, and no
 * conversation is opened: nobody will answer a mail that never left).
 * store_compose_start() marks the action started, with an error that stays if no outcome is
 * ever recorded (the command was killed while sendmail ran: the mail may have gone out, look
 * for its Message-ID in the mail log; it is never sent again). store_compose_finish() records
 * the outcome and, when it was sent, the conversation's first entry (role assistant, with the
 * Message-ID and the sources used), in one transaction. DB_OK, DB_BUSY or DB_ERROR.
 */
#ifndef MAILTRIAGE_STORE_COMPOSE_H
#define MAILTRIAGE_STORE_COMPOSE_H

#include <stddef.h>

#include <glib.h>
#include <sqlite3.h>

enum store_compose_kind { STORE_COMPOSE_SEND, STORE_COMPOSE_DRAFT, STORE_COMPOSE_SHADOW };

struct store_compose {
    enum store_compose_kind kind;
    const char *mailbox;
    const char *recipient;
    const char *subject;
    const char *message_id; /* ours, without angle brackets */
    const char *mail;       /* the whole message, as sendmail gets it */
    size_t len;
    const char *instructions;
    const char *reason; /* of the action: who composed it */
    const char *event;  /* the line for the message's and the conversation's audit trail */
};

/* What store_compose_record() wrote; 0 for what it did not. */
struct store_compose_ids {
    gint64 message;
    gint64 conversation;
    gint64 action;
    gint64 draft;
};

int store_compose_record(sqlite3 *db, const struct store_compose *compose,
                         struct store_compose_ids *ids_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Action ACTION starts now; UNKNOWN is its error until the outcome replaces it. */
int store_compose_start(sqlite3 *db, gint64 action, const char *unknown,
                        char **error_r) G_GNUC_WARN_UNUSED_RESULT;

struct store_compose_outcome {
    const struct store_compose_ids *ids;
    gboolean sent;
    int exit_status;     /* sendmail's, -1 when it did not run */
    const char *failure; /* sendmail's words when not sent */
    const char *author;  /* the mailbox */
    const char *message_id;
    const char *text;    /* the entry's text: what the recipient reads */
    const char *sources; /* a JSON array of the source numbers used */
    const char *event;
};
int store_compose_finish(sqlite3 *db, const struct store_compose_outcome *outcome,
                         char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
