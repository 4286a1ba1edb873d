/*
 * config_check_test: the specification of lib/core/config_check.c.
 *
 * Each case starts from a good layout in a private temporary directory (a database directory
 * and a socket directory of the user, a sendmail program, two templates, an API key file of
 * mode 0600), changes a few files, and compares every problem config_check_environment()
 * reports, in order, with @DIR@ for the directory and @USER@ for the user. Run as root, the
 * user is "nobody" and the layout is given to it with chown, so that the cases that need
 * "another user's file" can be built; run as anyone else, the user is the one running the
 * test and those cases are skipped. config_check_file() has cases of its own for what it adds:
 * --syntax, the order of the checks, and the contents of the named files.
 */
#include <errno.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "config_check.h"
#include "testutil.h"

/* A socket path longer than the 107 bytes a unix socket may have. */
#define LONG_NAME                                                                                  \
    "socket-with-a-name-far-too-long-for-sun-path-socket-with-a-name-far-too-long-for-sun-path-"   \
    "socket-with-a-name-far-too-long.sock"

struct fixture {
    char *dir;
    struct config_check_user *user; /* nobody as root, else the running user */
    gid_t user_gid;                 /* the user's primary group */
    gboolean as_root;
};

enum change_kind {
    CHANGE_NONE,
    CHANGE_REMOVE,
    CHANGE_MODE,
    CHANGE_MKDIR,
    CHANGE_FILE,         /* a new file of MODE */
    CHANGE_OWNER_ROOT,   /* another user's file: root's, group root (needs root) */
    CHANGE_GROUP_OF_USER /* root's, in the user's group (needs root) */
};

struct change {
    enum change_kind kind;
    const char *path; /* under the directory */
    unsigned mode;
};

enum identity {
    IDENTITY_SWITCHED, /* the fixture's user, which a daemon started as root becomes */
    IDENTITY_STARTS,   /* the fixture's user, which starts the daemon itself */
    IDENTITY_ROOT,
    IDENTITY_UNKNOWN /* the user could not be looked up */
};

struct check_case {
    const char *name;
    const char *config_user; /* [daemon] user; NULL for @USER@ */
    const char *socket;      /* [daemon] socket; NULL for unix:@DIR@/run/mt.sock */
    const char *daemon_lines;
    struct change changes[4];
    enum identity identity;
    const char *expected; /* "error: TEXT\n" or "warning: TEXT\n" per problem */
};

/* ---- the good layout ---- */

static void must(int result, const char *what, const char *path)
{
    if (result < 0)
        g_error("%s %s: %s", what, path, g_strerror(errno));
}

static char *fixture_path(const struct fixture *fx, const char *name)
{
    return g_build_filename(fx->dir, name, NULL);
}

static void fixture_file(const struct fixture *fx, const char *name, const char *text,
                         unsigned mode)
{
    char *path = testutil_write(fx->dir, name, text);
    must(g_chmod(path, (int)mode), "chmod", path);
    g_free(path);
}

static void fixture_dir(const struct fixture *fx, const char *name, unsigned mode)
{
    char *path = fixture_path(fx, name);
    must(g_mkdir(path, (int)mode), "mkdir", path);
    must(g_chmod(path, (int)mode), "chmod", path);
    g_free(path);
}

/* The user's own file, when the test can give it away. */
static void fixture_give(const struct fixture *fx, const char *name)
{
    char *path = fixture_path(fx, name);
    if (fx->as_root)
        must(chown(path, fx->user->uid, fx->user_gid), "chown", path);
    g_free(path);
}

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    fx->as_root = geteuid() == 0;
    if (config_check_user_lookup(fx->as_root ? "nobody" : NULL, &fx->user, &error) < 0)
        g_error("%s", error);
    struct passwd *entry = getpwuid(fx->user->uid);
    fx->user_gid = entry != NULL ? entry->pw_gid : getegid();
    fx->dir = testutil_tmpdir();
    must(g_chmod(fx->dir, 0755), "chmod", fx->dir); /* the user must reach what is inside */
    fixture_dir(fx, "db", 0750);
    fixture_dir(fx, "run", 0750);
    fixture_dir(fx, "tpl", 0755);
    fixture_file(fx, "sendmail", "#!/bin/sh\nexit 0\n", 0755);
    fixture_file(fx, "tpl/send_info.txt", "Hello {{sender_name}},\n\n{{reply}}\n", 0644);
    fixture_file(fx, "tpl/send_info.html", "<div>{{reply}}</div>\n", 0644);
    fixture_file(fx, "key", "sk-test\n", 0600);
    fixture_give(fx, "db");
    fixture_give(fx, "run");
    fixture_give(fx, "key");
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    testutil_rmtree(fx->dir);
    g_free(fx->dir);
    config_check_user_free(fx->user);
}

