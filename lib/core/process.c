/*
 * process: the pipeline of one claimed message; see process.h.
 */
#include <stdarg.h>
#include <string.h>

#include <glib.h>

#include "action.h"
#include "clock.h"
#include "compose.h"
#include "context.h"
#include "conversation_history.h"
#include "conversation_join.h"
#include "db.h"
#include "decide.h"
#include "dsn.h"
#include "knowledge.h"
#include "lease.h"
#include "log.h"
#include "mime.h"
#include "policy.h"
#include "process.h"
#include "queue.h"
#include "store.h"
#include "store_conversation.h"
#include "summary.h"

/* How a step ended: go on, or end the attempt with what the queue is to do (nothing, for
 * STEP_LOST: the message is someone else's now). */
enum process_step_kind {
    STEP_NEXT,
    STEP_DONE,
    STEP_DEFER,
    STEP_WAIT,
    STEP_FAIL,
    STEP_RELEASE,
    STEP_HOLD,
    STEP_LOST
};

struct process_step {
    enum process_step_kind kind;
    char *reason;         /* STEP_DEFER, STEP_WAIT, STEP_FAIL, STEP_HOLD, STEP_LOST */
    gboolean llm_failure; /* STEP_DEFER: a failed LLM request, counted apart */
    gint64 retry_after;   /* STEP_DEFER: the server's Retry-After, 0 when none; STEP_WAIT: how
                             long to wait, the attempt not counted */
};

/* Everything one attempt at a message learns, for the steps after it and the summary line. */
struct process_run {
    struct lease_keeper *leases; /* renews the claim's lease */
    const struct config_mailbox *mailbox;
    struct context context;
    struct mime_message *msg;
    struct policy_decision policy; /* may a reply go, and if not, why */
    struct classification *classification;
    /* What the model is told before the message (process_load_prompt()), read once. */
    gboolean prompt_loaded;
    GPtrArray *history; /* of struct conversation_entry *, oldest first */
    char *instructions;
    struct knowledge_selection *knowledge; /* NULL when the mailbox has no knowledge */
    struct decide_plan decision;
    gboolean decided; /* decision holds the chosen action */
    gint64 llm_us;    /* time in the classifier, -1 when it was not asked in this attempt */
    struct action_outcome action;
    char *outcome; /* why it was deferred, failed or skipped, when the decision does not say */
};

static const struct process_step process_next = {STEP_NEXT, NULL, FALSE, 0};

static struct process_step process_stop(enum process_step_kind kind, char *reason)
{
    struct process_step step = {kind, reason, FALSE, 0};
    return step;
}

static void process_run_clear(struct process_run *run)
{
    context_clear(&run->context);
    mime_message_free(run->msg);
    policy_decision_clear(&run->policy);
    classification_free(run->classification);
    if (run->history != NULL)
        g_ptr_array_unref(run->history);
    g_free(run->instructions);
    knowledge_selection_free(run->knowledge);
    decide_plan_clear(&run->decision);
    action_outcome_clear(&run->action);
    g_free(run->outcome);
}

