/*
 * lease_test: the specification of lib/core/lease.c and of the fencing in lib/core/queue.c.
 *
 * Each case opens a fresh database in a private temporary directory and claims messages with
 * queue_claim(). Fencing: a second claim after the first lease expired makes every write of the
 * first holder fail with QUEUE_LEASE_LOST. Renewal: the keeper's thread extends the leases it
 * watches; a test moves a lease into the past with SQL and waits, in a bounded loop that stops
 * by itself, until the keeper has moved it forward again (no duration is asserted). The lease
 * time is the shortest the keeper allows (a round every second).
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "db.h"
#include "lease.h"
#include "queue.h"
#include "testutil.h"

#define BUSY_TIMEOUT_MS 5000
#define LEASE_SECONDS 3
/* Bounded waits for the keeper: 0.05 s steps, 30 s at most. */
#define WAIT_STEPS 600

struct fixture {
    char *dir;
    char *path;
    sqlite3 *db;
};

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    fx->dir = testutil_tmpdir();
    fx->path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(fx->path, BUSY_TIMEOUT_MS, &fx->db, &error), ==, DB_OK);
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    db_close(fx->db);
    testutil_rmtree(fx->dir);
    g_free(fx->path);
    g_free(fx->dir);
}

static gint64 insert_message(sqlite3 *db, const char *message_id)
{
    static const char raw[] = "Subject: Prices?\r\n\r\nHow much?\r\n";
    const struct queue_new row = {
        .intake = "test",
        .mailbox = "support@example.org",
        .envelope_from = "alice@example.net",
        .rcpts = "support@example.org",
        .message_id = message_id,
        .raw = raw,
        .raw_len = sizeof(raw) - 1,
        .size = sizeof(raw) - 1,
    };
    gint64 id = 0;
    char *error = NULL;
    g_assert_cmpint(queue_insert(db, &row, 1, &id, &error), ==, DB_OK);
    return id;
}

static struct queue_row *claim(sqlite3 *db, const char *owner, gint64 only_id)
{
    struct queue_row *row = NULL;
    char *error = NULL;
    g_assert_cmpint(queue_claim(db, owner, LEASE_SECONDS, only_id, &row, &error), ==, 1);
    g_assert_null(error);
    return row;
}

static gint64 lease_until(sqlite3 *db, gint64 id)
{
    return testutil_db_int(db, "SELECT lease_until FROM messages WHERE id = %" G_GINT64_FORMAT, id);
}

/* As if the holder of ID had not been heard of for long: its lease ran out. */
static void expire_lease(sqlite3 *db, gint64 id)
{
    testutil_db_exec(
        db, "UPDATE messages SET lease_until = %" G_GINT64_FORMAT " WHERE id = %" G_GINT64_FORMAT,
        testutil_now() - 100, id);
}

/* The first claim of a message, lost: its lease expired, recovery put it back, a second worker
 * claimed it. Returns the first claim; *SECOND_R is the second. */
static struct queue_row *lose_to_second_claim(struct fixture *fx, struct queue_row **second_r)
{
    gint64 id = insert_message(fx->db, "<1@example.net>");
    struct queue_row *first = claim(fx->db, "host.test:1:worker 1", 0);
    expire_lease(fx->db, id);
    gint64 count = 0;
    char *error = NULL;
    g_assert_cmpint(queue_recover_expired(fx->db, 10, &count, &error), ==, DB_OK);
    g_assert_cmpint(count, ==, 1);
    *second_r = claim(fx->db, "host.test:1:worker 2", id);
    g_assert_cmpstr(first->lease, !=, (*second_r)->lease);
    return first;
}

/* ---- fencing ---- */

