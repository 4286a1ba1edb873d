/*
 * intake_test: the specification of lib/core/intake.c.
 *
 * Each case loads one configuration (support@ for any intake, sales@ for the milter only,
 * help@ for the pipe only, max_message_size 64k) and opens a fresh database, both in a private
 * temporary directory. Which recipients an intake records and the size cap are tables, one
 * named case per row; recording is checked with SQL on what intake_record() wrote, and its
 * "recorded:" lines are read back from stderr, where the log writes in a test.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <sqlite3.h>

#include "config.h"
#include "db.h"
#include "intake.h"
#include "testutil.h"

#define BUSY_TIMEOUT_MS 200
#define MAX_SIZE 65536

static const char config_text[] = "[daemon]\n"
                                  "max_message_size = 64k\n"
                                  "[mailbox support@example.org]\n"
                                  "escalate_to = boss@example.org\n"
                                  "[mailbox sales@example.org]\n"
                                  "escalate_to = boss@example.org\n"
                                  "intake = milter\n"
                                  "[mailbox help@example.org]\n"
                                  "escalate_to = boss@example.org\n"
                                  "intake = pipe\n";

static const char message_text[] = "From: Alice <alice@customer.test>\n"
                                   "Subject: Prices?\n"
                                   "Message-ID: <m1@customer.test>\n"
                                   "\n"
                                   "How much is the pro plan?\n";

struct fixture {
    char *dir;
    struct config *cfg;
    sqlite3 *db;
};

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    fx->dir = testutil_tmpdir();
    char *path = testutil_write(fx->dir, "mailtriage.conf", config_text);
    char *error = NULL;
    fx->cfg = config_load(path, &error);
    g_assert_cmpstr(error, ==, NULL);
    g_free(path);
    path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(path, BUSY_TIMEOUT_MS, &fx->db, &error), ==, DB_OK);
    g_free(path);
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    db_close(fx->db);
    config_unref(fx->cfg);
    testutil_rmtree(fx->dir);
    g_free(fx->dir);
}

/* A message as KIND hands it over, for RCPTS (space-separated), with the whole text. */
static struct intake_message *sample(const struct fixture *fx, enum intake_kind kind,
                                     const char *rcpts)
{
    struct intake_message *msg = intake_message_new(kind, fx->cfg);
    msg->mta_queue_id = g_strdup("QID0001");
    msg->envelope_from = g_strdup("alice@customer.test");
    msg->message_id = g_strdup("m1@customer.test");
    if (kind == INTAKE_MILTER) {
        msg->client_addr = g_strdup("192.0.2.7");
        msg->helo = g_strdup("client.customer.test");
    } else {
        msg->from_addr = g_strdup("alice@customer.test");
        msg->subject = g_strdup("Prices?");
        msg->in_reply_to = g_strdup("m0@site.test");
    }
    char **list = g_strsplit(rcpts, " ", -1);
    for (char **rcpt = list; *rcpt != NULL; rcpt++)
        intake_add_recipient(msg, *rcpt, NULL);
    g_strfreev(list);
    intake_append(msg, message_text, strlen(message_text));
    return msg;
}

/* Record MSG, which must succeed; returns the ids. */
static GArray *record_ok(const struct fixture *fx, const struct intake_message *msg)
{
    GArray *ids = NULL;
    char *error = NULL;
    int status = intake_record(msg, fx->db, &ids, &error);
    g_assert_cmpstr(error, ==, NULL);
    g_assert_cmpint(status, ==, DB_OK);
    g_assert_nonnull(ids);
    g_assert_cmpuint(ids->len, ==, msg->mailboxes->len);
    return ids;
}

static gint64 count_rows(const struct fixture *fx)
{
    return testutil_db_int(fx->db, "SELECT count(*) FROM messages");
}

static void assert_row(const struct fixture *fx, gint64 id, const char *columns,
                       const char *expected)
{
    char *row = testutil_db_text(fx->db, "SELECT %s FROM messages WHERE id = %" G_GINT64_FORMAT,
                                 columns, id);
    g_assert_cmpstr(row, ==, expected);
    g_free(row);
}

/* ---- which recipients an intake records ---- */

