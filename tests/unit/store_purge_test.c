/*
 * store_purge_test: the specification of lib/core/store_purge.c (retention's bodies and rows,
 * a correspondent's erasure) and of retention_apply() (lib/core/retention.c), which turns the
 * [policy] keys into cut-off times and batches.
 *
 * Each case opens a fresh database (foreign keys on, as every program has it), records messages
 * with queue_insert(), ages them and gives them dependants with SQL, and checks with SQL what is
 * left. Times are counted back from one fixed "now".
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "db.h"
#include "queue.h"
#include "retention.h"
#include "store_purge.h"
#include "testdata.h"
#include "testutil.h"

#define DAY 86400

struct fixture {
    char *dir;
    sqlite3 *db;
    gint64 now;
};

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    fx->dir = testutil_tmpdir();
    char *path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(path, 5000, &fx->db, &error), ==, DB_OK);
    g_free(path);
    fx->now = testutil_now();
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    db_close(fx->db);
    testutil_rmtree(fx->dir);
    g_free(fx->dir);
}

/* A message from ENVELOPE (From: FROM, recipients RCPTS) in STATE, received AGE days ago. */
static gint64 add_message(struct fixture *fx, const char *envelope, const char *from,
                          const char *rcpts, const char *state, int age)
{
    static const char raw[] = "Subject: hello\r\n\r\nMy account number is 12345.\r\n";
    const struct queue_new row = {
        .intake = "test",
        .mailbox = "support@example.org",
        .envelope_from = envelope,
        .rcpts = rcpts,
        .from_addr = from,
        .subject = "hello",
        .raw = raw,
        .raw_len = sizeof(raw) - 1,
        .size = sizeof(raw) - 1,
    };
    gint64 id = 0;
    char *error = NULL;
    g_assert_cmpint(queue_insert(fx->db, &row, 1, &id, &error), ==, DB_OK);
    testutil_db_exec(fx->db,
                     "UPDATE messages SET state = '%s', received_at = %" G_GINT64_FORMAT
                     " WHERE id = %" G_GINT64_FORMAT,
                     state, fx->now - (gint64)age * DAY - 1, id);
    return id;
}

/* What a processed message has: a classification with a reply, a reply action to RECIPIENT,
 * an event naming it, and (DRAFT_STATE not NULL) a draft in that state. */
static void add_dependants(struct fixture *fx, gint64 id, const char *recipient,
                           const char *draft_state)
{
    testutil_db_exec(
        fx->db,
        "INSERT INTO classifications (message, provider, intent, summary, reply, valid,"
        " raw_answer, created_at) VALUES (%" G_GINT64_FORMAT ", 'builtin', 'send_info',"
        " 'wants prices', 'Dear customer', 1, '{\"reply\": \"Dear customer\"}', 1)",
        id);
    testutil_db_exec(fx->db,
                     "INSERT INTO actions (message, kind, state, recipient, outgoing_message_id,"
                     " created_at, sent_at) VALUES (%" G_GINT64_FORMAT ", 'reply', 'sent', '%s',"
                     " 'out-%" G_GINT64_FORMAT "@mt.example.org', 1, 1)",
                     id, recipient, id);
    testutil_db_exec(fx->db,
                     "INSERT INTO events (message, time, level, text) VALUES (%" G_GINT64_FORMAT
                     ", 1, 'info', 'reply sent to <%s>')",
                     id, recipient);
    if (draft_state != NULL)
        testutil_db_exec(fx->db,
                         "INSERT INTO drafts (message, recipient, outgoing_message_id, text, state,"
                         " created_at) VALUES (%" G_GINT64_FORMAT ", '%s', 'd-%" G_GINT64_FORMAT
                         "@mt.example.org', 'To: x\r\n\r\nDear customer', '%s', 1)",
                         id, recipient, id, draft_state);
}

static gint64 count(struct fixture *fx, const char *table)
{
    return testutil_db_int(fx->db, "SELECT count(*) FROM %s", table);
}