static void test_first_holder_refused_after_second_claim(struct fixture *fx, gconstpointer data)
{
    struct queue_row *second = NULL;
    struct queue_row *first = lose_to_second_claim(fx, &second);
    const struct queue_retry retry = {.max_attempts = 5, .base_seconds = 60, .max_seconds = 60};
    gboolean failed = FALSE;
    char *error = NULL;

    g_assert_cmpint(queue_lease_begin(fx->db, first, &error), ==, QUEUE_LEASE_LOST);
    g_assert_nonnull(strstr(error, "lease was lost"));
    g_clear_pointer(&error, g_free);
    g_assert_true(sqlite3_get_autocommit(fx->db)); /* nothing left open */
    g_assert_cmpint(queue_lease_renew(fx->db, first->id, first->lease, 60, &error), ==,
                    QUEUE_LEASE_LOST);
    g_clear_pointer(&error, g_free);
    g_assert_cmpint(queue_complete(fx->db, first, &error), ==, QUEUE_LEASE_LOST);
    g_clear_pointer(&error, g_free);
    g_assert_cmpint(queue_defer(fx->db, first, "later", &retry, FALSE, 0, &failed, &error), ==,
                    QUEUE_LEASE_LOST);
    g_clear_pointer(&error, g_free);
    g_assert_cmpint(queue_fail(fx->db, first, "no", &error), ==, QUEUE_LEASE_LOST);
    g_clear_pointer(&error, g_free);
    g_assert_cmpint(queue_hold(fx->db, first, "no", &error), ==, QUEUE_LEASE_LOST);
    g_clear_pointer(&error, g_free);
    g_assert_cmpint(queue_release(fx->db, first, &error), ==, QUEUE_LEASE_LOST);
    g_clear_pointer(&error, g_free);

    /* The second holder is untouched by all that, and may write. */
    char *owner = testutil_db_text(fx->db, "SELECT lease_owner FROM messages");
    g_assert_cmpstr(owner, ==, second->lease);
    g_free(owner);
    g_assert_cmpint(queue_lease_begin(fx->db, second, &error), ==, DB_OK);
    g_assert_cmpint(queue_lease_end(fx->db, DB_OK, &error), ==, DB_OK);
    g_assert_cmpint(queue_complete(fx->db, second, &error), ==, DB_OK);
    g_assert_null(error);
    queue_row_free(first);
    queue_row_free(second);
}

/* The same worker claiming the same message again gets a token of its own: its earlier claim's
 * token does not pass for it. */
static void test_token_is_unique_per_claim(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_message(fx->db, "<1@example.net>");
    struct queue_row *first = claim(fx->db, "host.test:1:worker 1", 0);
    char *error = NULL;
    g_assert_cmpint(queue_release(fx->db, first, &error), ==, DB_OK);
    struct queue_row *again = claim(fx->db, "host.test:1:worker 1", id);

    g_assert_cmpstr(first->lease, !=, again->lease);
    g_assert_cmpint(queue_lease_begin(fx->db, first, &error), ==, QUEUE_LEASE_LOST);
    g_clear_pointer(&error, g_free);
    g_assert_cmpint(queue_lease_begin(fx->db, again, &error), ==, DB_OK);
    g_assert_cmpint(queue_lease_end(fx->db, DB_OK, &error), ==, DB_OK);
    queue_row_free(first);
    queue_row_free(again);
}

/* The check before a write extends the lease, and a write inside it is kept. */
static void test_lease_begin_extends_and_commits(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_message(fx->db, "<1@example.net>");
    struct queue_row *row = claim(fx->db, "host.test:1:worker 1", 0);
    expire_lease(fx->db, id); /* expired, but nobody took it: still this worker's */
    char *error = NULL;

    g_assert_cmpint(queue_lease_begin(fx->db, row, &error), ==, DB_OK);
    testutil_db_exec(fx->db, "UPDATE messages SET subject = 'kept' WHERE id = %" G_GINT64_FORMAT,
                     id);
    g_assert_cmpint(queue_lease_end(fx->db, DB_OK, &error), ==, DB_OK);
    g_assert_cmpint(lease_until(fx->db, id), >=, testutil_now() + LEASE_SECONDS - 1);
    char *subject = testutil_db_text(fx->db, "SELECT subject FROM messages");
    g_assert_cmpstr(subject, ==, "kept");
    g_free(subject);
    /* A failed write is rolled back, and says so. */
    g_assert_cmpint(queue_lease_begin(fx->db, row, &error), ==, DB_OK);
    testutil_db_exec(fx->db, "UPDATE messages SET subject = 'dropped'");
    g_assert_cmpint(queue_lease_end(fx->db, DB_ERROR, &error), ==, DB_ERROR);
    subject = testutil_db_text(fx->db, "SELECT subject FROM messages");
    g_assert_cmpstr(subject, ==, "kept");
    g_free(subject);
    queue_row_free(row);
}

