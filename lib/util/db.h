/*
 * db: the SQLite file every mailtriage program shares.
 *
 * db_open() opens (creating if need be) the database in WAL mode with foreign keys on,
 * synchronous=FULL (a recorded message survives a crash or power loss) and a busy timeout,
 * then applies the migrations of sql/ it lacks, each in one transaction, tracked by
 * PRAGMA user_version; a database newer than the program is refused. A file it creates gets
 * mode 0600, or 0640 when its directory has the set-group-ID bit (the file takes the
 * directory's group), whatever the umask; SQLite gives the -wal and -shm files the same mode.
 * A file that can be opened only read-only is refused. A connection belongs to one thread.
 * Writes are short transactions; claims use BEGIN IMMEDIATE, which first checks that the
 * file is still the one at its path and still writable, and under the lock that no newer
 * program has upgraded it. The threads of one process take turns at the write lock
 * (db_gate.h: db_begin_immediate() waits for the turn, db_commit() and db_rollback() end it),
 * and a connection waits for other processes' locks up to its busy timeout. Errors an administrator
 * can fix (locked past busy_timeout, disk full, permissions, I/O errors, a damaged file) name the
 * path and what to do. db_open_existing() never creates the file (a mistyped path must not become
 * an empty queue): read-write it then does what db_open() does; read-only (SQLITE_OPEN_READONLY) it
 * changes nothing, neither journal mode nor schema, and takes only the schema this program knows.
 */
#ifndef MAILTRIAGE_DB_H
#define MAILTRIAGE_DB_H

#include <glib.h>
#include <sqlite3.h>

struct db_migration {
    int version;
    const char *name;
    const char *sql;
};
/* Generated from the sql/ migrations; ends with a {0, NULL, NULL} entry. */
extern const struct db_migration db_migrations[];

/* DB_MISSING only from db_open_existing(); -3 belongs to action.h. */
enum db_status { DB_OK = 0, DB_ERROR = -1, DB_BUSY = -2, DB_MISSING = -4 };

enum db_access { DB_READ_ONLY, DB_READ_WRITE };

/* DB_OK, DB_BUSY when the lock stayed taken past BUSY_TIMEOUT_MS, or DB_ERROR. */
int db_open(const char *path, int busy_timeout_ms, sqlite3 **db_r,
            char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* The same for a file that must exist: DB_MISSING (*ERROR_R names PATH) when it does not, and
 * nothing is created. DB_READ_ONLY also works while another process writes in WAL mode; when no
 * process has the file open, SQLite creates the -wal and -shm files a WAL reader needs (as root,
 * with the database file's owner), never the database. A schema other than this program's is
 * DB_ERROR read-only, since a reader cannot migrate. */
int db_open_existing(const char *path, int busy_timeout_ms, enum db_access access, sqlite3 **db_r,
                     char **error_r) G_GNUC_WARN_UNUSED_RESULT;
void db_close(sqlite3 *db);
/* The schema version the program knows. */
int db_schema_version(void);

int db_exec(sqlite3 *db, const char *sql, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* DB_ERROR when the file DB writes was removed or replaced at its path since it was opened
 * (SQLite in WAL mode would go on writing to the unlinked file), or is no longer writable
 * (chmod, a read-only mount): such a connection is to be closed and opened again. */
int db_check_file(sqlite3 *db, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* db_check_file(), BEGIN IMMEDIATE, then DB_ERROR (rolled back) when a newer program has
 * upgraded the schema. */
int db_begin_immediate(sqlite3 *db, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Make DB lazy: its commits survive the crash of the process, as every commit in WAL mode does,
 * but not the machine's (a power loss, a kernel crash) until the next durable commit or
 * checkpoint (synchronous=NORMAL). The daemon's workers are lazy: what they lose so is done
 * again, save the one write that must outlive the machine before mail leaves, which they begin
 * with db_begin_immediate_durable(). Intake (the milter's writer, the pipe) is never lazy. */
int db_set_lazy(sqlite3 *db, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* db_begin_immediate(), whose commit is on the disk before it returns (synchronous=FULL) on a
 * lazy connection too, and with it every commit before it; the connection is lazy again after
 * db_commit() or db_rollback(). */
int db_begin_immediate_durable(sqlite3 *db, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* A read transaction (BEGIN DEFERRED): the reads up to db_commit() see one snapshot. */
int db_begin_read(sqlite3 *db, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
int db_commit(sqlite3 *db, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
void db_rollback(sqlite3 *db);

/* Prepare SQL; on failure sets *error_r. */
sqlite3_stmt *db_prepare(sqlite3 *db, const char *sql, char **error_r);
/* DB_BUSY for SQLITE_BUSY/LOCKED, DB_ERROR for any other failure code RC. */
int db_status_of(int rc);
/* Bind TEXT or NULL. */
void db_bind_text(sqlite3_stmt *stmt, int index, const char *text);
/* A column's text as a new string, or NULL. */
char *db_column_dup(sqlite3_stmt *stmt, int column);
/* The error of DB as a new string, with CONTEXT before it. */
char *db_error(sqlite3 *db, const char *context);

#endif
