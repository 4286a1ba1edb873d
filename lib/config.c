/*
 * config: load and check the INI configuration against the key table; see config.h.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "config.h"
#include "template.h"

#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_TEMPLATE (64 * 1024)
#define CONFIG_MAX_API_KEY 4096

enum config_type {
    CONFIG_TYPE_STRING,
    CONFIG_TYPE_PATH,
    CONFIG_TYPE_ADDRESS,
    CONFIG_TYPE_UINT,
    CONFIG_TYPE_DOUBLE,
    CONFIG_TYPE_BOOL,
    CONFIG_TYPE_ENUM,
    CONFIG_TYPE_DURATION,
    CONFIG_TYPE_SIZE,
    CONFIG_TYPE_LIST,
    CONFIG_TYPE_MODE
};

static const char *const config_type_names[] = {
    "string", "path",     "address", "number", "number",     "yes|no",
    "choice", "duration", "size",    "list",   "octal mode",
};

struct config_key {
    const char *name;
    enum config_type type;
    const char *def;
    double min, max;
    const char *choices;
    const char *doc;
    size_t offset;
};

#define CONFIG_ENTRY(strct, key, type, def, min, max, choices, doc)                                \
    {#key, CONFIG_TYPE_##type, def, min, max, choices, doc, offsetof(struct strct, key)},
#define DAEMON_ENTRY(...) CONFIG_ENTRY(config_daemon, __VA_ARGS__)
#define LLM_ENTRY(...) CONFIG_ENTRY(config_llm, __VA_ARGS__)
#define SENDMAIL_ENTRY(...) CONFIG_ENTRY(config_sendmail, __VA_ARGS__)
#define POLICY_ENTRY(...) CONFIG_ENTRY(config_policy, __VA_ARGS__)
#define MAILBOX_ENTRY(...) CONFIG_ENTRY(config_mailbox, __VA_ARGS__)
#define INTENT_ENTRY(...) CONFIG_ENTRY(config_intent, __VA_ARGS__)

static const struct config_key daemon_keys[] = {CONFIG_DAEMON_KEYS(DAEMON_ENTRY){NULL}};
static const struct config_key llm_keys[] = {CONFIG_LLM_KEYS(LLM_ENTRY){NULL}};
static const struct config_key sendmail_keys[] = {CONFIG_SENDMAIL_KEYS(SENDMAIL_ENTRY){NULL}};
static const struct config_key policy_keys[] = {CONFIG_POLICY_KEYS(POLICY_ENTRY){NULL}};
static const struct config_key mailbox_keys[] = {CONFIG_MAILBOX_KEYS(MAILBOX_ENTRY){NULL}};
static const struct config_key intent_keys[] = {CONFIG_INTENT_KEYS(INTENT_ENTRY){NULL}};

/* A group of the file: fixed ones, or a prefix followed by a name ("mailbox ADDRESS"). */
struct config_group {
    const char *name;
    const struct config_key *keys;
    const char *doc;
    const char *sample_name; /* for prefixed groups: the name shown in samples */
};

static const struct config_group config_groups[] = {
    {"daemon", daemon_keys, "The daemon, the queue and the database.", NULL},
    {"llm", llm_keys, "The classifier.", NULL},
    {"sendmail", sendmail_keys, "How replies and escalations leave.", NULL},
    {"policy", policy_keys, "When an automatic reply may go out (beyond RFC 3834, always on).",
     NULL},
    {"mailbox", mailbox_keys, "One group per monitored mailbox: [mailbox ADDRESS].",
     "support@example.org"},
    {"intent", intent_keys, "One group per intent: [intent NAME].", "send_info"},
};

/* The intents every mailbox may use without defining them. */
static const struct {
    const char *name, *description, *action, *keywords;
} config_default_intents[] = {
    {"send_info",
     "The sender asks for information: products, services, prices, plans, opening hours or "
     "documentation.",
     "reply", "price, pricing, prices, cost, quote, plan, plans, brochure, information"},
    {"create_account", "The sender wants to open an account, sign up, register or get access.",
     "reply", "account, sign up, signup, register, registration"},
    {"speak_to_human", "The sender asks to speak to a person, to be called back, or complains.",
     "escalate", "human, person, speak to, call me, phone me, manager, complaint"},
    {"unknown", "Anything else, or when unsure.", "escalate", ""},
};

/* Templates used when an intent names none. */
static const char config_builtin_template[] = "Hello {{sender_name}},\n"
                                              "\n"
                                              "{{reply}}\n"
                                              "\n"
                                              "Kind regards,\n"
                                              "{{mailbox}}\n"
                                              "{{signature}}\n"
                                              "\n"
                                              "{{disclaimer}}\n";