static gboolean change_needs_root(const struct change *change)
{
    return change->kind == CHANGE_OWNER_ROOT || change->kind == CHANGE_GROUP_OF_USER;
}

static void change_apply(const struct fixture *fx, const struct change *change)
{
    char *path = fixture_path(fx, change->path);
    switch (change->kind) {
    case CHANGE_NONE:
        break;
    case CHANGE_REMOVE:
        testutil_rmtree(path);
        break;
    case CHANGE_MODE:
        must(g_chmod(path, (int)change->mode), "chmod", path);
        break;
    case CHANGE_MKDIR:
        must(g_mkdir(path, (int)change->mode), "mkdir", path);
        break;
    case CHANGE_FILE:
        fixture_file(fx, change->path, "", change->mode);
        fixture_give(fx, change->path);
        break;
    case CHANGE_OWNER_ROOT:
        must(chown(path, 0, 0), "chown", path);
        break;
    case CHANGE_GROUP_OF_USER:
        must(chown(path, 0, fx->user_gid), "chown", path);
        break;
    }
    g_free(path);
}

/* TEXT with @DIR@ and @USER@ replaced. */
static char *expand(const struct fixture *fx, const char *text, const char *user)
{
    char *with_dir = testutil_replace(text, "@DIR@", fx->dir);
    char *result = testutil_replace(with_dir, "@USER@", user);
    g_free(with_dir);
    return result;
}

static char *write_config(const struct fixture *fx, const struct check_case *c)
{
    char *text = g_strdup_printf("[daemon]\ndatabase = @DIR@/db/mt.db\nsocket = %s\nuser = %s\n%s"
                                 "[llm]\napi_key_file = @DIR@/key\n"
                                 "[sendmail]\npath = @DIR@/sendmail\n"
                                 "[intent send_info]\ntemplate = @DIR@/tpl/send_info.txt\n"
                                 "template_html = @DIR@/tpl/send_info.html\n"
                                 "[mailbox support@example.org]\nescalate_to = boss@example.org\n",
                                 c->socket != NULL ? c->socket : "unix:@DIR@/run/mt.sock",
                                 c->config_user != NULL ? c->config_user : "@USER@",
                                 c->daemon_lines != NULL ? c->daemon_lines : "");
    char *expanded = expand(fx, text, fx->user->name);
    char *path = testutil_write(fx->dir, "mailtriage.conf", expanded);
    g_free(expanded);
    g_free(text);
    return path;
}

/* The problems one per line, as the cases write them. */
static char *problems_text(const GPtrArray *problems)
{
    GString *out = g_string_new(NULL);
    for (guint i = 0; i < problems->len; i++) {
        const struct config_check_problem *problem = g_ptr_array_index(problems, i);
        g_string_append_printf(out, "%s: %s\n",
                               problem->severity == CONFIG_CHECK_ERROR ? "error" : "warning",
                               problem->text);
    }
    return g_string_free(out, FALSE);
}

/* ---- the cases ---- */

#define USER_NOTE                                                                                  \
    " (fine when the daemon is started as root: it binds the socket before it becomes the user)"

