/*
 * process: parse, policy, classify, act and record one message; see process.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "compose.h"
#include "db.h"
#include "decide.h"
#include "draft.h"
#include "inject.h"
#include "log.h"
#include "mime.h"
#include "policy.h"
#include "process.h"
#include "store.h"
#include "webhook.h"

/* Longest reason quoted in the summary line. */
#define PROCESS_SUMMARY_REASON_MAX 400

/* What a message is about to get, and why; and what its summary line reports. */
struct process_plan {
    const struct config_mailbox *mailbox;
    struct mime_message *msg;
    struct policy_decision policy; /* may a reply go, and if not, why */
    struct classification *classification;
    struct decide_plan decision;
    gboolean decided; /* decision holds the chosen action */
    gint64 llm_us;    /* time in the classifier, -1 when it was not asked in this attempt */
    gint64 send_us;   /* time in sendmail or the webhook, -1 when none ran */
    char *recipient;  /* of the mail performed, NULL when none */
    char *message_id; /* of the mail performed (without angle brackets) */
    gboolean sent;    /* the mail or the webhook went out in this attempt */
    char *outcome;    /* why it was deferred, failed or skipped, when the decision does not say */
};

static void process_plan_clear(struct process_plan *plan)
{
    mime_message_free(plan->msg);
    policy_decision_clear(&plan->policy);
    classification_free(plan->classification);
    decide_plan_clear(&plan->decision);
    g_free(plan->recipient);
    g_free(plan->message_id);
    g_free(plan->outcome);
}

