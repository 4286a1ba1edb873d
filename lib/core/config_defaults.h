/*
 * config_defaults: what a configuration holds without saying it, beyond the keys' defaults.
 *
 * The intents every mailbox may list without an [intent NAME] group (send_info,
 * create_account, speak_to_human, unknown, the field's common set) with their description,
 * action and keywords, and the built-in text and HTML reply templates of an intent that names
 * no template. A group of a default intent's name overrides only the keys it sets.
 */
#ifndef MAILTRIAGE_CONFIG_DEFAULTS_H
#define MAILTRIAGE_CONFIG_DEFAULTS_H

#include <glib.h>

#include "config_model.h"

extern const char config_defaults_template[];
extern const char config_defaults_template_html[];

/* The default intent NAME, every other key at its default and the built-in templates' text
 * read; NULL when NAME is not a default intent. */
struct config_intent *config_defaults_intent_new(const char *name);
/* When INTENT is named for a default intent, its description, action and keywords where
 * GROUP of KEYFILE does not set them. */
void config_defaults_fill_intent(struct config_intent *intent, GKeyFile *keyfile,
                                 const char *group);

#endif