static const struct check_case check_cases[] = {
    {"all_good", NULL, NULL, NULL, {{0}}, IDENTITY_STARTS, ""},
    {"all_good_for_a_user_root_becomes", NULL, NULL, NULL, {{0}}, IDENTITY_SWITCHED, ""},
    {"database_directory_missing",
     NULL,
     NULL,
     NULL,
     {{CHANGE_REMOVE, "db", 0}},
     IDENTITY_STARTS,
     "error: [daemon] database: directory @DIR@/db does not exist\n"},
    {"database_directory_not_writable",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "db", 0550}},
     IDENTITY_STARTS,
     "error: [daemon] database: directory @DIR@/db is not writable by @USER@\n"},
    {"database_directory_not_searchable",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "db", 0650}},
     IDENTITY_STARTS,
     "error: [daemon] database: directory @DIR@/db is not searchable by @USER@\n"},
    {"database_directory_of_another_user",
     NULL,
     NULL,
     NULL,
     {{CHANGE_OWNER_ROOT, "db", 0}},
     IDENTITY_STARTS,
     "error: [daemon] database: directory @DIR@/db is not writable by @USER@\n"},
    {"database_directory_writable_through_a_group",
     NULL,
     NULL,
     NULL,
     {{CHANGE_GROUP_OF_USER, "db", 0}, {CHANGE_MODE, "db", 0770}},
     IDENTITY_STARTS,
     ""},
    {"database_file_not_writable",
     NULL,
     NULL,
     NULL,
     {{CHANGE_FILE, "db/mt.db", 0444}},
     IDENTITY_STARTS,
     "error: [daemon] database: @DIR@/db/mt.db is not writable by @USER@\n"},
    {"database_wal_not_readable",
     NULL,
     NULL,
     NULL,
     {{CHANGE_FILE, "db/mt.db", 0600}, {CHANGE_FILE, "db/mt.db-wal", 0200}},
     IDENTITY_STARTS,
     "error: [daemon] database: @DIR@/db/mt.db-wal is not readable by @USER@\n"},
    {"database_shm_of_another_user",
     NULL,
     NULL,
     NULL,
     {{CHANGE_FILE, "db/mt.db-shm", 0644}, {CHANGE_OWNER_ROOT, "db/mt.db-shm", 0}},
     IDENTITY_STARTS,
     "error: [daemon] database: @DIR@/db/mt.db-shm is not writable by @USER@\n"},
    {"database_is_a_directory",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MKDIR, "db/mt.db", 0755}},
     IDENTITY_STARTS,
     "error: [daemon] database: @DIR@/db/mt.db is not a regular file\n"},
    {"socket_directory_missing",
     NULL,
     NULL,
     NULL,
     {{CHANGE_REMOVE, "run", 0}},
     IDENTITY_STARTS,
     "warning: [daemon] socket: directory @DIR@/run does not exist (it must exist when the "
     "daemon starts)\n"},
    {"socket_directory_not_writable_by_the_user_who_starts_the_daemon",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "run", 0550}},
     IDENTITY_STARTS,
     "error: [daemon] socket: directory @DIR@/run is not writable by @USER@\n"},
    {"socket_directory_not_writable_by_a_user_root_becomes",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "run", 0550}},
     IDENTITY_SWITCHED,
     "warning: [daemon] socket: directory @DIR@/run is not writable by @USER@" USER_NOTE "\n"},
    {"socket_path_too_long",
     NULL,
     "unix:@DIR@/run/" LONG_NAME,
     NULL,
     {{0}},
     IDENTITY_STARTS,
     "error: [daemon] socket: @DIR@/run/" LONG_NAME
     " is longer than a unix socket's path may be (107 bytes)\n"},
    {"inet_socket_has_no_directory",
     NULL,
     "inet:8891@127.0.0.1",
     NULL,
     {{CHANGE_REMOVE, "run", 0}},
     IDENTITY_STARTS,
     ""},
    {"unknown_socket_group",
     NULL,
     NULL,
     "socket_group = mt-no-such-group\n",
     {{0}},
     IDENTITY_STARTS,
     "error: [daemon] socket_group: no such group mt-no-such-group\n"},
    {"socket_group_the_user_is_not_in",
     NULL,
     NULL,
     "socket_group = root\n",
     {{0}},
     IDENTITY_STARTS,
     "error: [daemon] socket_group: @USER@ is not a member of group root and cannot give the "
     "socket to it\n"},
    {"socket_group_the_user_root_becomes_is_not_in",
     NULL,
     NULL,
     "socket_group = root\n",
     {{0}},
     IDENTITY_SWITCHED,
     "warning: [daemon] socket_group: @USER@ is not a member of group root and cannot give the "
     "socket to it" USER_NOTE "\n"},
    {"unknown_user",
     "mt-no-such-user",
     NULL,
     NULL,
     {{0}},
     IDENTITY_STARTS,
     "error: [daemon] user: no such user mt-no-such-user\n"},
    {"key_readable_by_every_user",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "key", 0644}},
     IDENTITY_STARTS,
     "error: [llm] api_key_file: @DIR@/key is readable by every user (chmod 600 or 640)\n"},
    {"key_not_readable_by_the_user",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "key", 0200}},
     IDENTITY_STARTS,
     "error: [llm] api_key_file: @DIR@/key is not readable by @USER@\n"},
    {"key_readable_through_a_group",
     NULL,
     NULL,
     NULL,
     {{CHANGE_GROUP_OF_USER, "key", 0}, {CHANGE_MODE, "key", 0640}},
     IDENTITY_STARTS,
     ""},
    {"key_missing",
     NULL,
     NULL,
     NULL,
     {{CHANGE_REMOVE, "key", 0}},
     IDENTITY_STARTS,
     "error: [llm] api_key_file: @DIR@/key does not exist\n"},
    {"sendmail_missing",
     NULL,
     NULL,
     NULL,
     {{CHANGE_REMOVE, "sendmail", 0}},
     IDENTITY_STARTS,
     "error: [sendmail] path: @DIR@/sendmail does not exist\n"},
    {"sendmail_not_executable",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "sendmail", 0644}},
     IDENTITY_STARTS,
     "error: [sendmail] path: @DIR@/sendmail is not executable by @USER@\n"},
    {"sendmail_executable_by_its_owner_only",
     NULL,
     NULL,
     NULL,
     {{CHANGE_OWNER_ROOT, "sendmail", 0}, {CHANGE_MODE, "sendmail", 0700}},
     IDENTITY_STARTS,
     "error: [sendmail] path: @DIR@/sendmail is not executable by @USER@\n"},
    {"sendmail_is_a_directory",
     NULL,
     NULL,
     NULL,
     {{CHANGE_REMOVE, "sendmail", 0}, {CHANGE_MKDIR, "sendmail", 0755}},
     IDENTITY_STARTS,
     "error: [sendmail] path: @DIR@/sendmail is not a regular file\n"},
    {"template_missing",
     NULL,
     NULL,
     NULL,
     {{CHANGE_REMOVE, "tpl/send_info.txt", 0}},
     IDENTITY_STARTS,
     "error: [intent send_info] template: @DIR@/tpl/send_info.txt does not exist\n"},
    {"template_html_not_readable",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "tpl/send_info.html", 0200}},
     IDENTITY_STARTS,
     "error: [intent send_info] template_html: @DIR@/tpl/send_info.html is not readable by "
     "@USER@\n"},
    {"template_directory_not_searchable",
     NULL,
     NULL,
     NULL,
     {{CHANGE_OWNER_ROOT, "tpl", 0}, {CHANGE_MODE, "tpl", 0700}},
     IDENTITY_STARTS,
     "error: [intent send_info] template: directory @DIR@/tpl is not searchable by @USER@\n"
     "error: [intent send_info] template_html: directory @DIR@/tpl is not searchable by "
     "@USER@\n"},
    {"root_reads_and_writes_anything",
     NULL,
     NULL,
     NULL,
     {{CHANGE_OWNER_ROOT, "db", 0},
      {CHANGE_MODE, "db", 0},
      {CHANGE_MODE, "key", 0},
      {CHANGE_MODE, "tpl/send_info.txt", 0}},
     IDENTITY_ROOT,
     ""},
    {"root_executes_only_with_an_x_bit",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "sendmail", 0644}},
     IDENTITY_ROOT,
     "error: [sendmail] path: @DIR@/sendmail is not executable by root\n"},
    {"unknown_identity_checks_only_that_files_exist",
     NULL,
     NULL,
     NULL,
     {{CHANGE_MODE, "sendmail", 0644}, {CHANGE_REMOVE, "tpl/send_info.txt", 0}},
     IDENTITY_UNKNOWN,
     "error: [intent send_info] template: @DIR@/tpl/send_info.txt does not exist\n"},
    {"every_problem_reported",
     "mt-no-such-user",
     NULL,
     NULL,
     {{CHANGE_REMOVE, "db", 0},
      {CHANGE_MODE, "sendmail", 0644},
      {CHANGE_MODE, "key", 0644},
      {CHANGE_REMOVE, "tpl/send_info.html", 0}},
     IDENTITY_STARTS,
     "error: [daemon] database: directory @DIR@/db does not exist\n"
     "error: [daemon] user: no such user mt-no-such-user\n"
     "error: [llm] api_key_file: @DIR@/key is readable by every user (chmod 600 or 640)\n"
     "error: [sendmail] path: @DIR@/sendmail is not executable by @USER@\n"
     "error: [intent send_info] template_html: @DIR@/tpl/send_info.html does not exist\n"},
};

