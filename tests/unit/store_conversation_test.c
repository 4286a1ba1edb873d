/*
 * store_conversation_test: threading, history and takeover on a real SQLite file.
 *
 * Each case opens a fresh database, records messages of ann@customer.test to
 * support@example.org with queue_insert(), claims each and makes it join its conversation with
 * conversation_join() as a worker does, sends "replies" with conversation_join_reply(), and
 * checks the conversations (with SQL and store_conversation_show()), the history the model gets
 * (conversation_history()), staff messages folded (staff_fold_pending(), staff_note()) and
 * what retention and forget remove (store_purge.h). The clock is set per case.
 */
#include <string.h>

#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "clock.h"
#include "config.h"
#include "context.h"
#include "conversation.h"
#include "conversation_history.h"
#include "conversation_join.h"
#include "db.h"
#include "mime.h"
#include "queue.h"
#include "staff.h"
#include "store_conversation.h"
#include "store_purge.h"
#include "store_staff.h"
#include "testdata.h"
#include "testutil.h"

#define ANN "ann@customer.test"
#define T0 ((gint64)1700000000)
#define DAY ((gint64)86400)

struct fixture {
    char *dir;
    sqlite3 *db;
    struct config *cfg;        /* thread_by_subject off */
    struct config *by_subject; /* on, thread_window 7d */
};

static const char config_ini[] = "[mailbox support@example.org]\nescalate_to = human@example.org\n"
                                 "[mailbox sales@example.org]\nescalate_to = human@example.org\n"
                                 "[policy]\nstaff_addresses = bob@example.org\n";

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    clock_set_for_tests(T0 * G_USEC_PER_SEC);
    fx->dir = testutil_tmpdir();
    char *path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(path, 5000, &fx->db, &error), ==, DB_OK);
    g_free(path);
    fx->cfg = testdata_config(config_ini);
    char *ini = g_strconcat(config_ini, "thread_by_subject = yes\nthread_window = 7d\n", NULL);
    fx->by_subject = testdata_config(ini);
    g_free(ini);
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    config_unref(fx->cfg);
    config_unref(fx->by_subject);
    db_close(fx->db);
    testutil_rmtree(fx->dir);
    g_free(fx->dir);
    clock_set_for_tests(0);
}

static void at(gint64 seconds)
{
    clock_set_for_tests(seconds * G_USEC_PER_SEC);
}

/* A message of FROM to MAILBOX: its headers (Message-ID <ID>, Subject, then HEADERS) and TEXT
 * with a quote under it. */
static char *mail(const char *from, const char *id, const char *subject, const char *headers,
                  const char *text)
{
    return g_strdup_printf("From: %s\nTo: support@example.org\nSubject: %s\nMessage-ID: <%s>\n%s"
                           "\n%s\n\nOn Monday, Support wrote:\n> what was said before\n",
                           from, subject, id, headers, text);
}

/* Record RAW from FROM to MAILBOX, claim it and let it join as a worker does under CFG; when
 * REPLY_ID is set, a reply with that Message-ID "goes out" in the same claim. Returns the
 * conversation; *MESSAGE_R (may be NULL) is the message's id. */
static gint64 deliver_to(struct fixture *fx, const struct config *cfg, const char *mailbox,
                         const char *from, const char *raw, const char *reply_id, gint64 *message_r)
{
    const struct queue_new row = {
        .intake = "test",
        .mailbox = mailbox,
        .envelope_from = from,
        .rcpts = mailbox,
        .raw = raw,
        .raw_len = strlen(raw),
        .size = strlen(raw),
    };
    gint64 id = 0;
    char *error = NULL;
    g_assert_cmpint(queue_insert(fx->db, &row, 1, &id, &error), ==, DB_OK);
    struct queue_row *claim = NULL;
    g_assert_cmpint(queue_claim(fx->db, "test", 600, id, &claim, &error), ==, 1);
    struct mime_message *msg = testdata_message(raw);
    struct context context = {0};
    g_assert_cmpint(conversation_join(fx->db, cfg, claim, msg, &context, &error), ==, DB_OK);
    g_assert_null(error);
    if (reply_id != NULL) {
        char *reply = g_strdup_printf("From: %s\nTo: %s\nSubject: Re: x\nMessage-ID: <%s>\n\n"
                                      "Hello, the answer to message %" G_GINT64_FORMAT ".\n",
                                      mailbox, from, reply_id, id);
        conversation_join_reply(fx->db, claim, mailbox, reply, strlen(reply), reply_id, NULL);
        g_free(reply);
    }
    g_assert_cmpint(queue_complete(fx->db, claim, &error), ==, DB_OK);
    mime_message_free(msg);
    queue_row_free(claim);
    g_assert_cmpint(context.conversation, >, 0);
    g_assert_cmpint(
        testutil_db_int(fx->db, "SELECT conversation FROM messages WHERE id = %" G_GINT64_FORMAT,
                        id),
        ==, context.conversation);
    if (message_r != NULL)
        *message_r = id;
    return context.conversation;
}

