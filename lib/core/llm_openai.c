/*
 * llm_openai: OpenAI-compatible chat completions with json_schema output; see llm_openai.h.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <glib.h>
#include <json-c/json.h>

#include "clock.h"
#include "http.h"
#include "llm_answer.h"
#include "llm_openai.h"
#include "log.h"
#include "prompt.h"
#include "redact.h"
#include "text.h"

#define LLM_OPENAI_MAX_RAW_ANSWER 16384
#define LLM_OPENAI_MAX_ERROR_BODY 300
/* A server that asks for more is down for longer than a retry should wait in one go. */
#define LLM_OPENAI_MAX_RETRY_AFTER 3600
/* An error body larger than this is not an API's error object. */
#define LLM_OPENAI_MAX_ERROR_JSON 65536

struct llm_openai_response {
    GString *body;
    size_t limit;
    gboolean too_large;
    gint64 retry_after;
    const volatile gint *stop;
    long http_status;
    gint64 latency_ms;
    char detail[CURL_ERROR_SIZE]; /* curl's words for a failed transfer, "" when none */
};

static size_t llm_openai_write_body(char *data, size_t size, size_t nmemb, void *user)
{
    struct llm_openai_response *response = user;
    size_t len = size * nmemb;
    if (response->body->len + len > response->limit) {
        response->too_large = TRUE;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    g_string_append_len(response->body, data, (gssize)len);
    return len;
}

static size_t llm_openai_read_header(char *data, size_t size, size_t nmemb, void *user)
{
    struct llm_openai_response *response = user;
    size_t len = size * nmemb;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && g_ascii_strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char *value = g_strndup(data + sizeof(name) - 1, len - (sizeof(name) - 1));
        response->retry_after = http_retry_after(value, clock_now(), LLM_OPENAI_MAX_RETRY_AFTER);
        g_free(value);
    }
    return len;
}

static int llm_openai_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                               curl_off_t ulnow)
{
    const struct llm_openai_response *response = user;
    return response->stop != NULL && g_atomic_int_get(response->stop) ? 1 : 0;
}

static json_object *llm_openai_message(const char *role, const char *content)
{
    json_object *message = json_object_new_object();
    json_object_object_add(message, "role", json_object_new_string(role));
    json_object_object_add(message, "content", json_object_new_string(content));
    return message;
}

/* The request of REFERENCE.md section 3 for PROMPT. */
static char *llm_openai_body(const struct config_llm *llm, const struct prompt *prompt)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "model", json_object_new_string(llm->model));
    json_object_object_add(root, "temperature", json_object_new_double(llm->temperature));
    json_object_object_add(root, "max_tokens", json_object_new_int((int)llm->max_tokens));

    json_object *messages = json_object_new_array();
    json_object_array_add(messages, llm_openai_message("system", prompt->system));
    for (guint i = 0; i < prompt->messages->len; i++) {
        const struct prompt_message *message = g_ptr_array_index(prompt->messages, i);
        json_object_array_add(
            messages, llm_openai_message(prompt_role_name(message->role), message->content));
    }
    json_object_object_add(root, "messages", messages);

    /* name is required by OpenAI and vLLM; llama.cpp reads only this nested form. */
    json_object *json_schema = json_object_new_object();
    json_object_object_add(json_schema, "name", json_object_new_string(prompt->schema_name));
    json_object_object_add(json_schema, "strict", json_object_new_boolean(1));
    json_object_object_add(json_schema, "schema", json_object_get(prompt->schema));
    json_object *format = json_object_new_object();
    json_object_object_add(format, "type", json_object_new_string("json_schema"));
    json_object_object_add(format, "json_schema", json_schema);
    json_object_object_add(root, "response_format", format);

    char *body = g_strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
    json_object_put(root);
    return body;
}

char *llm_openai_request_body(const struct llm_request *request)
{
    struct prompt *prompt = prompt_build(request);
    char *body = llm_openai_body(&request->cfg->llm, prompt);
    prompt_free(prompt);
    return body;
}

