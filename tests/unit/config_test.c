/*
 * config_test: the specification of lib/core/config.c (with the defaults of config_defaults.c and
 * the output of config_print.c) and the key table of lib/core/config_keys.h.
 *
 * Each case writes a configuration file into a private temporary directory and loads it.
 * Rejected files are a table: the whole error message is compared, with @FILE@ standing for
 * the file's path and @DIR@ for the directory (also replaced in the file's text). Accepted
 * values are a table too, compared through config_print(). The value parsers have tables of
 * their own (the address check is in addr_test), and the printed defaults and man page are
 * checked against the X-macro lists, so that a key added to config_keys.h is covered without
 * editing this file.
 */
#include <string.h>

#include <glib.h>

#include "config.h"
#include "config_print.h"
#include "testutil.h"

/* The smallest valid mailbox group. */
#define MAILBOX "[mailbox support@example.org]\nescalate_to = boss@example.org\n"

/* ---- fixture: a temporary directory with the configuration file in it ---- */

struct fixture {
    char *dir;
    char *path; /* DIR/mailtriage.conf */
};

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    fx->dir = testutil_tmpdir();
    fx->path = g_build_filename(fx->dir, "mailtriage.conf", NULL);
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    testutil_rmtree(fx->dir);
    g_free(fx->dir);
    g_free(fx->path);
}

/* TEXT with @FILE@ and @DIR@ replaced by the fixture's paths. */
static char *expand(const struct fixture *fx, const char *text)
{
    char *with_dir = testutil_replace(text, "@DIR@", fx->dir);
    char *result = testutil_replace(with_dir, "@FILE@", fx->path);

    g_free(with_dir);
    return result;
}

/* Write DIR/NAME (expanded) when NAME is not NULL. */
static void write_extra(const struct fixture *fx, const char *name, const char *text)
{
    if (name == NULL)
        return;
    char *expanded = expand(fx, text);
    char *path = testutil_write(fx->dir, name, expanded);
    g_chmod(path, 0600); /* as a key file must be (config_privacy_test) */
    g_free(path);
    g_free(expanded);
}

static struct config *load(const struct fixture *fx, const char *text, char **error_r)
{
    char *expanded = expand(fx, text);
    g_free(testutil_write(fx->dir, "mailtriage.conf", expanded));
    g_free(expanded);
    return config_load(fx->path, error_r);
}

/* Load TEXT, which must be valid. */
static struct config *load_ok(const struct fixture *fx, const char *text)
{
    char *error = NULL;
    struct config *cfg = load(fx, text, &error);

    g_assert_cmpstr(error, ==, NULL);
    g_assert_nonnull(cfg);
    return cfg;
}

/* Load TEXT, which must be rejected; returns the error. */
static char *load_error(const struct fixture *fx, const char *text)
{
    char *error = NULL;
    struct config *cfg = load(fx, text, &error);

    g_assert_null(cfg);
    g_assert_nonnull(error);
    return error;
}

/* Fail, showing both, when HAYSTACK does not contain NEEDLE. */
static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) != NULL)
        return;
    g_test_message("expected to find:\n%s\nin:\n%s", needle, haystack);
    g_test_fail();
}

static void assert_strv(char **actual, const char *const *expected)
{
    g_assert_nonnull(actual);
    g_assert_cmpuint(g_strv_length(actual), ==, g_strv_length((char **)expected));
    for (guint i = 0; expected[i] != NULL; i++)
        g_assert_cmpstr(actual[i], ==, expected[i]);
}

static void assert_intent_names(const struct config *cfg, const char *const *expected)
{
    g_assert_cmpuint(cfg->intents->len, ==, g_strv_length((char **)expected));
    for (guint i = 0; expected[i] != NULL; i++) {
        const struct config_intent *intent = g_ptr_array_index(cfg->intents, i);
        g_assert_cmpstr(intent->intent, ==, expected[i]);
    }
}

/* ---- rejected files ---- */

struct error_case {
    const char *name;
    const char *text;
    const char *expected;   /* the whole message */
    const char *extra_name; /* a file to write beside the configuration, or NULL */
    const char *extra_text;
};

#define REJECT(name, text, expected)                                                               \
    {                                                                                              \
        name, text, expected, NULL, NULL                                                           \
    }
#define REJECT_WITH_FILE(name, text, expected, file, file_text)                                    \
    {                                                                                              \
        name, text, expected, file, file_text                                                      \
    }