static gint64 deliver(struct fixture *fx, const char *raw, const char *reply_id)
{
    return deliver_to(fx, fx->cfg, "support@example.org", ANN, raw, reply_id, NULL);
}

/* The roles of conversation ID's entries, in order, as "user assistant ...". */
static char *roles(sqlite3 *db, gint64 id)
{
    return testutil_db_text(db,
                            "SELECT coalesce(group_concat(role, ' '), '') FROM (SELECT role FROM"
                            " conversation_messages WHERE conversation = %" G_GINT64_FORMAT
                            " ORDER BY created_at, id)",
                            id);
}

static void assert_roles(sqlite3 *db, gint64 id, const char *expected)
{
    char *found = roles(db, id);
    g_assert_cmpstr(found, ==, expected);
    g_free(found);
}

/* ---- threading ---- */

static void test_in_reply_to_our_reply(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail("Ann <" ANN ">", "m1@customer.test", "Prices", "", "How much is it?");
    gint64 c1 = deliver(fx, m1, "r1@example.org");
    at(T0 + 60);
    char *m2 = mail(ANN, "m2@customer.test", "Re: Prices", "In-Reply-To: <r1@example.org>\n",
                    "And the pro plan?");
    g_assert_cmpint(deliver(fx, m2, NULL), ==, c1);
    assert_roles(fx->db, c1, "user assistant user");
    char *text =
        testutil_db_text(fx->db, "SELECT text FROM conversation_messages WHERE message_id ="
                                 " 'm2@customer.test'");
    g_assert_cmpstr(text, ==, "And the pro plan?"); /* the quote is not history */
    g_free(text);
    char *author = testutil_db_text(fx->db, "SELECT author FROM conversation_messages WHERE"
                                            " message_id = 'r1@example.org'");
    g_assert_cmpstr(author, ==, "support@example.org");
    g_free(author);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM conversations"), ==, 1);
    g_free(m1);
    g_free(m2);
}

static void test_references_to_their_message(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 c1 = deliver(fx, m1, NULL);
    /* Only References, the one we know in the middle of ids we do not. */
    char *m2 =
        mail(ANN, "m2@customer.test", "Other words",
             "References: <old@customer.test> <m1@customer.test> <x@elsewhere>\n", "Following up.");
    g_assert_cmpint(deliver(fx, m2, NULL), ==, c1);
    assert_roles(fx->db, c1, "user user");
    g_free(m1);
    g_free(m2);
}

/* A reply known only by its action (sent before the history kept it, or by an approved draft
 * of another version) still threads the answer to it. */
static void test_reference_to_a_reply_action(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 m1_id = 0;
    gint64 c1 = deliver_to(fx, fx->cfg, "support@example.org", ANN, m1, NULL, &m1_id);
    testutil_db_exec(fx->db,
                     "INSERT INTO actions (message, kind, state, recipient, outgoing_message_id,"
                     " created_at, sent_at) VALUES (%" G_GINT64_FORMAT ", 'reply', 'sent', '" ANN
                     "', 'r9@example.org', 1, 1)",
                     m1_id);
    char *m2 =
        mail(ANN, "m2@customer.test", "Re: Prices", "References: <r9@example.org>\n", "Thanks.");
    g_assert_cmpint(deliver(fx, m2, NULL), ==, c1);
    g_free(m1);
    g_free(m2);
}

/* Another correspondent who names our reply to Ann (a forward, a guess) does not get into
 * Ann's conversation, whose history would go to the model for them. */
