/*
 * draft_test: the specification of lib/core/draft.c.
 *
 * Each case opens a fresh database in a private temporary directory, records one message with
 * queue_insert() and proposes drafts for it. The "sendmail" is a /bin/sh script in the same
 * directory that counts its runs (one line each in "runs") and saves the argv and standard
 * input of run N as args.N and stdin.N, then exits with the status the case chose; so "sent
 * exactly once" is a count, and what went out is compared byte for byte. Concurrent approvals
 * use a second connection to the same file, as a second mailtriagectl would.
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "config.h"
#include "db.h"
#include "action.h"
#include "draft.h"
#include "queue.h"
#include "store.h"
#include "testdata.h"
#include "testutil.h"

#define BUSY_TIMEOUT_MS 5000
#define CUSTOMER "ann@customer.test"
#define REPLY_ID "r1@example.org"

static const char reply_text[] = "From: support@example.org\r\n"
                                 "To: ann@customer.test\r\n"
                                 "Subject: Re: Prices\r\n"
                                 "Message-ID: <" REPLY_ID ">\r\n"
                                 "Auto-Submitted: auto-replied\r\n"
                                 "\r\n"
                                 "The basic plan costs 10 EUR a month.\r\n";

/* %d: the exit status; %s: what it says on stderr. Waits for a file "go" when "wait" exists. */
static const char sendmail_format[] = "#!/bin/sh\n"
                                      "dir=$(dirname \"$0\")\n"
                                      "echo run >> \"$dir/runs\"\n"
                                      "n=$(wc -l < \"$dir/runs\" | tr -d ' ')\n"
                                      "printf '%%s\\n' \"$@\" > \"$dir/args.$n\"\n"
                                      "cat > \"$dir/stdin.$n\"\n"
                                      "i=0\n"
                                      "while [ -e \"$dir/wait\" ] && [ ! -e \"$dir/go\" ] &&"
                                      " [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done\n"
                                      "printf '%%s' '%s' >&2\n"
                                      "exit %d\n";

struct fixture {
    char *dir;
    char *path; /* DIR/mailtriage.db */
    sqlite3 *db;
    struct config *cfg;
    gint64 message; /* from ann@customer.test to support@example.org */
};

static void use_sendmail(struct fixture *fx, int exit_status, const char *says)
{
    char *script = g_strdup_printf(sendmail_format, says, exit_status);
    char *path = g_build_filename(fx->dir, "sendmail", NULL);
    testdata_write(path, script, -1, 0755);
    g_free(path);
    g_free(script);
}

/* A message from ann@customer.test to support@example.org with MESSAGE_ID and SUBJECT. */
static gint64 insert_message(sqlite3 *db, const char *message_id, const char *subject)
{
    static const char raw[] = "From: Ann <ann@customer.test>\r\n\r\nHow much?\r\n";
    const struct queue_new row = {
        .intake = "test",
        .mailbox = "support@example.org",
        .envelope_from = CUSTOMER,
        .rcpts = "support@example.org",
        .from_addr = CUSTOMER,
        .subject = subject,
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
    fx->path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(fx->path, BUSY_TIMEOUT_MS, &fx->db, &error), ==, DB_OK);
    char *ini = g_strdup_printf("[daemon]\ndatabase = %s\n"
                                "[sendmail]\npath = %s/sendmail\ntimeout = 30s\n"
                                "[mailbox support@example.org]\nmode = draft\n"
                                "escalate_to = human@example.org\n",
                                fx->path, fx->dir);
    fx->cfg = testdata_config(ini);
    g_free(ini);
    use_sendmail(fx, 0, "");
    fx->message = insert_message(fx->db, "<p1@customer.test>", "Prices");
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    config_unref(fx->cfg);
    db_close(fx->db);
    testutil_rmtree(fx->dir);
    g_free(fx->path);
    g_free(fx->dir);
}

static gint64 add_draft_for(struct fixture *fx, gint64 message)
{
    gint64 id = 0;
    char *error = NULL;

    g_assert_cmpint(draft_add(fx->db, message, CUSTOMER, REPLY_ID, reply_text, &id, &error), ==,
                    DB_OK);
    g_assert_null(error);
    g_assert_cmpint(id, >, 0);
    return id;
}

