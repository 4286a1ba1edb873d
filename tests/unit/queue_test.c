/*
 * queue_test: the specification of lib/core/queue.c and of db_open() in lib/util/db.c.
 *
 * Each case opens a fresh database in a private temporary directory. Rows are inserted with
 * queue_insert(), driven through claim, complete, defer, fail and release, and checked with
 * SQL. Time is never waited for: an expired lease or a due retry is made by moving the row's
 * times into the past with an UPDATE.
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "db.h"
#include "queue.h"
#include "testutil.h"

#define BUSY_TIMEOUT_MS 5000
#define LEASE_SECONDS 600

struct fixture {
    char *dir;
    char *path; /* DIR/mailtriage.db */
    sqlite3 *db;
};

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    char *error = NULL;

    int status = db_open(path, BUSY_TIMEOUT_MS, &db, &error);
    g_assert_cmpstr(error, ==, NULL);
    g_assert_cmpint(status, ==, DB_OK);
    return db;
}

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    fx->dir = testutil_tmpdir();
    fx->path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    fx->db = open_db(fx->path);
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    db_close(fx->db);
    testutil_rmtree(fx->dir);
    g_free(fx->path);
    g_free(fx->dir);
}

/* A message as the milter would record it; RAW is its whole text. */
/* Distinct Message-IDs, so that sample messages are not duplicates of each other. */
static const char *const sample_message_ids[] = {"1@example.net", "2@example.net", "3@example.net",
                                                 "4@example.net", "5@example.net", "6@example.net",
                                                 "7@example.net", "8@example.net"};
static unsigned sample_count;

static struct queue_new sample_message(const char *mailbox, const char *raw)
{
    return (struct queue_new){
        .intake = "test",
        .mta_queue_id = "4ABC123",
        .mailbox = mailbox,
        .envelope_from = "alice@example.net",
        .rcpts = mailbox,
        .client_addr = "192.0.2.1",
        .helo = "mail.example.net",
        .subject = "Prices?",
        .message_id = sample_message_ids[sample_count++ % G_N_ELEMENTS(sample_message_ids)],
        .raw = raw,
        .raw_len = strlen(raw),
        .size = strlen(raw),
    };
}

/* Insert N sample messages in one call; returns the first id (they are consecutive). */
static gint64 insert_messages(sqlite3 *db, size_t n, gint64 *ids_r)
{
    struct queue_new rows[8];
    char *error = NULL;

    g_assert_cmpuint(n, <=, G_N_ELEMENTS(rows));
    for (size_t i = 0; i < n; i++)
        rows[i] = sample_message("support@example.org", "Subject: Prices?\r\n\r\nHow much?\r\n");
    int status = queue_insert(db, rows, n, ids_r, &error);
    g_assert_cmpstr(error, ==, NULL);
    g_assert_cmpint(status, ==, DB_OK);
    return ids_r[0];
}

static gint64 insert_one(sqlite3 *db)
{
    gint64 id;
    return insert_messages(db, 1, &id);
}

/* Claim as OWNER; the claim must succeed. */
static struct queue_row *claim(sqlite3 *db, const char *owner, gint64 only_id)
{
    struct queue_row *row = NULL;
    char *error = NULL;

    int result = queue_claim(db, owner, LEASE_SECONDS, only_id, &row, &error);
    g_assert_cmpstr(error, ==, NULL);
    g_assert_cmpint(result, ==, 1);
    g_assert_nonnull(row);
    return row;
}

/* Claim as OWNER; nothing may be due. */
static void claim_none(sqlite3 *db, const char *owner, gint64 only_id)
{
    struct queue_row *row = NULL;
    char *error = NULL;

    int result = queue_claim(db, owner, LEASE_SECONDS, only_id, &row, &error);
    g_assert_cmpstr(error, ==, NULL);
    g_assert_cmpint(result, ==, 0);
    g_assert_null(row);
}

static char *row_state(sqlite3 *db, gint64 id)
{
    return testutil_db_text(db, "SELECT state FROM messages WHERE id = %" G_GINT64_FORMAT, id);
}

static void assert_state(sqlite3 *db, gint64 id, const char *expected)
{
    char *state = row_state(db, id);
    g_assert_cmpstr(state, ==, expected);
    g_free(state);
}

static void assert_last_error(sqlite3 *db, gint64 id, const char *expected)
{
    char *last_error =
        testutil_db_text(db, "SELECT last_error FROM messages WHERE id = %" G_GINT64_FORMAT, id);
    g_assert_cmpstr(last_error, ==, expected);
    g_free(last_error);
}

static gint64 row_int(sqlite3 *db, const char *column, gint64 id)
{
    return testutil_db_int(db, "SELECT %s FROM messages WHERE id = %" G_GINT64_FORMAT, column, id);
}

