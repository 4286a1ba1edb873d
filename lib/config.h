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

#include "config_keys.h"
#include "config_types.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/mailtriage/mailtriage.conf"

/* Choices of the ENUM keys, in the order of their declaration in config_keys.h. */
enum config_provider { CONFIG_PROVIDER_OPENAI, CONFIG_PROVIDER_BUILTIN };
enum config_on_error { CONFIG_ON_ERROR_ACCEPT, CONFIG_ON_ERROR_TEMPFAIL };
enum config_require_auth {
    CONFIG_REQUIRE_AUTH_NONE,
    CONFIG_REQUIRE_AUTH_SPF_OR_DKIM,
    CONFIG_REQUIRE_AUTH_DMARC
};
enum config_mode { CONFIG_MODE_AUTO, CONFIG_MODE_DRAFT, CONFIG_MODE_OFF };
enum config_intake { CONFIG_INTAKE_ANY, CONFIG_INTAKE_MILTER, CONFIG_INTAKE_PIPE };
enum config_action {
    CONFIG_ACTION_REPLY,
    CONFIG_ACTION_ESCALATE,
    CONFIG_ACTION_DRAFT,
    CONFIG_ACTION_WEBHOOK,
    CONFIG_ACTION_NONE
};

/* A key's field, of the C type of its CONFIG_TYPE (config_types.h). */
#define CONFIG_FIELD(key, type, def, min, max, choices, doc) CONFIG_CTYPE_##type key;

struct config_daemon {
    CONFIG_DAEMON_KEYS(CONFIG_FIELD)
};
struct config_llm {
    CONFIG_LLM_KEYS(CONFIG_FIELD)
};
struct config_sendmail {
    CONFIG_SENDMAIL_KEYS(CONFIG_FIELD)
};
struct config_policy {
    CONFIG_POLICY_KEYS(CONFIG_FIELD)
};
struct config_mailbox {
    char *address; /* lowercased */
    CONFIG_MAILBOX_KEYS(CONFIG_FIELD)
};
struct config_intent {
    char *intent; /* the group's NAME */
    CONFIG_INTENT_KEYS(CONFIG_FIELD)
    char *template_text;      /* the template's contents, read and checked at load time */
    char *template_html_text; /* likewise, the HTML template */
};

struct config {
    char *path;
    struct config_daemon daemon;
    struct config_llm llm;
    struct config_sendmail sendmail;
    struct config_policy policy;
    GPtrArray *mailboxes; /* of struct config_mailbox * */
    GPtrArray *intents;   /* of struct config_intent *, defined and defaulted */
    char *api_key;        /* read from llm.api_key_file, NULL when none */
    char *hostname;       /* daemon.hostname or the system's */
    gint refcount;
};

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