static const struct error_case error_cases[] = {
    REJECT("unknown_key_rejected_with_line",
           MAILBOX "\n[daemon]\n# workers below\nworkers = 4\nx = 1\n",
           "@FILE@:7: [daemon] unknown key \"x\""),
    REJECT("unknown_key_in_mailbox_group", MAILBOX "escalate = boss@example.org\n",
           "@FILE@:3: [mailbox support@example.org] unknown key \"escalate\""),
    REJECT("unknown_group_rejected", MAILBOX "[deamon]\nworkers = 4\n",
           "@FILE@:3: [deamon] unknown group (expected daemon, llm, sendmail, policy, mailbox "
           "ADDRESS or "
           "intent NAME)"),
    REJECT("workers_zero_out_of_range", "[daemon]\nworkers = 0\n" MAILBOX,
           "@FILE@:2: [daemon] workers must be a whole number from 1 to 256"),
    REJECT("workers_999_out_of_range", "[daemon]\nworkers = 999\n" MAILBOX,
           "@FILE@:2: [daemon] workers must be a whole number from 1 to 256"),
    REJECT("workers_negative_rejected", "[daemon]\nworkers = -1\n" MAILBOX,
           "@FILE@:2: [daemon] workers must be a whole number from 1 to 256"),
    REJECT("workers_not_a_number", "[daemon]\nworkers = four\n" MAILBOX,
           "@FILE@:2: [daemon] workers must be a whole number from 1 to 256"),
    REJECT("workers_trailing_garbage", "[daemon]\nworkers = 4x\n" MAILBOX,
           "@FILE@:2: [daemon] workers must be a whole number from 1 to 256"),
    REJECT("bool_rejects_maybe", "[daemon]\n\nmask_addresses = maybe\n" MAILBOX,
           "@FILE@:3: [daemon] mask_addresses must be yes or no"),
    REJECT("enum_rejects_maybe", MAILBOX "mode = maybe\n",
           "@FILE@:3: [mailbox support@example.org] mode must be one of auto|draft|off|shadow"),
    REJECT("enum_rejects_unknown_log_level", "[daemon]\nlog_level = verbose\n" MAILBOX,
           "@FILE@:2: [daemon] log_level must be one of debug|info|warning|error"),
    REJECT("duration_rejects_unknown_suffix", MAILBOX "reply_interval = 7x\n",
           "@FILE@:3: [mailbox support@example.org] reply_interval must be a duration from 0s to "
           "31536000s (a number with s, m, h, d or w)"),
    REJECT("duration_above_maximum", "[daemon]\nbusy_timeout = 11m\n" MAILBOX,
           "@FILE@:2: [daemon] busy_timeout must be a duration from 1s to 600s (a number with s, "
           "m, h, d or w)"),
    REJECT("size_below_minimum", "[daemon]\nmax_message_size = 1k\n" MAILBOX,
           "@FILE@:2: [daemon] max_message_size must be a size from 65536 to 1073741824 bytes (a "
           "number with k, M or G)"),
    REJECT("size_above_maximum", "[daemon]\nmax_message_size = 2G\n" MAILBOX,
           "@FILE@:2: [daemon] max_message_size must be a size from 65536 to 1073741824 bytes (a "
           "number with k, M or G)"),
    REJECT("double_out_of_range", "[llm]\nmin_confidence = 1.5\n" MAILBOX,
           "@FILE@:2: [llm] min_confidence must be a number from 0 to 1"),
    REJECT("double_not_finite", "[llm]\ntemperature = nan\n" MAILBOX,
           "@FILE@:2: [llm] temperature must be a number from 0 to 2"),
    REJECT("relative_path_rejected", "[daemon]\ndatabase = var/mailtriage.db\n" MAILBOX,
           "@FILE@:2: [daemon] database must be an absolute path"),
    REJECT("escalate_to_required_unless_mode_off",
           "[daemon]\nworkers = 2\n[mailbox support@example.org]\nname = Support\n",
           "@FILE@:3: [mailbox support@example.org] escalate_to is required unless mode is off"),
    REJECT("escalate_to_required_in_draft_mode", "[mailbox support@example.org]\nmode = draft\n",
           "@FILE@:1: [mailbox support@example.org] escalate_to is required unless mode is off"),
    REJECT("mailbox_address_with_space_rejected",
           "[mailbox sup port@example.org]\nescalate_to = boss@example.org\n",
           "@FILE@:1: [mailbox sup port@example.org] \"sup port@example.org\" is not a plain mail "
           "address"),
    REJECT(
        "mailbox_address_in_angle_brackets_rejected",
        "[mailbox <support@example.org>]\nescalate_to = boss@example.org\n",
        "@FILE@:1: [mailbox <support@example.org>] \"<support@example.org>\" is not a plain mail "
        "address"),
    REJECT("mailbox_address_without_at_rejected",
           "[mailbox support]\nescalate_to = boss@example.org\n",
           "@FILE@:1: [mailbox support] \"support\" is not a plain mail address"),
    REJECT(
        "escalate_to_with_crlf_rejected",
        "[mailbox support@example.org]\nescalate_to = boss@example.org\\r\\nBcc: x@example.net\n",
        "@FILE@:2: [mailbox support@example.org] escalate_to: \"boss@example.org\r\nBcc: "
        "x@example.net\" is not a plain mail address"),
    REJECT("escalate_to_in_angle_brackets_rejected",
           "[mailbox support@example.org]\nescalate_to = <boss@example.org>\n",
           "@FILE@:2: [mailbox support@example.org] escalate_to: \"<boss@example.org>\" is not a "
           "plain mail address"),
    REJECT("mailbox_name_on_two_lines_rejected", MAILBOX "name = Support\\nBcc: x@example.net\n",
           "@FILE@:3: [mailbox support@example.org] name must be one line"),
    REJECT(
        "intent_listed_but_not_defined", MAILBOX "intents = send_info, refund\n",
        "@FILE@:3: [mailbox support@example.org] intent \"refund\" has no [intent refund] group"),
    REJECT(
        "intent_name_with_bad_characters", "[intent bad name!]\naction = none\n" MAILBOX,
        "@FILE@:1: [intent bad name!] intent name \"bad name!\": use letters, digits, _ and -, at "
        "most 64"),
    REJECT("duplicate_mailbox_case_insensitive",
           MAILBOX "[mailbox Support@Example.ORG]\nescalate_to = boss@example.org\n",
           "@FILE@:3: [mailbox Support@Example.ORG] appears twice"),
    REJECT("webhook_action_needs_url",
           "[intent hook]\naction = webhook\n" MAILBOX "intents = hook\n",
           "@FILE@:1: [intent hook] action webhook needs an http:// or https:// webhook_url"),
    REJECT("webhook_url_must_be_http",
           "[intent hook]\naction = webhook\nwebhook_url = file:///etc/passwd\n" MAILBOX
           "intents = hook\n",
           "@FILE@:3: [intent hook] action webhook needs an http:// or https:// webhook_url"),
    REJECT("openai_without_url_rejected", "[llm]\nprovider = openai\nmodel = llama3\n" MAILBOX,
           "@FILE@:1: [llm] provider openai needs an http:// or https:// url"),
    REJECT("openai_with_non_http_url_rejected",
           "[llm]\nprovider = openai\nurl = ftp://127.0.0.1/v1\nmodel = llama3\n" MAILBOX,
           "@FILE@:3: [llm] provider openai needs an http:// or https:// url"),
    REJECT("openai_without_model_rejected",
           "[llm]\nprovider = openai\nurl = http://127.0.0.1:11434/v1\n" MAILBOX,
           "@FILE@:1: [llm] provider openai needs a model"),
    REJECT("lease_time_not_above_timeouts_rejected",
           "[daemon]\nlease_time = 3m\n[llm]\ntimeout = 60s\n[sendmail]\ntimeout = 2m\n" MAILBOX,
           "@FILE@:2: [daemon] lease_time must exceed llm.timeout plus sendmail.timeout"),
    REJECT(
        "llm_max_attempts_not_below_daemon_rejected",
        "[daemon]\nmax_attempts = 3\n[llm]\nmax_attempts = 3\n" MAILBOX,
        "@FILE@:4: [llm] llm.max_attempts must be less than daemon.max_attempts, or messages fail "
        "before the builtin fallback"),
    REJECT("retry_max_below_retry_base_rejected",
           "[daemon]\nretry_base = 10m\nretry_max = 5m\n" MAILBOX,
           "@FILE@:3: [daemon] retry_max must not be shorter than retry_base"),
    REJECT("no_mailbox_rejected", "[daemon]\nworkers = 2\n",
           "@FILE@: no [mailbox ADDRESS] group: nothing to triage"),
    REJECT("not_utf8_rejected", MAILBOX "name = Caf\xe9\n",
           "@FILE@: not a UTF-8 text file of at most 1048576 bytes"),
    /* GKeyFile reads "value # comment" as the value: where # cannot be part of a value, or
     * cannot start a word of it, that is an error of its own, one case per type. */
    REJECT("comment_after_uint", "[daemon]\nworkers = 4 # threads\n" MAILBOX,
           "@FILE@:2: [daemon] workers: a comment must be on a line of its own (# is not part of "
           "any value of this key)"),
    REJECT("comment_after_double", "[policy]\nspam_threshold = 5   # SpamAssassin\n" MAILBOX,
           "@FILE@:2: [policy] spam_threshold: a comment must be on a line of its own (# is not "
           "part of any value of this key)"),
    REJECT("comment_after_bool", "[daemon]\nadd_header = yes # X-Mailtriage-Id\n" MAILBOX,
           "@FILE@:2: [daemon] add_header: a comment must be on a line of its own (# is not part "
           "of any value of this key)"),
    REJECT("comment_after_enum",
           "[policy]\ntrusted_authserv_ids = mx.example.org\n"
           "require_auth = spf_or_dkim   # none | spf_or_dkim | dmarc\n" MAILBOX,
           "@FILE@:3: [policy] require_auth: a comment must be on a line of its own (# is not "
           "part of any value of this key)"),
    REJECT("hash_without_space_in_enum", MAILBOX "mode = auto#draft\n",
           "@FILE@:3: [mailbox support@example.org] mode: a comment must be on a line of its own "
           "(# is not part of any value of this key)"),
    REJECT("comment_after_duration", "[policy]\nbounce_block = 60d # after a hard bounce\n" MAILBOX,
           "@FILE@:2: [policy] bounce_block: a comment must be on a line of its own (# is not "
           "part of any value of this key)"),
    REJECT("comment_after_size", "[daemon]\nmax_message_size = 10M # whole messages\n" MAILBOX,
           "@FILE@:2: [daemon] max_message_size: a comment must be on a line of its own (# is not "
           "part of any value of this key)"),
    REJECT("comment_after_mode", "[daemon]\nsocket_mode = 0660 # postfix writes it\n" MAILBOX,
           "@FILE@:2: [daemon] socket_mode: a comment must be on a line of its own (# is not "
           "part of any value of this key)"),
    REJECT("comment_after_list",
           "[policy]\ntrusted_authserv_ids = mx.example.org   # our MX only\n" MAILBOX,
           "@FILE@:2: [policy] trusted_authserv_ids: a comment must be on a line of its own (no "
           "word of this key's value starts with #)"),
    REJECT("list_item_starting_with_hash",
           "[intent refund]\nkeywords = refund,#money\n" MAILBOX "intents = refund\n",
           "@FILE@:2: [intent refund] keywords: a comment must be on a line of its own (no word "
           "of this key's value starts with #)"),
    REJECT("comment_after_address",
           MAILBOX "\n[mailbox sales@example.org]\n"
                   "escalate_to = boss@example.org # the sales desk\n",
           "@FILE@:5: [mailbox sales@example.org] escalate_to: a comment must be on a line of its "
           "own (no word of this key's value starts with #)"),
    REJECT("comment_as_the_whole_value", "[daemon]\nadd_header = # later\n" MAILBOX,
           "@FILE@:2: [daemon] add_header: a comment must be on a line of its own (# is not part "
           "of any value of this key)"),
    REJECT("socket_group_with_a_remark",
           "[daemon]\nsocket_group = postfix   (or add postfix to the group)\n" MAILBOX,
           "@FILE@:2: [daemon] socket_group: \"postfix   (or add postfix to the group)\" is not a "
           "group name (a comment must be on a line of its own)"),
    REJECT("user_with_a_comment", "[daemon]\nuser = mailtriage # after binding\n" MAILBOX,
           "@FILE@:2: [daemon] user: \"mailtriage # after binding\" is not a user name (a comment "
           "must be on a line of its own)"),
    REJECT("user_with_a_colon", "[daemon]\nuser = mail:triage\n" MAILBOX,
           "@FILE@:2: [daemon] user: \"mail:triage\" is not a user name (a comment must be on a "
           "line of its own)"),
    REJECT_WITH_FILE(
        "template_unknown_variable_names_template_and_line",
        "[intent refund]\ndescription = Wants money back\naction = reply\n"
        "template = @DIR@/refund.txt\n" MAILBOX "intents = refund\n",
        "@FILE@:4: [intent refund] template @DIR@/refund.txt: line 3: unknown variable {{foo}}",
        "refund.txt", "Hello {{sender_name}},\n\n{{foo}}\n"),
    REJECT_WITH_FILE(
        "template_unclosed_variable_rejected",
        "[intent refund]\naction = reply\ntemplate = @DIR@/refund.txt\n" MAILBOX
        "intents = refund\n",
        "@FILE@:3: [intent refund] template @DIR@/refund.txt: line 1: \"{{\" without \"}}\"",
        "refund.txt", "Hello {{sender_name,\n"),
    REJECT_WITH_FILE("persona_and_persona_file_rejected",
                     MAILBOX "persona = You are Bob.\npersona_file = @DIR@/persona.txt\n",
                     "@FILE@:4: [mailbox support@example.org] persona and persona_file are both "
                     "set: keep one",
                     "persona.txt", "You are Ann.\n"),
    REJECT_WITH_FILE("persona_file_not_utf8_rejected", MAILBOX "persona_file = @DIR@/persona.txt\n",
                     "@FILE@:3: [mailbox support@example.org] persona_file: @DIR@/persona.txt is "
                     "not UTF-8 text",
                     "persona.txt", "You are \xe9ric, latin-1.\n"),
    REJECT("language_word_rejected", MAILBOX "language = english\n",
           "@FILE@:3: [mailbox support@example.org] language \"english\" is neither auto nor a "
           "language tag such as de or en-GB"),
    REJECT("language_underscore_rejected", MAILBOX "language = de_DE\n",
           "@FILE@:3: [mailbox support@example.org] language \"de_DE\" is neither auto nor a "
           "language tag such as de or en-GB"),
    REJECT("language_trailing_dash_rejected", MAILBOX "language = de-\n",
           "@FILE@:3: [mailbox support@example.org] language \"de-\" is neither auto nor a "
           "language tag such as de or en-GB"),
    REJECT("language_two_regions_rejected", MAILBOX "language = en-GB-US\n",
           "@FILE@:3: [mailbox support@example.org] language \"en-GB-US\" is neither auto nor a "
           "language tag such as de or en-GB"),
    REJECT_WITH_FILE("api_key_file_empty_rejected", "[llm]\napi_key_file = @DIR@/key\n" MAILBOX,
                     "@FILE@:2: [llm] api_key_file @DIR@/key must hold one key on one line", "key",
                     " \n\n"),
    REJECT_WITH_FILE("api_key_file_two_lines_rejected", "[llm]\napi_key_file = @DIR@/key\n" MAILBOX,
                     "@FILE@:2: [llm] api_key_file @DIR@/key must hold one key on one line", "key",
                     "sk-one\nsk-two\n"),
};

