/*
 * db: open, configure and migrate the SQLite file; small helpers; see db.h.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "db.h"

char *db_error(sqlite3 *db, const char *context)
{
    return g_strdup_printf("%s: %s", context, sqlite3_errmsg(db));
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
    *error_r = g_strdup(message != NULL ? message : sqlite3_errstr(rc));
    sqlite3_free(message);
    return db_status_of(rc);
}

int db_begin_immediate(sqlite3 *db, char **error_r)
{
    return db_exec(db, "BEGIN IMMEDIATE", error_r);
}

int db_begin_read(sqlite3 *db, char **error_r)
{
    return db_exec(db, "BEGIN DEFERRED", error_r);
}

int db_commit(sqlite3 *db, char **error_r)
{
    int status = db_exec(db, "COMMIT", error_r);
    if (status != DB_OK)
        db_rollback(db);
    return status;
}

void db_rollback(sqlite3 *db)
{
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
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

static int db_migrate(sqlite3 *db, char **error_r)
{
    int version = 0;
    int status = db_user_version(db, &version, error_r);
    if (status != DB_OK)
        return status;
    if (version > db_schema_version()) {
        *error_r = g_strdup_printf("database schema version %d is newer than this program's (%d)",
                                   version, db_schema_version());
        return DB_ERROR;
    }
    if (version == db_schema_version())
        return DB_OK;

    for (const struct db_migration *m = db_migrations; m->sql != NULL; m++) {
        if ((status = db_begin_immediate(db, error_r)) != DB_OK)
            return status;
        /* Another process may have migrated while we waited for the lock. */
        if ((status = db_user_version(db, &version, error_r)) != DB_OK) {
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

static int db_connect(const char *path, int flags, int busy_timeout_ms, sqlite3 **db_r,
                      char **error_r)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        /* SQLite says only "unable to open database file"; the system's reason says which of
         * missing, denied or a directory it is. */
        int system_errno = db != NULL ? sqlite3_system_errno(db) : 0;
        *error_r = g_strdup_printf("open %s: %s", path,
                                   system_errno != 0 ? g_strerror(system_errno)
                                   : db != NULL      ? sqlite3_errmsg(db)
                                                     : sqlite3_errstr(rc));
        sqlite3_close(db);
        if (system_errno == ENOENT || system_errno == ENOTDIR)
            return DB_MISSING;
        return db_status_of(rc);
    }
    sqlite3_busy_timeout(db, busy_timeout_ms);
    sqlite3_extended_result_codes(db, 1);
    *db_r = db;
    return DB_OK;
}

/* WAL, durability and foreign keys, then the migrations the file lacks. */
static int db_configure_for_writing(sqlite3 *db, const char *path, char **error_r)
{
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
            version < db_schema_version() ? " (a program that opens it for writing upgrades it)"
                                          : "");
    return DB_ERROR;
}

int db_open(const char *path, int busy_timeout_ms, sqlite3 **db_r, char **error_r)
{
    sqlite3 *db = NULL;
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
    sqlite3_close(db);
}