static gboolean has_body(struct fixture *fx, gint64 id)
{
    return testutil_db_int(fx->db,
                           "SELECT raw IS NOT NULL FROM messages WHERE id = %" G_GINT64_FORMAT,
                           id) == 1;
}

/* ---- bodies ---- */

static void test_bodies_of_old_settled_messages_removed(struct fixture *fx, gconstpointer data)
{
    gint64 done = add_message(fx, "ann@x.test", "ann@x.test", "support@example.org", "done", 40);
    add_dependants(fx, done, "ann@x.test", "sent");
    gint64 failed = add_message(fx, "bob@x.test", NULL, "support@example.org", "failed", 40);
    /* What a shadow action (mode shadow) would have sent is content too. */
    testutil_db_exec(fx->db,
                     "UPDATE actions SET shadow = 1, shadow_text = 'To: ann@x.test' WHERE"
                     " message = %" G_GINT64_FORMAT,
                     done);
    struct store_purge_counts n = {0};
    char *error = NULL;

    g_assert_cmpint(store_purge_bodies(fx->db, fx->now - 30 * DAY, 100, &n, &error), ==, DB_OK);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM actions WHERE shadow = 1 AND"
                                            " shadow_text IS NULL"),
                    ==, 1);
    g_assert_cmpint(n.messages, ==, 2);
    g_assert_cmpint(n.drafts, ==, 1);
    g_assert_cmpint(n.classifications, ==, 1);
    g_assert_false(has_body(fx, done));
    g_assert_false(has_body(fx, failed));
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM drafts WHERE text = ''"), ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM classifications WHERE reply IS"
                                            " NULL AND raw_answer IS NULL AND summary IS NOT NULL"),
                    ==, 1);
    /* The rows stay: the reply interval and the statistics count them. */
    g_assert_cmpint(count(fx, "messages"), ==, 2);
    g_assert_cmpint(count(fx, "actions"), ==, 1);
    g_assert_cmpint(count(fx, "events"), ==, 1);

    n = (struct store_purge_counts){0};
    g_assert_cmpint(store_purge_bodies(fx->db, fx->now - 30 * DAY, 100, &n, &error), ==, DB_OK);
    g_assert_cmpint(n.messages + n.drafts + n.classifications, ==, 0);
}

static void test_bodies_kept_when_young_or_unsettled(struct fixture *fx, gconstpointer data)
{
    gint64 young = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 29);
    gint64 queued = add_message(fx, "ann@x.test", NULL, "support@example.org", "queued", 40);
    gint64 working = add_message(fx, "ann@x.test", NULL, "support@example.org", "working", 40);
    gint64 held = add_message(fx, "ann@x.test", NULL, "support@example.org", "held", 40);
    gint64 pending = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 40);
    add_dependants(fx, pending, "ann@x.test", "pending");
    gint64 sending = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 40);
    add_dependants(fx, sending, "ann@x.test", "sending");
    struct store_purge_counts n = {0};
    char *error = NULL;

    g_assert_cmpint(store_purge_bodies(fx->db, fx->now - 30 * DAY, 100, &n, &error), ==, DB_OK);
    g_assert_cmpint(n.messages, ==, 0);
    const gint64 kept[] = {young, queued, working, held, pending, sending};
    for (size_t i = 0; i < G_N_ELEMENTS(kept); i++)
        g_assert_true(has_body(fx, kept[i]));
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM drafts WHERE text != ''"), ==, 2);
}

static void test_bodies_oldest_first_in_batches(struct fixture *fx, gconstpointer data)
{
    gint64 ids[5];
    for (int i = 0; i < 5; i++)
        ids[i] = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 50 - i);
    char *error = NULL;
    struct store_purge_counts n = {0};

    g_assert_cmpint(store_purge_bodies(fx->db, fx->now - 30 * DAY, 2, &n, &error), ==, DB_OK);
    g_assert_cmpint(n.messages, ==, 2);
    g_assert_false(has_body(fx, ids[0]));
    g_assert_false(has_body(fx, ids[1]));
    g_assert_true(has_body(fx, ids[2]));
    g_assert_cmpint(store_purge_bodies(fx->db, fx->now - 30 * DAY, 2, &n, &error), ==, DB_OK);
    g_assert_cmpint(store_purge_bodies(fx->db, fx->now - 30 * DAY, 2, &n, &error), ==, DB_OK);
    g_assert_cmpint(n.messages, ==, 5);
}

