/*
 * llm: the provider table, dispatch by name, the process-wide concurrency limit, and the gate
 * (llm_gate.h) around remote requests; see llm.h.
 */
#include <string.h>

#include <curl/curl.h>
#include <glib.h>

#include "http.h"
#include "llm.h"
#include "llm_builtin.h"
#include "llm_gate.h"
#include "llm_openai.h"

static const struct llm_provider *const llm_providers[] = {&llm_openai_provider,
                                                           &llm_builtin_provider};

/* The [llm] provider key's choices as config.c reads them: the value it stores is the index
 * of the choice, and the choice is the name the table is searched for. */
#define LLM_KEY_CHOICES(key, type, def, min, max, choices, doc) {#key, choices},
static const struct {
    const char *key;
    const char *choices;
} llm_config_keys[] = {CONFIG_LLM_KEYS(LLM_KEY_CHOICES)};

struct llm_client {
    const volatile gint *stop;
};

/* The concurrency limit, and the idle states of each provider under the same lock: a state is
 * lent to one request at a time, and a remote provider's state holds its connections, so that
 * the workers share at most max_concurrency kept-alive connections, the most recently used
 * first. The idle states go with the last client. */
static GMutex llm_limit_lock;
static GCond llm_limit_freed;
static unsigned llm_limit_max = 1;
static unsigned llm_limit_used;
static GPtrArray *llm_idle[G_N_ELEMENTS(llm_providers)];
static unsigned llm_clients;

void llm_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    http_share_init();
}

/* Under llm_limit_lock: the idle states, to be freed outside it. */
static GPtrArray *llm_idle_steal(size_t row)
{
    GPtrArray *idle = llm_idle[row];
    llm_idle[row] = NULL;
    return idle;
}

static void llm_idle_free(size_t row, GPtrArray *idle)
{
    for (guint i = 0; idle != NULL && i < idle->len; i++)
        llm_providers[row]->state_free(g_ptr_array_index(idle, i));
    if (idle != NULL)
        g_ptr_array_unref(idle);
}

static void llm_idle_free_all(void)
{
    GPtrArray *idle[G_N_ELEMENTS(llm_providers)];
    g_mutex_lock(&llm_limit_lock);
    for (size_t row = 0; row < G_N_ELEMENTS(llm_providers); row++)
        idle[row] = llm_idle_steal(row);
    g_mutex_unlock(&llm_limit_lock);
    for (size_t row = 0; row < G_N_ELEMENTS(llm_providers); row++)
        llm_idle_free(row, idle[row]);
}

void llm_global_cleanup(void)
{
    llm_idle_free_all();
    llm_gate_cleanup();
    http_share_cleanup();
    curl_global_cleanup();
}

void llm_limit_set(unsigned max_concurrency)
{
    g_mutex_lock(&llm_limit_lock);
    llm_limit_max = MAX(max_concurrency, 1);
    g_cond_broadcast(&llm_limit_freed);
    g_mutex_unlock(&llm_limit_lock);
}

/* A slot under the limit and an idle state of ROW's provider (NULL when none is idle). */
static void *llm_limit_acquire(size_t row)
{
    g_mutex_lock(&llm_limit_lock);
    while (llm_limit_used >= llm_limit_max)
        g_cond_wait(&llm_limit_freed, &llm_limit_lock);
    llm_limit_used++;
    void *state = llm_idle[row] != NULL && llm_idle[row]->len > 0
                      ? g_ptr_array_steal_index(llm_idle[row], llm_idle[row]->len - 1)
                      : NULL;
    g_mutex_unlock(&llm_limit_lock);
    return state;
}

/* The slot back, and STATE among the idle ones unless as many as the limit already are. */
static void llm_limit_release(size_t row, void *state)
{
    g_mutex_lock(&llm_limit_lock);
    llm_limit_used--;
    g_cond_signal(&llm_limit_freed);
    if (llm_idle[row] == NULL)
        llm_idle[row] = g_ptr_array_new();
    gboolean kept = state != NULL && llm_idle[row]->len < llm_limit_max;
    if (kept)
        g_ptr_array_add(llm_idle[row], state);
    g_mutex_unlock(&llm_limit_lock);
    if (!kept && state != NULL)
        llm_providers[row]->state_free(state);
}

