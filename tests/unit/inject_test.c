/*
 * inject_test: the specification of inject_message() (lib/mail/inject.h).
 *
 * The "sendmail" is a small /bin/sh script written into a fresh directory for each case. The
 * capturing script saves its arguments (one per line) and its standard input next to itself,
 * so that the argv and the bytes handed over can be compared exactly. The rows of
 * status_cases state the exit-status contract: what each way a sendmail can end yields
 * (status, exit status, words in the error), and no case leaves a zombie child behind. Where a
 * script starts a child of its own, this process becomes a subreaper for the case, so that
 * the orphan's end is seen here. The process ignores SIGPIPE, as the programs do.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "inject.h"
#include "testdata.h"

#define MIB (1024 * 1024)

static const char capture_script[] = "#!/bin/sh\n"
                                     "dir=$(dirname \"$0\")\n"
                                     "printf '%s\\n' \"$@\" > \"$dir/args\"\n"
                                     "cat > \"$dir/stdin\"\n"
                                     "exit 0\n";

struct inject_fixture {
    char *dir;
    char *sendmail;
};

static void inject_fixture_init(struct inject_fixture *f, const char *script)
{
    f->dir = testdata_tmpdir();
    f->sendmail = g_build_filename(f->dir, "sendmail", NULL);
    if (script != NULL)
        testdata_write(f->sendmail, script, -1, 0755);
}

static void inject_fixture_clear(struct inject_fixture *f)
{
    g_free(f->sendmail);
    testdata_rmdir(f->dir);
}

static char *fixture_file(const struct inject_fixture *f, const char *name, gsize *len_r)
{
    char *path = g_build_filename(f->dir, name, NULL);
    char *contents = testdata_read(path, len_r);
    g_free(path);
    return contents;
}

/* LEN bytes of every value, with CRLF, bare LF, NUL and lone-dot lines among them. */
static char *message_of_size(size_t len)
{
    static const char head[] = "From: support@example.org\r\nTo: alice@example.com\r\n"
                               "Subject: test\r\n\r\n.\r\n.\n..\n";
    char *message = g_malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        message[i] = i < sizeof(head) - 1 ? head[i] : (char)((i * 7 + i / 251) & 0xff);
    message[len] = '\0';
    return message;
}

/* ---- what goes in ---- */

static void check_argv(const char *sender, const char *recipient, const char *expected_args)
{
    struct inject_fixture f;
    inject_fixture_init(&f, capture_script);
    static const char message[] = "Subject: hi\n\nhello\n";
    int exit_status = -2;
    char *error = NULL;

    enum inject_status status = inject_message(f.sendmail, 10, sender, recipient, message,
                                               strlen(message), &exit_status, &error);
    g_assert_cmpint(status, ==, INJECT_SENT);
    g_assert_cmpint(exit_status, ==, 0);
    g_assert_cmpstr(error, ==, NULL);
    char *args = fixture_file(&f, "args", NULL);
    g_assert_cmpstr(args, ==, expected_args);

    g_free(args);
    g_free(error);
    inject_fixture_clear(&f);
}

static void test_argv_is_i_f_sender_dashdash_recipient(void)
{
    check_argv("support@example.org", "alice@example.com",
               "-i\n-f\nsupport@example.org\n--\nalice@example.com\n");
}

static void test_null_sender_passed_as_angle_brackets(void)
{
    check_argv("", "alice@example.com", "-i\n-f\n<>\n--\nalice@example.com\n");
}

static void test_recipient_with_dash_stays_an_operand(void)
{
    check_argv("", "-oQ/tmp/x@example.com", "-i\n-f\n<>\n--\n-oQ/tmp/x@example.com\n");
}

static void test_argument_with_shell_characters_is_not_interpreted(void)
{
    check_argv("", "a;touch${IFS}pwned`id`$(id)@example.com",
               "-i\n-f\n<>\n--\na;touch${IFS}pwned`id`$(id)@example.com\n");
}

