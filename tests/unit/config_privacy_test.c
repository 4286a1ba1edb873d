/*
 * config_privacy_test: the data-protection rules of the configuration (lib/core/config.c and
 * config_print.c): an API key file every user can read is refused at load time, in the words
 * of config check; `config show` masks the user name and password of a URL; the retention keys
 * are bounded and metadata_retention_days never ends a rule's window early.
 *
 * Each case writes its file into a private temporary directory and loads it; rejected files
 * compare the whole error, with @FILE@ and @DIR@ standing for the file and the directory.
 */
#include <string.h>

#include <glib.h>

#include "config.h"
#include "config_print.h"
#include "testutil.h"

#define MAILBOX "[mailbox support@example.org]\nescalate_to = boss@example.org\n"

struct fixture {
    char *dir;
    char *path;
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

static char *expand(const struct fixture *fx, const char *text)
{
    char *with_dir = testutil_replace(text, "@DIR@", fx->dir);
    char *result = testutil_replace(with_dir, "@FILE@", fx->path);
    g_free(with_dir);
    return result;
}

/* TEXT loaded: the configuration, or NULL and *ERROR_R. */
static struct config *load(const struct fixture *fx, const char *text, char **error_r)
{
    char *expanded = expand(fx, text);
    g_free(testutil_write(fx->dir, "mailtriage.conf", expanded));
    g_free(expanded);
    return config_load(fx->path, error_r);
}

/* The key file DIR/key with MODE. */
static void write_key(const struct fixture *fx, int mode)
{
    char *key = testutil_write(fx->dir, "key", "sk-test-123\n");
    g_assert_cmpint(g_chmod(key, mode), ==, 0);
    g_free(key);
}

/* ---- the API key file ---- */

static void test_key_readable_by_all_refused(struct fixture *fx, gconstpointer data)
{
    write_key(fx, 0644);
    char *error = NULL;
    struct config *cfg = load(fx, "[llm]\napi_key_file = @DIR@/key\n" MAILBOX, &error);
    char *expected = expand(fx, "@FILE@:2: [llm] api_key_file: @DIR@/key is readable by every "
                                "user (chmod 600 or 640)");
    g_assert_null(cfg);
    g_assert_cmpstr(error, ==, expected);
    g_assert_true(error == NULL || strstr(error, "sk-test-123") == NULL);
    g_free(expected);
    g_free(error);
}

static void test_key_readable_by_owner_and_group_loads(struct fixture *fx, gconstpointer data)
{
    static const int modes[] = {0600, 0640, 0400};
    for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
        write_key(fx, modes[i]);
        char *error = NULL;
        struct config *cfg = load(fx, "[llm]\napi_key_file = @DIR@/key\n" MAILBOX, &error);
        g_assert_cmpstr(error, ==, NULL);
        g_assert_true(cfg != NULL && g_strcmp0(cfg->api_key, "sk-test-123") == 0);
        config_unref(cfg);
        g_free(error);
    }
}

/* The syntax check does not open the named files: the key may belong to another machine. */
static void test_key_mode_not_checked_by_syntax_load(struct fixture *fx, gconstpointer data)
{
    write_key(fx, 0644);
    char *expanded = expand(fx, "[llm]\napi_key_file = @DIR@/key\n" MAILBOX);
    g_free(testutil_write(fx->dir, "mailtriage.conf", expanded));
    g_free(expanded);
    char *error = NULL;
    struct config *cfg = config_load_syntax(fx->path, &error);
    g_assert_nonnull(cfg);
    g_assert_null(cfg != NULL ? cfg->api_key : NULL);
    config_unref(cfg);
    g_free(error);
}

/* ---- config show ---- */

static void test_show_masks_url_credentials(struct fixture *fx, gconstpointer data)
{
    write_key(fx, 0600);
    char *error = NULL;
    struct config *cfg = load(
        fx,
        "[llm]\nprovider = openai\nurl = http://llmuser:s3cret@127.0.0.1:8080/v1\n"
        "model = m\napi_key_file = @DIR@/key\n[intent lead]\naction = webhook\n"
        "webhook_url = https://crm:hunter2@crm.example.org/hook?a=b@c\n" MAILBOX "intents = lead\n",
        &error);
    g_assert_cmpstr(error, ==, NULL);
    GString *out = g_string_new(NULL);
    if (cfg != NULL)
        config_print(cfg, out);
    g_assert_nonnull(strstr(out->str, "\nurl = http://***@127.0.0.1:8080/v1\n"));
    g_assert_nonnull(strstr(out->str, "\nwebhook_url = https://***@crm.example.org/hook?a=b@c\n"));
    static const char *const secrets[] = {"s3cret", "llmuser", "hunter2", "sk-test-123"};
    for (size_t i = 0; i < G_N_ELEMENTS(secrets); i++)
        if (strstr(out->str, secrets[i]) != NULL) {
            g_test_message("config show prints \"%s\":\n%s", secrets[i], out->str);
            g_test_fail();
        }
    g_string_free(out, TRUE);
    config_unref(cfg);
    g_free(error);
}