char *llm_openai_reply_body(const struct llm_request *request,
                            const struct classification *classification)
{
    struct prompt *prompt = prompt_build_reply(request, classification);
    char *body = llm_openai_body(&request->cfg->llm, prompt);
    prompt_free(prompt);
    return body;
}

static json_object *llm_openai_member(json_object *object, const char *key, json_type type)
{
    json_object *value = NULL;
    if (object == NULL || !json_object_object_get_ex(object, key, &value) ||
        !json_object_is_type(value, type))
        return NULL;
    return value;
}

/* What a response body says: the model's text, or why there is none, and the usage. */
struct llm_openai_completion {
    json_object *root;   /* owned; content points into it */
    const char *content; /* NULL when there is none */
    char *problem;       /* why the answer cannot be read, NULL when content can */
    gboolean is_completion;
    gint64 prompt_tokens;
    gint64 completion_tokens;
};

static void llm_openai_read_completion(const char *body, size_t len,
                                       struct llm_openai_completion *out)
{
    json_tokener *tokener = json_tokener_new();
    json_object *root = json_tokener_parse_ex(tokener, body, (int)MIN(len, (size_t)G_MAXINT));
    gboolean complete = json_tokener_get_error(tokener) == json_tokener_success;
    json_tokener_free(tokener);
    json_object *choices = complete ? llm_openai_member(root, "choices", json_type_array) : NULL;
    json_object *choice = choices != NULL && json_object_array_length(choices) > 0
                              ? json_object_array_get_idx(choices, 0)
                              : NULL;
    json_object *message = llm_openai_member(choice, "message", json_type_object);
    *out = (struct llm_openai_completion){root, NULL, NULL, message != NULL, 0, 0};
    if (message == NULL)
        return;
    json_object *content = llm_openai_member(message, "content", json_type_string);
    json_object *refusal = llm_openai_member(message, "refusal", json_type_string);
    json_object *finish = llm_openai_member(choice, "finish_reason", json_type_string);
    const char *finish_reason = finish != NULL ? json_object_get_string(finish) : "";
    out->content = content != NULL ? json_object_get_string(content) : NULL;
    if (refusal != NULL)
        out->problem =
            g_strdup_printf("the model refused: %.200s", json_object_get_string(refusal));
    else if (strcmp(finish_reason, "length") == 0)
        out->problem = g_strdup("the answer was cut at max_tokens (finish_reason length)");
    else if (content == NULL)
        out->problem = g_strdup("the answer has no content");
    json_object *usage = llm_openai_member(root, "usage", json_type_object);
    json_object *tokens = llm_openai_member(usage, "prompt_tokens", json_type_int);
    out->prompt_tokens = tokens != NULL ? json_object_get_int64(tokens) : 0;
    tokens = llm_openai_member(usage, "completion_tokens", json_type_int);
    out->completion_tokens = tokens != NULL ? json_object_get_int64(tokens) : 0;
}

/* The response of a body that is not a chat completion, as an unusable answer whose raw answer
 * is the body's start, for `mailtriagectl show`. */
static struct classification *llm_openai_not_a_completion(const struct llm_request *request,
                                                          const char *body, size_t len)
{
    struct classification *result =
        llm_answer_unknown(request, llm_openai_provider.name,
                           g_strdup("the server's response is not a chat completion"));
    result->raw_answer = text_make_valid_line(body, (gssize)MIN(len, LLM_OPENAI_MAX_ERROR_BODY));
    return result;
}

