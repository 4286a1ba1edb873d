/*
 * process_test: the specification of exactly once in lib/core/process.c and action.c: what an
 * attempt at a claimed message does after an earlier attempt was interrupted, and when its lease
 * is lost while it works.
 *
 * Each case opens a fresh database in a private temporary directory, with a configuration that
 * answers a pricing question with a reply (builtin classifier, a template of the intent's own),
 * records one message from ann@customer.test, claims it and runs process_row(). The "sendmail"
 * is a /bin/sh script in the same directory that counts its runs (one line each in "runs") and
 * saves the standard input of run N as stdin.N, so "sent once" is a count. An earlier attempt's
 * leftovers are rows written with SQL; a lease lost in the middle of an attempt is a trigger
 * that hands the message to another worker (lease_owner) at the exact step the case names, in
 * the worker's own transaction, as a claim by another process would between two steps.
 */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>
#include <sqlite3.h>

#include "config.h"
#include "db.h"
#include "lease.h"
#include "llm.h"
#include "process.h"
#include "queue.h"
#include "testdata.h"
#include "testutil.h"

#define BUSY_TIMEOUT_MS 5000
#define OWNER "host.test:1:worker 1"
#define THIEF "host.test:2:worker 9:x"

/* With a file "probe": how many actions are started and pending while sendmail runs, as
 * another process (sqlite3) reads the database. */
static const char sendmail_script[] =
    "#!/bin/sh\n"
    "dir=$(dirname \"$0\")\n"
    "echo run >> \"$dir/runs\"\n"
    "n=$(wc -l < \"$dir/runs\" | tr -d ' ')\n"
    "cat > \"$dir/stdin.$n\"\n"
    "if [ -e \"$dir/probe\" ]; then\n"
    "  sqlite3 \"$dir/mailtriage.db\" \"SELECT count(*) FROM actions WHERE state = 'pending'"
    " AND started_at IS NOT NULL\" > \"$dir/probe.out\" 2>&1\n"
    "fi\n"
    "exit 0\n";

static const char message_text[] = "From: Ann <ann@customer.test>\r\n"
                                   "To: support@example.org\r\n"
                                   "Subject: Prices\r\n"
                                   "Message-ID: <%s>\r\n"
                                   "Date: Sat, 21 Nov 2026 09:00:00 +0000\r\n"
                                   "\r\n"
                                   "What is the price of the pro plan?\r\n";

struct fixture {
    char *dir;
    char *path;
    sqlite3 *db;
    struct config *cfg;
    struct llm_client *llm;
    gint64 message;
};

static gint64 insert_message(sqlite3 *db, const char *message_id)
{
    char *raw = g_strdup_printf(message_text, message_id);
    const struct queue_new row = {
        .intake = "test",
        .mailbox = "support@example.org",
        .envelope_from = "ann@customer.test",
        .rcpts = "support@example.org",
        .message_id = message_id,
        .raw = raw,
        .raw_len = strlen(raw),
        .size = strlen(raw),
    };
    gint64 id = 0;
    char *error = NULL;
    g_assert_cmpint(queue_insert(db, &row, 1, &id, &error), ==, DB_OK);
    g_free(raw);
    return id;
}

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    fx->dir = testutil_tmpdir();
    fx->path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(fx->path, BUSY_TIMEOUT_MS, &fx->db, &error), ==, DB_OK);
    char *sendmail = g_build_filename(fx->dir, "sendmail", NULL);
    testdata_write(sendmail, sendmail_script, -1, 0755);
    char *template = g_build_filename(fx->dir, "send_info.txt", NULL);
    testdata_write(template, "Hello {{sender_name}},\n\nour prices: example.org/prices\n", -1,
                   0644);
    char *ini = g_strdup_printf("[daemon]\ndatabase = %s\nhostname = mt.example.org\n"
                                "[sendmail]\npath = %s\ntimeout = 30s\n"
                                "[mailbox support@example.org]\nname = Support\n"
                                "escalate_to = human@example.org\nintents = send_info\n"
                                "[intent send_info]\naction = reply\nkeywords = price\n"
                                "template = %s\n",
                                fx->path, sendmail, template);
    fx->cfg = testdata_config(ini);
    g_free(ini);
    g_free(template);
    g_free(sendmail);
    fx->llm = llm_client_new(NULL);
    fx->message = insert_message(fx->db, "p1@customer.test");
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    llm_client_free(fx->llm);
    config_unref(fx->cfg);
    db_close(fx->db);
    testutil_rmtree(fx->dir);
    g_free(fx->path);
    g_free(fx->dir);
}