static gint64 add_draft(struct fixture *fx)
{
    return add_draft_for(fx, fx->message);
}

/* How many times sendmail ran. */
static int sendmail_runs(const struct fixture *fx)
{
    char *path = g_build_filename(fx->dir, "runs", NULL);
    char *runs = NULL;
    int n = 0;

    if (g_file_get_contents(path, &runs, NULL, NULL))
        for (const char *p = runs; *p != '\0'; p++)
            n += *p == '\n';
    g_free(runs);
    g_free(path);
    return n;
}

/* The file NAME.RUN that the capturing sendmail wrote. */
static char *sendmail_file(const struct fixture *fx, const char *name, int run)
{
    char *base = g_strdup_printf("%s.%d", name, run);
    char *path = g_build_filename(fx->dir, base, NULL);
    char *contents = testdata_read(path, NULL);

    g_free(path);
    g_free(base);
    return contents;
}

static char *draft_column(const struct fixture *fx, gint64 id, const char *column)
{
    return testutil_db_text(fx->db, "SELECT %s FROM drafts WHERE id = %" G_GINT64_FORMAT, column,
                            id);
}

static void assert_draft_column(const struct fixture *fx, gint64 id, const char *column,
                                const char *expected)
{
    char *value = draft_column(fx, id, column);
    g_assert_cmpstr(value, ==, expected);
    g_free(value);
}

static gint64 reply_actions(const struct fixture *fx)
{
    return testutil_db_int(fx->db,
                           "SELECT COUNT(*) FROM actions WHERE kind = 'reply' AND message = "
                           "%" G_GINT64_FORMAT,
                           fx->message);
}

/* Approve ID on DB as WHO, expecting STATUS; returns the error text (or NULL). */
static char *approve(struct fixture *fx, sqlite3 *db, gint64 id, const char *who, int status)
{
    char *error = NULL;
    int got = action_approve_draft(db, fx->cfg, id, who, &error);

    if (got != status)
        g_error("action_approve_draft: %d, expected %d: %s", got, status,
                error != NULL ? error : "");
    return error;
}

/* Approve ID and expect refusal with ERROR_TEXT, and no sendmail run. */
static void assert_approve_refused(struct fixture *fx, sqlite3 *db, gint64 id,
                                   const char *error_text)
{
    int runs = sendmail_runs(fx);
    char *error = approve(fx, db, id, "bob", DB_ERROR);

    g_assert_cmpstr(error, ==, error_text);
    g_assert_cmpint(sendmail_runs(fx), ==, runs);
    g_free(error);
}

/* ---- add, list, get ---- */

static void test_add_then_get(struct fixture *fx, gconstpointer data)
{
    gint64 before = testutil_now();
    gint64 id = add_draft(fx);
    struct draft *draft = NULL;
    char *error = NULL;

    g_assert_cmpint(draft_get(fx->db, id, &draft, &error), ==, 1);
    g_assert_cmpint(draft->id, ==, id);
    g_assert_cmpint(draft->message, ==, fx->message);
    g_assert_cmpint(draft->state, ==, DRAFT_PENDING);
    g_assert_cmpstr(draft->mailbox, ==, "support@example.org");
    g_assert_cmpstr(draft->envelope_from, ==, CUSTOMER);
    g_assert_cmpstr(draft->subject, ==, "Prices");
    g_assert_cmpstr(draft->recipient, ==, CUSTOMER);
    g_assert_cmpstr(draft->outgoing_message_id, ==, REPLY_ID);
    g_assert_cmpstr(draft->text, ==, reply_text);
    g_assert_cmpint(draft->created_at, >=, before);
    g_assert_cmpint(draft->decided_at, ==, 0);
    g_assert_null(draft->decided_by);
    g_assert_null(draft->reason);
    g_assert_cmpint(draft->sendmail_status, ==, -1);
    g_assert_null(draft->error);
    draft_free(draft);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);
}

