/*
 * llm_gate: the circuit breaker, the budget and the health record around a remote request;
 * see llm_gate.h.
 */
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "budget.h"
#include "clock.h"
#include "db.h"
#include "health.h"
#include "llm_gate.h"
#include "redact.h"
#include "log.h"
#include "text.h"

/* The health record is written at each change, and at least this often while requests go, so
 * that its times stay current. */
#define LLM_GATE_RECORD_SECONDS 60
/* How much longer than [llm] timeout a probe may take before another one may go. */
#define LLM_GATE_PROBE_GRACE 30
/* Characters of a failure's words in a message's own reason: the endpoint's log line has them
 * whole. */
#define LLM_GATE_MAX_CAUSE 160

/* The process's view of the endpoint, shared by its threads. */
static GMutex llm_gate_lock;
static struct breaker *llm_gate_breaker;
static char *llm_gate_endpoint;  /* the digest of url, model and key the breaker is about */
static gboolean llm_gate_seeded; /* the recorded state was looked up */
/* The health record, under a lock of its own. */
static GMutex llm_gate_record_lock;
static guint64 llm_gate_recorded; /* the breaker's changes when last recorded */
static gint64 llm_gate_recorded_at;

static void llm_gate_settings(const struct config *cfg, struct breaker_settings *settings_r)
{
    settings_r->threshold = cfg->llm.breaker_threshold;
    settings_r->cooldown = cfg->llm.breaker_cooldown;
    settings_r->cooldown_max = cfg->llm.breaker_cooldown_max;
    settings_r->probe_timeout = cfg->llm.timeout + LLM_GATE_PROBE_GRACE;
}

/* A short digest of what makes the endpoint what it is. The key is in it so that a state found
 * with a wrong key is not taken on once the key is right; 64 bits of a hash that also covers
 * the URL and model tell nothing about the key. */
static char *llm_gate_digest(const struct config *cfg)
{
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
    const char *parts[] = {cfg->llm.url, "\n", cfg->llm.model, "\n",
                           cfg->api_key != NULL ? cfg->api_key : ""};
    for (size_t i = 0; i < G_N_ELEMENTS(parts); i++)
        g_checksum_update(sum, (const guchar *)parts[i], (gssize)strlen(parts[i]));
    char *digest = g_strndup(g_checksum_get_string(sum), 16);
    g_checksum_free(sum);
    return digest;
}

/* Under the lock, once per endpoint and process: take on the state that another process
 * recorded for the same endpoint (breaker_adopt() says which states count). */
static void llm_gate_seed(const struct config *cfg, const struct llm_meter *meter)
{
    struct breaker_view view;
    char *digest = NULL, *error = NULL;
    int found = health_load(meter->db, cfg->llm.url, &view, &digest, &error);
    if (found < 0) {
        log_msg(LOG_LEVEL_WARNING, meter->message,
                "cannot read the LLM endpoint's recorded state: %s", error);
        g_free(error);
        return;
    }
    if (found == 1 && g_strcmp0(digest, llm_gate_endpoint) == 0)
        breaker_adopt(llm_gate_breaker, &view, clock_now());
    if (found == 1)
        breaker_view_clear(&view);
    g_free(digest);
    llm_gate_seeded = TRUE;
}

/* The process's breaker, new for a new endpoint. */
static struct breaker *llm_gate_breaker_for(const struct config *cfg, const struct llm_meter *meter)
{
    char *digest = llm_gate_digest(cfg);
    g_mutex_lock(&llm_gate_lock);
    if (llm_gate_breaker == NULL)
        llm_gate_breaker = breaker_new();
    if (g_strcmp0(llm_gate_endpoint, digest) != 0) {
        if (llm_gate_endpoint != NULL)
            breaker_reset(llm_gate_breaker);
        g_free(llm_gate_endpoint);
        llm_gate_endpoint = g_steal_pointer(&digest);
        llm_gate_seeded = FALSE;
    }
    if (!llm_gate_seeded && meter != NULL)
        llm_gate_seed(cfg, meter);
    struct breaker *breaker = llm_gate_breaker;
    g_mutex_unlock(&llm_gate_lock);
    g_free(digest);
    return breaker;
}

/* The endpoint's trouble in a few words for a message's reason: its status, or the start of
 * its reason; the log line and `mailtriagectl health` have it whole. */
