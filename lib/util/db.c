/*
 * db: open, configure and migrate the SQLite file; small helpers; see db.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <sqlite3.h>

#include "db.h"
#include "db_gate.h"

/* The file of DB, or NULL for a temporary or in-memory database. */
static const char *db_path(sqlite3 *db)
{
    const char *path = db != NULL ? sqlite3_db_filename(db, "main") : NULL;
    return path != NULL && *path != '\0' ? path : NULL;
}

/* Can this process write PATH? Errors other than a refusal count as yes: they are not a
 * question of permissions, and the write itself reports them. */
static gboolean db_writable(const char *path)
{
    return faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) == 0 ||
           (errno != EACCES && errno != EROFS && errno != EPERM);
}

static char *db_advice_permissions(const char *path)
{
    return g_strdup_printf("%s, its -wal and -shm files and its directory must be writable by "
                           "uid %d, the user this program runs as",
                           path, (int)geteuid());
}

/* What an administrator can do about failure RC (an extended result code) of DB, or NULL when
 * it is not theirs to fix. */
static char *db_advice(sqlite3 *db, int rc)
{
    const char *path = db_path(db);
    if (path == NULL)
        return NULL;
    int system_errno = sqlite3_system_errno(db);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return g_strdup_printf("%s: another process held its lock longer than busy_timeout; "
                               "fuser -v %s names the processes that have it open",
                               path, path);
    case SQLITE_FULL:
        return g_strdup_printf("%s: its file system is full: free space there", path);
    case SQLITE_READONLY:
        if (rc == SQLITE_READONLY_DBMOVED)
            return g_strdup_printf("%s was removed or replaced while open", path);
        /* A connection opened read-only on purpose is not the administrator's to fix. */
        if (db_writable(path))
            return NULL;
        if (sqlite3_db_readonly(db, "main") == 1) /* a reader the file's group allows */
            return g_strdup_printf("%s: this program may not write it; a reader needs its -wal "
                                   "and -shm files, which exist while mailtriaged runs, or write "
                                   "access to its directory",
                                   path);
        return db_advice_permissions(path);
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return db_advice_permissions(path);
    case SQLITE_IOERR:
        if (system_errno == ENOSPC || system_errno == EDQUOT)
            return g_strdup_printf("%s: its file system is full or over quota (%s): free space "
                                   "there",
                                   path, g_strerror(system_errno));
        return g_strdup_printf("%s: input/output error%s%s%s: check its disk and the kernel log",
                               path, system_errno != 0 ? " (" : "",
                               system_errno != 0 ? g_strerror(system_errno) : "",
                               system_errno != 0 ? ")" : "");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return g_strdup_printf("%s is damaged or not a mailtriage database: check it with "
                               "sqlite3 %s 'PRAGMA integrity_check' and restore a backup",
                               path, path);
    default:
        return NULL;
    }
}

/* MESSAGE, with what to do about failure RC of DB when there is something. */
static char *db_explain(sqlite3 *db, int rc, const char *message)
{
    char *advice = db_advice(db, rc);
    char *text = advice != NULL ? g_strdup_printf("%s (%s)", message, advice) : g_strdup(message);
    g_free(advice);
    return text;
}

char *db_error(sqlite3 *db, const char *context)
{
    char *message = g_strdup_printf("%s: %s", context, sqlite3_errmsg(db));
    char *text = db_explain(db, sqlite3_extended_errcode(db), message);
    g_free(message);
    return text;
}

int db_status_of(int rc)
{
    int primary = rc & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? DB_BUSY : DB_ERROR;
}

int db_exec(sqlite3 *db, const char *sql, char **error_r)
{
    char *message = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
    if (rc == SQLITE_OK)
        return DB_OK;
    *error_r = db_explain(db, rc, message != NULL ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    return db_status_of(rc);
}

int db_begin_read(sqlite3 *db, char **error_r)
{
    return db_exec(db, "BEGIN DEFERRED", error_r);
}

/* The lazy connection whose current transaction db_begin_immediate_durable() made durable. */
static _Thread_local sqlite3 *db_lazy_again;

/* After a transaction of db_begin_immediate_durable(): lazy again. */
static void db_restore_lazy(sqlite3 *db)
{
    if (db_lazy_again != db || db == NULL)
        return;
    db_lazy_again = NULL;
    sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
}

int db_commit(sqlite3 *db, char **error_r)
{
    int status = db_exec(db, "COMMIT", error_r);
    if (status != DB_OK)
        db_rollback(db);
    db_gate_leave(db);
    db_restore_lazy(db);
    return status;
}

void db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    db_gate_leave(db);
    db_restore_lazy(db);
}

int db_set_lazy(sqlite3 *db, char **error_r)
{
    return db_exec(db, "PRAGMA synchronous = NORMAL", error_r);
}

/* PRAGMA synchronous of DB: 0 off, 1 normal, 2 full, 3 extra; -1 when it cannot be read. */
static int db_synchronous(sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    int level = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA synchronous", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
        level = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return level;
}

