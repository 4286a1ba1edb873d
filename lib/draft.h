/*
 * draft: replies that wait for a person's approval.
 *
 * draft_add() stores a proposed reply (the whole message, ready for sendmail) as pending, at
 * most one live draft per message.
 * draft_approve() sends it exactly once: the state moves pending -> sending in one BEGIN
 * IMMEDIATE transaction, so two approvals cannot both send; then sendmail decides sent
 * (and a sent reply action is recorded on the message), pending again (75, try later) or
 * failed. A draft left in sending (the approving process died while sendmail ran) may have
 * gone out, so nothing sends it again. draft_reject() moves a pending draft to rejected with a
 * reason. Every approval that ran sendmail and every rejection is an event of the message and
 * an audit line in the log (log_audit(): syslog too) naming the draft, the operator and the
 * outcome. Functions return DB_OK, DB_BUSY or DB_ERROR (with a reason for an operator: no such
 * draft, not pending...) unless they say otherwise.
 */
#ifndef MAILTRIAGE_DRAFT_H
#define MAILTRIAGE_DRAFT_H

#include <glib.h>
#include <sqlite3.h>

#include "config.h"

enum draft_state { DRAFT_PENDING, DRAFT_SENDING, DRAFT_SENT, DRAFT_REJECTED, DRAFT_FAILED };

/* What draft_approve() returns beyond DB_OK (sent), DB_BUSY and DB_ERROR. */
enum draft_approve_status {
    /* sendmail said try later (or could not be run); the draft is pending again. */
    DRAFT_TRY_LATER = -3
};

/* A draft with what the operator needs to judge it. */
struct draft {
    gint64 id;
    gint64 message;
    enum draft_state state;
    char *mailbox;       /* of the message */
    char *envelope_from; /* of the message: NULL unknown, "" the null sender */
    char *subject;       /* of the message, NULL when it had none */
    char *recipient;
    char *outgoing_message_id; /* without angle brackets */
    char *text;                /* the whole reply; NULL in draft_list() results */
    gint64 created_at;
    gint64 decided_at; /* 0 until approved (sent or failed) or rejected */
    char *decided_by;
    char *reason;        /* why it was rejected */
    int sendmail_status; /* -1 when sendmail has not run */
    char *error;         /* the last failure: sendmail's words */
};

const char *draft_state_name(enum draft_state state);
void draft_free(struct draft *draft);

/* Store TEXT, the reply to MESSAGE addressed to RECIPIENT with our MESSAGE_ID (without angle
 * brackets, as compose_reply() gives it), as pending; *ID_R is its id. A message has one live
 * draft: when it already has one pending, sending or sent (the message was retried), nothing
 * is stored and *ID_R is that one; after a rejected or failed one, a new draft is stored. */
int draft_add(sqlite3 *db, gint64 message, const char *recipient, const char *message_id,
              const char *text, gint64 *id_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The drafts waiting for a decision or an outcome (pending, sending), or with ALL every draft,
 * newest first, as struct draft * (without text) in *DRAFTS_R, which frees them. */
int draft_list(sqlite3 *db, gboolean all, GPtrArray **drafts_r,
               char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* 1 and *DRAFT_R when draft ID exists, 0 when not, or DB_BUSY/DB_ERROR. */
int draft_get(sqlite3 *db, gint64 id, struct draft **draft_r,
              char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Send pending draft ID through cfg's sendmail with the null envelope sender, as WHO decided.
 * DB_OK: sent. DRAFT_TRY_LATER: pending again, *ERROR_R says why. DB_BUSY: the database stayed
 * locked and nothing changed. DB_ERROR: no such draft, not pending, sendmail failed (the
 * draft is failed), or the outcome could not be recorded (the draft stays in sending). */
int draft_approve(sqlite3 *db, const struct config *cfg, gint64 id, const char *who,
                  char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Pending draft ID becomes rejected by WHO for REASON (may be NULL); it is never sent. */
int draft_reject(sqlite3 *db, gint64 id, const char *who, const char *reason,
                 char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
