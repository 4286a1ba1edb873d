/*
 * queue: claims, leases and retries on the messages table; see queue.h.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include <glib.h>
#include <sqlite3.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "queue.h"
#include "store.h"

/* The first copy of ROW already recorded (same Message-ID, envelope sender and mailbox), or 0;
 * < 0 on a database error. */
static gint64 queue_find_original(sqlite3 *db, const struct queue_new *row, char **error_r)
{
    if (row->message_id == NULL)
        return 0;
    sqlite3_stmt *stmt = db_prepare(db,
                                    "SELECT id FROM messages WHERE message_id = ?1 AND mailbox = ?2"
                                    " AND envelope_from IS ?3 AND duplicate_of IS NULL"
                                    " ORDER BY id LIMIT 1",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    db_bind_text(stmt, 1, row->message_id);
    db_bind_text(stmt, 2, row->mailbox);
    db_bind_text(stmt, 3, row->envelope_from);
    int rc = sqlite3_step(stmt);
    gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        *error_r = db_error(db, "look for a duplicate");
        id = db_status_of(rc);
    }
    sqlite3_finalize(stmt);
    return id;
}

int queue_insert(sqlite3 *db, const struct queue_new *rows, size_t n_rows, gint64 *ids_r,
                 char **error_r)
{
    static const char sql[] =
        "INSERT INTO messages (intake, mta_queue_id, mailbox, envelope_from, rcpts, client_addr,"
        " helo, from_addr, subject, message_id, in_reply_to, received_at, size, truncated, raw,"
        " next_attempt_at, updated_at, duplicate_of, state, last_error)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?12, ?12,"
        " ?16, CASE WHEN ?16 IS NULL THEN 'queued' ELSE 'done' END,"
        " CASE WHEN ?16 IS NULL THEN NULL ELSE 'duplicate of message ' || ?16 END)";
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    sqlite3_stmt *stmt = db_prepare(db, sql, error_r);
    if (stmt == NULL) {
        db_rollback(db);
        return DB_ERROR;
    }
    gint64 now = clock_now();
    for (size_t i = 0; i < n_rows && status == DB_OK; i++) {
        const struct queue_new *row = &rows[i];
        gint64 original = queue_find_original(db, row, error_r);
        if (original < 0) {
            status = (int)original;
            break;
        }
        sqlite3_reset(stmt);
        db_bind_text(stmt, 1, row->intake);
        db_bind_text(stmt, 2, row->mta_queue_id);
        db_bind_text(stmt, 3, row->mailbox);
        db_bind_text(stmt, 4, row->envelope_from);
        db_bind_text(stmt, 5, row->rcpts);
        db_bind_text(stmt, 6, row->client_addr);
        db_bind_text(stmt, 7, row->helo);
        db_bind_text(stmt, 8, row->from_addr);
        db_bind_text(stmt, 9, row->subject);
        db_bind_text(stmt, 10, row->message_id);
        db_bind_text(stmt, 11, row->in_reply_to);
        sqlite3_bind_int64(stmt, 12, now);
        sqlite3_bind_int64(stmt, 13, (sqlite3_int64)row->size);
        sqlite3_bind_int(stmt, 14, row->truncated ? 1 : 0);
        sqlite3_bind_blob64(stmt, 15, row->raw, row->raw_len, SQLITE_STATIC);
        if (original > 0)
            sqlite3_bind_int64(stmt, 16, original);
        else
            sqlite3_bind_null(stmt, 16);
        int rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE) {
            *error_r = db_error(db, "record message");
            status = db_status_of(rc);
        } else if (ids_r != NULL)
            ids_r[i] = sqlite3_last_insert_rowid(db);
    }
    sqlite3_finalize(stmt);
    if (status != DB_OK) {
        db_rollback(db);
        return status;
    }
    return db_commit(db, error_r);
}

void queue_row_free(struct queue_row *row)
{
    if (row == NULL)
        return;
    g_free(row->lease);
    g_free(row->intake);
    g_free(row->mailbox);
    g_free(row->envelope_from);
    g_free(row->rcpts);
    g_free(row->mta_queue_id);
    if (row->raw != NULL)
        g_bytes_unref(row->raw);
    g_free(row);
}