static void test_show_keeps_a_plain_url(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    struct config *cfg =
        load(fx, "[llm]\nprovider = openai\nurl = https://llm.example.org/v1\nmodel = m\n" MAILBOX,
             &error);
    GString *out = g_string_new(NULL);
    if (cfg != NULL)
        config_print(cfg, out);
    g_assert_nonnull(strstr(out->str, "\nurl = https://llm.example.org/v1\n"));
    g_string_free(out, TRUE);
    config_unref(cfg);
    g_free(error);
}

/* ---- retention ---- */

struct retention_case {
    const char *name;
    const char *text;
    const char *error; /* NULL: loads */
};

static const struct retention_case retention_cases[] = {
    {"defaults_keep_everything", MAILBOX, NULL},
    {"retention_days_alone", "[policy]\nretention_days = 30\n" MAILBOX, NULL},
    {"metadata_as_long_as_bounce_block", "[policy]\nmetadata_retention_days = 60\n" MAILBOX, NULL},
    {"both", "[policy]\nretention_days = 30\nmetadata_retention_days = 365\n" MAILBOX, NULL},
    {"retention_days_above_100_years", "[policy]\nretention_days = 36501\n" MAILBOX,
     "@FILE@:2: [policy] retention_days must be a whole number from 0 to 36500"},
    {"metadata_shorter_than_retention_days",
     "[policy]\nretention_days = 90\nmetadata_retention_days = 80\n" MAILBOX,
     "@FILE@:3: [policy] metadata_retention_days must not be shorter than retention_days (the "
     "rows go with the bodies)"},
    {"metadata_shorter_than_bounce_block", "[policy]\nmetadata_retention_days = 59\n" MAILBOX,
     "@FILE@:2: [policy] metadata_retention_days (59 days) is shorter than bounce_block: the rows "
     "that rule counts would be deleted before it ends"},
    {"metadata_with_a_short_bounce_block",
     "[policy]\nmetadata_retention_days = 1\nbounce_block = 1d\n" MAILBOX "reply_interval = 1d\n",
     NULL},
    {"metadata_shorter_than_a_reply_interval",
     "[policy]\nmetadata_retention_days = 60\n" MAILBOX "reply_interval = 61d\n",
     "@FILE@:2: [policy] metadata_retention_days (60 days) is shorter than the reply_interval of "
     "a mailbox: the rows that rule counts would be deleted before it ends"},
};

static void test_retention_case(struct fixture *fx, gconstpointer data)
{
    const struct retention_case *c = data;
    char *error = NULL;
    struct config *cfg = load(fx, c->text, &error);
    if (c->error == NULL) {
        g_assert_cmpstr(error, ==, NULL);
        g_assert_nonnull(cfg);
    } else {
        char *expected = expand(fx, c->error);
        g_assert_null(cfg);
        g_assert_cmpstr(error, ==, expected);
        g_free(expected);
    }
    config_unref(cfg);
    g_free(error);
}

static void add(const char *path, gconstpointer data, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, data, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    add("/config_privacy/key_readable_by_all_refused", NULL, test_key_readable_by_all_refused);
    add("/config_privacy/key_readable_by_owner_and_group_loads", NULL,
        test_key_readable_by_owner_and_group_loads);
    add("/config_privacy/key_mode_not_checked_by_syntax_load", NULL,
        test_key_mode_not_checked_by_syntax_load);
    add("/config_privacy/show_masks_url_credentials", NULL, test_show_masks_url_credentials);
    add("/config_privacy/show_keeps_a_plain_url", NULL, test_show_keeps_a_plain_url);
    for (size_t i = 0; i < G_N_ELEMENTS(retention_cases); i++) {
        char *path = g_strdup_printf("/config_privacy/retention/%s", retention_cases[i].name);
        add(path, &retention_cases[i], test_retention_case);
        g_free(path);
    }
    return g_test_run();
}
