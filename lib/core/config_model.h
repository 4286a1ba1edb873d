/*
 * config_model: the shape of a loaded configuration, and nothing else.
 *
 * The structs that config_load() (config.h) fills, one field per key of config_keys.h in the
 * C type of its CONFIG_TYPE, and the choices of the ENUM keys. They live apart from the
 * loader so that the key-type table (config_types.h) and the built-in defaults
 * (config_defaults.h) can fill them without depending on the loader, which depends on them.
 */
#ifndef MAILTRIAGE_CONFIG_MODEL_H
#define MAILTRIAGE_CONFIG_MODEL_H

#include <glib.h>

#include "config_keys.h"

/* The C type of a key's field in the structs below. */
#define CONFIG_CTYPE_STRING char *
#define CONFIG_CTYPE_PATH char *
#define CONFIG_CTYPE_ADDRESS char *
#define CONFIG_CTYPE_UINT guint
#define CONFIG_CTYPE_DOUBLE double
#define CONFIG_CTYPE_BOOL gboolean
#define CONFIG_CTYPE_ENUM int
#define CONFIG_CTYPE_DURATION gint64
#define CONFIG_CTYPE_SIZE guint64
#define CONFIG_CTYPE_MODE guint
#define CONFIG_CTYPE_LIST char **

/* Choices of the ENUM keys, in the order of their declaration in config_keys.h. */
enum config_provider { CONFIG_PROVIDER_OPENAI, CONFIG_PROVIDER_BUILTIN };
enum config_over_budget { CONFIG_OVER_BUDGET_WAIT, CONFIG_OVER_BUDGET_FALLBACK };
enum config_redact { CONFIG_REDACT_NONE, CONFIG_REDACT_PII };
enum config_on_error { CONFIG_ON_ERROR_ACCEPT, CONFIG_ON_ERROR_TEMPFAIL };
enum config_require_auth {
    CONFIG_REQUIRE_AUTH_NONE,
    CONFIG_REQUIRE_AUTH_SPF_OR_DKIM,
    CONFIG_REQUIRE_AUTH_DMARC
};
enum config_mode { CONFIG_MODE_AUTO, CONFIG_MODE_DRAFT, CONFIG_MODE_OFF, CONFIG_MODE_SHADOW };
enum config_ungrounded { CONFIG_UNGROUNDED_DRAFT, CONFIG_UNGROUNDED_ESCALATE };
enum config_intake { CONFIG_INTAKE_ANY, CONFIG_INTAKE_MILTER, CONFIG_INTAKE_PIPE };
enum config_action {
    CONFIG_ACTION_REPLY,
    CONFIG_ACTION_ESCALATE,
    CONFIG_ACTION_DRAFT,
    CONFIG_ACTION_WEBHOOK,
    CONFIG_ACTION_NONE
};

/* A key's field, of the C type of its CONFIG_TYPE. */
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
    char *webhook_secret;     /* read from webhook_secret_file, NULL when none */
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

#endif
