/*
 * config_fuzz: any bytes as a configuration file, through config_load_syntax() (config.h).
 *
 * The loader reads the file as the programs do and either refuses it with one reason that
 * names the file, or returns a configuration that prints (config_print.h) and answers lookups.
 * The syntax loader opens none of the files a configuration names, so that the input cannot
 * make the target read the machine's files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "config.h"
#include "config_print.h"
#include "fuzz.h"

static char *config_fuzz_path;

static void config_fuzz_remove(void)
{
    g_unlink(config_fuzz_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    GError *error = NULL;
    int fd = g_file_open_tmp("mailtriage-fuzz-XXXXXX.conf", &config_fuzz_path, &error);
    if (fd < 0)
        fuzz_fail(__FILE__, __LINE__, error->message);
    close(fd);
    atexit(config_fuzz_remove);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GError *gerror = NULL;
    if (!g_file_set_contents(config_fuzz_path, (const char *)data, (gssize)size, &gerror))
        fuzz_fail(__FILE__, __LINE__, gerror->message);
    char *error = NULL;
    struct config *cfg = config_load_syntax(config_fuzz_path, &error);
    if (cfg == NULL) {
        FUZZ_CHECK(error != NULL && strstr(error, config_fuzz_path) != NULL);
        g_free(error);
        return 0;
    }
    FUZZ_CHECK(error == NULL);
    GString *out = g_string_new(NULL);
    config_print(cfg, out);
    FUZZ_CHECK(g_utf8_validate(out->str, (gssize)out->len, NULL));
    g_string_free(out, TRUE);
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        FUZZ_CHECK(config_mailbox_find(cfg, mailbox->address) == mailbox);
        for (char **intent = mailbox->intents; *intent != NULL; intent++)
            FUZZ_CHECK(config_intent_find(cfg, *intent) != NULL);
    }
    config_unref(cfg);
    return 0;
}
