/*
 * draft: replies that wait for a person's approval, stored.
 *
 * draft_add() stores a proposed reply (the whole message, ready for sendmail) as pending, at
 * most one live draft per message; draft_list() and draft_get() read them back. Sending one is
 * action.h's job (action_approve_draft()), which moves it pending -> sending with
 * draft_begin_sending() in one BEGIN IMMEDIATE transaction, so two approvals cannot both send,
 * and records what sendmail said with draft_finish_sending(). A draft left in sending (the
 * approving process died while sendmail ran) may have gone out, so nothing sends it again: its
 * error, written with the move to sending, already says so and what to check, and so does an
 * event of its message, for `mailtriagectl draft list` and `show`.
 * draft_reject() moves a pending draft to rejected with a reason. Functions return DB_OK,
 * DB_BUSY or DB_ERROR (with a reason for an operator: no such draft, not pending...) unless
 * they say otherwise.
 */
#ifndef MAILTRIAGE_DRAFT_H
#define MAILTRIAGE_DRAFT_H

#include <glib.h>
#include <sqlite3.h>

enum draft_state { DRAFT_PENDING, DRAFT_SENDING, DRAFT_SENT, DRAFT_REJECTED, DRAFT_FAILED };

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
    gboolean composed;   /* a first message of mailtriagectl compose, not a reply */
};

const char *draft_state_name(enum draft_state state);
/* The envelope sender DRAFT goes with: the null sender for a reply, the mailbox for a composed
 * first message. */
const char *draft_envelope_sender(const struct draft *draft);
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

/* Pending draft ID becomes sending, approved by WHO, in one transaction, with an error that
 * stays if no outcome is ever recorded ("outcome unknown": the reply may have gone out, look for
 * its Message-ID in the mail log) and an event of the message that says the same; *DRAFT_R is
 * the draft (with its text). DB_ERROR with a reason when there is no such draft or it is not
 * pending. */
int draft_begin_sending(sqlite3 *db, gint64 id, const char *who, struct draft **draft_r,
                        char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* What sending a draft came to. */
struct draft_outcome {
    enum draft_state state; /* DRAFT_SENT, DRAFT_PENDING (try later) or DRAFT_FAILED */
    int exit_status;        /* sendmail's, -1 when it did not run */
    const char *error;      /* sendmail's words, NULL when sent */
    const char *who;        /* who approved it */
    const char *event;      /* the line for the message's audit trail */
};
/* Record OUTCOME on DRAFT, which is in state sending, and on its message (a sent reply action
 * for DRAFT_SENT, and the event), in one transaction. */
int draft_finish_sending(sqlite3 *db, const struct draft *draft,
                         const struct draft_outcome *outcome,
                         char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Pending draft ID becomes rejected by WHO for REASON (may be NULL); it is never sent. */
int draft_reject(sqlite3 *db, gint64 id, const char *who, const char *reason,
                 char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