static void test_stdin_byte_identical_for_1_mib(void)
{
    struct inject_fixture f;
    inject_fixture_init(&f, capture_script);
    char *message = message_of_size(MIB);
    int exit_status = -2;
    char *error = NULL;

    enum inject_status status =
        inject_message(f.sendmail, 30, "", "alice@example.com", message, MIB, &exit_status, &error);
    g_assert_cmpint(status, ==, INJECT_SENT);
    g_assert_cmpint(exit_status, ==, 0);
    g_assert_cmpstr(error, ==, NULL);
    gsize len = 0;
    char *received = fixture_file(&f, "stdin", &len);
    g_assert_cmpmem(received, len, message, MIB);

    g_free(received);
    g_free(message);
    g_free(error);
    inject_fixture_clear(&f);
}

static void test_empty_message_gives_empty_stdin(void)
{
    struct inject_fixture f;
    inject_fixture_init(&f, capture_script);
    int exit_status = -2;
    char *error = NULL;

    enum inject_status status =
        inject_message(f.sendmail, 10, "", "alice@example.com", "", 0, &exit_status, &error);
    g_assert_cmpint(status, ==, INJECT_SENT);
    gsize len = 99;
    char *received = fixture_file(&f, "stdin", &len);
    g_assert_cmpuint(len, ==, 0);

    g_free(received);
    g_free(error);
    inject_fixture_clear(&f);
}

/* The children of this process that are zombies (state Z in /proc/PID/stat). */
static unsigned zombie_children(void)
{
    unsigned zombies = 0;
    GDir *proc = g_dir_open("/proc", 0, NULL);
    const char *name;
    while (proc != NULL && (name = g_dir_read_name(proc)) != NULL) {
        if (!g_ascii_isdigit(*name))
            continue;
        char *path = g_build_filename("/proc", name, "stat", NULL);
        char *stat = NULL;
        if (g_file_get_contents(path, &stat, NULL, NULL)) {
            /* "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses. */
            const char *end = strrchr(stat, ')');
            char state = 0;
            long ppid = 0;
            if (end != NULL && sscanf(end + 1, " %c %ld", &state, &ppid) == 2 && state == 'Z' &&
                ppid == (long)getpid())
                zombies++;
        }
        g_free(stat);
        g_free(path);
    }
    if (proc != NULL)
        g_dir_close(proc);
    return zombies;
}

/* The pid a script wrote into DIR/NAME, or 0. */
static pid_t fixture_pid(const struct inject_fixture *f, const char *name)
{
    char *text = fixture_file(f, name, NULL);
    gint64 pid = text != NULL ? g_ascii_strtoll(text, NULL, 10) : 0;
    g_free(text);
    return pid > 1 ? (pid_t)pid : 0;
}

/* ---- how it ends: the exit-status contract ---- */

struct status_case {
    const char *name;
    const char *script;  /* NULL: no file at the path */
    int mode;            /* of the script file */
    gint64 timeout;      /* seconds */
    size_t message_size; /* bytes handed over */
    enum inject_status status;
    int exit_status;      /* -1: did not exit normally */
    const char *error[3]; /* substrings of the error; all NULL: no error */
};