static const char config_builtin_template_html[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\n"
    "<body>\n"
    "<div style=\"max-width: 600px; font-family: -apple-system, Segoe UI, Roboto, Helvetica, "
    "Arial, sans-serif; font-size: 15px; line-height: 1.5; color: #222;\">\n"
    "<p>Hello {{sender_name}},</p>\n"
    "<div>{{reply}}</div>\n"
    "<p>Kind regards,<br>{{mailbox}}</p>\n"
    "<div style=\"color: #555;\">{{signature}}</div>\n"
    "<div style=\"color: #888; font-size: 12px;\">{{disclaimer}}</div>\n"
    "</div>\n"
    "</body></html>\n";

/* --- parsing values --- */

int config_parse_duration(const char *text, gint64 *seconds_r)
{
    char *end;
    errno = 0;
    if (!g_ascii_isdigit(*text))
        return -1;
    gint64 value = g_ascii_strtoll(text, &end, 10);
    if (errno != 0 || end == text || value < 0)
        return -1;
    gint64 unit = 1;
    switch (*end) {
    case '\0':
    case 's':
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    case 'w':
        unit = 7 * 86400;
        break;
    default:
        return -1;
    }
    if (*end != '\0' && end[1] != '\0')
        return -1;
    if (value > G_MAXINT64 / unit)
        return -1;
    *seconds_r = value * unit;
    return 0;
}

int config_parse_size(const char *text, guint64 *bytes_r)
{
    char *end;
    errno = 0;
    if (!g_ascii_isdigit(*text))
        return -1;
    guint64 value = g_ascii_strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        return -1;
    guint64 unit = 1;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        unit = 1024;
        break;
    case 'M':
        unit = 1024 * 1024;
        break;
    case 'G':
        unit = 1024 * 1024 * 1024;
        break;
    default:
        return -1;
    }
    if (*end != '\0' && end[1] != '\0')
        return -1;
    if (value > G_MAXUINT64 / unit)
        return -1;
    *bytes_r = value * unit;
    return 0;
}

gboolean config_address_is_safe(const char *address)
{
    size_t len = strlen(address);
    const char *at = strchr(address, '@');

    if (len == 0 || len > 254 || at == NULL || at == address || at[1] == '\0' ||
        strchr(at + 1, '@') != NULL || address[0] == '-')
        return FALSE;
    for (const unsigned char *p = (const unsigned char *)address; *p != '\0'; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p) != NULL)
            return FALSE;
    return TRUE;
}

static const struct config_key *config_key_find(const struct config_key *keys, const char *name)
{
    while (keys->name != NULL && strcmp(keys->name, name) != 0)
        keys++;
    return keys->name != NULL ? keys : NULL;
}

static gboolean config_in_bounds(const struct config_key *key, double value)
{
    return !(key->min != 0 || key->max != 0) || (value >= key->min && value <= key->max);
}

static char *config_strip(const char *text)
{
    return g_strstrip(g_strdup(text));
}

/* Store TEXT as KEY's value in the struct at BASE. */
static int config_set_value(const struct config_key *key, const char *text, void *base,
                            char **error_r)
{
    char *field = (char *)base + key->offset;
    char *end;

    switch (key->type) {
    case CONFIG_TYPE_STRING:
    case CONFIG_TYPE_PATH:
        if (key->type == CONFIG_TYPE_PATH && *text != '\0' && *text != '/') {
            *error_r = g_strdup_printf("%s must be an absolute path", key->name);
            return -1;
        }
        g_free(*(char **)field);
        *(char **)field = g_strdup(text);
        return 0;
    case CONFIG_TYPE_ADDRESS:
        if (*text != '\0' && !config_address_is_safe(text)) {
            *error_r = g_strdup_printf("%s: \"%s\" is not a plain mail address", key->name, text);
            return -1;
        }
        g_free(*(char **)field);
        *(char **)field = g_ascii_strdown(text, -1);
        return 0;
    case CONFIG_TYPE_UINT: {
        errno = 0;
        guint64 value = g_ascii_strtoull(text, &end, 10);
        if (errno != 0 || !g_ascii_isdigit(*text) || *end != '\0' || value > G_MAXUINT ||
            !config_in_bounds(key, (double)value)) {
            *error_r = g_strdup_printf("%s must be a whole number from %.0f to %.0f", key->name,
                                       key->min, key->max);
            return -1;
        }
        *(guint *)field = (guint)value;
        return 0;
    }
    case CONFIG_TYPE_DOUBLE: {
        double value = g_ascii_strtod(text, &end);
        if (end == text || *end != '\0' || !isfinite(value) || !config_in_bounds(key, value)) {
            *error_r =
                g_strdup_printf("%s must be a number from %g to %g", key->name, key->min, key->max);
            return -1;
        }
        *(double *)field = value;
        return 0;
    }
    case CONFIG_TYPE_BOOL:
        if (g_ascii_strcasecmp(text, "yes") == 0 || g_ascii_strcasecmp(text, "true") == 0 ||
            strcmp(text, "1") == 0 || g_ascii_strcasecmp(text, "on") == 0)
            *(gboolean *)field = TRUE;
        else if (g_ascii_strcasecmp(text, "no") == 0 || g_ascii_strcasecmp(text, "false") == 0 ||
                 strcmp(text, "0") == 0 || g_ascii_strcasecmp(text, "off") == 0)
            *(gboolean *)field = FALSE;
        else {
            *error_r = g_strdup_printf("%s must be yes or no", key->name);
            return -1;
        }
        return 0;
    case CONFIG_TYPE_ENUM: {
        char **choices = g_strsplit(key->choices, "|", -1);
        int found = -1;
        for (int i = 0; choices[i] != NULL; i++)
            if (g_ascii_strcasecmp(choices[i], text) == 0)
                found = i;
        g_strfreev(choices);
        if (found < 0) {
            *error_r = g_strdup_printf("%s must be one of %s", key->name, key->choices);
            return -1;
        }
        *(int *)field = found;
        return 0;
    }
    case CONFIG_TYPE_DURATION: {
        gint64 seconds;
        if (config_parse_duration(text, &seconds) < 0 || !config_in_bounds(key, (double)seconds)) {
            *error_r = g_strdup_printf("%s must be a duration from %.0fs to %.0fs "
                                       "(a number with s, m, h, d or w)",
                                       key->name, key->min, key->max);
            return -1;
        }
        *(gint64 *)field = seconds;
        return 0;
    }
    case CONFIG_TYPE_SIZE: {
        guint64 bytes;
        if (config_parse_size(text, &bytes) < 0 || !config_in_bounds(key, (double)bytes)) {
            *error_r = g_strdup_printf("%s must be a size from %.0f to %.0f bytes "
                                       "(a number with k, M or G)",
                                       key->name, key->min, key->max);
            return -1;
        }
        *(guint64 *)field = bytes;
        return 0;
    }
    case CONFIG_TYPE_MODE: {
        errno = 0;
        guint64 value = g_ascii_strtoull(text, &end, 8);
        if (errno != 0 || !g_ascii_isdigit(*text) || *end != '\0' || value > 0777) {
            *error_r = g_strdup_printf("%s must be an octal mode from 0000 to 0777", key->name);
            return -1;
        }
        *(guint *)field = (guint)value;
        return 0;
    }
    case CONFIG_TYPE_LIST: {
        GPtrArray *items = g_ptr_array_new();
        char **parts = g_strsplit(text, ",", -1);
        for (int i = 0; parts[i] != NULL; i++) {
            char *item = config_strip(parts[i]);
            if (*item == '\0')
                g_free(item);
            else
                g_ptr_array_add(items, item);
        }
        g_strfreev(parts);
        g_ptr_array_add(items, NULL);
        g_strfreev(*(char ***)field);
        *(char ***)field = (char **)g_ptr_array_free(items, FALSE);
        return 0;
    }
    }
    *error_r = g_strdup("unknown key type");
    return -1;
}

