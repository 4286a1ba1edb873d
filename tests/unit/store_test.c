/*
 * store_test: the specification of lib/core/store.c.
 *
 * Each case opens a fresh database in a private temporary directory, records messages with
 * queue_insert() and checks what the store functions write (with SQL) and read back.
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "classification.h"
#include "db.h"
#include "queue.h"
#include "store.h"
#include "testutil.h"

struct fixture {
    char *dir;
    sqlite3 *db;
    gint64 message; /* a message of support@example.org */
};

static gint64 insert_message(sqlite3 *db, const char *mailbox, const char *message_id)
{
    static const char raw[] = "Subject: hello\r\n\r\nbody\r\n";
    const struct queue_new row = {
        .intake = "test",
        .mailbox = mailbox,
        .envelope_from = "alice@example.net",
        .rcpts = mailbox,
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

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;

    fx->dir = testutil_tmpdir();
    char *path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(path, 5000, &fx->db, &error), ==, DB_OK);
    g_free(path);
    fx->message = insert_message(fx->db, "support@example.org", "<1@example.net>");
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    db_close(fx->db);
    testutil_rmtree(fx->dir);
    g_free(fx->dir);
}

static char *action_text(sqlite3 *db, const char *column, gint64 action)
{
    return testutil_db_text(db, "SELECT %s FROM actions WHERE id = %" G_GINT64_FORMAT, column,
                            action);
}

static void assert_action_text(sqlite3 *db, gint64 action, const char *column, const char *expected)
{
    char *value = action_text(db, column, action);
    g_assert_cmpstr(value, ==, expected);
    g_free(value);
}

static gboolean action_is_null(sqlite3 *db, gint64 action, const char *column)
{
    return testutil_db_int(db, "SELECT %s IS NULL FROM actions WHERE id = %" G_GINT64_FORMAT,
                           column, action) != 0;
}

static gint64 add_action(sqlite3 *db, gint64 message, enum store_action_kind kind,
                         const char *recipient, enum store_action_state state)
{
    const struct store_action action = {
        .kind = kind,
        .reason = "intent send_info",
        .recipient = recipient,
        .envelope_sender = "",
        .outgoing_message_id = "<reply-1@mx.example.org>",
    };
    gint64 id = 0;
    char *error = NULL;

    g_assert_cmpint(store_action_add(db, message, &action, state, &id, &error), ==, DB_OK);
    g_assert_cmpint(id, >, 0);
    return id;
}

static void finish_action(sqlite3 *db, gint64 action, enum store_action_state state,
                          int sendmail_status, const char *error_text)
{
    char *error = NULL;

    g_assert_cmpint(store_action_finish(db, action, state, sendmail_status, error_text, &error), ==,
                    DB_OK);
}

/* An automatic reply of MESSAGE to RECIPIENT, sent at SENT_AT. */
static void add_sent_reply(sqlite3 *db, gint64 message, const char *recipient, gint64 sent_at)
{
    gint64 action = add_action(db, message, STORE_ACTION_REPLY, recipient, STORE_ACTION_PENDING);
    finish_action(db, action, STORE_ACTION_SENT, 0, NULL);
    testutil_db_exec(
        db, "UPDATE actions SET sent_at = %" G_GINT64_FORMAT " WHERE id = %" G_GINT64_FORMAT,
        sent_at, action);
}

/* ---- classifications ---- */