static const struct status_case status_cases[] = {
    {"exit_0_is_sent",
     "#!/bin/sh\ncat >/dev/null\nexit 0\n",
     0755,
     10,
     1000,
     INJECT_SENT,
     0,
     {NULL}},
    {"exit_75_is_tempfail",
     "#!/bin/sh\ncat >/dev/null\necho 'postdrop: warning: queue file write error' >&2\nexit 75\n",
     0755,
     10,
     1000,
     INJECT_TEMPFAIL,
     75,
     {"status 75", "postdrop: warning: queue file write error"}},
    {"exit_67_is_failed_with_stderr",
     "#!/bin/sh\ncat >/dev/null\necho 'sendmail: fatal: alice@example.com: User unknown' >&2\n"
     "exit 67\n",
     0755,
     10,
     1000,
     INJECT_FAILED,
     67,
     {"status 67", "sendmail: fatal: alice@example.com: User unknown"}},
    {"exit_1_is_failed",
     "#!/bin/sh\ncat >/dev/null\nexit 1\n",
     0755,
     10,
     1000,
     INJECT_FAILED,
     1,
     {"status 1"}},
    {"multiline_stderr_becomes_one_line",
     "#!/bin/sh\ncat >/dev/null\nprintf 'first line\\r\\nsecond line\\n' >&2\nexit 64\n",
     0755,
     10,
     1000,
     INJECT_FAILED,
     64,
     {"status 64", "first line", "second line"}},
    {"sendmail_not_reading_stdin_does_not_hang",
     "#!/bin/sh\nexit 0\n",
     0755,
     30,
     4 * MIB,
     INJECT_SENT,
     0,
     {NULL}},
    {"sendmail_failing_without_reading_stdin",
     "#!/bin/sh\necho 'sendmail: fatal: no such user' >&2\nexit 67\n",
     0755,
     30,
     4 * MIB,
     INJECT_FAILED,
     67,
     {"status 67", "no such user"}},
    {"stderr_flood_before_reading_does_not_deadlock",
     "#!/bin/sh\nhead -c 300000 /dev/zero | tr '\\000' 'e' >&2\ncat >/dev/null\nexit 0\n",
     0755,
     30,
     MIB,
     INJECT_SENT,
     0,
     {NULL}},
    {"timeout_before_the_whole_message_is_tempfail",
     "#!/bin/sh\necho 'waiting for the queue' >&2\nexec sleep 30\n",
     0755,
     1,
     4 * MIB,
     INJECT_TEMPFAIL,
     -1,
     {"did not finish within 1s", "before it had the whole message", "waiting for the queue"}},
    {"timeout_after_the_whole_message_may_have_queued_it",
     "#!/bin/sh\ncat >/dev/null\necho 'stuck after queuing' >&2\nexec sleep 30\n",
     0755,
     1,
     1000,
     INJECT_FAILED,
     -1,
     {"did not finish within 1s", "may have queued it", "stuck after queuing"}},
    {"nonexistent_path_is_tempfail", NULL, 0, 10, 1000, INJECT_TEMPFAIL, -1, {"cannot run"}},
    {"not_executable_is_tempfail",
     "#!/bin/sh\nexit 0\n",
     0644,
     10,
     1000,
     INJECT_TEMPFAIL,
     -1,
     {"cannot run"}},
    {"killed_before_the_whole_message_is_tempfail",
     "#!/bin/sh\necho 'out of memory' >&2\nkill -9 $$\n",
     0755,
     10,
     4 * MIB,
     INJECT_TEMPFAIL,
     -1,
     {"killed by signal 9", "cannot have queued it", "out of memory"}},
    {"killed_after_the_whole_message_may_have_queued_it",
     "#!/bin/sh\ncat >/dev/null\nkill -9 $$\n",
     0755,
     10,
     1000,
     INJECT_FAILED,
     -1,
     {"killed by signal 9", "after it had the whole message", "not sent again"}},
};

static void test_status_case(gconstpointer data)
{
    const struct status_case *c = data;
    struct inject_fixture f;
    inject_fixture_init(&f, NULL);
    if (c->script != NULL)
        testdata_write(f.sendmail, c->script, -1, c->mode);
    char *message = message_of_size(c->message_size);
    int exit_status = -2;
    char *error = NULL;

    enum inject_status status = inject_message(f.sendmail, c->timeout, "", "alice@example.com",
                                               message, c->message_size, &exit_status, &error);
    g_assert_cmpint(status, ==, c->status);
    g_assert_cmpint(exit_status, ==, c->exit_status);
    if (c->error[0] == NULL) {
        g_assert_cmpstr(error, ==, NULL);
    } else {
        g_assert_nonnull(error);
        for (size_t i = 0; i < G_N_ELEMENTS(c->error) && c->error[i] != NULL; i++) {
            if (!testdata_contains(error, c->error[i]))
                g_test_message("error \"%s\" lacks \"%s\"", error, c->error[i]);
            g_assert_true(testdata_contains(error, c->error[i]));
        }
        g_assert_null(strpbrk(error != NULL ? error : "", "\r\n"));
    }
    g_assert_cmpuint(zombie_children(), ==, 0);

    g_free(error);
    g_free(message);
    inject_fixture_clear(&f);
}

