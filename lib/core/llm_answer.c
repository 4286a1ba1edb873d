/*
 * llm_answer: a model's text answer checked into a classification; see llm_answer.h.
 */
#include <math.h>
#include <string.h>

#include <glib.h>
#include <json-c/json.h>

#include "knowledge.h"
#include "llm_answer.h"
#include "text.h"

#define LLM_ANSWER_MAX_SUMMARY 1000
#define LLM_ANSWER_MAX_REPLY 8000
/* The most sources one reply may name; a longer list is cut. */
#define LLM_ANSWER_MAX_SOURCES 32

/* The string member KEY of OBJECT, or NULL when it is missing or not a string. */
static const char *llm_answer_string(json_object *object, const char *key)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex(object, key, &value) ||
        !json_object_is_type(value, json_type_string))
        return NULL;
    return json_object_get_string(value);
}

/* The JSON object inside a model's text: without <think> blocks and code fences. */
static char *llm_answer_extract_object(const char *content)
{
    const char *start = content;
    const char *think_end = g_strrstr(content, "</think>");
    if (think_end != NULL)
        start = think_end + strlen("</think>");
    const char *open = strchr(start, '{');
    const char *close = strrchr(start, '}');
    if (open == NULL || close == NULL || close < open)
        return NULL;
    return g_strndup(open, (gsize)(close - open + 1));
}

struct classification *llm_answer_unknown(const struct llm_request *request, const char *provider,
                                          char *reason)
{
    struct classification *result = g_new0(struct classification, 1);
    result->provider = g_strdup(provider);
    result->model = g_strdup(request->cfg->llm.model);
    result->intent = g_strdup("unknown");
    result->valid = FALSE;
    result->error = reason;
    result->summary = g_strdup("");
    result->reply = g_strdup("");
    return result;
}

/* The answer's confidence as a number, also from a string that holds one (small models quote
 * numbers); NAN, with what was wrong in *PROBLEM_R, when it is missing or not numeric. */
static double llm_answer_confidence(json_object *answer, const char **problem_r)
{
    json_object *confidence = NULL;
    *problem_r = "missing";
    if (!json_object_object_get_ex(answer, "confidence", &confidence) || confidence == NULL)
        return NAN;
    *problem_r = "not a number";
    if (json_object_is_type(confidence, json_type_double) ||
        json_object_is_type(confidence, json_type_int))
        return json_object_get_double(confidence);
    if (!json_object_is_type(confidence, json_type_string))
        return NAN;
    const char *text = json_object_get_string(confidence);
    char *end = NULL;
    double value = g_ascii_strtod(text, &end);
    while (end != NULL && g_ascii_isspace(*end))
        end++;
    return end != text && end != NULL && *end == '\0' ? value : NAN;
}

/* The string KEY of ANSWER cut to MAX characters, or "" with a note when it is missing. */
static char *llm_answer_text_or_note(json_object *answer, const char *key, size_t max,
                                     GPtrArray *notes)
{
    const char *value = llm_answer_string(answer, key);
    if (value == NULL) {
        g_ptr_array_add(notes, g_strdup_printf("%s missing", key));
        return g_strdup("");
    }
    return text_cut(value, max);
}

/* Why the answer's intent and confidence cannot stand, or NULL when they can. */
static char *llm_answer_rejection(const struct llm_request *request, const char *name,
                                  double confidence)
{
    const double min_confidence = request->cfg->llm.min_confidence;
    if (name == NULL)
        return g_strdup("the answer has no intent");
    if (!classification_intent_allowed(request->mailbox, name)) {
        /* The model's bytes, shown to staff: valid UTF-8, no control, cut in characters. */
        char *quoted = text_quote_for_log(name, 64);
        char *reason =
            g_strdup_printf("the answer's intent \"%s\" is not in the mailbox's list", quoted);
        g_free(quoted);
        return reason;
    }
    if (!isfinite(confidence) || confidence < 0 || confidence > 1)
        return g_strdup("the answer's confidence is not a number from 0 to 1");
    if (confidence < min_confidence)
        return g_strdup_printf("confidence %.2f is below min_confidence %.2f (intent %s)",
                               confidence, min_confidence, name);
    return NULL;
}

/* Only the intent must be there: local servers sometimes drop other required keys
 * (REFERENCE.md 6), and each default taken is noted in the classification's error so that
 * `mailtriagectl show` has it. */