/* ---- rows ---- */

static void test_rows_of_old_settled_messages_deleted(struct fixture *fx, gconstpointer data)
{
    gint64 old = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 400);
    add_dependants(fx, old, "ann@x.test", "rejected");
    gint64 young = add_message(fx, "bob@x.test", NULL, "support@example.org", "done", 10);
    add_dependants(fx, young, "bob@x.test", NULL);
    gint64 waiting = add_message(fx, "cat@x.test", NULL, "support@example.org", "done", 400);
    add_dependants(fx, waiting, "cat@x.test", "pending");
    testutil_db_exec(fx->db,
                     "INSERT INTO events (message, time, level, text) VALUES"
                     " (NULL, %" G_GINT64_FORMAT ", 'info', 'old daemon event'),"
                     " (NULL, %" G_GINT64_FORMAT ", 'info', 'young daemon event')",
                     fx->now - 400 * DAY, fx->now - DAY);
    /* A young bounce of the old message's reply: it keeps blocking the address. */
    testutil_db_exec(fx->db,
                     "INSERT INTO bounces (address, action, report, status, time) VALUES"
                     " ('ann@x.test', (SELECT id FROM actions WHERE message = %" G_GINT64_FORMAT
                     "), NULL, '5.1.1', %" G_GINT64_FORMAT "), ('old@x.test', NULL, NULL,"
                     " '5.1.1', %" G_GINT64_FORMAT ")",
                     old, fx->now - DAY, fx->now - 400 * DAY);
    struct store_purge_counts n = {0};
    char *error = NULL;

    g_assert_cmpint(store_purge_rows(fx->db, fx->now - 365 * DAY, 100, &n, &error), ==, DB_OK);
    g_assert_cmpint(n.messages, ==, 1);
    g_assert_cmpint(n.classifications, ==, 1);
    g_assert_cmpint(n.actions, ==, 1);
    g_assert_cmpint(n.drafts, ==, 1);
    g_assert_cmpint(n.events, ==, 2); /* the message's and the old daemon event */
    g_assert_cmpint(n.bounces, ==, 1);
    g_assert_cmpint(count(fx, "messages"), ==, 2);
    g_assert_cmpint(
        testutil_db_int(fx->db, "SELECT count(*) FROM messages WHERE id = %" G_GINT64_FORMAT, old),
        ==, 0);
    g_assert_cmpint(count(fx, "classifications"), ==, 2);
    g_assert_cmpint(count(fx, "drafts"), ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM events WHERE message IS NULL"),
                    ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM bounces WHERE address ="
                                            " 'ann@x.test' AND action IS NULL"),
                    ==, 1);
}

/* duplicate_of has no ON DELETE: a kept copy must not stop its first one from going. */
static void test_rows_kept_copy_forgets_its_first(struct fixture *fx, gconstpointer data)
{
    gint64 first = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 400);
    gint64 copy = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 1);
    testutil_db_exec(fx->db,
                     "UPDATE messages SET duplicate_of = %" G_GINT64_FORMAT
                     " WHERE id = %" G_GINT64_FORMAT,
                     first, copy);
    struct store_purge_counts n = {0};
    char *error = NULL;

    g_assert_cmpint(store_purge_rows(fx->db, fx->now - 365 * DAY, 100, &n, &error), ==, DB_OK);
    g_assert_cmpstr(error, ==, NULL);
    g_assert_cmpint(n.messages, ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db,
                                    "SELECT duplicate_of IS NULL FROM messages WHERE id = "
                                    "%" G_GINT64_FORMAT,
                                    copy),
                    ==, 1);
    g_free(error);
}