struct recipient_case {
    const char *name;
    enum intake_kind kind;
    const char *rcpts;     /* as the MTA gives them, space-separated */
    const char *mailboxes; /* the rows to write, space-separated */
    const char *skipped;   /* what the log is told, one line after another */
};

static const struct recipient_case recipient_cases[] = {
    {"milter_records_a_monitored_mailbox", INTAKE_MILTER, "support@example.org",
     "support@example.org", ""},
    {"pipe_records_a_monitored_mailbox", INTAKE_PIPE, "support@example.org", "support@example.org",
     ""},
    {"mailbox_found_whatever_the_case", INTAKE_MILTER, "Support@Example.ORG", "support@example.org",
     ""},
    {"unmonitored_recipient_ignored", INTAKE_PIPE, "nobody@example.org", "",
     "recipient <nobody@example.org> is not a monitored mailbox; ignored\n"},
    {"milter_skips_intake_pipe", INTAKE_MILTER, "help@example.org", "",
     "recipient <help@example.org>: [mailbox] intake = pipe, so the milter does not record it; "
     "ignored\n"},
    {"pipe_skips_intake_milter", INTAKE_PIPE, "sales@example.org", "",
     "recipient <sales@example.org>: [mailbox] intake = milter, so the pipe does not record it; "
     "ignored\n"},
    {"milter_records_intake_milter", INTAKE_MILTER, "sales@example.org", "sales@example.org", ""},
    {"pipe_records_intake_pipe", INTAKE_PIPE, "help@example.org", "help@example.org", ""},
    {"one_row_per_mailbox_in_recipient_order", INTAKE_MILTER,
     "sales@example.org nobody@example.org support@example.org",
     "sales@example.org support@example.org",
     "recipient <nobody@example.org> is not a monitored mailbox; ignored\n"},
    {"a_mailbox_named_twice_is_one_row", INTAKE_PIPE,
     "support@example.org SUPPORT@example.org support@example.org", "support@example.org", ""},
};

static void test_recipients(struct fixture *fx, gconstpointer data)
{
    const struct recipient_case *c = data;
    struct intake_message *msg = intake_message_new(c->kind, fx->cfg);
    GString *skipped = g_string_new(NULL);
    char **rcpts = g_strsplit(c->rcpts, " ", -1);

    for (char **rcpt = rcpts; *rcpt != NULL; rcpt++) {
        char *why = NULL;
        gboolean recorded = intake_add_recipient(msg, *rcpt, &why);
        g_assert_true(recorded == (why == NULL));
        if (why != NULL)
            g_string_append_printf(skipped, "%s\n", why);
        g_free(why);
    }
    GString *mailboxes = g_string_new(NULL);
    for (guint i = 0; i < msg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(msg->mailboxes, i);
        g_string_append_printf(mailboxes, "%s%s", i > 0 ? " " : "", mailbox->address);
    }
    g_assert_cmpstr(mailboxes->str, ==, c->mailboxes);
    g_assert_cmpstr(skipped->str, ==, c->skipped);
    /* Every recipient is kept, as given, for the rcpts column. */
    g_assert_cmpuint(msg->rcpts->len, ==, g_strv_length(rcpts));
    for (guint i = 0; i < msg->rcpts->len; i++)
        g_assert_cmpstr(g_ptr_array_index(msg->rcpts, i), ==, rcpts[i]);
    g_string_free(mailboxes, TRUE);
    g_string_free(skipped, TRUE);
    g_strfreev(rcpts);
    intake_message_free(msg);
}

/* ---- the size cap ---- */

struct cap_case {
    const char *name;
    size_t chunks[4]; /* the lengths appended, in order */
    size_t n_chunks;
    size_t kept;
    guint64 size;
    gboolean truncated;
};

static const struct cap_case cap_cases[] = {
    {"small_message_kept_whole", {100, 200}, 2, 300, 300, FALSE},
    {"exactly_the_cap_is_whole", {MAX_SIZE - 1, 1}, 2, MAX_SIZE, MAX_SIZE, FALSE},
    {"nothing_more_after_the_cap_is_still_whole", {MAX_SIZE, 0}, 2, MAX_SIZE, MAX_SIZE, FALSE},
    {"one_byte_over_is_truncated", {MAX_SIZE, 1}, 2, MAX_SIZE, MAX_SIZE + 1, TRUE},
    {"a_chunk_across_the_cap_is_cut", {MAX_SIZE - 10, 30, 5}, 3, MAX_SIZE, MAX_SIZE + 25, TRUE},
    {"one_big_chunk_is_cut", {3 * MAX_SIZE}, 1, MAX_SIZE, 3 * MAX_SIZE, TRUE},
};