struct classification *llm_openai_parse_response(const struct llm_request *request,
                                                 const char *body, size_t len)
{
    struct llm_openai_completion done;
    llm_openai_read_completion(body, len, &done);
    struct classification *result;
    if (!done.is_completion)
        result = llm_openai_not_a_completion(request, body, len);
    else if (done.problem != NULL)
        result =
            llm_answer_unknown(request, llm_openai_provider.name, g_steal_pointer(&done.problem));
    else
        result = llm_answer_parse(request, llm_openai_provider.name, done.content);
    if (done.content != NULL)
        result->raw_answer = text_cut(done.content, LLM_OPENAI_MAX_RAW_ANSWER);
    result->prompt_tokens = done.prompt_tokens;
    result->completion_tokens = done.completion_tokens;
    json_object_put(done.root);
    return result;
}

void llm_openai_parse_reply(const struct llm_request *request, const struct pii_map *pii,
                            const char *body, size_t len, struct llm_reply *reply_r)
{
    struct llm_openai_completion done;
    llm_openai_read_completion(body, len, &done);
    if (done.is_completion && done.problem == NULL)
        llm_answer_parse_reply(done.content, request->knowledge, pii, reply_r);
    else
        *reply_r = (struct llm_reply){
            .text = g_strdup(""),
            .error = !done.is_completion
                         ? g_strdup("the server's response is not a chat completion")
                         : g_steal_pointer(&done.problem)};
    reply_r->prompt_tokens = done.prompt_tokens;
    reply_r->completion_tokens = done.completion_tokens;
    json_object_put(done.root);
}

static char *llm_openai_endpoint(const char *url)
{
    if (g_str_has_suffix(url, "/chat/completions"))
        return g_strdup(url);
    return g_strconcat(url, g_str_has_suffix(url, "/") ? "" : "/", "chat/completions", NULL);
}

/* One POST of BODY to ENDPOINT; what came back, its status and its time in RESPONSE. */
static CURLcode llm_openai_post(CURL *curl, const struct config *cfg, const char *endpoint,
                                const char *body, struct llm_openai_response *response)
{
    char *authorization =
        cfg->api_key != NULL ? g_strconcat("Authorization: Bearer ", cfg->api_key, NULL) : NULL;
    struct curl_slist *headers =
        http_prepare_post(curl, endpoint, body, authorization, cfg->llm.timeout);
    if (authorization != NULL) {
        explicit_bzero(authorization, strlen(authorization));
        g_free(authorization);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, llm_openai_write_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, response);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, llm_openai_read_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, response);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, llm_openai_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, response);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, response->detail);

    gint64 started = g_get_monotonic_time();
    CURLcode rc = curl_easy_perform(curl);
    response->latency_ms = (g_get_monotonic_time() - started) / 1000;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->http_status);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    return rc;
}

enum llm_failure_kind llm_openai_failure_kind(CURLcode rc, long http_status)
{
    switch (rc) {
    case CURLE_OK:
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        return LLM_FAILURE_CANCELLED;
    /* A URL, scheme or TLS set-up that cannot work (https:// to a plain HTTP port, a
     * certificate that does not verify) stays so until someone changes it. */
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_USE_SSL_FAILED:
    case CURLE_TOO_MANY_REDIRECTS:
        return LLM_FAILURE_CONFIG;
    default:
        return LLM_FAILURE_TRANSIENT; /* connection, DNS, timeout, a connection cut short */
    }
    if (http_status >= 500 || http_status == 408 || http_status == 425 || http_status == 429)
        return LLM_FAILURE_TRANSIENT;
    /* Servers answer these for one request they will not take: longer than the model's
     * context (OpenAI, vLLM), a schema or parameter it does not know. */
    if (http_status == 400 || http_status == 413 || http_status == 422)
        return LLM_FAILURE_REJECTED;
    /* 401 a wrong key, 403 no access, 404 a wrong URL or model name (OpenAI, Ollama, vLLM),
     * 405, 410, a redirect we do not follow: the same until the configuration changes. */
    return LLM_FAILURE_CONFIG;
}

/* What the server said in an error body: OpenAI's {"error": {"message": ...}}, Ollama's
 * {"error": "..."}, or else the body's start, as one line. */
