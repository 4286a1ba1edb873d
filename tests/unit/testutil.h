/*
 * testutil: small helpers shared by the unit tests (header-only).
 *
 * A test that needs files makes a private directory with testutil_tmpdir(), writes into it
 * with testutil_write() and removes it with testutil_rmtree() at the end; the helpers abort
 * the test (g_error) when the file system fails, so that a test never runs on a half-made
 * fixture. testutil_db_*() read one value with SQL, for tests that check what a module wrote.
 */
#ifndef MAILTRIAGE_TESTUTIL_H
#define MAILTRIAGE_TESTUTIL_H

#include <stdarg.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "clock.h"

/* A new empty directory under the system's temporary directory. */
static inline char *testutil_tmpdir(void)
{
    GError *error = NULL;
    char *dir = g_dir_make_tmp("mailtriage-test-XXXXXX", &error);

    if (dir == NULL)
        g_error("g_dir_make_tmp: %s", error->message);
    return dir;
}

/* Write TEXT to DIR/NAME and return the file's path. */
static inline char *testutil_write(const char *dir, const char *name, const char *text)
{
    char *path = g_build_filename(dir, name, NULL);
    GError *error = NULL;

    if (!g_file_set_contents(path, text, -1, &error))
        g_error("write %s: %s", path, error->message);
    return path;
}

/* Remove PATH and, when it is a directory, everything under it. */
static inline void testutil_rmtree(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);

    if (dir != NULL) {
        const char *name;
        while ((name = g_dir_read_name(dir)) != NULL) {
            char *child = g_build_filename(path, name, NULL);
            testutil_rmtree(child);
            g_free(child);
        }
        g_dir_close(dir);
    }
    if (g_remove(path) != 0)
        g_error("remove %s failed", path);
}

/* TEXT with every FROM replaced by TO, as a new string (g_string_replace needs GLib 2.68). */
static inline char *testutil_replace(const char *text, const char *from, const char *to)
{
    char **parts = g_strsplit(text, from, -1);
    char *result = g_strjoinv(to, parts);

    g_strfreev(parts);
    return result;
}

/* Run SQL (printf-style) on DB; the test aborts when it fails. */
G_GNUC_PRINTF(2, 3)
static inline void testutil_db_exec(sqlite3 *db, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *sql = g_strdup_vprintf(format, args);
    va_end(args);

    char *message = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &message) != SQLITE_OK)
        g_error("%s: %s", sql, message);
    g_free(sql);
}

/* Prepare a one-row query; the test aborts when there is no row. */
static inline sqlite3_stmt *testutil_db_row(sqlite3 *db, const char *format, va_list args)
    G_GNUC_PRINTF(2, 0);
static inline sqlite3_stmt *testutil_db_row(sqlite3 *db, const char *format, va_list args)
{
    char *sql = g_strdup_vprintf(format, args);
    sqlite3_stmt *stmt = NULL;

    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
        g_error("%s: %s", sql, sqlite3_errmsg(db));
    if (sqlite3_step(stmt) != SQLITE_ROW)
        g_error("%s: no row", sql);
    g_free(sql);
    return stmt;
}

/* The first column of the one row of a query, as an integer. */
G_GNUC_PRINTF(2, 3)
static inline gint64 testutil_db_int(sqlite3 *db, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    sqlite3_stmt *stmt = testutil_db_row(db, format, args);
    va_end(args);

    gint64 value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

/* The first column of the one row of a query, as a new string (NULL for SQL NULL). */
G_GNUC_PRINTF(2, 3)
static inline char *testutil_db_text(sqlite3 *db, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    sqlite3_stmt *stmt = testutil_db_row(db, format, args);
    va_end(args);

    const unsigned char *text = sqlite3_column_text(stmt, 0);
    char *value = text != NULL ? g_strdup((const char *)text) : NULL;
    sqlite3_finalize(stmt);
    return value;
}

/* Now in Unix seconds, as the library computes it. */
static inline gint64 testutil_now(void)
{
    return clock_now();
}

#endif