static void test_cap(struct fixture *fx, gconstpointer data)
{
    const struct cap_case *c = data;
    struct intake_message *msg = intake_message_new(INTAKE_PIPE, fx->cfg);
    guint8 *bytes = g_malloc(3 * MAX_SIZE);
    for (size_t i = 0; i < 3 * MAX_SIZE; i++)
        bytes[i] = (guint8)('a' + i % 26);

    size_t offset = 0;
    for (size_t i = 0; i < c->n_chunks; i++) {
        intake_append(msg, bytes + offset, c->chunks[i]);
        offset += c->chunks[i];
    }
    g_assert_cmpuint(msg->raw->len, ==, c->kept);
    g_assert_cmpuint(msg->size, ==, c->size);
    g_assert_true(intake_truncated(msg) == c->truncated);
    /* What is kept is the beginning of the text, in order. */
    g_assert_cmpmem(msg->raw->data, msg->raw->len, bytes, c->kept);
    g_free(bytes);
    intake_message_free(msg);
}

static void test_truncated_row_keeps_full_size(struct fixture *fx, gconstpointer data)
{
    struct intake_message *msg = sample(fx, INTAKE_MILTER, "support@example.org");
    char *filler = g_strnfill(2 * MAX_SIZE, 'x');
    intake_append(msg, filler, 2 * MAX_SIZE);
    GArray *ids = record_ok(fx, msg);

    char *expected = g_strdup_printf("1|%d|%zu", MAX_SIZE, strlen(message_text) + 2 * MAX_SIZE);
    assert_row(fx, g_array_index(ids, gint64, 0), "truncated || '|' || length(raw) || '|' || size",
               expected);
    g_free(expected);
    g_free(filler);
    g_array_unref(ids);
    intake_message_free(msg);
}

/* ---- recording ---- */

static void test_milter_rows_in_one_transaction(struct fixture *fx, gconstpointer data)
{
    struct intake_message *msg =
        sample(fx, INTAKE_MILTER, "Support@Example.org nobody@example.org sales@example.org");
    GArray *ids = record_ok(fx, msg);

    g_assert_cmpuint(ids->len, ==, 2);
    gint64 first = g_array_index(ids, gint64, 0), second = g_array_index(ids, gint64, 1);
    g_assert_cmpint(second, ==, first + 1);
    g_assert_cmpint(count_rows(fx), ==, 2);
    const char *columns =
        "intake || '|' || mta_queue_id || '|' || mailbox || '|' || envelope_from || '|' || rcpts"
        " || '|' || client_addr || '|' || helo || '|' || ifnull(from_addr, '-') || '|' ||"
        " ifnull(subject, '-') || '|' || message_id || '|' || ifnull(in_reply_to, '-') || '|' ||"
        " truncated || '|' || size || '|' || state";
    char *expected =
        g_strdup_printf("milter|QID0001|%s|alice@customer.test|"
                        "Support@Example.org nobody@example.org sales@example.org|192.0.2.7|"
                        "client.customer.test|-|-|m1@customer.test|-|0|%zu|queued",
                        "support@example.org", strlen(message_text));
    assert_row(fx, first, columns, expected);
    g_free(expected);
    assert_row(fx, second, "mailbox", "sales@example.org");
    for (guint i = 0; i < ids->len; i++)
        assert_row(fx, g_array_index(ids, gint64, i), "raw", message_text);
    g_array_unref(ids);
    intake_message_free(msg);
}

