/*
 * config: load and check the INI configuration against the key table; see config.h.
 */
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "addr.h"
#include "config.h"
#include "config_defaults.h"
#include "config_types.h"
#include "config_values.h"
#include "template.h"

#define CONFIG_MAX_FILE (1024 * 1024)
#define CONFIG_MAX_TEMPLATE (64 * 1024)
#define CONFIG_MAX_API_KEY 4096
#define CONFIG_MAX_PERSONA (32 * 1024)
#define CONFIG_MAX_WEBHOOK_SECRET 4096

/* The groups without a name, read in this order; each fills one struct of struct config. */
static const struct {
    const char *name;
    const struct config_key *keys;
    size_t offset;
} config_fixed_groups[] = {
    {"daemon", config_types_daemon_keys, offsetof(struct config, daemon)},
    {"llm", config_types_llm_keys, offsetof(struct config, llm)},
    {"sendmail", config_types_sendmail_keys, offsetof(struct config, sendmail)},
    {"policy", config_types_policy_keys, offsetof(struct config, policy)},
};

/* --- reading the file --- */

struct config_loader {
    const char *path;
    const char *text; /* the file, to find line numbers */
    GKeyFile *keyfile;
    gboolean read_named_files; /* templates and the API key file; see config_load_syntax() */
};

/* The line of KEY in GROUP (or of the group when KEY is NULL); 0 when not found. */
static int config_line_of(const struct config_loader *loader, const char *group, const char *key)
{
    char **lines = g_strsplit(loader->text, "\n", -1);
    gboolean in_group = FALSE;
    int found = 0;

    for (int i = 0; lines[i] != NULL && found == 0; i++) {
        char *line = g_strstrip(lines[i]);
        if (line[0] == '[') {
            char *close = strrchr(line, ']');
            in_group = close != NULL && strlen(group) == (size_t)(close - line - 1) &&
                       strncmp(line + 1, group, strlen(group)) == 0;
            if (in_group && key == NULL)
                found = i + 1;
        } else if (in_group && key != NULL && g_str_has_prefix(line, key)) {
            const char *rest = line + strlen(key);
            while (*rest == ' ' || *rest == '\t')
                rest++;
            if (*rest == '=')
                found = i + 1;
        }
    }
    g_strfreev(lines);
    return found;
}

/* GKeyFile merges a repeated group and keeps the last of a repeated key: both hide mistakes,
 * so they are errors here. */
static int config_check_repeats(const struct config_loader *loader, char **error_r)
{
    char **lines = g_strsplit(loader->text, "\n", -1);
    GHashTable *groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTable *keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    char *group = g_strdup("");
    int result = 0;

    for (int i = 0; lines[i] != NULL && result == 0; i++) {
        char *line = g_strstrip(lines[i]);
        if (line[0] == '[') {
            g_free(group);
            group = g_strdup(line);
            if (!g_hash_table_add(groups, g_ascii_strdown(line, -1))) {
                *error_r = g_strdup_printf("%s:%d: %s appears twice", loader->path, i + 1, line);
                result = -1;
            }
        } else if (line[0] != '#' && line[0] != '\0' && strchr(line, '=') != NULL) {
            char *name = g_strstrip(g_strndup(line, (gsize)(strchr(line, '=') - line)));
            char *scoped = g_strconcat(group, name, NULL);
            if (!g_hash_table_add(keys, scoped)) {
                *error_r =
                    g_strdup_printf("%s:%d: %s %s is set twice", loader->path, i + 1, group, name);
                result = -1;
            }
            g_free(name);
        }
    }
    g_free(group);
    g_hash_table_unref(keys);
    g_hash_table_unref(groups);
    g_strfreev(lines);
    return result;
}

static int config_fail(const struct config_loader *loader, const char *group, const char *key,
                       char *reason, char **error_r)
{
    int line = config_line_of(loader, group, key);
    if (line == 0 && key != NULL)
        line = config_line_of(loader, group, NULL);
    if (line > 0)
        *error_r = g_strdup_printf("%s:%d: [%s] %s", loader->path, line, group, reason);
    else
        *error_r = g_strdup_printf("%s: [%s] %s", loader->path, group, reason);
    g_free(reason);
    return -1;
}