static char *llm_gate_cause(const struct breaker_view *view)
{
    if (view->http_status > 0)
        return g_strdup_printf("HTTP %ld", view->http_status);
    const char *reason = view->reason != NULL ? view->reason : "(no reason)";
    char *cut = text_cut(reason, LLM_GATE_MAX_CAUSE);
    char *cause = g_strconcat(cut, strlen(cut) < strlen(reason) ? "..." : "", NULL);
    g_free(cut);
    return cause;
}

/* Why no request went: the endpoint is shut until RETRY_AT. */
static void llm_gate_kept_back(struct breaker *breaker, gint64 retry_at, gint64 now,
                               struct llm_failure *failure_r)
{
    struct breaker_view view;
    breaker_view(breaker, &view);
    char *when = clock_format_local(retry_at, "%H:%M:%S");
    char *cause = llm_gate_cause(&view);
    failure_r->requested = FALSE;
    failure_r->retry_after = MAX(retry_at - now, 1);
    failure_r->http_status = view.http_status;
    if (view.state == BREAKER_MISCONFIGURED) {
        failure_r->kind = LLM_FAILURE_CONFIG;
        failure_r->reason = g_strdup_printf("not sent: the LLM endpoint is misconfigured (%s); "
                                            "next probe at %s, see mailtriagectl health",
                                            cause, when);
    } else {
        failure_r->kind = LLM_FAILURE_TRANSIENT;
        failure_r->reason = g_strdup_printf(
            "not sent: the circuit breaker is open until %s (last: %s)", when, cause);
    }
    g_free(cause);
    g_free(when);
    breaker_view_clear(&view);
}

gboolean llm_gate_enter(const struct config *cfg, const struct llm_meter *meter,
                        struct llm_gate_pass *pass_r, struct llm_failure *failure_r)
{
    struct breaker_settings settings;
    llm_gate_settings(cfg, &settings);
    struct breaker *breaker = llm_gate_breaker_for(cfg, meter);
    gint64 now = clock_now(), retry_at = 0;
    *pass_r =
        (struct llm_gate_pass){breaker, breaker_admit(breaker, &settings, now, &retry_at), 0, now};
    if (pass_r->admission == BREAKER_WAIT) {
        llm_gate_kept_back(breaker, retry_at, now, failure_r);
        return FALSE;
    }
    if (meter == NULL)
        return TRUE;
    char *reason = NULL, *error = NULL;
    int over = budget_reserve(meter->db, &cfg->llm, meter->message, now, &pass_r->ticket, &reason,
                              &retry_at, &error);
    if (over == 0)
        return TRUE;
    breaker_report(breaker, &settings, pass_r->admission, BREAKER_ABANDONED, NULL, 0, 0, now);
    failure_r->requested = FALSE;
    if (over == 1) {
        failure_r->kind = LLM_FAILURE_OVER_BUDGET;
        failure_r->reason = reason;
        failure_r->retry_after = MAX(retry_at - now, 1);
    } else {
        failure_r->kind = LLM_FAILURE_LOCAL;
        failure_r->reason =
            g_strdup_printf("cannot count the request against the budget: %s", error);
    }
    g_free(error);
    return FALSE;
}

static enum breaker_outcome llm_gate_outcome(int status, const struct llm_failure *failure)
{
    if (status == LLM_ANSWERED)
        return BREAKER_ANSWERED;
    switch (failure->kind) {
    case LLM_FAILURE_TRANSIENT:
        return BREAKER_TRANSIENT;
    case LLM_FAILURE_CONFIG:
        return BREAKER_CONFIG;
    case LLM_FAILURE_REJECTED:
        return BREAKER_REJECTED;
    default:
        return BREAKER_ABANDONED;
    }
}

/* Once per change of the endpoint's state: loud when it shuts, since every message waits. */
static void llm_gate_log_change(const struct config *cfg, const struct breaker_view *view)
{
    char *until = clock_format_local(view->until, "%Y-%m-%d %H:%M:%S");
    const char *reason = view->reason != NULL ? view->reason : "(no reason)";
    char *url = redact_url(cfg->llm.url); /* never the URL's user name and password */
    if (view->state == BREAKER_MISCONFIGURED)
        log_error("LLM endpoint %s is misconfigured: %s; messages wait, their attempts not "
                  "counted, until it answers again (next probe at %s; see mailtriagectl health)",
                  url, reason, until);
    else if (view->state == BREAKER_OPEN)
        log_error("LLM endpoint %s: circuit breaker open until %s after %u failure(s) in a row "
                  "(last: %s); no request goes to it until then, and then one probes it",
                  url, until, view->failures, reason);
    else if (view->previous == BREAKER_OPEN || view->previous == BREAKER_MISCONFIGURED)
        log_info("LLM endpoint %s answers again; the circuit breaker is closed", url);
    g_free(url);
    g_free(until);
}