static void test_get_missing_returns_0(struct fixture *fx, gconstpointer data)
{
    struct draft *draft = NULL;
    char *error = NULL;

    g_assert_cmpint(draft_get(fx->db, 99, &draft, &error), ==, 0);
    g_assert_null(draft);
    g_assert_null(error);
}

static void test_add_refuses_missing_message(struct fixture *fx, gconstpointer data)
{
    gint64 id = 0;
    char *error = NULL;

    g_assert_cmpint(draft_add(fx->db, 999, CUSTOMER, REPLY_ID, reply_text, &id, &error), ==,
                    DB_ERROR);
    g_assert_true(testdata_contains(error, "FOREIGN KEY"));
    g_free(error);
    error = NULL;
    g_assert_cmpint(draft_add(fx->db, fx->message, "", REPLY_ID, reply_text, &id, &error), ==,
                    DB_ERROR);
    g_assert_cmpstr(error, ==, "a draft needs a recipient, a Message-ID and a text");
    g_free(error);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT COUNT(*) FROM drafts"), ==, 0);
}

static void test_add_again_returns_the_live_draft(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);

    /* The message was retried after its draft was stored: still one draft to approve. */
    g_assert_cmpint(add_draft(fx), ==, id);
    testutil_db_exec(fx->db, "UPDATE drafts SET state = 'sending' WHERE id = %" G_GINT64_FORMAT,
                     id);
    g_assert_cmpint(add_draft(fx), ==, id);
    testutil_db_exec(fx->db, "UPDATE drafts SET state = 'sent' WHERE id = %" G_GINT64_FORMAT, id);
    g_assert_cmpint(add_draft(fx), ==, id);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT COUNT(*) FROM drafts"), ==, 1);
}

static void test_add_after_rejection_stores_a_new_draft(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    char *error = NULL;

    g_assert_cmpint(draft_reject(fx->db, id, "carol", NULL, &error), ==, DB_OK);
    gint64 again = add_draft(fx);
    g_assert_cmpint(again, >, id);
    assert_draft_column(fx, again, "state", "pending");
    assert_draft_column(fx, id, "state", "rejected");
}

static void test_list_pending_by_default(struct fixture *fx, gconstpointer data)
{
    gint64 first = add_draft(fx);
    gint64 second = add_draft_for(fx, insert_message(fx->db, "<p2@customer.test>", "Prices"));
    gint64 third = add_draft_for(fx, insert_message(fx->db, "<p3@customer.test>", "Prices"));
    GPtrArray *drafts = NULL;
    char *error = NULL;

    g_assert_cmpint(draft_reject(fx->db, second, "bob", NULL, &error), ==, DB_OK);
    testutil_db_exec(fx->db, "UPDATE drafts SET state = 'sending' WHERE id = %" G_GINT64_FORMAT,
                     first);

    /* Undecided ones: pending and the one being sent, newest first, without their text. */
    g_assert_cmpint(draft_list(fx->db, FALSE, &drafts, &error), ==, DB_OK);
    g_assert_cmpuint(drafts->len, ==, 2);
    const struct draft *top = g_ptr_array_index(drafts, 0);
    g_assert_cmpint(top->id, ==, third);
    g_assert_cmpint(top->state, ==, DRAFT_PENDING);
    g_assert_cmpstr(top->subject, ==, "Prices");
    g_assert_cmpstr(top->recipient, ==, CUSTOMER);
    g_assert_null(top->text);
    g_assert_cmpint(((const struct draft *)g_ptr_array_index(drafts, 1))->id, ==, first);
    g_ptr_array_unref(drafts);

    g_assert_cmpint(draft_list(fx->db, TRUE, &drafts, &error), ==, DB_OK);
    g_assert_cmpuint(drafts->len, ==, 3);
    g_assert_cmpint(((const struct draft *)g_ptr_array_index(drafts, 1))->state, ==,
                    DRAFT_REJECTED);
    g_ptr_array_unref(drafts);
}