static void test_error_case(struct fixture *fx, gconstpointer data)
{
    const struct error_case *c = data;

    write_extra(fx, c->extra_name, c->extra_text);
    char *error = load_error(fx, c->text);
    char *expected = expand(fx, c->expected);
    g_assert_cmpstr(error, ==, expected);
    g_free(expected);
    g_free(error);
}

/* Errors whose end comes from the system (and its locale): the start and the path are ours. */
static void test_template_missing_rejected(struct fixture *fx, gconstpointer data)
{
    char *error = load_error(fx, "[intent refund]\naction = reply\n"
                                 "template = @DIR@/missing.txt\n" MAILBOX "intents = refund\n");
    char *prefix = expand(fx, "@FILE@:3: [intent refund] template: ");
    char *file = expand(fx, "@DIR@/missing.txt");

    g_assert_true(g_str_has_prefix(error, prefix));
    g_assert_nonnull(strstr(error, file));
    g_free(file);
    g_free(prefix);
    g_free(error);
}

static void test_api_key_file_missing_rejected(struct fixture *fx, gconstpointer data)
{
    char *error = load_error(fx, "[llm]\napi_key_file = @DIR@/nokey\n" MAILBOX);
    char *prefix = expand(fx, "@FILE@:2: [llm] api_key_file: ");
    char *file = expand(fx, "@DIR@/nokey");

    g_assert_true(g_str_has_prefix(error, prefix));
    g_assert_nonnull(strstr(error, file));
    g_free(file);
    g_free(prefix);
    g_free(error);
}

