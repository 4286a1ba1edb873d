/*
 * db_test: the specification of lib/util/db.c under the file system's hand: the mode of the
 * files it creates, a file removed, replaced or upgraded under an open connection, a lock held
 * past busy_timeout and a damaged file, each with the words an administrator acts on.
 *
 * Each case works in a private temporary directory. The umask is set by the case that needs
 * it and restored after. Cases about permissions run as user nobody when the tests run as root.
 * -wal and -shm exist while a connection in WAL mode is open, so their modes are read with the
 * connection still open.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "db.h"
#include "db_gate.h"
#include "testutil.h"

#define BUSY_TIMEOUT_MS 5000

struct fixture {
    char *dir;
    char *path; /* DIR/mailtriage.db, not created */
};

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    fx->dir = testutil_tmpdir();
    fx->path = g_build_filename(fx->dir, "mailtriage.db", NULL);
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    chmod(fx->dir, 0700);
    testutil_rmtree(fx->dir);
    g_free(fx->path);
    g_free(fx->dir);
}

static sqlite3 *open_db(const char *path, int busy_timeout_ms)
{
    sqlite3 *db = NULL;
    char *error = NULL;
    int status = db_open(path, busy_timeout_ms, &db, &error);
    g_assert_cmpstr(error, ==, NULL);
    g_assert_cmpint(status, ==, DB_OK);
    return db;
}

/* The permission bits of PATH, or -1 when it is not there. */
static int mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* PATH and its -wal and -shm files all have MODE. */
static void assert_modes(const char *path, int mode)
{
    char *wal = g_strconcat(path, "-wal", NULL);
    char *shm = g_strconcat(path, "-shm", NULL);
    g_assert_cmpint(mode_of(path), ==, mode);
    g_assert_cmpint(mode_of(wal), ==, mode);
    g_assert_cmpint(mode_of(shm), ==, mode);
    g_free(shm);
    g_free(wal);
}

/* ---- the mode of a new database ---- */

struct mode_case {
    const char *name;
    mode_t umask;
    gboolean setgid_directory;
    int mode; /* of the database, its -wal and its -shm */
};

static const struct mode_case mode_cases[] = {
    {"created_0600_under_umask_022", 022, FALSE, 0600},
    {"created_0600_under_umask_000", 000, FALSE, 0600},
    {"created_0600_under_umask_077", 077, FALSE, 0600},
    {"created_0640_in_a_setgid_directory_under_umask_022", 022, TRUE, 0640},
    {"created_0640_in_a_setgid_directory_under_umask_000", 000, TRUE, 0640},
    {"created_0640_in_a_setgid_directory_under_umask_077", 077, TRUE, 0640},
};

static void test_mode_case(struct fixture *fx, gconstpointer data)
{
    const struct mode_case *c = data;
    if (c->setgid_directory)
        g_assert_cmpint(chmod(fx->dir, 02750), ==, 0);
    mode_t saved = umask(c->umask);
    sqlite3 *db = open_db(fx->path, BUSY_TIMEOUT_MS);
    testutil_db_exec(db, "CREATE TABLE t (x); INSERT INTO t VALUES (1)"); /* the -wal in use */
    umask(saved);

    assert_modes(fx->path, c->mode);
    struct stat file, dir;
    g_assert_cmpint(stat(fx->path, &file), ==, 0);
    g_assert_cmpint(stat(fx->dir, &dir), ==, 0);
    g_assert_cmpint(file.st_gid, ==, dir.st_gid);
    db_close(db);
}

/* The administrator's mode stays: only a file db_open() creates gets its mode. */
static void test_existing_file_keeps_its_mode(struct fixture *fx, gconstpointer data)
{
    g_free(testutil_write(fx->dir, "mailtriage.db", ""));
    g_assert_cmpint(chmod(fx->path, 0660), ==, 0);
    sqlite3 *db = open_db(fx->path, BUSY_TIMEOUT_MS);

    assert_modes(fx->path, 0660);
    db_close(db);
}