struct classification *llm_answer_parse(const struct llm_request *request, const char *provider,
                                        const char *content)
{
    char *object_text = llm_answer_extract_object(content);
    json_object *answer = object_text != NULL ? json_tokener_parse(object_text) : NULL;
    g_free(object_text);
    if (answer == NULL || !json_object_is_type(answer, json_type_object)) {
        json_object_put(answer);
        return llm_answer_unknown(request, provider, g_strdup("the answer is not a JSON object"));
    }
    const double min_confidence = request->cfg->llm.min_confidence;
    const char *name = llm_answer_string(answer, "intent");
    const char *problem = NULL;
    double given = llm_answer_confidence(answer, &problem);
    double confidence = isnan(given) ? min_confidence : given;
    GPtrArray *notes = g_ptr_array_new_with_free_func(g_free);
    if (isnan(given))
        g_ptr_array_add(notes, g_strdup_printf("confidence %s, taken as min_confidence %.2f",
                                               problem, min_confidence));

    char *reason = llm_answer_rejection(request, name, confidence);
    char *summary = llm_answer_text_or_note(answer, "summary", LLM_ANSWER_MAX_SUMMARY, notes);
    struct classification *result;
    if (reason != NULL)
        result = llm_answer_unknown(request, provider, reason);
    else {
        result = g_new0(struct classification, 1);
        result->provider = g_strdup(provider);
        result->model = g_strdup(request->cfg->llm.model);
        result->intent = g_strdup(name);
        result->valid = TRUE;
        result->reply = g_strdup(""); /* the second request's (llm_answer_parse_reply()) */
        if (notes->len > 0) {
            g_ptr_array_add(notes, NULL);
            result->error = g_strjoinv("; ", (char **)notes->pdata);
        }
    }
    g_free(result->summary);
    result->summary = summary;
    result->confidence = reason == NULL ? confidence : isfinite(given) ? given : 0;
    g_ptr_array_unref(notes);
    json_object_put(answer);
    return result;
}

/* The integers of the array SOURCES of the answer, in order, without duplicates, at most
 * LLM_ANSWER_MAX_SOURCES of them, each with its file and heading when GIVEN has its number;
 * anything else (strings, fractions, objects) is no citation. */
static GPtrArray *llm_answer_sources(json_object *answer, const struct knowledge_selection *given)
{
    GPtrArray *sources = classification_sources_new();
    json_object *array = NULL;
    if (!json_object_object_get_ex(answer, "sources", &array) ||
        !json_object_is_type(array, json_type_array))
        return sources;
    size_t len = json_object_array_length(array);
    for (size_t i = 0; i < len && sources->len < LLM_ANSWER_MAX_SOURCES; i++) {
        json_object *item = json_object_array_get_idx(array, i);
        if (!json_object_is_type(item, json_type_int))
            continue;
        gint64 number = json_object_get_int64(item);
        gboolean seen = FALSE;
        for (guint j = 0; j < sources->len && !seen; j++)
            seen =
                ((struct classification_source *)g_ptr_array_index(sources, j))->number == number;
        if (seen)
            continue;
        struct classification_source *source = g_new0(struct classification_source, 1);
        source->number = number;
        guint count = given->sources != NULL ? given->sources->len : 0;
        if (number >= 1 && number <= (gint64)count) {
            const struct knowledge_source *known = g_ptr_array_index(given->sources, number - 1);
            source->path = g_strdup(known->path);
            source->heading = g_strdup(known->heading);
        }
        g_ptr_array_add(sources, source);
    }
    return sources;
}

void llm_answer_parse_reply(const char *content, const struct knowledge_selection *given,
                            const struct pii_map *pii, struct llm_reply *reply_r)
{
    char *object_text = llm_answer_extract_object(content);
    json_object *answer = object_text != NULL ? json_tokener_parse(object_text) : NULL;
    g_free(object_text);
    const char *reply = NULL;
    reply_r->error = NULL;
    reply_r->sources = NULL;
    reply_r->hold = NULL;
    if (answer == NULL || !json_object_is_type(answer, json_type_object))
        reply_r->error = g_strdup("the reply answer is not a JSON object");
    else if ((reply = llm_answer_string(answer, "reply")) == NULL)
        reply_r->error = g_strdup("the reply answer has no reply");
    char *text = reply != NULL ? text_cut(reply, LLM_ANSWER_MAX_REPLY) : g_strdup("");
    if (reply != NULL && given != NULL)
        reply_r->sources = llm_answer_sources(answer, given);
    if (reply != NULL && pii != NULL) {
        /* The check reads what the model wrote; staff and the sender read the values back. */
        if (!pii_reply_is_safe(pii, text, &reply_r->hold) && reply_r->hold == NULL)
            reply_r->hold = g_strdup("the reply is not safe to send without a person");
        char *restored = pii_restore(pii, text);
        g_free(text);
        text = restored;
    }
    reply_r->text = text;
    json_object_put(answer);
}