static void test_missing_file_rejected(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    char *path = expand(fx, "@DIR@/absent.conf");
    struct config *cfg = config_load(path, &error);

    g_assert_null(cfg);
    g_assert_nonnull(strstr(error, path));
    g_free(path);
    g_free(error);
}

/* ---- accepted values, as config_print() shows them ---- */

struct value_case {
    const char *name;
    const char *text;
    const char *printed; /* a line config_print() must contain */
};

static const struct value_case value_cases[] = {
    {"size_1M_is_1048576", "[daemon]\nmax_message_size = 1M\n" MAILBOX,
     "\nmax_message_size = 1048576\n"},
    {"size_64k_is_the_minimum", "[daemon]\nmax_message_size = 64k\n" MAILBOX,
     "\nmax_message_size = 65536\n"},
    {"size_1G_is_the_maximum", "[daemon]\nmax_message_size = 1G\n" MAILBOX,
     "\nmax_message_size = 1073741824\n"},
    {"duration_7d_is_604800", MAILBOX "reply_interval = 7d\n", "\nreply_interval = 604800s\n"},
    {"duration_zero_reply_interval_allowed", MAILBOX "reply_interval = 0\n",
     "\nreply_interval = 0s\n"},
    {"duration_weeks", MAILBOX "reply_interval = 2w\n", "\nreply_interval = 1209600s\n"},
    {"duration_minutes", "[daemon]\nretry_base = 2m\n" MAILBOX, "\nretry_base = 120s\n"},
    {"duration_hours", "[daemon]\nretry_max = 2h\n" MAILBOX, "\nretry_max = 7200s\n"},
    {"bool_on_is_yes", "[daemon]\nmask_addresses = on\n" MAILBOX, "\nmask_addresses = yes\n"},
    {"bool_true_is_yes", "[daemon]\nmask_addresses = TRUE\n" MAILBOX, "\nmask_addresses = yes\n"},
    {"bool_zero_is_no", "[daemon]\nmask_addresses = 0\n" MAILBOX, "\nmask_addresses = no\n"},
    {"enum_is_case_insensitive", MAILBOX "mode = DRAFT\n", "\nmode = draft\n"},
    {"enum_log_level", "[daemon]\nlog_level = warning\n" MAILBOX, "\nlog_level = warning\n"},
    {"double_temperature", "[llm]\ntemperature = 1.25\n" MAILBOX, "\ntemperature = 1.25\n"},
    {"uint_bounds_inclusive", "[daemon]\nworkers = 256\n" MAILBOX, "\nworkers = 256\n"},
    {"value_trailing_spaces_stripped", "[daemon]\nworkers = 8   \n" MAILBOX, "\nworkers = 8\n"},
    {"address_lowercased", "[mailbox support@example.org]\nescalate_to = Boss@Example.ORG\n",
     "\nescalate_to = boss@example.org\n"},
    {"mailbox_address_lowercased", "[mailbox Support@Example.ORG]\nescalate_to = b@example.org\n",
     "\n[mailbox support@example.org]\n"},
    {"list_items_stripped_and_empty_dropped",
     "[intent refund]\nkeywords = refund , money back,, , return\n" MAILBOX "intents = refund\n",
     "\nkeywords = refund, money back, return\n"},
    {"lease_time_just_above_timeouts_accepted",
     "[daemon]\nlease_time = 181\n[llm]\ntimeout = 60s\n[sendmail]\ntimeout = 2m\n" MAILBOX,
     "\nlease_time = 181s\n"},
    {"llm_max_attempts_below_daemon_accepted",
     "[daemon]\nmax_attempts = 4\n[llm]\nmax_attempts = 3\n" MAILBOX, "\nmax_attempts = 4\n"},
    {"mode_off_needs_no_escalate_to", "[mailbox support@example.org]\nmode = off\n",
     "\nmode = off\nescalate_to = \n"},
    /* # stays in the values of strings and paths, and inside a word of lists and addresses. */
    {"hash_kept_in_string",
     "[mailbox support@example.org]\nescalate_to = b@example.org\n"
     "name = Support # 1\n",
     "\nname = Support # 1\n"},
    {"hash_kept_in_path", "[daemon]\ndatabase = /var/lib/mt #1/mt.db\n" MAILBOX,
     "\ndatabase = /var/lib/mt #1/mt.db\n"},
    {"hash_inside_a_list_word_kept",
     "[intent code]\nkeywords = c#, f#\n" MAILBOX "intents = code\n", "\nkeywords = c#, f#\n"},
    {"hash_inside_an_address_kept",
     "[mailbox support@example.org]\nescalate_to = help#desk@example.org\n",
     "\nescalate_to = help#desk@example.org\n"},
    {"user_and_group_names_accepted",
     "[daemon]\nuser = _mailtriage\nsocket_group = mail.users-1\n" MAILBOX,
     "\nsocket_group = mail.users-1\nuser = _mailtriage\n"},
    {"language_defaults_to_auto", MAILBOX, "\nlanguage = auto\n"},
    {"language_tag_accepted", MAILBOX "language = de\n", "\nlanguage = de\n"},
    {"language_with_region_accepted", MAILBOX "language = en-GB\n", "\nlanguage = en-GB\n"},
    {"language_with_script_and_region_accepted", MAILBOX "language = zh-Hant-TW\n",
     "\nlanguage = zh-Hant-TW\n"},
    {"language_with_numeric_region_accepted", MAILBOX "language = es-419\n",
     "\nlanguage = es-419\n"},
    {"language_with_variant_accepted", MAILBOX "language = de-CH-1996\n",
     "\nlanguage = de-CH-1996\n"},
    {"signature_line_breaks_shown_escaped", MAILBOX "signature = Ann\\nSupport\n",
     "\nsignature = Ann\\nSupport\n"},
    {"openai_with_url_and_model_accepted",
     "[llm]\nprovider = openai\nurl = https://llm.example.org/v1\nmodel = llama3\n" MAILBOX,
     "\nprovider = openai\nurl = https://llm.example.org/v1\nmodel = llama3\n"},
};