static char *llm_openai_error_words(const GString *body)
{
    json_object *root =
        body->len <= LLM_OPENAI_MAX_ERROR_JSON ? json_tokener_parse(body->str) : NULL;
    json_object *error = llm_openai_member(root, "error", json_type_object);
    json_object *message = error != NULL ? llm_openai_member(error, "message", json_type_string)
                                         : llm_openai_member(root, "error", json_type_string);
    char *words =
        message != NULL
            ? text_make_valid_line(json_object_get_string(message),
                                   (gssize)MIN((size_t)json_object_get_string_len(message),
                                               LLM_OPENAI_MAX_ERROR_BODY))
            : http_excerpt(body, LLM_OPENAI_MAX_ERROR_BODY);
    json_object_put(root);
    return words;
}

/* Why the transfer of RESPONSE to ENDPOINT failed with RC, into FAILURE_R. */
static void llm_openai_failed(const char *endpoint, CURLcode rc,
                              const struct llm_openai_response *response,
                              struct llm_failure *failure_r)
{
    failure_r->kind = llm_openai_failure_kind(rc, response->http_status);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
        failure_r->reason = g_strdup("the request was cancelled (shutting down)");
    else if (rc != CURLE_OK)
        failure_r->reason = g_strdup_printf("%s: %s%s%s%s", endpoint, curl_easy_strerror(rc),
                                            *response->detail != '\0' ? " (" : "", response->detail,
                                            *response->detail != '\0' ? ")" : "");
    else {
        char *words = llm_openai_error_words(response->body);
        failure_r->reason =
            g_strdup_printf("%s: HTTP %ld: %s", endpoint, response->http_status, words);
        g_free(words);
        failure_r->http_status = response->http_status;
        failure_r->retry_after = response->retry_after;
    }
}

/* POST BODY to the configured endpoint: LLM_ANSWERED with the server's answer in RESPONSE
 * (its body cut short when it was too large), or LLM_FAILED with the reason, without
 * credentials or masked mail, in FAILURE_R. The caller frees RESPONSE->body. */
static int llm_openai_exchange(CURL *curl, const volatile gint *stop, const struct config *cfg,
                               const char *body, struct llm_openai_response *response,
                               struct llm_failure *failure_r)
{
    *response = (struct llm_openai_response){
        .body = g_string_new(NULL), .limit = cfg->llm.max_response_size, .stop = stop};
    char *endpoint = llm_openai_endpoint(cfg->llm.url);
    CURLcode rc = llm_openai_post(curl, cfg, endpoint, body, response);
    failure_r->requested = TRUE;
    /* A response that is too large is an answer: the same question would get it again. */
    if (response->too_large || (rc == CURLE_OK && response->http_status / 100 == 2)) {
        g_free(endpoint);
        return LLM_ANSWERED;
    }
    /* Failures are logged and kept as events: never with the URL's user name and password, nor
     * the key or the mail that a server may quote in its error body. */
    char *shown = redact_url(endpoint);
    llm_openai_failed(shown, rc, response, failure_r);
    char *clean = redact_secret(failure_r->reason, cfg->api_key);
    g_free(failure_r->reason);
    failure_r->reason = log_mask_text(clean);
    g_free(clean);
    g_free(shown);
    g_free(endpoint);
    return LLM_FAILED;
}

static char *llm_openai_too_large(const struct config *cfg)
{
    return g_strdup_printf("the response is larger than max_response_size (%" G_GUINT64_FORMAT
                           " bytes)",
                           cfg->llm.max_response_size);
}