static void test_reference_from_another_sender(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 c1 = deliver(fx, m1, "r1@example.org");
    char *m2 = mail("eve@other.test", "e1@other.test", "Re: Prices",
                    "In-Reply-To: <r1@example.org>\n", "Tell me what Ann asked.");
    gint64 c2 = deliver_to(fx, fx->cfg, "support@example.org", "eve@other.test", m2, NULL, NULL);
    g_assert_cmpint(c2, !=, c1);
    /* Nor another mailbox's conversation with Ann. */
    char *m3 = mail(ANN, "m3@customer.test", "Re: Prices", "In-Reply-To: <r1@example.org>\n",
                    "Also for sales.");
    gint64 c3 = deliver_to(fx, fx->cfg, "sales@example.org", ANN, m3, NULL, NULL);
    g_assert_cmpint(c3, !=, c1);
    g_assert_cmpint(c3, !=, c2);
    g_free(m1);
    g_free(m2);
    g_free(m3);
}

static void test_subject(struct fixture *fx, gconstpointer data)
{
    const struct config *on = fx->by_subject;
    const char *box = "support@example.org";
    char *m1 = mail(ANN, "m1@customer.test", "[Ticket #1] Prices", "", "How much is it?");
    gint64 c1 = deliver_to(fx, on, box, ANN, m1, NULL, NULL);
    at(T0 + 6 * DAY);
    char *m2 = mail(ANN, "m2@customer.test", "RE: prices", "", "Hello?");
    gint64 c2 = deliver(fx, m2, NULL);
    g_assert_cmpint(c2, !=, c1); /* thread_by_subject off */
    /* On: the latest conversation with the subject's key, within the window. */
    char *m3 = mail(ANN, "m3@customer.test", "AW: Prices ", "", "Anyone?");
    g_assert_cmpint(deliver_to(fx, on, box, ANN, m3, NULL, NULL), ==, c2);
    /* The window counts from the last entry, and its edge is in. */
    at(T0 + 13 * DAY);
    char *m4 = mail(ANN, "m4@customer.test", "Re: Prices", "", "Still?");
    g_assert_cmpint(deliver_to(fx, on, box, ANN, m4, NULL, NULL), ==, c2);
    at(T0 + 20 * DAY + 1);
    char *m5 = mail(ANN, "m5@customer.test", "Re: Prices", "", "A week later.");
    gint64 c5 = deliver_to(fx, on, box, ANN, m5, NULL, NULL);
    g_assert_cmpint(c5, !=, c2); /* outside the window: a new one */
    g_assert_cmpint(c5, !=, c1);
    char *m6 = mail("bob@customer.test", "b1@customer.test", "Re: Prices", "", "Me too.");
    g_assert_cmpint(deliver_to(fx, on, box, "bob@customer.test", m6, NULL, NULL), !=, c5);
    char *s1 = mail(ANN, "s1@customer.test", "Re:", "", "no subject");
    char *s2 = mail(ANN, "s2@customer.test", "", "", "no subject either");
    gint64 e1 = deliver_to(fx, on, box, ANN, s1, NULL, NULL);
    /* "No subject" is no common subject. */
    g_assert_cmpint(deliver_to(fx, on, box, ANN, s2, NULL, NULL), !=, e1);
    char *subject = testutil_db_text(fx->db,
                                     "SELECT subject || '|' || subject_key FROM conversations"
                                     " WHERE id = %" G_GINT64_FORMAT,
                                     c1);
    g_assert_cmpstr(subject, ==, "[Ticket #1] Prices|prices"); /* the subject as first seen */
    g_free(subject);
    g_free(m1);
    g_free(m2);
    g_free(m3);
    g_free(m4);
    g_free(m5);
    g_free(m6);
    g_free(s1);
    g_free(s2);
}