static void test_value_case(struct fixture *fx, gconstpointer data)
{
    const struct value_case *c = data;
    struct config *cfg = load_ok(fx, c->text);
    GString *out = g_string_new(NULL);

    config_print(cfg, out);
    assert_contains(out->str, c->printed);
    g_string_free(out, TRUE);
    config_unref(cfg);
}

/* ---- accepted files ---- */

static void test_minimal_file_has_defaults(struct fixture *fx, gconstpointer data)
{
    struct config *cfg = load_ok(fx, MAILBOX);

    g_assert_cmpstr(cfg->path, ==, fx->path);
    g_assert_cmpuint(cfg->daemon.workers, ==, 4);
    g_assert_cmpint(cfg->daemon.busy_timeout, ==, 10);
    g_assert_cmpint(cfg->daemon.lease_time, ==, 600);
    g_assert_cmpint(cfg->daemon.retry_base, ==, 60);
    g_assert_cmpint(cfg->daemon.retry_max, ==, 3600);
    g_assert_cmpuint(cfg->daemon.max_attempts, ==, 10);
    g_assert_cmpuint(cfg->daemon.max_message_size, ==, 10 * 1024 * 1024);
    g_assert_false(cfg->daemon.mask_addresses);
    g_assert_cmpint(cfg->llm.provider, ==, CONFIG_PROVIDER_BUILTIN);
    g_assert_cmpint(cfg->llm.timeout, ==, 60);
    g_assert_cmpuint(cfg->llm.max_attempts, ==, 3);
    g_assert_cmpfloat(cfg->llm.min_confidence, ==, 0.5);
    g_assert_cmpuint(cfg->llm.max_response_size, ==, 1024 * 1024);
    g_assert_cmpstr(cfg->sendmail.path, ==, "/usr/sbin/sendmail");
    g_assert_cmpint(cfg->sendmail.timeout, ==, 120);
    g_assert_null(cfg->api_key);
    g_assert_nonnull(cfg->hostname);
    g_assert_cmpstr(cfg->hostname, !=, "");

    g_assert_cmpuint(cfg->mailboxes->len, ==, 1);
    const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, 0);
    g_assert_cmpstr(mailbox->address, ==, "support@example.org");
    g_assert_cmpstr(mailbox->escalate_to, ==, "boss@example.org");
    g_assert_cmpint(mailbox->mode, ==, CONFIG_MODE_AUTO);
    g_assert_cmpint(mailbox->reply_interval, ==, 604800);
    static const char *const intents[] = {"send_info", "create_account", "speak_to_human",
                                          "unknown", NULL};
    assert_strv(mailbox->intents, intents);
    config_unref(cfg);
}

static void test_default_intents_added(struct fixture *fx, gconstpointer data)
{
    static const struct {
        const char *name;
        int action;
        const char *keyword; /* one of its keywords, or "" */
    } expected[] = {
        {"send_info", CONFIG_ACTION_REPLY, "pricing"},
        {"create_account", CONFIG_ACTION_REPLY, "sign up"},
        {"speak_to_human", CONFIG_ACTION_ESCALATE, "manager"},
        {"unknown", CONFIG_ACTION_ESCALATE, ""},
    };
    struct config *cfg = load_ok(fx, MAILBOX);

    g_assert_cmpuint(cfg->intents->len, ==, G_N_ELEMENTS(expected));
    for (size_t i = 0; i < G_N_ELEMENTS(expected); i++) {
        const struct config_intent *intent = config_intent_find(cfg, expected[i].name);
        g_assert_nonnull(intent);
        g_assert_cmpint(intent->action, ==, expected[i].action);
        g_assert_cmpstr(intent->description, !=, "");
        g_assert_nonnull(strstr(intent->template_text, "{{reply}}"));
        if (*expected[i].keyword != '\0')
            g_assert_true(
                g_strv_contains((const char *const *)intent->keywords, expected[i].keyword));
        else
            g_assert_cmpuint(g_strv_length(intent->keywords), ==, 0);
    }
    g_assert_null(config_intent_find(cfg, "refund"));
    config_unref(cfg);
}

