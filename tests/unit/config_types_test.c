/*
 * config_types_test: the specification of the key-type table of lib/core/config_types.c.
 *
 * Every type has a complete row with the name mailtriage.conf(5) shows; each type's parse
 * accepts and rejects the texts of a table (with the loader's exact error text) and its format
 * prints what config show prints; the trailing-comment rule of each kind is a table too. Every
 * key of config_keys.h is checked through its row: its default parses, prints and parses back
 * to the same text, and only ENUM keys have choices, so that a key added there is covered
 * without editing this file.
 */
#include <string.h>

#include <glib.h>

#include "config.h"
#include "config_types.h"

/* Room for the field of any type, at offset 0 of a struct config_key's "base". */
union field {
    char *string;
    char **list;
    guint uint;
    double number;
    gboolean boolean;
    int choice;
    gint64 duration;
    guint64 size;
};

static const struct config_key *const all_keys[] = {
    config_types_daemon_keys,   config_types_policy_keys,  config_types_llm_keys,
    config_types_sendmail_keys, config_types_mailbox_keys, config_types_intent_keys,
};

/* A key "k" of TYPE with the bounds and choices a case needs. */
static struct config_key test_key(enum config_type type, double min, double max,
                                  const char *choices)
{
    struct config_key key = {"k", type, "", min, max, choices, "", 0};
    return key;
}

/* ---- the rows ---- */

static void test_every_type_has_a_row(void)
{
    for (int type = 0; type < CONFIG_TYPE_COUNT; type++) {
        const struct config_type_info *info = &config_types_table[type];
        if (info->name == NULL || *info->name == '\0' || info->parse == NULL ||
            info->format == NULL || info->free_value == NULL) {
            g_test_message("type %d has an incomplete row", type);
            g_test_fail();
        }
    }
}

static void test_type_names_as_documented(void)
{
    static const struct {
        enum config_type type;
        const char *name;
    } cases[] = {
        {CONFIG_TYPE_STRING, "string"},   {CONFIG_TYPE_PATH, "path"},
        {CONFIG_TYPE_ADDRESS, "address"}, {CONFIG_TYPE_UINT, "number"},
        {CONFIG_TYPE_DOUBLE, "number"},   {CONFIG_TYPE_BOOL, "yes|no"},
        {CONFIG_TYPE_ENUM, "choice"},     {CONFIG_TYPE_DURATION, "duration"},
        {CONFIG_TYPE_SIZE, "size"},       {CONFIG_TYPE_LIST, "list"},
        {CONFIG_TYPE_MODE, "octal mode"},
    };

    G_STATIC_ASSERT(G_N_ELEMENTS(cases) == CONFIG_TYPE_COUNT);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        g_assert_cmpstr(config_types_table[cases[i].type].name, ==, cases[i].name);
}

/* ---- parse and format, type by type ---- */

struct accept_case {
    const char *name;
    enum config_type type;
    const char *text;
    const char *printed; /* what format gives back */
};

static const struct accept_case accept_cases[] = {
    {"string_kept_as_is", CONFIG_TYPE_STRING, "a # b", "a # b"},
    {"string_may_be_empty", CONFIG_TYPE_STRING, "", ""},
    {"path_absolute", CONFIG_TYPE_PATH, "/etc/x", "/etc/x"},
    {"path_may_be_empty", CONFIG_TYPE_PATH, "", ""},
    {"address_lowercased", CONFIG_TYPE_ADDRESS, "Boss@Example.ORG", "boss@example.org"},
    {"address_may_be_empty", CONFIG_TYPE_ADDRESS, "", ""},
    {"uint_at_minimum", CONFIG_TYPE_UINT, "1", "1"},
    {"uint_at_maximum", CONFIG_TYPE_UINT, "256", "256"},
    {"double_shortest_form", CONFIG_TYPE_DOUBLE, "0.50", "0.5"},
    {"double_exponent", CONFIG_TYPE_DOUBLE, "1e0", "1"},
    {"bool_on_is_yes", CONFIG_TYPE_BOOL, "on", "yes"},
    {"bool_true_any_case", CONFIG_TYPE_BOOL, "TRUE", "yes"},
    {"bool_zero_is_no", CONFIG_TYPE_BOOL, "0", "no"},
    {"enum_any_case", CONFIG_TYPE_ENUM, "Tempfail", "tempfail"},
    {"duration_in_seconds", CONFIG_TYPE_DURATION, "2m", "120s"},
    {"size_in_bytes", CONFIG_TYPE_SIZE, "64k", "65536"},
    {"list_stripped_empty_dropped", CONFIG_TYPE_LIST, "a,, b ,c#", "a, b, c#"},
    {"list_may_be_empty", CONFIG_TYPE_LIST, "", ""},
    {"mode_four_digits", CONFIG_TYPE_MODE, "750", "0750"},
};