static void test_check_case(struct fixture *fx, gconstpointer data)
{
    const struct check_case *c = data;
    for (size_t i = 0; i < G_N_ELEMENTS(c->changes); i++)
        if (change_needs_root(&c->changes[i]) && !fx->as_root) {
            g_test_skip("needs root to give a file to another user");
            return;
        }
    for (size_t i = 0; i < G_N_ELEMENTS(c->changes); i++)
        change_apply(fx, &c->changes[i]);

    char *path = write_config(fx, c);
    char *error = NULL;
    struct config *cfg = config_load_syntax(path, &error);
    g_assert_cmpstr(error, ==, NULL);

    char root_name[] = "root";
    gid_t root_groups[] = {0};
    struct config_check_user root = {root_name, 0, root_groups, 1, TRUE};
    const struct config_check_user *user = fx->user;
    if (c->identity == IDENTITY_ROOT)
        user = &root;
    else if (c->identity == IDENTITY_UNKNOWN)
        user = NULL;
    else
        fx->user->starts_daemon = c->identity == IDENTITY_STARTS;

    GPtrArray *problems = config_check_environment(cfg, user);
    char *actual = problems_text(problems);
    char *expected = expand(fx, c->expected, user != NULL ? user->name : "");
    g_assert_cmpstr(actual, ==, expected);
    g_free(expected);
    g_free(actual);
    g_ptr_array_unref(problems);
    config_unref(cfg);
    g_free(path);
}