/* Make the lease of row ID expire, as if its worker had died long ago. */
static void expire_lease(sqlite3 *db, gint64 id)
{
    testutil_db_exec(
        db, "UPDATE messages SET lease_until = %" G_GINT64_FORMAT " WHERE id = %" G_GINT64_FORMAT,
        testutil_now() - 60, id);
}

/* Make a deferred row ID due now. */
static void make_due(sqlite3 *db, gint64 id)
{
    testutil_db_exec(db,
                     "UPDATE messages SET next_attempt_at = %" G_GINT64_FORMAT
                     " WHERE id = %" G_GINT64_FORMAT,
                     testutil_now() - 1, id);
}

static const struct queue_retry retry_policy = {
    .max_attempts = 5,
    .base_seconds = 60,
    .max_seconds = 3600,
};

/* ---- db_open ---- */

static void test_db_open_creates_schema(struct fixture *fx, gconstpointer data)
{
    static const char *const tables[] = {"messages", "classifications", "actions", "events"};

    g_assert_cmpint(db_schema_version(), >=, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "PRAGMA user_version"), ==, db_schema_version());
    for (size_t i = 0; i < G_N_ELEMENTS(tables); i++)
        g_assert_cmpint(testutil_db_int(fx->db,
                                        "SELECT COUNT(*) FROM sqlite_schema"
                                        " WHERE type = 'table' AND name = '%s'",
                                        tables[i]),
                        ==, 1);
    char *mode = testutil_db_text(fx->db, "PRAGMA journal_mode");
    g_assert_cmpstr(mode, ==, "wal");
    g_free(mode);
    g_assert_cmpint(testutil_db_int(fx->db, "PRAGMA foreign_keys"), ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "PRAGMA synchronous"), ==, 2); /* FULL */
}

static void test_db_reopen_is_idempotent(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    db_close(fx->db);

    fx->db = open_db(fx->path);
    g_assert_cmpint(testutil_db_int(fx->db, "PRAGMA user_version"), ==, db_schema_version());
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT COUNT(*) FROM messages"), ==, 1);
    assert_state(fx->db, id, "queued");
}

static void test_db_newer_schema_refused(struct fixture *fx, gconstpointer data)
{
    int newer = db_schema_version() + 1;
    testutil_db_exec(fx->db, "PRAGMA user_version = %d", newer);
    db_close(fx->db);

    sqlite3 *db = NULL;
    char *error = NULL;
    g_assert_cmpint(db_open(fx->path, BUSY_TIMEOUT_MS, &db, &error), ==, DB_ERROR);
    g_assert_null(db);
    char *expected = g_strdup_printf("%s: database schema version %d is newer than this "
                                     "program's (%d): a newer mailtriage upgraded it; run that "
                                     "version",
                                     fx->path, newer, db_schema_version());
    g_assert_true(g_str_has_prefix(error, expected));
    g_free(expected);
    g_free(error);
    fx->db = NULL; /* db_close(NULL) in the teardown does nothing */
}

/* ---- queue_insert ---- */

static void test_insert_two_rows_returns_ids(struct fixture *fx, gconstpointer data)
{
    gint64 ids[2] = {0, 0};
    insert_messages(fx->db, 2, ids);

    g_assert_cmpint(ids[0], >, 0);
    g_assert_cmpint(ids[1], ==, ids[0] + 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT COUNT(*) FROM messages"), ==, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_state(fx->db, ids[i], "queued");
        g_assert_cmpint(row_int(fx->db, "attempts", ids[i]), ==, 0);
        g_assert_cmpint(row_int(fx->db, "next_attempt_at", ids[i]), ==,
                        row_int(fx->db, "received_at", ids[i]));
    }
}

static void test_insert_is_all_or_nothing(struct fixture *fx, gconstpointer data)
{
    struct queue_new rows[2] = {
        sample_message("support@example.org", "x"),
        sample_message("sales@example.org", "x"),
    };
    rows[1].intake = "smtp"; /* not milter, pipe or test */
    gint64 ids[2] = {0, 0};
    char *error = NULL;

    g_assert_cmpint(queue_insert(fx->db, rows, 2, ids, &error), ==, DB_ERROR);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error, "record message: "));
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT COUNT(*) FROM messages"), ==, 0);
    g_free(error);
}

/* ---- queue_claim ---- */

/* ---- the storage failing under queue_insert: nothing is half-recorded ---- */

static void assert_intact_and_empty(sqlite3 *db)
{
    char *check = testutil_db_text(db, "PRAGMA integrity_check");
    g_assert_cmpstr(check, ==, "ok");
    g_free(check);
    g_assert_cmpint(testutil_db_int(db, "SELECT COUNT(*) FROM messages"), ==, 0);
}

