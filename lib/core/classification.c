/*
 * classification: the classifiers' result type; see classification.h.
 */
#include <string.h>

#include <glib.h>
#include <json-c/json.h>

#include "classification.h"
#include "config.h"

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
    g_free(classification->reply_error);
    if (classification->reply_sources != NULL)
        g_ptr_array_unref(classification->reply_sources);
    g_free(classification->reply_hold);
    g_free(classification);
}

gboolean classification_intent_allowed(const struct config_mailbox *mailbox, const char *intent)
{
    for (char **name = mailbox->intents; *name != NULL; name++)
        if (strcmp(*name, intent) == 0)
            return TRUE;
    return FALSE;
}

static void classification_source_free(gpointer data)
{
    struct classification_source *source = data;
    g_free(source->path);
    g_free(source->heading);
    g_free(source);
}

GPtrArray *classification_sources_new(void)
{
    return g_ptr_array_new_with_free_func(classification_source_free);
}

static json_object *classification_json_text(const char *text)
{
    return text != NULL ? json_object_new_string(text) : NULL;
}

char *classification_sources_json(const GPtrArray *sources, gboolean given_only)
{
    if (sources == NULL)
        return NULL;
    json_object *array = json_object_new_array();
    for (guint i = 0; i < sources->len; i++) {
        const struct classification_source *source = g_ptr_array_index(sources, i);
        if (given_only && source->path == NULL)
            continue;
        json_object *entry = json_object_new_object();
        json_object_object_add(entry, "number", json_object_new_int64(source->number));
        json_object_object_add(entry, "path", classification_json_text(source->path));
        json_object_object_add(entry, "heading", classification_json_text(source->heading));
        json_object_array_add(array, entry);
    }
    char *text = g_strdup(json_object_to_json_string_ext(array, JSON_C_TO_STRING_PLAIN));
    json_object_put(array);
    return text;
}

static char *classification_json_dup(json_object *entry, const char *key)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex(entry, key, &value) ||
        !json_object_is_type(value, json_type_string))
        return NULL;
    return g_strdup(json_object_get_string(value));
}

GPtrArray *classification_sources_parse(const char *json)
{
    json_object *array = json != NULL ? json_tokener_parse(json) : NULL;
    if (array == NULL || !json_object_is_type(array, json_type_array)) {
        json_object_put(array);
        return NULL;
    }
    GPtrArray *sources = classification_sources_new();
    for (size_t i = 0; i < json_object_array_length(array); i++) {
        json_object *entry = json_object_array_get_idx(array, i);
        json_object *number = NULL;
        if (!json_object_is_type(entry, json_type_object) ||
            !json_object_object_get_ex(entry, "number", &number) ||
            !json_object_is_type(number, json_type_int))
            continue;
        struct classification_source *source = g_new0(struct classification_source, 1);
        source->number = json_object_get_int64(number);
        source->path = classification_json_dup(entry, "path");
        source->heading = classification_json_dup(entry, "heading");
        g_ptr_array_add(sources, source);
    }
    json_object_put(array);
    return sources;
}
