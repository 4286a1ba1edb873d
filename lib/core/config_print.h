/*
 * config_print: the configuration as `mailtriagectl config defaults|show|man` prints it.
 *
 * Everything printed comes from the key tables of config_types.h, so the sample file, the
 * effective values and the KEYS section of mailtriage.conf(5) cannot drift from what the
 * loader accepts; tests/config_docs.sh compares the man page and the sample with this output
 * byte for byte.
 */
#ifndef MAILTRIAGE_CONFIG_PRINT_H
#define MAILTRIAGE_CONFIG_PRINT_H

#include <glib.h>

#include "config.h"

/* Every key with its default and its doc as a commented sample file, the effective values of
 * CFG, or the key table as the roff body of mailtriage.conf(5). */
void config_print_defaults(GString *out);
void config_print(const struct config *cfg, GString *out);
void config_print_man(GString *out);

#endif
