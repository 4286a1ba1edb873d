/*
 * breaker: the circuit breaker of the LLM endpoint; see breaker.h.
 */
#include <string.h>

#include <glib.h>

#include "breaker.h"

static const char *const breaker_state_names[] = {
    [BREAKER_OK] = "ok",
    [BREAKER_FAILING] = "failing",
    [BREAKER_OPEN] = "open",
    [BREAKER_MISCONFIGURED] = "misconfigured",
};

struct breaker {
    GMutex lock;
    enum breaker_state state, previous;
    char *reason;
    long http_status;
    guint failures;   /* transient failures in a row */
    guint rejections; /* rejected requests in a row */
    gint64 until, since, last_success, last_failure;
    gint64 cooldown; /* the next cool-down; 0: settings->cooldown */
    gboolean probing;
    gint64 probe_started;
    guint64 changes;
};

const char *breaker_state_name(enum breaker_state state)
{
    return state <= BREAKER_MISCONFIGURED ? breaker_state_names[state] : "unknown";
}

int breaker_state_parse(const char *name)
{
    for (size_t i = 0; name != NULL && i < G_N_ELEMENTS(breaker_state_names); i++)
        if (strcmp(name, breaker_state_names[i]) == 0)
            return (int)i;
    return -1;
}

struct breaker *breaker_new(void)
{
    struct breaker *breaker = g_new0(struct breaker, 1);
    g_mutex_init(&breaker->lock);
    return breaker;
}

void breaker_free(struct breaker *breaker)
{
    if (breaker == NULL)
        return;
    g_mutex_clear(&breaker->lock);
    g_free(breaker->reason);
    g_free(breaker);
}

static gboolean breaker_shut(enum breaker_state state)
{
    return state == BREAKER_OPEN || state == BREAKER_MISCONFIGURED;
}

enum breaker_admission breaker_admit(struct breaker *breaker,
                                     const struct breaker_settings *settings, gint64 now,
                                     gint64 *retry_at_r)
{
    enum breaker_admission admission = BREAKER_PASS;
    g_mutex_lock(&breaker->lock);
    if (!breaker_shut(breaker->state))
        admission = BREAKER_PASS;
    else if (now < breaker->until) {
        admission = BREAKER_WAIT;
        *retry_at_r = breaker->until;
    } else if (breaker->probing && now < breaker->probe_started + settings->probe_timeout) {
        /* A probe is out: it usually reports within a second, so come back after a
         * cool-down, and at the latest when it is given up. */
        admission = BREAKER_WAIT;
        *retry_at_r =
            MIN(breaker->probe_started + settings->probe_timeout, now + settings->cooldown);
    } else {
        admission = BREAKER_PROBE;
        breaker->probing = TRUE;
        breaker->probe_started = now;
    }
    g_mutex_unlock(&breaker->lock);
    return admission;
}

/* The cool-down to use now; the next one is twice as long, up to cooldown_max. */
static gint64 breaker_next_cooldown(struct breaker *breaker,
                                    const struct breaker_settings *settings)
{
    gint64 cap = MAX(settings->cooldown_max, settings->cooldown);
    gint64 cooldown = MIN(breaker->cooldown > 0 ? breaker->cooldown : settings->cooldown, cap);
    breaker->cooldown = MIN(cooldown * 2, cap);
    return MAX(cooldown, 1);
}

static void breaker_enter(struct breaker *breaker, enum breaker_state state, gint64 now)
{
    if (breaker->state != state) {
        breaker->since = now;
        breaker->previous = breaker->state;
    }
    breaker->state = state;
}

/* Shut it as STATE for the next cool-down, or longer when the server asked for RETRY_AFTER. */
static void breaker_shut_for(struct breaker *breaker, const struct breaker_settings *settings,
                             enum breaker_state state, gint64 retry_after, gint64 now)
{
    breaker_enter(breaker, state, now);
    gint64 cooldown = breaker_next_cooldown(breaker, settings); /* once: it moves the next one */
    breaker->until = now + MAX(cooldown, retry_after);
}

/* The server answered: it can be reached. */
static void breaker_answered(struct breaker *breaker, gint64 now)
{
    breaker_enter(breaker, BREAKER_OK, now);
    breaker->failures = 0;
    breaker->cooldown = 0;
    breaker->until = 0;
    breaker->last_success = now;
}

static void breaker_transient(struct breaker *breaker, const struct breaker_settings *settings,
                              gboolean probe, gint64 retry_after, gint64 now)
{
    breaker->failures++;
    if (breaker->state == BREAKER_MISCONFIGURED && !probe)
        return; /* a request sent before it was found misconfigured tells nothing new */
    if (breaker_shut(breaker->state) && !probe) {
        /* In flight when it shut: only a longer Retry-After moves the end. */
        breaker->until = MAX(breaker->until, now + retry_after);
        return;
    }
    if (probe || breaker->failures >= settings->threshold)
        breaker_shut_for(breaker, settings, BREAKER_OPEN, retry_after, now);
    else if (retry_after > 0) {
        /* The server said when to come back: all the workers wait that long, no longer. */
        breaker_enter(breaker, BREAKER_OPEN, now);
        breaker->until = now + retry_after;
    } else
        breaker_enter(breaker, BREAKER_FAILING, now);
}