/* Read GROUP's keys into BASE: defaults first, then the file's values, rejecting unknown keys. */
static int config_read_group(const struct config_loader *loader, const char *group,
                             const struct config_key *keys, void *base, char **error_r)
{
    config_types_set_defaults(keys, base);
    if (!g_key_file_has_group(loader->keyfile, group))
        return 0;

    gsize n_keys = 0;
    char **names = g_key_file_get_keys(loader->keyfile, group, &n_keys, NULL);
    int result = 0;
    for (gsize i = 0; i < n_keys && result == 0; i++) {
        const struct config_key *key = config_types_find_key(keys, names[i]);
        if (key == NULL) {
            result = config_fail(loader, group, names[i],
                                 g_strdup_printf("unknown key \"%s\"", names[i]), error_r);
            break;
        }
        GError *gerror = NULL;
        char *value = g_key_file_get_string(loader->keyfile, group, names[i], &gerror);
        if (value == NULL) {
            result = config_fail(loader, group, names[i],
                                 g_strdup_printf("%s: %s", names[i], gerror->message), error_r);
            g_error_free(gerror);
            break;
        }
        char *stripped = g_strstrip(g_strdup(value));
        char *reason = config_types_comment_in_value(key, stripped);
        if (reason != NULL || config_types_parse(key, stripped, base, &reason) < 0)
            result = config_fail(loader, group, names[i], reason, error_r);
        g_free(stripped);
        g_free(value);
    }
    g_strfreev(names);
    return result;
}

static void config_mailbox_free(gpointer data)
{
    struct config_mailbox *mailbox = data;
    config_types_free_values(config_types_mailbox_keys, mailbox);
    g_free(mailbox->address);
    g_free(mailbox);
}

static void config_intent_free(gpointer data)
{
    struct config_intent *intent = data;
    config_types_free_values(config_types_intent_keys, intent);
    g_free(intent->intent);
    g_free(intent->template_text);
    g_free(intent->template_html_text);
    config_values_free_secret(intent->webhook_secret);
    g_free(intent);
}

static gboolean config_intent_name_is_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 64)
        return FALSE;
    for (const char *p = name; *p != '\0'; p++)
        if (!g_ascii_isalnum(*p) && *p != '_' && *p != '-')
            return FALSE;
    return TRUE;
}

/* Read the template file PATH (KEY names it in errors) into *TEXT_R, or BUILTIN when empty. */
static int config_load_template_file(const struct config_loader *loader, const char *group,
                                     const char *key, const char *path, const char *builtin,
                                     char **text_r, char **error_r)
{
    if (path == NULL || *path == '\0') {
        *text_r = g_strdup(builtin);
        return 0;
    }
    char *text = NULL;
    gsize len = 0;
    GError *gerror = NULL;
    if (!g_file_get_contents(path, &text, &len, &gerror)) {
        int result = config_fail(loader, group, key,
                                 g_strdup_printf("%s: %s", key, gerror->message), error_r);
        g_error_free(gerror);
        return result;
    }
    char *reason = NULL;
    if (len > CONFIG_MAX_TEMPLATE)
        reason = g_strdup_printf("%s %s is larger than %d bytes", key, path, CONFIG_MAX_TEMPLATE);
    else if (!g_utf8_validate(text, (gssize)len, NULL))
        reason = g_strdup_printf("%s %s is not valid UTF-8", key, path);
    else if (template_check(text, &reason) < 0) {
        char *detail = reason;
        reason = g_strdup_printf("%s %s: %s", key, path, detail);
        g_free(detail);
    }
    if (reason != NULL) {
        g_free(text);
        return config_fail(loader, group, key, reason, error_r);
    }
    *text_r = text;
    return 0;
}

static int config_load_template(const struct config_loader *loader, const char *group,
                                struct config_intent *intent, char **error_r)
{
    if (config_load_template_file(loader, group, "template", intent->template,
                                  config_defaults_template, &intent->template_text, error_r) < 0)
        return -1;
    return config_load_template_file(loader, group, "template_html", intent->template_html,
                                     config_defaults_template_html, &intent->template_html_text,
                                     error_r);
}

