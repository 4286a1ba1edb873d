/*
 * testdata: small header-only helpers shared by the unit tests.
 *
 * testdata_config() turns an INI text into a struct config through a temporary file and
 * config_load(), as the programs do; testdata_message() parses an .eml text with mime_parse()
 * and the default limits; testdata_tmpdir()/testdata_write()/testdata_read() handle the
 * scratch files of a test. Each aborts the test (g_error) when its input is broken, so that a
 * test body only states the behaviour it checks.
 */
#ifndef MAILTRIAGE_TESTDATA_H
#define MAILTRIAGE_TESTDATA_H

#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"
#include "mime.h"

/* Write LEN bytes of CONTENTS (len -1: a C string) to PATH, with file mode MODE. */
static G_GNUC_UNUSED void testdata_write(const char *path, const char *contents, gssize len,
                                         int mode)
{
    GError *error = NULL;

    if (!g_file_set_contents(path, contents, len, &error))
        g_error("testdata_write %s: %s", path, error->message);
    if (g_chmod(path, mode) != 0)
        g_error("testdata_write: chmod %s failed", path);
}

/* The contents of PATH (LEN_R, when not NULL, receives its size). */
static G_GNUC_UNUSED char *testdata_read(const char *path, gsize *len_r)
{
    GError *error = NULL;
    char *contents = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &contents, &len, &error))
        g_error("testdata_read %s: %s", path, error->message);
    if (len_r != NULL)
        *len_r = len;
    return contents;
}

/* A fresh private directory; remove it with testdata_rmdir(). */
static G_GNUC_UNUSED char *testdata_tmpdir(void)
{
    GError *error = NULL;
    char *dir = g_dir_make_tmp("mailtriage-test-XXXXXX", &error);

    if (dir == NULL)
        g_error("testdata_tmpdir: %s", error->message);
    return dir;
}

/* Remove DIR and the plain files in it (tests make no subdirectories), then free DIR. */
static G_GNUC_UNUSED void testdata_rmdir(char *dir)
{
    GDir *handle = g_dir_open(dir, 0, NULL);
    const char *name;

    if (handle != NULL) {
        while ((name = g_dir_read_name(handle)) != NULL) {
            char *path = g_build_filename(dir, name, NULL);
            g_unlink(path);
            g_free(path);
        }
        g_dir_close(handle);
    }
    g_rmdir(dir);
    g_free(dir);
}

/* The configuration described by INI, loaded with config_load() from a temporary file. */
static G_GNUC_UNUSED struct config *testdata_config(const char *ini)
{
    GError *gerror = NULL;
    char *path = NULL;
    char *error = NULL;
    int fd = g_file_open_tmp("mailtriage-test-XXXXXX.conf", &path, &gerror);

    if (fd < 0)
        g_error("testdata_config: %s", gerror->message);
    close(fd);
    testdata_write(path, ini, -1, 0600);
    struct config *cfg = config_load(path, &error);
    if (cfg == NULL)
        g_error("testdata_config: config_load: %s\n--- ini ---\n%s", error, ini);
    g_unlink(path);
    g_free(path);
    return cfg;
}

/* EML parsed with mime_parse() and the default limits. */
static G_GNUC_UNUSED struct mime_message *testdata_message(const char *eml)
{
    struct mime_limits limits;
    struct mime_message *msg = NULL;
    char *error = NULL;

    mime_limits_default(&limits);
    if (mime_parse(eml, strlen(eml), &limits, &msg, &error) != 0)
        g_error("testdata_message: mime_parse: %s\n--- eml ---\n%s", error, eml);
    return msg;
}

/* Does HAYSTACK contain NEEDLE? A NULL HAYSTACK contains nothing. */
static G_GNUC_UNUSED gboolean testdata_contains(const char *haystack, const char *needle)
{
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

#endif