/* Claim message ID and process it (with KEEPER, or process_row()'s own when NULL). */
static enum process_result run_with(struct fixture *fx, gint64 id, struct lease_keeper *keeper)
{
    struct queue_row *row = NULL;
    char *error = NULL;
    g_assert_cmpint(queue_claim(fx->db, OWNER, 600, id, &row, &error), ==, 1);
    struct process_context ctx = {fx->cfg, fx->db, fx->llm, OWNER, NULL, keeper};
    enum process_result result = process_row(&ctx, row);
    queue_row_free(row);
    return result;
}

static enum process_result run(struct fixture *fx)
{
    return run_with(fx, fx->message, NULL);
}

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

static char *message_text_of(const struct fixture *fx, const char *column)
{
    return testutil_db_text(fx->db, "SELECT %s FROM messages WHERE id = %" G_GINT64_FORMAT, column,
                            fx->message);
}

static void assert_message(const struct fixture *fx, const char *column, const char *expected)
{
    char *value = message_text_of(fx, column);
    g_assert_cmpstr(value, ==, expected);
    g_free(value);
}

static gint64 count(const struct fixture *fx, const char *where)
{
    return testutil_db_int(fx->db, "SELECT count(*) FROM actions WHERE %s", where);
}

/* What an earlier attempt at the message left: an action of KIND in STATE, started or not. */
static void add_earlier_action(struct fixture *fx, const char *kind, const char *state,
                               gboolean started)
{
    char *now = g_strdup_printf("%" G_GINT64_FORMAT, testutil_now());
    testutil_db_exec(fx->db,
                     "INSERT INTO actions (message, kind, reason, state, recipient,"
                     " envelope_sender, outgoing_message_id, created_at, started_at, sent_at)"
                     " VALUES (%" G_GINT64_FORMAT ", '%s', 'intent send_info: reply', '%s',"
                     " 'ann@customer.test', '', 'r-earlier@mt.example.org', %s, %s, %s)",
                     fx->message, kind, state, now, started ? now : "NULL",
                     strcmp(state, "sent") == 0 ? now : "NULL");
    g_free(now);
}

/* ---- the ordinary path ---- */

static void test_intent_started_outcome_recorded(struct fixture *fx, gconstpointer data)
{
    g_assert_cmpint(run(fx), ==, PROCESS_DONE);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
    assert_message(fx, "state", "done");
    g_assert_cmpint(count(fx, "kind = 'reply' AND state = 'sent' AND started_at IS NOT NULL"
                              " AND sent_at >= started_at AND outgoing_message_id IS NOT NULL"),
                    ==, 1);
}

/* "Started" is committed before sendmail runs: sendmail itself, another process, sees it. */
static void test_started_is_durable_before_sendmail_runs(struct fixture *fx, gconstpointer data)
{
    char *sqlite3_program = g_find_program_in_path("sqlite3");
    if (sqlite3_program == NULL) {
        g_test_skip("no sqlite3 program to look from another process");
        return;
    }
    g_free(sqlite3_program);
    char *probe = testutil_write(fx->dir, "probe", "");
    g_assert_cmpint(run(fx), ==, PROCESS_DONE);
    char *out_path = g_build_filename(fx->dir, "probe.out", NULL);
    char *seen = testdata_read(out_path, NULL);
    g_assert_cmpstr(seen, ==, "1\n");
    g_free(seen);
    g_free(out_path);
    g_free(probe);
}

/* ---- what an interrupted attempt left ---- */

/* Started and never finished: it may have gone out. Held, named, nothing sent; a person's
 * retry sends it again. */
