/*
 * config_types: the table of key types and the key tables; see config_types.h.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "addr.h"
#include "config_model.h"
#include "config_types.h"

#define CONFIG_TYPES_ENTRY(strct, key, type, def, min, max, choices, doc)                          \
    {#key, CONFIG_TYPE_##type, def, min, max, choices, doc, offsetof(struct strct, key)},
#define DAEMON_ENTRY(...) CONFIG_TYPES_ENTRY(config_daemon, __VA_ARGS__)
#define LLM_ENTRY(...) CONFIG_TYPES_ENTRY(config_llm, __VA_ARGS__)
#define SENDMAIL_ENTRY(...) CONFIG_TYPES_ENTRY(config_sendmail, __VA_ARGS__)
#define POLICY_ENTRY(...) CONFIG_TYPES_ENTRY(config_policy, __VA_ARGS__)
#define MAILBOX_ENTRY(...) CONFIG_TYPES_ENTRY(config_mailbox, __VA_ARGS__)
#define INTENT_ENTRY(...) CONFIG_TYPES_ENTRY(config_intent, __VA_ARGS__)

const struct config_key config_types_daemon_keys[] = {CONFIG_DAEMON_KEYS(DAEMON_ENTRY){NULL}};
const struct config_key config_types_llm_keys[] = {CONFIG_LLM_KEYS(LLM_ENTRY){NULL}};
const struct config_key config_types_sendmail_keys[] = {CONFIG_SENDMAIL_KEYS(SENDMAIL_ENTRY){NULL}};
const struct config_key config_types_policy_keys[] = {CONFIG_POLICY_KEYS(POLICY_ENTRY){NULL}};
const struct config_key config_types_mailbox_keys[] = {CONFIG_MAILBOX_KEYS(MAILBOX_ENTRY){NULL}};
const struct config_key config_types_intent_keys[] = {CONFIG_INTENT_KEYS(INTENT_ENTRY){NULL}};

/* --- value parsers shared with the CLI --- */

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

/* --- one parse, format and free function per type --- */

static gboolean config_types_in_bounds(const struct config_key *key, double value)
{
    return !(key->min != 0 || key->max != 0) || (value >= key->min && value <= key->max);
}

static void config_types_replace_string(void *field, char *value)
{
    g_free(*(char **)field);
    *(char **)field = value;
}

static int config_types_parse_string(const struct config_key *key, const char *text, void *field,
                                     char **error_r)
{
    config_types_replace_string(field, g_strdup(text));
    return 0;
}

static int config_types_parse_path(const struct config_key *key, const char *text, void *field,
                                   char **error_r)
{
    if (*text != '\0' && *text != '/') {
        *error_r = g_strdup_printf("%s must be an absolute path", key->name);
        return -1;
    }
    config_types_replace_string(field, g_strdup(text));
    return 0;
}

static int config_types_parse_address(const struct config_key *key, const char *text, void *field,
                                      char **error_r)
{
    if (*text != '\0' && !addr_is_safe(text)) {
        *error_r = g_strdup_printf("%s: \"%s\" is not a plain mail address", key->name, text);
        return -1;
    }
    config_types_replace_string(field, g_ascii_strdown(text, -1));
    return 0;
}

static char *config_types_format_string(const struct config_key *key, const void *field)
{
    return g_strdup(*(char *const *)field);
}

static void config_types_free_string(void *field)
{
    g_free(*(char **)field);
}

static int config_types_parse_uint(const struct config_key *key, const char *text, void *field,
                                   char **error_r)
{
    char *end;
    errno = 0;
    guint64 value = g_ascii_strtoull(text, &end, 10);
    if (errno != 0 || !g_ascii_isdigit(*text) || *end != '\0' || value > G_MAXUINT ||
        !config_types_in_bounds(key, (double)value)) {
        *error_r = g_strdup_printf("%s must be a whole number from %.0f to %.0f", key->name,
                                   key->min, key->max);
        return -1;
    }
    *(guint *)field = (guint)value;
    return 0;
}

static char *config_types_format_uint(const struct config_key *key, const void *field)
{
    return g_strdup_printf("%u", *(const guint *)field);
}