/* A retried message keeps its conversation and its entry is there once. */
static void test_join_is_idempotent(struct fixture *fx, gconstpointer data)
{
    char *raw = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 id = 0;
    gint64 c1 = deliver_to(fx, fx->cfg, "support@example.org", ANN, raw, NULL, &id);
    testutil_db_exec(fx->db, "UPDATE messages SET state = 'queued' WHERE id = %" G_GINT64_FORMAT,
                     id);
    /* A conversation created later, which the message's References would name, changes
     * nothing either. */
    struct queue_row *claim = NULL;
    char *error = NULL;
    g_assert_cmpint(queue_claim(fx->db, "test", 600, id, &claim, &error), ==, 1);
    struct mime_message *msg = testdata_message(raw);
    struct context context = {0};
    testutil_db_exec(fx->db,
                     "UPDATE conversations SET status = 'human' WHERE id = %" G_GINT64_FORMAT, c1);
    g_assert_cmpint(conversation_join(fx->db, fx->cfg, claim, msg, &context, &error), ==, DB_OK);
    g_assert_cmpint(context.conversation, ==, c1);
    g_assert_cmpint(context.conversation_status, ==, CONVERSATION_HUMAN);
    assert_roles(fx->db, c1, "user");
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM conversations"), ==, 1);
    /* A reply recorded twice (an attempt that retried) is one entry. */
    static const char reply[] = "From: support@example.org\nMessage-ID: <r1@example.org>\n\nHi\n";
    conversation_join_reply(fx->db, claim, "support@example.org", reply, strlen(reply),
                            "r1@example.org", NULL);
    conversation_join_reply(fx->db, claim, "support@example.org", reply, strlen(reply),
                            "r1@example.org", NULL);
    assert_roles(fx->db, c1, "user assistant");
    queue_row_free(claim);
    mime_message_free(msg);
    g_free(raw);
}

/* ---- the history for the model ---- */

/* Conversation of five entries a minute apart: u1 a1 u2 a2 u3, the texts their names. */
static gint64 five_entries(struct fixture *fx, gint64 *last_r)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "u1");
    gint64 c = deliver(fx, m1, "a1@example.org");
    at(T0 + 60);
    char *m2 = mail(ANN, "m2@customer.test", "Re", "In-Reply-To: <a1@example.org>\n", "u2");
    g_assert_cmpint(deliver(fx, m2, "a2@example.org"), ==, c);
    at(T0 + 120);
    char *m3 = mail(ANN, "m3@customer.test", "Re", "In-Reply-To: <a2@example.org>\n", "u3");
    g_assert_cmpint(deliver_to(fx, fx->cfg, "support@example.org", ANN, m3, NULL, last_r), ==, c);
    g_free(m1);
    g_free(m2);
    g_free(m3);
    return c;
}

/* The history as "role:first word ..." */
static char *history(struct fixture *fx, gint64 c, gint64 except, guint max, size_t chars)
{
    GPtrArray *entries = NULL;
    char *error = NULL;
    g_assert_cmpint(conversation_history(fx->db, c, except, max, chars, &entries, &error), ==,
                    DB_OK);
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < entries->len; i++) {
        const struct conversation_entry *e = g_ptr_array_index(entries, i);
        char **words = g_strsplit(e->text, " ", 2);
        g_string_append_printf(out, "%s%s:%s", i > 0 ? " " : "", conversation_role_name(e->role),
                               words[0]);
        g_strfreev(words);
    }
    g_ptr_array_unref(entries);
    return g_string_free(out, FALSE);
}

static void assert_history(struct fixture *fx, gint64 c, gint64 except, guint max, size_t chars,
                           const char *expected)
{
    char *found = history(fx, c, except, max, chars);
    g_assert_cmpstr(found, ==, expected);
    g_free(found);
}