/* A missing directory is an error naming the path; nothing is created. */
static void test_missing_directory_is_an_error(struct fixture *fx, gconstpointer data)
{
    char *path = g_build_filename(fx->dir, "missing", "mailtriage.db", NULL);
    sqlite3 *db = NULL;
    char *error = NULL;

    g_assert_cmpint(db_open(path, BUSY_TIMEOUT_MS, &db, &error), ==, DB_ERROR);
    g_assert_null(db);
    g_assert_nonnull(strstr(error, path));
    g_assert_nonnull(strstr(error, "No such file or directory"));
    g_free(error);
    g_free(path);
}

/* ---- the file changing under an open connection ---- */

static void test_removed_file_refuses_writes(struct fixture *fx, gconstpointer data)
{
    sqlite3 *db = open_db(fx->path, BUSY_TIMEOUT_MS);
    g_assert_cmpint(g_unlink(fx->path), ==, 0);
    char *error = NULL;

    g_assert_cmpint(db_check_file(db, &error), ==, DB_ERROR);
    g_assert_nonnull(strstr(error, fx->path));
    g_assert_nonnull(strstr(error, "removed or replaced"));
    g_clear_pointer(&error, g_free);
    g_assert_cmpint(db_begin_immediate(db, &error), ==, DB_ERROR);
    g_assert_nonnull(strstr(error, "removed or replaced"));
    g_assert_true(sqlite3_get_autocommit(db));
    g_free(error);
    db_close(db);
    /* Once no connection has the old file open, a new one at the path is whole. (While one
     * has, another process cannot use a new file: SQLite finds the old -wal and -shm.) */
    db = open_db(fx->path, BUSY_TIMEOUT_MS);
    char *check = testutil_db_text(db, "PRAGMA integrity_check");
    g_assert_cmpstr(check, ==, "ok");
    g_free(check);
    db_close(db);
}

/* Another file moved into place: the old connection must not write on. (SQLite reads what
 * the old file left in the -wal at the path into the new one: mailtriaged must be stopped
 * before a database is replaced; the manual says so.) */
static void test_replaced_file_refuses_writes(struct fixture *fx, gconstpointer data)
{
    sqlite3 *db = open_db(fx->path, BUSY_TIMEOUT_MS);
    char *other_path = g_build_filename(fx->dir, "restored.db", NULL);
    db_close(open_db(other_path, BUSY_TIMEOUT_MS));
    g_assert_cmpint(g_rename(other_path, fx->path), ==, 0);
    char *error = NULL;

    g_assert_cmpint(db_begin_immediate(db, &error), ==, DB_ERROR);
    g_assert_nonnull(strstr(error, "removed or replaced"));
    g_free(error);
    g_free(other_path);
    db_close(db);
}

/* A newer program upgraded the file while this connection was open: no write. */
static void test_newer_schema_after_open_refuses_writes(struct fixture *fx, gconstpointer data)
{
    sqlite3 *db = open_db(fx->path, BUSY_TIMEOUT_MS);
    sqlite3 *newer = open_db(fx->path, BUSY_TIMEOUT_MS);
    testutil_db_exec(newer, "PRAGMA user_version = %d", db_schema_version() + 1);
    db_close(newer);
    char *error = NULL;

    g_assert_cmpint(db_begin_immediate(db, &error), ==, DB_ERROR);
    g_assert_nonnull(strstr(error, fx->path));
    g_assert_nonnull(strstr(error, "is newer than this program's"));
    g_assert_true(sqlite3_get_autocommit(db));
    g_free(error);
    db_close(db);
}

/* ---- failures that name the file and what to do ---- */

