/*
 * config_types: the kinds of value a configuration key holds, and the key tables.
 *
 * One row per CONFIG_TYPE_* says everything that depends on a key's type: its name in the
 * man page, how text becomes the struct field (with the key's bounds or choices, and the
 * error text the loader reports), how the field is printed back, how it is freed, and whether
 * a '#' may be part of a value. The loader, `mailtriagectl config` and the tests go through
 * these rows, so a type is described in one place. The key tables (name, type, default,
 * bounds, choices, doc and the field's offset) are built here from the lists of config_keys.h.
 * The value parsers and the address check are shared with the rest of mailtriage.
 */
#ifndef MAILTRIAGE_CONFIG_TYPES_H
#define MAILTRIAGE_CONFIG_TYPES_H

#include <stddef.h>

#include <glib.h>

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
#define CONFIG_TYPE_COUNT (CONFIG_TYPE_MODE + 1)

/* One entry of config_keys.h; a table of them ends with a NULL name. */
struct config_key {
    const char *name;
    enum config_type type;
    const char *def;
    double min, max; /* both 0: no bounds */
    const char *choices;
    const char *doc;
    size_t offset; /* of the field in its group's struct */
};

/* Where a '#' may stand in a value: GKeyFile has no trailing comments, so a '#' that cannot
 * belong to the value was meant as one. */
enum config_hash {
    CONFIG_HASH_NEVER,        /* numbers, choices, durations...: never part of a value */
    CONFIG_HASH_INSIDE_WORDS, /* lists, addresses: inside a word ("c#"), never starting one */
    CONFIG_HASH_ANYWHERE      /* strings and paths keep their # */
};

struct config_type_info {
    const char *name; /* as mailtriage.conf(5) shows it: "string", "octal mode"... */
    /* TEXT (stripped) into FIELD, replacing and freeing what FIELD held; 0 or -1 with the
     * reason ("workers must be a whole number from 1 to 256"). */
    int (*parse)(const struct config_key *key, const char *text, void *field, char **error_r);
    /* FIELD as config show prints it, newly allocated. */
    char *(*format)(const struct config_key *key, const void *field);
    void (*free_value)(void *field);
    enum config_hash hash;
};

/* Indexed by enum config_type. */
extern const struct config_type_info config_types_table[CONFIG_TYPE_COUNT];

/* The keys of each group, from config_keys.h. */
extern const struct config_key config_types_daemon_keys[];
extern const struct config_key config_types_llm_keys[];
extern const struct config_key config_types_sendmail_keys[];
extern const struct config_key config_types_policy_keys[];
extern const struct config_key config_types_mailbox_keys[];
extern const struct config_key config_types_intent_keys[];

/* The key NAME of KEYS, or NULL. */
const struct config_key *config_types_find_key(const struct config_key *keys, const char *name);
/* TEXT as KEY's value in the struct at BASE. */
int config_types_parse(const struct config_key *key, const char *text, void *base,
                       char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* KEY's value in the struct at BASE, as the file would write it. */
char *config_types_format(const struct config_key *key, const void *base);
/* Every key of KEYS at its default in the struct at BASE; the defaults cannot be wrong. */
void config_types_set_defaults(const struct config_key *keys, void *base);
void config_types_free_values(const struct config_key *keys, void *base);
/* Why VALUE holds a comment that KEY's type cannot mean as part of it, or NULL. */
char *config_types_comment_in_value(const struct config_key *key, const char *value);
/* KEY's kind as the man page shows it: its choices, or its type's name. */
const char *config_types_doc_name(const struct config_key *key);

/* Parsers shared with the CLI; 0 on success. */
int config_parse_duration(const char *text, gint64 *seconds_r);
int config_parse_size(const char *text, guint64 *bytes_r);

#endif