static void test_unknown_outcome_is_held_and_named(struct fixture *fx, gconstpointer data)
{
    add_earlier_action(fx, "reply", "pending", TRUE);

    g_assert_cmpint(run(fx), ==, PROCESS_HELD);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);
    assert_message(fx, "state", "held");
    char *reason = message_text_of(fx, "last_error");
    g_assert_true(testdata_contains(reason, "outcome unknown: the reply to <ann@customer.test> "
                                            "message-id <r-earlier@mt.example.org> was handed to "
                                            "sendmail at "));
    g_assert_true(testdata_contains(reason, "may have gone out. Look for "
                                            "message-id=<r-earlier@mt.example.org> in the mail "
                                            "log; if it is not there, "));
    char *retry =
        g_strdup_printf("mailtriagectl retry %" G_GINT64_FORMAT " sends it again", fx->message);
    g_assert_true(testdata_contains(reason, retry));
    g_free(retry);
    char *event = testutil_db_text(fx->db, "SELECT text FROM events WHERE level = 'error'");
    g_assert_true(g_str_has_prefix(event, "held for a person: outcome unknown: the reply to"));
    g_free(event);
    g_free(reason);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM classifications"), ==, 0);

    /* Claimed again without a decision, it is still held: never sent blindly. */
    char *error = NULL;
    testutil_db_exec(fx->db, "UPDATE messages SET state = 'queued'");
    g_assert_cmpint(run(fx), ==, PROCESS_HELD);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);

    g_assert_cmpint(queue_retry_now(fx->db, fx->message, "ann", &error), ==, DB_OK);
    g_assert_cmpint(run(fx), ==, PROCESS_DONE);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
    g_assert_cmpint(count(fx, "state = 'failed' AND error = 'outcome unknown; sent again: retry by "
                              "ann'"),
                    ==, 1);
    g_assert_cmpint(count(fx, "state = 'sent'"), ==, 1);
}

/* Recorded and never started: nothing went out, so it is sent now, once. */
static void test_intent_never_started_is_sent_afresh(struct fixture *fx, gconstpointer data)
{
    add_earlier_action(fx, "reply", "pending", FALSE);

    g_assert_cmpint(run(fx), ==, PROCESS_DONE);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
    g_assert_cmpint(count(fx, "state = 'failed' AND error LIKE 'not started:%%'"), ==, 1);
    g_assert_cmpint(count(fx, "state = 'sent'"), ==, 1);
}

/* A reply that went out in an earlier attempt (which stopped before the message was marked
 * done) is neither sent again nor counted against the message: it is not escalated as "the
 * sender had an automatic reply within reply_interval". Another message of the sender is. */
static void test_own_reply_does_not_count_against_a_retry(struct fixture *fx, gconstpointer data)
{
    add_earlier_action(fx, "reply", "sent", TRUE);

    g_assert_cmpint(run(fx), ==, PROCESS_DONE);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);
    g_assert_cmpint(count(fx, "kind = 'escalate'"), ==, 0);

    gint64 next = insert_message(fx->db, "p2@customer.test");
    g_assert_cmpint(run_with(fx, next, NULL), ==, PROCESS_DONE);
    g_assert_cmpint(count(fx, "kind = 'escalate' AND state = 'sent' AND reason LIKE '%%"
                              "reply_interval%%'"),
                    ==, 1);
}

/* ---- mailbox mode shadow ---- */

/* The mailbox in mode shadow, its intent send_info with ACTION. */
static void make_shadow(struct fixture *fx, enum config_action action)
{
    struct config_mailbox *mailbox =
        (struct config_mailbox *)config_mailbox_find(fx->cfg, "support@example.org");
    mailbox->mode = CONFIG_MODE_SHADOW;
    struct config_intent *intent = (struct config_intent *)config_intent_find(fx->cfg, "send_info");
    intent->action = action;
    g_free(intent->webhook_url);
    /* Nothing listens on the discard port: a POST would fail and defer the message. */
    intent->webhook_url = g_strdup("http://127.0.0.1:9/hook");
}