/* What the endpoint's state now says about FAILURE: when to come back, and whether to wait. */
static void llm_gate_adjust(struct llm_failure *failure, const struct breaker_view *view,
                            gint64 now)
{
    if (view->state == BREAKER_MISCONFIGURED &&
        (failure->kind == LLM_FAILURE_CONFIG || failure->kind == LLM_FAILURE_REJECTED)) {
        failure->kind = LLM_FAILURE_CONFIG;
        failure->retry_after = MAX(view->until - now, 1);
    } else if (view->state == BREAKER_OPEN && failure->kind == LLM_FAILURE_TRANSIENT)
        failure->retry_after = MAX(failure->retry_after, view->until - now);
}

/* The request in the budget's count. */
static void llm_gate_count(const struct llm_meter *meter, const struct llm_gate_pass *pass,
                           int status, gint64 tokens, const struct llm_failure *failure, gint64 now)
{
    char *error = NULL;
    if (budget_settle(meter->db, pass->ticket, meter->message, pass->started,
                      status == LLM_ANSWERED, status == LLM_ANSWERED ? 200 : failure->http_status,
                      tokens, now, &error) != DB_OK) {
        log_msg(LOG_LEVEL_WARNING, meter->message, "cannot count the LLM request: %s", error);
        g_free(error);
    }
}

/* The health record of BREAKER, when its state changed or the record is due. The view is
 * taken under a lock of its own, so that an older view never overwrites a newer one and a slow
 * database holds up only the threads that record, never the admission of requests. */
static void llm_gate_record(const struct config *cfg, const struct llm_meter *meter,
                            struct breaker *breaker, gint64 now)
{
    g_mutex_lock(&llm_gate_record_lock);
    struct breaker_view view;
    breaker_view(breaker, &view);
    if (view.changes != llm_gate_recorded ||
        now - llm_gate_recorded_at >= LLM_GATE_RECORD_SECONDS) {
        const char *program = g_get_prgname();
        char *who = g_strdup_printf("%s:%d%s%s", cfg->hostname, (int)getpid(),
                                    program != NULL ? " " : "", program != NULL ? program : "");
        char *endpoint_id = llm_gate_digest(cfg);
        char *error = NULL;
        if (health_record(meter->db, cfg->llm.url, endpoint_id, &view, now, who, &error) == DB_OK) {
            llm_gate_recorded = view.changes;
            llm_gate_recorded_at = now;
        } else {
            log_msg(LOG_LEVEL_WARNING, meter->message, "cannot record the LLM endpoint's state: %s",
                    error);
            g_free(error);
        }
        g_free(endpoint_id);
        g_free(who);
    }
    breaker_view_clear(&view);
    g_mutex_unlock(&llm_gate_record_lock);
}

void llm_gate_leave(const struct config *cfg, const struct llm_meter *meter,
                    const struct llm_gate_pass *pass, int status, gint64 tokens,
                    struct llm_failure *failure)
{
    struct breaker_settings settings;
    llm_gate_settings(cfg, &settings);
    struct breaker *breaker = pass->breaker;
    gint64 now = clock_now();
    gboolean changed =
        breaker_report(breaker, &settings, pass->admission, llm_gate_outcome(status, failure),
                       failure->reason, failure->http_status, failure->retry_after, now);
    struct breaker_view view;
    breaker_view(breaker, &view);
    if (changed)
        llm_gate_log_change(cfg, &view);
    if (status != LLM_ANSWERED)
        llm_gate_adjust(failure, &view, now);
    if (meter != NULL && (status == LLM_ANSWERED || failure->requested)) {
        llm_gate_count(meter, pass, status, tokens, failure, now);
        llm_gate_record(cfg, meter, breaker, now);
    }
    breaker_view_clear(&view);
}

void llm_gate_cleanup(void)
{
    g_mutex_lock(&llm_gate_lock);
    breaker_free(llm_gate_breaker);
    llm_gate_breaker = NULL;
    g_free(llm_gate_endpoint);
    llm_gate_endpoint = NULL;
    llm_gate_seeded = FALSE;
    g_mutex_unlock(&llm_gate_lock);
}
