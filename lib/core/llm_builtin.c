/*
 * llm_builtin: the keyword classifier; see llm_builtin.h.
 */
#include <string.h>

#include <glib.h>

#include "llm_builtin.h"

/* Confidence reported for a keyword match: a rule, not a measurement. */
#define LLM_BUILTIN_CONFIDENCE 0.6

static gboolean llm_builtin_is_word_char(gunichar c)
{
    return g_unichar_isalnum(c) || c == '_';
}

/* Is KEYWORD (casefolded) in HAYSTACK (casefolded) as a whole word or phrase? */
static gboolean llm_builtin_contains_word(const char *haystack, const char *keyword)
{
    size_t len = strlen(keyword);
    if (len == 0)
        return FALSE;
    for (const char *p = strstr(haystack, keyword); p != NULL; p = strstr(p + 1, keyword)) {
        gboolean starts =
            p == haystack || !llm_builtin_is_word_char(g_utf8_get_char(g_utf8_prev_char(p)));
        gboolean ends = p[len] == '\0' || !llm_builtin_is_word_char(g_utf8_get_char(p + len));
        if (starts && ends)
            return TRUE;
    }
    return FALSE;
}

/* TEXT in one canonical form for matching: composed characters, case folded. */
static char *llm_builtin_fold(const char *text)
{
    char *normal = g_utf8_normalize(text, -1, G_NORMALIZE_ALL_COMPOSE);
    char *folded = g_utf8_casefold(normal != NULL ? normal : text, -1);
    g_free(normal);
    return folded;
}

struct classification *llm_builtin_classify(const struct llm_request *request)
{
    gint64 started = g_get_monotonic_time();
    const struct mime_message *msg = request->msg;
    char *joined = g_strconcat(msg->subject != NULL ? msg->subject : "", "\n",
                               msg->text != NULL ? msg->text : "", NULL);
    char *haystack = llm_builtin_fold(joined);
    g_free(joined);

    struct classification *result = g_new0(struct classification, 1);
    result->provider = g_strdup("builtin");
    result->valid = TRUE;
    result->reply = g_strdup("");
    result->reply_settled = TRUE; /* it writes no reply text */
    for (char **name = request->mailbox->intents; *name != NULL && result->intent == NULL; name++) {
        const struct config_intent *intent = config_intent_find(request->cfg, *name);
        if (intent == NULL || strcmp(*name, "unknown") == 0)
            continue;
        for (char **word = intent->keywords; *word != NULL; word++) {
            char *keyword = llm_builtin_fold(*word);
            gboolean found = llm_builtin_contains_word(haystack, keyword);
            g_free(keyword);
            if (found) {
                result->intent = g_strdup(*name);
                result->confidence = LLM_BUILTIN_CONFIDENCE;
                result->summary = g_strdup_printf("keyword \"%s\" matched", *word);
                break;
            }
        }
    }
    if (result->intent == NULL) {
        result->intent = g_strdup("unknown");
        result->summary = g_strdup("no keyword matched");
    }
    g_free(haystack);
    result->latency_ms = (g_get_monotonic_time() - started) / 1000;
    return result;
}

static int llm_builtin_provider_classify(void *state, const volatile gint *stop,
                                         const struct llm_request *request,
                                         struct classification **result_r,
                                         struct llm_failure *failure_r)
{
    *result_r = llm_builtin_classify(request);
    return LLM_ANSWERED;
}

const struct llm_provider llm_builtin_provider = {
    .name = "builtin",
    .remote = FALSE,
    .classify = llm_builtin_provider_classify,
};