/* ---- config_check_file ---- */

static const struct check_case good_layout = {"good", NULL, NULL, NULL, {{0}}, IDENTITY_STARTS, ""};

static char *check_file(const struct fixture *fx, const char *path, const char *user,
                        gboolean syntax_only, struct config **cfg_r)
{
    GPtrArray *problems = config_check_file(path, user, syntax_only, cfg_r);
    char *text = problems_text(problems);
    g_ptr_array_unref(problems);
    return text;
}

static void test_file_good(struct fixture *fx, gconstpointer data)
{
    char *path = write_config(fx, &good_layout);
    struct config *cfg = NULL;
    char *text = check_file(fx, path, NULL, FALSE, &cfg);
    g_assert_cmpstr(text, ==, "");
    g_assert_nonnull(cfg);
    g_assert_cmpuint(cfg->mailboxes->len, ==, 1);
    config_unref(cfg);
    g_free(text);
    g_free(path);
}

static void test_file_syntax_only_ignores_what_it_points_at(struct fixture *fx, gconstpointer data)
{
    change_apply(fx, &(struct change){CHANGE_REMOVE, "db", 0});
    change_apply(fx, &(struct change){CHANGE_REMOVE, "tpl", 0});
    change_apply(fx, &(struct change){CHANGE_REMOVE, "key", 0});
    char *path = write_config(fx, &good_layout);
    struct config *cfg = NULL;
    char *text = check_file(fx, path, "mt-no-such-user", TRUE, &cfg);
    g_assert_cmpstr(text, ==, "");
    g_assert_nonnull(cfg);
    config_unref(cfg);
    g_free(text);
    g_free(path);
}