static void test_classification_roundtrip(struct fixture *fx, gconstpointer data)
{
    const struct classification saved = {
        .provider = "openai",
        .model = "llama3",
        .intent = "send_info",
        .confidence = 0.875,
        .summary = "Asks for prices.",
        .reply = "Our prices are at https://example.org/prices.",
        .valid = TRUE,
        .error = "none",
        .latency_ms = 1234,
        .prompt_tokens = 456,
        .completion_tokens = 78,
        .raw_answer = "{\"intent\":\"send_info\"}",
    };
    struct classification *loaded = NULL;
    char *error = NULL;

    g_assert_cmpint(store_classification_save(fx->db, fx->message, &saved, &error), ==, DB_OK);
    g_assert_cmpint(store_classification_load(fx->db, fx->message, &loaded, &error), ==, 1);
    g_assert_nonnull(loaded);
    g_assert_cmpstr(loaded->provider, ==, saved.provider);
    g_assert_cmpstr(loaded->model, ==, saved.model);
    g_assert_cmpstr(loaded->intent, ==, saved.intent);
    g_assert_cmpfloat(loaded->confidence, ==, saved.confidence);
    g_assert_cmpstr(loaded->summary, ==, saved.summary);
    g_assert_cmpstr(loaded->reply, ==, saved.reply);
    g_assert_true(loaded->valid);
    g_assert_cmpstr(loaded->error, ==, saved.error);
    g_assert_cmpint(loaded->latency_ms, ==, saved.latency_ms);
    g_assert_cmpint(loaded->prompt_tokens, ==, saved.prompt_tokens);
    g_assert_cmpint(loaded->completion_tokens, ==, saved.completion_tokens);
    g_assert_cmpstr(loaded->raw_answer, ==, saved.raw_answer);
    classification_free(loaded);
}

static void test_classification_null_fields_roundtrip(struct fixture *fx, gconstpointer data)
{
    const struct classification saved = {
        .provider = "builtin",
        .intent = "unknown",
        .valid = FALSE,
    };
    struct classification *loaded = NULL;
    char *error = NULL;

    g_assert_cmpint(store_classification_save(fx->db, fx->message, &saved, &error), ==, DB_OK);
    g_assert_cmpint(store_classification_load(fx->db, fx->message, &loaded, &error), ==, 1);
    g_assert_cmpstr(loaded->provider, ==, "builtin");
    g_assert_null(loaded->model);
    g_assert_cmpstr(loaded->intent, ==, "unknown");
    g_assert_null(loaded->summary);
    g_assert_null(loaded->reply);
    g_assert_false(loaded->valid);
    g_assert_null(loaded->error);
    classification_free(loaded);
}

static void test_classification_load_latest(struct fixture *fx, gconstpointer data)
{
    struct classification first = {.provider = "openai", .intent = "send_info", .valid = TRUE};
    struct classification second = first;
    second.intent = "speak_to_human";
    struct classification *loaded = NULL;
    char *error = NULL;

    g_assert_cmpint(store_classification_save(fx->db, fx->message, &first, &error), ==, DB_OK);
    g_assert_cmpint(store_classification_save(fx->db, fx->message, &second, &error), ==, DB_OK);
    g_assert_cmpint(store_classification_load(fx->db, fx->message, &loaded, &error), ==, 1);
    g_assert_cmpstr(loaded->intent, ==, "speak_to_human");
    classification_free(loaded);
}

/* The classification is saved before the reply is asked for; the reply then goes into that
 * row (the latest), settled, with its own request's time and tokens. */
static void test_classification_reply_saved_later(struct fixture *fx, gconstpointer data)
{
    struct classification c = {.provider = "openai",
                               .intent = "send_info",
                               .valid = TRUE,
                               .reply = "",
                               .latency_ms = 900,
                               .prompt_tokens = 400,
                               .completion_tokens = 30};
    struct classification *loaded = NULL;
    char *error = NULL;
    g_assert_cmpint(store_classification_save(fx->db, fx->message, &c, &error), ==, DB_OK);
    g_assert_cmpint(store_classification_load(fx->db, fx->message, &loaded, &error), ==, 1);
    g_assert_false(loaded->reply_settled);
    g_assert_cmpstr(loaded->reply, ==, "");
    classification_free(loaded);

    c.reply = "Our plans start at 10 EUR.";
    c.reply_settled = TRUE;
    c.reply_latency_ms = 700;
    c.reply_prompt_tokens = 450;
    c.reply_completion_tokens = 60;
    g_assert_cmpint(store_classification_save_reply(fx->db, fx->message, &c, &error), ==, DB_OK);
    g_assert_cmpint(store_classification_load(fx->db, fx->message, &loaded, &error), ==, 1);
    g_assert_true(loaded->reply_settled);
    g_assert_cmpstr(loaded->reply, ==, c.reply);
    g_assert_null(loaded->reply_error);
    g_assert_cmpint(loaded->reply_latency_ms, ==, 700);
    g_assert_cmpint(loaded->reply_prompt_tokens, ==, 450);
    g_assert_cmpint(loaded->reply_completion_tokens, ==, 60);
    g_assert_cmpint(loaded->latency_ms, ==, 900); /* the classification's own stay */
    g_assert_cmpint(loaded->prompt_tokens, ==, 400);
    classification_free(loaded);

    c.reply = "";
    c.reply_error = "the LLM server rejected the request";
    g_assert_cmpint(store_classification_save_reply(fx->db, fx->message, &c, &error), ==, DB_OK);
    g_assert_cmpint(store_classification_load(fx->db, fx->message, &loaded, &error), ==, 1);
    g_assert_cmpstr(loaded->reply, ==, "");
    g_assert_cmpstr(loaded->reply_error, ==, c.reply_error);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM classifications"), ==, 1);
    classification_free(loaded);
}