/* Numbers, choices and the like own no memory. */
static void config_types_free_nothing(void *field) {}

static int config_types_parse_double(const struct config_key *key, const char *text, void *field,
                                     char **error_r)
{
    char *end;
    double value = g_ascii_strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(value) || !config_types_in_bounds(key, value)) {
        *error_r =
            g_strdup_printf("%s must be a number from %g to %g", key->name, key->min, key->max);
        return -1;
    }
    *(double *)field = value;
    return 0;
}

static char *config_types_format_double(const struct config_key *key, const void *field)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_strdup(g_ascii_formatd(buf, sizeof(buf), "%g", *(const double *)field));
}

static int config_types_parse_bool(const struct config_key *key, const char *text, void *field,
                                   char **error_r)
{
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
}

static char *config_types_format_bool(const struct config_key *key, const void *field)
{
    return g_strdup(*(const gboolean *)field ? "yes" : "no");
}

/* An ENUM is stored as the index of its choice, in the order of the key's "a|b|c". */
static int config_types_parse_enum(const struct config_key *key, const char *text, void *field,
                                   char **error_r)
{
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

static char *config_types_format_enum(const struct config_key *key, const void *field)
{
    char **choices = g_strsplit(key->choices, "|", -1);
    char *value = g_strdup(choices[*(const int *)field]);
    g_strfreev(choices);
    return value;
}

static int config_types_parse_duration(const struct config_key *key, const char *text, void *field,
                                       char **error_r)
{
    gint64 seconds;
    if (config_parse_duration(text, &seconds) < 0 ||
        !config_types_in_bounds(key, (double)seconds)) {
        *error_r = g_strdup_printf("%s must be a duration from %.0fs to %.0fs "
                                   "(a number with s, m, h, d or w)",
                                   key->name, key->min, key->max);
        return -1;
    }
    *(gint64 *)field = seconds;
    return 0;
}

static char *config_types_format_duration(const struct config_key *key, const void *field)
{
    return g_strdup_printf("%" G_GINT64_FORMAT "s", *(const gint64 *)field);
}

static int config_types_parse_size(const struct config_key *key, const char *text, void *field,
                                   char **error_r)
{
    guint64 bytes;
    if (config_parse_size(text, &bytes) < 0 || !config_types_in_bounds(key, (double)bytes)) {
        *error_r = g_strdup_printf("%s must be a size from %.0f to %.0f bytes "
                                   "(a number with k, M or G)",
                                   key->name, key->min, key->max);
        return -1;
    }
    *(guint64 *)field = bytes;
    return 0;
}

static char *config_types_format_size(const struct config_key *key, const void *field)
{
    return g_strdup_printf("%" G_GUINT64_FORMAT, *(const guint64 *)field);
}

/* Items are stripped and empty ones dropped: "a,, b" is the list a, b. */
static int config_types_parse_list(const struct config_key *key, const char *text, void *field,
                                   char **error_r)
{
    GPtrArray *items = g_ptr_array_new();
    char **parts = g_strsplit(text, ",", -1);
    for (int i = 0; parts[i] != NULL; i++) {
        char *item = g_strstrip(g_strdup(parts[i]));
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

static char *config_types_format_list(const struct config_key *key, const void *field)
{
    return g_strjoinv(", ", *(char **const *)field);
}

static void config_types_free_list(void *field)
{
    g_strfreev(*(char ***)field);
}

static int config_types_parse_mode(const struct config_key *key, const char *text, void *field,
                                   char **error_r)
{
    char *end;
    errno = 0;
    guint64 value = g_ascii_strtoull(text, &end, 8);
    if (errno != 0 || !g_ascii_isdigit(*text) || *end != '\0' || value > 0777) {
        *error_r = g_strdup_printf("%s must be an octal mode from 0000 to 0777", key->name);
        return -1;
    }
    *(guint *)field = (guint)value;
    return 0;
}

static char *config_types_format_mode(const struct config_key *key, const void *field)
{
    return g_strdup_printf("%04o", *(const guint *)field);
}

const struct config_type_info config_types_table[CONFIG_TYPE_COUNT] = {
    [CONFIG_TYPE_STRING] = {"string", config_types_parse_string, config_types_format_string,
                            config_types_free_string, CONFIG_HASH_ANYWHERE},
    [CONFIG_TYPE_PATH] = {"path", config_types_parse_path, config_types_format_string,
                          config_types_free_string, CONFIG_HASH_ANYWHERE},
    [CONFIG_TYPE_ADDRESS] = {"address", config_types_parse_address, config_types_format_string,
                             config_types_free_string, CONFIG_HASH_INSIDE_WORDS},
    [CONFIG_TYPE_UINT] = {"number", config_types_parse_uint, config_types_format_uint,
                          config_types_free_nothing, CONFIG_HASH_NEVER},
    [CONFIG_TYPE_DOUBLE] = {"number", config_types_parse_double, config_types_format_double,
                            config_types_free_nothing, CONFIG_HASH_NEVER},
    [CONFIG_TYPE_BOOL] = {"yes|no", config_types_parse_bool, config_types_format_bool,
                          config_types_free_nothing, CONFIG_HASH_NEVER},
    [CONFIG_TYPE_ENUM] = {"choice", config_types_parse_enum, config_types_format_enum,
                          config_types_free_nothing, CONFIG_HASH_NEVER},
    [CONFIG_TYPE_DURATION] = {"duration", config_types_parse_duration, config_types_format_duration,
                              config_types_free_nothing, CONFIG_HASH_NEVER},
    [CONFIG_TYPE_SIZE] = {"size", config_types_parse_size, config_types_format_size,
                          config_types_free_nothing, CONFIG_HASH_NEVER},
    [CONFIG_TYPE_LIST] = {"list", config_types_parse_list, config_types_format_list,
                          config_types_free_list, CONFIG_HASH_INSIDE_WORDS},
    [CONFIG_TYPE_MODE] = {"octal mode", config_types_parse_mode, config_types_format_mode,
                          config_types_free_nothing, CONFIG_HASH_NEVER},
};

/* --- keys --- */

const struct config_key *config_types_find_key(const struct config_key *keys, const char *name)
{
    while (keys->name != NULL && strcmp(keys->name, name) != 0)
        keys++;
    return keys->name != NULL ? keys : NULL;
}

int config_types_parse(const struct config_key *key, const char *text, void *base, char **error_r)
{
    return config_types_table[key->type].parse(key, text, (char *)base + key->offset, error_r);
}

char *config_types_format(const struct config_key *key, const void *base)
{
    return config_types_table[key->type].format(key, (const char *)base + key->offset);
}

void config_types_set_defaults(const struct config_key *keys, void *base)
{
    for (const struct config_key *key = keys; key->name != NULL; key++) {
        char *error = NULL;
        if (config_types_parse(key, key->def, base, &error) < 0)
            g_error("default of %s is invalid: %s", key->name, error); /* cannot happen */
    }
}

void config_types_free_values(const struct config_key *keys, void *base)
{
    for (const struct config_key *key = keys; key->name != NULL; key++)
        config_types_table[key->type].free_value((char *)base + key->offset);
}

/* GKeyFile has no trailing comments: "value # comment" is read as the value. Where a # cannot
 * be part of a value (numbers, choices, durations...) or cannot start one of its words (lists,
 * addresses: "c#" is a fine keyword), it was meant as a comment: an error that says so, rather
 * than a value rejected for a reason the reader cannot see, or a list with a silently different
 * item. Strings and paths keep their #. */
char *config_types_comment_in_value(const struct config_key *key, const char *value)
{
    const char *hash = strchr(value, '#');
    enum config_hash rule = config_types_table[key->type].hash;

    if (hash == NULL || rule == CONFIG_HASH_ANYWHERE)
        return NULL;
    if (rule == CONFIG_HASH_NEVER)
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

/* Only ENUM keys have choices (tests/unit/config_types_test.c holds the table to that). */
const char *config_types_doc_name(const struct config_key *key)
{
    return key->choices != NULL ? key->choices : config_types_table[key->type].name;
}