static int config_read_intent(const struct config_loader *loader, struct config *cfg,
                              const char *group, const char *name, char **error_r)
{
    if (!config_intent_name_is_valid(name))
        return config_fail(loader, group, NULL,
                           g_strdup_printf("intent name \"%s\": use letters, digits, _ and -, "
                                           "at most 64",
                                           name),
                           error_r);

    struct config_intent *intent = g_new0(struct config_intent, 1);
    intent->intent = g_strdup(name);
    g_ptr_array_add(cfg->intents, intent);
    if (config_read_group(loader, group, config_types_intent_keys, intent, error_r) < 0)
        return -1;
    /* A group that leaves a default intent's keys unset keeps that intent's defaults. */
    config_defaults_fill_intent(intent, loader->keyfile, group);
    if (intent->action == CONFIG_ACTION_WEBHOOK &&
        !g_str_has_prefix(intent->webhook_url, "http://") &&
        !g_str_has_prefix(intent->webhook_url, "https://"))
        return config_fail(loader, group, "webhook_url",
                           g_strdup("action webhook needs an http:// or https:// webhook_url"),
                           error_r);
    if (!loader->read_named_files)
        return 0;
    if (config_load_template(loader, group, intent, error_r) < 0)
        return -1;
    char *reason = NULL;
    if (*intent->webhook_secret_file != '\0' &&
        config_values_read_secret(intent->webhook_secret_file, CONFIG_MAX_WEBHOOK_SECRET,
                                  &intent->webhook_secret, &reason) < 0) {
        char *why = g_strdup_printf("webhook_secret_file: %s", reason);
        g_free(reason);
        return config_fail(loader, group, "webhook_secret_file", why, error_r);
    }
    return 0;
}

/* persona_file (not with persona) becomes the persona; language is auto or a tag. */
static int config_read_persona(const struct config_loader *loader, const char *group,
                               struct config_mailbox *mailbox, char **error_r)
{
    if (!config_values_is_language(mailbox->language))
        return config_fail(loader, group, "language",
                           g_strdup_printf("language \"%s\" is neither auto nor a language tag "
                                           "such as de or en-GB",
                                           mailbox->language),
                           error_r);
    if (*mailbox->persona_file == '\0')
        return 0;
    if (g_key_file_has_key(loader->keyfile, group, "persona", NULL))
        return config_fail(loader, group, "persona_file",
                           g_strdup("persona and persona_file are both set: keep one"), error_r);
    if (!loader->read_named_files)
        return 0;
    char *text = NULL, *reason = NULL;
    if (config_values_read_text(mailbox->persona_file, CONFIG_MAX_PERSONA, &text, &reason) < 0) {
        char *why = g_strdup_printf("persona_file: %s", reason);
        g_free(reason);
        return config_fail(loader, group, "persona_file", why, error_r);
    }
    g_free(mailbox->persona);
    mailbox->persona = g_strstrip(text);
    return 0;
}