static void test_pipe_row_has_header_fields(struct fixture *fx, gconstpointer data)
{
    struct intake_message *msg = sample(fx, INTAKE_PIPE, "help@example.org");
    GArray *ids = record_ok(fx, msg);

    assert_row(fx, g_array_index(ids, gint64, 0),
               "intake || '|' || mailbox || '|' || ifnull(client_addr, '-') || '|' ||"
               " ifnull(helo, '-') || '|' || from_addr || '|' || subject || '|' || message_id"
               " || '|' || in_reply_to",
               "pipe|help@example.org|-|-|alice@customer.test|Prices?|m1@customer.test|"
               "m0@site.test");
    g_array_unref(ids);
    intake_message_free(msg);
}

static void test_unknown_and_null_sender_kept_apart(struct fixture *fx, gconstpointer data)
{
    const char *const senders[] = {NULL, ""};
    for (size_t i = 0; i < G_N_ELEMENTS(senders); i++) {
        struct intake_message *msg = sample(fx, INTAKE_PIPE, "support@example.org");
        g_free(msg->envelope_from);
        msg->envelope_from = g_strdup(senders[i]);
        g_free(msg->message_id);
        msg->message_id = NULL;
        GArray *ids = record_ok(fx, msg);
        assert_row(fx, g_array_index(ids, gint64, 0), "ifnull(envelope_from, 'NULL')",
                   senders[i] != NULL ? senders[i] : "NULL");
        g_array_unref(ids);
        intake_message_free(msg);
    }
}

static void test_no_mailbox_writes_nothing(struct fixture *fx, gconstpointer data)
{
    struct intake_message *msg = sample(fx, INTAKE_PIPE, "nobody@example.org sales@example.org");
    GArray *ids = record_ok(fx, msg);

    g_assert_cmpuint(ids->len, ==, 0);
    g_assert_cmpint(count_rows(fx), ==, 0);
    g_array_unref(ids);
    intake_message_free(msg);
}

static void test_second_copy_is_a_duplicate(struct fixture *fx, gconstpointer data)
{
    /* With intake = any, the milter and then the pipe both see the message. */
    struct intake_message *first = sample(fx, INTAKE_MILTER, "support@example.org");
    struct intake_message *second = sample(fx, INTAKE_PIPE, "support@example.org");
    GArray *first_ids = record_ok(fx, first);
    GArray *second_ids = record_ok(fx, second);

    gint64 original = g_array_index(first_ids, gint64, 0);
    assert_row(fx, original, "state || '|' || ifnull(duplicate_of, '-')", "queued|-");
    char *expected = g_strdup_printf(
        "done|%" G_GINT64_FORMAT "|duplicate of message %" G_GINT64_FORMAT, original, original);
    assert_row(fx, g_array_index(second_ids, gint64, 0),
               "state || '|' || duplicate_of || '|' || last_error", expected);
    g_free(expected);
    g_array_unref(first_ids);
    g_array_unref(second_ids);
    intake_message_free(first);
    intake_message_free(second);
}

static void test_db_error_leaves_no_row(struct fixture *fx, gconstpointer data)
{
    /* The second row fails after the first was inserted: the first must go too. */
    testutil_db_exec(fx->db, "CREATE TRIGGER refuse_sales BEFORE INSERT ON messages"
                             " WHEN NEW.mailbox = 'sales@example.org'"
                             " BEGIN SELECT RAISE(ABORT, 'disk full, say'); END");
    struct intake_message *msg = sample(fx, INTAKE_MILTER, "support@example.org sales@example.org");
    GArray *ids = NULL;
    char *error = NULL;

    g_assert_cmpint(intake_record(msg, fx->db, &ids, &error), ==, DB_ERROR);
    g_assert_null(ids);
    g_assert_nonnull(error);
    g_assert_nonnull(strstr(error, "disk full, say"));
    g_assert_cmpint(count_rows(fx), ==, 0);
    g_free(error);
    intake_message_free(msg);
}

static void test_db_busy_leaves_no_row(struct fixture *fx, gconstpointer data)
{
    char *path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    sqlite3 *other = NULL;
    char *error = NULL;
    g_assert_cmpint(db_open(path, BUSY_TIMEOUT_MS, &other, &error), ==, DB_OK);
    testutil_db_exec(other, "BEGIN EXCLUSIVE");
    struct intake_message *msg = sample(fx, INTAKE_PIPE, "support@example.org");
    GArray *ids = NULL;

    g_assert_cmpint(intake_record(msg, fx->db, &ids, &error), ==, DB_BUSY);
    g_assert_null(ids);
    g_assert_nonnull(error);
    testutil_db_exec(other, "COMMIT");
    g_assert_cmpint(count_rows(fx), ==, 0);
    g_free(error);
    intake_message_free(msg);
    db_close(other);
    g_free(path);
}

