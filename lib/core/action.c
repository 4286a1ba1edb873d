/*
 * action: record the intent, perform, record the outcome; see action.h.
 */
#include <string.h>

#include <glib.h>

#include "action.h"
#include "compose.h"
#include "conversation.h"
#include "conversation_join.h"
#include "db.h"
#include "draft.h"
#include "inject.h"
#include "log.h"
#include "queue.h"
#include "store.h"
#include "store_compose.h"
#include "webhook.h"

/* Times the outcome of a send is recorded again when the database is busy: the mail has gone,
 * and only the record can say so (else the message is held, and a draft left in sending needs
 * a person to find out what happened). */
#define ACTION_RECORD_TRIES 3

/* A mail that PLAN sends. */
struct action_mail {
    char *text;
    size_t len; /* of text, which may hold NUL bytes (an escalation's attached original) */
    const char *recipient;
    const char *envelope_sender;
    char *message_id;
};

static void action_mail_clear(struct action_mail *mail)
{
    g_free(mail->text);
    g_free(mail->message_id);
}

/* The attempt ends for ERROR, before anything went out: deferred, or stopped when STATUS says
 * the lease was lost. */
static void action_stop(struct action_outcome *outcome, int status, char *error)
{
    outcome->status = status == QUEUE_LEASE_LOST ? ACTION_LOST : ACTION_DEFER;
    outcome->error = g_strdup_printf("nothing sent: %s", error);
    g_free(error);
}

/* The draft of the reply REPLY_TEXT (Message-ID REPLY_ID), stored as the lease holder; *ID_R is
 * its number (an earlier attempt's draft when there is one). */
static int action_store_draft(sqlite3 *db, const struct action_message *m, const char *reply_id,
                              const char *reply_text, gint64 *id_r, char **error_r)
{
    int status = queue_lease_begin(db, m->claim, error_r);
    if (status != DB_OK)
        return status;
    status = draft_add(db, m->claim->id, m->envelope_from, reply_id, reply_text, id_r, error_r);
    return queue_lease_end(db, status, error_r);
}

/* The escalation for PLAN; for a draft the reply is stored for approval first, and the person
 * gets the proposal with the draft's number. DB_OK, or why the draft is not stored. */
static int action_compose_escalation(sqlite3 *db, const struct config *cfg,
                                     const struct action_message *m, const struct decide_plan *plan,
                                     const struct compose_reply *reply, struct action_mail *mail,
                                     char **error_r)
{
    char *draft = NULL, *why = NULL;
    if (plan->action == STORE_ACTION_DRAFT && plan->shadow)
        draft = compose_reply_text(reply); /* not stored: a shadow draft is never approved */
    else if (plan->action == STORE_ACTION_DRAFT) {
        char *reply_id = NULL;
        char *reply_text = compose_reply(reply, &reply_id);
        gint64 draft_id = 0;
        int status = action_store_draft(db, m, reply_id, reply_text, &draft_id, error_r);
        g_free(reply_text);
        g_free(reply_id);
        if (status != DB_OK)
            return status;
        draft = compose_reply_text(reply);
        why = g_strdup_printf("%s; draft %" G_GINT64_FORMAT " waits for approval: "
                              "mailtriagectl draft approve %" G_GINT64_FORMAT,
                              plan->reason, draft_id, draft_id);
    }
    struct compose_escalation escalation = {cfg,
                                            m->mailbox,
                                            m->msg,
                                            m->claim->id,
                                            m->envelope_from,
                                            m->classification,
                                            why != NULL ? why : plan->reason,
                                            draft};
    mail->recipient = m->mailbox->escalate_to;
    mail->envelope_sender = m->mailbox->address;
    mail->text = compose_escalation(&escalation, &mail->message_id, &mail->len);
    g_free(draft);
    g_free(why);
    return DB_OK;
}