static void breaker_rejected(struct breaker *breaker, const struct breaker_settings *settings,
                             gboolean probe, gint64 now)
{
    breaker->rejections++;
    if (breaker->rejections >= settings->threshold) {
        if (breaker->state != BREAKER_MISCONFIGURED || probe)
            breaker_shut_for(breaker, settings, BREAKER_MISCONFIGURED, 0, now);
    } else if (breaker->state != BREAKER_MISCONFIGURED || probe)
        breaker_answered(breaker, now); /* it answered, only not to this request */
}

gboolean breaker_report(struct breaker *breaker, const struct breaker_settings *settings,
                        enum breaker_admission admission, enum breaker_outcome outcome,
                        const char *reason, long http_status, gint64 retry_after, gint64 now)
{
    gboolean probe = admission == BREAKER_PROBE;
    g_mutex_lock(&breaker->lock);
    enum breaker_state before = breaker->state;
    long status_before = breaker->http_status;
    char *reason_before = g_strdup(breaker->reason);
    gint64 until_before = breaker->until;
    if (probe)
        breaker->probing = FALSE;
    /* A request sent before the endpoint was found misconfigured does not replace the cause
     * that the health record shows, unless it is a configuration error of its own. */
    gboolean keeps_cause = before == BREAKER_MISCONFIGURED && !probe && outcome != BREAKER_CONFIG;
    if (outcome != BREAKER_ANSWERED && outcome != BREAKER_ABANDONED && !keeps_cause) {
        g_free(breaker->reason);
        breaker->reason = g_strdup(reason);
        breaker->http_status = http_status;
        breaker->last_failure = now;
    }
    switch (outcome) {
    case BREAKER_ANSWERED:
        breaker->rejections = 0;
        breaker_answered(breaker, now);
        break;
    case BREAKER_TRANSIENT:
        breaker_transient(breaker, settings, probe, retry_after, now);
        break;
    case BREAKER_CONFIG:
        breaker->failures = 0;
        if (breaker->state != BREAKER_MISCONFIGURED || probe)
            breaker_shut_for(breaker, settings, BREAKER_MISCONFIGURED, 0, now);
        break;
    case BREAKER_REJECTED:
        breaker->failures = 0;
        breaker_rejected(breaker, settings, probe, now);
        break;
    case BREAKER_ABANDONED:
        break;
    }
    /* Misconfigured in another way (a 404 after a 401) is a change of its own. */
    gboolean changed = breaker->state != before ||
                       (before == BREAKER_MISCONFIGURED && outcome == BREAKER_CONFIG &&
                        (breaker->http_status != status_before ||
                         (status_before == 0 && g_strcmp0(breaker->reason, reason_before) != 0)));
    if (changed || breaker->until != until_before)
        breaker->changes++;
    g_free(reason_before);
    g_mutex_unlock(&breaker->lock);
    return changed;
}

void breaker_view(struct breaker *breaker, struct breaker_view *view_r)
{
    g_mutex_lock(&breaker->lock);
    *view_r = (struct breaker_view){
        .state = breaker->state,
        .previous = breaker->previous,
        .reason = g_strdup(breaker->reason),
        .http_status = breaker->http_status,
        .failures = breaker->state == BREAKER_MISCONFIGURED && breaker->rejections > 0
                        ? breaker->rejections
                        : breaker->failures,
        .until = breaker_shut(breaker->state) ? breaker->until : 0,
        .since = breaker->since,
        .last_success = breaker->last_success,
        .last_failure = breaker->last_failure,
        .changes = breaker->changes,
    };
    g_mutex_unlock(&breaker->lock);
}

void breaker_view_clear(struct breaker_view *view)
{
    g_free(view->reason);
    view->reason = NULL;
}

void breaker_reset(struct breaker *breaker)
{
    g_mutex_lock(&breaker->lock);
    g_free(breaker->reason);
    breaker->reason = NULL;
    breaker->state = breaker->previous = BREAKER_OK;
    breaker->http_status = 0;
    breaker->failures = breaker->rejections = 0;
    breaker->until = breaker->since = breaker->last_success = breaker->last_failure = 0;
    breaker->cooldown = 0;
    breaker->probing = FALSE;
    breaker->probe_started = 0;
    breaker->changes++;
    g_mutex_unlock(&breaker->lock);
}

void breaker_adopt(struct breaker *breaker, const struct breaker_view *view, gint64 now)
{
    if (breaker_shut(view->state) ? view->until <= now : view->state != BREAKER_FAILING)
        return;
    g_mutex_lock(&breaker->lock);
    breaker->previous = breaker->state;
    breaker->state = view->state;
    g_free(breaker->reason);
    breaker->reason = g_strdup(view->reason);
    breaker->http_status = view->http_status;
    breaker->failures = view->failures;
    breaker->until = view->until;
    breaker->since = view->since;
    breaker->last_success = view->last_success;
    breaker->last_failure = view->last_failure;
    breaker->changes++;
    g_mutex_unlock(&breaker->lock);
}
