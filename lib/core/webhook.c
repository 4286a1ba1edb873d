/*
 * webhook: POST a JSON record with libcurl, signed when there is a secret; see webhook.h.
 */
#include <string.h>

#include <curl/curl.h>
#include <glib.h>
#include <json-c/json.h>

#include "clock.h"
#include "http.h"
#include "webhook.h"

#define WEBHOOK_MAX_ANSWER 4096

static size_t webhook_collect(char *data, size_t size, size_t nmemb, void *user)
{
    GString *answer = user;
    size_t len = size * nmemb;
    if (answer->len < WEBHOOK_MAX_ANSWER)
        g_string_append_len(answer, data, (gssize)MIN(len, WEBHOOK_MAX_ANSWER - answer->len));
    return len;
}

static void webhook_add_string(json_object *object, const char *key, const char *value)
{
    json_object_object_add(object, key, value != NULL ? json_object_new_string(value) : NULL);
}

char *webhook_event_id(const struct webhook_record *record)
{
    char *seed =
        g_strdup_printf("%s\n%" G_GINT64_FORMAT "\n%" G_GINT64_FORMAT "\n%s",
                        record->hostname != NULL ? record->hostname : "", record->queue_id,
                        record->received_at, record->mailbox != NULL ? record->mailbox : "");
    char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA256, seed, -1);
    g_free(seed);
    digest[32] = '\0';
    return digest;
}

char *webhook_body(const struct webhook_record *record)
{
    const struct mime_message *msg = record->msg;
    json_object *root = json_object_new_object();
    char *event_id = webhook_event_id(record);
    webhook_add_string(root, "event_id", event_id);
    g_free(event_id);

    json_object *message = json_object_new_object();
    json_object_object_add(message, "id", json_object_new_int64(record->queue_id));
    webhook_add_string(message, "message_id", msg->message_id);
    webhook_add_string(message, "mailbox", record->mailbox);
    webhook_add_string(message, "subject", msg->subject);
    json_object_object_add(message, "received_at", json_object_new_int64(record->received_at));
    webhook_add_string(message, "text", msg->text);
    json_object_object_add(root, "message", message);

    json_object *sender = json_object_new_object();
    webhook_add_string(sender, "envelope_from", record->envelope_from);
    webhook_add_string(sender, "from", msg->from_addr);
    webhook_add_string(sender, "from_name", msg->from_name);
    json_object_object_add(root, "sender", sender);

    const struct classification *c = record->classification;
    json_object *classification = json_object_new_object();
    webhook_add_string(classification, "intent", c->intent);
    json_object_object_add(classification, "confidence", json_object_new_double(c->confidence));
    webhook_add_string(classification, "summary", c->summary);
    webhook_add_string(classification, "provider", c->provider);
    json_object_object_add(root, "classification", classification);

    /* The message's conversation; null when it joined none, so that receivers can rely on
     * the key. */
    json_object_object_add(root, "conversation_id",
                           record->conversation > 0 ? json_object_new_int64(record->conversation)
                                                    : NULL);
    char *body = g_strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    json_object_put(root);
    return body;
}

char *webhook_signature(const char *secret, gint64 timestamp, const char *body)
{
    char *signed_text = g_strdup_printf("%" G_GINT64_FORMAT ".%s", timestamp, body);
    char *hex = g_compute_hmac_for_string(G_CHECKSUM_SHA256, (const guchar *)secret, strlen(secret),
                                          signed_text, -1);
    char *signature = g_strdup_printf("t=%" G_GINT64_FORMAT ",v1=%s", timestamp, hex);
    g_free(hex);
    g_free(signed_text);
    return signature;
}

/* The signature headers for BODY, added to HEADERS (which curl already has). */
static void webhook_sign(struct curl_slist *headers, const char *secret, const char *body)
{
    gint64 now = clock_now();
    char *signature = webhook_signature(secret, now, body);
    char *line = g_strdup_printf("X-Mailtriage-Timestamp: %" G_GINT64_FORMAT, now);
    curl_slist_append(headers, line);
    g_free(line);
    line = g_strdup_printf("X-Mailtriage-Signature: %s", signature);
    curl_slist_append(headers, line);
    g_free(line);
    g_free(signature);
}

int webhook_post(const char *url, gint64 timeout_seconds, const struct webhook_record *record,
                 const char *secret, char **error_r)
{
    CURL *curl = http_handle_new();
    char *body = webhook_body(record);
    GString *answer = g_string_new(NULL);
    struct curl_slist *headers = http_prepare_post(curl, url, body, NULL, timeout_seconds);
    if (secret != NULL && *secret != '\0')
        webhook_sign(headers, secret, body);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, webhook_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);

    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    int result = 0;
    if (rc != CURLE_OK) {
        *error_r = g_strdup_printf("webhook %s: %s", url, curl_easy_strerror(rc));
        result = -1;
    } else if (status < 200 || status > 299) {
        char *excerpt = http_excerpt(answer, 200);
        *error_r = g_strdup_printf("webhook %s: HTTP %ld: %s", url, status, excerpt);
        g_free(excerpt);
        result = -1;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    g_string_free(answer, TRUE);
    g_free(body);
    return result;
}