/* ---- a correspondent's erasure ---- */

static void test_forget_deletes_every_trace(struct fixture *fx, gconstpointer data)
{
    gint64 sent = add_message(fx, "ann@x.test", "ann@x.test", "support@example.org", "done", 1);
    add_dependants(fx, sent, "ann@x.test", "sent");
    /* From: her, through a provider's envelope sender. */
    gint64 via =
        add_message(fx, "bounce-1@esp.test", "Ann@X.test", "support@example.org", "done", 2);
    /* She was a recipient beside the mailbox. */
    gint64 copied =
        add_message(fx, "bob@x.test", "bob@x.test", "support@example.org ann@x.test", "queued", 0);
    /* A report of her bounce, and the bounce. */
    gint64 report =
        add_message(fx, "", "MAILER-DAEMON@mx.x.test", "support@example.org", "done", 1);
    testutil_db_exec(fx->db,
                     "INSERT INTO bounces (address, action, report, status, time) VALUES"
                     " ('ann@x.test', (SELECT id FROM actions WHERE message = %" G_GINT64_FORMAT
                     "), %" G_GINT64_FORMAT ", '5.1.1', 1)",
                     sent, report);
    /* Someone else, who names her in nothing; and a name that only contains hers. */
    gint64 other =
        add_message(fx, "joann@x.test", "joann@x.test", "support@example.org", "done", 1);
    add_dependants(fx, other, "joann@x.test", NULL);
    testutil_db_exec(fx->db, "INSERT INTO events (message, time, level, text) VALUES"
                             " (NULL, 1, 'info', 'a note about <ann@x.test>')");
    struct store_purge_counts n;
    char *error = NULL;

    g_assert_cmpint(store_purge_address(fx->db, "ANN@x.test", &n, &error), ==, DB_OK);
    g_assert_cmpint(n.messages, ==, 4);
    g_assert_cmpint(n.classifications, ==, 1);
    g_assert_cmpint(n.actions, ==, 1);
    g_assert_cmpint(n.drafts, ==, 1);
    g_assert_cmpint(n.events, ==, 2);
    g_assert_cmpint(n.bounces, ==, 1);
    g_assert_cmpint(count(fx, "messages"), ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT id FROM messages"), ==, other);
    g_assert_cmpint(count(fx, "actions"), ==, 1);
    g_assert_cmpint(count(fx, "events"), ==, 1);
    g_assert_cmpint(count(fx, "bounces"), ==, 0);
    g_assert_cmpint(testutil_db_int(fx->db,
                                    "SELECT count(*) FROM messages WHERE id IN (%" G_GINT64_FORMAT
                                    ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ")",
                                    sent, via, copied),
                    ==, 0);
}

static void test_forget_unknown_address_deletes_nothing(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 1);
    add_dependants(fx, id, "ann@x.test", NULL);
    struct store_purge_counts n;
    char *error = NULL;

    g_assert_cmpint(store_purge_address(fx->db, "nobody@x.test", &n, &error), ==, DB_OK);
    g_assert_cmpint(n.messages + n.classifications + n.actions + n.drafts + n.events + n.bounces,
                    ==, 0);
    g_assert_cmpint(count(fx, "messages"), ==, 1);
    g_assert_cmpint(count(fx, "events"), ==, 1);
}

/* ---- retention_apply(): the keys, the cut-offs, the batches ---- */

static struct config *retention_config(guint retention_days, guint metadata_days)
{
    char *ini = g_strdup_printf("[policy]\nretention_days = %u\nmetadata_retention_days = %u\n"
                                "[mailbox support@example.org]\nescalate_to = boss@example.org\n",
                                retention_days, metadata_days);
    struct config *cfg = testdata_config(ini);
    g_free(ini);
    return cfg;
}