static void config_free_values(const struct config_key *keys, void *base)
{
    for (const struct config_key *key = keys; key->name != NULL; key++) {
        char *field = (char *)base + key->offset;
        if (key->type == CONFIG_TYPE_STRING || key->type == CONFIG_TYPE_PATH ||
            key->type == CONFIG_TYPE_ADDRESS)
            g_free(*(char **)field);
        else if (key->type == CONFIG_TYPE_LIST)
            g_strfreev(*(char ***)field);
    }
}

static void config_set_defaults(const struct config_key *keys, void *base)
{
    for (const struct config_key *key = keys; key->name != NULL; key++) {
        char *error = NULL;
        if (config_set_value(key, key->def, base, &error) < 0)
            g_error("default of %s is invalid: %s", key->name, error); /* cannot happen */
    }
}

/* --- reading the file --- */

struct config_loader {
    const char *path;
    const char *text; /* the file, to find line numbers */
    GKeyFile *keyfile;
    gboolean read_named_files; /* templates and the API key file; see config_load_syntax() */
};

/* The line of KEY in GROUP (or of the group when KEY is NULL); 0 when not found. */
static int config_line_of(const struct config_loader *loader, const char *group, const char *key)
{
    char **lines = g_strsplit(loader->text, "\n", -1);
    gboolean in_group = FALSE;
    int found = 0;

    for (int i = 0; lines[i] != NULL && found == 0; i++) {
        char *line = g_strstrip(lines[i]);
        if (line[0] == '[') {
            char *close = strrchr(line, ']');
            in_group = close != NULL && strlen(group) == (size_t)(close - line - 1) &&
                       strncmp(line + 1, group, strlen(group)) == 0;
            if (in_group && key == NULL)
                found = i + 1;
        } else if (in_group && key != NULL && g_str_has_prefix(line, key)) {
            const char *rest = line + strlen(key);
            while (*rest == ' ' || *rest == '\t')
                rest++;
            if (*rest == '=')
                found = i + 1;
        }
    }
    g_strfreev(lines);
    return found;
}

/* GKeyFile merges a repeated group and keeps the last of a repeated key: both hide mistakes,
 * so they are errors here. */
static int config_check_repeats(const struct config_loader *loader, char **error_r)
{
    char **lines = g_strsplit(loader->text, "\n", -1);
    GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTable *keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char *group = g_strdup("");
    int result = 0;

    for (int i = 0; lines[i] != NULL && result == 0; i++) {
        char *line = g_strstrip(lines[i]);
        if (line[0] == '[') {
            g_free(group);
            group = g_strdup(line);
            if (!g_hash_table_add(groups, g_ascii_strdown(line, -1))) {
                *error_r = g_strdup_printf("%s:%d: %s appears twice", loader->path, i + 1, line);
                result = -1;
            }
        } else if (line[0] != '#' && line[0] != '\0' && strchr(line, '=') != NULL) {
            char *name = g_strstrip(g_strndup(line, (gsize)(strchr(line, '=') - line)));
            char *scoped = g_strconcat(group, name, NULL);
            if (!g_hash_table_add(keys, scoped)) {
                *error_r =
                    g_strdup_printf("%s:%d: %s %s is set twice", loader->path, i + 1, group, name);
                result = -1;
            }
            g_free(name);
        }
    }
    g_free(group);
    g_hash_table_unref(keys);
    g_hash_table_unref(groups);
    g_strfreev(lines);
    return result;
}