/* The bounds and choices of the cases: every number from 1 to 256 (as daemon.workers), a
 * duration or size in the same range of seconds or of kilobytes. */
static struct config_key case_key(enum config_type type)
{
    if (type == CONFIG_TYPE_ENUM)
        return test_key(type, 0, 0, "accept|tempfail");
    if (type == CONFIG_TYPE_SIZE)
        return test_key(type, 1024, 262144, NULL);
    if (type == CONFIG_TYPE_DOUBLE)
        return test_key(type, 0, 2, NULL);
    return test_key(type, 1, 256, NULL);
}

static void test_accept_case(gconstpointer data)
{
    const struct accept_case *c = data;
    struct config_key key = case_key(c->type);
    const struct config_type_info *info = &config_types_table[c->type];
    union field field = {0};
    char *error = NULL;

    g_assert_cmpint(info->parse(&key, c->text, &field, &error), ==, 0);
    g_assert_null(error);
    char *printed = info->format(&key, &field);
    g_assert_cmpstr(printed, ==, c->printed);
    g_free(printed);
    info->free_value(&field);
}

struct reject_case {
    const char *name;
    enum config_type type;
    const char *text;
    const char *error;
};

static const struct reject_case reject_cases[] = {
    {"path_relative", CONFIG_TYPE_PATH, "etc/x", "k must be an absolute path"},
    {"address_with_space", CONFIG_TYPE_ADDRESS, "a b@c",
     "k: \"a b@c\" is not a plain mail address"},
    {"uint_below_minimum", CONFIG_TYPE_UINT, "0", "k must be a whole number from 1 to 256"},
    {"uint_with_sign", CONFIG_TYPE_UINT, "+4", "k must be a whole number from 1 to 256"},
    {"uint_past_guint", CONFIG_TYPE_UINT, "4294967296", "k must be a whole number from 1 to 256"},
    {"double_above_maximum", CONFIG_TYPE_DOUBLE, "2.5", "k must be a number from 0 to 2"},
    {"double_not_finite", CONFIG_TYPE_DOUBLE, "nan", "k must be a number from 0 to 2"},
    {"bool_maybe", CONFIG_TYPE_BOOL, "maybe", "k must be yes or no"},
    {"enum_unknown_choice", CONFIG_TYPE_ENUM, "reject", "k must be one of accept|tempfail"},
    {"duration_above_maximum", CONFIG_TYPE_DURATION, "5m",
     "k must be a duration from 1s to 256s (a number with s, m, h, d or w)"},
    {"duration_unknown_suffix", CONFIG_TYPE_DURATION, "1y",
     "k must be a duration from 1s to 256s (a number with s, m, h, d or w)"},
    {"size_below_minimum", CONFIG_TYPE_SIZE, "1023",
     "k must be a size from 1024 to 262144 bytes (a number with k, M or G)"},
    {"mode_not_octal", CONFIG_TYPE_MODE, "0780", "k must be an octal mode from 0000 to 0777"},
    {"mode_above_0777", CONFIG_TYPE_MODE, "1000", "k must be an octal mode from 0000 to 0777"},
};