static void test_state_names(void)
{
    static const char *const names[] = {"pending", "sending", "sent", "rejected", "failed"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
        g_assert_cmpstr(draft_state_name((enum draft_state)i), ==, names[i]);
}

/* ---- approve ---- */

static void test_approve_sends_once_with_null_sender(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    gint64 before = testutil_now();
    char *error = NULL;

    g_assert_null(approve(fx, fx->db, id, "bob", DB_OK));
    g_assert_null(error);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
    char *args = sendmail_file(fx, "args", 1);
    g_assert_cmpstr(args, ==, "-i\n-f\n<>\n--\n" CUSTOMER "\n");
    g_free(args);
    char *sent = sendmail_file(fx, "stdin", 1);
    g_assert_cmpstr(sent, ==, reply_text);
    g_free(sent);

    struct draft *draft = NULL;
    g_assert_cmpint(draft_get(fx->db, id, &draft, &error), ==, 1);
    g_assert_cmpint(draft->state, ==, DRAFT_SENT);
    g_assert_cmpstr(draft->decided_by, ==, "bob");
    g_assert_cmpint(draft->decided_at, >=, before);
    g_assert_cmpint(draft->sendmail_status, ==, 0);
    g_assert_null(draft->error);
    draft_free(draft);
}

static void test_approve_records_sent_reply(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    char *error = NULL;

    g_assert_null(approve(fx, fx->db, id, "bob", DB_OK));
    g_assert_cmpint(reply_actions(fx), ==, 1);
    sqlite3_stmt *stmt = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(fx->db,
                                       "SELECT state, recipient, envelope_sender,"
                                       " outgoing_message_id, sendmail_status, sent_at IS NOT NULL,"
                                       " reason FROM actions WHERE kind = 'reply'",
                                       -1, &stmt, NULL),
                    ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(stmt), ==, SQLITE_ROW);
    g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 0), ==, "sent");
    g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 1), ==, CUSTOMER);
    g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 2), ==, "");
    g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 3), ==, REPLY_ID);
    g_assert_cmpint(sqlite3_column_type(stmt, 4), ==, SQLITE_INTEGER);
    g_assert_cmpint(sqlite3_column_int(stmt, 4), ==, 0);
    g_assert_cmpint(sqlite3_column_int(stmt, 5), ==, 1);
    char *reason = g_strdup_printf("draft %" G_GINT64_FORMAT " approved by bob", id);
    g_assert_cmpstr((const char *)sqlite3_column_text(stmt, 6), ==, reason);
    g_free(reason);
    sqlite3_finalize(stmt);

    /* The reply interval and a resumed message see it as any automatic reply. */
    g_assert_cmpint(store_action_was_sent(fx->db, fx->message, STORE_ACTION_REPLY, &error), ==, 1);
    g_assert_cmpint(store_replied_since(fx->db, "support@example.org", CUSTOMER,
                                        testutil_now() - 60, 0, &error),
                    ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db,
                                    "SELECT COUNT(*) FROM events WHERE message = %" G_GINT64_FORMAT
                                    " AND level = 'info' AND text LIKE '%% approved by bob: reply"
                                    " sent to <" CUSTOMER ">'",
                                    fx->message),
                    ==, 1);
}

static void test_approve_twice_refused(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);

    g_assert_null(approve(fx, fx->db, id, "bob", DB_OK));
    char *expected = g_strdup_printf("draft %" G_GINT64_FORMAT " is sent, not pending", id);
    assert_approve_refused(fx, fx->db, id, expected);
    g_free(expected);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
    g_assert_cmpint(reply_actions(fx), ==, 1);
}

static void test_approve_rejected_refused(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    char *error = NULL;

    g_assert_cmpint(draft_reject(fx->db, id, "carol", "wrong price", &error), ==, DB_OK);
    char *expected = g_strdup_printf("draft %" G_GINT64_FORMAT " is rejected, not pending", id);
    assert_approve_refused(fx, fx->db, id, expected);
    g_free(expected);
    assert_draft_column(fx, id, "state", "rejected");
    g_assert_cmpint(reply_actions(fx), ==, 0);
}

