/*
 * report_test: the specification of lib/core/report.c and of db_open_existing() in lib/util/db.c,
 * the read side that mailtriagectl uses.
 *
 * Each case makes a database in a private temporary directory with db_open() (the writer, as
 * the daemon and the pipe) and records messages with queue_insert() and the store; the reader
 * is a second connection from db_open_existing(DB_READ_ONLY) unless the case says otherwise.
 */
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "classification.h"
#include "db.h"
#include "queue.h"
#include "report.h"
#include "store.h"
#include "testutil.h"

#define BUSY_TIMEOUT_MS 2000

struct fixture {
    char *dir;
    char *path;
    sqlite3 *writer;
    sqlite3 *reader;
};

static gint64 insert_message(sqlite3 *db, const char *subject)
{
    static const char raw[] = "Subject: hello\r\n\r\nbody\r\n";
    const struct queue_new row = {
        .intake = "test",
        .mailbox = "support@example.org",
        .envelope_from = "alice@example.net",
        .rcpts = "support@example.org",
        .from_addr = "alice@example.net",
        .subject = subject,
        .raw = raw,
        .raw_len = sizeof(raw) - 1,
        .size = sizeof(raw) - 1,
    };
    gint64 id = 0;
    char *error = NULL;

    g_assert_cmpint(queue_insert(db, &row, 1, &id, &error), ==, DB_OK);
    return id;
}

static void open_reader(struct fixture *fx)
{
    char *error = NULL;
    int status = db_open_existing(fx->path, BUSY_TIMEOUT_MS, DB_READ_ONLY, &fx->reader, &error);
    if (status != DB_OK)
        g_error("db_open_existing: %s", error);
}

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;

    fx->dir = testutil_tmpdir();
    fx->path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(fx->path, BUSY_TIMEOUT_MS, &fx->writer, &error), ==, DB_OK);
    fx->reader = NULL;
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    if (fx->reader != NULL)
        db_close(fx->reader);
    db_close(fx->writer);
    testutil_rmtree(fx->dir);
    g_free(fx->path);
    g_free(fx->dir);
}

static const char *text_of(json_object *object, const char *key)
{
    json_object *value = NULL;
    g_assert_true(json_object_object_get_ex(object, key, &value));
    return value != NULL ? json_object_get_string(value) : NULL;
}

static gint64 int_of(json_object *object, const char *key)
{
    json_object *value = NULL;
    g_assert_true(json_object_object_get_ex(object, key, &value));
    g_assert_true(json_object_is_type(value, json_type_int));
    return json_object_get_int64(value);
}

/* The ids of ROWS, "3 2 1". */
static char *ids_of(json_object *rows)
{
    GString *ids = g_string_new(NULL);
    for (size_t i = 0; i < json_object_array_length(rows); i++)
        g_string_append_printf(ids, "%s%" G_GINT64_FORMAT, i > 0 ? " " : "",
                               int_of(json_object_array_get_idx(rows, i), "id"));
    return g_string_free(ids, FALSE);
}

static void assert_list(struct fixture *fx, const char *state, gint64 limit, const char *ids,
                        gint64 total)
{
    const struct report_filter filter = {.state = state};
    json_object *rows = NULL;
    gint64 counted = -1;
    char *error = NULL;

    g_assert_cmpint(report_list_messages(fx->reader, &filter, limit, &rows, &counted, &error), ==,
                    DB_OK);
    char *listed = ids_of(rows);
    g_assert_cmpstr(listed, ==, ids);
    g_assert_cmpint(counted, ==, total);
    g_free(listed);
    json_object_put(rows);
}

/* ---- db_open_existing ---- */

static void assert_no_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *name = g_strconcat(path, suffixes[i], NULL);
        g_assert_false(g_file_test(name, G_FILE_TEST_EXISTS));
        g_free(name);
    }
}

static void test_open_existing_missing(struct fixture *fx, gconstpointer data)
{
    const enum db_access access = GPOINTER_TO_INT(data);
    char *missing = g_build_filename(fx->dir, "typo.db", NULL);
    sqlite3 *db = NULL;
    char *error = NULL;

    g_assert_cmpint(db_open_existing(missing, BUSY_TIMEOUT_MS, access, &db, &error), ==,
                    DB_MISSING);
    g_assert_null(db);
    g_assert_nonnull(strstr(error, missing));
    assert_no_files(missing);
    g_free(error);
    g_free(missing);
}