struct llm_client *llm_client_new(const volatile gint *stop)
{
    struct llm_client *client = g_new0(struct llm_client, 1);
    client->stop = stop;
    g_mutex_lock(&llm_limit_lock);
    llm_clients++;
    g_mutex_unlock(&llm_limit_lock);
    return client;
}

void llm_client_free(struct llm_client *client)
{
    if (client == NULL)
        return;
    g_mutex_lock(&llm_limit_lock);
    gboolean last = --llm_clients == 0;
    g_mutex_unlock(&llm_limit_lock);
    if (last)
        llm_idle_free_all();
    g_free(client);
}

/* The row of the provider called NAME, or -1. */
static int llm_provider_row(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(llm_providers); i++)
        if (strcmp(llm_providers[i]->name, name) == 0)
            return (int)i;
    return -1;
}

int llm_provider_find(const char *name, const struct llm_provider **provider_r, char **error_r)
{
    int row = llm_provider_row(name);
    if (row < 0) {
        *error_r = g_strdup_printf("no LLM provider is called \"%.64s\"", name);
        return -1;
    }
    *provider_r = llm_providers[row];
    return 0;
}

/* The row of CFG's [llm] provider, or -1 with the reason (config.c admits only known names). */
static int llm_provider_configured(const struct config *cfg, char **error_r)
{
    const char *choices = "";
    for (size_t i = 0; i < G_N_ELEMENTS(llm_config_keys); i++)
        if (strcmp(llm_config_keys[i].key, "provider") == 0)
            choices = llm_config_keys[i].choices;
    char **names = g_strsplit(choices, "|", -1);
    int row = -1;
    if (cfg->llm.provider >= 0 && (guint)cfg->llm.provider < g_strv_length(names))
        row = llm_provider_row(names[cfg->llm.provider]);
    if (row < 0)
        *error_r = g_strdup_printf("[llm] provider: choice %d of %s has no row", cfg->llm.provider,
                                   choices);
    g_strfreev(names);
    return row;
}

/* One request: the classification (classification NULL, into *result_r), the reply to the
 * classification (into *reply_r), or, with compose, the first message (into *composed_r). */
struct llm_call {
    const struct llm_request *request;
    const struct classification *classification;
    struct classification **result_r;
    struct llm_reply *reply_r;
    const struct llm_compose_request *compose;
    struct llm_composed *composed_r;
};

static int llm_call_provider(const struct llm_provider *provider, void *state,
                             const volatile gint *stop, const struct llm_call *call,
                             struct llm_failure *failure_r)
{
    if (call->compose != NULL)
        return provider->compose(state, stop, call->compose, call->composed_r, failure_r);
    if (call->classification == NULL)
        return provider->classify(state, stop, call->request, call->result_r, failure_r);
    return provider->reply(state, stop, call->request, call->classification, call->reply_r,
                           failure_r);
}

/* The tokens the answer to CALL spent. */
static gint64 llm_call_tokens(const struct llm_call *call)
{
    if (call->compose != NULL)
        return call->composed_r->prompt_tokens + call->composed_r->completion_tokens;
    if (call->classification == NULL)
        return (*call->result_r)->prompt_tokens + (*call->result_r)->completion_tokens;
    return call->reply_r->prompt_tokens + call->reply_r->completion_tokens;
}

/* A remote provider's request, within the concurrency limit, with a lent state and through the
 * gate. */
static int llm_call_remote(struct llm_client *client, size_t row, const struct config *cfg,
                           const struct llm_meter *meter, const struct llm_call *call,
                           struct llm_failure *failure_r)
{
    const struct llm_provider *provider = llm_providers[row];
    struct llm_gate_pass pass;
    void *state = llm_limit_acquire(row);
    if (state == NULL && provider->state_new != NULL)
        state = provider->state_new();
    if (!llm_gate_enter(cfg, meter, &pass, failure_r)) {
        llm_limit_release(row, state);
        return LLM_FAILED;
    }
    int status = llm_call_provider(provider, state, client->stop, call, failure_r);
    llm_limit_release(row, state);
    llm_gate_leave(cfg, meter, &pass, status, status == LLM_ANSWERED ? llm_call_tokens(call) : 0,
                   failure_r);
    return status;
}