static void test_approve_missing_refused(struct fixture *fx, gconstpointer data)
{
    assert_approve_refused(fx, fx->db, 99, "no draft 99");
}

static void test_approve_tempfail_returns_to_pending(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    char *error = NULL;

    use_sendmail(fx, 75, "mail queue full");
    error = approve(fx, fx->db, id, "bob", ACTION_TRY_LATER);
    g_assert_true(testdata_contains(error, "exited with status 75: mail queue full"));
    g_free(error);
    error = NULL;
    assert_draft_column(fx, id, "state", "pending");
    assert_draft_column(fx, id, "sendmail_status", "75");
    assert_draft_column(fx, id, "decided_by", NULL);
    char *stored = draft_column(fx, id, "error");
    g_assert_true(testdata_contains(stored, "mail queue full"));
    g_free(stored);
    g_assert_cmpint(reply_actions(fx), ==, 0);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT COUNT(*) FROM events WHERE level = 'warning'"
                                            " AND text LIKE '%%try later%%mail queue full'"),
                    ==, 1);

    /* The operator approves again once the MTA is back. */
    use_sendmail(fx, 0, "");
    g_assert_null(approve(fx, fx->db, id, "bob", DB_OK));
    assert_draft_column(fx, id, "state", "sent");
    assert_draft_column(fx, id, "error", NULL);
    g_assert_cmpint(sendmail_runs(fx), ==, 2);
    g_assert_cmpint(reply_actions(fx), ==, 1);
}

static void test_approve_without_sendmail_returns_to_pending(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    char *error = NULL;

    char *path = g_build_filename(fx->dir, "sendmail", NULL);
    g_assert_cmpint(g_unlink(path), ==, 0);
    g_free(path);
    error = approve(fx, fx->db, id, "bob", ACTION_TRY_LATER);
    g_assert_true(testdata_contains(error, "cannot run"));
    g_free(error);
    assert_draft_column(fx, id, "state", "pending");
    assert_draft_column(fx, id, "sendmail_status", NULL);
}

static void test_approve_permanent_failure_is_failed(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    char *error = NULL;

    use_sendmail(fx, 67, "user unknown");
    error = approve(fx, fx->db, id, "bob", DB_ERROR);
    g_assert_true(testdata_contains(error, "failed: "));
    g_assert_true(testdata_contains(error, "exited with status 67: user unknown"));
    g_free(error);
    assert_draft_column(fx, id, "state", "failed");
    assert_draft_column(fx, id, "sendmail_status", "67");
    assert_draft_column(fx, id, "decided_by", "bob");
    char *stored = draft_column(fx, id, "error");
    g_assert_true(testdata_contains(stored, "user unknown"));
    g_free(stored);
    g_assert_cmpint(reply_actions(fx), ==, 0);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT COUNT(*) FROM events WHERE level = 'error'"
                                            " AND text LIKE '%%sendmail failed%%user unknown'"),
                    ==, 1);

    char *expected = g_strdup_printf("draft %" G_GINT64_FORMAT " is failed, not pending", id);
    assert_approve_refused(fx, fx->db, id, expected);
    g_free(expected);
}

/* A second mailtriagectl's connection. */
static sqlite3 *open_second(const struct fixture *fx, int busy_timeout_ms)
{
    sqlite3 *db = NULL;
    char *error = NULL;

    g_assert_cmpint(db_open(fx->path, busy_timeout_ms, &db, &error), ==, DB_OK);
    return db;
}

static void test_approve_refused_while_sending(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    sqlite3 *other = open_second(fx, BUSY_TIMEOUT_MS);
    char *error = NULL;

    /* The first approval has claimed the draft and its sendmail runs. */
    testutil_db_exec(fx->db, "UPDATE drafts SET state = 'sending' WHERE id = %" G_GINT64_FORMAT,
                     id);
    char *expected = g_strdup_printf("draft %" G_GINT64_FORMAT " is sending, not pending", id);
    assert_approve_refused(fx, other, id, expected);
    g_assert_cmpint(draft_reject(other, id, "carol", NULL, &error), ==, DB_ERROR);
    g_assert_cmpstr(error, ==, expected);
    g_free(error);
    g_free(expected);
    assert_draft_column(fx, id, "state", "sending");
    db_close(other);
}