static void test_open_existing_missing_directory(struct fixture *fx, gconstpointer data)
{
    char *missing = g_build_filename(fx->dir, "no", "such.db", NULL);
    sqlite3 *db = NULL;
    char *error = NULL;

    g_assert_cmpint(db_open_existing(missing, BUSY_TIMEOUT_MS, DB_READ_ONLY, &db, &error), ==,
                    DB_MISSING);
    g_free(error);
    g_free(missing);
}

static void test_open_readonly_refuses_writes(struct fixture *fx, gconstpointer data)
{
    insert_message(fx->writer, "hello");
    open_reader(fx);
    char *error = NULL;

    g_assert_cmpint(db_exec(fx->reader, "UPDATE messages SET subject = 'changed'", &error), ==,
                    DB_ERROR);
    g_assert_nonnull(strstr(error, "readonly"));
    g_free(error);
    char *subject = testutil_db_text(fx->writer, "SELECT subject FROM messages");
    g_assert_cmpstr(subject, ==, "hello");
    g_free(subject);
}

static void test_open_readonly_refuses_other_schema(struct fixture *fx, gconstpointer data)
{
    const int version = GPOINTER_TO_INT(data);
    testutil_db_exec(fx->writer, "PRAGMA user_version = %d", version);
    sqlite3 *db = NULL;
    char *error = NULL;

    g_assert_cmpint(db_open_existing(fx->path, BUSY_TIMEOUT_MS, DB_READ_ONLY, &db, &error), ==,
                    DB_ERROR);
    g_assert_null(db);
    g_assert_nonnull(strstr(error, fx->path));
    g_assert_nonnull(strstr(error, version == 0 ? "not a mailtriage database" : "schema version"));
    g_free(error);
    g_assert_cmpint(testutil_db_int(fx->writer, "PRAGMA user_version"), ==, version);
}

static void test_open_readonly_keeps_journal_mode(struct fixture *fx, gconstpointer data)
{
    testutil_db_exec(fx->writer, "PRAGMA journal_mode = DELETE");
    open_reader(fx);

    g_assert_cmpint(testutil_db_int(fx->reader, "SELECT count(*) FROM messages"), ==, 0);
    char *mode = testutil_db_text(fx->writer, "PRAGMA journal_mode");
    g_assert_cmpstr(mode, ==, "delete");
    g_free(mode);
}

/* The daemon keeps its connection, and the WAL, open while the administrator reads. */
static void test_open_readonly_reads_the_wal(struct fixture *fx, gconstpointer data)
{
    testutil_db_exec(fx->writer, "PRAGMA wal_autocheckpoint = 0");
    open_reader(fx);
    gint64 id = insert_message(fx->writer, "in the WAL");
    testutil_db_exec(fx->writer, "BEGIN IMMEDIATE; UPDATE messages SET subject = 'uncommitted'");

    assert_list(fx, NULL, 0, "1", 1);
    json_object *message = NULL;
    char *error = NULL;
    g_assert_cmpint(report_show_message(fx->reader, id, &message, &error), ==, 1);
    g_assert_cmpstr(text_of(message, "subject"), ==, "in the WAL");
    json_object_put(message);
    db_rollback(fx->writer);
}

static void test_open_existing_read_write(struct fixture *fx, gconstpointer data)
{
    insert_message(fx->writer, "hello");
    sqlite3 *db = NULL;
    char *error = NULL;

    g_assert_cmpint(db_open_existing(fx->path, BUSY_TIMEOUT_MS, DB_READ_WRITE, &db, &error), ==,
                    DB_OK);
    g_assert_cmpint(db_exec(db, "UPDATE messages SET subject = 'changed'", &error), ==, DB_OK);
    db_close(db);
    char *subject = testutil_db_text(fx->writer, "SELECT subject FROM messages");
    g_assert_cmpstr(subject, ==, "changed");
    g_free(subject);
}

/* ---- report ---- */