/* The mail PLAN sends: its text, recipient, envelope sender and Message-ID. */
static int action_compose(sqlite3 *db, const struct config *cfg, const struct action_message *m,
                          const struct decide_plan *plan, struct action_mail *mail, char **error_r)
{
    struct compose_reply reply = {cfg,    m->mailbox,       plan->intent,
                                  m->msg, m->envelope_from, m->classification};
    if (plan->action == STORE_ACTION_REPLY) {
        mail->recipient = m->envelope_from;
        mail->envelope_sender = ""; /* null envelope sender: a bounce of a reply cannot loop */
        mail->text = compose_reply(&reply, &mail->message_id);
        mail->len = strlen(mail->text);
        return DB_OK;
    }
    return action_compose_escalation(db, cfg, m, plan, &reply, mail, error_r);
}

/* Record ACTION's intent (pending, its Message-ID fixed), then that it starts, each as the lease
 * holder: sendmail or the webhook runs only once "started" is durable, after a last check (and
 * extension) of the lease. When the second step fails, the intent is left not started, which
 * the next attempt settles as not sent. */
static int action_begin(sqlite3 *db, const struct action_message *m,
                        const struct store_action *action, gint64 *action_id_r, char **error_r)
{
    int status = queue_lease_begin(db, m->claim, error_r);
    if (status != DB_OK)
        return status;
    status = store_action_add(db, m->claim->id, action, STORE_ACTION_PENDING, action_id_r, error_r);
    if ((status = queue_lease_end(db, status, error_r)) != DB_OK)
        return status;
    /* Durable on the workers' lazy connections too (db.h): once mail has left, no power loss
     * may take back that it started. */
    if ((status = queue_lease_begin_durable(db, m->claim, error_r)) != DB_OK)
        return status;
    return queue_lease_end(db, store_action_start(db, *action_id_r, error_r), error_r);
}

/* Record what came of action ACTION_ID as the lease holder, offering it to a busy database a
 * few times. When that fails, the log says what went out (the database cannot), OUTCOME says
 * the attempt is deferred or stopped, and the action stays started and pending: the next
 * attempt holds the message rather than send again. */
static void action_finish(sqlite3 *db, const struct action_message *m,
                          const struct store_action *action, gint64 action_id,
                          enum store_action_state state, int exit_status, const char *failure,
                          struct action_outcome *outcome)
{
    char *error = NULL;
    int status = DB_BUSY;
    for (int i = 0; i < ACTION_RECORD_TRIES && status == DB_BUSY; i++) {
        g_clear_pointer(&error, g_free);
        status = queue_lease_begin(db, m->claim, &error);
        if (status == DB_OK)
            status = queue_lease_end(
                db, store_action_finish(db, action_id, state, exit_status, failure, &error),
                &error);
    }
    if (status == DB_OK)
        return;
    enum store_action_kind kind = action->kind;
    const char *id = action->outgoing_message_id;
    char buf[LOG_ADDR_MAX];
    const char *to =
        kind == STORE_ACTION_WEBHOOK ? action->recipient : log_addr(action->recipient, buf);
    log_msg(
        LOG_LEVEL_ERROR, m->claim->id, "the %s to <%s>%s%s%s %s, and recording that failed: %s; %s",
        store_action_kind_name(kind), to, id != NULL ? " message-id <" : "", id != NULL ? id : "",
        id != NULL ? ">" : "", state == STORE_ACTION_SENT ? "went out" : "did not go out", error,
        status == QUEUE_LEASE_LOST
            ? "this worker lost its lease; the attempt that has the message holds it"
            : "the message's next attempt holds it for a person");
    g_free(outcome->error);
    outcome->error = g_strdup_printf("cannot record what came of the %s: %s",
                                     store_action_kind_name(kind), error);
    outcome->status = status == QUEUE_LEASE_LOST ? ACTION_LOST : ACTION_DEFER;
    g_free(error);
}