/* ---- several messages in one transaction (the milter's group commit) ---- */

static void test_batch_ids_per_message(struct fixture *fx, gconstpointer data)
{
    struct intake_message *one = sample(fx, INTAKE_MILTER, "support@example.org sales@example.org");
    struct intake_message *none = sample(fx, INTAKE_MILTER, "nobody@example.org");
    struct intake_message *two = sample(fx, INTAKE_MILTER, "support@example.org");
    g_free(two->message_id);
    two->message_id = g_strdup("m2@customer.test");
    /* The same message again in the same batch: the duplicate rule sees the rows before it. */
    struct intake_message *again = sample(fx, INTAKE_MILTER, "support@example.org");
    const struct intake_message *msgs[] = {one, none, two, again};
    GArray *ids[G_N_ELEMENTS(msgs)] = {NULL};
    char *error = NULL;

    g_assert_cmpint(intake_record_batch(msgs, G_N_ELEMENTS(msgs), fx->db, ids, &error), ==, DB_OK);
    g_assert_cmpstr(error, ==, NULL);
    g_assert_cmpuint(ids[0]->len, ==, 2);
    g_assert_cmpuint(ids[1]->len, ==, 0);
    g_assert_cmpuint(ids[2]->len, ==, 1);
    g_assert_cmpuint(ids[3]->len, ==, 1);
    g_assert_cmpint(count_rows(fx), ==, 4);
    assert_row(fx, g_array_index(ids[0], gint64, 1), "mailbox", "sales@example.org");
    assert_row(fx, g_array_index(ids[2], gint64, 0), "message_id", "m2@customer.test");
    char *expected = g_strdup_printf("done|duplicate of message %" G_GINT64_FORMAT,
                                     g_array_index(ids[0], gint64, 0));
    assert_row(fx, g_array_index(ids[3], gint64, 0), "state || '|' || last_error", expected);
    g_free(expected);
    for (size_t i = 0; i < G_N_ELEMENTS(msgs); i++) {
        g_array_unref(ids[i]);
        intake_message_free((struct intake_message *)msgs[i]);
    }
}

static void test_batch_fails_whole(struct fixture *fx, gconstpointer data)
{
    /* The last message fails: none of the batch is written, and no ids are given. */
    testutil_db_exec(fx->db, "CREATE TRIGGER refuse_sales BEFORE INSERT ON messages"
                             " WHEN NEW.mailbox = 'sales@example.org'"
                             " BEGIN SELECT RAISE(ABORT, 'disk full, say'); END");
    struct intake_message *good = sample(fx, INTAKE_MILTER, "support@example.org");
    struct intake_message *bad = sample(fx, INTAKE_MILTER, "sales@example.org");
    const struct intake_message *msgs[] = {good, bad};
    GArray *ids[2] = {NULL, NULL};
    char *error = NULL;

    g_assert_cmpint(intake_record_batch(msgs, 2, fx->db, ids, &error), ==, DB_ERROR);
    g_assert_nonnull(strstr(error, "disk full, say"));
    g_assert_null(ids[0]);
    g_assert_null(ids[1]);
    g_assert_cmpint(count_rows(fx), ==, 0);
    g_free(error);
    intake_message_free(good);
    intake_message_free(bad);
}

/* ---- the log ---- */