static struct queue_row *queue_row_read(sqlite3_stmt *stmt)
{
    struct queue_row *row = g_new0(struct queue_row, 1);
    row->id = sqlite3_column_int64(stmt, 0);
    row->intake = db_column_dup(stmt, 1);
    row->mailbox = db_column_dup(stmt, 2);
    row->envelope_from = db_column_dup(stmt, 3);
    row->rcpts = db_column_dup(stmt, 4);
    row->mta_queue_id = db_column_dup(stmt, 5);
    const void *raw = sqlite3_column_blob(stmt, 6);
    row->raw = g_bytes_new(raw, (gsize)sqlite3_column_bytes(stmt, 6));
    row->truncated = sqlite3_column_int(stmt, 7) != 0;
    row->attempts = sqlite3_column_int(stmt, 8);
    row->llm_failures = sqlite3_column_int(stmt, 9);
    row->received_at = sqlite3_column_int64(stmt, 10);
    return row;
}

int queue_claim(sqlite3 *db, const char *owner, gint64 lease_seconds, gint64 only_id,
                struct queue_row **row_r, char **error_r)
{
    static const char pick[] =
        "SELECT id FROM messages"
        " WHERE state = 'queued' AND next_attempt_at <= ?1 AND (?2 = 0 OR id = ?2)"
        " ORDER BY next_attempt_at, id LIMIT 1";
    static const char take[] =
        "UPDATE messages SET state = 'working', attempts = attempts + 1, lease_until = ?2,"
        " lease_owner = ?3, updated_at = ?4 WHERE id = ?1"
        " RETURNING id, intake, mailbox, envelope_from, rcpts, mta_queue_id, raw, truncated,"
        " attempts, llm_failures, received_at";
    gint64 now = clock_now();
    /* The random part makes the token this claim's own: a worker's name alone would let a
     * worker that lost its lease pass for its own later claim of the message. */
    char *random = g_uuid_string_random();
    char *lease = g_strdup_printf("%s:%s", owner, random);
    g_free(random);
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK) {
        g_free(lease);
        return status;
    }

    sqlite3_stmt *stmt = db_prepare(db, pick, error_r);
    if (stmt == NULL) {
        db_rollback(db);
        g_free(lease);
        return DB_ERROR;
    }
    sqlite3_bind_int64(stmt, 1, now);
    sqlite3_bind_int64(stmt, 2, only_id);
    int rc = sqlite3_step(stmt);
    gint64 id = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) {
        if (rc != SQLITE_DONE)
            *error_r = db_error(db, "claim");
        db_rollback(db);
        g_free(lease);
        return rc == SQLITE_DONE ? 0 : db_status_of(rc);
    }

    stmt = db_prepare(db, take, error_r);
    if (stmt == NULL) {
        db_rollback(db);
        g_free(lease);
        return DB_ERROR;
    }
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, now + lease_seconds);
    db_bind_text(stmt, 3, lease);
    sqlite3_bind_int64(stmt, 4, now);
    rc = sqlite3_step(stmt);
    struct queue_row *row = rc == SQLITE_ROW ? queue_row_read(stmt) : NULL;
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (row == NULL || rc != SQLITE_DONE) {
        *error_r = db_error(db, "claim");
        queue_row_free(row);
        db_rollback(db);
        g_free(lease);
        return db_status_of(rc);
    }
    row->lease = lease;
    row->lease_seconds = lease_seconds;
    if ((status = db_commit(db, error_r)) != DB_OK) {
        queue_row_free(row);
        return status;
    }
    *row_r = row;
    return 1;
}

static const char queue_lost[] =
    "the lease was lost (it expired and the message was recovered, or another worker or an "
    "operator took it)";

/* Run SQL (which must touch message ?1 = ID only while ?2 = LEASE holds it) as the holder; ?3 is
 * REASON, ?4 WHEN and ?5 now. */