/* Another connection holds the write lock past busy_timeout: DB_BUSY, naming the file. */
static void test_insert_while_locked_is_busy(struct fixture *fx, gconstpointer data)
{
    sqlite3 *holder = open_db(fx->path);
    testutil_db_exec(holder, "BEGIN EXCLUSIVE");
    sqlite3 *db = NULL;
    char *error = NULL;
    g_assert_cmpint(db_open(fx->path, 100, &db, &error), ==, DB_OK);
    struct queue_new row = sample_message("support@example.org", "Subject: x\r\n\r\nx\r\n");
    gint64 id = 0;

    g_assert_cmpint(queue_insert(db, &row, 1, &id, &error), ==, DB_BUSY);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error, "database is locked"));
    g_assert_nonnull(strstr(error, fx->path));
    g_assert_nonnull(strstr(error, "busy_timeout"));
    g_assert_true(sqlite3_get_autocommit(db));
    testutil_db_exec(holder, "COMMIT");
    assert_intact_and_empty(fx->db);

    g_free(error);
    db_close(db);
    db_close(holder);
}

/* The file cannot grow (as on a full disk; max_page_count stands in for the file system):
 * DB_ERROR saying so with the path, the transaction rolled back, the file intact. */
static void test_insert_into_a_full_database_records_nothing(struct fixture *fx, gconstpointer data)
{
    gint64 pages = testutil_db_int(fx->db, "PRAGMA page_count");
    testutil_db_exec(fx->db, "PRAGMA max_page_count = %" G_GINT64_FORMAT, pages + 2);
    GString *raw = g_string_new("Subject: big\r\n\r\n");
    for (int i = 0; i < 4096; i++)
        g_string_append(raw, "0123456789abcdef0123456789abcdef\r\n");
    struct queue_new rows[2] = {sample_message("support@example.org", raw->str),
                                sample_message("sales@example.org", raw->str)};
    gint64 ids[2] = {0, 0};
    char *error = NULL;

    g_assert_cmpint(queue_insert(fx->db, rows, 2, ids, &error), ==, DB_ERROR);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error, "full"));
    g_assert_nonnull(strstr(error, fx->path));
    g_assert_true(sqlite3_get_autocommit(fx->db));
    assert_intact_and_empty(fx->db);

    g_free(error);
    g_string_free(raw, TRUE);
}

/* The database file was removed under an open connection: the insert is refused, instead of
 * going into the unlinked file where nobody would ever find it. */
static void test_insert_after_the_file_was_removed_is_refused(struct fixture *fx,
                                                              gconstpointer data)
{
    g_assert_cmpint(g_unlink(fx->path), ==, 0);
    struct queue_new row = sample_message("support@example.org", "Subject: x\r\n\r\nx\r\n");
    gint64 id = 0;
    char *error = NULL;

    g_assert_cmpint(queue_insert(fx->db, &row, 1, &id, &error), ==, DB_ERROR);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error, "removed or replaced"));
    g_assert_nonnull(strstr(error, fx->path));
    g_assert_cmpint(id, ==, 0);
    g_assert_true(sqlite3_get_autocommit(fx->db));

    g_free(error);
}

static void test_claim_returns_row_with_its_fields(struct fixture *fx, gconstpointer data)
{
    static const char raw[] = "Subject: hi\r\n\r\nbody with a \0 byte";
    struct queue_new message = sample_message("support@example.org", "");
    message.raw = raw;
    message.raw_len = sizeof(raw) - 1;
    message.size = 100000;
    message.truncated = TRUE;
    message.envelope_from = ""; /* the null sender */
    gint64 id;
    char *error = NULL;
    gint64 before = testutil_now();
    g_assert_cmpint(queue_insert(fx->db, &message, 1, &id, &error), ==, DB_OK);

    struct queue_row *row = claim(fx->db, "worker-1", 0);
    g_assert_cmpint(row->id, ==, id);
    g_assert_cmpstr(row->intake, ==, "test");
    g_assert_cmpstr(row->mailbox, ==, "support@example.org");
    g_assert_cmpstr(row->envelope_from, ==, "");
    g_assert_cmpstr(row->rcpts, ==, "support@example.org");
    g_assert_cmpstr(row->mta_queue_id, ==, "4ABC123");
    gsize len = 0;
    const char *bytes = g_bytes_get_data(row->raw, &len);
    g_assert_cmpmem(bytes, len, raw, sizeof(raw) - 1);
    g_assert_true(row->truncated);
    g_assert_cmpint(row->attempts, ==, 1);
    g_assert_cmpint(row->llm_failures, ==, 0);
    g_assert_cmpint(row->received_at, >=, before);
    g_assert_cmpint(row->received_at, <=, testutil_now());
    queue_row_free(row);
}