static void test_unknown_appended_to_mailbox_intents(struct fixture *fx, gconstpointer data)
{
    struct config *cfg = load_ok(fx, MAILBOX "intents = send_info\n");
    const struct config_mailbox *mailbox = config_mailbox_find(cfg, "support@example.org");
    static const char *const expected[] = {"send_info", "unknown", NULL};

    assert_strv(mailbox->intents, expected);
    assert_intent_names(cfg, expected);
    config_unref(cfg);
}

static void test_unknown_not_added_twice(struct fixture *fx, gconstpointer data)
{
    struct config *cfg = load_ok(fx, MAILBOX "intents = unknown, send_info\n");
    const struct config_mailbox *mailbox = config_mailbox_find(cfg, "support@example.org");
    static const char *const expected[] = {"unknown", "send_info", NULL};

    assert_strv(mailbox->intents, expected);
    assert_intent_names(cfg, expected);
    config_unref(cfg);
}

static void test_mailboxes_share_default_intents(struct fixture *fx, gconstpointer data)
{
    struct config *cfg = load_ok(fx, MAILBOX "intents = send_info\n"
                                             "[mailbox sales@example.org]\n"
                                             "escalate_to = boss@example.org\n");
    static const char *const expected[] = {"send_info", "unknown", "create_account",
                                           "speak_to_human", NULL};

    g_assert_cmpuint(cfg->mailboxes->len, ==, 2);
    assert_intent_names(cfg, expected);
    config_unref(cfg);
}

static void test_custom_intent_with_template(struct fixture *fx, gconstpointer data)
{
    static const char template_text[] = "Dear {{ sender_name }},\n{{reply}}\n-- {{mailbox}}\n";
    g_free(testutil_write(fx->dir, "refund.txt", template_text));
    /* The mailbox comes first: intents are read before mailboxes whatever the order. */
    struct config *cfg = load_ok(fx, MAILBOX "intents = refund\n"
                                             "[intent refund]\n"
                                             "description = Wants money back\n"
                                             "action = reply\n"
                                             "keywords = refund, money back\n"
                                             "template = @DIR@/refund.txt\n");
    const struct config_intent *intent = config_intent_find(cfg, "refund");
    static const char *const keywords[] = {"refund", "money back", NULL};
    static const char *const intents[] = {"refund", "unknown", NULL};

    g_assert_nonnull(intent);
    g_assert_cmpstr(intent->description, ==, "Wants money back");
    g_assert_cmpint(intent->action, ==, CONFIG_ACTION_REPLY);
    assert_strv(intent->keywords, keywords);
    g_assert_cmpstr(intent->template_text, ==, template_text);
    assert_strv(config_mailbox_find(cfg, "support@example.org")->intents, intents);
    config_unref(cfg);
}

static void test_default_intent_group_keeps_unset_defaults(struct fixture *fx, gconstpointer data)
{
    struct config *cfg = load_ok(fx, "[intent send_info]\naction = escalate\n" MAILBOX);
    const struct config_intent *intent = config_intent_find(cfg, "send_info");

    g_assert_cmpint(intent->action, ==, CONFIG_ACTION_ESCALATE);
    g_assert_true(g_str_has_prefix(intent->description, "The sender asks for information"));
    g_assert_true(g_strv_contains((const char *const *)intent->keywords, "price"));
    config_unref(cfg);
}

static void test_api_key_read_and_stripped(struct fixture *fx, gconstpointer data)
{
    char *key = testutil_write(fx->dir, "key", "  sk-test-123 \n");
    g_chmod(key, 0600);
    g_free(key);
    struct config *cfg = load_ok(fx, "[llm]\napi_key_file = @DIR@/key\n" MAILBOX);

    g_assert_cmpstr(cfg->api_key, ==, "sk-test-123");
    config_unref(cfg);
}

/* persona_file becomes the persona, its line breaks kept and its ends stripped. */
static void test_persona_file_read(struct fixture *fx, gconstpointer data)
{
    g_free(testutil_write(fx->dir, "persona.txt", "\nYou are Ann of Example.\n\nBe brief.\n"));
    struct config *cfg = load_ok(fx, MAILBOX "persona_file = @DIR@/persona.txt\n");
    const struct config_mailbox *mailbox = config_mailbox_find(cfg, "support@example.org");
    g_assert_cmpstr(mailbox->persona, ==, "You are Ann of Example.\n\nBe brief.");
    GString *out = g_string_new(NULL);
    config_print(cfg, out);
    assert_contains(out->str, "\npersona = You are Ann of Example.\\n\\nBe brief.\n");
    g_string_free(out, TRUE);
    config_unref(cfg);
}

/* At most 32 kB: 32768 bytes are taken, one more is refused. */
static void test_persona_file_capped(struct fixture *fx, gconstpointer data)
{
    char *text = g_strnfill(32 * 1024, 'a');
    g_free(testutil_write(fx->dir, "persona.txt", text));
    struct config *cfg = load_ok(fx, MAILBOX "persona_file = @DIR@/persona.txt\n");
    g_assert_cmpuint(strlen(config_mailbox_find(cfg, "support@example.org")->persona), ==,
                     32 * 1024);
    config_unref(cfg);
    /* A directory (or a FIFO, which would block the load) is no persona. */
    char *dir = g_build_filename(fx->dir, "persona.d", NULL);
    g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
    char *error = load_error(fx, MAILBOX "persona_file = @DIR@/persona.d\n");
    char *expected = expand(fx, "@FILE@:3: [mailbox support@example.org] persona_file: "
                                "@DIR@/persona.d is not a regular file");
    g_assert_cmpstr(error, ==, expected);
    g_free(expected);
    g_free(error);
    g_rmdir(dir);
    g_free(dir);
    char *more = g_strconcat(text, "a", NULL);
    g_free(testutil_write(fx->dir, "persona.txt", more));
    error = load_error(fx, MAILBOX "persona_file = @DIR@/persona.txt\n");
    expected = expand(fx, "@FILE@:3: [mailbox support@example.org] persona_file: "
                          "@DIR@/persona.txt is larger than 32768 bytes");
    g_assert_cmpstr(error, ==, expected);
    g_free(expected);
    g_free(error);
    g_free(more);
    g_free(text);
}

static void test_hostname_from_daemon_group(struct fixture *fx, gconstpointer data)
{
    struct config *cfg = load_ok(fx, "[daemon]\nhostname = mx.example.org\n" MAILBOX);

    g_assert_cmpstr(cfg->hostname, ==, "mx.example.org");
    config_unref(cfg);
}

