/*
 * health: the LLM endpoint's state where another process can read it, and what it means.
 *
 * The processes that call the endpoint (the daemon, mailtriage-pipe --inline) keep their view
 * of it (breaker.h) in the llm_endpoints row of its URL: health_record() writes it, and
 * health_load() reads it back for a process that starts, so that it does not call an endpoint
 * another found down or refusing us. health_judge() turns what `mailtriagectl health` gathers
 * (report.h) into ok, degraded, failing or unknown, whose values are the exit statuses of a
 * Nagios-style check, with one line that says why. Functions with a database return DB_OK,
 * DB_BUSY or DB_ERROR unless they say otherwise.
 */
#ifndef MAILTRIAGE_HEALTH_H
#define MAILTRIAGE_HEALTH_H

#include <glib.h>
#include <sqlite3.h>

#include "breaker.h"

enum health_status { HEALTH_OK = 0, HEALTH_DEGRADED = 1, HEALTH_FAILING = 2, HEALTH_UNKNOWN = 3 };

/* Write VIEW as the state of URL at NOW, by WHO ("host:pid program"). ENDPOINT_ID tells this
 * endpoint from the same URL with another model or key (llm_gate.c). */
int health_record(sqlite3 *db, const char *url, const char *endpoint_id,
                  const struct breaker_view *view, gint64 now, const char *who,
                  char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 and URL's recorded state in *VIEW_R (breaker_view_clear() it) and its endpoint id in
 * *ENDPOINT_ID_R, 0 when none is recorded, or DB_BUSY/DB_ERROR. */
int health_load(sqlite3 *db, const char *url, struct breaker_view *view_r, char **endpoint_id_r,
                char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* What the judgement looks at. */
struct health_facts {
    gboolean remote;   /* the provider calls an endpoint (openai); FALSE: builtin */
    gboolean recorded; /* a process recorded the endpoint's state; then view is set */
    struct breaker_view view;
    gint64 tokens_today, daily_token_budget;              /* budget 0: none */
    gint64 requests_last_minute, max_requests_per_minute; /* limit 0: none */
    gint64 waiting;                                       /* messages queued for the LLM */
};

/* The status and, in *SUMMARY_R, why, in one line. Times in the summary are local. */
enum health_status health_judge(const struct health_facts *facts, char **summary_r);
/* "ok", "degraded", "failing", "unknown". */
const char *health_status_name(enum health_status status);

#endif
