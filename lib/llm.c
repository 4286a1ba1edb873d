/*
 * llm: provider dispatch, the process-wide concurrency limit, shared helpers; see llm.h.
 */
#include <string.h>

#include <curl/curl.h>
#include <glib.h>

#include "llm.h"
#include "llm_openai.h"

struct llm_client {
    CURL *curl;
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
    client->curl = curl_easy_init();
    if (client->curl == NULL)
        g_error("curl_easy_init failed"); /* out of memory: abort like g_malloc */
    client->stop = stop;
    return client;
}

void llm_client_free(struct llm_client *client)
{
    if (client == NULL)
        return;
    curl_easy_cleanup(client->curl);
    g_free(client);
}

int llm_classify(struct llm_client *client, const struct llm_request *request,
                 struct classification **result_r, struct llm_failure *failure_r)
{
    if (request->cfg->llm.provider == CONFIG_PROVIDER_BUILTIN) {
        *result_r = llm_builtin_classify(request);
        return LLM_ANSWERED;
    }
    llm_limit_acquire();
    int status = llm_openai_classify(client->curl, client->stop, request, result_r, failure_r);
    llm_limit_release();
    return status;
}

gboolean llm_intent_allowed(const struct config_mailbox *mailbox, const char *intent)
{
    for (char **name = mailbox->intents; *name != NULL; name++)
        if (strcmp(*name, intent) == 0)
            return TRUE;
    return FALSE;
}

void classification_free(struct classification *classification)
{
    if (classification == NULL)
        return;
    g_free(classification->provider);
    g_free(classification->model);
    g_free(classification->intent);
    g_free(classification->summary);
    g_free(classification->reply);
    g_free(classification->error);
    g_free(classification->raw_answer);
    g_free(classification);
}

void llm_failure_clear(struct llm_failure *failure)
{
    g_free(failure->reason);
    failure->reason = NULL;
    failure->retry_after = 0;
}