static void test_claim_null_envelope_from_stays_null(struct fixture *fx, gconstpointer data)
{
    struct queue_new message = sample_message("support@example.org", "x");
    message.envelope_from = NULL; /* unknown, unlike "" */
    gint64 id;
    char *error = NULL;
    g_assert_cmpint(queue_insert(fx->db, &message, 1, &id, &error), ==, DB_OK);

    struct queue_row *row = claim(fx->db, "worker-1", 0);
    g_assert_null(row->envelope_from);
    queue_row_free(row);
}

static void test_claim_sets_working_and_lease(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);

    assert_state(fx->db, id, "working");
    g_assert_cmpint(row_int(fx->db, "attempts", id), ==, 1);
    /* The token is the worker's name and a part of this claim's own. */
    char *owner = testutil_db_text(fx->db, "SELECT lease_owner FROM messages");
    g_assert_cmpstr(owner, ==, row->lease);
    g_assert_true(g_str_has_prefix(owner, "worker-1:"));
    g_assert_cmpuint(strlen(owner), >, strlen("worker-1:"));
    g_assert_cmpint(row->lease_seconds, ==, LEASE_SECONDS);
    g_free(owner);
    g_assert_cmpint(row_int(fx->db, "lease_until", id), >=,
                    row_int(fx->db, "updated_at", id) + LEASE_SECONDS);
    queue_row_free(row);
}

static void test_claim_oldest_due_first(struct fixture *fx, gconstpointer data)
{
    gint64 ids[3];
    insert_messages(fx->db, 3, ids);
    /* The third became due earlier than the others (say, a retry); the second is not due. */
    testutil_db_exec(fx->db,
                     "UPDATE messages SET next_attempt_at = next_attempt_at - 100"
                     " WHERE id = %" G_GINT64_FORMAT,
                     ids[2]);
    testutil_db_exec(fx->db,
                     "UPDATE messages SET next_attempt_at = next_attempt_at + 3600"
                     " WHERE id = %" G_GINT64_FORMAT,
                     ids[1]);

    const gint64 expected[] = {ids[2], ids[0]};
    for (size_t i = 0; i < G_N_ELEMENTS(expected); i++) {
        struct queue_row *row = claim(fx->db, "worker-1", 0);
        g_assert_cmpint(row->id, ==, expected[i]);
        queue_row_free(row);
    }
    claim_none(fx->db, "worker-1", 0);
}

static void test_claim_empty_queue_returns_0(struct fixture *fx, gconstpointer data)
{
    claim_none(fx->db, "worker-1", 0);
}

static void test_claim_is_exclusive(struct fixture *fx, gconstpointer data)
{
    sqlite3 *other = open_db(fx->path);
    gint64 id = insert_one(fx->db);

    struct queue_row *row = claim(fx->db, "worker-1", 0);
    g_assert_cmpint(row->id, ==, id);
    claim_none(other, "worker-2", 0);
    claim_none(other, "worker-2", id);
    queue_row_free(row);
    db_close(other);
}

static void test_claim_only_id_claims_that_row(struct fixture *fx, gconstpointer data)
{
    gint64 ids[3];
    insert_messages(fx->db, 3, ids);

    struct queue_row *row = claim(fx->db, "pipe-1", ids[1]);
    g_assert_cmpint(row->id, ==, ids[1]);
    queue_row_free(row);
    /* Being worked on, it is not due any more; the others were not touched. */
    claim_none(fx->db, "pipe-1", ids[1]);
    assert_state(fx->db, ids[0], "queued");
    assert_state(fx->db, ids[2], "queued");
}

static void test_claim_only_id_not_due_returns_0(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    testutil_db_exec(fx->db, "UPDATE messages SET next_attempt_at = next_attempt_at + 3600");

    claim_none(fx->db, "pipe-1", id);
    claim_none(fx->db, "pipe-1", id + 1000); /* no such row */
}

static void test_expired_lease_is_claimable_again(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *first = claim(fx->db, "worker-1", 0);
    claim_none(fx->db, "worker-2", 0);

    expire_lease(fx->db, id);
    claim_none(fx->db, "worker-2", 0); /* only recovery returns it to the queue */
    gint64 count = 0;
    char *recover_error = NULL;
    g_assert_cmpint(queue_recover_expired(fx->db, 10, &count, &recover_error), ==, DB_OK);
    g_assert_cmpint(count, ==, 1);
    struct queue_row *second = claim(fx->db, "worker-2", 0);
    g_assert_cmpint(second->id, ==, id);
    g_assert_cmpint(second->attempts, ==, 2);

    /* The first owner comes back too late: its lease is gone. */
    char *error = NULL;
    g_assert_cmpint(queue_complete(fx->db, first, &error), ==, QUEUE_LEASE_LOST);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error, "lease was lost"));
    g_free(error);
    assert_state(fx->db, id, "working");

    g_assert_cmpint(queue_complete(fx->db, second, &error), ==, DB_OK);
    assert_state(fx->db, id, "done");
    queue_row_free(first);
    queue_row_free(second);
}

