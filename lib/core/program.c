/*
 * program: start-up and shutdown shared by the programs; see program.h.
 */
#include <locale.h>
#include <signal.h>
#include <stdlib.h>

#include <gmime/gmime.h>

#include "llm.h"
#include "program.h"

void program_init(const char *ident, enum log_target target)
{
    setlocale(LC_ALL, "");
    signal(SIGPIPE, SIG_IGN);
    log_open(ident, target);
    g_mime_init();
    llm_global_init();
}

struct config *program_load_config(const char *path, int exit_status)
{
    char *error = NULL;
    struct config *cfg = config_load(path, &error);
    if (cfg == NULL) {
        log_error("configuration: %s", error);
        g_free(error);
        exit(exit_status);
    }
    log_set_level((enum log_level)cfg->daemon.log_level);
    log_set_mask_addresses(cfg->daemon.mask_addresses);
    return cfg;
}

void program_done(void)
{
    llm_global_cleanup();
    g_mime_shutdown();
}