static void test_reject_case(gconstpointer data)
{
    const struct reject_case *c = data;
    struct config_key key = case_key(c->type);
    union field field = {0};
    char *error = NULL;

    g_assert_cmpint(config_types_table[c->type].parse(&key, c->text, &field, &error), ==, -1);
    g_assert_cmpstr(error, ==, c->error);
    g_free(error);
    config_types_table[c->type].free_value(&field);
}

/* A second value replaces the first, which is freed (the sanitizer build finds a leak). */
static void test_parse_replaces_value(void)
{
    static const enum config_type types[] = {CONFIG_TYPE_STRING, CONFIG_TYPE_PATH,
                                             CONFIG_TYPE_ADDRESS, CONFIG_TYPE_LIST};

    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        const struct config_type_info *info = &config_types_table[types[i]];
        struct config_key key = case_key(types[i]);
        union field field = {0};
        char *error = NULL;
        g_assert_cmpint(info->parse(&key, "/first@x", &field, &error), ==, 0);
        g_assert_cmpint(info->parse(&key, "/second@x", &field, &error), ==, 0);
        char *printed = info->format(&key, &field);
        g_assert_cmpstr(printed, ==, "/second@x");
        g_free(printed);
        info->free_value(&field);
    }
}

/* ---- the trailing-comment rule ---- */

#define NEVER_PART                                                                                 \
    "k: a comment must be on a line of its own (# is not part of any value of this key)"
#define NO_WORD_STARTS                                                                             \
    "k: a comment must be on a line of its own (no word of this key's value starts with #)"

static void test_comment_in_value(void)
{
    static const struct {
        enum config_type type;
        const char *value;
        const char *error; /* NULL: the # is part of the value */
    } cases[] = {
        {CONFIG_TYPE_STRING, "llama3 # big", NULL},
        {CONFIG_TYPE_PATH, "/srv/#tmp", NULL},
        {CONFIG_TYPE_LIST, "c#, f#", NULL},
        {CONFIG_TYPE_LIST, "a, #b", NO_WORD_STARTS},
        {CONFIG_TYPE_LIST, "a,#b", NO_WORD_STARTS},
        {CONFIG_TYPE_LIST, "#a", NO_WORD_STARTS},
        {CONFIG_TYPE_ADDRESS, "a#b@example.org", NULL},
        {CONFIG_TYPE_ADDRESS, "a@example.org # boss", NO_WORD_STARTS},
        {CONFIG_TYPE_UINT, "4 # workers", NEVER_PART},
        {CONFIG_TYPE_DOUBLE, "0.5#", NEVER_PART},
        {CONFIG_TYPE_BOOL, "yes #", NEVER_PART},
        {CONFIG_TYPE_ENUM, "accept # or tempfail", NEVER_PART},
        {CONFIG_TYPE_DURATION, "10s # short", NEVER_PART},
        {CONFIG_TYPE_SIZE, "10M # big", NEVER_PART},
        {CONFIG_TYPE_MODE, "0660 # rw", NEVER_PART},
        {CONFIG_TYPE_UINT, "4", NULL},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct config_key key = test_key(cases[i].type, 0, 0, NULL);
        char *error = config_types_comment_in_value(&key, cases[i].value);
        if (g_strcmp0(error, cases[i].error) != 0) {
            g_test_message("\"%s\" as %s gave %s", cases[i].value,
                           config_types_table[cases[i].type].name, error ? error : "no error");
            g_test_fail();
        }
        g_free(error);
    }
}

/* ---- every key of config_keys.h ---- */

static void test_every_default_round_trips(void)
{
    for (size_t t = 0; t < G_N_ELEMENTS(all_keys); t++) {
        for (const struct config_key *key = all_keys[t]; key->name != NULL; key++) {
            const struct config_type_info *info = &config_types_table[key->type];
            union field first = {0}, second = {0};
            char *error = NULL;
            /* The field sits at offset 0 here, whatever the key's offset in its struct. */
            g_assert_cmpint(info->parse(key, key->def, &first, &error), ==, 0);
            char *printed = info->format(key, &first);
            g_assert_null(config_types_comment_in_value(key, printed));
            g_assert_cmpint(info->parse(key, printed, &second, &error), ==, 0);
            char *reprinted = info->format(key, &second);
            if (strcmp(printed, reprinted) != 0) {
                g_test_message("%s: default \"%s\" prints \"%s\", which reads back as \"%s\"",
                               key->name, key->def, printed, reprinted);
                g_test_fail();
            }
            g_free(printed);
            g_free(reprinted);
            info->free_value(&first);
            info->free_value(&second);
        }
    }
}