static int config_read_mailbox(const struct config_loader *loader, struct config *cfg,
                               const char *group, const char *address, char **error_r)
{
    if (!addr_is_safe(address))
        return config_fail(loader, group, NULL,
                           g_strdup_printf("\"%s\" is not a plain mail address", address), error_r);

    struct config_mailbox *mailbox = g_new0(struct config_mailbox, 1);
    mailbox->address = g_ascii_strdown(address, -1);
    g_ptr_array_add(cfg->mailboxes, mailbox);
    if (config_read_group(loader, group, config_types_mailbox_keys, mailbox, error_r) < 0)
        return -1;
    if (mailbox->mode != CONFIG_MODE_OFF && *mailbox->escalate_to == '\0')
        return config_fail(loader, group, NULL,
                           g_strdup("escalate_to is required unless mode is off"), error_r);
    if (mailbox->name != NULL && strpbrk(mailbox->name, "\r\n") != NULL)
        return config_fail(loader, group, "name", g_strdup("name must be one line"), error_r);
    for (char **path = mailbox->knowledge; *path != NULL; path++)
        if (**path != '/')
            return config_fail(loader, group, "knowledge",
                               g_strdup_printf("knowledge: \"%s\" must be an absolute path", *path),
                               error_r);
    if (config_read_persona(loader, group, mailbox, error_r) < 0)
        return -1;

    gboolean has_unknown = FALSE;
    for (char **name = mailbox->intents; *name != NULL; name++) {
        if (strcmp(*name, "unknown") == 0)
            has_unknown = TRUE;
        if (config_intent_find(cfg, *name) != NULL)
            continue;
        struct config_intent *intent = config_defaults_intent_new(*name);
        if (intent == NULL)
            return config_fail(
                loader, group, "intents",
                g_strdup_printf("intent \"%s\" has no [intent %s] group", *name, *name), error_r);
        g_ptr_array_add(cfg->intents, intent);
    }
    if (!has_unknown) {
        guint n = g_strv_length(mailbox->intents);
        mailbox->intents = g_renew(char *, mailbox->intents, n + 2);
        mailbox->intents[n] = g_strdup("unknown");
        mailbox->intents[n + 1] = NULL;
        if (config_intent_find(cfg, "unknown") == NULL)
            g_ptr_array_add(cfg->intents, config_defaults_intent_new("unknown"));
    }
    return 0;
}

static int config_read_api_key(const struct config_loader *loader, struct config *cfg,
                               char **error_r)
{
    if (*cfg->llm.api_key_file == '\0')
        return 0;
    char *text = NULL;
    gsize len = 0;
    GError *gerror = NULL;
    if (!g_file_get_contents(cfg->llm.api_key_file, &text, &len, &gerror)) {
        char *reason = g_strdup_printf("api_key_file: %s", gerror->message);
        g_error_free(gerror);
        return config_fail(loader, "llm", "api_key_file", reason, error_r);
    }
    /* A key every local user can read is a key they can spend: refused here, so that no program
     * runs with it, in the words of config check (config_check.c). */
    GStatBuf st;
    if (g_stat(cfg->llm.api_key_file, &st) == 0 && (st.st_mode & S_IROTH) != 0) {
        explicit_bzero(text, len);
        g_free(text);
        return config_fail(loader, "llm", "api_key_file",
                           g_strdup_printf("api_key_file: %s is readable by every user (chmod 600 "
                                           "or 640)",
                                           cfg->llm.api_key_file),
                           error_r);
    }
    g_strstrip(text);
    if (len > CONFIG_MAX_API_KEY || *text == '\0' || strpbrk(text, "\r\n") != NULL) {
        char *reason =
            g_strdup_printf("api_key_file %s must hold one key on one line", cfg->llm.api_key_file);
        explicit_bzero(text, len);
        g_free(text);
        return config_fail(loader, "llm", "api_key_file", reason, error_r);
    }
    cfg->api_key = text;
    return 0;
}

/* [daemon] KEY names a user or group (WHAT): no name getpwnam() or getgrnam() can know has a
 * blank, a control character or a colon, and a blank most often starts a comment. */
static int config_check_account_name(const struct config_loader *loader, const char *key,
                                     const char *name, const char *what, char **error_r)
{
    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
        if (*p <= ' ' || *p == ':' || *p == 0x7f)
            return config_fail(loader, "daemon", key,
                               g_strdup_printf("%s: \"%s\" is not a %s name (a comment must be on "
                                               "a line of its own)",
                                               key, name, what),
                               error_r);
    return 0;
}

/* Rows deleted by metadata_retention_days are what the reply interval, the loop caps and the
 * bounce block count: deleting them sooner would answer what these rules stop. */
static int config_check_retention(const struct config_loader *loader, const struct config *cfg,
                                  char **error_r)
{
    const struct config_policy *policy = &cfg->policy;
    if (policy->metadata_retention_days == 0)
        return 0;
    gint64 kept = (gint64)policy->metadata_retention_days * 86400;
    if (policy->retention_days > policy->metadata_retention_days)
        return config_fail(loader, "policy", "metadata_retention_days",
                           g_strdup("metadata_retention_days must not be shorter than "
                                    "retention_days (the rows go with the bodies)"),
                           error_r);
    const char *shorter = NULL;
    if (kept < policy->bounce_block)
        shorter = "bounce_block";
    else if (kept < policy->loop_window)
        shorter = "loop_window";
    for (guint i = 0; shorter == NULL && i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        if (kept < mailbox->reply_interval)
            shorter = "the reply_interval of a mailbox";
    }
    if (shorter == NULL)
        return 0;
    return config_fail(loader, "policy", "metadata_retention_days",
                       g_strdup_printf("metadata_retention_days (%u days) is shorter than %s: the "
                                       "rows that rule counts would be deleted before it ends",
                                       policy->metadata_retention_days, shorter),
                       error_r);
}