/* An approval that dies while its sendmail runs (the moment after draft_begin_sending()) leaves
 * a draft in sending whose error says what is unknown and what to look for, and an event of the
 * message that says the same; the draft is never sent again. After a sent outcome the words go. */
static void test_interrupted_approval_leaves_the_words(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    struct draft *draft = NULL;
    char *error = NULL;

    g_assert_cmpint(draft_begin_sending(fx->db, id, "bob", &draft, &error), ==, DB_OK);
    draft_free(draft);
    assert_draft_column(fx, id, "state", "sending");
    assert_draft_column(fx, id, "error",
                        "outcome unknown until sendmail answers: approved by bob and handed to "
                        "sendmail; if the draft stays in sending, the approval stopped first and "
                        "the reply to <" CUSTOMER "> may have gone out: look for "
                        "message-id=<" REPLY_ID "> in the mail log. It is never sent again");
    char *event = testutil_db_text(fx->db, "SELECT text FROM events");
    char *expected = g_strdup_printf("draft %" G_GINT64_FORMAT " approved by bob: sendmail runs "
                                     "for the reply to <" CUSTOMER ">, message-id <" REPLY_ID ">",
                                     id);
    g_assert_cmpstr(event, ==, expected);
    g_free(expected);
    g_free(event);
    char *refused = g_strdup_printf("draft %" G_GINT64_FORMAT " is sending, not pending", id);
    assert_approve_refused(fx, fx->db, id, refused);
    g_free(refused);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);

    /* A full approval of another draft ends with no such words. */
    gint64 other = add_draft_for(fx, insert_message(fx->db, "<p2@customer.test>", "Prices"));
    g_free(approve(fx, fx->db, other, "bob", DB_OK));
    g_assert_cmpint(testutil_db_int(fx->db,
                                    "SELECT error IS NULL FROM drafts WHERE id = %" G_GINT64_FORMAT,
                                    other),
                    ==, 1);
}

struct approval {
    struct fixture *fx;
    gint64 id;
    int status;
    char *error;
};

static gpointer approve_thread(gpointer data)
{
    struct approval *a = data;
    sqlite3 *db = open_second(a->fx, BUSY_TIMEOUT_MS);

    a->status = action_approve_draft(db, a->fx->cfg, a->id, "alice", &a->error);
    db_close(db);
    return NULL;
}

static void test_concurrent_approvals_send_once(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    char *wait = testutil_write(fx->dir, "wait", "");
    struct approval first = {.fx = fx, .id = id};

    /* The first approval's sendmail holds until "go" appears; meanwhile a second one tries. */
    GThread *thread = g_thread_new("approve", approve_thread, &first);
    for (int i = 0; i < 400 && sendmail_runs(fx) == 0; i++)
        g_usleep(25000);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
    char *expected = g_strdup_printf("draft %" G_GINT64_FORMAT " is sending, not pending", id);
    assert_approve_refused(fx, fx->db, id, expected);
    g_free(expected);
    char *go = testutil_write(fx->dir, "go", "");
    g_thread_join(thread);

    g_assert_cmpint(first.status, ==, DB_OK);
    g_assert_null(first.error);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
    assert_draft_column(fx, id, "state", "sent");
    assert_draft_column(fx, id, "decided_by", "alice");
    g_assert_cmpint(reply_actions(fx), ==, 1);
    g_free(go);
    g_free(wait);
}

static void test_approve_busy_database_changes_nothing(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    sqlite3 *impatient = open_second(fx, 50);
    char *error = NULL;

    g_assert_cmpint(db_begin_immediate(fx->db, &error), ==, DB_OK);
    error = approve(fx, impatient, id, "bob", DB_BUSY);
    g_assert_nonnull(error);
    g_free(error);
    error = NULL;
    g_assert_cmpint(draft_reject(impatient, id, "bob", NULL, &error), ==, DB_BUSY);
    g_free(error);
    db_rollback(fx->db);
    assert_draft_column(fx, id, "state", "pending");
    g_assert_cmpint(sendmail_runs(fx), ==, 0);
    db_close(impatient);
}