static void test_message_states(void)
{
    static const struct {
        const char *state;
        gboolean valid;
    } cases[] = {
        {"queued", TRUE}, {"working", TRUE}, {"done", TRUE}, {"failed", TRUE}, {"held", TRUE},
        {"bogus", FALSE}, {"DONE", FALSE},   {"", FALSE},    {"done ", FALSE}, {NULL, FALSE},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        g_assert_cmpint(report_message_state_valid(cases[i].state), ==, cases[i].valid);
}

static void test_list_newest_first_with_total(struct fixture *fx, gconstpointer data)
{
    for (int i = 0; i < 5; i++)
        insert_message(fx->writer, "hello");
    testutil_db_exec(fx->writer, "UPDATE messages SET state = 'done' WHERE id IN (2, 4)");
    open_reader(fx);

    assert_list(fx, NULL, 0, "5 4 3 2 1", 5);
    assert_list(fx, NULL, 2, "5 4", 5);
    assert_list(fx, NULL, 5, "5 4 3 2 1", 5);
    assert_list(fx, "done", 0, "4 2", 2);
    assert_list(fx, "done", 1, "4", 2);
    assert_list(fx, "queued", 0, "5 3 1", 3);
    assert_list(fx, "failed", 0, "", 0);
}

static void test_list_row_keys(struct fixture *fx, gconstpointer data)
{
    static const char *const keys[] = {"id",         "state",         "attempts",  "received_at",
                                       "mailbox",    "envelope_from", "from_addr", "subject",
                                       "message_id", "last_error",    "intent",    "action"};
    gint64 id = insert_message(fx->writer, "hello");
    const struct classification first = {.provider = "builtin", .intent = "unknown"};
    const struct classification latest = {.provider = "openai", .intent = "send_info"};
    char *error = NULL;
    g_assert_cmpint(store_classification_save(fx->writer, id, &first, &error), ==, DB_OK);
    g_assert_cmpint(store_classification_save(fx->writer, id, &latest, &error), ==, DB_OK);
    const struct store_action reply = {.kind = STORE_ACTION_REPLY, .reason = "intent send_info"};
    gint64 action = 0;
    g_assert_cmpint(store_action_add(fx->writer, id, &reply, STORE_ACTION_PENDING, &action, &error),
                    ==, DB_OK);
    open_reader(fx);

    const struct report_filter filter = {NULL};
    json_object *rows = NULL;
    gint64 total = 0;
    g_assert_cmpint(report_list_messages(fx->reader, &filter, 0, &rows, &total, &error), ==, DB_OK);
    json_object *row = json_object_array_get_idx(rows, 0);
    g_assert_cmpint(json_object_object_length(row), ==, G_N_ELEMENTS(keys));
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
        g_assert_true(json_object_object_get_ex(row, keys[i], NULL));
    g_assert_cmpint(int_of(row, "id"), ==, id);
    g_assert_cmpstr(text_of(row, "state"), ==, "queued");
    g_assert_cmpstr(text_of(row, "subject"), ==, "hello");
    g_assert_cmpstr(text_of(row, "intent"), ==, "send_info");
    g_assert_cmpstr(text_of(row, "action"), ==, "reply pending");
    g_assert_null(text_of(row, "last_error"));
    json_object_put(rows);
}

static void test_show_message(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_message(fx->writer, "hello");
    const struct classification c = {.provider = "openai",
                                     .model = "m",
                                     .intent = "send_info",
                                     .confidence = 0.5,
                                     .valid = TRUE};
    char *error = NULL;
    g_assert_cmpint(store_classification_save(fx->writer, id, &c, &error), ==, DB_OK);
    const struct store_action reply = {.kind = STORE_ACTION_REPLY,
                                       .reason = "intent send_info: reply",
                                       .recipient = "alice@example.net",
                                       .envelope_sender = "",
                                       .outgoing_message_id = "r1@example.org"};
    gint64 action = 0;
    g_assert_cmpint(store_action_add(fx->writer, id, &reply, STORE_ACTION_SENT, &action, &error),
                    ==, DB_OK);
    store_event(fx->writer, id, "info", "first");
    store_event(fx->writer, id, "error", "second");
    open_reader(fx);

    json_object *message = NULL;
    g_assert_cmpint(report_show_message(fx->reader, id, &message, &error), ==, 1);
    g_assert_cmpint(int_of(message, "id"), ==, id);
    g_assert_cmpstr(text_of(message, "from"), ==, "alice@example.net");
    g_assert_cmpstr(text_of(message, "state"), ==, "queued");
    json_object *classification = json_object_object_get(message, "classification");
    g_assert_cmpstr(text_of(classification, "intent"), ==, "send_info");
    g_assert_cmpstr(text_of(classification, "model"), ==, "m");
    json_object *actions = json_object_object_get(message, "actions");
    g_assert_cmpint(json_object_array_length(actions), ==, 1);
    json_object *first = json_object_array_get_idx(actions, 0);
    g_assert_cmpstr(text_of(first, "kind"), ==, "reply");
    g_assert_cmpstr(text_of(first, "state"), ==, "sent");
    g_assert_cmpstr(text_of(first, "message_id"), ==, "r1@example.org");
    json_object *events = json_object_object_get(message, "events");
    g_assert_cmpint(json_object_array_length(events), ==, 2);
    g_assert_cmpstr(text_of(json_object_array_get_idx(events, 0), "text"), ==, "first");
    g_assert_cmpstr(text_of(json_object_array_get_idx(events, 1), "level"), ==, "error");
    json_object_put(message);
}

static void test_show_message_without_history(struct fixture *fx, gconstpointer data)
{
    gint64 id = insert_message(fx->writer, NULL);
    open_reader(fx);
    json_object *message = NULL;
    char *error = NULL;

    g_assert_cmpint(report_show_message(fx->reader, id, &message, &error), ==, 1);
    json_object *value = NULL;
    g_assert_true(json_object_object_get_ex(message, "classification", &value));
    g_assert_null(value);
    g_assert_null(text_of(message, "subject"));
    g_assert_cmpint(json_object_array_length(json_object_object_get(message, "actions")), ==, 0);
    g_assert_cmpint(json_object_array_length(json_object_object_get(message, "events")), ==, 0);
    json_object_put(message);
}

static void test_show_no_such_message(struct fixture *fx, gconstpointer data)
{
    insert_message(fx->writer, "hello");
    open_reader(fx);
    json_object *message = NULL;
    char *error = NULL;

    g_assert_cmpint(report_show_message(fx->reader, 99, &message, &error), ==, 0);
    g_assert_null(message);
    g_assert_null(error);
}

static void add(const char *path, gconstpointer data, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, data, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    add("/db/open_existing_read_only_never_creates", GINT_TO_POINTER(DB_READ_ONLY),
        test_open_existing_missing);
    add("/db/open_existing_read_write_never_creates", GINT_TO_POINTER(DB_READ_WRITE),
        test_open_existing_missing);
    add("/db/open_existing_missing_directory", NULL, test_open_existing_missing_directory);
    add("/db/open_read_only_refuses_writes", NULL, test_open_readonly_refuses_writes);
    add("/db/open_read_only_refuses_an_older_schema", GINT_TO_POINTER(2),
        test_open_readonly_refuses_other_schema);
    add("/db/open_read_only_refuses_a_newer_schema", GINT_TO_POINTER(99),
        test_open_readonly_refuses_other_schema);
    add("/db/open_read_only_refuses_a_file_without_schema", GINT_TO_POINTER(0),
        test_open_readonly_refuses_other_schema);
    add("/db/open_read_only_keeps_the_journal_mode", NULL, test_open_readonly_keeps_journal_mode);
    add("/db/open_read_only_reads_the_wal_of_a_writer", NULL, test_open_readonly_reads_the_wal);
    add("/db/open_existing_read_write", NULL, test_open_existing_read_write);

    g_test_add_func("/report/message_states", test_message_states);
    add("/report/list_newest_first_with_total", NULL, test_list_newest_first_with_total);
    add("/report/list_row_keys", NULL, test_list_row_keys);
    add("/report/show_message", NULL, test_show_message);
    add("/report/show_message_without_history", NULL, test_show_message_without_history);
    add("/report/show_no_such_message", NULL, test_show_no_such_message);
    return g_test_run();
}