/* Record the intent, run sendmail, record the outcome. */
static void action_send(sqlite3 *db, const struct config *cfg, const struct action_message *m,
                        const struct decide_plan *plan, struct action_outcome *outcome)
{
    struct action_mail mail = {0};
    char *error = NULL;
    int status = action_compose(db, cfg, m, plan, &mail, &error);
    if (status != DB_OK) {
        action_stop(outcome, status, error);
        return;
    }
    outcome->recipient = g_strdup(mail.recipient);
    outcome->message_id = g_strdup(mail.message_id);
    struct store_action action = {plan->action, plan->reason, mail.recipient, mail.envelope_sender,
                                  mail.message_id};
    gint64 action_id = 0;
    if ((status = action_begin(db, m, &action, &action_id, &error)) != DB_OK) {
        action_stop(outcome, status, error);
        action_mail_clear(&mail);
        return;
    }
    int exit_status = -1;
    char *failure = NULL;
    gint64 started = g_get_monotonic_time();
    enum inject_status sent =
        inject_message(cfg->sendmail.path, cfg->sendmail.timeout, mail.envelope_sender,
                       mail.recipient, mail.text, mail.len, &exit_status, &failure);
    outcome->send_us = g_get_monotonic_time() - started;
    outcome->sent = sent == INJECT_SENT;
    if (sent != INJECT_SENT) {
        outcome->status = sent == INJECT_TEMPFAIL ? ACTION_DEFER : ACTION_FAIL;
        outcome->error = g_strdup(failure);
    }
    action_finish(db, m, &action, action_id,
                  sent == INJECT_SENT ? STORE_ACTION_SENT : STORE_ACTION_FAILED, exit_status,
                  failure, outcome);
    /* What the correspondent got is history; an escalation or a draft's proposal is not. */
    if (outcome->sent && outcome->status == ACTION_DONE && plan->action == STORE_ACTION_REPLY) {
        char *sources = m->classification != NULL
                            ? classification_sources_json(m->classification->reply_sources, TRUE)
                            : NULL;
        conversation_join_reply(db, m->claim, m->mailbox->address, mail.text, mail.len,
                                mail.message_id, sources);
        g_free(sources);
    }
    g_free(failure);
    action_mail_clear(&mail);
}

/* What a webhook tells of message M. */
static struct webhook_record action_webhook_record(const struct config *cfg,
                                                   const struct action_message *m)
{
    struct webhook_record record = {m->claim->id,        m->claim->received_at, cfg->hostname,
                                    m->mailbox->address, m->envelope_from,      m->msg,
                                    m->classification,   m->conversation};
    return record;
}

static void action_webhook(sqlite3 *db, const struct config *cfg, const struct action_message *m,
                           const struct decide_plan *plan, struct action_outcome *outcome)
{
    const char *url = plan->intent->webhook_url;
    struct store_action action = {STORE_ACTION_WEBHOOK, plan->reason, url, NULL, NULL};
    struct webhook_record record = action_webhook_record(cfg, m);
    gint64 action_id = 0;
    char *error = NULL;
    int status = action_begin(db, m, &action, &action_id, &error);
    if (status != DB_OK) {
        action_stop(outcome, status, error);
        return;
    }
    char *failure = NULL;
    gint64 started = g_get_monotonic_time();
    int posted = webhook_post(url, cfg->daemon.webhook_timeout, &record,
                              plan->intent->webhook_secret, &failure);
    outcome->send_us = g_get_monotonic_time() - started;
    outcome->sent = posted == 0;
    if (posted != 0) {
        outcome->status = ACTION_DEFER;
        outcome->error = g_strdup(failure);
    }
    action_finish(db, m, &action, action_id, posted == 0 ? STORE_ACTION_SENT : STORE_ACTION_FAILED,
                  -1, failure, outcome);
    g_free(failure);
}

/* Mode shadow: compose the mail as it would be sent (or the webhook's body), record it with the
 * action as the lease holder, and send nothing. */
static void action_shadow(sqlite3 *db, const struct config *cfg, const struct action_message *m,
                          const struct decide_plan *plan, struct action_outcome *outcome)
{
    struct action_mail mail = {0};
    char *error = NULL;
    int status = DB_OK;
    if (plan->action == STORE_ACTION_WEBHOOK) {
        struct webhook_record record = action_webhook_record(cfg, m);
        mail.recipient = plan->intent->webhook_url;
        mail.text = webhook_body(&record);
        mail.len = strlen(mail.text);
    } else
        status = action_compose(db, cfg, m, plan, &mail, &error);
    struct store_action action = {plan->action, plan->reason, mail.recipient, mail.envelope_sender,
                                  mail.message_id};
    if (status == DB_OK && (status = queue_lease_begin(db, m->claim, &error)) == DB_OK)
        status = queue_lease_end(
            db, store_action_add_shadow(db, m->claim->id, &action, mail.text, mail.len, &error),
            &error);
    if (status != DB_OK)
        action_stop(outcome, status, error);
    else {
        outcome->shadow = TRUE;
        outcome->recipient = g_strdup(mail.recipient);
        outcome->message_id = g_strdup(mail.message_id);
    }
    action_mail_clear(&mail);
}

