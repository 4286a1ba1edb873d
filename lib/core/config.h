/*
 * config: the mailtriage configuration file (an INI file read with GKeyFile).
 *
 * config_load() reads the file, checks every key against the table in config_keys.h (unknown
 * groups and keys, bad values and out-of-range numbers are errors reported as "FILE:LINE: reason")
 * and returns an immutable, reference-counted struct config: a reload can swap in a new one
 * while work in flight keeps the old. Each [mailbox ADDRESS] and [intent NAME] group becomes a
 * struct; intents a mailbox lists that have no group take the built-in defaults of
 * config_defaults.h, and every mailbox knows `unknown`. Values are parsed by their key's type
 * (config_types.h); config_print.h prints a configuration and the key table.
 */
#ifndef MAILTRIAGE_CONFIG_H
#define MAILTRIAGE_CONFIG_H

#include <glib.h>

#include "config_model.h"
#include "config_types.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/mailtriage/mailtriage.conf"

struct config *config_load(const char *path, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* The same checks of the file itself, without opening the files it names: the templates and
 * the API key file may be missing or belong to another machine. Their text (template_text,
 * template_html_text of intents with a template of their own) and api_key stay NULL: such a
 * configuration is for checking, not for running. */
struct config *config_load_syntax(const char *path, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg);

/* The mailbox for ADDRESS (case-insensitive), or NULL when it is not monitored. */
const struct config_mailbox *config_mailbox_find(const struct config *cfg, const char *address);
const struct config_intent *config_intent_find(const struct config *cfg, const char *name);

#endif