static void test_file_syntax_error_is_the_only_problem(struct fixture *fx, gconstpointer data)
{
    change_apply(fx, &(struct change){CHANGE_REMOVE, "db", 0});
    char *path = testutil_write(fx->dir, "mailtriage.conf",
                                "[daemon]\nworkers = 4 # threads\n"
                                "[mailbox support@example.org]\nescalate_to = b@example.org\n");
    struct config *cfg = NULL;
    char *text = check_file(fx, path, NULL, FALSE, &cfg);
    char *expected = g_strdup_printf("error: %s:2: [daemon] workers: a comment must be on a "
                                     "line of its own (# is not part of any value of this "
                                     "key)\n",
                                     path);
    g_assert_cmpstr(text, ==, expected);
    g_assert_null(cfg);
    g_free(expected);
    g_free(text);
    g_free(path);
}

/* A template's contents are checked by config_load(), after what the file points at. */
static void test_file_reports_template_contents_too(struct fixture *fx, gconstpointer data)
{
    change_apply(fx, &(struct change){CHANGE_REMOVE, "db", 0});
    fixture_file(fx, "tpl/send_info.txt", "Hello {{foo}}\n", 0644);
    char *path = write_config(fx, &good_layout);
    struct config *cfg = NULL;
    char *text = check_file(fx, path, NULL, FALSE, &cfg);
    char *expected = expand(fx,
                            "error: [daemon] database: directory @DIR@/db does not exist\n"
                            "error: @DIR@/mailtriage.conf:10: [intent send_info] template "
                            "@DIR@/tpl/send_info.txt: line 1: unknown variable {{foo}}\n",
                            fx->user->name);
    g_assert_cmpstr(text, ==, expected);
    config_unref(cfg);
    g_free(expected);
    g_free(text);
    g_free(path);
}

/* A missing template is said once, not again by config_load(). */
static void test_file_missing_template_said_once(struct fixture *fx, gconstpointer data)
{
    change_apply(fx, &(struct change){CHANGE_REMOVE, "tpl/send_info.txt", 0});
    char *path = write_config(fx, &good_layout);
    struct config *cfg = NULL;
    char *text = check_file(fx, path, NULL, FALSE, &cfg);
    char *expected =
        expand(fx, "error: [intent send_info] template: @DIR@/tpl/send_info.txt does not exist\n",
               fx->user->name);
    g_assert_cmpstr(text, ==, expected);
    config_unref(cfg);
    g_free(expected);
    g_free(text);
    g_free(path);
}

/* The layout with LINES added to its [mailbox] group, which comes last. */
static char *write_config_with_mailbox_lines(const struct fixture *fx, const char *lines)
{
    char *path = write_config(fx, &good_layout);
    char *text = NULL;
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    char *more = g_strconcat(text, lines, NULL);
    char *expanded = expand(fx, more, fx->user->name);
    g_free(testutil_write(fx->dir, "mailtriage.conf", expanded));
    g_free(expanded);
    g_free(more);
    g_free(text);
    return path;
}

/* A mailbox's persona_file must be readable: said once, not again by config_load(). */
static void test_file_persona_file_readable(struct fixture *fx, gconstpointer data)
{
    char *path = write_config_with_mailbox_lines(fx, "persona_file = @DIR@/persona.txt\n");
    struct config *cfg = NULL;
    char *text = check_file(fx, path, NULL, FALSE, &cfg);
    char *expected = expand(fx,
                            "error: [mailbox support@example.org] persona_file: "
                            "@DIR@/persona.txt does not exist\n",
                            fx->user->name);
    g_assert_cmpstr(text, ==, expected);
    config_unref(cfg);
    g_free(expected);
    g_free(text);
    fixture_file(fx, "persona.txt", "You are Ann.\n", 0200);
    text = check_file(fx, path, NULL, FALSE, &cfg);
    expected = expand(fx,
                      "error: [mailbox support@example.org] persona_file: @DIR@/persona.txt is "
                      "not readable by @USER@\n",
                      fx->user->name);
    g_assert_cmpstr(text, ==, expected);
    config_unref(cfg);
    g_free(expected);
    g_free(text);
    g_free(path);
}

static void test_file_unknown_user_option(struct fixture *fx, gconstpointer data)
{
    char *path = write_config(fx, &good_layout);
    struct config *cfg = NULL;
    char *text = check_file(fx, path, "mt-no-such-user", FALSE, &cfg);
    g_assert_cmpstr(text, ==, "error: -u: no such user mt-no-such-user\n");
    config_unref(cfg);
    g_free(text);
    g_free(path);
}