static int config_fail(const struct config_loader *loader, const char *group, const char *key,
                       char *reason, char **error_r)
{
    int line = config_line_of(loader, group, key);
    if (line == 0 && key != NULL)
        line = config_line_of(loader, group, NULL);
    if (line > 0)
        *error_r = g_strdup_printf("%s:%d: [%s] %s", loader->path, line, group, reason);
    else
        *error_r = g_strdup_printf("%s: [%s] %s", loader->path, group, reason);
    g_free(reason);
    return -1;
}

/* GKeyFile has no trailing comments: "value # comment" is read as the value. Where a # cannot
 * be part of a value (numbers, choices, durations...) or cannot start one of its words (lists,
 * addresses: "c#" is a fine keyword), it was meant as a comment: an error that says so, rather
 * than a value rejected for a reason the reader cannot see, or a list with a silently different
 * item. Strings and paths keep their #. */
static char *config_comment_in_value(const struct config_key *key, const char *value)
{
    const char *hash = strchr(value, '#');
    if (hash == NULL || key->type == CONFIG_TYPE_STRING || key->type == CONFIG_TYPE_PATH)
        return NULL;
    if (key->type != CONFIG_TYPE_LIST && key->type != CONFIG_TYPE_ADDRESS)
        return g_strdup_printf("%s: a comment must be on a line of its own (# is not part of any "
                               "value of this key)",
                               key->name);
    for (; hash != NULL; hash = strchr(hash + 1, '#'))
        if (hash == value || g_ascii_isspace(hash[-1]) || hash[-1] == ',')
            return g_strdup_printf("%s: a comment must be on a line of its own (no word of "
                                   "this key's value starts with #)",
                                   key->name);
    return NULL;
}

/* Read GROUP's keys into BASE: defaults first, then the file's values, rejecting unknown keys. */
static int config_read_group(const struct config_loader *loader, const char *group,
                             const struct config_key *keys, void *base, char **error_r)
{
    config_set_defaults(keys, base);
    if (!g_key_file_has_group(loader->keyfile, group))
        return 0;

    gsize n_keys = 0;
    char **names = g_key_file_get_keys(loader->keyfile, group, &n_keys, NULL);
    int result = 0;
    for (gsize i = 0; i < n_keys && result == 0; i++) {
        const struct config_key *key = config_key_find(keys, names[i]);
        if (key == NULL) {
            result = config_fail(loader, group, names[i],
                                 g_strdup_printf("unknown key \"%s\"", names[i]), error_r);
            break;
        }
        GError *gerror = NULL;
        char *value = g_key_file_get_string(loader->keyfile, group, names[i], &gerror);
        if (value == NULL) {
            result = config_fail(loader, group, names[i],
                                 g_strdup_printf("%s: %s", names[i], gerror->message), error_r);
            g_error_free(gerror);
            break;
        }
        char *stripped = config_strip(value);
        char *reason = config_comment_in_value(key, stripped);
        if (reason != NULL || config_set_value(key, stripped, base, &reason) < 0)
            result = config_fail(loader, group, names[i], reason, error_r);
        g_free(stripped);
        g_free(value);
    }
    g_strfreev(names);
    return result;
}

static void config_mailbox_free(gpointer data)
{
    struct config_mailbox *mailbox = data;
    config_free_values(mailbox_keys, mailbox);
    g_free(mailbox->address);
    g_free(mailbox);
}

static void config_intent_free(gpointer data)
{
    struct config_intent *intent = data;
    config_free_values(intent_keys, intent);
    g_free(intent->intent);
    g_free(intent->template_text);
    g_free(intent->template_html_text);
    g_free(intent);
}

static gboolean config_intent_name_is_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 64)
        return FALSE;
    for (const char *p = name; *p != '\0'; p++)
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
            return FALSE;
    return TRUE;
}

/* Read the template file PATH (KEY names it in errors) into *TEXT_R, or BUILTIN when empty. */
static int config_load_template_file(const struct config_loader *loader, const char *group,
                                     const char *key, const char *path, const char *builtin,
                                     char **text_r, char **error_r)
{
    if (path == NULL || *path == '\0') {
        *text_r = g_strdup(builtin);
        return 0;
    }
    char *text = NULL;
    gsize len = 0;
    GError *gerror = NULL;
    if (!g_file_get_contents(path, &text, &len, &gerror)) {
        int result = config_fail(loader, group, key,
                                 g_strdup_printf("%s: %s", key, gerror->message), error_r);
        g_error_free(gerror);
        return result;
    }
    char *reason = NULL;
    if (len > CONFIG_MAX_TEMPLATE)
        reason = g_strdup_printf("%s %s is larger than %d bytes", key, path, CONFIG_MAX_TEMPLATE);
    else if (!g_utf8_validate(text, (gssize)len, NULL))
        reason = g_strdup_printf("%s %s is not valid UTF-8", key, path);
    else if (template_check(text, &reason) < 0) {
        char *detail = reason;
        reason = g_strdup_printf("%s %s: %s", key, path, detail);
        g_free(detail);
    }
    if (reason != NULL) {
        g_free(text);
        return config_fail(loader, group, key, reason, error_r);
    }
    *text_r = text;
    return 0;
}