/* The reply auto would send is composed and kept, and sendmail never runs; a shadow reply is
 * not one the reply interval counts, so the sender's next message gets one too. */
static void test_shadow_reply_is_recorded_not_sent(struct fixture *fx, gconstpointer data)
{
    make_shadow(fx, CONFIG_ACTION_REPLY);
    g_assert_cmpint(run(fx), ==, PROCESS_DONE);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);
    assert_message(fx, "state", "done");
    g_assert_cmpint(count(fx, "1"), ==, 1);
    g_assert_cmpint(count(fx, "kind = 'reply' AND state = 'skipped' AND shadow = 1 AND"
                              " recipient = 'ann@customer.test' AND envelope_sender = '' AND"
                              " outgoing_message_id LIKE '%%@mt.example.org' AND started_at IS NULL"
                              " AND sent_at IS NULL"),
                    ==, 1);
    char *text = testutil_db_text(fx->db, "SELECT CAST(shadow_text AS TEXT) FROM actions");
    g_assert_true(testdata_contains(text, "To: ann@customer.test"));
    g_assert_true(testdata_contains(text, "Subject: Re: Prices"));
    g_assert_true(testdata_contains(text, "Auto-Submitted: auto-replied"));
    g_assert_true(testdata_contains(text, "our prices: example.org/prices"));
    char *id = testutil_db_text(fx->db, "SELECT outgoing_message_id FROM actions");
    char *header = g_strdup_printf("<%s>", id);
    g_assert_true(testdata_contains(text, header));
    g_free(header);
    g_free(id);
    g_free(text);

    gint64 next = insert_message(fx->db, "p2@customer.test");
    g_assert_cmpint(run_with(fx, next, NULL), ==, PROCESS_DONE);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);
    g_assert_cmpint(count(fx, "kind = 'reply' AND shadow = 1"), ==, 2);
    g_assert_cmpint(count(fx, "kind = 'escalate'"), ==, 0);
}

/* A shadow draft stores no draft (an approval would send it) and sends no proposal. */
static void test_shadow_draft_stores_no_draft(struct fixture *fx, gconstpointer data)
{
    make_shadow(fx, CONFIG_ACTION_DRAFT);
    g_assert_cmpint(run(fx), ==, PROCESS_DONE);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM drafts"), ==, 0);
    g_assert_cmpint(count(fx, "kind = 'draft' AND shadow = 1 AND recipient = 'human@example.org'"),
                    ==, 1);
    char *text = testutil_db_text(fx->db, "SELECT CAST(shadow_text AS TEXT) FROM actions");
    g_assert_true(testdata_contains(text, "our prices: example.org/prices"));
    g_free(text);
}

/* Escalations and webhooks are shadowed too: nothing leaves. */
static void test_shadow_escalation_and_webhook(struct fixture *fx, gconstpointer data)
{
    make_shadow(fx, CONFIG_ACTION_ESCALATE);
    g_assert_cmpint(run(fx), ==, PROCESS_DONE);
    g_assert_cmpint(count(fx, "kind = 'escalate' AND shadow = 1 AND recipient ="
                              " 'human@example.org' AND shadow_text IS NOT NULL"),
                    ==, 1);
    make_shadow(fx, CONFIG_ACTION_WEBHOOK);
    gint64 next = insert_message(fx->db, "p2@customer.test");
    g_assert_cmpint(run_with(fx, next, NULL), ==, PROCESS_DONE);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);
    char *body = testutil_db_text(fx->db, "SELECT CAST(shadow_text AS TEXT) FROM actions WHERE"
                                          " kind = 'webhook' AND shadow = 1 AND recipient ="
                                          " 'http://127.0.0.1:9/hook'");
    g_assert_true(testdata_contains(body, "\"intent\":\"send_info\""));
    g_free(body);
}

/* ---- a lease lost while the worker works ---- */

/* Another worker takes the message at the moment EVENT_ON ("INSERT ON table") happens. */
static void steal_lease_on(struct fixture *fx, const char *event_on)
{
    testutil_db_exec(fx->db,
                     "CREATE TRIGGER steal AFTER %s BEGIN UPDATE messages SET"
                     " lease_owner = '" THIEF "' WHERE id = NEW.message; END",
                     event_on);
}