/* A sendmail whose child keeps standard error open past the timeout still counts as timed out,
 * and inject_message() returns. The two bytes fit in the pipe, so sendmail had the whole
 * message and may have queued it. */
static void test_timeout_with_stderr_held_open_returns(void)
{
    struct inject_fixture f;
    inject_fixture_init(&f, "#!/bin/sh\n"
                            "sleep 30 &\n"
                            "echo $! > \"$(dirname \"$0\")/sleep.pid\"\n"
                            "wait\n");
    int exit_status = -2;
    char *error = NULL;

    enum inject_status status =
        inject_message(f.sendmail, 1, "", "alice@example.com", "x\n", 2, &exit_status, &error);
    g_assert_cmpint(status, ==, INJECT_FAILED);
    g_assert_cmpint(exit_status, ==, -1);
    g_assert_true(testdata_contains(error, "did not finish"));

    char *pid_path = g_build_filename(f.dir, "sleep.pid", NULL);
    char *pid_text = NULL;
    if (g_file_get_contents(pid_path, &pid_text, NULL, NULL)) {
        gint64 pid = g_ascii_strtoll(pid_text, NULL, 10);
        if (pid > 1)
            kill((pid_t)pid, SIGKILL); /* the orphan the test made */
    }
    g_free(pid_text);
    g_free(pid_path);
    g_free(error);
    inject_fixture_clear(&f);
}

/* At the timeout the whole process group goes: a wrapper's child too. This process is made a
 * subreaper so that the orphaned child becomes its own and its end can be seen: killed, not
 * run out (had it been left, it would end by itself after 30 s and the test would fail). */
static void test_timeout_kills_the_whole_process_group(void)
{
    struct inject_fixture f;
    inject_fixture_init(&f, "#!/bin/sh\n"
                            "sleep 30 &\n"
                            "echo $! > \"$(dirname \"$0\")/child.pid\"\n"
                            "cat >/dev/null\n"
                            "wait\n");
    g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), ==, 0);
    int exit_status = -2;
    char *error = NULL;

    enum inject_status status =
        inject_message(f.sendmail, 1, "", "alice@example.com", "x\n", 2, &exit_status, &error);
    g_assert_cmpint(status, ==, INJECT_FAILED);
    g_assert_true(testdata_contains(error, "did not finish within 1s"));
    pid_t child = fixture_pid(&f, "child.pid");
    g_assert_cmpint(child, >, 0);
    int child_status = 0;
    pid_t reaped = child > 0 ? waitpid(child, &child_status, 0) : -1;
    g_assert_cmpint(reaped, ==, child);
    g_assert_true(WIFSIGNALED(child_status) && WTERMSIG(child_status) == SIGKILL);
    g_assert_cmpuint(zombie_children(), ==, 0);

    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    g_free(error);
    inject_fixture_clear(&f);
}

/* A sendmail that exits while a child of its own (an MTA's background delivery) keeps its
 * standard error open: its exit status counts at once, and the child is left alone. The child
 * waits (at most 10 s) for a file the test makes once inject_message() has returned; had
 * inject_message() waited for the child's end of standard error instead, the child would have
 * given up and its words would be in the error. */