static void test_locked_past_busy_timeout_says_who_to_look_for(struct fixture *fx,
                                                               gconstpointer data)
{
    sqlite3 *holder = open_db(fx->path, BUSY_TIMEOUT_MS);
    sqlite3 *db = open_db(fx->path, 100);
    testutil_db_exec(holder, "BEGIN EXCLUSIVE");
    char *error = NULL;

    g_assert_cmpint(db_begin_immediate(db, &error), ==, DB_BUSY);
    g_assert_nonnull(strstr(error, "database is locked"));
    g_assert_nonnull(strstr(error, "busy_timeout"));
    g_assert_nonnull(strstr(error, "fuser -v"));
    g_assert_nonnull(strstr(error, fx->path));
    testutil_db_exec(holder, "COMMIT");
    g_free(error);
    db_close(db);
    db_close(holder);
}

static void test_damaged_file_says_how_to_check_it(struct fixture *fx, gconstpointer data)
{
    char *garbage = g_strnfill(8192, 'x');
    g_free(testutil_write(fx->dir, "mailtriage.db", garbage));
    sqlite3 *db = NULL;
    char *error = NULL;

    g_assert_cmpint(db_open(fx->path, BUSY_TIMEOUT_MS, &db, &error), ==, DB_ERROR);
    g_assert_null(db);
    g_assert_nonnull(strstr(error, fx->path));
    g_assert_nonnull(strstr(error, "integrity_check"));
    g_free(error);
    g_free(garbage);
}

/* A connection read-only by choice gets SQLite's refusal, without advice to change modes. */
static void test_read_only_by_choice_gives_no_advice(struct fixture *fx, gconstpointer data)
{
    db_close(open_db(fx->path, BUSY_TIMEOUT_MS));
    sqlite3 *db = NULL;
    char *error = NULL;
    g_assert_cmpint(db_open_existing(fx->path, BUSY_TIMEOUT_MS, DB_READ_ONLY, &db, &error), ==,
                    DB_OK);

    g_assert_cmpint(db_exec(db, "PRAGMA user_version = 1", &error), ==, DB_ERROR);
    g_assert_nonnull(strstr(error, "readonly"));
    g_assert_null(strstr(error, "must be writable"));
    g_free(error);
    db_close(db);
}

/* Permissions mean nothing to root: as root, BODY runs in a child that is user nobody (65534)
 * and owns the case's directory, and the case passes when the child does. */