int llm_classify(struct llm_client *client, const struct llm_request *request,
                 const struct llm_meter *meter, struct classification **result_r,
                 struct llm_failure *failure_r)
{
    int row = llm_provider_configured(request->cfg, &failure_r->reason);
    if (row < 0) {
        failure_r->kind = LLM_FAILURE_CONFIG;
        return LLM_FAILED;
    }
    const struct llm_provider *provider = llm_providers[row];
    const struct llm_call call = {request, NULL, result_r, NULL, NULL, NULL};
    if (provider->remote)
        return llm_call_remote(client, (size_t)row, request->cfg, meter, &call, failure_r);
    return provider->classify(NULL, client->stop, request, result_r, failure_r);
}

int llm_write_reply(struct llm_client *client, const struct llm_request *request,
                    struct classification *classification, const struct llm_meter *meter,
                    struct llm_failure *failure_r)
{
    int row = llm_provider_configured(request->cfg, &failure_r->reason);
    if (row < 0) {
        failure_r->kind = LLM_FAILURE_CONFIG;
        return LLM_FAILED;
    }
    const struct llm_provider *provider = llm_providers[row];
    struct llm_reply reply = {0};
    const struct llm_call call = {request, classification, NULL, &reply, NULL, NULL};
    int status = LLM_ANSWERED;
    if (provider->reply == NULL)
        reply = (struct llm_reply){
            .text = g_strdup(""),
            .error = g_strdup_printf("the %s classifier writes no reply text", provider->name)};
    else if (provider->remote)
        status = llm_call_remote(client, (size_t)row, request->cfg, meter, &call, failure_r);
    else
        status = provider->reply(NULL, client->stop, request, classification, &reply, failure_r);
    if (status != LLM_ANSWERED)
        return status;
    g_free(classification->reply);
    classification->reply = reply.text;
    g_free(classification->reply_error);
    classification->reply_error = reply.error;
    classification->reply_latency_ms = reply.latency_ms;
    classification->reply_prompt_tokens = reply.prompt_tokens;
    classification->reply_completion_tokens = reply.completion_tokens;
    if (classification->reply_sources != NULL)
        g_ptr_array_unref(classification->reply_sources);
    classification->reply_sources = reply.sources;
    g_free(classification->reply_hold);
    classification->reply_hold = reply.hold;
    classification->reply_settled = TRUE;
    return LLM_ANSWERED;
}

int llm_compose(struct llm_client *client, const struct llm_compose_request *request,
                const struct llm_meter *meter, struct llm_composed *composed_r,
                struct llm_failure *failure_r)
{
    *composed_r = (struct llm_composed){0};
    int row = llm_provider_configured(request->cfg, &failure_r->reason);
    if (row < 0) {
        failure_r->kind = LLM_FAILURE_CONFIG;
        return LLM_FAILED;
    }
    const struct llm_provider *provider = llm_providers[row];
    if (provider->compose == NULL) {
        failure_r->kind = LLM_FAILURE_CONFIG;
        failure_r->reason = g_strdup("compose needs an LLM ([llm] provider = openai)");
        return LLM_FAILED;
    }
    const struct llm_call call = {NULL, NULL, NULL, NULL, request, composed_r};
    if (provider->remote)
        return llm_call_remote(client, (size_t)row, request->cfg, meter, &call, failure_r);
    return provider->compose(NULL, client->stop, request, composed_r, failure_r);
}

void llm_failure_clear(struct llm_failure *failure)
{
    g_free(failure->reason);
    *failure = (struct llm_failure){NULL, 0, LLM_FAILURE_TRANSIENT, FALSE, 0};
}
