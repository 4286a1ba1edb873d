/*
 * report: the queue as the administrator reads it (mailtriagectl list and show).
 *
 * Read-only views: each function reads in one transaction, so that what it returns is one
 * snapshot even while the daemon writes, and never writes, so that it works on a connection
 * from db_open_existing(DB_READ_ONLY). Results are json-c objects whose keys are those that
 * `mailtriagectl --json` prints, listed below; the keys are column names of sql/, a NULL column
 * is a JSON null, times are Unix seconds. Functions return DB_OK, DB_BUSY or DB_ERROR unless
 * they say otherwise.
 */
#ifndef MAILTRIAGE_REPORT_H
#define MAILTRIAGE_REPORT_H

#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "config.h"

/* The states of a message (messages.state): queued working done failed held. */
extern const char *const report_message_states[];

/* TRUE when STATE is one of report_message_states. */
gboolean report_message_state_valid(const char *state);

/* Which messages report_list_messages() returns. */
struct report_filter {
    const char *state; /* NULL: any */
};

/* The messages that pass FILTER, newest first, at most LIMIT of them (0: all), as an array in
 * *ROWS_R of objects with the keys id, state, attempts, received_at, mailbox, envelope_from
 * (NULL unknown, "" the null sender), from_addr, subject, message_id, last_error, intent (of the
 * latest classification) and action (of the latest action, "KIND STATE", STATE shadow for a
 * shadow action, which the database records as skipped with shadow = 1). *TOTAL_R is how many
 * pass FILTER, LIMIT aside. */
int report_list_messages(sqlite3 *db, const struct report_filter *filter, gint64 limit,
                         json_object **rows_r, gint64 *total_r,
                         char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* 1 and message ID in *MESSAGE_R, 0 when there is none, or DB_BUSY/DB_ERROR. Its keys: id,
 * state, intake, mta_queue_id, mailbox, envelope_from, rcpts, client_addr, helo, from, subject,
 * message_id, in_reply_to, received_at, size, truncated, attempts, llm_failures,
 * next_attempt_at, lease_until, last_error, conversation (its id, null when it has joined none);
 * classification, the latest one or null: provider,
 * model, intent, confidence, summary, reply, valid, error, latency_ms, prompt_tokens,
 * completion_tokens, reply_error, reply_latency_ms, reply_prompt_tokens,
 * reply_completion_tokens (of the request for the reply text, 0 when none was made); actions,
 * oldest first: kind, state, reason, recipient, envelope_sender, message_id (of the mail we sent),
 * sendmail_status, error, created_at, sent_at, shadow_text (state shadow: what would
 * have left, the mail or the webhook's body; null otherwise or once retention emptied it);
 * events, oldest first: time, level, text. */
int report_show_message(sqlite3 *db, gint64 id, json_object **message_r,
                        char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Every row of STMT, which it finalizes, as a new array in *ROWS_R of objects keyed by column
 * name, each value of its column's type (NULL: JSON null): the form of every view here and of
 * store_conversation.h's. WHAT names the query in an error. */
int report_rows(sqlite3 *db, sqlite3_stmt *stmt, const char *what, json_object **rows_r,
                char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The LLM endpoint of CFG as the processes that call it recorded it (health.h), judged, in
 * *HEALTH_R, with the keys: status (ok, degraded, failing or unknown, health_status_name()),
 * exit_status (0, 1, 2, 3), summary (one line), provider, url, model; endpoint, null when no
 * process recorded it, else url, state (ok, failing, open, misconfigured), reason (with the
 * server's words), http_status, failures, open_until, since, last_success_at,
 * last_failure_at, updated_at, updated_by; tokens_today, daily_token_budget,
 * requests_last_minute, max_requests_per_minute (0: no limit); waiting (queued messages whose
 * last error is the LLM's). */
int report_health(sqlite3 *db, const struct config *cfg, gint64 now, json_object **health_r,
                  char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