void llm_answer_restore_summary(struct classification *classification, const struct pii_map *pii)
{
    if (pii == NULL || classification->summary == NULL)
        return;
    char *restored = pii_restore(pii, classification->summary);
    g_free(classification->summary);
    classification->summary = restored;
}

void llm_composed_clear(struct llm_composed *composed)
{
    g_clear_pointer(&composed->subject, g_free);
    g_clear_pointer(&composed->body, g_free);
    g_clear_pointer(&composed->sources, g_array_unref);
    g_clear_pointer(&composed->error, g_free);
    g_clear_pointer(&composed->raw_answer, g_free);
}

char *llm_answer_subject_problem(const char *subject)
{
    if (subject == NULL)
        return g_strdup("the answer has no subject");
    if (!g_utf8_validate(subject, -1, NULL))
        return g_strdup("the subject is not valid UTF-8");
    for (const char *p = subject; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029)
            return g_strdup("the subject holds a line break or a control character");
    }
    char *trimmed = g_strstrip(g_strdup(subject));
    gboolean empty = *trimmed == '\0';
    g_free(trimmed);
    if (empty)
        return g_strdup("the subject is empty");
    if (g_utf8_strlen(subject, -1) > LLM_ANSWER_MAX_SUBJECT)
        return g_strdup_printf("the subject is longer than %d characters", LLM_ANSWER_MAX_SUBJECT);
    return NULL;
}

/* Why BODY cannot be sent, or NULL when it can. */
static char *llm_answer_body_problem(const char *body)
{
    if (body == NULL)
        return g_strdup("the answer has no body");
    if (!g_utf8_validate(body, -1, NULL))
        return g_strdup("the body is not valid UTF-8");
    char *trimmed = g_strstrip(g_strdup(body));
    gboolean empty = *trimmed == '\0';
    g_free(trimmed);
    if (empty)
        return g_strdup("the body is empty");
    if (g_utf8_strlen(body, -1) > LLM_ANSWER_MAX_BODY)
        return g_strdup_printf("the body is longer than %d characters", LLM_ANSWER_MAX_BODY);
    return NULL;
}

/* The source numbers of ANSWER's "sources" into *SOURCES_R, each once, in the order given;
 * or why they cannot stand: not a list of integers, or a number the request did not give. */
static char *llm_answer_compose_sources(const struct llm_compose_request *request,
                                        json_object *answer, GArray **sources_r)
{
    *sources_r = g_array_new(FALSE, FALSE, sizeof(int));
    json_object *list = NULL;
    if (!json_object_object_get_ex(answer, "sources", &list) || list == NULL)
        return NULL;
    if (!json_object_is_type(list, json_type_array))
        return g_strdup("the answer's sources are not a list");
    guint given = request->knowledge != NULL && request->knowledge->sources != NULL
                      ? request->knowledge->sources->len
                      : 0;
    size_t n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++) {
        json_object *item = json_object_array_get_idx(list, i);
        if (!json_object_is_type(item, json_type_int))
            return g_strdup("the answer's sources are not all integers");
        gint64 number = json_object_get_int64(item);
        if (number < 1 || number > (gint64)given)
            return g_strdup_printf("the answer cites source %" G_GINT64_FORMAT
                                   ", and it was given %u",
                                   CLAMP(number, -1000000, 1000000), given);
        gboolean seen = FALSE;
        for (guint j = 0; j < (*sources_r)->len && !seen; j++)
            seen = g_array_index(*sources_r, int, j) == (int)number;
        int value = (int)number;
        if (!seen)
            g_array_append_val(*sources_r, value);
    }
    return NULL;
}

void llm_answer_parse_compose(const struct llm_compose_request *request, const char *content,
                              struct llm_composed *composed_r)
{
    char *object_text = llm_answer_extract_object(content != NULL ? content : "");
    json_object *answer = object_text != NULL ? json_tokener_parse(object_text) : NULL;
    g_free(object_text);
    if (answer == NULL || !json_object_is_type(answer, json_type_object)) {
        json_object_put(answer);
        composed_r->error = g_strdup("the answer is not a JSON object");
        return;
    }
    const char *subject =
        request->subject != NULL ? request->subject : llm_answer_string(answer, "subject");
    const char *body = llm_answer_string(answer, "body");
    char *problem = llm_answer_subject_problem(subject);
    if (problem == NULL)
        problem = llm_answer_body_problem(body);
    GArray *sources = NULL;
    if (problem == NULL)
        problem = llm_answer_compose_sources(request, answer, &sources);
    if (problem == NULL) {
        composed_r->subject = g_strstrip(g_strdup(subject));
        composed_r->body = g_strdup(body);
        composed_r->sources = sources;
    } else {
        composed_r->error = problem;
        if (sources != NULL)
            g_array_unref(sources);
    }
    json_object_put(answer);
}
