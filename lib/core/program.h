/*
 * program: what every mailtriage program does at start and end.
 *
 * program_init() opens the log, ignores SIGPIPE (sendmail or a server that hangs up must not
 * kill us), and initialises GMime and libcurl once, before any thread starts.
 * program_load_config() loads the configuration and applies its logging settings, or logs
 * why it cannot and exits with EXIT_STATUS.
 */
#ifndef MAILTRIAGE_PROGRAM_H
#define MAILTRIAGE_PROGRAM_H

#include "config.h"
#include "log.h"

void program_init(const char *ident, enum log_target target);
struct config *program_load_config(const char *path, int exit_status);
void program_done(void);

#endif