/* ---- reject ---- */

static void test_reject_with_reason(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    gint64 before = testutil_now();
    struct draft *draft = NULL;
    char *error = NULL;

    g_assert_cmpint(draft_reject(fx->db, id, "carol", "wrong price", &error), ==, DB_OK);
    g_assert_cmpint(draft_get(fx->db, id, &draft, &error), ==, 1);
    g_assert_cmpint(draft->state, ==, DRAFT_REJECTED);
    g_assert_cmpstr(draft->reason, ==, "wrong price");
    g_assert_cmpstr(draft->decided_by, ==, "carol");
    g_assert_cmpint(draft->decided_at, >=, before);
    draft_free(draft);
    g_assert_cmpint(
        testutil_db_int(fx->db,
                        "SELECT COUNT(*) FROM events WHERE text = 'draft %" G_GINT64_FORMAT
                        " rejected by carol: wrong price'",
                        id),
        ==, 1);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);

    g_assert_cmpint(draft_reject(fx->db, id, "carol", NULL, &error), ==, DB_ERROR);
    char *expected = g_strdup_printf("draft %" G_GINT64_FORMAT " is rejected, not pending", id);
    g_assert_cmpstr(error, ==, expected);
    g_free(expected);
    g_free(error);
}

static void test_reject_without_reason(struct fixture *fx, gconstpointer data)
{
    gint64 id = add_draft(fx);
    char *error = NULL;

    g_assert_cmpint(draft_reject(fx->db, id, "carol", NULL, &error), ==, DB_OK);
    assert_draft_column(fx, id, "state", "rejected");
    assert_draft_column(fx, id, "reason", NULL);
}

static void test_reject_missing_refused(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;

    g_assert_cmpint(draft_reject(fx->db, 99, "carol", NULL, &error), ==, DB_ERROR);
    g_assert_cmpstr(error, ==, "no draft 99");
    g_free(error);
}

static void add(const char *path, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, NULL, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    add("/draft/add_then_get_returns_everything", test_add_then_get);
    add("/draft/get_missing_returns_0", test_get_missing_returns_0);
    add("/draft/add_refuses_missing_message_or_recipient", test_add_refuses_missing_message);
    add("/draft/add_again_returns_the_live_draft", test_add_again_returns_the_live_draft);
    add("/draft/add_after_rejection_stores_a_new_draft",
        test_add_after_rejection_stores_a_new_draft);
    add("/draft/list_undecided_by_default_all_with_all", test_list_pending_by_default);
    g_test_add_func("/draft/state_names", test_state_names);

    add("/draft/approve_sends_once_with_null_sender", test_approve_sends_once_with_null_sender);
    add("/draft/approve_records_sent_reply_on_message", test_approve_records_sent_reply);
    add("/draft/approve_twice_refused", test_approve_twice_refused);
    add("/draft/approve_rejected_refused", test_approve_rejected_refused);
    add("/draft/approve_missing_refused", test_approve_missing_refused);
    add("/draft/approve_tempfail_returns_to_pending", test_approve_tempfail_returns_to_pending);
    add("/draft/approve_without_sendmail_returns_to_pending",
        test_approve_without_sendmail_returns_to_pending);
    add("/draft/approve_permanent_failure_is_failed", test_approve_permanent_failure_is_failed);
    add("/draft/approve_refused_while_sending", test_approve_refused_while_sending);
    add("/draft/interrupted_approval_leaves_the_words", test_interrupted_approval_leaves_the_words);
    add("/draft/concurrent_approvals_send_once", test_concurrent_approvals_send_once);
    add("/draft/approve_busy_database_changes_nothing", test_approve_busy_database_changes_nothing);

    add("/draft/reject_with_reason", test_reject_with_reason);
    add("/draft/reject_without_reason", test_reject_without_reason);
    add("/draft/reject_missing_refused", test_reject_missing_refused);

    return g_test_run();
}
