/*
 * action: every way mail (or a record of it) leaves mailtriage.
 *
 * action_perform() carries out a decided plan (decide.h) for one message: an automatic reply
 * (null envelope sender, to the envelope sender only), an escalation to the mailbox's human
 * address, a draft (the reply stored for approval, its proposal sent to the human), a webhook,
 * or nothing. For each it records the action before it performs it (pending, with the
 * outgoing Message-ID already fixed), performs it through the sendmail binary (inject.h) or
 * the webhook (webhook.h), and records the outcome. A mail of a kind that went out in an
 * earlier attempt (context.h) is never performed again. action_approve_draft() sends a stored
 * draft the same way, exactly once. Nothing else in mailtriage sends mail. It logs only what
 * its caller cannot: an outcome that could not be recorded.
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

/* The message an action is for. */
struct action_message {
    gint64 id;
    const char *envelope_from; /* NULL unknown, "" the null sender */
    const struct config_mailbox *mailbox;
    const struct mime_message *msg;
    const struct classification *classification; /* NULL when not classified */
};

enum action_status {
    ACTION_DONE,  /* performed (or nothing to perform, or performed in an earlier attempt) */
    ACTION_DEFER, /* try again later: sendmail's 75, a webhook failure, a database error */
    ACTION_FAIL   /* sendmail failed for good */
};

/* What became of an action. */
struct action_outcome {
    enum action_status status;
    char *error;      /* why, when not ACTION_DONE */
    gboolean sent;    /* mail or a webhook went out in this attempt */
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

#endif