static void run_unprivileged(struct fixture *fx, void (*body)(struct fixture *))
{
    if (geteuid() != 0) {
        body(fx);
        return;
    }
    pid_t pid = fork();
    g_assert_cmpint(pid, >=, 0);
    if (pid == 0) {
        if (chown(fx->dir, 65534, 65534) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        body(fx); /* a failed assertion aborts the child */
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

/* A file this process may not write is refused at open, instead of SQLite opening it read-only
 * and every write failing later. */
static void unwritable_file_refused_at_open(struct fixture *fx)
{
    db_close(open_db(fx->path, BUSY_TIMEOUT_MS));
    g_assert_cmpint(chmod(fx->path, 0400), ==, 0);
    sqlite3 *db = NULL;
    char *error = NULL;

    g_assert_cmpint(db_open(fx->path, BUSY_TIMEOUT_MS, &db, &error), ==, DB_ERROR);
    g_assert_null(db);
    g_assert_nonnull(strstr(error, fx->path));
    g_assert_nonnull(strstr(error, "read-only"));
    g_assert_nonnull(strstr(error, "must be writable"));
    g_free(error);
}

static void test_unwritable_file_refused_at_open(struct fixture *fx, gconstpointer data)
{
    run_unprivileged(fx, unwritable_file_refused_at_open);
}

/* Made read-only while open (chmod): the next write transaction is refused, though SQLite
 * could go on writing through the descriptor it has. */
static void made_read_only_while_open_refuses_writes(struct fixture *fx)
{
    sqlite3 *db = open_db(fx->path, BUSY_TIMEOUT_MS);
    g_assert_cmpint(chmod(fx->path, 0400), ==, 0);
    char *error = NULL;

    g_assert_cmpint(db_begin_immediate(db, &error), ==, DB_ERROR);
    g_assert_nonnull(strstr(error, fx->path));
    g_assert_nonnull(strstr(error, "no longer writable"));
    g_assert_true(sqlite3_get_autocommit(db));
    g_free(error);
    db_close(db);
}

static void test_made_read_only_while_open_refuses_writes(struct fixture *fx, gconstpointer data)
{
    run_unprivileged(fx, made_read_only_while_open_refuses_writes);
}

/* ---- lazy connections ---- */

static int synchronous_of(sqlite3 *db)
{
    return (int)testutil_db_int(db, "PRAGMA synchronous");
}

static void test_durable_transaction_of_a_lazy_connection(struct fixture *fx, gconstpointer data)
{
    sqlite3 *db = open_db(fx->path, BUSY_TIMEOUT_MS);
    char *error = NULL;
    g_assert_cmpint(synchronous_of(db), ==, 2); /* FULL: every connection opens durable */
    g_assert_cmpint(db_set_lazy(db, &error), ==, DB_OK);
    g_assert_cmpint(synchronous_of(db), ==, 1);
    /* Durable for that transaction, lazy again after its commit and after a rollback. */
    g_assert_cmpint(db_begin_immediate_durable(db, &error), ==, DB_OK);
    g_assert_cmpint(synchronous_of(db), ==, 2);
    g_assert_cmpint(db_commit(db, &error), ==, DB_OK);
    g_assert_cmpint(synchronous_of(db), ==, 1);
    g_assert_cmpint(db_begin_immediate_durable(db, &error), ==, DB_OK);
    db_rollback(db);
    g_assert_cmpint(synchronous_of(db), ==, 1);
    /* An ordinary transaction leaves it lazy; a durable one of a durable connection, durable. */
    g_assert_cmpint(db_begin_immediate(db, &error), ==, DB_OK);
    g_assert_cmpint(db_commit(db, &error), ==, DB_OK);
    g_assert_cmpint(synchronous_of(db), ==, 1);
    sqlite3 *full = open_db(fx->path, BUSY_TIMEOUT_MS);
    g_assert_cmpint(db_begin_immediate_durable(full, &error), ==, DB_OK);
    g_assert_cmpint(db_commit(full, &error), ==, DB_OK);
    g_assert_cmpint(synchronous_of(full), ==, 2);
    db_close(full);
    db_close(db);
}

/* ---- the write turn of one process's threads (db_gate.h) ---- */

static void test_second_connection_of_a_thread_is_not_gated(struct fixture *fx, gconstpointer data)
{
    /* A thread that holds the turn for one connection and begins on another must get SQLite's
     * answer (busy, after the timeout), not wait for itself forever. */
    sqlite3 *one = open_db(fx->path, 200);
    sqlite3 *two = open_db(fx->path, 200);
    char *error = NULL;
    g_assert_cmpint(db_begin_immediate(one, &error), ==, DB_OK);
    g_assert_cmpint(db_begin_immediate(two, &error), ==, DB_BUSY);
    g_clear_pointer(&error, g_free);
    g_assert_cmpint(db_commit(one, &error), ==, DB_OK);
    g_assert_cmpint(db_begin_immediate(two, &error), ==, DB_OK);
    g_assert_cmpint(db_commit(two, &error), ==, DB_OK);
    db_close(one);
    db_close(two);
}

struct gate_thread {
    const char *path;
    enum db_gate_priority priority;
    char name;
    GMutex *lock;
    GString *order; /* the names, in the order the threads got the turn */
};

static gpointer gate_thread_run(gpointer data)
{
    struct gate_thread *t = data;
    db_gate_thread_priority(t->priority);
    sqlite3 *db = open_db(t->path, BUSY_TIMEOUT_MS);
    char *error = NULL;
    g_assert_cmpint(db_begin_immediate(db, &error), ==, DB_OK);
    g_mutex_lock(t->lock);
    g_string_append_c(t->order, t->name);
    g_mutex_unlock(t->lock);
    g_assert_cmpint(db_commit(db, &error), ==, DB_OK);
    db_close(db);
    return NULL;
}

/* Wait (bounded) until N threads wait for the turn. */
static void wait_for_waiters(unsigned n)
{
    for (int i = 0; i < 5000 && db_gate_waiters() < n; i++)
        g_usleep(1000);
    g_assert_cmpuint(db_gate_waiters(), ==, n);
}

static void test_first_priority_goes_before_waiting_threads(struct fixture *fx, gconstpointer data)
{
    sqlite3 *holder = open_db(fx->path, BUSY_TIMEOUT_MS);
    char *error = NULL;
    GMutex lock;
    g_mutex_init(&lock);
    GString *order = g_string_new(NULL);
    struct gate_thread normal = {fx->path, DB_GATE_NORMAL, 'n', &lock, order};
    struct gate_thread normal2 = {fx->path, DB_GATE_NORMAL, 'm', &lock, order};
    struct gate_thread first = {fx->path, DB_GATE_FIRST, 'f', &lock, order};
    g_assert_cmpint(db_begin_immediate(holder, &error), ==, DB_OK);
    GThread *a = g_thread_new("normal", gate_thread_run, &normal);
    wait_for_waiters(1);
    GThread *b = g_thread_new("normal2", gate_thread_run, &normal2);
    wait_for_waiters(2);
    GThread *c = g_thread_new("first", gate_thread_run, &first);
    wait_for_waiters(3);
    g_assert_cmpint(db_commit(holder, &error), ==, DB_OK);
    g_thread_join(a);
    g_thread_join(b);
    g_thread_join(c);
    /* The one that came last, with DB_GATE_FIRST, went first. */
    g_assert_cmpint(order->str[0], ==, 'f');
    g_assert_cmpuint(order->len, ==, 3);
    g_string_free(order, TRUE);
    g_mutex_clear(&lock);
    db_close(holder);
}

static void add(const char *path, gconstpointer data, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, data, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(mode_cases); i++) {
        char *path = g_strdup_printf("/db/%s", mode_cases[i].name);
        add(path, &mode_cases[i], test_mode_case);
        g_free(path);
    }
    add("/db/existing_file_keeps_its_mode", NULL, test_existing_file_keeps_its_mode);
    add("/db/missing_directory_is_an_error", NULL, test_missing_directory_is_an_error);
    add("/db/removed_file_refuses_writes", NULL, test_removed_file_refuses_writes);
    add("/db/replaced_file_refuses_writes", NULL, test_replaced_file_refuses_writes);
    add("/db/newer_schema_after_open_refuses_writes", NULL,
        test_newer_schema_after_open_refuses_writes);
    add("/db/locked_past_busy_timeout_says_who_to_look_for", NULL,
        test_locked_past_busy_timeout_says_who_to_look_for);
    add("/db/damaged_file_says_how_to_check_it", NULL, test_damaged_file_says_how_to_check_it);
    add("/db/read_only_by_choice_gives_no_advice", NULL, test_read_only_by_choice_gives_no_advice);
    add("/db/unwritable_file_refused_at_open", NULL, test_unwritable_file_refused_at_open);
    add("/db/made_read_only_while_open_refuses_writes", NULL,
        test_made_read_only_while_open_refuses_writes);
    add("/db/lazy/durable_transaction_of_a_lazy_connection", NULL,
        test_durable_transaction_of_a_lazy_connection);
    add("/db/gate/second_connection_of_a_thread_is_not_gated", NULL,
        test_second_connection_of_a_thread_is_not_gated);
    add("/db/gate/first_priority_goes_before_waiting_threads", NULL,
        test_first_priority_goes_before_waiting_threads);
    return g_test_run();
}