static void test_hold_keeps_the_reason(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_message(fx->db, "<1@example.net>");
    struct queue_row *row = claim(fx->db, "host.test:1:worker 1", 0);
    char *error = NULL;

    g_assert_cmpint(queue_hold(fx->db, row, "outcome unknown: look", &error), ==, DB_OK);
    char *state = testutil_db_text(fx->db, "SELECT state || ': ' || last_error FROM messages");
    g_assert_cmpstr(state, ==, "held: outcome unknown: look");
    g_free(state);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT lease_owner IS NULL FROM messages"), ==, 1);
    /* Held is not due: only an operator's retry queues it. */
    struct queue_row *none = NULL;
    g_assert_cmpint(queue_claim(fx->db, "w", LEASE_SECONDS, 0, &none, &error), ==, 0);
    g_assert_cmpint(queue_retry_now(fx->db, id, "ann", &error), ==, DB_OK);
    queue_row_free(row);
}

/* A message whose mail was started and never got an outcome is not failed by recovery, even
 * after max_attempts: its next claim holds it, naming the mail. */
static void test_recover_never_fails_an_unknown_outcome(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_message(fx->db, "<1@example.net>");
    struct queue_row *row = claim(fx->db, "host.test:1:worker 1", 0);
    testutil_db_exec(fx->db,
                     "INSERT INTO actions (message, kind, state, recipient, outgoing_message_id,"
                     " created_at, started_at) VALUES (%" G_GINT64_FORMAT ", 'reply', 'pending',"
                     " 'alice@example.net', 'r1@example.org', 1, 2)",
                     id);
    testutil_db_exec(fx->db, "UPDATE messages SET attempts = 3");
    expire_lease(fx->db, id);
    gint64 count = 0;
    char *error = NULL;

    g_assert_cmpint(queue_recover_expired(fx->db, 3, &count, &error), ==, DB_OK);
    g_assert_cmpint(count, ==, 1);
    char *state = testutil_db_text(fx->db, "SELECT state FROM messages");
    g_assert_cmpstr(state, ==, "queued");
    g_free(state);
    queue_row_free(row);
}

/* A person's retry of a held message settles its unknown mail as failed, so that it is sent
 * again, and the audit trail says who decided. */
static void test_retry_of_held_sends_again(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_message(fx->db, "<1@example.net>");
    struct queue_row *row = claim(fx->db, "host.test:1:worker 1", 0);
    testutil_db_exec(fx->db,
                     "INSERT INTO actions (message, kind, state, recipient, outgoing_message_id,"
                     " created_at, started_at) VALUES (%" G_GINT64_FORMAT ", 'reply', 'pending',"
                     " 'alice@example.net', 'r1@example.org', 1, 2)",
                     id);
    char *error = NULL;
    g_assert_cmpint(queue_hold(fx->db, row, "outcome unknown", &error), ==, DB_OK);

    g_assert_cmpint(queue_retry_now(fx->db, id, "ann", &error), ==, DB_OK);
    char *action = testutil_db_text(fx->db, "SELECT state || ': ' || error FROM actions");
    g_assert_cmpstr(action, ==, "failed: outcome unknown; sent again: retry by ann");
    g_free(action);
    char *event = testutil_db_text(fx->db, "SELECT text FROM events");
    g_assert_cmpstr(event, ==, "retry by ann: queued again (it was held: outcome unknown)");
    g_free(event);
    queue_row_free(row);
}

/* ---- renewal ---- */

/* Wait, boundedly, until the lease of ID runs past now again. */
static gboolean wait_renewed(sqlite3 *db, gint64 id)
{
    for (int i = 0; i < WAIT_STEPS; i++) {
        if (lease_until(db, id) > testutil_now())
            return TRUE;
        g_usleep(50000);
    }
    return FALSE;
}