static int queue_update_leased(sqlite3 *db, const char *sql, gint64 id, const char *lease,
                               const char *reason, gint64 when, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, sql, error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    db_bind_text(stmt, 2, lease);
    db_bind_text(stmt, 3, reason);
    sqlite3_bind_int64(stmt, 4, when);
    sqlite3_bind_int64(stmt, 5, clock_now());
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "update message");
        return db_status_of(rc);
    }
    if (sqlite3_changes(db) == 0) {
        *error_r = g_strdup(queue_lost);
        return QUEUE_LEASE_LOST;
    }
    return DB_OK;
}

#define QUEUE_HELD " WHERE id = ?1 AND state = 'working' AND lease_owner = ?2"

/* SQL as the holder of ROW's lease. */
static int queue_update_held(sqlite3 *db, const char *sql, const struct queue_row *row,
                             const char *reason, gint64 when, char **error_r)
{
    return queue_update_leased(db, sql, row->id, row->lease, reason, when, error_r);
}

int queue_lease_renew(sqlite3 *db, gint64 id, const char *lease, gint64 lease_seconds,
                      char **error_r)
{
    return queue_update_leased(db, "UPDATE messages SET lease_until = ?5 + ?4" QUEUE_HELD, id,
                               lease, NULL, lease_seconds, error_r);
}

static int queue_lease_begin_with(sqlite3 *db, const struct queue_row *row, gboolean durable,
                                  char **error_r)
{
    int status =
        durable ? db_begin_immediate_durable(db, error_r) : db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    status = queue_lease_renew(db, row->id, row->lease, row->lease_seconds, error_r);
    if (status != DB_OK)
        db_rollback(db);
    return status;
}

int queue_lease_begin(sqlite3 *db, const struct queue_row *row, char **error_r)
{
    return queue_lease_begin_with(db, row, FALSE, error_r);
}

int queue_lease_begin_durable(sqlite3 *db, const struct queue_row *row, char **error_r)
{
    return queue_lease_begin_with(db, row, TRUE, error_r);
}

int queue_lease_end(sqlite3 *db, int status, char **error_r)
{
    if (status != DB_OK) {
        db_rollback(db);
        return status;
    }
    return db_commit(db, error_r);
}

int queue_complete(sqlite3 *db, const struct queue_row *row, char **error_r)
{
    return queue_update_held(db,
                             "UPDATE messages SET state = 'done', lease_until = NULL,"
                             " lease_owner = NULL, last_error = ?3, updated_at = ?5" QUEUE_HELD,
                             row, NULL, 0, error_r);
}

int queue_fail(sqlite3 *db, const struct queue_row *row, const char *reason, char **error_r)
{
    return queue_update_held(db,
                             "UPDATE messages SET state = 'failed', lease_until = NULL,"
                             " lease_owner = NULL, last_error = ?3, updated_at = ?5" QUEUE_HELD,
                             row, reason, 0, error_r);
}

int queue_hold(sqlite3 *db, const struct queue_row *row, const char *reason, char **error_r)
{
    return queue_update_held(db,
                             "UPDATE messages SET state = 'held', lease_until = NULL,"
                             " lease_owner = NULL, last_error = ?3, updated_at = ?5" QUEUE_HELD,
                             row, reason, 0, error_r);
}

int queue_release(sqlite3 *db, const struct queue_row *row, char **error_r)
{
    return queue_update_held(db,
                             "UPDATE messages SET state = 'queued', lease_until = NULL,"
                             " lease_owner = NULL, attempts = MAX(attempts - 1, 0),"
                             " next_attempt_at = ?5, updated_at = ?5" QUEUE_HELD,
                             row, NULL, 0, error_r);
}

int queue_postpone(sqlite3 *db, const struct queue_row *row, const char *reason, gint64 seconds,
                   char **error_r)
{
    /* Later by up to a quarter, at most a minute: enough to spread the messages that wait for
     * the same probe or midnight, never hours late after a long wait. */
    gint64 delay = MAX(seconds, 1);
    delay += MIN(delay * g_random_int_range(0, 26) / 100, 60);
    return queue_update_held(
        db,
        "UPDATE messages SET state = 'queued', lease_until = NULL,"
        " lease_owner = NULL, last_error = ?3, attempts = MAX(attempts - 1, 0),"
        " next_attempt_at = ?5 + ?4, updated_at = ?5" QUEUE_HELD,
        row, reason, delay, error_r);
}