void action_perform(sqlite3 *db, const struct config *cfg, const struct action_message *message,
                    const struct decide_plan *plan, const struct context *context,
                    struct action_outcome *outcome_r)
{
    *outcome_r = (struct action_outcome){.status = ACTION_DONE, .send_us = -1};
    char *error = NULL;
    if (plan->action == STORE_ACTION_NONE) {
        struct store_action action = {STORE_ACTION_NONE, plan->reason, NULL, NULL, NULL};
        int status = queue_lease_begin(db, message->claim, &error);
        if (status == DB_OK)
            status = queue_lease_end(db,
                                     store_action_add(db, message->claim->id, &action,
                                                      STORE_ACTION_SKIPPED, NULL, &error),
                                     &error);
        if (status != DB_OK) {
            outcome_r->status = status == QUEUE_LEASE_LOST ? ACTION_LOST : ACTION_DEFER;
            outcome_r->error = error;
        }
        return;
    }
    if (plan->shadow) {
        action_shadow(db, cfg, message, plan, outcome_r);
        return;
    }
    /* An earlier attempt that sent this mail but could not finish must not send it twice. */
    if (context_was_sent(context, plan->action)) {
        outcome_r->earlier = g_strdup_printf("the %s went out in an earlier attempt; not sent "
                                             "again",
                                             store_action_kind_name(plan->action));
        return;
    }
    if (plan->action == STORE_ACTION_WEBHOOK)
        action_webhook(db, cfg, message, plan, outcome_r);
    else
        action_send(db, cfg, message, plan, outcome_r);
}

void action_outcome_clear(struct action_outcome *outcome)
{
    g_clear_pointer(&outcome->error, g_free);
    g_clear_pointer(&outcome->recipient, g_free);
    g_clear_pointer(&outcome->message_id, g_free);
    g_clear_pointer(&outcome->earlier, g_free);
}

/* What became of the approval of DRAFT, naming its RECIPIENT so (the event has the address, the
 * log line the address as log_addr() shows it). */
static char *action_draft_outcome_text(const struct draft *draft, enum inject_status inject,
                                       const char *who, const char *error, const char *recipient)
{
    if (inject == INJECT_SENT)
        return g_strdup_printf("draft %" G_GINT64_FORMAT " approved by %s: reply sent to <%s>",
                               draft->id, who, recipient);
    return g_strdup_printf("draft %" G_GINT64_FORMAT " approved by %s: %s: %s", draft->id, who,
                           inject == INJECT_TEMPFAIL ? "sendmail said try later, pending again"
                                                     : "sendmail failed",
                           error);
}

/* Record the outcome of sending DRAFT, offering it to a busy database a few times. */
static int action_record_draft(sqlite3 *db, const struct draft *draft, enum inject_status inject,
                               int exit_status, const char *sendmail_error, const char *who,
                               char **error_r)
{
    static const enum draft_state next[] = {[INJECT_SENT] = DRAFT_SENT,
                                            [INJECT_TEMPFAIL] = DRAFT_PENDING,
                                            [INJECT_FAILED] = DRAFT_FAILED};
    char *event = action_draft_outcome_text(draft, inject, who, sendmail_error, draft->recipient);
    struct draft_outcome outcome = {next[inject], exit_status, sendmail_error, who, event};
    int status = DB_BUSY;
    for (int i = 0; i < ACTION_RECORD_TRIES && status == DB_BUSY; i++) {
        g_clear_pointer(error_r, g_free);
        status = draft_finish_sending(db, draft, &outcome, error_r);
    }
    g_free(event);
    return status;
}