/* ---- ending a claim ---- */

static void test_complete_marks_done(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    char *error = NULL;

    g_assert_cmpint(queue_complete(fx->db, row, &error), ==, DB_OK);
    assert_state(fx->db, id, "done");
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT lease_until IS NULL AND lease_owner IS NULL"
                                            " FROM messages"),
                    ==, 1);
    /* Done is not due. */
    claim_none(fx->db, "worker-1", 0);
    /* Completing twice is an error: the lease ended with the first. */
    g_assert_cmpint(queue_complete(fx->db, row, &error), ==, QUEUE_LEASE_LOST);
    g_assert_nonnull(strstr(error, "lease was lost"));
    g_free(error);
    queue_row_free(row);
}

static void test_other_owner_cannot_end_claim(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    /* Another worker, and the same worker's name without this claim's token. */
    const char *const others[] = {"worker-2", "worker-1"};

    for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
        struct queue_row other = *row;
        other.lease = (char *)others[i];
        char *error = NULL;
        g_assert_cmpint(queue_fail(fx->db, &other, "no", &error), ==, QUEUE_LEASE_LOST);
        g_assert_nonnull(strstr(error, "lease was lost"));
        g_free(error);
    }
    assert_state(fx->db, id, "working");
    queue_row_free(row);
}

static void test_defer_requeues_in_the_future(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    gboolean failed = TRUE;
    char *error = NULL;
    gint64 before = testutil_now();

    g_assert_cmpint(
        queue_defer(fx->db, row, "sendmail exited 75", &retry_policy, FALSE, 0, &failed, &error),
        ==, DB_OK);
    g_assert_false(failed);
    assert_state(fx->db, id, "queued");
    assert_last_error(fx->db, id, "sendmail exited 75");
    g_assert_cmpint(row_int(fx->db, "attempts", id), ==, 1);
    g_assert_cmpint(row_int(fx->db, "llm_failures", id), ==, 0);
    /* First retry: 60 s with +-25% jitter. */
    gint64 next = row_int(fx->db, "next_attempt_at", id);
    g_assert_cmpint(next, >=, before + 45);
    g_assert_cmpint(next, <=, testutil_now() + 75);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT lease_owner IS NULL FROM messages"), ==, 1);
    claim_none(fx->db, "worker-1", 0);
    queue_row_free(row);
}

static void test_defer_honours_at_least(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    gboolean failed = TRUE;
    char *error = NULL;
    gint64 before = testutil_now();

    g_assert_cmpint(queue_defer(fx->db, row, "429", &retry_policy, FALSE, 7200, &failed, &error),
                    ==, DB_OK);
    g_assert_cmpint(row_int(fx->db, "next_attempt_at", id), >=, before + 7200);
    queue_row_free(row);
}

static void test_defer_llm_failure_counts_llm_failures(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    gboolean failed = TRUE;
    char *error = NULL;

    for (int round = 1; round <= 2; round++) {
        struct queue_row *row = claim(fx->db, "worker-1", 0);
        g_assert_cmpint(row->llm_failures, ==, round - 1);
        g_assert_cmpint(
            queue_defer(fx->db, row, "LLM timeout", &retry_policy, TRUE, 0, &failed, &error), ==,
            DB_OK);
        g_assert_false(failed);
        g_assert_cmpint(row_int(fx->db, "llm_failures", id), ==, round);
        queue_row_free(row);
        make_due(fx->db, id);
    }
}

static void test_defer_after_max_attempts_fails(struct fixture *fx, gconstpointer data)
{
    const struct queue_retry retry = {.max_attempts = 2, .base_seconds = 60, .max_seconds = 60};
    gint64 id = insert_one(fx->db);
    gboolean failed = TRUE;
    char *error = NULL;

    struct queue_row *row = claim(fx->db, "worker-1", 0);
    g_assert_cmpint(queue_defer(fx->db, row, "temporary", &retry, FALSE, 0, &failed, &error), ==,
                    DB_OK);
    g_assert_false(failed);
    queue_row_free(row);

    make_due(fx->db, id);
    row = claim(fx->db, "worker-1", 0);
    g_assert_cmpint(row->attempts, ==, 2);
    g_assert_cmpint(queue_defer(fx->db, row, "temporary", &retry, FALSE, 0, &failed, &error), ==,
                    DB_OK);
    g_assert_true(failed);
    assert_state(fx->db, id, "failed");
    assert_last_error(fx->db, id, "temporary (gave up after 2 attempts)");
    claim_none(fx->db, "worker-1", 0);
    queue_row_free(row);
}