static void test_history(struct fixture *fx, gconstpointer data)
{
    gint64 last = 0;
    gint64 c = five_entries(fx, &last);
    /* Oldest first, the message being processed left out (the caller puts it last). */
    assert_history(fx, c, last, 10, 100000, "user:u1 assistant:Hello, user:u2 assistant:Hello,");
    assert_history(fx, c, 0, 10, 100000,
                   "user:u1 assistant:Hello, user:u2 assistant:Hello, user:u3");
    /* At most N messages: the newest. */
    assert_history(fx, c, last, 2, 100000, "user:u2 assistant:Hello,");
    assert_history(fx, c, last, 0, 100000, "");
    /* At most N characters in all: the newest that fit; an entry that does not fit ends it. */
    size_t reply_chars = strlen("Hello, the answer to message 2.");
    assert_history(fx, c, last, 10, reply_chars + 2, "user:u2 assistant:Hello,");
    assert_history(fx, c, last, 10, reply_chars + 1, "assistant:Hello,");
    assert_history(fx, c, last, 10, reply_chars - 1, "");
    /* A person's words are part of it, as what the site said. */
    static const char note[] = "From: bob@example.org\nMessage-ID: <n1@example.org>\n\nI call.\n";
    at(T0 + 180);
    char *error = NULL;
    g_assert_cmpint(staff_note(fx->db, c, note, strlen(note), "root", &error), ==, DB_OK);
    assert_history(fx, c, 0, 3, 100000, "assistant:Hello, user:u3 human:I");
    /* Text removed by retention is no history. */
    testutil_db_exec(fx->db, "UPDATE conversation_messages SET text = '' WHERE role = 'human'");
    assert_history(fx, c, 0, 3, 100000, "user:u2 assistant:Hello, user:u3");
    /* No conversation: nothing. */
    assert_history(fx, 0, 0, 10, 100000, "");
}

/* ---- takeover ---- */

static gint64 record_staff(struct fixture *fx, const char *from, const char *rcpt, const char *raw)
{
    const struct store_staff_new row = {.envelope_from = from,
                                        .rcpts = rcpt,
                                        .received_at = clock_now(),
                                        .raw = raw,
                                        .raw_len = strlen(raw),
                                        .size = strlen(raw)};
    gint64 id = 0;
    char *error = NULL;
    g_assert_cmpint(store_staff_add(fx->db, &row, &id, &error), ==, DB_OK);
    return id;
}

static void fold(struct fixture *fx, const struct config *cfg, guint expected)
{
    guint folded = 0;
    char *error = NULL;
    g_assert_cmpint(staff_fold_pending(fx->db, cfg, 10, &folded, &error), ==, DB_OK);
    g_assert_cmpuint(folded, ==, expected);
}

static void test_staff_by_reference(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 c1 = deliver(fx, m1, "r1@example.org");
    at(T0 + 60);
    gint64 s = record_staff(fx, "bob@example.org", "Ann@Customer.Test",
                            "From: Bob <bob@example.org>\nTo: ann@customer.test\n"
                            "Subject: Re: Prices\nMessage-ID: <b1@example.org>\n"
                            "In-Reply-To: <m1@customer.test>\n\nI will call you.\n\n"
                            "> How much is it?\n");
    fold(fx, fx->cfg, 1);
    fold(fx, fx->cfg, 0); /* folded once */
    assert_roles(fx->db, c1, "user assistant human");
    char *status = testutil_db_text(
        fx->db, "SELECT status FROM conversations WHERE id = %" G_GINT64_FORMAT, c1);
    g_assert_cmpstr(status, ==, "human");
    g_free(status);
    g_assert_cmpint(
        testutil_db_int(fx->db,
                        "SELECT conversation FROM staff_messages WHERE id = %" G_GINT64_FORMAT
                        " AND processed_at IS NOT NULL AND error IS NULL",
                        s),
        ==, c1);
    char *text = testutil_db_text(fx->db, "SELECT author || '|' || text FROM conversation_messages"
                                          " WHERE role = 'human'");
    g_assert_cmpstr(text, ==, "bob@example.org|I will call you.");
    g_free(text);
    /* The customer's next message, which answers the person, joins and sees it. */
    char *m2 = mail(ANN, "m2@customer.test", "Re: Prices", "In-Reply-To: <b1@example.org>\n",
                    "Thanks Bob.");
    g_assert_cmpint(deliver(fx, m2, NULL), ==, c1);
    g_free(m1);
    g_free(m2);
}