static void process_outcome(struct process_plan *plan, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void process_outcome(struct process_plan *plan, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_free(plan->outcome);
    plan->outcome = text;
}

static const char *process_level_name(enum log_level level)
{
    return level == LOG_LEVEL_ERROR ? "error" : level == LOG_LEVEL_WARNING ? "warning" : "info";
}

/* Keep a line in the message's audit trail; with LOUD, log it too, else log it at debug level
 * only, because the message's summary line says the same. */
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
static void process_step(struct process_context *ctx, gint64 id, enum log_level level,
                         const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static void process_step(struct process_context *ctx, gint64 id, enum log_level level,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    process_note_v(ctx, id, level, FALSE, fmt, ap);
    va_end(ap);
}

static struct queue_retry process_retry(const struct config *cfg)
{
    struct queue_retry retry = {(int)cfg->daemon.max_attempts, cfg->daemon.retry_base,
                                cfg->daemon.retry_max};
    return retry;
}

/* The queue could not take the outcome: the lease expires and another attempt comes, which
 * does not repeat a mail that went out (store_action_was_sent). */
static enum process_result process_stuck(struct process_plan *plan, const char *reason, char *error)
{
    process_outcome(plan,
                    "%s; and cannot record that: %s (left to another attempt once the lease "
                    "expires)",
                    reason, error);
    g_free(error);
    return PROCESS_STUCK;
}

static enum process_result process_fail(struct process_context *ctx, const struct queue_row *row,
                                        struct process_plan *plan, const char *reason)
{
    char *error = NULL;
    process_step(ctx, row->id, LOG_LEVEL_ERROR, "failed: %s", reason);
    if (queue_fail(ctx->db, row, ctx->owner, reason, &error) != DB_OK)
        return process_stuck(plan, reason, error);
    process_outcome(plan, "%s", reason);
    return PROCESS_FAILED;
}

static enum process_result process_defer(struct process_context *ctx, const struct queue_row *row,
                                         struct process_plan *plan, const char *reason,
                                         gboolean llm_failure, gint64 retry_after)
{
    struct queue_retry retry = process_retry(ctx->cfg);
    gboolean failed = FALSE;
    char *error = NULL;
    if (queue_defer(ctx->db, row, ctx->owner, reason, &retry, llm_failure, retry_after, &failed,
                    &error) != DB_OK)
        return process_stuck(plan, reason, error);
    if (failed) {
        process_step(ctx, row->id, LOG_LEVEL_ERROR, "failed after %d attempts: %s", row->attempts,
                     reason);
        process_outcome(plan, "%s (gave up after %d attempts)", reason, row->attempts);
        return PROCESS_FAILED;
    }
    process_step(ctx, row->id, LOG_LEVEL_WARNING, "deferred (attempt %d): %s", row->attempts,
                 reason);
    process_outcome(plan, "%s", reason);
    return PROCESS_DEFERRED;
}

static enum process_result process_release(struct process_context *ctx, const struct queue_row *row,
                                           struct process_plan *plan)
{
    static const char reason[] = "released at shutdown; it stays queued";
    char *error = NULL;
    if (queue_release(ctx->db, row, ctx->owner, &error) != DB_OK)
        return process_stuck(plan, reason, error);
    process_outcome(plan, "%s", reason);
    return PROCESS_RELEASED;
}

/* Choose the action from the policy verdict, the intent's rule and the mailbox's mode. */
static void process_choose(const struct config *cfg, struct process_plan *plan)
{
    decide_action(cfg, plan->mailbox, &plan->policy, plan->classification, &plan->decision);
    plan->decided = TRUE;
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
        enum process_result result = process_defer(ctx, row, plan, error, FALSE, 0);
        g_free(error);
        return result;
    }
    if (found == 1)
        return PROCESS_DONE;

    struct llm_request request = {ctx->cfg, plan->mailbox, plan->msg};
    struct llm_failure failure = {NULL, 0};
    gint64 started = g_get_monotonic_time();
    int answered = llm_classify(ctx->llm, &request, &plan->classification, &failure);
    plan->llm_us = g_get_monotonic_time() - started;
    if (answered != LLM_ANSWERED) {
        if (ctx->stop != NULL && g_atomic_int_get(ctx->stop)) {
            llm_failure_clear(&failure);
            return process_release(ctx, row, plan);
        }
        if ((guint)row->llm_failures + 1 < ctx->cfg->llm.max_attempts) {
            char *reason = g_strdup_printf("LLM: %s", failure.reason);
            enum process_result result =
                process_defer(ctx, row, plan, reason, TRUE, failure.retry_after);
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
        enum process_result result = process_defer(ctx, row, plan, error, FALSE, 0);
        g_free(error);
        return result;
    }
    /* The summary line has intent and confidence; an unusable answer or one that needed
     * defaults is worth a line of its own. */
    const struct classification *c = plan->classification;
    char *text = g_strdup_printf(
        "classified %s by %s%s%s (confidence %.2f, %" G_GINT64_FORMAT " ms)%s%s", c->intent,
        c->provider, c->model != NULL ? " " : "", c->model != NULL ? c->model : "", c->confidence,
        c->latency_ms, c->error != NULL ? ": " : "", c->error != NULL ? c->error : "");
    if (c->valid && c->error == NULL)
        process_step(ctx, row->id, LOG_LEVEL_INFO, "%s", text);
    else
        process_note(ctx, row->id, c->valid ? LOG_LEVEL_INFO : LOG_LEVEL_WARNING, "%s", text);
    g_free(text);
    return PROCESS_DONE;
}

/* The mail an action sends: its text, recipient, envelope sender and Message-ID. A draft
 * stores the reply itself for approval and sends the person the proposal with the draft's
 * number. NULL, with the reason, when the draft cannot be stored. */
static char *process_compose(struct process_context *ctx, const struct queue_row *row,
                             const struct process_plan *plan, const char **recipient_r,
                             const char **sender_r, char **message_id_r, char **error_r)
{
    const struct decide_plan *decision = &plan->decision;
    struct compose_reply reply = {ctx->cfg,  plan->mailbox,      decision->intent,
                                  plan->msg, row->envelope_from, plan->classification};
    if (decision->action == STORE_ACTION_REPLY) {
        *recipient_r = row->envelope_from;
        *sender_r = ""; /* null envelope sender: a bounce of a reply cannot loop */
        return compose_reply(&reply, message_id_r);
    }
    char *draft = NULL, *why = NULL;
    if (decision->action == STORE_ACTION_DRAFT) {
        char *reply_id = NULL;
        char *reply_text = compose_reply(&reply, &reply_id);
        gint64 draft_id = 0;
        int status = draft_add(ctx->db, row->id, row->envelope_from, reply_id, reply_text,
                               &draft_id, error_r);
        g_free(reply_text);
        g_free(reply_id);
        if (status != DB_OK)
            return NULL;
        draft = compose_reply_text(&reply);
        why = g_strdup_printf("%s; draft %" G_GINT64_FORMAT " waits for approval: "
                              "mailtriagectl draft approve %" G_GINT64_FORMAT,
                              decision->reason, draft_id, draft_id);
    }
    struct compose_escalation escalation = {ctx->cfg,
                                            plan->mailbox,
                                            plan->msg,
                                            row->id,
                                            row->envelope_from,
                                            plan->classification,
                                            why != NULL ? why : decision->reason,
                                            draft};
    *recipient_r = plan->mailbox->escalate_to;
    *sender_r = plan->mailbox->address;
    char *text = compose_escalation(&escalation, message_id_r);
    g_free(draft);
    g_free(why);
    return text;
}

/* Send the planned mail and record the action. */
static enum process_result process_send(struct process_context *ctx, const struct queue_row *row,
                                        struct process_plan *plan)
{
    enum store_action_kind kind = plan->decision.action;
    const char *recipient, *sender;
    char *message_id = NULL, *error = NULL;
    char *text = process_compose(ctx, row, plan, &recipient, &sender, &message_id, &error);
    if (text == NULL) {
        enum process_result result = process_defer(ctx, row, plan, error, FALSE, 0);
        g_free(error);
        return result;
    }
    plan->recipient = g_strdup(recipient);
    plan->message_id = message_id;
    struct store_action action = {kind, plan->decision.reason, recipient, sender, message_id};
    gint64 action_id = 0;
    enum process_result result = PROCESS_DONE;

    if (store_action_add(ctx->db, row->id, &action, STORE_ACTION_PENDING, &action_id, &error) !=
        DB_OK) {
        result = process_defer(ctx, row, plan, error, FALSE, 0);
        g_free(error);
        g_free(text);
        return result;
    }
    int exit_status = -1;
    char *failure = NULL;
    gint64 started = g_get_monotonic_time();
    enum inject_status sent =
        inject_message(ctx->cfg->sendmail.path, ctx->cfg->sendmail.timeout, sender, recipient, text,
                       strlen(text), &exit_status, &failure);
    plan->send_us = g_get_monotonic_time() - started;
    enum store_action_state state = sent == INJECT_SENT ? STORE_ACTION_SENT : STORE_ACTION_FAILED;
    if (store_action_finish(ctx->db, action_id, state, exit_status, failure, &error) != DB_OK) {
        log_msg(LOG_LEVEL_ERROR, row->id, "cannot record the %s: %s", store_action_kind_name(kind),
                error);
        g_free(error);
    }
    char buf[LOG_ADDR_MAX];
    plan->sent = sent == INJECT_SENT;
    if (sent == INJECT_SENT)
        process_step(ctx, row->id, LOG_LEVEL_INFO, "%s sent to <%s>, message-id <%s>",
                     store_action_kind_name(kind), log_addr(recipient, buf), message_id);
    else if (sent == INJECT_TEMPFAIL)
        result = process_defer(ctx, row, plan, failure, FALSE, 0);
    else
        result = process_fail(ctx, row, plan, failure);
    g_free(failure);
    g_free(text);
    return result;
}

static enum process_result process_webhook(struct process_context *ctx, const struct queue_row *row,
                                           struct process_plan *plan)
{
    const char *url = plan->decision.intent->webhook_url;
    struct store_action action = {STORE_ACTION_WEBHOOK, plan->decision.reason, url, NULL, NULL};
    struct webhook_record record = {row->id, plan->mailbox->address, row->envelope_from, plan->msg,
                                    plan->classification};
    gint64 action_id = 0;
    char *error = NULL;
    if (store_action_add(ctx->db, row->id, &action, STORE_ACTION_PENDING, &action_id, &error) !=
        DB_OK) {
        enum process_result result = process_defer(ctx, row, plan, error, FALSE, 0);
        g_free(error);
        return result;
    }
    char *failure = NULL;
    gint64 started = g_get_monotonic_time();
    int posted = webhook_post(url, ctx->cfg->daemon.webhook_timeout, &record, &failure);
    plan->send_us = g_get_monotonic_time() - started;
    if (store_action_finish(ctx->db, action_id,
                            posted == 0 ? STORE_ACTION_SENT : STORE_ACTION_FAILED, -1, failure,
                            &error) != DB_OK) {
        log_msg(LOG_LEVEL_ERROR, row->id, "cannot record the webhook: %s", error);
        g_free(error);
    }
    enum process_result result = PROCESS_DONE;
    plan->sent = posted == 0;
    if (posted != 0)
        result = process_defer(ctx, row, plan, failure, FALSE, 0);
    else
        process_step(ctx, row->id, LOG_LEVEL_INFO, "webhook posted to %s", url);
    g_free(failure);
    return result;
}

static enum process_result process_act(struct process_context *ctx, const struct queue_row *row,
                                       struct process_plan *plan)
{
    const struct decide_plan *decision = &plan->decision;
    char *error = NULL;
    if (decision->action == STORE_ACTION_NONE) {
        struct store_action action = {STORE_ACTION_NONE, decision->reason, NULL, NULL, NULL};
        if (store_action_add(ctx->db, row->id, &action, STORE_ACTION_SKIPPED, NULL, &error) !=
            DB_OK) {
            enum process_result result = process_defer(ctx, row, plan, error, FALSE, 0);
            g_free(error);
            return result;
        }
        process_step(ctx, row->id, LOG_LEVEL_INFO, "%s", decision->reason);
        return PROCESS_DONE;
    }
    /* An earlier attempt that sent this mail but could not finish must not send it twice. */
    int sent = store_action_was_sent(ctx->db, row->id, decision->action, &error);
    if (sent < 0) {
        enum process_result result = process_defer(ctx, row, plan, error, FALSE, 0);
        g_free(error);
        return result;
    }
    if (sent == 1) {
        process_outcome(plan, "the %s went out in an earlier attempt; not sent again",
                        store_action_kind_name(decision->action));
        return PROCESS_DONE;
    }
    if (decision->action == STORE_ACTION_WEBHOOK)
        return process_webhook(ctx, row, plan);
    return process_send(ctx, row, plan);
}

/* The rules that need the database: a recent hard bounce, the reply interval, the loop caps.
 * They hold back a reply that the other rules let go; 0, or < 0 on a database error. */
static int process_database_rules(struct process_context *ctx, const struct queue_row *row,
                                  struct process_plan *plan, char **error_r)
{
    if (plan->policy.verdict != POLICY_REPLY || plan->policy.allowed)
        return 0;
    const struct config_policy *policy = &ctx->cfg->policy;
    const struct config_mailbox *mailbox = plan->mailbox;
    const char *sender = row->envelope_from;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    char *reason = NULL;
    int found;

    if (policy->bounce_block > 0 &&
        (found = store_bounced_since(ctx->db, sender, now - policy->bounce_block, error_r)) != 0) {
        if (found < 0)
            return found;
        reason = g_strdup("a reply to this address hard-bounced within bounce_block");
    }
    if (reason == NULL && mailbox->reply_interval > 0 &&
        (found = store_replied_since(ctx->db, mailbox->address, sender,
                                     now - mailbox->reply_interval, error_r)) != 0) {
        if (found < 0)
            return found;
        reason = g_strdup("the sender had an automatic reply within reply_interval (RFC 3834)");
    }
    if (reason == NULL) {
        int from_mailbox = store_replies_to_since(ctx->db, mailbox->address, sender,
                                                  now - policy->loop_window, error_r);
        int from_all =
            from_mailbox < 0
                ? from_mailbox
                : store_replies_to_since(ctx->db, NULL, sender, now - policy->loop_window, error_r);
        if (from_all < 0)
            return from_all;
        if ((guint)from_mailbox >= policy->loop_limit_mailbox)
            reason = g_strdup_printf("loop cap: %d automatic replies to this address from this "
                                     "mailbox within loop_window",
                                     from_mailbox);
        else if ((guint)from_all >= policy->loop_limit_total)
            reason = g_strdup_printf("loop cap: %d automatic replies to this address within "
                                     "loop_window",
                                     from_all);
    }
    if (reason != NULL) {
        plan->policy.verdict = POLICY_HELD_BACK;
        plan->policy.reason = reason;
    }
    return 0;
}

/* Our own Message-IDs ("....mailtriage@HOST") quoted in TEXT. */
static GPtrArray *process_our_message_ids(const char *text, size_t len)
{
    static const char marker[] = ".mailtriage@";
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    const char *end = text + len;
    for (const char *p = g_strstr_len(text, (gssize)len, marker); p != NULL && ids->len < 20;
         p = g_strstr_len(p + 1, end - p - 1, marker)) {
        const char *open = p;
        while (open > text && open[-1] != '<' && p - open < 64)
            open--;
        const char *close = memchr(p, '>', (size_t)MIN(end - p, 300));
        if (open == text || open[-1] != '<' || close == NULL)
            continue;
        char *id = g_strndup(open, (gsize)(close - open));
        if (strpbrk(id, " \t\r\n<") == NULL &&
            !g_ptr_array_find_with_equal_func(ids, id, g_str_equal, NULL))
            g_ptr_array_add(ids, id);
        else
            g_free(id);
    }
    return ids;
}

/* The value of the first "NAME: value" line in TEXT, capped, or NULL. */
static char *process_field(const char *text, size_t len, const char *name)
{
    const char *end = text + len;
    for (const char *p = g_strstr_len(text, (gssize)len, name); p != NULL;
         p = g_strstr_len(p + 1, end - p - 1, name)) {
        if (p != text && p[-1] != '\n')
            continue;
        const char *value = p + strlen(name);
        size_t n = strcspn(value, "\r\n");
        return g_strstrip(g_strndup(value, MIN(n, (size_t)300)));
    }
    return NULL;
}

/* A delivery report for one of our replies: a hard bounce (5.x.x) blocks the address for
 * bounce_block. The report itself gets no reply (it is automatic mail). */
static int process_bounce(struct process_context *ctx, const struct queue_row *row,
                          const struct process_plan *plan, char **error_r)
{
    if (plan->policy.verdict != POLICY_AUTOMATED)
        return 0;
    gsize len = 0;
    const char *raw = g_bytes_get_data(row->raw, &len);
    if (raw == NULL || g_strstr_len(raw, (gssize)len, "Status:") == NULL)
        return 0;
    char *status = process_field(raw, len, "Status:");
    if (status == NULL || status[0] != '5') {
        g_free(status);
        return 0;
    }
    char *diagnostic = process_field(raw, len, "Diagnostic-Code:");
    GPtrArray *ids = process_our_message_ids(raw, len);
    int result = 0;
    for (guint i = 0; i < ids->len && result == 0; i++) {
        gint64 action = 0;
        char *recipient = NULL;
        int found =
            store_reply_find(ctx->db, g_ptr_array_index(ids, i), &action, &recipient, error_r);
        if (found < 0)
            result = found;
        else if (found == 1) {
            result =
                store_bounce_add(ctx->db, recipient, action, row->id, status, diagnostic, error_r);
            char buf[LOG_ADDR_MAX];
            if (result == 0)
                process_note(ctx, row->id, LOG_LEVEL_WARNING,
                             "our reply <%s> to <%s> hard-bounced (%s): no automatic reply to "
                             "it for bounce_block",
                             (const char *)g_ptr_array_index(ids, i), log_addr(recipient, buf),
                             status);
            g_free(recipient);
        }
    }
    g_ptr_array_unref(ids);
    g_free(diagnostic);
    g_free(status);
    return result;
}

static enum process_result process_plan_and_act(struct process_context *ctx,
                                                const struct queue_row *row,
                                                struct process_plan *plan)
{
    char *error = NULL;
    if (store_message_headers(ctx->db, row->id, plan->msg->from_addr, plan->msg->subject,
                              plan->msg->message_id, plan->msg->in_reply_to, &error) != DB_OK ||
        store_actions_interrupted(ctx->db, row->id, &error) != DB_OK) {
        enum process_result result = process_defer(ctx, row, plan, error, FALSE, 0);
        g_free(error);
        return result;
    }

    policy_decide(ctx->cfg, row->envelope_from, plan->msg, &plan->policy);
    if (process_database_rules(ctx, row, plan, &error) < 0 ||
        process_bounce(ctx, row, plan, &error) < 0) {
        enum process_result result = process_defer(ctx, row, plan, error, FALSE, 0);
        g_free(error);
        return result;
    }
    /* No tokens are spent on mail that gets no answer, unless classify_suppressed asks. */
    gboolean answerable = plan->policy.verdict == POLICY_REPLY;
    if (plan->mailbox->mode != CONFIG_MODE_OFF &&
        (answerable || ctx->cfg->policy.classify_suppressed)) {
        enum process_result result = process_classify(ctx, row, plan);
        if (result != PROCESS_DONE)
            return result;
    }
    process_choose(ctx->cfg, plan);
    return process_act(ctx, row, plan);
}

/* A delay in the summary line: seconds with one or two decimals, "-" when US < 0. */
static const char *process_seconds(gint64 us, char buf[32])
{
    if (us < 0)
        return "-";
    if (snprintf(buf, 32, "%.2f", (double)us / G_USEC_PER_SEC) >= 32)
        return "?";
    size_t len = strlen(buf);
    if (buf[len - 1] == '0') /* 1.20 -> 1.2; 0.00 -> 0.0 */
        buf[len - 1] = '\0';
    return buf;
}

/* ADDR in the summary line: <masked address>, <> for the null sender, - when unknown. */
static const char *process_summary_addr(const char *addr, char buf[LOG_ADDR_MAX + 2])
{
    char masked[LOG_ADDR_MAX];
    if (addr == NULL)
        return "-";
    if (*addr == '\0')
        return "<>";
    snprintf(buf, LOG_ADDR_MAX + 2, "<%s>", log_addr(addr, masked)); /* fits: masked is capped */
    return buf;
}

/* REASON fit to be quoted at the end of the line: valid UTF-8, no control characters, no
 * double quotes (they become single ones), capped. */
static char *process_summary_reason(const char *reason)
{
    char *valid = g_utf8_make_valid(reason, -1);
    GString *out = g_string_new(NULL);
    const char *p = valid;
    for (int n = 0; *p != '\0' && n < PROCESS_SUMMARY_REASON_MAX; p = g_utf8_next_char(p), n++) {
        gunichar c = g_utf8_get_char(p);
        if (c == '"')
            g_string_append_c(out, '\'');
        else if (g_unichar_iscntrl(c))
            g_string_append_c(out, ' ');
        else
            g_string_append_unichar(out, c);
    }
    if (*p != '\0')
        g_string_append(out, "...");
    g_free(valid);
    return g_string_free(out, FALSE);
}

/* The one line per message, as Postfix logs a delivery: what came in, what was decided, what
 * went out, how it ended and how long it took. */
static void process_summary(const struct queue_row *row, const struct process_plan *plan,
                            enum process_result result)
{
    const char *status = "deferred";
    enum log_level level = LOG_LEVEL_WARNING;
    if (result == PROCESS_DONE) {
        status = plan->sent ? "sent" : "skipped";
        level = LOG_LEVEL_INFO;
    } else if (result == PROCESS_FAILED) {
        status = "failed";
        level = LOG_LEVEL_ERROR;
    } else if (result == PROCESS_RELEASED)
        level = LOG_LEVEL_INFO; /* a shutdown, not a problem */
    else if (result == PROCESS_STUCK)
        level = LOG_LEVEL_ERROR;

    const struct classification *c = plan->classification;
    char from[LOG_ADDR_MAX + 2], mailbox[LOG_ADDR_MAX + 2], to[LOG_ADDR_MAX + 2];
    char confidence[16] = "-", delay[32], llm[32], send[32];
    if (c != NULL)
        snprintf(confidence, sizeof(confidence), "%.2f", c->confidence); /* fits: 0 to 1 */
    gint64 delay_us = MAX(g_get_real_time() - row->received_at * G_USEC_PER_SEC, 0);
    char *msgid = plan->message_id != NULL ? g_strdup_printf("<%s>", plan->message_id) : NULL;
    const char *reason = plan->outcome != NULL ? plan->outcome : plan->decision.reason;
    char *quoted = reason != NULL ? process_summary_reason(reason) : NULL;
    log_msg_mta(level, row->mta_queue_id, row->id,
                "id=%" G_GINT64_FORMAT " from=%s mailbox=%s intent=%s confidence=%s action=%s "
                "to=%s msgid=%s status=%s delay=%s llm=%s send=%s%s%s%s",
                row->id, process_summary_addr(row->envelope_from, from),
                process_summary_addr(row->mailbox, mailbox), c != NULL ? c->intent : "-",
                confidence, plan->decided ? store_action_kind_name(plan->decision.action) : "-",
                process_summary_addr(plan->recipient, to), msgid != NULL ? msgid : "-", status,
                process_seconds(delay_us, delay), process_seconds(plan->llm_us, llm),
                process_seconds(plan->send_us, send), quoted != NULL ? " reason=\"" : "",
                quoted != NULL ? quoted : "", quoted != NULL ? "\"" : "");
    g_free(quoted);
    g_free(msgid);
}

/* Every step of one message; the result says how the queue was left. */
static enum process_result process_steps(struct process_context *ctx, const struct queue_row *row,
                                         struct process_plan *plan)
{
    char *error = NULL;
    enum process_result result;

    plan->mailbox = config_mailbox_find(ctx->cfg, row->mailbox);
    if (plan->mailbox == NULL) {
        char *reason = g_strdup_printf("mailbox %s is not in the configuration", row->mailbox);
        result = process_fail(ctx, row, plan, reason);
        g_free(reason);
        return result;
    }
    if (process_parse(row, plan, &error) < 0) {
        char *reason = g_strdup_printf("cannot parse the message: %s", error);
        result = process_fail(ctx, row, plan, reason);
        g_free(reason);
        g_free(error);
        return result;
    }
    result = process_plan_and_act(ctx, row, plan);
    if (result == PROCESS_DONE && queue_complete(ctx->db, row, ctx->owner, &error) != DB_OK) {
        process_outcome(plan,
                        "cannot mark it done: %s (the lease will expire and the message is "
                        "taken again; what went out is not sent again)",
                        error);
        g_free(error);
        return PROCESS_STUCK;
    }
    return result;
}

enum process_result process_row(struct process_context *ctx, const struct queue_row *row)
{
    struct process_plan plan = {0};
    plan.llm_us = plan.send_us = -1;
    enum process_result result = process_steps(ctx, row, &plan);
    process_summary(row, &plan, result);
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
    policy_decide(cfg, envelope_from, plan.msg, &plan.policy);
    g_string_append_printf(out, "\npolicy: %s\n",
                           plan.policy.reason != NULL ? plan.policy.reason
                                                      : "a reply may go (the database rules, "
                                                        "reply interval, loop caps and bounces, "
                                                        "are not applied by -t)");
    if (plan.policy.verdict == POLICY_REPLY || cfg->policy.classify_suppressed) {
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
    process_choose(cfg, &plan);
    const struct decide_plan *decision = &plan.decision;
    g_string_append_printf(out, "action: %s (%s)\n", store_action_kind_name(decision->action),
                           decision->reason);
    if (decision->action == STORE_ACTION_REPLY || decision->action == STORE_ACTION_DRAFT) {
        struct compose_reply reply = {cfg,      plan.mailbox,  decision->intent,
                                      plan.msg, envelope_from, plan.classification};
        char *text = compose_reply_text(&reply);
        g_string_append_printf(out, "\n----- reply text -----\n%s", text);
        g_free(text);
    }
    process_plan_clear(&plan);
    return 0;
}