static int config_load_template(const struct config_loader *loader, const char *group,
                                struct config_intent *intent, char **error_r)
{
    if (config_load_template_file(loader, group, "template", intent->template,
                                  config_builtin_template, &intent->template_text, error_r) < 0)
        return -1;
    return config_load_template_file(loader, group, "template_html", intent->template_html,
                                     config_builtin_template_html, &intent->template_html_text,
                                     error_r);
}

static int config_read_intent(const struct config_loader *loader, struct config *cfg,
                              const char *group, const char *name, char **error_r)
{
    if (!config_intent_name_is_valid(name))
        return config_fail(loader, group, NULL,
                           g_strdup_printf("intent name \"%s\": use letters, digits, _ and -, "
                                           "at most 64",
                                           name),
                           error_r);

    struct config_intent *intent = g_new0(struct config_intent, 1);
    intent->intent = g_strdup(name);
    g_ptr_array_add(cfg->intents, intent);
    if (config_read_group(loader, group, intent_keys, intent, error_r) < 0)
        return -1;
    /* A group that leaves a default intent's keys unset keeps that intent's defaults. */
    for (size_t i = 0; i < G_N_ELEMENTS(config_default_intents); i++) {
        if (strcmp(config_default_intents[i].name, name) != 0)
            continue;
        char *unused = NULL;
        if (!g_key_file_has_key(loader->keyfile, group, "description", NULL))
            config_set_value(config_key_find(intent_keys, "description"),
                             config_default_intents[i].description, intent, &unused);
        if (!g_key_file_has_key(loader->keyfile, group, "action", NULL))
            config_set_value(config_key_find(intent_keys, "action"),
                             config_default_intents[i].action, intent, &unused);
        if (!g_key_file_has_key(loader->keyfile, group, "keywords", NULL))
            config_set_value(config_key_find(intent_keys, "keywords"),
                             config_default_intents[i].keywords, intent, &unused);
    }
    if (intent->action == CONFIG_ACTION_WEBHOOK &&
        !g_str_has_prefix(intent->webhook_url, "http://") &&
        !g_str_has_prefix(intent->webhook_url, "https://"))
        return config_fail(loader, group, "webhook_url",
                           g_strdup("action webhook needs an http:// or https:// webhook_url"),
                           error_r);
    return loader->read_named_files ? config_load_template(loader, group, intent, error_r) : 0;
}

static void config_add_default_intent(struct config *cfg, size_t index)
{
    struct config_intent *intent = g_new0(struct config_intent, 1);
    char *unused = NULL;

    intent->intent = g_strdup(config_default_intents[index].name);
    config_set_defaults(intent_keys, intent);
    config_set_value(config_key_find(intent_keys, "description"),
                     config_default_intents[index].description, intent, &unused);
    config_set_value(config_key_find(intent_keys, "action"), config_default_intents[index].action,
                     intent, &unused);
    config_set_value(config_key_find(intent_keys, "keywords"),
                     config_default_intents[index].keywords, intent, &unused);
    intent->template_text = g_strdup(config_builtin_template);
    intent->template_html_text = g_strdup(config_builtin_template_html);
    g_ptr_array_add(cfg->intents, intent);
}

static int config_read_mailbox(const struct config_loader *loader, struct config *cfg,
                               const char *group, const char *address, char **error_r)
{
    if (!config_address_is_safe(address))
        return config_fail(loader, group, NULL,
                           g_strdup_printf("\"%s\" is not a plain mail address", address), error_r);

    struct config_mailbox *mailbox = g_new0(struct config_mailbox, 1);
    mailbox->address = g_ascii_strdown(address, -1);
    g_ptr_array_add(cfg->mailboxes, mailbox);
    if (config_read_group(loader, group, mailbox_keys, mailbox, error_r) < 0)
        return -1;
    if (mailbox->mode != CONFIG_MODE_OFF && *mailbox->escalate_to == '\0')
        return config_fail(loader, group, NULL,
                           g_strdup("escalate_to is required unless mode is off"), error_r);
    if (mailbox->name != NULL && strpbrk(mailbox->name, "\r\n") != NULL)
        return config_fail(loader, group, "name", g_strdup("name must be one line"), error_r);

    gboolean has_unknown = FALSE;
    for (char **name = mailbox->intents; *name != NULL; name++) {
        if (strcmp(*name, "unknown") == 0)
            has_unknown = TRUE;
        if (config_intent_find(cfg, *name) != NULL)
            continue;
        size_t i = 0;
        while (i < G_N_ELEMENTS(config_default_intents) &&
               strcmp(config_default_intents[i].name, *name) != 0)
            i++;
        if (i == G_N_ELEMENTS(config_default_intents))
            return config_fail(
                loader, group, "intents",
                g_strdup_printf("intent \"%s\" has no [intent %s] group", *name, *name), error_r);
        config_add_default_intent(cfg, i);
    }
    if (!has_unknown) {
        guint n = g_strv_length(mailbox->intents);
        mailbox->intents = g_renew(char *, mailbox->intents, n + 2);
        mailbox->intents[n] = g_strdup("unknown");
        mailbox->intents[n + 1] = NULL;
        if (config_intent_find(cfg, "unknown") == NULL)
            config_add_default_intent(cfg, G_N_ELEMENTS(config_default_intents) - 1);
    }
    return 0;
}