static int llm_openai_classify(void *state, const volatile gint *stop,
                               const struct llm_request *request, struct classification **result_r,
                               struct llm_failure *failure_r)
{
    struct llm_openai_response response;
    struct prompt *prompt = prompt_build(request);
    char *body = llm_openai_body(&request->cfg->llm, prompt);
    int status = llm_openai_exchange(state, stop, request->cfg, body, &response, failure_r);
    g_free(body);
    if (status == LLM_ANSWERED) {
        *result_r = response.too_large ? llm_answer_unknown(request, llm_openai_provider.name,
                                                            llm_openai_too_large(request->cfg))
                                       : llm_openai_parse_response(request, response.body->str,
                                                                   response.body->len);
        llm_answer_restore_summary(*result_r, prompt->pii);
        (*result_r)->latency_ms = response.latency_ms;
    }
    g_string_free(response.body, TRUE);
    prompt_free(prompt);
    return status;
}

static int llm_openai_reply(void *state, const volatile gint *stop,
                            const struct llm_request *request,
                            const struct classification *classification, struct llm_reply *reply_r,
                            struct llm_failure *failure_r)
{
    struct llm_openai_response response;
    /* The prompt's PII map is the one the reply's placeholders refer to (llm_answer.h). */
    struct prompt *prompt = prompt_build_reply(request, classification);
    char *body = llm_openai_body(&request->cfg->llm, prompt);
    int status = llm_openai_exchange(state, stop, request->cfg, body, &response, failure_r);
    g_free(body);
    if (status == LLM_ANSWERED) {
        if (response.too_large)
            *reply_r = (struct llm_reply){.text = g_strdup(""),
                                          .error = llm_openai_too_large(request->cfg)};
        else
            llm_openai_parse_reply(request, prompt->pii, response.body->str, response.body->len,
                                   reply_r);
        reply_r->latency_ms = response.latency_ms;
    }
    g_string_free(response.body, TRUE);
    prompt_free(prompt);
    return status;
}

char *llm_openai_compose_body(const struct llm_compose_request *request)
{
    struct prompt *prompt = prompt_build_compose(request);
    char *body = llm_openai_body(&request->cfg->llm, prompt);
    prompt_free(prompt);
    return body;
}

void llm_openai_parse_compose(const struct llm_compose_request *request, const char *body,
                              size_t len, struct llm_composed *composed_r)
{
    struct llm_openai_completion done;
    llm_openai_read_completion(body, len, &done);
    if (!done.is_completion)
        composed_r->error = g_strdup("the server's response is not a chat completion");
    else if (done.problem != NULL)
        composed_r->error = g_steal_pointer(&done.problem);
    else
        llm_answer_parse_compose(request, done.content, composed_r);
    if (done.content != NULL)
        composed_r->raw_answer = text_cut(done.content, LLM_OPENAI_MAX_RAW_ANSWER);
    composed_r->prompt_tokens = done.prompt_tokens;
    composed_r->completion_tokens = done.completion_tokens;
    json_object_put(done.root);
}

static int llm_openai_compose(void *state, const volatile gint *stop,
                              const struct llm_compose_request *request,
                              struct llm_composed *composed_r, struct llm_failure *failure_r)
{
    struct llm_openai_response response;
    char *body = llm_openai_compose_body(request);
    int status = llm_openai_exchange(state, stop, request->cfg, body, &response, failure_r);
    g_free(body);
    if (status == LLM_ANSWERED) {
        if (response.too_large)
            composed_r->error = llm_openai_too_large(request->cfg);
        else
            llm_openai_parse_compose(request, response.body->str, response.body->len, composed_r);
        composed_r->latency_ms = response.latency_ms;
    }
    g_string_free(response.body, TRUE);
    return status;
}

/* A handle lent to one request at a time (llm.c), so that its connection stays alive between
 * requests. */
static void *llm_openai_state_new(void)
{
    return http_handle_new();
}

static void llm_openai_state_free(void *state)
{
    curl_easy_cleanup(state);
}

const struct llm_provider llm_openai_provider = {
    .name = "openai",
    .remote = TRUE,
    .state_new = llm_openai_state_new,
    .state_free = llm_openai_state_free,
    .classify = llm_openai_classify,
    .reply = llm_openai_reply,
    .compose = llm_openai_compose,
};
