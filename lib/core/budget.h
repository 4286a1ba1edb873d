/*
 * budget: the LLM requests of every mailtriage process, counted in the database, against
 * [llm] daily_token_budget and max_requests_per_minute.
 *
 * One llm_requests row per request, whichever process made it (the daemon's workers,
 * mailtriage-pipe --inline), with the tokens of the server's usage, so that the count holds
 * across processes and restarts. budget_reserve() checks both limits and, in the same
 * transaction (BEGIN IMMEDIATE: two processes never both take the last place in a minute),
 * records the request as pending; budget_settle() records how it ended. Without limits nothing
 * is reserved and budget_settle() records the request once it ended. The day is the local
 * calendar day; requests in flight when the day's budget runs out may pass it by their own
 * tokens. Rows older than a week are removed by budget_settle(). Functions return DB_OK, DB_BUSY
 * or DB_ERROR unless they say otherwise.
 */
#ifndef MAILTRIAGE_BUDGET_H
#define MAILTRIAGE_BUDGET_H

#include <glib.h>
#include <sqlite3.h>

#include "config.h"

/* What was spent, as the limits count it. */
struct budget_use {
    gint64 tokens_today;
    gint64 requests_last_minute;
};

/* May a request for MESSAGE start at NOW under LLM's limits? 0 when it may (*TICKET_R is its
 * pending row, 0 when no limit needed one), 1 when a limit is reached (*REASON_R says which,
 * with the counts, and *RETRY_AT_R when a request may go again), or DB_BUSY/DB_ERROR. */
int budget_reserve(sqlite3 *db, const struct config_llm *llm, gint64 message, gint64 now,
                   gint64 *ticket_r, char **reason_r, gint64 *retry_at_r,
                   char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* How the request of TICKET (0: none reserved, then a row is added) for MESSAGE, started at
 * STARTED, ended at NOW: ANSWERED or not, the HTTP status (0 none) and the tokens spent. */
int budget_settle(sqlite3 *db, gint64 ticket, gint64 message, gint64 started, gboolean answered,
                  long http_status, gint64 tokens, gint64 now,
                  char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* What was spent by NOW. */
int budget_read_use(sqlite3 *db, gint64 now, struct budget_use *use_r,
                    char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The start of NOW's local day, and of the next one. */
gint64 budget_day_start(gint64 now);
gint64 budget_next_day(gint64 now);

#endif