int db_begin_immediate_durable(sqlite3 *db, char **error_r)
{
    /* SQLite takes a new safety level only outside a transaction. */
    if (db_synchronous(db) == 1) {
        int status = db_exec(db, "PRAGMA synchronous = FULL", error_r);
        if (status != DB_OK)
            return status;
        db_lazy_again = db;
    }
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        db_restore_lazy(db);
    return status;
}

sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql, char **error_r)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        *error_r = db_error(db, "prepare");
        return NULL;
    }
    return stmt;
}

void db_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text == NULL)
        sqlite3_bind_null(stmt, index);
    else
        sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}

char *db_column_dup(sqlite3_stmt *stmt, int column)
{
    const unsigned char *text = sqlite3_column_text(stmt, column);
    return text != NULL ? g_strdup((const char *)text) : NULL;
}

int db_schema_version(void)
{
    int version = 0;
    for (const struct db_migration *m = db_migrations; m->sql != NULL; m++)
        version = MAX(version, m->version);
    return version;
}

static int db_user_version(sqlite3 *db, int *version_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, "PRAGMA user_version", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *version_r = sqlite3_column_int(stmt, 0);
    else
        *error_r = db_error(db, "read schema version");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? DB_OK : db_status_of(rc);
}

/* Refuse a schema newer than ours: what this program writes could break what a newer one
 * expects. */
static int db_refuse_newer(int version, char **error_r)
{
    if (version <= db_schema_version())
        return DB_OK;
    *error_r = g_strdup_printf("database schema version %d is newer than this program's (%d): a "
                               "newer mailtriage upgraded it; run that version (restart "
                               "mailtriaged after an upgrade), or restore a backup made by this "
                               "one",
                               version, db_schema_version());
    return DB_ERROR;
}

int db_check_file(sqlite3 *db, char **error_r)
{
    const char *path = db_path(db);
    int moved = 0;
    if (path == NULL)
        return DB_OK;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK && moved) {
        *error_r = g_strdup_printf("%s was removed or replaced since this connection opened it: "
                                   "what it writes would not be in the file at that path; "
                                   "restore the file if it was removed by mistake",
                                   path);
        return DB_ERROR;
    }
    if (sqlite3_db_readonly(db, "main") == 0 && !db_writable(path)) {
        char *advice = db_advice_permissions(path);
        *error_r = g_strdup_printf("%s is no longer writable (%s)", path, advice);
        g_free(advice);
        return DB_ERROR;
    }
    return DB_OK;
}

int db_begin_immediate(sqlite3 *db, char **error_r)
{
    int status = db_check_file(db, error_r);
    if (status != DB_OK)
        return status;
    db_gate_enter(db);
    if ((status = db_exec(db, "BEGIN IMMEDIATE", error_r)) != DB_OK) {
        db_gate_leave(db);
        return status;
    }
    /* Under the write lock, so that no newer program can upgrade the file in between. */
    int version = 0;
    char *detail = NULL;
    if ((status = db_user_version(db, &version, &detail)) == DB_OK)
        status = db_refuse_newer(version, &detail);
    if (status != DB_OK) {
        db_rollback(db);
        const char *path = db_path(db);
        *error_r = path != NULL ? g_strdup_printf("%s: %s", path, detail) : g_strdup(detail);
        g_free(detail);
    }
    return status;
}

static int db_migrate(sqlite3 *db, char **error_r)
{
    int version = 0;
    int status = db_user_version(db, &version, error_r);
    if (status == DB_OK)
        status = db_refuse_newer(version, error_r);
    if (status != DB_OK)
        return status;
    if (version == db_schema_version())
        return DB_OK;

    for (const struct db_migration *m = db_migrations; m->sql != NULL; m++) {
        if ((status = db_exec(db, "BEGIN IMMEDIATE", error_r)) != DB_OK)
            return status;
        /* Another process may have migrated while we waited for the lock. */
        if ((status = db_user_version(db, &version, error_r)) != DB_OK ||
            (status = db_refuse_newer(version, error_r)) != DB_OK) {
            db_rollback(db);
            return status;
        }
        if (m->version <= version) {
            db_rollback(db);
            continue;
        }
        char *detail = NULL;
        char *bump = g_strdup_printf("PRAGMA user_version = %d", m->version);
        status = db_exec(db, m->sql, &detail);
        if (status == DB_OK)
            status = db_exec(db, bump, &detail);
        g_free(bump);
        if (status != DB_OK) {
            *error_r = g_strdup_printf("migration %s: %s", m->name, detail);
            g_free(detail);
            db_rollback(db);
            return status;
        }
        if ((status = db_commit(db, error_r)) != DB_OK)
            return status;
    }
    return DB_OK;
}

/* The reason an open of PATH failed with SYSTEM_ERRNO, with what to do when it is a matter of
 * permissions. */
static char *db_open_error(const char *path, int system_errno, const char *reason)
{
    if (system_errno != EACCES && system_errno != EROFS && system_errno != EPERM)
        return g_strdup_printf("open %s: %s", path, reason);
    char *advice = db_advice_permissions(path);
    char *text = g_strdup_printf("open %s: %s (%s)", path, reason, advice);
    g_free(advice);
    return text;
}