/* Lost while it classified: nothing is sent or recorded after that, and the other worker's
 * claim is left alone. */
static void test_lease_lost_before_sending_sends_nothing(struct fixture *fx, gconstpointer data)
{
    steal_lease_on(fx, "INSERT ON classifications");

    g_assert_cmpint(run(fx), ==, PROCESS_LOST);
    g_assert_cmpint(sendmail_runs(fx), ==, 0);
    g_assert_cmpint(count(fx, "1"), ==, 0);
    assert_message(fx, "state", "working");
    assert_message(fx, "lease_owner", THIEF);
}

/* Lost while sendmail ran: the mail went out (the lease was checked just before), recording it
 * is refused, and the attempt that has the message then holds it, naming that very mail. */
static void test_lease_lost_during_sendmail_then_held(struct fixture *fx, gconstpointer data)
{
    steal_lease_on(fx, "UPDATE OF started_at ON actions");

    g_assert_cmpint(run(fx), ==, PROCESS_LOST);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
    g_assert_cmpint(count(fx, "state = 'pending' AND started_at IS NOT NULL"), ==, 1);
    assert_message(fx, "lease_owner", THIEF);

    /* The other worker dies in its turn; the next claim settles the message. */
    testutil_db_exec(fx->db, "DROP TRIGGER steal");
    testutil_db_exec(fx->db, "UPDATE messages SET lease_until = 1");
    gint64 recovered = 0;
    char *error = NULL;
    g_assert_cmpint(queue_recover_expired(fx->db, 10, &recovered, &error), ==, DB_OK);
    g_assert_cmpint(run(fx), ==, PROCESS_HELD);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
    char *id = testutil_db_text(fx->db, "SELECT outgoing_message_id FROM actions");
    char *sent_path = g_build_filename(fx->dir, "stdin.1", NULL);
    char *sent = testdata_read(sent_path, NULL);
    char *header = g_strdup_printf("<%s>", id);
    g_assert_true(testdata_contains(sent, header));
    char *named = g_strdup_printf("message-id=<%s>", id);
    char *reason = message_text_of(fx, "last_error");
    g_assert_true(testdata_contains(reason, named));
    g_free(reason);
    g_free(named);
    g_free(header);
    g_free(sent);
    g_free(sent_path);
    g_free(id);
}

/* The daemon's shared keeper serves as well as process_row()'s own. */
static void test_shared_keeper(struct fixture *fx, gconstpointer data)
{
    struct lease_keeper *keeper = lease_keeper_start(fx->path, BUSY_TIMEOUT_MS);
    g_assert_cmpint(run_with(fx, fx->message, keeper), ==, PROCESS_DONE);
    lease_keeper_stop(keeper);
    g_assert_cmpint(sendmail_runs(fx), ==, 1);
}

static void add(const char *path, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, NULL, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_mime_init();
    add("/process/intent_started_outcome_recorded", test_intent_started_outcome_recorded);
    add("/process/started_is_durable_before_sendmail_runs",
        test_started_is_durable_before_sendmail_runs);
    add("/process/unknown_outcome_is_held_and_named", test_unknown_outcome_is_held_and_named);
    add("/process/intent_never_started_is_sent_afresh", test_intent_never_started_is_sent_afresh);
    add("/process/own_reply_does_not_count_against_a_retry",
        test_own_reply_does_not_count_against_a_retry);
    add("/process/lease_lost_before_sending_sends_nothing",
        test_lease_lost_before_sending_sends_nothing);
    add("/process/lease_lost_during_sendmail_then_held", test_lease_lost_during_sendmail_then_held);
    add("/process/shared_keeper", test_shared_keeper);
    add("/process/shadow/reply_is_recorded_not_sent", test_shadow_reply_is_recorded_not_sent);
    add("/process/shadow/draft_stores_no_draft", test_shadow_draft_stores_no_draft);
    add("/process/shadow/escalation_and_webhook", test_shadow_escalation_and_webhook);
    return g_test_run();
}