int action_approve_draft(sqlite3 *db, const struct config *cfg, gint64 id, const char *who,
                         char **error_r)
{
    who = who != NULL ? who : "(unknown)";
    struct draft *draft = NULL;
    int status = draft_begin_sending(db, id, who, &draft, error_r);
    if (status != DB_OK)
        return status;
    /* An automatic reply: the null envelope sender, so that no bounce or vacation answers it; a
     * composed first message: the mailbox, so that its bounces come back (action_send_first()). */
    char *sendmail_error = NULL, *record_error = NULL;
    int exit_status = -1;
    enum inject_status inject = inject_message(
        cfg->sendmail.path, cfg->sendmail.timeout, draft_envelope_sender(draft), draft->recipient,
        draft->text, strlen(draft->text), &exit_status, &sendmail_error);
    status =
        action_record_draft(db, draft, inject, exit_status, sendmail_error, who, &record_error);
    /* The audit line goes out whatever the database said: mail.log keeps who sent what. */
    char buf[LOG_ADDR_MAX];
    char *audit = action_draft_outcome_text(draft, inject, who, sendmail_error,
                                            log_addr(draft->recipient, buf));
    log_audit(draft->message, "%s%s%s", audit, status != DB_OK ? "; recording that failed: " : "",
              status != DB_OK ? record_error : "");
    g_free(audit);
    if (status != DB_OK) {
        *error_r = g_strdup_printf(
            "draft %" G_GINT64_FORMAT " %s, but recording that failed (%s): it stays in state "
            "sending and is never sent again",
            id, inject == INJECT_SENT ? "was sent" : "was not sent", record_error);
        status = DB_ERROR;
    } else if (inject == INJECT_TEMPFAIL) {
        *error_r = g_strdup_printf("draft %" G_GINT64_FORMAT ": %s", id, sendmail_error);
        status = ACTION_TRY_LATER;
    } else if (inject == INJECT_FAILED) {
        *error_r = g_strdup_printf("draft %" G_GINT64_FORMAT " failed: %s", id, sendmail_error);
        status = DB_ERROR;
    }
    g_free(record_error);
    g_free(sendmail_error);
    draft_free(draft);
    return status;
}

void action_first_outcome_clear(struct action_first_outcome *outcome)
{
    g_clear_pointer(&outcome->message_id, g_free);
    g_clear_pointer(&outcome->error, g_free);
}

/* SOURCES as a JSON array, "[1,3]". */
static char *action_first_sources(const GArray *sources)
{
    GString *text = g_string_new("[");
    for (guint i = 0; sources != NULL && i < sources->len; i++)
        g_string_append_printf(text, "%s%d", i > 0 ? "," : "", g_array_index(sources, int, i));
    g_string_append_c(text, ']');
    return g_string_free(text, FALSE);
}

/* Run sendmail for the recorded mail MAIL and record what came of it, offering the record to a
 * busy database a few times. */
