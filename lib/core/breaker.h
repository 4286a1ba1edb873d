/*
 * breaker: the state of the LLM endpoint as one process sees it, and whether to call it now.
 *
 * A circuit breaker fed with the outcome of every request. It is ok while the endpoint answers
 * and failing after a transient failure (connection, DNS, timeout, HTTP 429 or 5xx); it opens
 * after `threshold` of them in a row, or at once for as long as a Retry-After asks. It is
 * misconfigured after one configuration error (HTTP 401, 403, 404, a TLS or URL error) or after
 * `threshold` rejected requests in a row (HTTP 400, 413, 422): only a run of rejections tells a
 * server that refuses every request from one that refused one message. Open and misconfigured
 * both keep requests back until `until`; then one request goes as the probe while the others
 * wait (a cool-down, or until the probe is given up, whichever is sooner); the probe's answer
 * closes the breaker, its failure keeps it shut for a cool-down twice as long (from cooldown up
 * to cooldown_max). A probe that never reports (its thread gone) is given up after
 * probe_timeout. The time is an argument, so that a test drives the breaker with a clock of its
 * own; a breaker locks itself, so that the workers of a process share one. The reports say
 * whether the state changed, for a log line once per change rather than once per message.
 */
#ifndef MAILTRIAGE_BREAKER_H
#define MAILTRIAGE_BREAKER_H

#include <glib.h>

enum breaker_state { BREAKER_OK, BREAKER_FAILING, BREAKER_OPEN, BREAKER_MISCONFIGURED };

/* What became of an admitted request. */
enum breaker_outcome {
    BREAKER_ANSWERED,  /* the server answered (even with an unusable answer) */
    BREAKER_TRANSIENT, /* no answer this time */
    BREAKER_CONFIG,    /* the endpoint refuses us until the configuration changes */
    BREAKER_REJECTED,  /* the server refused this one request */
    BREAKER_ABANDONED  /* it never went out (shutdown, budget): nothing learnt */
};

enum breaker_admission {
    BREAKER_PASS,  /* go */
    BREAKER_PROBE, /* go, as the one request that tests a shut endpoint: report its outcome */
    BREAKER_WAIT   /* not now: the endpoint is shut until *retry_at_r */
};

struct breaker_settings {
    guint threshold;
    gint64 cooldown, cooldown_max; /* seconds */
    gint64 probe_timeout;          /* seconds a probe may take before another may go */
};

/* A copy of a breaker's state, for the health record and the log. */
struct breaker_view {
    enum breaker_state state;
    enum breaker_state previous; /* the state before the last change */
    char *reason;                /* the last failure, with the server's words; NULL when none */
    long http_status;            /* of the last failure, 0 when it had none */
    guint failures; /* in a row: transient ones, or rejections when misconfigured by them */
    gint64 until;   /* open or misconfigured: no request before this time */
    gint64 since;   /* when the state began */
    gint64 last_success, last_failure; /* 0: never */
    guint64 changes;                   /* counts state changes, to tell a view from an older one */
};

struct breaker *breaker_new(void);
void breaker_free(struct breaker *breaker);

/* May a request go at NOW? BREAKER_WAIT sets *RETRY_AT_R: when to ask again. */
enum breaker_admission breaker_admit(struct breaker *breaker,
                                     const struct breaker_settings *settings, gint64 now,
                                     gint64 *retry_at_r);
/* The OUTCOME of a request admitted as ADMISSION, with its REASON, HTTP_STATUS and any
 * RETRY_AFTER (seconds); TRUE when the state changed. */
gboolean breaker_report(struct breaker *breaker, const struct breaker_settings *settings,
                        enum breaker_admission admission, enum breaker_outcome outcome,
                        const char *reason, long http_status, gint64 retry_after, gint64 now);
/* The state now; breaker_view_clear() frees the copy. */
void breaker_view(struct breaker *breaker, struct breaker_view *view_r);
void breaker_view_clear(struct breaker_view *view);
/* Forget everything, as a new breaker: the endpoint (URL, model or key) changed. */
void breaker_reset(struct breaker *breaker);
/* Take on the state another process recorded when it tells something: shut (open or
 * misconfigured) until after NOW, or failing with its failures in a row; so that a process that
 * starts (mailtriage-pipe --inline: one per message) does not call an endpoint known to be down
 * or refusing us, and its failure counts with the others'. */
void breaker_adopt(struct breaker *breaker, const struct breaker_view *view, gint64 now);

/* "ok", "failing", "open", "misconfigured": the names the health record stores. */
const char *breaker_state_name(enum breaker_state state);
/* The state of NAME, or -1. */
int breaker_state_parse(const char *name);

#endif