static int config_read_api_key(const struct config_loader *loader, struct config *cfg,
                               char **error_r)
{
    if (*cfg->llm.api_key_file == '\0')
        return 0;
    char *text = NULL;
    gsize len = 0;
    GError *gerror = NULL;
    if (!g_file_get_contents(cfg->llm.api_key_file, &text, &len, &gerror)) {
        char *reason = g_strdup_printf("api_key_file: %s", gerror->message);
        g_error_free(gerror);
        return config_fail(loader, "llm", "api_key_file", reason, error_r);
    }
    g_strstrip(text);
    if (len > CONFIG_MAX_API_KEY || *text == '\0' || strpbrk(text, "\r\n") != NULL) {
        char *reason =
            g_strdup_printf("api_key_file %s must hold one key on one line", cfg->llm.api_key_file);
        g_free(text);
        return config_fail(loader, "llm", "api_key_file", reason, error_r);
    }
    cfg->api_key = text;
    return 0;
}

/* [daemon] KEY names a user or group (WHAT): no name getpwnam() or getgrnam() can know has a
 * blank, a control character or a colon, and a blank most often starts a comment. */
static int config_check_account_name(const struct config_loader *loader, const char *key,
                                     const char *name, const char *what, char **error_r)
{
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
        if (*p <= ' ' || *p == ':' || *p == 0x7f)
            return config_fail(loader, "daemon", key,
                               g_strdup_printf("%s: \"%s\" is not a %s name (a comment must be on "
                                               "a line of its own)",
                                               key, name, what),
                               error_r);
    return 0;
}

static int config_check_whole(const struct config_loader *loader, struct config *cfg,
                              char **error_r)
{
    if (config_check_account_name(loader, "user", cfg->daemon.user, "user", error_r) < 0 ||
        config_check_account_name(loader, "socket_group", cfg->daemon.socket_group, "group",
                                  error_r) < 0)
        return -1;
    if (cfg->llm.provider == CONFIG_PROVIDER_OPENAI) {
        if (!g_str_has_prefix(cfg->llm.url, "http://") &&
            !g_str_has_prefix(cfg->llm.url, "https://"))
            return config_fail(loader, "llm", "url",
                               g_strdup("provider openai needs an http:// or https:// url"),
                               error_r);
        if (*cfg->llm.model == '\0')
            return config_fail(loader, "llm", "model", g_strdup("provider openai needs a model"),
                               error_r);
    }
    if (cfg->daemon.lease_time <= cfg->llm.timeout + cfg->sendmail.timeout)
        return config_fail(loader, "daemon", "lease_time",
                           g_strdup("lease_time must exceed llm.timeout plus sendmail.timeout"),
                           error_r);
    if (cfg->llm.max_attempts >= cfg->daemon.max_attempts)
        return config_fail(loader, "llm", "max_attempts",
                           g_strdup("llm.max_attempts must be less than daemon.max_attempts, or "
                                    "messages fail before the builtin fallback"),
                           error_r);
    if (cfg->policy.require_auth != CONFIG_REQUIRE_AUTH_NONE &&
        g_strv_length(cfg->policy.trusted_authserv_ids) == 0)
        return config_fail(loader, "policy", "require_auth",
                           g_strdup("require_auth needs trusted_authserv_ids: no "
                                    "Authentication-Results header would be believed"),
                           error_r);
    if (cfg->daemon.retry_max < cfg->daemon.retry_base)
        return config_fail(loader, "daemon", "retry_max",
                           g_strdup("retry_max must not be shorter than retry_base"), error_r);
    if (cfg->mailboxes->len == 0) {
        *error_r = g_strdup_printf("%s: no [mailbox ADDRESS] group: nothing to triage", cfg->path);
        return -1;
    }
    return loader->read_named_files ? config_read_api_key(loader, cfg, error_r) : 0;
}