static void test_exit_with_a_child_holding_stderr_leaves_the_child(void)
{
    struct inject_fixture f;
    inject_fixture_init(&f, "#!/bin/sh\n"
                            "dir=$(dirname \"$0\")\n"
                            "cat >/dev/null\n"
                            "(i=0; while [ $i -lt 100 ] && [ ! -e \"$dir/go\" ]; do\n"
                            "  sleep 0.1; i=$((i + 1)); done\n"
                            " [ -e \"$dir/go\" ] || echo 'the child gave up' >&2) &\n"
                            "echo $! > \"$dir/child.pid\"\n"
                            "echo 'sendmail: fatal: no such user' >&2\n"
                            "exit 67\n");
    g_assert_cmpint(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), ==, 0);
    int exit_status = -2;
    char *error = NULL;

    enum inject_status status =
        inject_message(f.sendmail, 30, "", "alice@example.com", "x\n", 2, &exit_status, &error);
    char *go = g_build_filename(f.dir, "go", NULL);
    testdata_write(go, "", 0, 0644);
    g_assert_cmpint(status, ==, INJECT_FAILED);
    g_assert_cmpint(exit_status, ==, 67);
    g_assert_true(testdata_contains(error, "no such user"));
    g_assert_false(testdata_contains(error, "gave up"));
    pid_t child = fixture_pid(&f, "child.pid");
    g_assert_cmpint(child, >, 0);
    int child_status = 0;
    if (child > 0)
        while (waitpid(child, &child_status, 0) < 0 && errno == EINTR)
            ;
    g_assert_true(WIFEXITED(child_status)); /* it ended by itself: not killed */

    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    g_free(go);
    g_free(error);
    inject_fixture_clear(&f);
}

static void test_stderr_longer_than_2_kib_is_capped(void)
{
    struct inject_fixture f;
    inject_fixture_init(&f, "#!/bin/sh\n"
                            "cat >/dev/null\n"
                            "printf 'START' >&2\n"
                            "head -c 100000 /dev/zero | tr '\\000' 'x' >&2\n"
                            "exit 67\n");
    int exit_status = -2;
    char *error = NULL;

    enum inject_status status =
        inject_message(f.sendmail, 10, "", "alice@example.com", "x\n", 2, &exit_status, &error);
    g_assert_cmpint(status, ==, INJECT_FAILED);
    g_assert_cmpint(exit_status, ==, 67);
    g_assert_true(testdata_contains(error, "status 67: STARTxxx"));
    char *prefix = g_strdup_printf("%s exited with status 67: ", f.sendmail);
    g_assert_cmpuint(strlen(error != NULL ? error : ""), <=, strlen(prefix) + 2048);
    g_assert_cmpuint(strlen(error != NULL ? error : ""), >=, strlen(prefix) + 1024);

    g_free(prefix);
    g_free(error);
    inject_fixture_clear(&f);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    g_mime_init();

    g_test_add_func("/inject/argv_is_i_f_sender_dashdash_recipient",
                    test_argv_is_i_f_sender_dashdash_recipient);
    g_test_add_func("/inject/null_sender_passed_as_angle_brackets",
                    test_null_sender_passed_as_angle_brackets);
    g_test_add_func("/inject/recipient_with_dash_stays_an_operand",
                    test_recipient_with_dash_stays_an_operand);
    g_test_add_func("/inject/argument_with_shell_characters_is_not_interpreted",
                    test_argument_with_shell_characters_is_not_interpreted);
    g_test_add_func("/inject/stdin_byte_identical_for_1_mib", test_stdin_byte_identical_for_1_mib);
    g_test_add_func("/inject/empty_message_gives_empty_stdin",
                    test_empty_message_gives_empty_stdin);
    for (size_t i = 0; i < G_N_ELEMENTS(status_cases); i++) {
        char *path = g_strdup_printf("/inject/%s", status_cases[i].name);
        g_test_add_data_func(path, &status_cases[i], test_status_case);
        g_free(path);
    }
    g_test_add_func("/inject/timeout_with_stderr_held_open_returns",
                    test_timeout_with_stderr_held_open_returns);
    g_test_add_func("/inject/timeout_kills_the_whole_process_group",
                    test_timeout_kills_the_whole_process_group);
    g_test_add_func("/inject/exit_with_a_child_holding_stderr_leaves_the_child",
                    test_exit_with_a_child_holding_stderr_leaves_the_child);
    g_test_add_func("/inject/stderr_longer_than_2_kib_is_capped",
                    test_stderr_longer_than_2_kib_is_capped);

    int result = g_test_run();
    g_mime_shutdown();
    return result;
}