static void test_classification_load_none_returns_0(struct fixture *fx, gconstpointer data)
{
    gint64 other = insert_message(fx->db, "support@example.org", NULL);
    const struct classification saved = {.provider = "builtin", .intent = "unknown"};
    struct classification *loaded = NULL;
    char *error = NULL;

    g_assert_cmpint(store_classification_save(fx->db, other, &saved, &error), ==, DB_OK);
    g_assert_cmpint(store_classification_load(fx->db, fx->message, &loaded, &error), ==, 0);
    g_assert_null(loaded);
    g_assert_null(error);
}

static void test_classification_of_missing_message_fails(struct fixture *fx, gconstpointer data)
{
    const struct classification saved = {.provider = "builtin", .intent = "unknown"};
    char *error = NULL;

    /* Foreign keys are on: a classification needs its message. */
    g_assert_cmpint(store_classification_save(fx->db, fx->message + 1000, &saved, &error), ==,
                    DB_ERROR);
    g_assert_nonnull(error);
    g_assert_true(g_str_has_prefix(error, "save classification: "));
    g_free(error);
}

/* ---- actions ---- */

static void test_action_kind_names(void)
{
    static const struct {
        enum store_action_kind kind;
        const char *name;
    } cases[] = {
        {STORE_ACTION_REPLY, "reply"}, {STORE_ACTION_ESCALATE, "escalate"},
        {STORE_ACTION_DRAFT, "draft"}, {STORE_ACTION_WEBHOOK, "webhook"},
        {STORE_ACTION_NONE, "none"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        g_assert_cmpstr(store_action_kind_name(cases[i].kind), ==, cases[i].name);
}

static void test_action_add_pending(struct fixture *fx, gconstpointer data)
{
    gint64 action = add_action(fx->db, fx->message, STORE_ACTION_ESCALATE, "boss@example.org",
                               STORE_ACTION_PENDING);

    assert_action_text(fx->db, action, "kind", "escalate");
    assert_action_text(fx->db, action, "state", "pending");
    assert_action_text(fx->db, action, "reason", "intent send_info");
    assert_action_text(fx->db, action, "recipient", "boss@example.org");
    assert_action_text(fx->db, action, "envelope_sender", "");
    assert_action_text(fx->db, action, "outgoing_message_id", "<reply-1@mx.example.org>");
    g_assert_true(action_is_null(fx->db, action, "sent_at"));
    g_assert_true(action_is_null(fx->db, action, "sendmail_status"));
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT message FROM actions"), ==, fx->message);
}

static void test_action_add_already_finished(struct fixture *fx, gconstpointer data)
{
    gint64 action = add_action(fx->db, fx->message, STORE_ACTION_NONE, NULL, STORE_ACTION_SKIPPED);

    assert_action_text(fx->db, action, "kind", "none");
    assert_action_text(fx->db, action, "state", "skipped");
    g_assert_true(action_is_null(fx->db, action, "recipient"));
}

static void test_action_finish_sent(struct fixture *fx, gconstpointer data)
{
    gint64 action = add_action(fx->db, fx->message, STORE_ACTION_REPLY, "alice@example.net",
                               STORE_ACTION_PENDING);
    gint64 before = testutil_now();

    finish_action(fx->db, action, STORE_ACTION_SENT, 0, NULL);
    assert_action_text(fx->db, action, "state", "sent");
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT sendmail_status FROM actions"), ==, 0);
    g_assert_false(action_is_null(fx->db, action, "sendmail_status"));
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT sent_at FROM actions"), >=, before);
    g_assert_true(action_is_null(fx->db, action, "error"));
}

static void test_action_finish_failed(struct fixture *fx, gconstpointer data)
{
    gint64 ran = add_action(fx->db, fx->message, STORE_ACTION_REPLY, "alice@example.net",
                            STORE_ACTION_PENDING);
    gint64 not_ran =
        add_action(fx->db, fx->message, STORE_ACTION_WEBHOOK, NULL, STORE_ACTION_PENDING);

    finish_action(fx->db, ran, STORE_ACTION_FAILED, 75, "sendmail exited 75");
    finish_action(fx->db, not_ran, STORE_ACTION_FAILED, -1, "connection refused");

    assert_action_text(fx->db, ran, "state", "failed");
    assert_action_text(fx->db, ran, "error", "sendmail exited 75");
    g_assert_cmpint(
        testutil_db_int(fx->db, "SELECT sendmail_status FROM actions WHERE id = %" G_GINT64_FORMAT,
                        ran),
        ==, 75);
    g_assert_true(action_is_null(fx->db, ran, "sent_at"));
    assert_action_text(fx->db, not_ran, "error", "connection refused");
    g_assert_true(action_is_null(fx->db, not_ran, "sendmail_status"));
    g_assert_true(action_is_null(fx->db, not_ran, "sent_at"));
}

static void test_action_was_sent(struct fixture *fx, gconstpointer data)
{
    gint64 other = insert_message(fx->db, "support@example.org", NULL);
    gint64 action = add_action(fx->db, fx->message, STORE_ACTION_REPLY, "alice@example.net",
                               STORE_ACTION_PENDING);
    char *error = NULL;

    g_assert_cmpint(store_action_was_sent(fx->db, fx->message, STORE_ACTION_REPLY, &error), ==, 0);
    finish_action(fx->db, action, STORE_ACTION_SENT, 0, NULL);
    g_assert_cmpint(store_action_was_sent(fx->db, fx->message, STORE_ACTION_REPLY, &error), ==, 1);
    g_assert_cmpint(store_action_was_sent(fx->db, fx->message, STORE_ACTION_ESCALATE, &error), ==,
                    0);
    g_assert_cmpint(store_action_was_sent(fx->db, other, STORE_ACTION_REPLY, &error), ==, 0);
    g_assert_null(error);
}

static void test_action_failed_is_not_sent(struct fixture *fx, gconstpointer data)
{
    gint64 action = add_action(fx->db, fx->message, STORE_ACTION_ESCALATE, "boss@example.org",
                               STORE_ACTION_PENDING);
    char *error = NULL;

    finish_action(fx->db, action, STORE_ACTION_FAILED, 1, "exit 1");
    g_assert_cmpint(store_action_was_sent(fx->db, fx->message, STORE_ACTION_ESCALATE, &error), ==,
                    0);
}

/* Pending action ACTION is handed to sendmail now. */
static void start_action(sqlite3 *db, gint64 action)
{
    char *error = NULL;

    g_assert_cmpint(store_action_start(db, action, &error), ==, DB_OK);
    g_assert_null(error);
}

/* What an interrupted attempt left: the not started pending actions become failed (sent
 * afresh), the started ones stay pending with an unknown outcome and are reported; sent actions
 * and other messages' actions are not touched. */
static void test_actions_resume_settles_what_was_left(struct fixture *fx, gconstpointer data)
{
    gint64 other = insert_message(fx->db, "support@example.org", NULL);
    gint64 not_started = add_action(fx->db, fx->message, STORE_ACTION_REPLY, "alice@example.net",
                                    STORE_ACTION_PENDING);
    gint64 started = add_action(fx->db, fx->message, STORE_ACTION_ESCALATE, "boss@example.org",
                                STORE_ACTION_PENDING);
    gint64 sent = add_action(fx->db, fx->message, STORE_ACTION_DRAFT, "boss@example.org",
                             STORE_ACTION_PENDING);
    gint64 elsewhere =
        add_action(fx->db, other, STORE_ACTION_REPLY, "bob@example.net", STORE_ACTION_PENDING);
    gint64 before = testutil_now();
    start_action(fx->db, started);
    start_action(fx->db, sent);
    start_action(fx->db, elsewhere);
    finish_action(fx->db, sent, STORE_ACTION_SENT, 0, NULL);
    g_assert_true(action_is_null(fx->db, not_started, "started_at"));
    g_assert_false(action_is_null(fx->db, started, "started_at"));
    GPtrArray *unknown = NULL;
    char *error = NULL;

    g_assert_cmpint(store_actions_resume(fx->db, fx->message, &unknown, &error), ==, DB_OK);
    assert_action_text(fx->db, not_started, "state", "failed");
    assert_action_text(fx->db, not_started, "error",
                       "not started: the attempt stopped before it ran");
    assert_action_text(fx->db, started, "state", "pending");
    assert_action_text(fx->db, started, "error",
                       "outcome unknown: started, and the attempt stopped before recording what "
                       "came of it");
    g_assert_cmpuint(unknown->len, ==, 1);
    const struct store_unknown *u = g_ptr_array_index(unknown, 0);
    g_assert_cmpint(u->action, ==, started);
    g_assert_cmpint(u->kind, ==, STORE_ACTION_ESCALATE);
    g_assert_cmpstr(u->recipient, ==, "boss@example.org");
    g_assert_cmpstr(u->message_id, ==, "<reply-1@mx.example.org>");
    g_assert_cmpint(u->started_at, >=, before);
    g_ptr_array_unref(unknown);
    assert_action_text(fx->db, sent, "state", "sent");
    g_assert_true(action_is_null(fx->db, sent, "error"));
    assert_action_text(fx->db, elsewhere, "state", "pending");
    g_assert_true(action_is_null(fx->db, elsewhere, "error"));

    /* Settling again finds the same unknown mail: it stays until a person decides. */
    g_assert_cmpint(store_actions_resume(fx->db, fx->message, &unknown, &error), ==, DB_OK);
    g_assert_cmpuint(unknown->len, ==, 1);
    g_ptr_array_unref(unknown);
}

/* A person decided to send again: the unknown mail becomes failed with their words. */
static void test_unknown_resolve_fails_started_actions_only(struct fixture *fx, gconstpointer data)
{
    gint64 started = add_action(fx->db, fx->message, STORE_ACTION_REPLY, "alice@example.net",
                                STORE_ACTION_PENDING);
    gint64 not_started = add_action(fx->db, fx->message, STORE_ACTION_ESCALATE, "boss@example.org",
                                    STORE_ACTION_PENDING);
    start_action(fx->db, started);
    char *error = NULL;

    g_assert_cmpint(
        store_actions_unknown_resolve(fx->db, fx->message, "sent again: retry by ann", &error), ==,
        DB_OK);
    assert_action_text(fx->db, started, "state", "failed");
    assert_action_text(fx->db, started, "error", "sent again: retry by ann");
    assert_action_text(fx->db, not_started, "state", "pending");
    GPtrArray *unknown = NULL;
    g_assert_cmpint(store_actions_resume(fx->db, fx->message, &unknown, &error), ==, DB_OK);
    g_assert_cmpuint(unknown->len, ==, 0);
    g_ptr_array_unref(unknown);
}

/* ---- the reply interval ---- */

struct replied_case {
    const char *name;
    const char *mailbox;
    const char *recipient;
    gint64 since;
    int expected;
};

/* Against one reply of support@example.org to Alice@Example.NET, sent at time 1000000. */
static const struct replied_case replied_cases[] = {
    {"replied_since_same_recipient", "support@example.org", "Alice@Example.NET", 999000, 1},
    {"replied_since_recipient_case_insensitive", "support@example.org", "alice@example.net", 999000,
     1},
    {"replied_since_at_the_exact_time", "support@example.org", "alice@example.net", 1000000, 1},
    {"replied_since_later_time_is_false", "support@example.org", "alice@example.net", 1000001, 0},
    {"replied_since_other_recipient_is_false", "support@example.org", "bob@example.net", 999000, 0},
    {"replied_since_other_mailbox_is_false", "sales@example.org", "alice@example.net", 999000, 0},
};

static void test_replied_since(struct fixture *fx, gconstpointer data)
{
    const struct replied_case *c = data;
    char *error = NULL;

    add_sent_reply(fx->db, fx->message, "Alice@Example.NET", 1000000);
    g_assert_cmpint(store_replied_since(fx->db, c->mailbox, c->recipient, c->since, 0, &error), ==,
                    c->expected);
    g_assert_null(error);
}

static void test_replied_since_ignores_unsent_and_other_kinds(struct fixture *fx,
                                                              gconstpointer data)
{
    char *error = NULL;
    gint64 pending = add_action(fx->db, fx->message, STORE_ACTION_REPLY, "alice@example.net",
                                STORE_ACTION_PENDING);
    gint64 failed = add_action(fx->db, fx->message, STORE_ACTION_REPLY, "alice@example.net",
                               STORE_ACTION_PENDING);
    gint64 escalation = add_action(fx->db, fx->message, STORE_ACTION_ESCALATE, "alice@example.net",
                                   STORE_ACTION_PENDING);
    finish_action(fx->db, failed, STORE_ACTION_FAILED, 75, "tempfail");
    finish_action(fx->db, escalation, STORE_ACTION_SENT, 0, NULL);

    g_assert_cmpint(
        store_replied_since(fx->db, "support@example.org", "alice@example.net", 0, 0, &error), ==,
        0);

    finish_action(fx->db, pending, STORE_ACTION_SENT, 0, NULL);
    g_assert_cmpint(
        store_replied_since(fx->db, "support@example.org", "alice@example.net", 0, 0, &error), ==,
        1);
}

/* A retried message's own reply is not one that an earlier message got: the reply interval and
 * the loop caps leave it out, and count it for every other message. */
static void test_replies_of_the_message_itself_are_left_out(struct fixture *fx, gconstpointer data)
{
    gint64 next = insert_message(fx->db, "support@example.org", "<2@example.net>");
    add_sent_reply(fx->db, fx->message, "alice@example.net", testutil_now());
    char *error = NULL;

    g_assert_cmpint(store_replied_since(fx->db, "support@example.org", "alice@example.net", 0,
                                        fx->message, &error),
                    ==, 0);
    g_assert_cmpint(
        store_replied_since(fx->db, "support@example.org", "alice@example.net", 0, next, &error),
        ==, 1);
    const char *const mailboxes[] = {"support@example.org", NULL};
    for (size_t i = 0; i < G_N_ELEMENTS(mailboxes); i++) {
        g_assert_cmpint(store_replies_to_since(fx->db, mailboxes[i], "alice@example.net", 0,
                                               fx->message, &error),
                        ==, 0);
        g_assert_cmpint(
            store_replies_to_since(fx->db, mailboxes[i], "alice@example.net", 0, next, &error), ==,
            1);
    }
    g_assert_null(error);
}

/* ---- events and headers ---- */

static void test_event_rows(struct fixture *fx, gconstpointer data)
{
    gint64 before = testutil_now();

    store_event(fx->db, fx->message, "info", "classified as send_info");
    store_event(fx->db, 0, "warning", "daemon started");
    store_event(fx->db, fx->message, "debug", "not a level: ignored");

    g_assert_cmpint(testutil_db_int(fx->db, "SELECT COUNT(*) FROM events"), ==, 2);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT message FROM events WHERE level = 'info'"), ==,
                    fx->message);
    char *text = testutil_db_text(fx->db, "SELECT text FROM events WHERE level = 'info'");
    g_assert_cmpstr(text, ==, "classified as send_info");
    g_free(text);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT message IS NULL FROM events"
                                            " WHERE level = 'warning'"),
                    ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT MIN(time) FROM events"), >=, before);
}

