/*
 * llm: the provider table, dispatch by name, the process-wide concurrency limit, and the gate
 * (llm_gate.h) around remote requests; see llm.h.
 */
#include <string.h>

#include <curl/curl.h>
#include <glib.h>

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
    void *state[G_N_ELEMENTS(llm_providers)];
    const volatile gint *stop;
};

static GMutex llm_limit_lock;
static GCond llm_limit_freed;
static unsigned llm_limit_max = 1;
static unsigned llm_limit_used;

void llm_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void llm_global_cleanup(void)
{
    llm_gate_cleanup();
    curl_global_cleanup();
}

void llm_limit_set(unsigned max_concurrency)
{
    g_mutex_lock(&llm_limit_lock);
    llm_limit_max = MAX(max_concurrency, 1);
    g_cond_broadcast(&llm_limit_freed);
    g_mutex_unlock(&llm_limit_lock);
}

static void llm_limit_acquire(void)
{
    g_mutex_lock(&llm_limit_lock);
    while (llm_limit_used >= llm_limit_max)
        g_cond_wait(&llm_limit_freed, &llm_limit_lock);
    llm_limit_used++;
    g_mutex_unlock(&llm_limit_lock);
}

static void llm_limit_release(void)
{
    g_mutex_lock(&llm_limit_lock);
    llm_limit_used--;
    g_cond_signal(&llm_limit_freed);
    g_mutex_unlock(&llm_limit_lock);
}

struct llm_client *llm_client_new(const volatile gint *stop)
{
    struct llm_client *client = g_new0(struct llm_client, 1);
    for (size_t i = 0; i < G_N_ELEMENTS(llm_providers); i++)
        if (llm_providers[i]->state_new != NULL)
            client->state[i] = llm_providers[i]->state_new();
    client->stop = stop;
    return client;
}

void llm_client_free(struct llm_client *client)
{
    if (client == NULL)
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(llm_providers); i++)
        if (llm_providers[i]->state_free != NULL)
            llm_providers[i]->state_free(client->state[i]);
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

/* A remote provider's request, within the concurrency limit and through the gate. */
static int llm_classify_remote(struct llm_client *client, int row,
                               const struct llm_request *request, const struct llm_meter *meter,
                               struct classification **result_r, struct llm_failure *failure_r)
{
    const struct llm_provider *provider = llm_providers[row];
    struct llm_gate_pass pass;
    llm_limit_acquire();
    if (!llm_gate_enter(request->cfg, meter, &pass, failure_r)) {
        llm_limit_release();
        return LLM_FAILED;
    }
    int status = provider->classify(client->state[row], client->stop, request, result_r, failure_r);
    llm_limit_release();
    llm_gate_leave(request->cfg, meter, &pass, status, status == LLM_ANSWERED ? *result_r : NULL,
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
    if (provider->remote)
        return llm_classify_remote(client, row, request, meter, result_r, failure_r);
    return provider->classify(client->state[row], client->stop, request, result_r, failure_r);
}

void llm_failure_clear(struct llm_failure *failure)
{
    g_free(failure->reason);
    *failure = (struct llm_failure){NULL, 0, LLM_FAILURE_TRANSIENT, FALSE, 0};
}