static int config_read_groups(const struct config_loader *loader, struct config *cfg,
                              char **error_r)
{
    if (config_read_group(loader, "daemon", daemon_keys, &cfg->daemon, error_r) < 0 ||
        config_read_group(loader, "llm", llm_keys, &cfg->llm, error_r) < 0 ||
        config_read_group(loader, "sendmail", sendmail_keys, &cfg->sendmail, error_r) < 0 ||
        config_read_group(loader, "policy", policy_keys, &cfg->policy, error_r) < 0)
        return -1;

    gsize n_groups = 0;
    char **groups = g_key_file_get_groups(loader->keyfile, &n_groups);
    int result = 0;
    /* Intents first, so that mailboxes can refer to them whatever the order of the file. */
    for (int pass = 0; pass < 2 && result == 0; pass++) {
        for (gsize i = 0; i < n_groups && result == 0; i++) {
            const char *group = groups[i];
            if (pass == 0 && g_str_has_prefix(group, "intent "))
                result = config_read_intent(loader, cfg, group, group + strlen("intent "), error_r);
            else if (pass == 1 && g_str_has_prefix(group, "mailbox "))
                result =
                    config_read_mailbox(loader, cfg, group, group + strlen("mailbox "), error_r);
            else if (pass == 0 && strcmp(group, "daemon") != 0 && strcmp(group, "llm") != 0 &&
                     strcmp(group, "sendmail") != 0 && strcmp(group, "policy") != 0 &&
                     !g_str_has_prefix(group, "intent ") && !g_str_has_prefix(group, "mailbox "))
                result = config_fail(loader, group, NULL,
                                     g_strdup("unknown group (expected daemon, llm, sendmail, "
                                              "policy, mailbox ADDRESS or intent NAME)"),
                                     error_r);
        }
    }
    g_strfreev(groups);
    return result;
}

static struct config *config_load_file(const char *path, gboolean read_named_files, char **error_r)
{
    char *text = NULL;
    gsize len = 0;
    GError *gerror = NULL;

    if (!g_file_get_contents(path, &text, &len, &gerror)) {
        *error_r = g_strdup(gerror->message);
        g_error_free(gerror);
        return NULL;
    }
    if (len > CONFIG_MAX_FILE || !g_utf8_validate(text, (gssize)len, NULL)) {
        *error_r =
            g_strdup_printf("%s: not a UTF-8 text file of at most %d bytes", path, CONFIG_MAX_FILE);
        g_free(text);
        return NULL;
    }

    struct config_loader loader = {path, text, g_key_file_new(), read_named_files};
    struct config *cfg = g_new0(struct config, 1);
    cfg->refcount = 1;
    cfg->path = g_strdup(path);
    cfg->mailboxes = g_ptr_array_new_with_free_func(config_mailbox_free);
    cfg->intents = g_ptr_array_new_with_free_func(config_intent_free);

    int result = 0;
    if (!g_key_file_load_from_data(loader.keyfile, text, len, G_KEY_FILE_NONE, &gerror)) {
        *error_r = g_strdup_printf("%s: %s", path, gerror->message);
        g_error_free(gerror);
        result = -1;
    }
    if (result == 0)
        result = config_check_repeats(&loader, error_r);
    if (result == 0)
        result = config_read_groups(&loader, cfg, error_r);
    if (result == 0)
        result = config_check_whole(&loader, cfg, error_r);
    if (result == 0) {
        char host[256];
        if (*cfg->daemon.hostname != '\0')
            cfg->hostname = g_strdup(cfg->daemon.hostname);
        else if (gethostname(host, sizeof(host)) == 0 && memchr(host, '\0', sizeof(host)))
            cfg->hostname = g_strdup(host);
        else
            cfg->hostname = g_strdup("localhost");
    }
    g_key_file_free(loader.keyfile);
    g_free(text);
    if (result < 0) {
        config_unref(cfg);
        return NULL;
    }
    return cfg;
}

struct config *config_load(const char *path, char **error_r)
{
    return config_load_file(path, TRUE, error_r);
}

struct config *config_load_syntax(const char *path, char **error_r)
{
    return config_load_file(path, FALSE, error_r);
}

struct config *config_ref(struct config *cfg)
{
    g_atomic_int_inc(&cfg->refcount);
    return cfg;
}

void config_unref(struct config *cfg)
{
    if (cfg == NULL || !g_atomic_int_dec_and_test(&cfg->refcount))
        return;
    config_free_values(daemon_keys, &cfg->daemon);
    config_free_values(llm_keys, &cfg->llm);
    config_free_values(sendmail_keys, &cfg->sendmail);
    config_free_values(policy_keys, &cfg->policy);
    g_ptr_array_unref(cfg->mailboxes);
    g_ptr_array_unref(cfg->intents);
    if (cfg->api_key != NULL)
        explicit_bzero(cfg->api_key, strlen(cfg->api_key));
    g_free(cfg->api_key);
    g_free(cfg->hostname);
    g_free(cfg->path);
    g_free(cfg);
}

const struct config_mailbox *config_mailbox_find(const struct config *cfg, const char *address)
{
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        if (g_ascii_strcasecmp(mailbox->address, address) == 0)
            return mailbox;
    }
    return NULL;
}

const struct config_intent *config_intent_find(const struct config *cfg, const char *name)
{
    for (guint i = 0; i < cfg->intents->len; i++) {
        const struct config_intent *intent = g_ptr_array_index(cfg->intents, i);
        if (strcmp(intent->intent, name) == 0)
            return intent;
    }
    return NULL;
}

/* --- printing --- */

