/*
 * queue: the messages table as a work queue.
 *
 * queue_insert() records messages (one row per monitored mailbox) in one committed
 * transaction; a message already recorded with the same Message-ID, envelope sender and
 * mailbox is recorded as a duplicate of the first (state done, never processed). queue_claim()
 * hands the oldest due row to one worker with a lease (BEGIN IMMEDIATE: two workers never get the
 * same row) whose token (lease_owner: the worker's "HOST:PID:NAME" and a random part) is unique
 * to this claim, so that a worker that lost its lease is told apart from a later claim of the
 * same message, even by the same worker. The holder keeps the lease alive with
 * queue_lease_renew() (lease.h does it every lease_time/3) and makes each write about the
 * message inside queue_lease_begin(), a write transaction that first checks and extends the
 * lease: the check and the write cannot be separated by another claim. A row whose lease
 * expired, because its worker died, goes back to the queue through queue_recover_expired()
 * (failed once it has used max_attempts, unless a mail of it has an unknown outcome: that one
 * is queued so that its next claim holds it); queue_recover_orphans() expires at once the leases
 * of processes of this host that are gone, so that a restarted daemon does not wait for
 * lease_time. The worker ends its claim with queue_complete(), queue_defer() (retry with
 * exponential back-off and jitter; failed after max_attempts), queue_postpone() (waiting for
 * something outside the message: the attempt not counted), queue_fail(), queue_hold() (a person
 * must decide) or queue_release() (shutdown: back to the queue, the attempt not counted).
 * Each of these is refused with QUEUE_LEASE_LOST when the caller no longer holds the lease.
 * Functions return DB_OK, DB_BUSY or DB_ERROR unless they say otherwise.
 */
#ifndef MAILTRIAGE_QUEUE_H
#define MAILTRIAGE_QUEUE_H

#include <glib.h>
#include <sqlite3.h>

/* A message as an intake records it. Strings may be NULL where the schema allows. */
struct queue_new {
    const char *intake; /* milter, pipe or test */
    const char *mta_queue_id;
    const char *mailbox;
    const char *envelope_from; /* NULL unknown, "" null sender */
    const char *rcpts;
    const char *client_addr;
    const char *helo;
    const char *from_addr;
    const char *subject;
    const char *message_id;
    const char *in_reply_to;
    const char *raw;
    size_t raw_len;
    size_t size; /* before truncation */
    gboolean truncated;
};

/* The caller's lease is gone: the message was recovered, claimed by another worker, held or
 * retried. The caller sends and records nothing more about it. (-3 and -4 are taken in db.h.) */
enum queue_status { QUEUE_LEASE_LOST = -5 };

/* A claimed row. */
struct queue_row {
    gint64 id;
    char *lease;          /* this claim's token, unique to it */
    gint64 lease_seconds; /* each renewal extends the lease to now + this */
    char *intake;
    char *mailbox;
    char *envelope_from;
    char *rcpts;
    char *mta_queue_id;
    GBytes *raw;
    gboolean truncated;
    int attempts; /* including this one */
    int llm_failures;
    gint64 received_at;
};

/* How failures are retried. */
struct queue_retry {
    int max_attempts;
    gint64 base_seconds;
    gint64 max_seconds;
};

int queue_insert(sqlite3 *db, const struct queue_new *rows, size_t n_rows, gint64 *ids_r,
                 char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* 1 and *ROW_R set when a row was claimed, 0 when none is due, or DB_BUSY/DB_ERROR. OWNER
 * ("HOST:PID:NAME") names the claimer; the lease token adds a random part to it.
 * ONLY_ID > 0 claims that row only (mailtriage-pipe --inline), if it is due. */
int queue_claim(sqlite3 *db, const char *owner, gint64 lease_seconds, gint64 only_id,
                struct queue_row **row_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
void queue_row_free(struct queue_row *row);

/* Still the holder of lease LEASE of message ID? Then the lease runs until now + LEASE_SECONDS.
 * DB_OK, QUEUE_LEASE_LOST, DB_BUSY or DB_ERROR. */
int queue_lease_renew(sqlite3 *db, gint64 id, const char *lease, gint64 lease_seconds,
                      char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Begin a write transaction (BEGIN IMMEDIATE) as the holder of ROW's lease, which is extended:
 * DB_OK, and the caller writes, then db_commit() or db_rollback(); else nothing is open and
 * QUEUE_LEASE_LOST, DB_BUSY or DB_ERROR says why. */
int queue_lease_begin(sqlite3 *db, const struct queue_row *row,
                      char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* The same, its commit durable even on a lazy connection (db_begin_immediate_durable()): for
 * the write after which mail leaves. */
int queue_lease_begin_durable(sqlite3 *db, const struct queue_row *row,
                              char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* End the transaction of queue_lease_begin() whose writes came to STATUS: committed when it is
 * DB_OK, else rolled back. Returns what became of it. */
int queue_lease_end(sqlite3 *db, int status, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

int queue_complete(sqlite3 *db, const struct queue_row *row,
                   char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Retry later for REASON. The delay grows with the attempts (or, when LLM_FAILURE, with the
 * failed LLM requests, which are then counted); AT_LEAST_SECONDS (a Retry-After) is a floor.
 * *FAILED_R tells whether max_attempts was reached and the row is now failed. */
int queue_defer(sqlite3 *db, const struct queue_row *row, const char *reason,
                const struct queue_retry *retry, gboolean llm_failure, gint64 at_least_seconds,
                gboolean *failed_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
int queue_fail(sqlite3 *db, const struct queue_row *row, const char *reason,
               char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Held for a person, for REASON (which says what to do); only an operator's retry queues it. */
int queue_hold(sqlite3 *db, const struct queue_row *row, const char *reason,
               char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Back to the queue for REASON, this attempt not counted (nor an LLM failure), not before
 * SECONDS from now and up to a quarter (at most a minute) later, so that messages waiting for
 * the same thing do not all come back at once: for a message that waits for something outside it, a
 * misconfigured LLM endpoint or the LLM budget, which must not use up its attempts. */
int queue_postpone(sqlite3 *db, const struct queue_row *row, const char *reason, gint64 seconds,
                   char **error_r) G_GNUC_WARN_UNUSED_RESULT;
int queue_release(sqlite3 *db, const struct queue_row *row,
                  char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Put rows whose lease expired back in the queue, or fail those that used MAX_ATTEMPTS;
 * *COUNT_R says how many rows changed. */
int queue_recover_expired(sqlite3 *db, int max_attempts, gint64 *count_r,
                          char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Expire the leases held by processes of HOST (owners "HOST:PID:...") that no longer run. */
int queue_recover_orphans(sqlite3 *db, const char *host, gint64 *count_r,
                          char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* An operator's retry of a failed, done or held message: queued now with fresh attempts. A mail
 * of it whose outcome is unknown (why it was held) is settled as failed, so that the retry
 * sends it again: the operator has decided so. WHO (the operator) and what the message was are
 * kept as an event of the message and logged as an audit line. DB_ERROR with a reason when no
 * such message or when it is queued or being worked on. */
int queue_retry_now(sqlite3 *db, gint64 id, const char *who,
                    char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The delay before attempt N+1 (N >= 1), without jitter. */
gint64 queue_backoff(const struct queue_retry *retry, int n);

#endif
