/*
 * action: every way mail (or a record of it) leaves mailtriage.
 *
 * action_perform() carries out a decided plan (decide.h) for one claimed message: an automatic
 * reply (null envelope sender, to the envelope sender only), an escalation to the mailbox's
 * human address, a draft (the reply stored for approval, its proposal sent to the human), a
 * webhook, or nothing. A mail of a kind that went out in an earlier attempt (context.h) is
 * never performed again. A plan marked shadow (mailbox mode shadow) is composed exactly as it
 * would be sent, the mail or the webhook's body recorded with the action (shadow, state
 * skipped), and nothing leaves: no sendmail, no POST, and no draft that could be approved.
 * action_approve_draft() sends a stored draft, exactly once. action_send_first() sends the first
 * message of a conversation the site starts, once. Nothing else in mailtriage sends mail.
 * It logs only what its caller cannot: an outcome that could not be recorded.
 *
 * Exactly once, by construction. Each mail (or webhook) has three records, each written in its
 * own transaction that first checks and extends the claim's lease (queue_lease_begin()): the
 * intent (the action, pending, with the outgoing Message-ID fixed), then "started" (started_at)
 * right before sendmail or the webhook runs, then the outcome (sent or failed). A worker that
 * lost its lease therefore sends nothing, and what it did send it cannot record (it logs it).
 * An action left pending by an attempt that stopped is settled by the next attempt
 * (store_actions_resume()): never started, it is failed and the mail is composed and sent
 * afresh; started, its outcome is unknown, and the message is held for a person with a reason
 * that names the mail (kind, recipient, Message-ID) and says what to do: look for the
 * Message-ID in the mail log; `mailtriagectl retry ID` sends it again. It is never re-sent
 * blindly, because it may well have gone out: a SIGKILLed daemon's sendmail child finishes on
 * its own and queues the mail, and nothing is left to hear its exit status, since only a
 * process that outlives the daemon could (under systemd's default KillMode=control-group that
 * child is killed with the daemon anyway, at any point of its run). Learning the outcome
 * afterwards would mean reading the MTA's log or queue, which differs by MTA and site; holding
 * is the one rule that can neither lose a mail silently nor send one twice. The window it costs
 * (started recorded, daemon killed before sendmail queued anything) holds a message that was
 * not sent: a person then retries it.
 */
#ifndef MAILTRIAGE_ACTION_H
#define MAILTRIAGE_ACTION_H

#include <glib.h>
#include <sqlite3.h>

#include "classification.h"
#include "config.h"
#include "context.h"
#include "decide.h"
#include "mime.h"
#include "queue.h"

/* The message an action is for. */
struct action_message {
    const struct queue_row *claim; /* its id, and the lease every write checks */
    const char *envelope_from;     /* NULL unknown, "" the null sender */
    const struct config_mailbox *mailbox;
    const struct mime_message *msg;
    const struct classification *classification; /* NULL when not classified */
    gint64 conversation;                         /* the one it joined, 0 when none */
};

enum action_status {
    ACTION_DONE,  /* performed (or nothing to perform, or performed in an earlier attempt) */
    ACTION_DEFER, /* try again later: sendmail's 75, a webhook failure, a database error */
    ACTION_FAIL,  /* sendmail failed for good */
    ACTION_LOST   /* the lease was lost: the caller stops and touches the message no more */
};

/* What became of an action. */
struct action_outcome {
    enum action_status status;
    char *error;      /* why, when not ACTION_DONE */
    gboolean sent;    /* mail or a webhook went out in this attempt */
    gboolean shadow;  /* mode shadow: it was composed and recorded, and nothing went out */
    char *recipient;  /* of the mail (or the webhook's URL), NULL when none */
    char *message_id; /* of the mail, without angle brackets */
    gint64 send_us;   /* time in sendmail or the webhook, -1 when none ran */
    char *earlier;    /* set when the mail went out in an earlier attempt: says so */
};

void action_perform(sqlite3 *db, const struct config *cfg, const struct action_message *message,
                    const struct decide_plan *plan, const struct context *context,
                    struct action_outcome *outcome_r);
void action_outcome_clear(struct action_outcome *outcome);

/* What action_approve_draft() returns beyond DB_OK (sent), DB_BUSY and DB_ERROR. */
enum action_approve_status {
    /* sendmail said try later (or could not be run); the draft is pending again. */
    ACTION_TRY_LATER = -3
};
/* Send pending draft ID through cfg's sendmail with the null envelope sender, as WHO decided:
 * the draft moves pending -> sending in one transaction (two approvals cannot both send), then
 * sendmail decides sent (a sent reply action is recorded on the message), pending again
 * (ACTION_TRY_LATER, *ERROR_R says why) or failed (DB_ERROR). DB_BUSY: the database stayed
 * locked and nothing changed. DB_ERROR also: no such draft, not pending, or the outcome could
 * not be recorded (the draft stays in sending and is never sent again). An audit line says
 * who sent what, whatever the database said. */
int action_approve_draft(sqlite3 *db, const struct config *cfg, gint64 id, const char *who,
                         char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* How a first message leaves (mailtriagectl compose). */
enum action_first_kind {
    ACTION_FIRST_SEND,  /* now, through sendmail */
    ACTION_FIRST_DRAFT, /* filed as a draft for `mailtriagectl draft approve` */
    ACTION_FIRST_SHADOW /* mode shadow: recorded as it would have left, nothing sent */
};

/* The first message of a conversation the site starts, as the model wrote it. */
struct action_first {
    const struct config *cfg;
    const struct config_mailbox *mailbox;
    const char *recipient;
    const char *instructions; /* the staff's, kept with the conversation */
    const char *who;          /* the operator */
    const char *subject;      /* checked (llm_answer.h) */
    const char *body;
    const GArray *sources; /* of int, the source numbers used */
    enum action_first_kind kind;
};

enum action_first_status {
    ACTION_FIRST_DONE,      /* sent, filed or recorded as a shadow */
    ACTION_FIRST_BUSY,      /* the database stayed locked: nothing recorded, nothing sent */
    ACTION_FIRST_ERROR,     /* the database failed before sendmail ran: nothing sent */
    ACTION_FIRST_TRY_LATER, /* sendmail said try later (or could not run): not sent */
    ACTION_FIRST_FAILED,    /* sendmail failed for good: not sent */
    ACTION_FIRST_UNRECORDED /* sendmail answered, and recording that failed (error says) */
};

/* What became of it: the records written (0 when not), and whether it went out. */
struct action_first_outcome {
    enum action_first_status status;
    gint64 message, conversation, action, draft;
    char *message_id; /* without angle brackets */
    char *error;
    int exit_status; /* sendmail's, -1 when it did not run */
};
/* Compose the mail (compose_first()), record it (store_compose.h: the intent, with the
 * Message-ID fixed, the conversation and its instructions), and by KIND send it with the
 * mailbox as envelope sender (started recorded first, the outcome after, with the
 * conversation's first entry), file it as a draft, or keep it as a shadow. An audit line says
 * who composed what and what came of it. */
void action_send_first(sqlite3 *db, const struct action_first *first,
                       struct action_first_outcome *outcome_r);
void action_first_outcome_clear(struct action_first_outcome *outcome);

#endif