static void test_release_does_not_count_attempt(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    char *error = NULL;

    g_assert_cmpint(queue_release(fx->db, row, &error), ==, DB_OK);
    assert_state(fx->db, id, "queued");
    g_assert_cmpint(row_int(fx->db, "attempts", id), ==, 0);
    queue_row_free(row);

    /* Due again at once, and its next claim is still the first attempt. */
    row = claim(fx->db, "worker-2", 0);
    g_assert_cmpint(row->id, ==, id);
    g_assert_cmpint(row->attempts, ==, 1);
    queue_row_free(row);
}

/* Waiting for something outside the message (a misconfigured LLM endpoint, the budget): the
 * attempt and the LLM failures stay as they were, whatever the number of waits. */
static void test_postpone_counts_nothing(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    char *error = NULL;
    for (int i = 0; i < 20; i++) {
        testutil_db_exec(fx->db, "UPDATE messages SET next_attempt_at = 0");
        struct queue_row *row = claim(fx->db, "worker-1", 0);
        g_assert_cmpint(row->attempts, ==, 1);
        gint64 before = testutil_now();
        g_assert_cmpint(queue_postpone(fx->db, row, "LLM: HTTP 401: wrong key", 100, &error), ==,
                        DB_OK);
        gint64 next = row_int(fx->db, "next_attempt_at", id);
        g_assert_cmpint(next, >=, before + 100);
        g_assert_cmpint(next, <=, testutil_now() + 125);
        queue_row_free(row);
    }
    assert_state(fx->db, id, "queued");
    assert_last_error(fx->db, id, "LLM: HTTP 401: wrong key");
    g_assert_cmpint(row_int(fx->db, "attempts", id), ==, 0);
    g_assert_cmpint(row_int(fx->db, "llm_failures", id), ==, 0);
    /* Not due before its time. */
    claim_none(fx->db, "worker-1", 0);
}

static void test_fail_stores_reason(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    char *error = NULL;

    g_assert_cmpint(queue_fail(fx->db, row, "message has no sender", &error), ==, DB_OK);
    assert_state(fx->db, id, "failed");
    assert_last_error(fx->db, id, "message has no sender");
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT lease_owner IS NULL FROM messages"), ==, 1);
    claim_none(fx->db, "worker-1", 0);
    queue_row_free(row);
}

/* ---- recovery and operator retries ---- */

static void test_recover_expired_counts(struct fixture *fx, gconstpointer data)
{
    gint64 ids[3];
    insert_messages(fx->db, 3, ids);
    struct queue_row *first = claim(fx->db, "worker-1", 0);
    struct queue_row *second = claim(fx->db, "worker-2", 0);
    expire_lease(fx->db, first->id);
    gint64 count = -1;
    char *error = NULL;

    g_assert_cmpint(queue_recover_expired(fx->db, 10, &count, &error), ==, DB_OK);
    g_assert_cmpint(count, ==, 1);
    assert_state(fx->db, first->id, "queued");
    assert_last_error(fx->db, first->id, "the worker processing it stopped; queued again");
    assert_state(fx->db, second->id, "working");
    assert_state(fx->db, ids[2], "queued");

    g_assert_cmpint(queue_recover_expired(fx->db, 10, &count, &error), ==, DB_OK);
    g_assert_cmpint(count, ==, 0);
    queue_row_free(first);
    queue_row_free(second);
}

static void test_duplicate_recorded_against_first_copy(struct fixture *fx, gconstpointer data)
{
    struct queue_new rows[3];
    rows[0] = sample_message("support@example.org", "Subject: a\n\nb\n");
    rows[1] = rows[0]; /* the same message again */
    rows[2] = rows[0];
    rows[2].mailbox = "sales@example.org"; /* the same message for another mailbox */
    gint64 ids[3];
    char *error = NULL;
    g_assert_cmpint(queue_insert(fx->db, rows, 3, ids, &error), ==, DB_OK);
    assert_state(fx->db, ids[0], "queued");
    assert_state(fx->db, ids[1], "done");
    assert_state(fx->db, ids[2], "queued");
    assert_last_error(fx->db, ids[1], "duplicate of message 1");
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT duplicate_of FROM messages WHERE id = 2"), ==,
                    ids[0]);

    /* Without a Message-ID nothing can be recognised: every copy is processed. */
    struct queue_new bare = sample_message("support@example.org", "Subject: a\n\nb\n");
    bare.message_id = NULL;
    g_assert_cmpint(queue_insert(fx->db, &bare, 1, ids, &error), ==, DB_OK);
    g_assert_cmpint(queue_insert(fx->db, &bare, 1, ids + 1, &error), ==, DB_OK);
    assert_state(fx->db, ids[0], "queued");
    assert_state(fx->db, ids[1], "queued");
}

