/*
 * webhook_test: what lib/core/webhook.h promises a receiver: the signature of a body (a
 * vector computed with Python's hmac), an event id that is the same for every attempt at one
 * message and differs between messages, mailboxes and hosts, and the body's keys.
 */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>
#include <json-c/json.h>

#include "classification.h"
#include "mime.h"
#include "testdata.h"
#include "webhook.h"

/* hmac.new(b"whsec-1", b'1700000000.{"a":1}', hashlib.sha256).hexdigest() */
static void test_signature_vector(void)
{
    char *signature = webhook_signature("whsec-1", 1700000000, "{\"a\":1}");
    g_assert_cmpstr(signature, ==,
                    "t=1700000000,v1=64d1a1c4ef3fa677754396c88fe7bdb6cbbf0962ac835ebc532be88280"
                    "2daac9");
    g_free(signature);
    /* Another time or another body is another signature. */
    char *later = webhook_signature("whsec-1", 1700000001, "{\"a\":1}");
    char *other = webhook_signature("whsec-1", 1700000000, "{\"a\":2}");
    g_assert_cmpstr(strchr(later, 'v'), !=, strchr(other, 'v'));
    g_assert_false(g_str_has_suffix(later, "64d1a1c4ef3fa677754396c88fe7bdb6cbbf0962ac835ebc532be8"
                                           "82802daac9"));
    g_free(later);
    g_free(other);
}

static void test_event_id_stable_and_distinct(void)
{
    struct webhook_record a = {
        12, 1700000000, "mx1.example.org", "support@example.org", NULL, NULL, NULL, 0};
    struct webhook_record b = a;
    char *first = webhook_event_id(&a), *again = webhook_event_id(&b);
    g_assert_cmpuint(strlen(first), ==, 32);
    g_assert_cmpstr(first, ==, again);
    g_free(again);
    b.queue_id = 13;
    char *other_message = webhook_event_id(&b);
    b = a;
    b.hostname = "mx2.example.org";
    char *other_host = webhook_event_id(&b);
    b = a;
    b.mailbox = "sales@example.org";
    char *other_mailbox = webhook_event_id(&b);
    g_assert_cmpstr(first, !=, other_message);
    g_assert_cmpstr(first, !=, other_host);
    g_assert_cmpstr(first, !=, other_mailbox);
    g_free(first);
    g_free(other_message);
    g_free(other_host);
    g_free(other_mailbox);
}

static void test_body_keys(void)
{
    struct mime_message *msg = testdata_message("From: Ann <ann@customer.test>\n"
                                                "Subject: Prices\nMessage-ID: <p1@customer.test>\n"
                                                "\nWhat is the price?\n");
    struct classification c = {
        .provider = "builtin", .intent = "lead", .confidence = 0.6, .summary = "asks for prices"};
    struct webhook_record record = {
        7, 1700000000, "mx.example.org", "support@example.org", "bounce@customer.test", msg, &c, 0};
    char *body = webhook_body(&record);
    json_object *root = json_tokener_parse(body);
    g_assert_nonnull(root);
    char *event_id = webhook_event_id(&record);
    g_assert_cmpstr(json_object_get_string(json_object_object_get(root, "event_id")), ==, event_id);
    json_object *message = json_object_object_get(root, "message");
    g_assert_cmpint(json_object_get_int64(json_object_object_get(message, "id")), ==, 7);
    g_assert_cmpstr(json_object_get_string(json_object_object_get(message, "message_id")), ==,
                    "p1@customer.test");
    g_assert_cmpint(json_object_get_int64(json_object_object_get(message, "received_at")), ==,
                    1700000000);
    json_object *sender = json_object_object_get(root, "sender");
    g_assert_cmpstr(json_object_get_string(json_object_object_get(sender, "envelope_from")), ==,
                    "bounce@customer.test");
    g_assert_cmpstr(json_object_get_string(json_object_object_get(sender, "from")), ==,
                    "ann@customer.test");
    json_object *classification = json_object_object_get(root, "classification");
    g_assert_cmpstr(json_object_get_string(json_object_object_get(classification, "intent")), ==,
                    "lead");
    g_assert_true(json_object_object_get_ex(root, "conversation_id", NULL));
    g_assert_null(json_object_object_get(root, "conversation_id"));
    g_free(event_id);
    json_object_put(root);
    g_free(body);
    /* A message that joined a conversation names it. */
    record.conversation = 42;
    body = webhook_body(&record);
    root = json_tokener_parse(body);
    g_assert_cmpint(json_object_get_int64(json_object_object_get(root, "conversation_id")), ==, 42);
    json_object_put(root);
    g_free(body);
    mime_message_free(msg);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_mime_init();
    g_test_add_func("/webhook/signature_vector", test_signature_vector);
    g_test_add_func("/webhook/event_id_stable_and_distinct", test_event_id_stable_and_distinct);
    g_test_add_func("/webhook/body_keys", test_body_keys);
    int result = g_test_run();
    g_mime_shutdown();
    return result;
}
