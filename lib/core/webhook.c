/*
 * webhook: POST a JSON record with libcurl; see webhook.h.
 */
#include <string.h>

#include <curl/curl.h>
#include <glib.h>
#include <json-c/json.h>

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

char *webhook_body(const struct webhook_record *record)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "id", json_object_new_int64(record->queue_id));
    webhook_add_string(root, "mailbox", record->mailbox);
    webhook_add_string(root, "envelope_from", record->envelope_from);
    webhook_add_string(root, "from", record->msg->from_addr);
    webhook_add_string(root, "from_name", record->msg->from_name);
    webhook_add_string(root, "subject", record->msg->subject);
    webhook_add_string(root, "message_id", record->msg->message_id);
    webhook_add_string(root, "text", record->msg->text);
    const struct classification *c = record->classification;
    webhook_add_string(root, "intent", c->intent);
    json_object_object_add(root, "confidence", json_object_new_double(c->confidence));
    webhook_add_string(root, "summary", c->summary);
    webhook_add_string(root, "provider", c->provider);
    char *body = g_strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    json_object_put(root);
    return body;
}

int webhook_post(const char *url, gint64 timeout_seconds, const struct webhook_record *record,
                 char **error_r)
{
    CURL *curl = http_handle_new();
    char *body = webhook_body(record);
    GString *answer = g_string_new(NULL);
    struct curl_slist *headers = http_prepare_post(curl, url, body, NULL, timeout_seconds);
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