static void test_retention_off_changes_nothing(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 10000);
    struct config *cfg = retention_config(0, 0);
    struct retention_result result;
    gboolean more = TRUE;
    char *error = NULL;

    g_assert_cmpint(retention_apply(fx->db, cfg, fx->now, &result, &more, &error), ==, DB_OK);
    g_assert_false(more);
    g_assert_true(has_body(fx, id));
    g_assert_cmpint(result.bodies.messages + result.rows.messages, ==, 0);
    config_unref(cfg);
}

static void test_retention_applies_both_keys(struct fixture *fx, gconstpointer data)
{
    gint64 fresh = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 29);
    gint64 aged = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 31);
    gint64 ancient = add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 366);
    struct config *cfg = retention_config(30, 365);
    struct retention_result result;
    gboolean more = TRUE;
    char *error = NULL;

    g_assert_cmpint(retention_apply(fx->db, cfg, fx->now, &result, &more, &error), ==, DB_OK);
    g_assert_false(more);
    g_assert_cmpint(result.rows.messages, ==, 1);
    g_assert_cmpint(result.bodies.messages, ==, 1); /* the deleted one is not counted twice */
    g_assert_true(has_body(fx, fresh));
    g_assert_false(has_body(fx, aged));
    g_assert_cmpint(testutil_db_int(fx->db,
                                    "SELECT count(*) FROM messages WHERE id = %" G_GINT64_FORMAT,
                                    ancient),
                    ==, 0);
    config_unref(cfg);
}

/* One call does a bounded amount of work and says that more is left. */
static void test_retention_is_bounded_per_call(struct fixture *fx, gconstpointer data)
{
    const int total = RETENTION_BATCH * RETENTION_MAX_BATCHES + 1;
    add_message(fx, "ann@x.test", NULL, "support@example.org", "done", 40);
    testutil_db_exec(fx->db,
                     "WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
                     " INSERT INTO messages (intake, mailbox, envelope_from, rcpts, received_at,"
                     " size, raw, state, next_attempt_at, updated_at) SELECT 'test',"
                     " 'support@example.org', 'ann@x.test', 'support@example.org', received_at,"
                     " size, raw, 'done', 0, 0 FROM messages, n WHERE messages.id = 1",
                     total);
    struct config *cfg = retention_config(30, 0);
    struct retention_result result;
    gboolean more = FALSE;
    char *error = NULL;

    g_assert_cmpint(count(fx, "messages"), ==, total);
    g_assert_cmpint(retention_apply(fx->db, cfg, fx->now, &result, &more, &error), ==, DB_OK);
    g_assert_true(more);
    g_assert_cmpint(result.bodies.messages, ==, total - 1);
    g_assert_cmpint(retention_apply(fx->db, cfg, fx->now, &result, &more, &error), ==, DB_OK);
    g_assert_false(more);
    g_assert_cmpint(result.bodies.messages, ==, 1);
    config_unref(cfg);
}

static void add(const char *path, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, NULL, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    add("/store_purge/bodies_of_old_settled_messages_removed",
        test_bodies_of_old_settled_messages_removed);
    add("/store_purge/bodies_kept_when_young_or_unsettled",
        test_bodies_kept_when_young_or_unsettled);
    add("/store_purge/bodies_oldest_first_in_batches", test_bodies_oldest_first_in_batches);
    add("/store_purge/rows_of_old_settled_messages_deleted",
        test_rows_of_old_settled_messages_deleted);
    add("/store_purge/rows_kept_copy_forgets_its_first", test_rows_kept_copy_forgets_its_first);
    add("/store_purge/forget_deletes_every_trace", test_forget_deletes_every_trace);
    add("/store_purge/forget_unknown_address_deletes_nothing",
        test_forget_unknown_address_deletes_nothing);
    add("/retention/off_changes_nothing", test_retention_off_changes_nothing);
    add("/retention/applies_both_keys", test_retention_applies_both_keys);
    add("/retention/is_bounded_per_call", test_retention_is_bounded_per_call);
    return g_test_run();
}