gint64 queue_backoff(const struct queue_retry *retry, int n)
{
    gint64 delay = retry->base_seconds;
    for (int i = 1; i < n && delay < retry->max_seconds; i++)
        delay *= 2;
    return MIN(delay, retry->max_seconds);
}

int queue_defer(sqlite3 *db, const struct queue_row *row, const char *reason,
                const struct queue_retry *retry, gboolean llm_failure, gint64 at_least_seconds,
                gboolean *failed_r, char **error_r)
{
    gboolean failed = row->attempts >= retry->max_attempts;
    int n = llm_failure ? row->llm_failures + 1 : row->attempts;
    gint64 delay = queue_backoff(retry, n);
    /* Jitter of +-25% spreads the retries of messages that failed together. */
    delay = delay * g_random_int_range(75, 126) / 100;
    delay = MAX(MAX(delay, at_least_seconds), 1);

    *failed_r = failed;
    if (failed) {
        char *why = g_strdup_printf("%s (gave up after %d attempts)", reason, row->attempts);
        int status = queue_fail(db, row, why, error_r);
        g_free(why);
        return status;
    }
    return queue_update_held(db,
                             llm_failure
                                 ? "UPDATE messages SET state = 'queued', lease_until = NULL,"
                                   " lease_owner = NULL, last_error = ?3,"
                                   " llm_failures = llm_failures + 1,"
                                   " next_attempt_at = ?5 + ?4, updated_at = ?5" QUEUE_HELD
                                 : "UPDATE messages SET state = 'queued', lease_until = NULL,"
                                   " lease_owner = NULL, last_error = ?3,"
                                   " next_attempt_at = ?5 + ?4, updated_at = ?5" QUEUE_HELD,
                             row, reason, delay, error_r);
}

/* The message has an action that was started and never got its outcome (store.h). */
#define QUEUE_UNKNOWN_OUTCOME                                                                      \
    "EXISTS (SELECT 1 FROM actions a WHERE a.message = messages.id AND a.state = 'pending'"        \
    " AND a.started_at IS NOT NULL)"

int queue_recover_expired(sqlite3 *db, int max_attempts, gint64 *count_r, char **error_r)
{
    /* A message whose worker keeps dying (a crash on this very message) must not loop: after
     * max_attempts it is failed, visibly. Except when a mail of it was started and its outcome
     * is unknown: failing it would hide that mail, so it is queued once more and its next claim
     * holds it, naming the mail, before anything else runs. */
    sqlite3_stmt *stmt =
        db_prepare(db,
                   "UPDATE messages SET lease_until = NULL, lease_owner = NULL, updated_at = ?1,"
                   " next_attempt_at = ?1,"
                   " state = CASE WHEN attempts >= ?2 AND NOT " QUEUE_UNKNOWN_OUTCOME
                   "   THEN 'failed' ELSE 'queued' END,"
                   " last_error = CASE WHEN attempts >= ?2 AND NOT " QUEUE_UNKNOWN_OUTCOME
                   "   THEN 'the worker processing it stopped ' || attempts || ' times; gave up'"
                   "   ELSE 'the worker processing it stopped; queued again' END"
                   " WHERE state = 'working' AND lease_until < ?1",
                   error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, clock_now());
    sqlite3_bind_int(stmt, 2, max_attempts);
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "recover leases");
        return db_status_of(rc);
    }
    *count_r = sqlite3_changes(db);
    return DB_OK;
}