/* Create PATH, when it is not there, with the mode the database keeps: 0600, or 0640 when its
 * directory has the set-group-ID bit, whose group the file then inherits and may read it.
 * fchmod() makes the mode whatever the umask; SQLite gives the -wal and -shm files the mode of
 * the database file. An existing file keeps the mode its administrator gave it. */
static int db_create_file(const char *path, char **error_r)
{
    struct stat dir;
    char *dir_path = g_path_get_dirname(path);
    mode_t mode = stat(dir_path, &dir) == 0 && (dir.st_mode & S_ISGID) ? 0640 : 0600;
    g_free(dir_path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);
    if (fd < 0 && errno == EEXIST)
        return DB_OK;
    if (fd < 0 || fchmod(fd, mode) < 0) {
        int system_errno = errno;
        *error_r = db_open_error(path, system_errno, g_strerror(system_errno));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return DB_ERROR;
    }
    close(fd);
    return DB_OK;
}

static int db_connect(const char *path, int flags, int busy_timeout_ms, sqlite3 **db_r,
                      char **error_r)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        /* SQLite says only "unable to open database file"; the system's reason says which of
         * missing, denied or a directory it is. */
        int system_errno = db != NULL ? sqlite3_system_errno(db) : 0;
        *error_r = db_open_error(path, system_errno,
                                 system_errno != 0 ? g_strerror(system_errno)
                                 : db != NULL      ? sqlite3_errmsg(db)
                                                   : sqlite3_errstr(rc));
        sqlite3_close(db);
        if (system_errno == ENOENT || system_errno == ENOTDIR)
            return DB_MISSING;
        return db_status_of(rc);
    }
    db_gate_busy_handler(db, busy_timeout_ms);
    sqlite3_extended_result_codes(db, 1);
    *db_r = db;
    return DB_OK;
}

/* WAL, durability and foreign keys, then the migrations the file lacks. */
static int db_configure_for_writing(sqlite3 *db, const char *path, char **error_r)
{
    /* SQLite opens a file it may not write read-only without a word; every write would fail. */
    if (sqlite3_db_readonly(db, "main") == 1) {
        char *advice = db_advice_permissions(path);
        *error_r = g_strdup_printf("%s: can be opened only read-only (%s)", path, advice);
        g_free(advice);
        return DB_ERROR;
    }
    char *detail = NULL;
    int status = db_exec(db,
                         "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                         "PRAGMA foreign_keys = ON;",
                         &detail);
    if (status == DB_OK)
        status = db_migrate(db, &detail);
    if (status != DB_OK) {
        *error_r = g_strdup_printf("%s: %s", path, detail);
        g_free(detail);
    }
    return status;
}

/* A reader cannot migrate, so it takes only the schema it was written for. */
static int db_check_schema(sqlite3 *db, const char *path, char **error_r)
{
    int version = 0;
    char *detail = NULL;
    int status = db_user_version(db, &version, &detail);
    if (status != DB_OK) {
        *error_r = g_strdup_printf("%s: %s", path, detail);
        g_free(detail);
        return status;
    }
    if (version == db_schema_version())
        return DB_OK;
    if (version == 0)
        *error_r = g_strdup_printf("%s: not a mailtriage database (no schema version)", path);
    else
        *error_r = g_strdup_printf(
            "%s: database schema version %d, this program reads version %d%s", path, version,
            db_schema_version(),
            version < db_schema_version()
                ? " (a program that opens it for writing upgrades it)"
                : " (a newer mailtriage upgraded it: run that version, or restore a backup)");
    return DB_ERROR;
}

int db_open(const char *path, int busy_timeout_ms, sqlite3 **db_r, char **error_r)
{
    sqlite3 *db = NULL;
    if (db_create_file(path, error_r) != DB_OK)
        return DB_ERROR;
    int status =
        db_connect(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busy_timeout_ms, &db, error_r);
    /* Creating, only a missing directory is missing: a failure like any other to the callers. */
    if (status != DB_OK)
        return status == DB_MISSING ? DB_ERROR : status;
    if ((status = db_configure_for_writing(db, path, error_r)) != DB_OK) {
        sqlite3_close(db);
        return status;
    }
    *db_r = db;
    return DB_OK;
}

int db_open_existing(const char *path, int busy_timeout_ms, enum db_access access, sqlite3 **db_r,
                     char **error_r)
{
    sqlite3 *db = NULL;
    int flags = access == DB_READ_ONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    int status = db_connect(path, flags, busy_timeout_ms, &db, error_r);
    if (status != DB_OK)
        return status;
    status = access == DB_READ_ONLY ? db_check_schema(db, path, error_r)
                                    : db_configure_for_writing(db, path, error_r);
    if (status != DB_OK) {
        sqlite3_close(db);
        return status;
    }
    *db_r = db;
    return DB_OK;
}

void db_close(sqlite3 *db)
{
    db_gate_leave(db);
    sqlite3_close(db);
}