static void process_outcome(struct process_run *run, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void process_outcome(struct process_run *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_free(run->outcome);
    run->outcome = text;
}

static const char *process_level_name(enum log_level level)
{
    return level == LOG_LEVEL_ERROR ? "error" : level == LOG_LEVEL_WARNING ? "warning" : "info";
}

/* Keep a line in the message's audit trail; with LOUD, log it too, else log it at debug level
 * only, because the message's summary line says the same. */
static void process_note_v(struct process_context *ctx, gint64 id, enum log_level level,
                           gboolean loud, const char *fmt, va_list ap) G_GNUC_PRINTF(5, 0);
static void process_note_v(struct process_context *ctx, gint64 id, enum log_level level,
                           gboolean loud, const char *fmt, va_list ap)
{
    char *text = g_strdup_vprintf(fmt, ap);
    log_msg(loud ? level : LOG_LEVEL_DEBUG, id, "%s", text);
    store_event(ctx->db, id, process_level_name(level), text);
    g_free(text);
}

/* A line the summary does not carry: logged and kept in the audit trail. */
static void process_note(struct process_context *ctx, gint64 id, enum log_level level,
                         const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void process_note(struct process_context *ctx, gint64 id, enum log_level level,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    process_note_v(ctx, id, level, TRUE, fmt, ap);
    va_end(ap);
}

/* A step the summary line reports: kept in the audit trail, logged at debug level. */
static void process_step_note(struct process_context *ctx, gint64 id, enum log_level level,
                              const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void process_step_note(struct process_context *ctx, gint64 id, enum log_level level,
                              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    process_note_v(ctx, id, level, FALSE, fmt, ap);
    va_end(ap);
}

/* A leased write came to STATUS: go on, or defer for ERROR, or stop if the lease was lost. */
static struct process_step process_written(int status, char *error)
{
    if (status == DB_OK)
        return process_next;
    return process_stop(status == QUEUE_LEASE_LOST ? STEP_LOST : STEP_DEFER, error);
}

/* ---- the steps ---- */

/* The hold's reason: what UNKNOWN (struct store_unknown *) names, and what a person does, short
 * enough for the summary line. With FOR_LOG the address as the log may show it (log_addr()),
 * else in full for the database. */
static char *process_unknown_reason(gint64 id, GPtrArray *unknown, gboolean for_log)
{
    const struct store_unknown *u = g_ptr_array_index(unknown, 0);
    gboolean webhook = u->kind == STORE_ACTION_WEBHOOK;
    char buf[LOG_ADDR_MAX];
    const char *to = webhook || !for_log ? u->recipient : log_addr(u->recipient, buf);
    char *when = clock_format_local(u->started_at, "%Y-%m-%d %H:%M:%S");
    GString *text = g_string_new(NULL);
    g_string_append_printf(text, "outcome unknown: the %s to <%s>", store_action_kind_name(u->kind),
                           to != NULL ? to : "");
    if (u->message_id != NULL)
        g_string_append_printf(text, " message-id <%s>", u->message_id);
    g_string_append_printf(text,
                           " was handed to %s at %s and its attempt stopped before recording the "
                           "outcome; it may have gone out. ",
                           webhook ? "the webhook" : "sendmail", when != NULL ? when : "?");
    if (u->message_id != NULL)
        g_string_append_printf(
            text, "Look for message-id=<%s> in the mail log; if it is not there, ", u->message_id);
    else
        g_string_append(text, "Ask the receiver; if it did not come, ");
    g_string_append_printf(text, "mailtriagectl retry %" G_GINT64_FORMAT " sends it again", id);
    if (unknown->len > 1)
        g_string_append_printf(text, " (with %u more: mailtriagectl show %" G_GINT64_FORMAT ")",
                               unknown->len - 1, id);
    g_free(when);
    return g_string_free(text, FALSE);
}

/* What an earlier attempt left pending: one that never started is settled as not sent; one that
 * started has an unknown outcome, and the message is held for a person rather than send it
 * again (action.h says why). */
static struct process_step process_resume(struct process_context *ctx, const struct queue_row *row,
                                          struct process_run *run)
{
    GPtrArray *unknown = NULL;
    char *error = NULL;
    int status = queue_lease_begin(ctx->db, row, &error);
    if (status == DB_OK)
        status = queue_lease_end(ctx->db, store_actions_resume(ctx->db, row->id, &unknown, &error),
                                 &error);
    struct process_step step = process_written(status, error);
    if (status == DB_OK && unknown->len > 0) {
        char *shown = process_unknown_reason(row->id, unknown, TRUE);
        process_outcome(run, "%s", shown);
        g_free(shown);
        step = process_stop(STEP_HOLD, process_unknown_reason(row->id, unknown, FALSE));
    }
    if (unknown != NULL)
        g_ptr_array_unref(unknown);
    return step;
}

static struct process_step process_parse(const struct queue_row *row, struct process_run *run)
{
    struct mime_limits limits;
    mime_limits_default(&limits);
    gsize len = 0;
    const char *raw = g_bytes_get_data(row->raw, &len);
    /* Intake never records an empty message: this one's content went with retention (a retry
     * of an old message), and an empty text must not be answered or escalated. */
    if (len == 0)
        return process_stop(STEP_FAIL, g_strdup("the message's content was removed by [policy] "
                                                "retention_days: nothing to process"));
    char *error = NULL;
    if (mime_parse(raw, len, &limits, &run->msg, &error) < 0) {
        char *reason = g_strdup_printf("cannot parse the message: %s", error);
        g_free(error);
        return process_stop(STEP_FAIL, reason);
    }
    return process_next;
}

/* What the worker's parse learnt that the intake could not fill in. */
static struct process_step process_record_parse(struct process_context *ctx,
                                                const struct queue_row *row,
                                                const struct process_run *run)
{
    const struct mime_message *msg = run->msg;
    char *error = NULL;
    int status = queue_lease_begin(ctx->db, row, &error);
    if (status == DB_OK)
        status =
            queue_lease_end(ctx->db,
                            store_message_headers(ctx->db, row->id, msg->from_addr, msg->subject,
                                                  msg->message_id, msg->in_reply_to, &error),
                            &error);
    return process_written(status, error);
}

/* A delivery report for one of our replies: a hard bounce (5.x.x) blocks the address for
 * bounce_block. The report itself gets no reply (it is automatic mail). */
static struct process_step process_record_bounce(struct process_context *ctx,
                                                 const struct queue_row *row,
                                                 const struct process_run *run)
{
    gsize len = 0;
    const char *raw = g_bytes_get_data(row->raw, &len);
    struct dsn_report report;
    if (run->policy.verdict != POLICY_AUTOMATED || !dsn_read(raw, len, &report))
        return process_next;
    char *error = NULL;
    int status = queue_lease_begin(ctx->db, row, &error);
    gboolean open = status == DB_OK;
    for (guint i = 0; i < report.message_ids->len && status == DB_OK; i++) {
        const char *id = g_ptr_array_index(report.message_ids, i);
        gint64 action = 0;
        char *recipient = NULL;
        int found = store_reply_find(ctx->db, id, &action, &recipient, &error);
        if (found == 1)
            status = store_bounce_add(ctx->db, recipient, action, row->id, report.status,
                                      report.diagnostic, &error);
        else
            status = found < 0 ? found : DB_OK;
        char buf[LOG_ADDR_MAX];
        if (found == 1 && status == DB_OK)
            process_note(ctx, row->id, LOG_LEVEL_WARNING,
                         "our reply <%s> to <%s> hard-bounced (%s): no automatic reply to it for "
                         "bounce_block",
                         id, log_addr(recipient, buf), report.status);
        g_free(recipient);
    }
    if (open)
        status = queue_lease_end(ctx->db, status, &error);
    dsn_report_clear(&report);
    return process_written(status, error);
}

/* Let the builtin classifier decide for REQUEST, after WHY (which names the LLM's failure).
 * When the message has its classification already, the request that failed was the one for
 * the reply text, which no other classifier writes: the reply is settled without text, for
 * WHY, and the decision escalates a reply that needed it. */
static void process_llm_fallback(struct process_context *ctx, const struct queue_row *row,
                                 struct process_run *run, const struct llm_request *request,
                                 char *why)
{
    struct classification *c = run->classification;
    if (c != NULL) {
        process_note(ctx, row->id, LOG_LEVEL_WARNING, "%s; the reply gets no text", why);
        g_free(c->reply);
        c->reply = g_strdup("");
        g_free(c->reply_error);
        c->reply_error = why;
        c->reply_settled = TRUE;
        return;
    }
    process_note(ctx, row->id, LOG_LEVEL_WARNING, "%s; the builtin classifier decides", why);
    run->classification = llm_builtin_classify(request);
    run->classification->error = why;
}

/* Wait for what FAILURE names, as long as it says, the attempt not counted. */
static struct process_step process_llm_wait(const struct llm_failure *failure)
{
    struct process_step step = process_stop(STEP_WAIT, g_strdup_printf("LLM: %s", failure->reason));
    step.retry_after = failure->retry_after;
    return step;
}

/* No answer from the LLM. Each kind of failure (llm_provider.h) has one fate: a transient one
 * is retried with back-off (counted, also when the circuit breaker kept the request back, so
 * that a message reaches the fallback as soon as without the breaker, only without the
 * requests) and after llm.max_attempts the builtin classifier decides; a misconfigured
 * endpoint makes the message wait, its attempts not counted, until the endpoint answers; a
 * request the server rejected, or a spent budget with over_budget = fallback, goes to the
 * builtin classifier at once; a spent budget with over_budget = wait waits. The request for
 * the reply text fails the same ways, its classification kept; where the builtin classifier
 * would decide, the reply has no text (process_llm_fallback()). */
static struct process_step process_llm_failed(struct process_context *ctx,
                                              const struct queue_row *row, struct process_run *run,
                                              const struct llm_request *request,
                                              struct llm_failure *failure)
{
    struct process_step step = process_next;
    gboolean stopping = ctx->stop != NULL && g_atomic_int_get(ctx->stop);
    gboolean wait_for_budget = ctx->cfg->llm.over_budget == CONFIG_OVER_BUDGET_WAIT;
    switch (stopping ? LLM_FAILURE_CANCELLED : failure->kind) {
    case LLM_FAILURE_CANCELLED:
        step = process_stop(STEP_RELEASE, NULL);
        break;
    case LLM_FAILURE_OVER_BUDGET:
        if (wait_for_budget)
            step = process_llm_wait(failure);
        else
            process_llm_fallback(
                ctx, row, run, request,
                g_strdup_printf("LLM not asked: %s (over_budget = fallback)", failure->reason));
        break;
    case LLM_FAILURE_CONFIG:
        step = process_llm_wait(failure);
        break;
    case LLM_FAILURE_LOCAL:
        step = process_stop(STEP_DEFER, g_strdup_printf("LLM: %s", failure->reason));
        break;
    case LLM_FAILURE_REJECTED:
        process_llm_fallback(
            ctx, row, run, request,
            g_strdup_printf("the LLM server rejected the request: %s", failure->reason));
        break;
    case LLM_FAILURE_TRANSIENT:
    default:
        if ((guint)row->llm_failures + 1 < ctx->cfg->llm.max_attempts) {
            step = process_stop(STEP_DEFER, g_strdup_printf("LLM: %s", failure->reason));
            step.llm_failure = TRUE;
            step.retry_after = failure->retry_after;
        } else
            process_llm_fallback(ctx, row, run, request,
                                 g_strdup_printf("fallback after %d LLM failures: %s",
                                                 row->llm_failures + 1, failure->reason));
        break;
    }
    llm_failure_clear(failure);
    return step;
}

/* What knowledge_select() is asked for: the new message's subject and text, and the last
 * thing the correspondent said before it, so that a follow-up ("and the yearly plan?") finds
 * the sources of the question it follows. */
static char *process_knowledge_query(const struct process_run *run)
{
    GString *text = g_string_new(run->msg->subject);
    g_string_append_printf(text, "\n%s", run->msg->text != NULL ? run->msg->text : "");
    for (guint i = run->history != NULL ? run->history->len : 0; i > 0; i--) {
        const struct conversation_entry *entry = g_ptr_array_index(run->history, i - 1);
        if (entry->role == CONVERSATION_USER) {
            g_string_append_printf(text, "\n%s", entry->text != NULL ? entry->text : "");
            break;
        }
    }
    return g_string_free(text, FALSE);
}

/* What the model is told before the new message, read once per attempt when it is asked: the
 * conversation's history within [llm] max_history_messages and max_input_chars (without this
 * message, which comes last), the staff's instructions for it, and the knowledge chosen for
 * the message within max_knowledge_chars. Only reads. */
static struct process_step process_load_prompt(struct process_context *ctx,
                                               const struct queue_row *row, struct process_run *run)
{
    if (run->prompt_loaded)
        return process_next;
    const struct config_llm *llm = &ctx->cfg->llm;
    gint64 conversation = run->context.conversation;
    char *error = NULL;
    int status = conversation_history(ctx->db, conversation, row->id, llm->max_history_messages,
                                      llm->max_input_chars, &run->history, &error);
    if (status == DB_OK && conversation > 0)
        status =
            MIN(store_conversation_instructions(ctx->db, conversation, &run->instructions, &error),
                DB_OK);
    const char *const *knowledge = (const char *const *)run->mailbox->knowledge;
    if (status == DB_OK && knowledge != NULL && knowledge[0] != NULL) {
        char *text = process_knowledge_query(run);
        status = knowledge_select(ctx->db, ctx->cfg, run->mailbox, text, &run->knowledge, &error);
        g_free(text);
    }
    if (status != DB_OK) {
        char *reason = g_strdup_printf("cannot read what the model is told: %s", error);
        g_free(error);
        return process_stop(STEP_DEFER, reason);
    }
    run->prompt_loaded = TRUE;
    return process_next;
}

/* The request for the model about the message, with what process_load_prompt() read. */
static struct llm_request process_request(const struct process_context *ctx,
                                          const struct process_run *run)
{
    return (struct llm_request){ctx->cfg,     run->mailbox,      run->msg,
                                run->history, run->instructions, run->knowledge};
}

/* The classification: the stored one of an earlier attempt, or the classifier's. */
static struct process_step process_classify(struct process_context *ctx,
                                            const struct queue_row *row, struct process_run *run)
{
    if (run->context.classification != NULL) {
        run->classification = g_steal_pointer(&run->context.classification);
        return process_next;
    }
    struct process_step loaded = process_load_prompt(ctx, row, run);
    if (loaded.kind != STEP_NEXT)
        return loaded;
    struct llm_request request = process_request(ctx, run);
    struct llm_failure failure = {0};
    const struct llm_meter meter = {ctx->db, row->id};
    gint64 started = g_get_monotonic_time();
    int answered = llm_classify(ctx->llm, &request, &meter, &run->classification, &failure);
    run->llm_us = g_get_monotonic_time() - started;
    if (answered != LLM_ANSWERED) {
        struct process_step step = process_llm_failed(ctx, row, run, &request, &failure);
        if (step.kind != STEP_NEXT)
            return step;
    }
    /* The wait may have been long (the model, a slot under max_concurrency): a lease found lost
     * meanwhile ends the attempt before anything more is written or sent. */
    if (lease_keeper_lost(run->leases, row))
        return process_stop(STEP_LOST, g_strdup("the lease was lost while the classifier "
                                                "worked"));
    char *error = NULL;
    int status = queue_lease_begin(ctx->db, row, &error);
    if (status == DB_OK)
        status = queue_lease_end(
            ctx->db, store_classification_save(ctx->db, row->id, run->classification, &error),
            &error);
    if (status != DB_OK)
        return process_written(status, error);
    /* The summary line has intent and confidence; an unusable answer or one that needed
     * defaults is worth a line of its own. */
    const struct classification *c = run->classification;
    char *text = g_strdup_printf(
        "classified %s by %s%s%s (confidence %.2f, %" G_GINT64_FORMAT " ms)%s%s", c->intent,
        c->provider, c->model != NULL ? " " : "", c->model != NULL ? c->model : "", c->confidence,
        c->latency_ms, c->error != NULL ? ": " : "", c->error != NULL ? c->error : "");
    if (c->valid && c->error == NULL)
        process_step_note(ctx, row->id, LOG_LEVEL_INFO, "%s", text);
    else
        process_note(ctx, row->id, c->valid ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING, "%s", text);
    g_free(text);
    return process_next;
}

/* The reply text, when the plan sends the model's (decide_needs_reply()): asked for in a
 * second request, stored before anything is sent (a later attempt reuses it, as it reuses the
 * classification and asks only for the reply when that is all it lacks), and the decision taken
 * again with it. A failure has the fate of a classification's (process_llm_failed()). */
static struct process_step process_write_reply(struct process_context *ctx,
                                               const struct queue_row *row, struct process_run *run)
{
    if (!decide_needs_reply(&run->decision, run->classification))
        return process_next;
    struct process_step loaded = process_load_prompt(ctx, row, run);
    if (loaded.kind != STEP_NEXT)
        return loaded;
    struct llm_request request = process_request(ctx, run);
    struct llm_failure failure = {0};
    const struct llm_meter meter = {ctx->db, row->id};
    gint64 started = g_get_monotonic_time();
    int answered = llm_write_reply(ctx->llm, &request, run->classification, &meter, &failure);
    run->llm_us = MAX(run->llm_us, 0) + g_get_monotonic_time() - started;
    if (answered != LLM_ANSWERED) {
        struct process_step step = process_llm_failed(ctx, row, run, &request, &failure);
        if (step.kind != STEP_NEXT)
            return step;
    }
    if (lease_keeper_lost(run->leases, row))
        return process_stop(STEP_LOST, g_strdup("the lease was lost while the model wrote the "
                                                "reply"));
    char *error = NULL;
    int status = queue_lease_begin(ctx->db, row, &error);
    if (status == DB_OK)
        status = queue_lease_end(
            ctx->db, store_classification_save_reply(ctx->db, row->id, run->classification, &error),
            &error);
    if (status != DB_OK)
        return process_written(status, error);
    const struct classification *c = run->classification;
    if (answered == LLM_ANSWERED && c->reply_error != NULL)
        process_note(ctx, row->id, LOG_LEVEL_WARNING, "the model's reply has no text: %s",
                     c->reply_error);
    else if (answered == LLM_ANSWERED)
        process_step_note(ctx, row->id, LOG_LEVEL_INFO,
                          "reply written (%" G_GINT64_FORMAT " ms, %" G_GINT64_FORMAT " tokens)",
                          c->reply_latency_ms, c->reply_prompt_tokens + c->reply_completion_tokens);
    decide_plan_clear(&run->decision);
    decide_action(ctx->cfg, run->mailbox, &run->policy, run->classification, &run->decision);
    return process_next;
}

/* Perform the decision and say what went out. */
static struct process_step process_act(struct process_context *ctx, const struct queue_row *row,
                                       struct process_run *run)
{
    const struct decide_plan *plan = &run->decision;
    struct action_message message = {row,      row->envelope_from,  run->mailbox,
                                     run->msg, run->classification, run->context.conversation};
    action_perform(ctx->db, ctx->cfg, &message, plan, &run->context, &run->action);
    const struct action_outcome *outcome = &run->action;
    static const enum process_step_kind kinds[] = {
        [ACTION_DONE] = STEP_DONE,
        [ACTION_DEFER] = STEP_DEFER,
        [ACTION_FAIL] = STEP_FAIL,
        [ACTION_LOST] = STEP_LOST,
    };
    if (outcome->status != ACTION_DONE)
        return process_stop(kinds[outcome->status], g_strdup(outcome->error));
    char buf[LOG_ADDR_MAX];
    if (outcome->earlier != NULL)
        process_outcome(run, "%s", outcome->earlier);
    else if (plan->action == STORE_ACTION_NONE)
        process_step_note(ctx, row->id, LOG_LEVEL_INFO, "%s", plan->reason);
    else if (outcome->shadow)
        process_step_note(ctx, row->id, LOG_LEVEL_INFO,
                          "mode shadow: the %s to <%s> was composed and recorded, not sent",
                          store_action_kind_name(plan->action),
                          plan->action == STORE_ACTION_WEBHOOK ? outcome->recipient
                                                               : log_addr(outcome->recipient, buf));
    else if (plan->action == STORE_ACTION_WEBHOOK)
        process_step_note(ctx, row->id, LOG_LEVEL_INFO, "webhook posted to %s",
                          plan->intent->webhook_url);
    else
        process_step_note(ctx, row->id, LOG_LEVEL_INFO, "%s sent to <%s>, message-id <%s>",
                          store_action_kind_name(plan->action), log_addr(outcome->recipient, buf),
                          outcome->message_id);
    return process_stop(STEP_DONE, NULL);
}

/* resume -> load context -> parse -> join the conversation -> policy -> classify if the
 * decision needs it -> decide -> write the reply if the plan sends it -> act. */
static struct process_step process_steps(struct process_context *ctx, const struct queue_row *row,
                                         struct process_run *run)
{
    /* First of all: a mail of unknown outcome must reach a person whatever else fails. */
    struct process_step resumed = process_resume(ctx, row, run);
    if (resumed.kind != STEP_NEXT)
        return resumed;
    run->mailbox = config_mailbox_find(ctx->cfg, row->mailbox);
    char buf[LOG_ADDR_MAX];
    if (run->mailbox == NULL)
        return process_stop(STEP_FAIL, g_strdup_printf("mailbox %s is not in the configuration",
                                                       log_addr(row->mailbox, buf)));
    char *error = NULL;
    gint64 now = clock_now();
    if (context_load(ctx->db, ctx->cfg, row->id, run->mailbox, row->envelope_from, now,
                     &run->context, &error) != DB_OK)
        return process_stop(STEP_DEFER, error);
    struct process_step step = process_parse(row, run);
    if (step.kind == STEP_NEXT)
        step = process_record_parse(ctx, row, run);
    if (step.kind == STEP_NEXT)
        step = process_written(
            conversation_join(ctx->db, ctx->cfg, row, run->msg, &run->context, &error), error);
    if (step.kind != STEP_NEXT)
        return step;

    policy_decide(ctx->cfg, row->envelope_from, run->msg, &run->policy);
    decide_history(ctx->cfg, run->mailbox, &run->context, &run->policy);
    step = process_record_bounce(ctx, row, run);
    if (step.kind == STEP_NEXT && decide_needs_classification(ctx->cfg, run->mailbox, &run->policy))
        step = process_classify(ctx, row, run);
    if (step.kind != STEP_NEXT)
        return step;
    decide_action(ctx->cfg, run->mailbox, &run->policy, run->classification, &run->decision);
    step = process_write_reply(ctx, row, run);
    if (step.kind != STEP_NEXT)
        return step;
    run->decided = TRUE;
    return process_act(ctx, row, run);
}

/* ---- the outcome, mapped to the queue in one place ---- */

/* The lease is gone: someone else (a worker that recovered the message, an operator) has it.
 * Nothing more is sent or written about it by this worker; the summary line says so. */
static enum process_result process_lost(struct process_context *ctx, const struct queue_row *row,
                                        struct process_run *run, const char *reason)
{
    process_outcome(run, "%s; this worker stopped and sends nothing more", reason);
    process_step_note(ctx, row->id, LOG_LEVEL_WARNING, "%s", run->outcome);
    return PROCESS_LOST;
}

/* The queue could not take the outcome (STATUS, ERROR): the lease expires and another attempt
 * comes, which does not repeat a mail that went out (context.h); or the lease was lost. */
static enum process_result process_stuck(struct process_context *ctx, const struct queue_row *row,
                                         struct process_run *run, const char *reason, int status,
                                         char *error)
{
    if (status == QUEUE_LEASE_LOST) {
        char *why = g_strdup_printf("%s; and %s", reason, error);
        enum process_result result = process_lost(ctx, row, run, why);
        g_free(why);
        g_free(error);
        return result;
    }
    process_outcome(run,
                    "%s; and cannot record that: %s (left to another attempt once the lease "
                    "expires)",
                    reason, error);
    g_free(error);
    return PROCESS_STUCK;
}

static enum process_result process_defer(struct process_context *ctx, const struct queue_row *row,
                                         struct process_run *run, const struct process_step *step)
{
    struct queue_retry retry = {(int)ctx->cfg->daemon.max_attempts, ctx->cfg->daemon.retry_base,
                                ctx->cfg->daemon.retry_max};
    gboolean failed = FALSE;
    char *error = NULL;
    int status = queue_defer(ctx->db, row, step->reason, &retry, step->llm_failure,
                             step->retry_after, &failed, &error);
    if (status != DB_OK)
        return process_stuck(ctx, row, run, step->reason, status, error);
    if (failed) {
        process_step_note(ctx, row->id, LOG_LEVEL_ERROR, "failed after %d attempts: %s",
                          row->attempts, step->reason);
        process_outcome(run, "%s (gave up after %d attempts)", step->reason, row->attempts);
        return PROCESS_FAILED;
    }
    process_step_note(ctx, row->id, LOG_LEVEL_WARNING, "deferred (attempt %d): %s", row->attempts,
                      step->reason);
    process_outcome(run, "%s", step->reason);
    return PROCESS_DEFERRED;
}

/* Waiting for something outside the message (llm_provider.h): the attempt is not counted. */
static enum process_result process_wait(struct process_context *ctx, const struct queue_row *row,
                                        struct process_run *run, const struct process_step *step)
{
    char *error = NULL;
    int status = queue_postpone(ctx->db, row, step->reason, step->retry_after, &error);
    if (status != DB_OK)
        return process_stuck(ctx, row, run, step->reason, status, error);
    process_step_note(ctx, row->id, LOG_LEVEL_WARNING, "waits, the attempt not counted: %s",
                      step->reason);
    process_outcome(run, "%s", step->reason);
    return PROCESS_DEFERRED;
}

static enum process_result process_finish(struct process_context *ctx, const struct queue_row *row,
                                          struct process_run *run, const struct process_step *step)
{
    static const char released[] = "released at shutdown; it stays queued";
    char *error = NULL;
    int status;
    switch (step->kind) {
    case STEP_DEFER:
        return process_defer(ctx, row, run, step);
    case STEP_LOST:
        return process_lost(ctx, row, run, step->reason);
    case STEP_HOLD:
        /* run->outcome already has the reason as the log may show it. */
        if ((status = queue_hold(ctx->db, row, step->reason, &error)) != DB_OK)
            return process_stuck(ctx, row, run, run->outcome, status, error);
        process_step_note(ctx, row->id, LOG_LEVEL_ERROR, "held for a person: %s", run->outcome);
        return PROCESS_HELD;
    case STEP_WAIT:
        return process_wait(ctx, row, run, step);
    case STEP_FAIL:
        process_step_note(ctx, row->id, LOG_LEVEL_ERROR, "failed: %s", step->reason);
        if ((status = queue_fail(ctx->db, row, step->reason, &error)) != DB_OK)
            return process_stuck(ctx, row, run, step->reason, status, error);
        process_outcome(run, "%s", step->reason);
        return PROCESS_FAILED;
    case STEP_RELEASE:
        if ((status = queue_release(ctx->db, row, &error)) != DB_OK)
            return process_stuck(ctx, row, run, released, status, error);
        process_outcome(run, "%s", released);
        return PROCESS_RELEASED;
    case STEP_DONE:
    case STEP_NEXT:
    default:
        if ((status = queue_complete(ctx->db, row, &error)) == QUEUE_LEASE_LOST)
            return process_stuck(ctx, row, run, "done", status, error);
        if (status != DB_OK) {
            process_outcome(run,
                            "cannot mark it done: %s (the lease will expire and the message is "
                            "taken again; what went out is not sent again)",
                            error);
            g_free(error);
            return PROCESS_STUCK;
        }
        return PROCESS_DONE;
    }
}

/* The one line per message (summary.h). */
static void process_summary(const struct queue_row *row, const struct process_run *run,
                            enum process_result result)
{
    static const enum log_level levels[] = {
        [PROCESS_DONE] = LOG_LEVEL_INFO,    [PROCESS_DEFERRED] = LOG_LEVEL_WARNING,
        [PROCESS_FAILED] = LOG_LEVEL_ERROR, [PROCESS_RELEASED] = LOG_LEVEL_INFO,
        [PROCESS_STUCK] = LOG_LEVEL_ERROR,  [PROCESS_HELD] = LOG_LEVEL_ERROR,
        [PROCESS_LOST] = LOG_LEVEL_WARNING,
    };
    static const char *const statuses[] = {
        [PROCESS_DONE] = "sent",      [PROCESS_DEFERRED] = "deferred",
        [PROCESS_FAILED] = "failed",  [PROCESS_RELEASED] = "deferred",
        [PROCESS_STUCK] = "deferred", [PROCESS_HELD] = "held",
        [PROCESS_LOST] = "lost",
    };
    const struct classification *c = run->classification;
    const struct action_outcome *a = &run->action;
    struct summary line = {
        .mta_queue_id = row->mta_queue_id,
        .id = row->id,
        .envelope_from = row->envelope_from,
        .mailbox = row->mailbox,
        .intent = c != NULL ? c->intent : NULL,
        .confidence = c != NULL ? c->confidence : 0,
        .action = run->decided ? store_action_kind_name(run->decision.action) : NULL,
        .recipient = a->recipient,
        .message_id = a->message_id,
        .status = result != PROCESS_DONE ? statuses[result]
                  : a->shadow            ? "shadow"
                  : !a->sent             ? "skipped"
                                         : statuses[result],
        .delay_us = clock_now_us() - row->received_at * G_USEC_PER_SEC,
        .llm_us = run->llm_us,
        .send_us = a->send_us,
        .reason = run->outcome != NULL ? run->outcome : run->decision.reason,
    };
    summary_log(levels[result], &line);
}

enum process_result process_row(struct process_context *ctx, const struct queue_row *row)
{
    struct process_run run = {0};
    run.llm_us = run.action.send_us = -1;
    /* A caller without a keeper (mailtriage-pipe --inline) gets one for this message. */
    struct lease_keeper *own = NULL;
    run.leases = ctx->leases;
    if (run.leases == NULL)
        run.leases = own = lease_keeper_start(ctx->cfg->daemon.database,
                                              (int)ctx->cfg->daemon.busy_timeout * 1000);
    lease_keeper_watch(run.leases, row);
    struct process_step step = process_steps(ctx, row, &run);
    enum process_result result = process_finish(ctx, row, &run, &step);
    lease_keeper_forget(run.leases, row);
    lease_keeper_stop(own);
    process_summary(row, &run, result);
    g_free(step.reason);
    process_run_clear(&run);
    return result;
}

/* ---- mailtriaged -t: the same decision, without a queue and without sending ---- */

/* The second step of mailtriaged -t: the reply text, when the plan sends the model's. */
static void process_try_reply(struct config *cfg, struct llm_client *llm, struct process_run *run,
                              GString *out)
{
    if (!decide_needs_reply(&run->decision, run->classification)) {
        g_string_append(out, "reply request: none (the plan sends no text of the model's)\n");
        return;
    }
    struct llm_request request = {.cfg = cfg, .mailbox = run->mailbox, .msg = run->msg};
    struct llm_failure failure = {0};
    struct classification *c = run->classification;
    if (llm_write_reply(llm, &request, c, NULL, &failure) != LLM_ANSWERED) {
        g_string_append_printf(out, "reply request: failed: %s (the reply gets no text)\n",
                               failure.reason);
        c->reply_error = g_strdup(failure.reason);
        c->reply_settled = TRUE;
        llm_failure_clear(&failure);
    } else
        g_string_append_printf(out,
                               "reply request: answered (%" G_GINT64_FORMAT " ms, %" G_GINT64_FORMAT
                               " prompt and %" G_GINT64_FORMAT " completion tokens)%s%s\n",
                               c->reply_latency_ms, c->reply_prompt_tokens,
                               c->reply_completion_tokens, c->reply_error != NULL ? ": " : "",
                               c->reply_error != NULL ? c->reply_error : "");
    decide_plan_clear(&run->decision);
    decide_action(cfg, run->mailbox, &run->policy, run->classification, &run->decision);
}

int process_try(struct config *cfg, struct llm_client *llm, const char *raw, size_t len,
                const char *mailbox, const char *envelope_from, GString *out, char **error_r)
{
    struct process_run run = {0};
    struct mime_limits limits;
    mime_limits_default(&limits);

    run.mailbox = config_mailbox_find(cfg, mailbox);
    if (run.mailbox == NULL) {
        *error_r = g_strdup_printf("mailbox %s is not in the configuration", mailbox);
        return -1;
    }
    if (mime_parse(raw, len, &limits, &run.msg, error_r) < 0)
        return -1;
    mime_message_dump(run.msg, out);
    policy_decide(cfg, envelope_from, run.msg, &run.policy);
    g_string_append_printf(out, "\npolicy: %s\n",
                           run.policy.reason != NULL ? run.policy.reason
                                                     : "a reply may go (the database rules, "
                                                       "reply interval, loop caps and bounces, "
                                                       "are not applied by -t)");
    if (run.policy.verdict == POLICY_REPLY || cfg->policy.classify_suppressed) {
        struct llm_request request = {.cfg = cfg, .mailbox = run.mailbox, .msg = run.msg};
        struct llm_failure failure = {0};
        if (llm_classify(llm, &request, NULL, &run.classification, &failure) != LLM_ANSWERED) {
            g_string_append_printf(out, "llm: failed: %s (the builtin classifier decides)\n",
                                   failure.reason);
            llm_failure_clear(&failure);
            run.classification = llm_builtin_classify(&request);
        }
        const struct classification *c = run.classification;
        g_string_append_printf(out,
                               "classification: intent=%s provider=%s confidence=%.2f%s%s\n"
                               "summary: %s\n",
                               c->intent, c->provider, c->confidence, c->error ? " error=" : "",
                               c->error ? c->error : "", c->summary ? c->summary : "");
    }
    decide_action(cfg, run.mailbox, &run.policy, run.classification, &run.decision);
    process_try_reply(cfg, llm, &run, out);
    const struct decide_plan *decision = &run.decision;
    g_string_append_printf(out, "action: %s (%s)\n", store_action_kind_name(decision->action),
                           decision->reason);
    if (decision->action == STORE_ACTION_REPLY || decision->action == STORE_ACTION_DRAFT) {
        struct compose_reply reply = {cfg,     run.mailbox,   decision->intent,
                                      run.msg, envelope_from, run.classification};
        char *text = compose_reply_text(&reply);
        g_string_append_printf(out, "\n----- reply text -----\n%s", text);
        g_free(text);
    }
    process_run_clear(&run);
    return 0;
}