/* Record MSG with stderr caught in DIR/stderr; returns what was written there. */
static char *record_logged(const struct fixture *fx, const struct intake_message *msg)
{
    char *path = g_build_filename(fx->dir, "stderr", NULL);
    int file = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    g_assert_cmpint(file, >=, 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    g_assert_cmpint(dup2(file, STDERR_FILENO), ==, STDERR_FILENO);
    close(file);
    GArray *ids = record_ok(fx, msg);
    fflush(stderr);
    g_assert_cmpint(dup2(saved, STDERR_FILENO), ==, STDERR_FILENO);
    close(saved);
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_array_unref(ids);
    g_free(path);
    return text;
}

static void test_recorded_lines(struct fixture *fx, gconstpointer data)
{
    struct intake_message *milter =
        sample(fx, INTAKE_MILTER, "support@example.org sales@example.org");
    char *text = record_logged(fx, milter);
    char *expected =
        g_strdup_printf("mailtriage: 1: recorded: mta_queue_id=QID0001 client=192.0.2.7 "
                        "from=<alice@customer.test> mailbox=<support@example.org> size=%zu\n"
                        "mailtriage: 2: recorded: mta_queue_id=QID0001 client=192.0.2.7 "
                        "from=<alice@customer.test> mailbox=<sales@example.org> size=%zu\n",
                        strlen(message_text), strlen(message_text));
    g_assert_cmpstr(text, ==, expected);
    g_free(expected);
    g_free(text);

    /* The pipe has no SMTP client, and says when the text was cut. */
    struct intake_message *pipe = sample(fx, INTAKE_PIPE, "help@example.org");
    g_free(pipe->mta_queue_id);
    pipe->mta_queue_id = NULL;
    g_free(pipe->envelope_from);
    pipe->envelope_from = g_strdup("");
    char *filler = g_strnfill(MAX_SIZE, 'x');
    intake_append(pipe, filler, MAX_SIZE);
    text = record_logged(fx, pipe);
    expected = g_strdup_printf("mailtriage: 3: recorded: mta_queue_id=- from=<<>> "
                               "mailbox=<help@example.org> size=%zu truncated\n",
                               strlen(message_text) + MAX_SIZE);
    g_assert_cmpstr(text, ==, expected);
    g_free(expected);
    g_free(text);
    g_free(filler);
    intake_message_free(milter);
    intake_message_free(pipe);
}

static void test_recorded_line_store_ms(struct fixture *fx, gconstpointer data)
{
    struct intake_message *msg = sample(fx, INTAKE_MILTER, "support@example.org");
    msg->started = g_get_monotonic_time() - 1500; /* the end of message came 1.5 ms ago */
    char *text = record_logged(fx, msg);
    const char *field = strstr(text, " store_ms=");
    g_assert_nonnull(field);
    double ms = g_ascii_strtod(field + strlen(" store_ms="), NULL);
    g_assert_cmpfloat(ms, >=, 1.5);
    g_assert_true(g_str_has_suffix(text, "\n"));
    g_free(text);
    intake_message_free(msg);
}

static void add(const char *path, void (*test)(struct fixture *, gconstpointer), const void *data)
{
    g_test_add(path, struct fixture, data, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(recipient_cases); i++) {
        char *path = g_strdup_printf("/intake/recipients/%s", recipient_cases[i].name);
        add(path, test_recipients, &recipient_cases[i]);
        g_free(path);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(cap_cases); i++) {
        char *path = g_strdup_printf("/intake/cap/%s", cap_cases[i].name);
        add(path, test_cap, &cap_cases[i]);
        g_free(path);
    }
    add("/intake/cap/truncated_row_keeps_full_size", test_truncated_row_keeps_full_size, NULL);
    add("/intake/record/milter_rows_in_one_transaction", test_milter_rows_in_one_transaction, NULL);
    add("/intake/record/pipe_row_has_header_fields", test_pipe_row_has_header_fields, NULL);
    add("/intake/batch/ids_per_message", test_batch_ids_per_message, NULL);
    add("/intake/batch/fails_whole", test_batch_fails_whole, NULL);
    add("/intake/log/store_ms", test_recorded_line_store_ms, NULL);
    add("/intake/record/unknown_and_null_sender_kept_apart",
        test_unknown_and_null_sender_kept_apart, NULL);
    add("/intake/record/no_mailbox_writes_nothing", test_no_mailbox_writes_nothing, NULL);
    add("/intake/record/second_copy_is_a_duplicate", test_second_copy_is_a_duplicate, NULL);
    add("/intake/record/db_error_leaves_no_row", test_db_error_leaves_no_row, NULL);
    add("/intake/record/db_busy_leaves_no_row", test_db_busy_leaves_no_row, NULL);
    add("/intake/log/recorded_lines", test_recorded_lines, NULL);
    return g_test_run();
}
