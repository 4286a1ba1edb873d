/*
 * process: parse, policy, classify, act and record one message; see process.h.
 */
#include <stdarg.h>
#include <string.h>

#include <glib.h>

#include "compose.h"
#include "db.h"
#include "inject.h"
#include "log.h"
#include "mime.h"
#include "policy.h"
#include "process.h"
#include "store.h"
#include "webhook.h"

/* What a message is about to get, and why. */
struct process_plan {
    const struct config_mailbox *mailbox;
    struct mime_message *msg;
    char *refusal; /* why no automatic reply may go, or NULL */
    struct classification *classification;
    const struct config_intent *intent;
    enum store_action_kind action;
    char *reason;
};

static void process_plan_clear(struct process_plan *plan)
{
    mime_message_free(plan->msg);
    g_free(plan->refusal);
    classification_free(plan->classification);
    g_free(plan->reason);
}

/* Log a line about the message and keep it in its audit trail. */
static void process_note(struct process_context *ctx, gint64 id, enum log_level level,
                         const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void process_note(struct process_context *ctx, gint64 id, enum log_level level,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    log_msg(level, id, "%s", text);
    store_event(ctx->db, id,
                level == LOG_LEVEL_ERROR     ? "error"
                : level == LOG_LEVEL_WARNING ? "warning"
                                             : "info",
                text);
    g_free(text);
}

static struct queue_retry process_retry(const struct config *cfg)
{
    struct queue_retry retry = {(int)cfg->daemon.max_attempts, cfg->daemon.retry_base,
                                cfg->daemon.retry_max};
    return retry;
}

static enum process_result process_fail(struct process_context *ctx, const struct queue_row *row,
                                        const char *reason)
{
    char *error = NULL;
    process_note(ctx, row->id, LOG_LEVEL_ERROR, "failed: %s", reason);
    if (queue_fail(ctx->db, row, ctx->owner, reason, &error) != DB_OK) {
        log_msg(LOG_LEVEL_ERROR, row->id, "cannot record the failure: %s", error);
        g_free(error);
        return PROCESS_STUCK;
    }
    return PROCESS_FAILED;
}

static enum process_result process_defer(struct process_context *ctx, const struct queue_row *row,
                                         const char *reason, gboolean llm_failure,
                                         gint64 retry_after)
{
    struct queue_retry retry = process_retry(ctx->cfg);
    gboolean failed = FALSE;
    char *error = NULL;
    if (queue_defer(ctx->db, row, ctx->owner, reason, &retry, llm_failure, retry_after, &failed,
                    &error) != DB_OK) {
        log_msg(LOG_LEVEL_ERROR, row->id, "%s; and cannot defer: %s", reason, error);
        g_free(error);
        return PROCESS_STUCK;
    }
    if (failed) {
        process_note(ctx, row->id, LOG_LEVEL_ERROR, "failed after %d attempts: %s", row->attempts,
                     reason);
        return PROCESS_FAILED;
    }
    process_note(ctx, row->id, LOG_LEVEL_WARNING, "deferred (attempt %d): %s", row->attempts,
                 reason);
    return PROCESS_DEFERRED;
}

static enum process_result process_release(struct process_context *ctx, const struct queue_row *row)
{
    char *error = NULL;
    if (queue_release(ctx->db, row, ctx->owner, &error) != DB_OK) {
        log_msg(LOG_LEVEL_WARNING, row->id, "cannot release at shutdown: %s", error);
        g_free(error);
        return PROCESS_STUCK;
    }
    log_msg(LOG_LEVEL_INFO, row->id, "released at shutdown; it stays queued");
    return PROCESS_RELEASED;
}

/* Choose the action from the policy verdict, the intent's rule and the mailbox's mode. */
static void process_choose(const struct config *cfg, struct process_plan *plan,
                           gboolean replied_recently)
{
    const struct config_mailbox *mailbox = plan->mailbox;
    if (plan->refusal != NULL) {
        plan->action = STORE_ACTION_NONE;
        plan->reason = g_strdup_printf("no reply: %s", plan->refusal);
        return;
    }
    if (mailbox->mode == CONFIG_MODE_OFF) {
        plan->action = STORE_ACTION_NONE;
        plan->reason = g_strdup("mailbox mode is off: recorded only");
        return;
    }
    const struct classification *c = plan->classification;
    plan->intent = config_intent_find(cfg, c->intent);
    if (plan->intent == NULL) /* the configuration changed since it was classified */
        plan->intent = config_intent_find(cfg, "unknown");
    const char *name = plan->intent->intent;
    switch ((enum config_action)plan->intent->action) {
    case CONFIG_ACTION_REPLY:
        if (mailbox->mode == CONFIG_MODE_DRAFT) {
            plan->action = STORE_ACTION_DRAFT;
            plan->reason = g_strdup_printf("intent %s: reply, mailbox mode draft", name);
        } else if (replied_recently) {
            plan->action = STORE_ACTION_ESCALATE;
            plan->reason = g_strdup_printf("intent %s: the sender already had an automatic "
                                           "reply within reply_interval",
                                           name);
        } else {
            plan->action = STORE_ACTION_REPLY;
            plan->reason = g_strdup_printf("intent %s: reply", name);
        }
        break;
    case CONFIG_ACTION_DRAFT:
        plan->action = STORE_ACTION_DRAFT;
        plan->reason = g_strdup_printf("intent %s: draft", name);
        break;
    case CONFIG_ACTION_WEBHOOK:
        plan->action = STORE_ACTION_WEBHOOK;
        plan->reason = g_strdup_printf("intent %s: webhook", name);
        break;
    case CONFIG_ACTION_NONE:
        plan->action = STORE_ACTION_NONE;
        plan->reason = g_strdup_printf("intent %s: no action", name);
        break;
    case CONFIG_ACTION_ESCALATE:
    default:
        plan->action = STORE_ACTION_ESCALATE;
        plan->reason = c->error != NULL
                           ? g_strdup_printf("intent %s: escalate (%s)", name, c->error)
                           : g_strdup_printf("intent %s: escalate", name);
        break;
    }
}

static int process_parse(const struct queue_row *row, struct process_plan *plan, char **error_r)
{
    struct mime_limits limits;
    mime_limits_default(&limits);
    gsize len = 0;
    const char *raw = g_bytes_get_data(row->raw, &len);
    return mime_parse(raw != NULL ? raw : "", len, &limits, &plan->msg, error_r);
}

/* Classify, or return a result other than PROCESS_DONE when the row was deferred. */
static enum process_result process_classify(struct process_context *ctx,
                                            const struct queue_row *row, struct process_plan *plan)
{
    char *error = NULL;
    int found = store_classification_load(ctx->db, row->id, &plan->classification, &error);
    if (found < 0) {
        enum process_result result = process_defer(ctx, row, error, FALSE, 0);
        g_free(error);
        return result;
    }
    if (found == 1)
        return PROCESS_DONE;

    struct llm_request request = {ctx->cfg, plan->mailbox, plan->msg};
    struct llm_failure failure = {NULL, 0};
    if (llm_classify(ctx->llm, &request, &plan->classification, &failure) != LLM_ANSWERED) {
        if (ctx->stop != NULL && g_atomic_int_get(ctx->stop)) {
            llm_failure_clear(&failure);
            return process_release(ctx, row);
        }
        if ((guint)row->llm_failures + 1 < ctx->cfg->llm.max_attempts) {
            char *reason = g_strdup_printf("LLM: %s", failure.reason);
            enum process_result result = process_defer(ctx, row, reason, TRUE, failure.retry_after);
            g_free(reason);
            llm_failure_clear(&failure);
            return result;
        }
        process_note(ctx, row->id, LOG_LEVEL_WARNING,
                     "LLM failed %d times (last: %s); the builtin classifier decides",
                     row->llm_failures + 1, failure.reason);
        plan->classification = llm_builtin_classify(&request);
        plan->classification->error = g_strdup_printf("fallback after %d LLM failures: %s",
                                                      row->llm_failures + 1, failure.reason);
        llm_failure_clear(&failure);
    }
    if (store_classification_save(ctx->db, row->id, plan->classification, &error) != DB_OK) {
        enum process_result result = process_defer(ctx, row, error, FALSE, 0);
        g_free(error);
        return result;
    }
    const struct classification *c = plan->classification;
    process_note(ctx, row->id, c->valid ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING,
                 "classified %s by %s%s%s (confidence %.2f, %" G_GINT64_FORMAT " ms)%s%s",
                 c->intent, c->provider, c->model != NULL ? " " : "",
                 c->model != NULL ? c->model : "", c->confidence, c->latency_ms,
                 c->error != NULL ? ": " : "", c->error != NULL ? c->error : "");
    return PROCESS_DONE;
}

/* The mail an action sends: its text, recipient, envelope sender and Message-ID. */
static char *process_compose(struct process_context *ctx, const struct queue_row *row,
                             const struct process_plan *plan, const char **recipient_r,
                             const char **sender_r, char **message_id_r)
{
    struct compose_reply reply = {ctx->cfg,  plan->mailbox,      plan->intent,
                                  plan->msg, row->envelope_from, plan->classification};
    if (plan->action == STORE_ACTION_REPLY) {
        *recipient_r = row->envelope_from;
        *sender_r = ""; /* null envelope sender: a bounce of a reply cannot loop */
        return compose_reply(&reply, message_id_r);
    }
    char *draft = plan->action == STORE_ACTION_DRAFT ? compose_reply_text(&reply) : NULL;
    struct compose_escalation escalation = {
        ctx->cfg,           plan->mailbox,        plan->msg,    row->id,
        row->envelope_from, plan->classification, plan->reason, draft};
    *recipient_r = plan->mailbox->escalate_to;
    *sender_r = plan->mailbox->address;
    char *text = compose_escalation(&escalation, message_id_r);
    g_free(draft);
    return text;
}

/* Send the planned mail and record the action. */
static enum process_result process_send(struct process_context *ctx, const struct queue_row *row,
                                        const struct process_plan *plan)
{
    const char *recipient, *sender;
    char *message_id = NULL, *error = NULL;
    char *text = process_compose(ctx, row, plan, &recipient, &sender, &message_id);
    struct store_action action = {plan->action, plan->reason, recipient, sender, message_id};
    gint64 action_id = 0;
    enum process_result result = PROCESS_DONE;

    if (store_action_add(ctx->db, row->id, &action, STORE_ACTION_PENDING, &action_id, &error) !=
        DB_OK) {
        result = process_defer(ctx, row, error, FALSE, 0);
        g_free(error);
        g_free(text);
        g_free(message_id);
        return result;
    }
    int exit_status = -1;
    char *failure = NULL;
    enum inject_status sent =
        inject_message(ctx->cfg->sendmail.path, ctx->cfg->sendmail.timeout, sender, recipient, text,
                       strlen(text), &exit_status, &failure);
    enum store_action_state state = sent == INJECT_SENT ? STORE_ACTION_SENT : STORE_ACTION_FAILED;
    if (store_action_finish(ctx->db, action_id, state, exit_status, failure, &error) != DB_OK) {
        log_msg(LOG_LEVEL_ERROR, row->id, "cannot record the %s: %s",
                store_action_kind_name(plan->action), error);
        g_free(error);
    }
    char buf[LOG_ADDR_MAX];
    if (sent == INJECT_SENT)
        process_note(ctx, row->id, LOG_LEVEL_INFO, "%s sent to <%s>, message-id <%s>",
                     store_action_kind_name(plan->action), log_addr(recipient, buf), message_id);
    else if (sent == INJECT_TEMPFAIL)
        result = process_defer(ctx, row, failure, FALSE, 0);
    else
        result = process_fail(ctx, row, failure);
    g_free(failure);
    g_free(text);
    g_free(message_id);
    return result;
}

static enum process_result process_webhook(struct process_context *ctx, const struct queue_row *row,
                                           const struct process_plan *plan)
{
    struct store_action action = {STORE_ACTION_WEBHOOK, plan->reason, plan->intent->webhook_url,
                                  NULL, NULL};
    struct webhook_record record = {row->id, plan->mailbox->address, row->envelope_from, plan->msg,
                                    plan->classification};
    gint64 action_id = 0;
    char *error = NULL;
    if (store_action_add(ctx->db, row->id, &action, STORE_ACTION_PENDING, &action_id, &error) !=
        DB_OK) {
        enum process_result result = process_defer(ctx, row, error, FALSE, 0);
        g_free(error);
        return result;
    }
    char *failure = NULL;
    int posted = webhook_post(plan->intent->webhook_url, ctx->cfg->daemon.webhook_timeout, &record,
                              &failure);
    if (store_action_finish(ctx->db, action_id,
                            posted == 0 ? STORE_ACTION_SENT : STORE_ACTION_FAILED, -1, failure,
                            &error) != DB_OK) {
        log_msg(LOG_LEVEL_ERROR, row->id, "cannot record the webhook: %s", error);
        g_free(error);
    }
    enum process_result result = PROCESS_DONE;
    if (posted != 0)
        result = process_defer(ctx, row, failure, FALSE, 0);
    else
        process_note(ctx, row->id, LOG_LEVEL_INFO, "webhook posted to %s",
                     plan->intent->webhook_url);
    g_free(failure);
    return result;
}

static enum process_result process_act(struct process_context *ctx, const struct queue_row *row,
                                       const struct process_plan *plan)
{
    char *error = NULL;
    if (plan->action == STORE_ACTION_NONE) {
        struct store_action action = {STORE_ACTION_NONE, plan->reason, NULL, NULL, NULL};
        if (store_action_add(ctx->db, row->id, &action, STORE_ACTION_SKIPPED, NULL, &error) !=
            DB_OK) {
            enum process_result result = process_defer(ctx, row, error, FALSE, 0);
            g_free(error);
            return result;
        }
        process_note(ctx, row->id, LOG_LEVEL_INFO, "%s", plan->reason);
        return PROCESS_DONE;
    }
    /* An earlier attempt that sent this mail but could not finish must not send it twice. */
    int sent = store_action_was_sent(ctx->db, row->id, plan->action, &error);
    if (sent < 0) {
        enum process_result result = process_defer(ctx, row, error, FALSE, 0);
        g_free(error);
        return result;
    }
    if (sent == 1)
        return PROCESS_DONE;
    if (plan->action == STORE_ACTION_WEBHOOK)
        return process_webhook(ctx, row, plan);
    return process_send(ctx, row, plan);
}

/* Was an automatic reply sent to this sender by this mailbox within its reply_interval? */
static int process_replied_recently(struct process_context *ctx, const struct queue_row *row,
                                    const struct process_plan *plan, char **error_r)
{
    gint64 interval = plan->mailbox->reply_interval;
    if (interval == 0 || plan->refusal != NULL)
        return 0;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    return store_replied_since(ctx->db, plan->mailbox->address, row->envelope_from, now - interval,
                               error_r);
}

static enum process_result process_plan_and_act(struct process_context *ctx,
                                                const struct queue_row *row,
                                                struct process_plan *plan)
{
    char *error = NULL;
    if (store_message_headers(ctx->db, row->id, plan->msg->from_addr, plan->msg->subject,
                              plan->msg->message_id, plan->msg->in_reply_to, &error) != DB_OK ||
        store_actions_interrupted(ctx->db, row->id, &error) != DB_OK) {
        enum process_result result = process_defer(ctx, row, error, FALSE, 0);
        g_free(error);
        return result;
    }

    plan->refusal = policy_reply_refusal(ctx->cfg, row->envelope_from, plan->msg);
    /* No tokens are spent on mail that gets no answer anyway. */
    if (plan->refusal == NULL && plan->mailbox->mode != CONFIG_MODE_OFF) {
        enum process_result result = process_classify(ctx, row, plan);
        if (result != PROCESS_DONE)
            return result;
    }
    int recently = process_replied_recently(ctx, row, plan, &error);
    if (recently < 0) {
        enum process_result result = process_defer(ctx, row, error, FALSE, 0);
        g_free(error);
        return result;
    }
    process_choose(ctx->cfg, plan, recently == 1);
    return process_act(ctx, row, plan);
}

enum process_result process_row(struct process_context *ctx, const struct queue_row *row)
{
    struct process_plan plan = {0};
    char *error = NULL;
    enum process_result result;

    plan.mailbox = config_mailbox_find(ctx->cfg, row->mailbox);
    if (plan.mailbox == NULL) {
        char *reason = g_strdup_printf("mailbox %s is not in the configuration", row->mailbox);
        result = process_fail(ctx, row, reason);
        g_free(reason);
        return result;
    }
    if (process_parse(row, &plan, &error) < 0) {
        char *reason = g_strdup_printf("cannot parse the message: %s", error);
        result = process_fail(ctx, row, reason);
        g_free(reason);
        g_free(error);
        return result;
    }
    result = process_plan_and_act(ctx, row, &plan);
    if (result == PROCESS_DONE) {
        if (queue_complete(ctx->db, row, ctx->owner, &error) != DB_OK) {
            log_msg(LOG_LEVEL_ERROR, row->id, "cannot mark done: %s", error);
            g_free(error);
            result = PROCESS_STUCK;
        } else {
            char from[LOG_ADDR_MAX];
            const struct classification *c = plan.classification;
            log_msg(LOG_LEVEL_INFO, row->id, "done: from=<%s> mailbox=<%s> intent=%s action=%s",
                    log_addr(row->envelope_from, from), row->mailbox, c != NULL ? c->intent : "-",
                    store_action_kind_name(plan.action));
        }
    }
    process_plan_clear(&plan);
    return result;
}

int process_try(struct config *cfg, struct llm_client *llm, const char *raw, size_t len,
                const char *mailbox, const char *envelope_from, GString *out, char **error_r)
{
    struct process_plan plan = {0};
    struct mime_limits limits;
    mime_limits_default(&limits);

    plan.mailbox = config_mailbox_find(cfg, mailbox);
    if (plan.mailbox == NULL) {
        *error_r = g_strdup_printf("mailbox %s is not in the configuration", mailbox);
        return -1;
    }
    if (mime_parse(raw, len, &limits, &plan.msg, error_r) < 0)
        return -1;
    mime_message_dump(plan.msg, out);
    plan.refusal = policy_reply_refusal(cfg, envelope_from, plan.msg);
    g_string_append_printf(out, "\npolicy: %s\n",
                           plan.refusal != NULL ? plan.refusal : "a reply may go");
    if (plan.refusal == NULL) {
        struct llm_request request = {cfg, plan.mailbox, plan.msg};
        struct llm_failure failure = {NULL, 0};
        if (llm_classify(llm, &request, &plan.classification, &failure) != LLM_ANSWERED) {
            g_string_append_printf(out, "llm: failed: %s (the builtin classifier decides)\n",
                                   failure.reason);
            llm_failure_clear(&failure);
            plan.classification = llm_builtin_classify(&request);
        }
        const struct classification *c = plan.classification;
        g_string_append_printf(out,
                               "classification: intent=%s provider=%s confidence=%.2f%s%s\n"
                               "summary: %s\n",
                               c->intent, c->provider, c->confidence, c->error ? " error=" : "",
                               c->error ? c->error : "", c->summary ? c->summary : "");
    }
    process_choose(cfg, &plan, FALSE);
    g_string_append_printf(out, "action: %s (%s)\n", store_action_kind_name(plan.action),
                           plan.reason);
    if (plan.action == STORE_ACTION_REPLY || plan.action == STORE_ACTION_DRAFT) {
        struct compose_reply reply = {cfg,      plan.mailbox,  plan.intent,
                                      plan.msg, envelope_from, plan.classification};
        char *text = compose_reply_text(&reply);
        g_string_append_printf(out, "\n----- reply text -----\n%s", text);
        g_free(text);
    }
    process_plan_clear(&plan);
    return 0;
}