static char *message_text(sqlite3 *db, const char *column, gint64 message)
{
    return testutil_db_text(db, "SELECT %s FROM messages WHERE id = %" G_GINT64_FORMAT, column,
                            message);
}

static void assert_message_text(sqlite3 *db, gint64 message, const char *column,
                                const char *expected)
{
    char *value = message_text(db, column, message);
    g_assert_cmpstr(value, ==, expected);
    g_free(value);
}

static void test_message_headers_fill_and_keep_message_id(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;

    g_assert_cmpint(store_message_headers(fx->db, fx->message, "alice@example.net", "Prices?",
                                          "<other@example.net>", "<0@example.org>", &error),
                    ==, DB_OK);
    assert_message_text(fx->db, fx->message, "from_addr", "alice@example.net");
    assert_message_text(fx->db, fx->message, "subject", "Prices?");
    assert_message_text(fx->db, fx->message, "message_id", "<1@example.net>");
    assert_message_text(fx->db, fx->message, "in_reply_to", "<0@example.org>");
}

static void test_message_headers_fill_missing_message_id(struct fixture *fx, gconstpointer data)
{
    gint64 message = insert_message(fx->db, "support@example.org", NULL);
    char *error = NULL;

    g_assert_cmpint(store_message_headers(fx->db, message, "bob@example.net", "Hi",
                                          "<2@example.net>", NULL, &error),
                    ==, DB_OK);
    assert_message_text(fx->db, message, "message_id", "<2@example.net>");
    assert_message_text(fx->db, message, "in_reply_to", NULL);
    /* The other message is untouched. */
    assert_message_text(fx->db, fx->message, "from_addr", NULL);
}