static void test_only_enum_keys_have_choices(void)
{
    for (size_t t = 0; t < G_N_ELEMENTS(all_keys); t++) {
        for (const struct config_key *key = all_keys[t]; key->name != NULL; key++) {
            if ((key->choices != NULL) != (key->type == CONFIG_TYPE_ENUM)) {
                g_test_message("%s: choices and type disagree", key->name);
                g_test_fail();
            }
            g_assert_cmpstr(config_types_doc_name(key), ==,
                            key->choices != NULL ? key->choices
                                                 : config_types_table[key->type].name);
        }
    }
}

static void test_find_key(void)
{
    const struct config_key *key = config_types_find_key(config_types_daemon_keys, "workers");

    g_assert_nonnull(key);
    g_assert_cmpint(key->type, ==, CONFIG_TYPE_UINT);
    g_assert_cmpuint(key->offset, ==, offsetof(struct config_daemon, workers));
    g_assert_null(config_types_find_key(config_types_daemon_keys, "worker"));
    g_assert_null(config_types_find_key(config_types_llm_keys, "workers"));
}

/* The struct functions go through the key's offset: defaults set, printed and freed in place. */
static void test_defaults_in_struct(void)
{
    struct config_daemon daemon;

    memset(&daemon, 0, sizeof(daemon));
    config_types_set_defaults(config_types_daemon_keys, &daemon);
    g_assert_cmpuint(daemon.workers, ==, 4);
    g_assert_cmpint(daemon.busy_timeout, ==, 10);
    g_assert_cmpuint(daemon.socket_mode, ==, 0660);
    g_assert_cmpstr(daemon.database, ==, "/var/lib/mailtriage/mailtriage.db");
    const struct config_key *key =
        config_types_find_key(config_types_daemon_keys, "max_message_size");
    char *printed = config_types_format(key, &daemon);
    g_assert_cmpstr(printed, ==, "10485760");
    g_free(printed);
    char *error = NULL;
    g_assert_cmpint(config_types_parse(config_types_find_key(config_types_daemon_keys, "user"),
                                       "mailtriage", &daemon, &error),
                    ==, 0);
    g_assert_cmpstr(daemon.user, ==, "mailtriage");
    config_types_free_values(config_types_daemon_keys, &daemon);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/config_types/every_type_has_a_row", test_every_type_has_a_row);
    g_test_add_func("/config_types/type_names_as_documented", test_type_names_as_documented);
    for (size_t i = 0; i < G_N_ELEMENTS(accept_cases); i++) {
        char *path = g_strdup_printf("/config_types/accept/%s", accept_cases[i].name);
        g_test_add_data_func(path, &accept_cases[i], test_accept_case);
        g_free(path);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(reject_cases); i++) {
        char *path = g_strdup_printf("/config_types/reject/%s", reject_cases[i].name);
        g_test_add_data_func(path, &reject_cases[i], test_reject_case);
        g_free(path);
    }
    g_test_add_func("/config_types/parse_replaces_value", test_parse_replaces_value);
    g_test_add_func("/config_types/comment_in_value", test_comment_in_value);
    g_test_add_func("/config_types/every_default_round_trips", test_every_default_round_trips);
    g_test_add_func("/config_types/only_enum_keys_have_choices", test_only_enum_keys_have_choices);
    g_test_add_func("/config_types/find_key", test_find_key);
    g_test_add_func("/config_types/defaults_in_struct", test_defaults_in_struct);
    return g_test_run();
}