static int config_check_whole(const struct config_loader *loader, struct config *cfg,
                              char **error_r)
{
    if (config_check_account_name(loader, "user", cfg->daemon.user, "user", error_r) < 0 ||
        config_check_account_name(loader, "socket_group", cfg->daemon.socket_group, "group",
                                  error_r) < 0)
        return -1;
    if (cfg->llm.provider == CONFIG_PROVIDER_OPENAI) {
        if (!g_str_has_prefix(cfg->llm.url, "http://") &&
            !g_str_has_prefix(cfg->llm.url, "https://"))
            return config_fail(loader, "llm", "url",
                               g_strdup("provider openai needs an http:// or https:// url"),
                               error_r);
        if (*cfg->llm.model == '\0')
            return config_fail(loader, "llm", "model", g_strdup("provider openai needs a model"),
                               error_r);
    }
    if (cfg->daemon.lease_time <= cfg->llm.timeout + cfg->sendmail.timeout)
        return config_fail(loader, "daemon", "lease_time",
                           g_strdup("lease_time must exceed llm.timeout plus sendmail.timeout"),
                           error_r);
    if (cfg->llm.max_attempts >= cfg->daemon.max_attempts)
        return config_fail(loader, "llm", "max_attempts",
                           g_strdup("llm.max_attempts must be less than daemon.max_attempts, or "
                                    "messages fail before the builtin fallback"),
                           error_r);
    if (cfg->policy.require_auth != CONFIG_REQUIRE_AUTH_NONE &&
        g_strv_length(cfg->policy.trusted_authserv_ids) == 0)
        return config_fail(loader, "policy", "require_auth",
                           g_strdup("require_auth needs trusted_authserv_ids: no "
                                    "Authentication-Results header would be believed"),
                           error_r);
    if (cfg->daemon.retry_max < cfg->daemon.retry_base)
        return config_fail(loader, "daemon", "retry_max",
                           g_strdup("retry_max must not be shorter than retry_base"), error_r);
    if (cfg->mailboxes->len == 0) {
        *error_r = g_strdup_printf("%s: no [mailbox ADDRESS] group: nothing to triage", cfg->path);
        return -1;
    }
    if (config_check_retention(loader, cfg, error_r) < 0)
        return -1;
    return loader->read_named_files ? config_read_api_key(loader, cfg, error_r) : 0;
}

static int config_read_groups(const struct config_loader *loader, struct config *cfg,
                              char **error_r)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_fixed_groups); i++)
        if (config_read_group(loader, config_fixed_groups[i].name, config_fixed_groups[i].keys,
                              (char *)cfg + config_fixed_groups[i].offset, error_r) < 0)
            return -1;

    gsize n_groups = 0;
    char **groups = g_key_file_get_groups(loader->keyfile, &n_groups);
    int result = 0;
    /* Intents first, so that mailboxes can refer to them whatever the order of the file. */
    for (int pass = 0; pass < 2 && result == 0; pass++) {
        for (gsize i = 0; i < n_groups && result == 0; i++) {
            const char *group = groups[i];
            if (pass == 0 && g_str_has_prefix(group, "intent "))
                result = config_read_intent(loader, cfg, group, group + strlen("intent "), error_r);
            else if (pass == 1 && g_str_has_prefix(group, "mailbox "))
                result =
                    config_read_mailbox(loader, cfg, group, group + strlen("mailbox "), error_r);
            else if (pass == 0 && strcmp(group, "daemon") != 0 && strcmp(group, "llm") != 0 &&
                     strcmp(group, "sendmail") != 0 && strcmp(group, "policy") != 0 &&
                     !g_str_has_prefix(group, "intent ") && !g_str_has_prefix(group, "mailbox "))
                result = config_fail(loader, group, NULL,
                                     g_strdup("unknown group (expected daemon, llm, sendmail, "
                                              "policy, mailbox ADDRESS or intent NAME)"),
                                     error_r);
        }
    }
    g_strfreev(groups);
    return result;
}