static void test_recover_fails_after_max_attempts(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    testutil_db_exec(fx->db, "UPDATE messages SET attempts = 3");
    expire_lease(fx->db, id);
    gint64 count = 0;
    char *error = NULL;

    g_assert_cmpint(queue_recover_expired(fx->db, 3, &count, &error), ==, DB_OK);
    g_assert_cmpint(count, ==, 1);
    assert_state(fx->db, id, "failed");
    assert_last_error(fx->db, id, "the worker processing it stopped 3 times; gave up");
    queue_row_free(row);
}

static void test_recover_orphans_of_dead_process(struct fixture *fx, gconstpointer data)
{
    gint64 ids[2];
    insert_messages(fx->db, 2, ids);
    struct queue_row *dead = claim(fx->db, "host.test:999999999:1", 0);
    char *alive_owner = g_strdup_printf("host.test:%d:1", (int)getpid());
    struct queue_row *alive = claim(fx->db, alive_owner, 0);
    gint64 count = 0;
    char *error = NULL;

    g_assert_cmpint(queue_recover_orphans(fx->db, "host.test", &count, &error), ==, DB_OK);
    g_assert_cmpint(count, ==, 1);
    g_assert_cmpint(queue_recover_expired(fx->db, 10, &count, &error), ==, DB_OK);
    g_assert_cmpint(count, ==, 1);
    assert_state(fx->db, dead->id, "queued");
    assert_state(fx->db, alive->id, "working");
    /* Another host's owners are never touched. */
    g_assert_cmpint(queue_recover_orphans(fx->db, "other.test", &count, &error), ==, DB_OK);
    g_assert_cmpint(count, ==, 0);
    g_free(alive_owner);
    queue_row_free(dead);
    queue_row_free(alive);
}

static void test_retry_now_requeues_failed(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    gboolean failed = FALSE;
    char *error = NULL;
    g_assert_cmpint(queue_defer(fx->db, row, "LLM down", &retry_policy, TRUE, 0, &failed, &error),
                    ==, DB_OK);
    queue_row_free(row);
    make_due(fx->db, id);
    row = claim(fx->db, "worker-1", 0);
    g_assert_cmpint(queue_fail(fx->db, row, "bad", &error), ==, DB_OK);
    queue_row_free(row);

    g_assert_cmpint(queue_retry_now(fx->db, id, "alice", &error), ==, DB_OK);
    assert_state(fx->db, id, "queued");
    g_assert_cmpint(row_int(fx->db, "attempts", id), ==, 0);
    g_assert_cmpint(row_int(fx->db, "llm_failures", id), ==, 0);
    row = claim(fx->db, "worker-1", 0);
    g_assert_cmpint(row->id, ==, id);
    g_assert_cmpint(row->attempts, ==, 1);
    queue_row_free(row);
}

static void test_retry_now_requeues_done(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    char *error = NULL;
    g_assert_cmpint(queue_complete(fx->db, row, &error), ==, DB_OK);
    queue_row_free(row);

    g_assert_cmpint(queue_retry_now(fx->db, id, "alice", &error), ==, DB_OK);
    assert_state(fx->db, id, "queued");
}

/* Who retried what is in the message's audit trail, with what the message was before. */
static void test_retry_now_records_the_operator(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_one(fx->db);
    struct queue_row *row = claim(fx->db, "worker-1", 0);
    char *error = NULL;
    g_assert_cmpint(queue_fail(fx->db, row, "sendmail exited with status 1", &error), ==, DB_OK);
    queue_row_free(row);

    g_assert_cmpint(queue_retry_now(fx->db, id, "alice (sudo bob)", &error), ==, DB_OK);
    char *event = testutil_db_text(fx->db,
                                   "SELECT level || ' ' || text FROM events WHERE message = "
                                   "%" G_GINT64_FORMAT,
                                   id);
    g_assert_cmpstr(event, ==,
                    "info retry by alice (sudo bob): queued again (it was failed: sendmail "
                    "exited with status 1)");
    g_free(event);
}

static void test_retry_now_refuses_queued_working_missing(struct fixture *fx, gconstpointer data)
{
    gint64 ids[2];
    insert_messages(fx->db, 2, ids);
    struct queue_row *row = claim(fx->db, "worker-1", ids[1]);
    const gint64 refused[] = {ids[0], ids[1], ids[1] + 100};
    const char *const why[] = {"is queued: only a failed, done or held message is retried",
                               "is working: only a failed, done or held message is retried", NULL};

    for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
        char *error = NULL;
        g_assert_cmpint(queue_retry_now(fx->db, refused[i], "alice", &error), ==, DB_ERROR);
        char *expected =
            why[i] != NULL ? g_strdup_printf("message %" G_GINT64_FORMAT " %s", refused[i], why[i])
                           : g_strdup_printf("no message %" G_GINT64_FORMAT, refused[i]);
        g_assert_cmpstr(error, ==, expected);
        g_free(expected);
        g_free(error);
    }
    assert_state(fx->db, ids[0], "queued");
    assert_state(fx->db, ids[1], "working");
    g_assert_cmpint(row_int(fx->db, "attempts", ids[1]), ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM events"), ==, 0);
    queue_row_free(row);
}