/* The option names the user the check is for, not [daemon] user. */
static void test_file_user_option_wins(struct fixture *fx, gconstpointer data)
{
    if (!fx->as_root) {
        g_test_skip("needs root to check for another user than the one running the test");
        return;
    }
    char *path = write_config(fx, &good_layout);
    struct config *cfg = NULL;
    char *text = check_file(fx, path, "root", FALSE, &cfg);
    g_assert_cmpstr(text, ==, ""); /* root may write the db directory nobody owns */
    config_unref(cfg);
    g_free(text);
    change_apply(fx, &(struct change){CHANGE_MODE, "sendmail", 0644});
    text = check_file(fx, path, "root", FALSE, &cfg);
    char *expected =
        expand(fx, "error: [sendmail] path: @DIR@/sendmail is not executable by root\n", "");
    g_assert_cmpstr(text, ==, expected);
    config_unref(cfg);
    g_free(expected);
    g_free(text);
    g_free(path);
}

/* A symbolic link leads into a directory the user cannot search: found where it leads. */
static void test_symbolic_link_into_a_closed_directory(struct fixture *fx, gconstpointer data)
{
    if (!fx->as_root) {
        g_test_skip("needs root to close a directory to another user");
        return;
    }
    fixture_dir(fx, "closed", 0700);
    char *target = fixture_path(fx, "closed/tpl");
    char *old = fixture_path(fx, "tpl");
    must(rename(old, target), "rename", old);
    must(symlink(target, old), "symlink", old);
    char *path = write_config(fx, &good_layout);
    char *error = NULL;
    struct config *cfg = config_load_syntax(path, &error);
    g_assert_cmpstr(error, ==, NULL);
    GPtrArray *problems = config_check_environment(cfg, fx->user);
    char *actual = problems_text(problems);
    char *expected =
        expand(fx,
               "error: [intent send_info] template: directory @DIR@/closed is not searchable by "
               "@USER@\n"
               "error: [intent send_info] template_html: directory @DIR@/closed is not searchable "
               "by @USER@\n",
               fx->user->name);
    g_assert_cmpstr(actual, ==, expected);
    g_free(expected);
    g_free(actual);
    g_ptr_array_unref(problems);
    config_unref(cfg);
    g_free(path);
    g_free(old);
    g_free(target);
}

/* Give FILE an ACL entry that lets UID read it (the binary form of system.posix_acl_access,
 * since setfacl may not be installed); FALSE when the file system has no ACLs. */
static gboolean acl_grant_read(const char *file, uid_t uid)
{
    const guint32 undefined = 0xffffffff;
    struct {
        guint16 tag, perm;
        guint32 id;
    } entries[] = {
        {0x01, 6, undefined},    /* the owner: rw */
        {0x02, 4, (guint32)uid}, /* UID: r */
        {0x04, 0, undefined},    /* the group: none */
        {0x10, 4, undefined},    /* the mask: r */
        {0x20, 0, undefined},    /* others: none */
    };
    guint8 value[4 + sizeof(entries)];
    guint32 version = GUINT32_TO_LE(2);
    memcpy(value, &version, 4);
    for (size_t i = 0; i < G_N_ELEMENTS(entries); i++) {
        entries[i].tag = GUINT16_TO_LE(entries[i].tag);
        entries[i].perm = GUINT16_TO_LE(entries[i].perm);
        entries[i].id = GUINT32_TO_LE(entries[i].id);
    }
    memcpy(value + 4, entries, sizeof(entries));
    if (setxattr(file, "system.posix_acl_access", value, sizeof(value), 0) == 0)
        return TRUE;
    if (errno != ENOTSUP && errno != EOPNOTSUPP)
        g_error("setxattr %s: %s", file, g_strerror(errno));
    return FALSE;
}