static void config_append_wrapped(GString *out, const char *prefix, const char *text)
{
    const size_t width = 78;
    size_t column = 0;
    char **words = g_strsplit(text, " ", -1);

    for (int i = 0; words[i] != NULL; i++) {
        size_t len = strlen(words[i]);
        if (column == 0) {
            g_string_append(out, prefix);
            column = strlen(prefix);
        } else if (column + 1 + len > width) {
            g_string_append_printf(out, "\n%s", prefix);
            column = strlen(prefix);
        } else {
            g_string_append_c(out, ' ');
            column++;
        }
        g_string_append(out, words[i]);
        column += len;
    }
    g_string_append_c(out, '\n');
    g_strfreev(words);
}

/* KEY's value in the struct at BASE, as the file would write it. */
static char *config_format_value(const struct config_key *key, const void *base)
{
    const char *field = (const char *)base + key->offset;

    switch (key->type) {
    case CONFIG_TYPE_STRING:
    case CONFIG_TYPE_PATH:
    case CONFIG_TYPE_ADDRESS:
        return g_strdup(*(char *const *)field);
    case CONFIG_TYPE_UINT:
        return g_strdup_printf("%u", *(const guint *)field);
    case CONFIG_TYPE_DOUBLE: {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        return g_strdup(g_ascii_formatd(buf, sizeof(buf), "%g", *(const double *)field));
    }
    case CONFIG_TYPE_BOOL:
        return g_strdup(*(const gboolean *)field ? "yes" : "no");
    case CONFIG_TYPE_ENUM: {
        char **choices = g_strsplit(key->choices, "|", -1);
        char *value = g_strdup(choices[*(const int *)field]);
        g_strfreev(choices);
        return value;
    }
    case CONFIG_TYPE_DURATION:
        return g_strdup_printf("%" G_GINT64_FORMAT "s", *(const gint64 *)field);
    case CONFIG_TYPE_SIZE:
        return g_strdup_printf("%" G_GUINT64_FORMAT, *(const guint64 *)field);
    case CONFIG_TYPE_LIST:
        return g_strjoinv(", ", *(char **const *)field);
    case CONFIG_TYPE_MODE:
        return g_strdup_printf("%04o", *(const guint *)field);
    }
    return g_strdup("");
}

static void config_print_group_defaults(GString *out, const struct config_group *group)
{
    if (group->sample_name != NULL)
        g_string_append_printf(out, "# %s\n[%s %s]\n", group->doc, group->name, group->sample_name);
    else
        g_string_append_printf(out, "# %s\n[%s]\n", group->doc, group->name);
    for (const struct config_key *key = group->keys; key->name != NULL; key++) {
        config_append_wrapped(out, "# ", key->doc);
        g_string_append_printf(out, "#%s =%s%s\n", key->name, *key->def != '\0' ? " " : "",
                               key->def);
    }
    g_string_append_c(out, '\n');
}

void config_print_defaults(GString *out)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_groups); i++)
        config_print_group_defaults(out, &config_groups[i]);
}

static void config_print_values(GString *out, const char *header, const struct config_key *keys,
                                const void *base)
{
    g_string_append_printf(out, "[%s]\n", header);
    for (const struct config_key *key = keys; key->name != NULL; key++) {
        char *value = config_format_value(key, base);
        g_string_append_printf(out, "%s = %s\n", key->name, value);
        g_free(value);
    }
    g_string_append_c(out, '\n');
}

void config_print(const struct config *cfg, GString *out)
{
    config_print_values(out, "daemon", daemon_keys, &cfg->daemon);
    config_print_values(out, "llm", llm_keys, &cfg->llm);
    config_print_values(out, "sendmail", sendmail_keys, &cfg->sendmail);
    config_print_values(out, "policy", policy_keys, &cfg->policy);
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        char *header = g_strdup_printf("mailbox %s", mailbox->address);
        config_print_values(out, header, mailbox_keys, mailbox);
        g_free(header);
    }
    for (guint i = 0; i < cfg->intents->len; i++) {
        const struct config_intent *intent = g_ptr_array_index(cfg->intents, i);
        char *header = g_strdup_printf("intent %s", intent->intent);
        config_print_values(out, header, intent_keys, intent);
        g_free(header);
    }
}

static void config_append_roff(GString *out, const char *text)
{
    if (*text == '.' || *text == '\'')
        g_string_append(out, "\\&");
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\\')
            g_string_append(out, "\\e");
        else if (*p == '-')
            g_string_append(out, "\\-");
        else
            g_string_append_c(out, *p);
    }
}

void config_print_man(GString *out)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_groups); i++) {
        const struct config_group *group = &config_groups[i];
        if (group->sample_name != NULL)
            g_string_append_printf(out, ".SS [%s %s]\n", group->name,
                                   strcmp(group->name, "mailbox") == 0 ? "ADDRESS" : "NAME");
        else
            g_string_append_printf(out, ".SS [%s]\n", group->name);
        config_append_roff(out, group->doc);
        g_string_append_c(out, '\n');
        for (const struct config_key *key = group->keys; key->name != NULL; key++) {
            g_string_append_printf(out, ".TP\n.B %s\n(%s", key->name,
                                   key->type == CONFIG_TYPE_ENUM ? key->choices
                                                                 : config_type_names[key->type]);
            g_string_append(out, ", default \\(lq");
            config_append_roff(out, key->def);
            g_string_append(out, "\\(rq)\n");
            config_append_roff(out, key->doc);
            g_string_append_c(out, '\n');
        }
    }
}