/* Is the process named by OWNER ("HOST:PID:...") on HOST gone? */
static gboolean queue_owner_is_dead(const char *owner, const char *host)
{
    size_t len = strlen(host);
    if (strncmp(owner, host, len) != 0 || owner[len] != ':')
        return FALSE;
    char *end;
    gint64 pid = g_ascii_strtoll(owner + len + 1, &end, 10);
    if (end == owner + len + 1 || *end != ':' || pid <= 0 || pid > G_MAXINT)
        return FALSE;
    return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int queue_recover_orphans(sqlite3 *db, const char *host, gint64 *count_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db, "SELECT DISTINCT lease_owner FROM messages WHERE state = 'working'", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    GPtrArray *dead = g_ptr_array_new_with_free_func(g_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *owner = (const char *)sqlite3_column_text(stmt, 0);
        if (owner != NULL && queue_owner_is_dead(owner, host))
            g_ptr_array_add(dead, g_strdup(owner));
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "recover orphans");
        g_ptr_array_unref(dead);
        return db_status_of(rc);
    }
    *count_r = 0;
    int status = DB_OK;
    for (guint i = 0; i < dead->len && status == DB_OK; i++) {
        stmt = db_prepare(db,
                          "UPDATE messages SET lease_until = ?2 WHERE state = 'working'"
                          " AND lease_owner = ?1",
                          error_r);
        if (stmt == NULL) {
            status = DB_ERROR;
            break;
        }
        db_bind_text(stmt, 1, g_ptr_array_index(dead, i));
        sqlite3_bind_int64(stmt, 2, clock_now() - 1);
        rc = sqlite3_step(stmt);
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE) {
            *error_r = db_error(db, "recover orphans");
            status = db_status_of(rc);
        } else
            *count_r += sqlite3_changes(db);
    }
    g_ptr_array_unref(dead);
    return status;
}

/* Inside a transaction: the state and last error of message ID, for the audit line. 1 when it
 * exists, 0 when not, or DB_BUSY/DB_ERROR. */
static int queue_read_state(sqlite3 *db, gint64 id, char **state_r, char **last_error_r,
                            char **error_r)
{
    sqlite3_stmt *stmt =
        db_prepare(db, "SELECT state, last_error FROM messages WHERE id = ?1", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *state_r = db_column_dup(stmt, 0);
        *last_error_r = db_column_dup(stmt, 1);
    } else if (rc != SQLITE_DONE)
        *error_r = db_error(db, "read message");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : db_status_of(rc);
}

/* Inside a transaction: queue message ID again. 1 when it was failed, done or held, 0 when it
 * is queued or being worked on, or DB_BUSY/DB_ERROR. */
static int queue_requeue(sqlite3 *db, gint64 id, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db,
                                    "UPDATE messages SET state = 'queued', attempts = 0,"
                                    " llm_failures = 0, next_attempt_at = ?2, updated_at = ?2"
                                    " WHERE id = ?1 AND state IN ('failed', 'done', 'held')",
                                    error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    sqlite3_bind_int64(stmt, 2, clock_now());
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "retry");
        return db_status_of(rc);
    }
    return sqlite3_changes(db) > 0 ? 1 : 0;
}

int queue_retry_now(sqlite3 *db, gint64 id, const char *who, char **error_r)
{
    char *state = NULL, *last_error = NULL;
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    int found = queue_read_state(db, id, &state, &last_error, error_r);
    int queued = found == 1 ? queue_requeue(db, id, error_r) : found;
    if (queued == 0)
        *error_r = found == 0 ? g_strdup_printf("no message %" G_GINT64_FORMAT, id)
                              : g_strdup_printf("message %" G_GINT64_FORMAT " is %s: only a "
                                                "failed, done or held message is retried",
                                                id, state);
    if (queued != 1) {
        db_rollback(db);
        g_free(state);
        g_free(last_error);
        return queued < 0 ? queued : DB_ERROR;
    }
    who = who != NULL ? who : "(unknown)";
    char *event =
        g_strdup_printf("retry by %s: queued again (it was %s%s%.200s)", who, state,
                        last_error != NULL ? ": " : "", last_error != NULL ? last_error : "");
    char *resolved = g_strdup_printf("outcome unknown; sent again: retry by %s", who);
    status = store_actions_unknown_resolve(db, id, resolved, error_r);
    g_free(resolved);
    if (status != DB_OK) {
        db_rollback(db);
        g_free(event);
        g_free(state);
        g_free(last_error);
        return status;
    }
    store_event(db, id, "info", event);
    status = db_commit(db, error_r);
    if (status == DB_OK)
        log_audit(id, "%s", event);
    g_free(event);
    g_free(state);
    g_free(last_error);
    return status;
}