static void test_mailbox_find_case_insensitive(struct fixture *fx, gconstpointer data)
{
    struct config *cfg = load_ok(fx, MAILBOX "[mailbox sales@example.org]\nmode = off\n");
    static const struct {
        const char *address;
        const char *found; /* NULL when not monitored */
    } cases[] = {
        {"support@example.org", "support@example.org"},
        {"SUPPORT@Example.ORG", "support@example.org"},
        {"Sales@example.org", "sales@example.org"},
        {"other@example.org", NULL},
        {"support@example.org.evil", NULL},
        {"", NULL},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const struct config_mailbox *mailbox = config_mailbox_find(cfg, cases[i].address);
        g_assert_cmpstr(mailbox != NULL ? mailbox->address : NULL, ==, cases[i].found);
    }
    config_unref(cfg);
}

static void test_ref_unref(struct fixture *fx, gconstpointer data)
{
    struct config *cfg = load_ok(fx, MAILBOX);

    g_assert_cmpint(cfg->refcount, ==, 1);
    g_assert_true(config_ref(cfg) == cfg);
    g_assert_cmpint(cfg->refcount, ==, 2);
    config_unref(cfg);
    /* Still usable by the holder of the other reference. */
    g_assert_cmpint(cfg->refcount, ==, 1);
    g_assert_nonnull(config_mailbox_find(cfg, "support@example.org"));
    config_unref(cfg);
    config_unref(NULL);
}

/* ---- value parsers ---- */

struct duration_case {
    const char *text;
    int result;
    gint64 seconds;
};

static void test_parse_duration(void)
{
    static const struct duration_case cases[] = {
        {"0", 0, 0},
        {"45", 0, 45},
        {"45s", 0, 45},
        {"2m", 0, 120},
        {"3h", 0, 10800},
        {"7d", 0, 604800},
        {"2w", 0, 1209600},
        {"", -1, 0},
        {"s", -1, 0},
        {"7x", -1, 0},
        {"-1", -1, 0},
        {"-5m", -1, 0},
        {"1.5h", -1, 0},
        {"10ss", -1, 0},
        {"5 s", -1, 0},
        {"1M", -1, 0},
        {"15250284452472w", -1, 0},
        {"99999999999999999999", -1, 0},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        gint64 seconds = -42;
        int result = config_parse_duration(cases[i].text, &seconds);
        if (result != cases[i].result || seconds != (result == 0 ? cases[i].seconds : -42)) {
            g_test_message("config_parse_duration(\"%s\") gave %d, %" G_GINT64_FORMAT,
                           cases[i].text, result, seconds);
            g_test_fail();
        }
    }
}

struct size_case {
    const char *text;
    int result;
    guint64 bytes;
};

static void test_parse_size(void)
{
    static const struct size_case cases[] = {
        {"0", 0, 0},
        {"512", 0, 512},
        {"1k", 0, 1024},
        {"1K", 0, 1024},
        {"1M", 0, 1048576},
        {"2G", 0, 2147483648u},
        {"", -1, 0},
        {"k", -1, 0},
        {"-1", -1, 0},
        {"1m", -1, 0},
        {"1g", -1, 0},
        {"1KB", -1, 0},
        {"1.5M", -1, 0},
        {"ten", -1, 0},
        {"17179869184G", -1, 0},
        {"99999999999999999999999", -1, 0},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint64 bytes = 42;
        int result = config_parse_size(cases[i].text, &bytes);
        if (result != cases[i].result || bytes != (result == 0 ? cases[i].bytes : 42)) {
            g_test_message("config_parse_size(\"%s\") gave %d, %" G_GUINT64_FORMAT, cases[i].text,
                           result, bytes);
            g_test_fail();
        }
    }
}

/* g_ascii_strtoull() skips leading spaces and wraps a negative number around: " -1" must not
 * become 18446744073709551615 bytes. */
static void test_parse_size_rejects_negative_after_space(void)
{
    guint64 bytes = 42;
    int result = config_parse_size(" -1", &bytes);

    if (result != -1 || bytes != 42) {
        g_test_message("config_parse_size(\" -1\") gave %d, %" G_GUINT64_FORMAT, result, bytes);
        g_test_fail();
    }
}

/* ---- printing: derived from the key table ---- */

/* Every key of the table with its group and default, from the X-macro lists. */
struct table_key {
    const char *group;
    const char *key;
    const char *def;
};

#define TABLE_KEY(group, key, type, def, min, max, choices, doc) {group, #key, def},
#define DAEMON_KEY(...) TABLE_KEY("daemon", __VA_ARGS__)
#define LLM_KEY(...) TABLE_KEY("llm", __VA_ARGS__)
#define SENDMAIL_KEY(...) TABLE_KEY("sendmail", __VA_ARGS__)
#define MAILBOX_KEY(...) TABLE_KEY("mailbox", __VA_ARGS__)
#define INTENT_KEY(...) TABLE_KEY("intent", __VA_ARGS__)

static const struct table_key table_keys[] = {
    CONFIG_DAEMON_KEYS(DAEMON_KEY) CONFIG_LLM_KEYS(LLM_KEY) CONFIG_SENDMAIL_KEYS(SENDMAIL_KEY)
        CONFIG_MAILBOX_KEYS(MAILBOX_KEY) CONFIG_INTENT_KEYS(INTENT_KEY)};

static void test_print_defaults_has_groups(void)
{
    static const char *const expected[] = {
        "[daemon]\n",
        "[llm]\n",
        "[sendmail]\n",
        "[mailbox support@example.org]\n",
        "[intent send_info]\n",
        "#workers = 4\n",
        "#provider = builtin\n",
        "#reply_interval = 7d\n",
        "#busy_timeout = 10s\n",
    };
    GString *out = g_string_new(NULL);

    config_print_defaults(out);
    for (size_t i = 0; i < G_N_ELEMENTS(expected); i++)
        assert_contains(out->str, expected[i]);
    g_string_free(out, TRUE);
}

static void test_print_defaults_has_every_key(void)
{
    GString *out = g_string_new(NULL);

    config_print_defaults(out);
    for (size_t i = 0; i < G_N_ELEMENTS(table_keys); i++) {
        const char *def = table_keys[i].def;
        char *line =
            g_strdup_printf("\n#%s =%s%s\n", table_keys[i].key, *def != '\0' ? " " : "", def);
        assert_contains(out->str, line);
        g_free(line);
    }
    g_string_free(out, TRUE);
}