static void add(const char *path, gconstpointer data, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, data, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    add("/store/classification_roundtrip", NULL, test_classification_roundtrip);
    add("/store/classification_null_fields_roundtrip", NULL,
        test_classification_null_fields_roundtrip);
    add("/store/classification_load_latest", NULL, test_classification_load_latest);
    add("/store/classification_reply_saved_later", NULL, test_classification_reply_saved_later);
    add("/store/classification_load_none_returns_0", NULL, test_classification_load_none_returns_0);
    add("/store/classification_of_missing_message_fails", NULL,
        test_classification_of_missing_message_fails);

    g_test_add_func("/store/action_kind_names", test_action_kind_names);
    add("/store/action_add_pending", NULL, test_action_add_pending);
    add("/store/action_add_already_finished", NULL, test_action_add_already_finished);
    add("/store/action_finish_sent", NULL, test_action_finish_sent);
    add("/store/action_finish_failed", NULL, test_action_finish_failed);
    add("/store/action_was_sent", NULL, test_action_was_sent);
    add("/store/action_failed_is_not_sent", NULL, test_action_failed_is_not_sent);
    add("/store/actions_resume_settles_what_was_left", NULL,
        test_actions_resume_settles_what_was_left);
    add("/store/unknown_resolve_fails_started_actions_only", NULL,
        test_unknown_resolve_fails_started_actions_only);

    for (size_t i = 0; i < G_N_ELEMENTS(replied_cases); i++) {
        char *path = g_strdup_printf("/store/%s", replied_cases[i].name);
        add(path, &replied_cases[i], test_replied_since);
        g_free(path);
    }
    add("/store/replied_since_ignores_unsent_and_other_kinds", NULL,
        test_replied_since_ignores_unsent_and_other_kinds);

    add("/store/replies_of_the_message_itself_are_left_out", NULL,
        test_replies_of_the_message_itself_are_left_out);
    add("/store/event_rows", NULL, test_event_rows);
    add("/store/message_headers_fill_and_keep_message_id", NULL,
        test_message_headers_fill_and_keep_message_id);
    add("/store/message_headers_fill_missing_message_id", NULL,
        test_message_headers_fill_missing_message_id);
    return g_test_run();
}