/* The mode denies the user, an ACL may not: a warning, not an error. */
static void test_acl_denial_is_a_warning(struct fixture *fx, gconstpointer data)
{
    if (!fx->as_root) {
        g_test_skip("needs root to check for another user than the file's owner");
        return;
    }
    char *template = fixture_path(fx, "tpl/send_info.html");
    if (!acl_grant_read(template, fx->user->uid)) {
        g_test_skip("the temporary directory's file system has no ACLs");
        g_free(template);
        return;
    }
    char *path = write_config(fx, &good_layout);
    char *error = NULL;
    struct config *cfg = config_load_syntax(path, &error);
    g_assert_cmpstr(error, ==, NULL);
    GPtrArray *problems = config_check_environment(cfg, fx->user);
    char *actual = problems_text(problems);
    char *expected = expand(fx,
                            "warning: [intent send_info] template_html: @DIR@/tpl/send_info.html "
                            "is not readable by @USER@ by its mode, and it has an ACL, which is "
                            "not checked\n",
                            fx->user->name);
    g_assert_cmpstr(actual, ==, expected);
    g_free(expected);
    g_free(actual);
    g_ptr_array_unref(problems);
    config_unref(cfg);
    g_free(path);
    g_free(template);
}

static void test_unix_socket(void)
{
    g_assert_cmpstr(config_check_unix_socket("unix:/run/a.sock"), ==, "/run/a.sock");
    g_assert_cmpstr(config_check_unix_socket("local:/run/b.sock"), ==, "/run/b.sock");
    g_assert_cmpstr(config_check_unix_socket("/run/c.sock"), ==, "/run/c.sock");
    g_assert_null(config_check_unix_socket("inet:8891@127.0.0.1"));
    g_assert_null(config_check_unix_socket("inet6:8891@[::1]"));
    g_assert_null(config_check_unix_socket(""));
}

static void test_user_lookup_unknown(void)
{
    struct config_check_user *user = NULL;
    char *error = NULL;
    g_assert_cmpint(config_check_user_lookup("mt-no-such-user", &user, &error), ==, -1);
    g_assert_cmpstr(error, ==, "no such user mt-no-such-user");
    g_assert_null(user);
    g_free(error);
}

static void test_user_lookup_running_process(void)
{
    struct config_check_user *user = NULL;
    char *error = NULL;
    g_assert_cmpint(config_check_user_lookup(NULL, &user, &error), ==, 0);
    g_assert_cmpuint(user->uid, ==, geteuid());
    g_assert_cmpint(user->n_groups, >=, 1);
    g_assert_cmpuint(user->groups[0], ==, getegid());
    g_assert_true(user->starts_daemon);
    config_check_user_free(user);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(check_cases); i++) {
        char *path = g_strdup_printf("/config_check/%s", check_cases[i].name);
        g_test_add(path, struct fixture, &check_cases[i], fixture_setup, test_check_case,
                   fixture_teardown);
        g_free(path);
    }
    static const struct {
        const char *path;
        void (*test)(struct fixture *, gconstpointer);
    } file_tests[] = {
        {"/config_check/file/good", test_file_good},
        {"/config_check/file/syntax_only_ignores_what_it_points_at",
         test_file_syntax_only_ignores_what_it_points_at},
        {"/config_check/file/syntax_error_is_the_only_problem",
         test_file_syntax_error_is_the_only_problem},
        {"/config_check/file/reports_template_contents_too",
         test_file_reports_template_contents_too},
        {"/config_check/file/missing_template_said_once", test_file_missing_template_said_once},
        {"/config_check/file/persona_file_readable", test_file_persona_file_readable},
        {"/config_check/file/unknown_user_option", test_file_unknown_user_option},
        {"/config_check/file/user_option_wins", test_file_user_option_wins},
        {"/config_check/acl_denial_is_a_warning", test_acl_denial_is_a_warning},
        {"/config_check/symbolic_link_into_a_closed_directory",
         test_symbolic_link_into_a_closed_directory},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(file_tests); i++)
        g_test_add(file_tests[i].path, struct fixture, NULL, fixture_setup, file_tests[i].test,
                   fixture_teardown);
    g_test_add_func("/config_check/unix_socket", test_unix_socket);
    g_test_add_func("/config_check/user_lookup_unknown", test_user_lookup_unknown);
    g_test_add_func("/config_check/user_lookup_running_process", test_user_lookup_running_process);
    return g_test_run();
}