static gboolean wait_lost(struct lease_keeper *keeper, const struct queue_row *row)
{
    for (int i = 0; i < WAIT_STEPS && !lease_keeper_lost(keeper, row); i++)
        g_usleep(50000);
    return lease_keeper_lost(keeper, row);
}

/* The keeper renews what it watches, and not what it was told to forget: both leases are put
 * in the past, and once the watched one has been renewed (a round renews every claim), the
 * forgotten one is still in the past. */
static void test_keeper_renews_watched_claims_only(struct fixture *fx, gconstpointer data)
{
    gint64 watched_id = insert_message(fx->db, "<1@example.net>");
    gint64 forgotten_id = insert_message(fx->db, "<2@example.net>");
    struct queue_row *watched = claim(fx->db, "host.test:1:worker 1", watched_id);
    struct queue_row *forgotten = claim(fx->db, "host.test:1:worker 2", forgotten_id);
    struct lease_keeper *keeper = lease_keeper_start(fx->path, BUSY_TIMEOUT_MS);
    lease_keeper_watch(keeper, watched);
    lease_keeper_watch(keeper, forgotten);
    lease_keeper_forget(keeper, forgotten);

    for (int round = 0; round < 2; round++) {
        expire_lease(fx->db, watched_id);
        expire_lease(fx->db, forgotten_id);
        g_assert_true(wait_renewed(fx->db, watched_id));
        g_assert_cmpint(lease_until(fx->db, forgotten_id), <, testutil_now());
    }
    g_assert_false(lease_keeper_lost(keeper, watched));
    lease_keeper_stop(keeper);
    queue_row_free(watched);
    queue_row_free(forgotten);
}

/* A claim taken over by another worker is found lost, and the keeper never extends the other
 * worker's lease in its name. */
static void test_keeper_finds_a_lost_claim(struct fixture *fx, gconstpointer data)
{
    struct queue_row *second = NULL;
    struct queue_row *first = lose_to_second_claim(fx, &second);
    testutil_db_exec(fx->db, "UPDATE messages SET lease_until = 12345");
    struct lease_keeper *keeper = lease_keeper_start(fx->path, BUSY_TIMEOUT_MS);
    lease_keeper_watch(keeper, first);

    g_assert_true(wait_lost(keeper, first));
    g_assert_cmpint(lease_until(fx->db, first->id), ==, 12345);
    char *owner = testutil_db_text(fx->db, "SELECT lease_owner FROM messages");
    g_assert_cmpstr(owner, ==, second->lease);
    g_free(owner);
    lease_keeper_forget(keeper, first);
    lease_keeper_stop(keeper);
    queue_row_free(first);
    queue_row_free(second);
}

/* Stopping a keeper with claims still watched, or none ever, ends its thread. */
static void test_keeper_stops(struct fixture *fx, gconstpointer data)
{
    lease_keeper_stop(lease_keeper_start(fx->path, BUSY_TIMEOUT_MS));
    insert_message(fx->db, "<1@example.net>");
    struct queue_row *row = claim(fx->db, "host.test:1:worker 1", 0);
    struct lease_keeper *keeper = lease_keeper_start(fx->path, BUSY_TIMEOUT_MS);
    lease_keeper_watch(keeper, row);
    lease_keeper_stop(keeper);
    lease_keeper_stop(NULL);
    queue_row_free(row);
}

static void add(const char *path, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, NULL, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    add("/lease/first_holder_refused_after_second_claim",
        test_first_holder_refused_after_second_claim);
    add("/lease/token_is_unique_per_claim", test_token_is_unique_per_claim);
    add("/lease/lease_begin_extends_and_commits", test_lease_begin_extends_and_commits);
    add("/lease/hold_keeps_the_reason", test_hold_keeps_the_reason);
    add("/lease/recover_never_fails_an_unknown_outcome",
        test_recover_never_fails_an_unknown_outcome);
    add("/lease/retry_of_held_sends_again", test_retry_of_held_sends_again);
    add("/lease/keeper_renews_watched_claims_only", test_keeper_renews_watched_claims_only);
    add("/lease/keeper_finds_a_lost_claim", test_keeper_finds_a_lost_claim);
    add("/lease/keeper_stops", test_keeper_stops);
    return g_test_run();
}