/* ---- back-off ---- */

static void test_backoff_table(void)
{
    static const struct {
        int n;
        gint64 delay;
    } cases[] = {
        {1, 60}, {2, 120}, {3, 240}, {4, 480}, {6, 1920}, {7, 3600}, {10, 3600}, {1000, 3600},
    };
    const struct queue_retry retry = {.max_attempts = 10, .base_seconds = 60, .max_seconds = 3600};

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        gint64 delay = queue_backoff(&retry, cases[i].n);
        if (delay != cases[i].delay) {
            g_test_message("queue_backoff(n = %d) = %" G_GINT64_FORMAT
                           ", expected %" G_GINT64_FORMAT,
                           cases[i].n, delay, cases[i].delay);
            g_test_fail();
        }
    }
}

static void test_backoff_base_above_max_is_capped(void)
{
    const struct queue_retry retry = {.max_attempts = 10, .base_seconds = 600, .max_seconds = 60};

    g_assert_cmpint(queue_backoff(&retry, 1), ==, 60);
}

static void add(const char *path, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, NULL, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    add("/db/open_creates_schema", test_db_open_creates_schema);
    add("/db/reopen_is_idempotent", test_db_reopen_is_idempotent);
    add("/db/newer_schema_refused", test_db_newer_schema_refused);

    add("/queue/insert_two_rows_returns_ids", test_insert_two_rows_returns_ids);
    add("/queue/insert_is_all_or_nothing", test_insert_is_all_or_nothing);
    add("/queue/insert_while_locked_is_busy", test_insert_while_locked_is_busy);
    add("/queue/insert_into_a_full_database_records_nothing",
        test_insert_into_a_full_database_records_nothing);
    add("/queue/insert_after_the_file_was_removed_is_refused",
        test_insert_after_the_file_was_removed_is_refused);
    add("/queue/claim_returns_row_with_its_fields", test_claim_returns_row_with_its_fields);
    add("/queue/claim_null_envelope_from_stays_null", test_claim_null_envelope_from_stays_null);
    add("/queue/claim_sets_working_and_lease", test_claim_sets_working_and_lease);
    add("/queue/claim_oldest_due_first", test_claim_oldest_due_first);
    add("/queue/claim_empty_queue_returns_0", test_claim_empty_queue_returns_0);
    add("/queue/claim_is_exclusive", test_claim_is_exclusive);
    add("/queue/claim_only_id_claims_that_row", test_claim_only_id_claims_that_row);
    add("/queue/claim_only_id_not_due_returns_0", test_claim_only_id_not_due_returns_0);
    add("/queue/expired_lease_is_claimable_again", test_expired_lease_is_claimable_again);
    add("/queue/complete_marks_done", test_complete_marks_done);
    add("/queue/other_owner_cannot_end_claim", test_other_owner_cannot_end_claim);
    add("/queue/defer_requeues_in_the_future", test_defer_requeues_in_the_future);
    add("/queue/defer_honours_at_least", test_defer_honours_at_least);
    add("/queue/defer_llm_failure_counts_llm_failures", test_defer_llm_failure_counts_llm_failures);
    add("/queue/defer_after_max_attempts_fails", test_defer_after_max_attempts_fails);
    add("/queue/release_does_not_count_attempt", test_release_does_not_count_attempt);
    add("/queue/postpone_counts_nothing", test_postpone_counts_nothing);
    add("/queue/fail_stores_reason", test_fail_stores_reason);
    add("/queue/recover_expired_counts", test_recover_expired_counts);
    add("/queue/recover_fails_after_max_attempts", test_recover_fails_after_max_attempts);
    add("/queue/duplicate_recorded_against_first_copy", test_duplicate_recorded_against_first_copy);
    add("/queue/recover_orphans_of_dead_process", test_recover_orphans_of_dead_process);
    add("/queue/retry_now_requeues_failed", test_retry_now_requeues_failed);
    add("/queue/retry_now_requeues_done", test_retry_now_requeues_done);
    add("/queue/retry_now_records_the_operator", test_retry_now_records_the_operator);
    add("/queue/retry_now_refuses_queued_working_missing",
        test_retry_now_refuses_queued_working_missing);
    g_test_add_func("/queue/backoff_table", test_backoff_table);
    g_test_add_func("/queue/backoff_base_above_max_is_capped",
                    test_backoff_base_above_max_is_capped);
    return g_test_run();
}
