/*
 * context_test: the specification of lib/core/context.c.
 *
 * Each case opens a fresh database in a private temporary directory, records messages of
 * ann@customer.test to support@example.org with queue_insert() and the replies sent to her with
 * SQL, and reads the context of one message with context_load().
 */
#include <glib.h>
#include <sqlite3.h>

#include "config.h"
#include "context.h"
#include "db.h"
#include "queue.h"
#include "testdata.h"
#include "testutil.h"

#define CUSTOMER "ann@customer.test"

struct fixture {
    char *dir;
    sqlite3 *db;
    struct config *cfg;
};

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    fx->dir = testutil_tmpdir();
    char *path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(path, 5000, &fx->db, &error), ==, DB_OK);
    g_free(path);
    fx->cfg = testdata_config("[mailbox support@example.org]\nescalate_to = human@example.org\n"
                              "reply_interval = 7d\n");
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    config_unref(fx->cfg);
    db_close(fx->db);
    testutil_rmtree(fx->dir);
    g_free(fx->dir);
}

static gint64 insert_message(sqlite3 *db, const char *message_id)
{
    static const char raw[] = "Subject: Prices\r\n\r\nHow much?\r\n";
    const struct queue_new row = {
        .intake = "test",
        .mailbox = "support@example.org",
        .envelope_from = CUSTOMER,
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

/* A reply to ann that message MESSAGE got, sent a minute ago. */
static void add_sent_reply(sqlite3 *db, gint64 message)
{
    gint64 when = testutil_now() - 60;
    testutil_db_exec(db,
                     "INSERT INTO actions (message, kind, state, recipient, envelope_sender,"
                     " outgoing_message_id, created_at, started_at, sent_at) VALUES"
                     " (%" G_GINT64_FORMAT ", 'reply', 'sent', '" CUSTOMER
                     "', '', 'r@x', %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                     ")",
                     message, when, when, when);
}

static void load(struct fixture *fx, gint64 id, struct context *context)
{
    const struct config_mailbox *mailbox = config_mailbox_find(fx->cfg, "support@example.org");
    char *error = NULL;
    g_assert_cmpint(
        context_load(fx->db, fx->cfg, id, mailbox, CUSTOMER, testutil_now(), context, &error), ==,
        DB_OK);
    g_assert_null(error);
}

/* A message retried after its reply went out sees that reply as its own (sent, not sent again),
 * not as one within reply_interval or the loop caps: those are about earlier messages. */
static void test_own_reply_is_sent_not_history(struct fixture *fx, gconstpointer data)
{
    gint64 first = insert_message(fx->db, "<1@customer.test>");
    add_sent_reply(fx->db, first);
    struct context context;

    load(fx, first, &context);
    g_assert_true(context_was_sent(&context, STORE_ACTION_REPLY));
    g_assert_false(context.replied);
    g_assert_cmpint(context.replies_from_mailbox, ==, 0);
    g_assert_cmpint(context.replies_from_all, ==, 0);
    context_clear(&context);
}

/* The next message of the same sender does count that reply. */
static void test_earlier_message_reply_is_history(struct fixture *fx, gconstpointer data)
{
    gint64 first = insert_message(fx->db, "<1@customer.test>");
    gint64 second = insert_message(fx->db, "<2@customer.test>");
    add_sent_reply(fx->db, first);
    struct context context;

    load(fx, second, &context);
    g_assert_false(context_was_sent(&context, STORE_ACTION_REPLY));
    g_assert_true(context.replied);
    g_assert_cmpint(context.replies_from_mailbox, ==, 1);
    g_assert_cmpint(context.replies_from_all, ==, 1);
    context_clear(&context);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add("/context/own_reply_is_sent_not_history", struct fixture, NULL, fixture_setup,
               test_own_reply_is_sent_not_history, fixture_teardown);
    g_test_add("/context/earlier_message_reply_is_history", struct fixture, NULL, fixture_setup,
               test_earlier_message_reply_is_history, fixture_teardown);
    return g_test_run();
}