static void action_first_deliver(sqlite3 *db, const struct action_first *first, const char *mail,
                                 struct store_compose_ids *ids, struct action_first_outcome *out)
{
    char buf[LOG_ADDR_MAX];
    char *unknown = g_strdup_printf(
        "outcome unknown until sendmail answers: composed by %s and handed to sendmail; if this "
        "stays, the command stopped first and the mail to <%s> may have gone out: look for "
        "message-id=<%s> in the mail log. It is never sent again",
        first->who, first->recipient, out->message_id);
    char *error = NULL;
    int status = store_compose_start(db, ids->action, unknown, &error);
    g_free(unknown);
    if (status != DB_OK) {
        out->status = status == DB_BUSY ? ACTION_FIRST_BUSY : ACTION_FIRST_ERROR;
        out->error = g_strdup_printf("nothing sent: %s", error);
        g_free(error);
        return;
    }
    char *failure = NULL;
    enum inject_status sent = inject_message(
        first->cfg->sendmail.path, first->cfg->sendmail.timeout, first->mailbox->address,
        first->recipient, mail, strlen(mail), &out->exit_status, &failure);
    char *sources = action_first_sources(first->sources);
    char *text = conversation_entry_text(first->body);
    char *event =
        sent == INJECT_SENT
            ? g_strdup_printf("composed by %s: sent to <%s>, message-id <%s>", first->who,
                              first->recipient, out->message_id)
            : g_strdup_printf("composed by %s: %s: %s", first->who,
                              sent == INJECT_TEMPFAIL ? "sendmail said try later, not sent"
                                                      : "sendmail failed",
                              failure);
    struct store_compose_outcome record = {ids,
                                           sent == INJECT_SENT,
                                           out->exit_status,
                                           failure,
                                           first->mailbox->address,
                                           out->message_id,
                                           text,
                                           sources,
                                           event};
    status = DB_BUSY;
    for (int i = 0; i < ACTION_RECORD_TRIES && status == DB_BUSY; i++) {
        g_clear_pointer(&error, g_free);
        status = store_compose_finish(db, &record, &error);
    }
    log_audit(ids->message, "composed by %s for <%s>, message-id <%s>: %s%s%s", first->who,
              log_addr(first->recipient, buf), out->message_id,
              sent == INJECT_SENT ? "sent" : failure,
              status != DB_OK ? "; recording that failed: " : "", status != DB_OK ? error : "");
    out->status = status != DB_OK           ? ACTION_FIRST_UNRECORDED
                  : sent == INJECT_SENT     ? ACTION_FIRST_DONE
                  : sent == INJECT_TEMPFAIL ? ACTION_FIRST_TRY_LATER
                                            : ACTION_FIRST_FAILED;
    if (status != DB_OK)
        out->error = g_strdup_printf("the mail %s, but recording that failed (%s): its action "
                                     "stays pending and it is never sent again",
                                     sent == INJECT_SENT ? "was sent" : "was not sent", error);
    else if (sent != INJECT_SENT)
        out->error = g_strdup_printf("nothing sent: %s", failure);
    g_free(error);
    g_free(event);
    g_free(text);
    g_free(sources);
    g_free(failure);
}

void action_send_first(sqlite3 *db, const struct action_first *first,
                       struct action_first_outcome *outcome_r)
{
    *outcome_r = (struct action_first_outcome){.status = ACTION_FIRST_DONE, .exit_status = -1};
    struct compose_first in = {first->cfg, first->mailbox, first->recipient, first->subject,
                               first->body};
    char *mail = compose_first(&in, &outcome_r->message_id);
    static const enum store_compose_kind kinds[] = {[ACTION_FIRST_SEND] = STORE_COMPOSE_SEND,
                                                    [ACTION_FIRST_DRAFT] = STORE_COMPOSE_DRAFT,
                                                    [ACTION_FIRST_SHADOW] = STORE_COMPOSE_SHADOW};
    char *reason = g_strdup_printf("composed by %s", first->who);
    char *event =
        g_strdup_printf("composed by %s for <%s>, message-id <%s>: %s", first->who,
                        first->recipient, outcome_r->message_id,
                        first->kind == ACTION_FIRST_SEND    ? "sendmail runs"
                        : first->kind == ACTION_FIRST_DRAFT ? "filed as a draft, to be approved"
                                                            : "mode shadow: recorded, not sent");
    struct store_compose record = {kinds[first->kind],
                                   first->mailbox->address,
                                   first->recipient,
                                   first->subject,
                                   outcome_r->message_id,
                                   mail,
                                   strlen(mail),
                                   first->instructions,
                                   reason,
                                   event};
    struct store_compose_ids ids;
    char *error = NULL;
    int status = store_compose_record(db, &record, &ids, &error);
    outcome_r->message = ids.message;
    outcome_r->conversation = ids.conversation;
    outcome_r->action = ids.action;
    outcome_r->draft = ids.draft;
    if (status != DB_OK) {
        outcome_r->status = status == DB_BUSY ? ACTION_FIRST_BUSY : ACTION_FIRST_ERROR;
        outcome_r->error = g_strdup_printf("nothing recorded, nothing sent: %s", error);
        g_free(error);
    } else if (first->kind == ACTION_FIRST_SEND)
        action_first_deliver(db, first, mail, &ids, outcome_r);
    else {
        char buf[LOG_ADDR_MAX];
        log_audit(ids.message, "composed by %s for <%s>, message-id <%s>: %s", first->who,
                  log_addr(first->recipient, buf), outcome_r->message_id,
                  first->kind == ACTION_FIRST_DRAFT ? "filed as a draft" : "shadow, not sent");
    }
    g_free(event);
    g_free(reason);
    g_free(mail);
}