static struct config *config_load_file(const char *path, gboolean read_named_files, char **error_r)
{
    char *text = NULL;
    gsize len = 0;
    GError *gerror = NULL;

    if (!g_file_get_contents(path, &text, &len, &gerror)) {
        *error_r = g_strdup(gerror->message);
        g_error_free(gerror);
        return NULL;
    }
    if (len > CONFIG_MAX_FILE || !g_utf8_validate(text, (gssize)len, NULL)) {
        *error_r =
            g_strdup_printf("%s: not a UTF-8 text file of at most %d bytes", path, CONFIG_MAX_FILE);
        g_free(text);
        return NULL;
    }

    struct config_loader loader = {path, text, g_key_file_new(), read_named_files};
    struct config *cfg = g_new0(struct config, 1);
    cfg->refcount = 1;
    cfg->path = g_strdup(path);
    cfg->mailboxes = g_ptr_array_new_with_free_func(config_mailbox_free);
    cfg->intents = g_ptr_array_new_with_free_func(config_intent_free);

    int result = 0;
    if (!g_key_file_load_from_data(loader.keyfile, text, len, G_KEY_FILE_NONE, &gerror)) {
        *error_r = g_strdup_printf("%s: %s", path, gerror->message);
        g_error_free(gerror);
        result = -1;
    }
    if (result == 0)
        result = config_check_repeats(&loader, error_r);
    if (result == 0)
        result = config_read_groups(&loader, cfg, error_r);
    if (result == 0)
        result = config_check_whole(&loader, cfg, error_r);
    if (result == 0) {
        char host[256];
        if (*cfg->daemon.hostname != '\0')
            cfg->hostname = g_strdup(cfg->daemon.hostname);
        else if (gethostname(host, sizeof(host)) == 0 && memchr(host, '\0', sizeof(host)))
            cfg->hostname = g_strdup(host);
        else
            cfg->hostname = g_strdup("localhost");
    }
    g_key_file_free(loader.keyfile);
    g_free(text);
    if (result < 0) {
        config_unref(cfg);
        return NULL;
    }
    return cfg;
}

struct config *config_load(const char *path, char **error_r)
{
    return config_load_file(path, TRUE, error_r);
}

struct config *config_load_syntax(const char *path, char **error_r)
{
    return config_load_file(path, FALSE, error_r);
}

struct config *config_ref(struct config *cfg)
{
    g_atomic_int_inc(&cfg->refcount);
    return cfg;
}

void config_unref(struct config *cfg)
{
    if (cfg == NULL || !g_atomic_int_dec_and_test(&cfg->refcount))
        return;
    for (size_t i = 0; i < G_N_ELEMENTS(config_fixed_groups); i++)
        config_types_free_values(config_fixed_groups[i].keys,
                                 (char *)cfg + config_fixed_groups[i].offset);
    g_ptr_array_unref(cfg->mailboxes);
    g_ptr_array_unref(cfg->intents);
    if (cfg->api_key != NULL)
        explicit_bzero(cfg->api_key, strlen(cfg->api_key));
    g_free(cfg->api_key);
    g_free(cfg->hostname);
    g_free(cfg->path);
    g_free(cfg);
}

const struct config_mailbox *config_mailbox_find(const struct config *cfg, const char *address)
{
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        if (g_ascii_strcasecmp(mailbox->address, address) == 0)
            return mailbox;
    }
    return NULL;
}

const struct config_intent *config_intent_find(const struct config *cfg, const char *name)
{
    for (guint i = 0; i < cfg->intents->len; i++) {
        const struct config_intent *intent = g_ptr_array_index(cfg->intents, i);
        if (strcmp(intent->intent, name) == 0)
            return intent;
    }
    return NULL;
}