static void test_staff_by_subject(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 c1 = deliver(fx, m1, NULL);
    at(T0 + DAY);
    /* The mailbox itself writes, with no reference: same mailbox, counterpart and subject. */
    record_staff(fx, "support@example.org", "ann@customer.test",
                 "From: support@example.org\nSubject: RE: Prices\n\nCall me.\n");
    fold(fx, fx->cfg, 1);
    assert_roles(fx->db, c1, "user human");
    /* Past thread_window (30 days by default) the subject finds nothing. */
    at(T0 + DAY + 31 * DAY);
    gint64 late = record_staff(fx, "support@example.org", "ann@customer.test",
                               "From: support@example.org\nSubject: RE: Prices\n\nStill?\n");
    /* Nor does a subject of another conversation, nor a recipient who is none of them. */
    gint64 other = record_staff(fx, "bob@example.org", "carl@customer.test",
                                "From: bob@example.org\nSubject: Prices\n\nHi Carl.\n");
    fold(fx, fx->cfg, 2);
    assert_roles(fx->db, c1, "user human");
    for (gint64 id = late; id <= other; id++)
        g_assert_cmpint(
            testutil_db_int(fx->db,
                            "SELECT count(*) FROM staff_messages WHERE id = %" G_GINT64_FORMAT
                            " AND conversation IS NULL AND processed_at IS NOT NULL"
                            " AND error LIKE 'it matches no conversation%%'",
                            id),
            ==, 1);
    g_free(m1);
}

static void test_staff_note(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 c1 = deliver(fx, m1, NULL);
    char *error = NULL;
    static const char note[] = "Subject: call\n\nCalled her: she takes the pro plan.\n";
    g_assert_cmpint(staff_note(fx->db, c1, note, strlen(note), "root (sudo alice)", &error), ==,
                    DB_OK);
    char *text = testutil_db_text(fx->db, "SELECT author || '|' || text FROM conversation_messages"
                                          " WHERE role = 'human'");
    g_assert_cmpstr(text, ==, "root (sudo alice)|Called her: she takes the pro plan.");
    g_free(text);
    g_assert_cmpint(testutil_db_int(fx->db,
                                    "SELECT count(*) FROM events WHERE conversation ="
                                    " %" G_GINT64_FORMAT " AND text LIKE 'note by root%%'",
                                    c1),
                    ==, 1);
    g_assert_cmpint(staff_note(fx->db, c1 + 1, note, strlen(note), "root", &error), ==, DB_ERROR);
    g_assert_cmpstr(error, ==, "no conversation 2");
    g_free(error);
    g_free(m1);
}

static void test_stop_resume(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 c1 = deliver(fx, m1, NULL);
    enum conversation_status old = CONVERSATION_HUMAN;
    char *error = NULL;
    g_assert_cmpint(
        store_conversation_decide(fx->db, c1, CONVERSATION_STOPPED, "root", &old, &error), ==, 1);
    g_assert_cmpint(old, ==, CONVERSATION_ACTIVE);
    char *m2 =
        mail(ANN, "m2@customer.test", "Re: Prices", "References: <m1@customer.test>\n", "Hello?");
    gint64 id = 0;
    g_assert_cmpint(deliver_to(fx, fx->cfg, "support@example.org", ANN, m2, NULL, &id), ==, c1);
    g_assert_cmpint(
        store_conversation_decide(fx->db, c1, CONVERSATION_ACTIVE, "root", &old, &error), ==, 1);
    g_assert_cmpint(old, ==, CONVERSATION_STOPPED);
    g_assert_cmpint(
        store_conversation_decide(fx->db, 99, CONVERSATION_ACTIVE, "root", &old, &error), ==, 0);
    json_object *shown = NULL;
    g_assert_cmpint(store_conversation_show(fx->db, c1, &shown, &error), ==, 1);
    json_object *events = json_object_object_get(shown, "events");
    g_assert_cmpuint(json_object_array_length(events), ==, 2);
    g_assert_cmpstr(json_object_get_string(
                        json_object_object_get(json_object_array_get_idx(events, 0), "text")),
                    ==,
                    "stopped by root: no automatic reply until mailtriagectl conversation resume");
    json_object_put(shown);
    g_free(m1);
    g_free(m2);
}

/* ---- retention and forget ---- */

