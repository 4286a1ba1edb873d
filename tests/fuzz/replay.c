/*
 * replay: run stored inputs through a fuzz target without libFuzzer, in any build.
 *
 *   TARGET_replay FILE|DIRECTORY...
 *
 * Each file, and each file of each directory (not recursively, in name order), is read whole
 * and given once to the target's LLVMFuzzerTestOneInput(), as libFuzzer would give it. A
 * broken contract aborts the program (and a sanitizer build reports any memory error): the
 * exit status is what `make check` sees. It prints one line per input it ran, and exits 66
 * when an argument cannot be read, so that a test never passes on an empty corpus.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz.h"

static void replay_file(const char *path)
{
    char *data = NULL;
    gsize len = 0;
    GError *error = NULL;
    if (!g_file_get_contents(path, &data, &len, &error)) {
        fprintf(stderr, "replay: %s\n", error->message);
        exit(66);
    }
    printf("%s (%zu bytes)\n", path, (size_t)len);
    fflush(stdout);
    (void)LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    g_free(data);
}

static int replay_compare(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_directory(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL)
        g_ptr_array_add(names, g_build_filename(path, name, NULL));
    g_dir_close(dir);
    g_ptr_array_sort(names, replay_compare);
    for (guint i = 0; i < names->len; i++)
        if (g_file_test(g_ptr_array_index(names, i), G_FILE_TEST_IS_REGULAR))
            replay_file(g_ptr_array_index(names, i));
    g_ptr_array_unref(names);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIRECTORY...\n", argv[0]);
        return 64;
    }
    (void)LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (g_file_test(argv[i], G_FILE_TEST_IS_DIR))
            replay_directory(argv[i]);
        else
            replay_file(argv[i]);
    }
    return 0;
}