/* The sample with every key uncommented (and the one required address) is a valid file. */
static void test_print_defaults_uncommented_loads(struct fixture *fx, gconstpointer data)
{
    GString *sample = g_string_new(NULL);
    GString *text = g_string_new(NULL);

    config_print_defaults(sample);
    char **lines = g_strsplit(sample->str, "\n", -1);
    for (int i = 0; lines[i] != NULL; i++) {
        const char *line = lines[i];
        if (strcmp(line, "#escalate_to =") == 0)
            line = "#escalate_to = boss@example.org";
        if (line[0] == '#' && line[1] != ' ' && line[1] != '\0')
            line++;
        g_string_append_printf(text, "%s\n", line);
    }
    g_strfreev(lines);

    struct config *cfg = load_ok(fx, text->str);
    g_assert_cmpuint(cfg->daemon.workers, ==, 4);
    g_assert_nonnull(config_mailbox_find(cfg, "support@example.org"));
    g_assert_nonnull(config_intent_find(cfg, "send_info"));
    config_unref(cfg);
    g_string_free(text, TRUE);
    g_string_free(sample, TRUE);
}

static void test_print_man_has_every_key(void)
{
    static const char *const expected[] = {
        ".SS [daemon]\n",
        ".SS [llm]\n",
        ".SS [sendmail]\n",
        ".SS [mailbox ADDRESS]\n",
        ".SS [intent NAME]\n",
        ".TP\n.B workers\n(number, default \\(lq4\\(rq)\n",
        ".B mask_addresses\n(yes|no, default \\(lqfalse\\(rq)\n",
        ".B mode\n(auto|draft|off|shadow, default \\(lqauto\\(rq)\n",
        ".B max_message_size\n(size, default \\(lq10M\\(rq)\n",
        "OpenAI\\-compatible",
    };
    GString *out = g_string_new(NULL);

    config_print_man(out);
    for (size_t i = 0; i < G_N_ELEMENTS(expected); i++)
        assert_contains(out->str, expected[i]);
    for (size_t i = 0; i < G_N_ELEMENTS(table_keys); i++) {
        char *line = g_strdup_printf("\n.B %s\n", table_keys[i].key);
        assert_contains(out->str, line);
        g_free(line);
    }
    g_string_free(out, TRUE);
}

/* GKeyFile would merge two groups of the same name (the later escalate_to winning): the loader
 * refuses the repeat instead, with its line. */
static void test_duplicate_mailbox_exact_rejected(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    struct config *cfg = load(fx,
                              MAILBOX "[mailbox support@example.org]\n"
                                      "escalate_to = other@example.org\n",
                              &error);

    if (cfg != NULL) {
        g_test_message("loaded, with escalate_to %s",
                       config_mailbox_find(cfg, "support@example.org")->escalate_to);
        g_test_fail();
        config_unref(cfg);
        return;
    }
    assert_contains(error, "mailtriage.conf:3: [mailbox support@example.org] appears twice");
    g_free(error);
}

static void test_repeated_key_rejected(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    struct config *cfg = load(fx, "[daemon]\nworkers = 2\nworkers = 3\n" MAILBOX, &error);
    g_assert_null(cfg);
    assert_contains(error, "mailtriage.conf:3: [daemon] workers is set twice");
    g_free(error);
}

/* ---- registration ---- */

static void add_fixture_test(const char *path, gconstpointer data,
                             void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, data, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(error_cases); i++) {
        char *path = g_strdup_printf("/config/%s", error_cases[i].name);
        add_fixture_test(path, &error_cases[i], test_error_case);
        g_free(path);
    }
    add_fixture_test("/config/template_missing_rejected", NULL, test_template_missing_rejected);
    add_fixture_test("/config/persona_file_read", NULL, test_persona_file_read);
    add_fixture_test("/config/persona_file_capped", NULL, test_persona_file_capped);
    add_fixture_test("/config/api_key_file_missing_rejected", NULL,
                     test_api_key_file_missing_rejected);
    add_fixture_test("/config/missing_file_rejected", NULL, test_missing_file_rejected);

    for (size_t i = 0; i < G_N_ELEMENTS(value_cases); i++) {
        char *path = g_strdup_printf("/config/value/%s", value_cases[i].name);
        add_fixture_test(path, &value_cases[i], test_value_case);
        g_free(path);
    }
    add_fixture_test("/config/minimal_file_has_defaults", NULL, test_minimal_file_has_defaults);
    add_fixture_test("/config/default_intents_added", NULL, test_default_intents_added);
    add_fixture_test("/config/unknown_appended_to_mailbox_intents", NULL,
                     test_unknown_appended_to_mailbox_intents);
    add_fixture_test("/config/unknown_not_added_twice", NULL, test_unknown_not_added_twice);
    add_fixture_test("/config/mailboxes_share_default_intents", NULL,
                     test_mailboxes_share_default_intents);
    add_fixture_test("/config/custom_intent_with_template", NULL, test_custom_intent_with_template);
    add_fixture_test("/config/default_intent_group_keeps_unset_defaults", NULL,
                     test_default_intent_group_keeps_unset_defaults);
    add_fixture_test("/config/api_key_read_and_stripped", NULL, test_api_key_read_and_stripped);
    add_fixture_test("/config/hostname_from_daemon_group", NULL, test_hostname_from_daemon_group);
    add_fixture_test("/config/mailbox_find_case_insensitive", NULL,
                     test_mailbox_find_case_insensitive);
    add_fixture_test("/config/ref_unref", NULL, test_ref_unref);

    g_test_add_func("/config/parse_duration", test_parse_duration);
    g_test_add_func("/config/parse_size", test_parse_size);

    g_test_add_func("/config/print_defaults_has_groups", test_print_defaults_has_groups);
    g_test_add_func("/config/print_defaults_has_every_key", test_print_defaults_has_every_key);
    add_fixture_test("/config/print_defaults_uncommented_loads", NULL,
                     test_print_defaults_uncommented_loads);
    g_test_add_func("/config/print_man_has_every_key", test_print_man_has_every_key);

    g_test_add_func("/config/parse_size_rejects_negative_after_space",
                    test_parse_size_rejects_negative_after_space);
    add_fixture_test("/config/duplicate_mailbox_exact_rejected", NULL,
                     test_duplicate_mailbox_exact_rejected);
    add_fixture_test("/config/repeated_key_rejected", NULL, test_repeated_key_rejected);
    return g_test_run();
}