static void test_retention(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 c1 = deliver(fx, m1, "r1@example.org");
    char *error = NULL;
    static const char note[] = "From: bob@example.org\n\nCalled.\n";
    g_assert_cmpint(staff_note(fx->db, c1, note, strlen(note), "root", &error), ==, DB_OK);
    at(T0 + 10 * DAY);
    char *m2 = mail("carl@customer.test", "c1@customer.test", "Hello", "", "Carl here.");
    gint64 c2 =
        deliver_to(fx, fx->cfg, "support@example.org", "carl@customer.test", m2, NULL, NULL);
    char *m3 = mail(ANN, "m3@customer.test", "Re: Prices", "In-Reply-To: <r1@example.org>\n",
                    "Ann again.");
    g_assert_cmpint(deliver(fx, m3, NULL), ==, c1);
    at(T0 + 20 * DAY);
    struct store_purge_counts n = {0};
    /* The text first: Ann's first message, our reply to it and the note are 10 days old. */
    g_assert_cmpint(store_purge_bodies(fx->db, T0 + 5 * DAY, 100, &n, &error), ==, DB_OK);
    g_assert_cmpint(n.entries, ==, 3);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM conversation_messages"
                                            " WHERE text = ''"),
                    ==, 3);
    /* Then the rows: conversation 1 keeps its newer message, and so lives on. */
    n = (struct store_purge_counts){0};
    g_assert_cmpint(store_purge_rows(fx->db, T0 + 5 * DAY, 100, &n, &error), ==, DB_OK);
    g_assert_cmpint(n.messages, ==, 1);
    g_assert_cmpint(n.conversations, ==, 0);
    assert_roles(fx->db, c1, "user");
    /* All of it: both conversations go with their last messages. */
    n = (struct store_purge_counts){0};
    g_assert_cmpint(store_purge_rows(fx->db, T0 + 15 * DAY, 100, &n, &error), ==, DB_OK);
    g_assert_cmpint(n.messages, ==, 2);
    g_assert_cmpint(n.conversations, ==, 2);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM conversations"), ==, 0);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM conversation_messages"), ==, 0);
    g_assert_cmpint(c2, !=, c1);
    g_free(m1);
    g_free(m2);
    g_free(m3);
}

static void test_forget(struct fixture *fx, gconstpointer data)
{
    char *m1 = mail(ANN, "m1@customer.test", "Prices", "", "How much is it?");
    gint64 c1 = deliver(fx, m1, "r1@example.org");
    char *m2 = mail("carl@customer.test", "c1@customer.test", "Hello", "", "Carl here.");
    gint64 c2 =
        deliver_to(fx, fx->cfg, "support@example.org", "carl@customer.test", m2, NULL, NULL);
    record_staff(fx, "bob@example.org", ANN,
                 "From: bob@example.org\nIn-Reply-To: <m1@customer.test>\n\nCalled.\n");
    fold(fx, fx->cfg, 1);
    struct store_purge_counts n;
    char *error = NULL;
    g_assert_cmpint(store_purge_address(fx->db, "Ann@customer.test", &n, &error), ==, DB_OK);
    g_assert_cmpint(n.conversations, ==, 1);
    g_assert_cmpint(n.staff, ==, 1);
    g_assert_cmpint(n.entries, ==, 3); /* hers, our reply, the person's */
    g_assert_cmpint(testutil_db_int(fx->db,
                                    "SELECT count(*) FROM conversations WHERE id ="
                                    " %" G_GINT64_FORMAT,
                                    c1),
                    ==, 0);
    assert_roles(fx->db, c2, "user");
    g_free(m1);
    g_free(m2);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_mime_init();
    static const struct {
        const char *path;
        void (*test)(struct fixture *, gconstpointer);
    } tests[] = {
        {"/store_conversation/in_reply_to_our_reply", test_in_reply_to_our_reply},
        {"/store_conversation/references_to_their_message", test_references_to_their_message},
        {"/store_conversation/reference_to_a_reply_action", test_reference_to_a_reply_action},
        {"/store_conversation/reference_from_another_sender", test_reference_from_another_sender},
        {"/store_conversation/subject", test_subject},
        {"/store_conversation/join_is_idempotent", test_join_is_idempotent},
        {"/store_conversation/history", test_history},
        {"/store_conversation/staff_by_reference", test_staff_by_reference},
        {"/store_conversation/staff_by_subject", test_staff_by_subject},
        {"/store_conversation/staff_note", test_staff_note},
        {"/store_conversation/stop_resume", test_stop_resume},
        {"/store_conversation/retention", test_retention},
        {"/store_conversation/forget", test_forget},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(tests); i++)
        g_test_add(tests[i].path, struct fixture, NULL, fixture_setup, tests[i].test,
                   fixture_teardown);
    int status = g_test_run();
    g_mime_shutdown();
    return status;
}
