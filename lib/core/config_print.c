/*
 * config_print: sample file, effective values and man page from the key tables; see
 * config_print.h.
 */
#include <string.h>

#include <glib.h>

#include "config.h"
#include "config_print.h"
#include "config_types.h"
#include "redact.h"

/* A group of the file: fixed ones, or a prefix followed by a name ("mailbox ADDRESS"). */
struct config_print_group {
    const char *name;
    const struct config_key *keys;
    const char *doc;
    const char *sample_name; /* for prefixed groups: the name shown in samples */
};

static const struct config_print_group config_print_groups[] = {
    {"daemon", config_types_daemon_keys, "The daemon, the queue and the database.", NULL},
    {"llm", config_types_llm_keys, "The classifier.", NULL},
    {"sendmail", config_types_sendmail_keys, "How replies and escalations leave.", NULL},
    {"policy", config_types_policy_keys,
     "When an automatic reply may go out (beyond RFC 3834, always on).", NULL},
    {"mailbox", config_types_mailbox_keys, "One group per monitored mailbox: [mailbox ADDRESS].",
     "support@example.org"},
    {"intent", config_types_intent_keys, "One group per intent: [intent NAME].", "send_info"},
};

/* TEXT after PREFIX, in lines of at most 78 columns where its words allow. */
static void config_print_wrapped(GString *out, const char *prefix, const char *text)
{
    const size_t width = 78;
    size_t column = 0;
    char **words = g_strsplit(text, " ", -1);

    for (int i = 0; words[i] != NULL; i++) {
        size_t len = strlen(words[i]);
        if (column == 0) {
            g_string_append(out, prefix);
            column = strlen(prefix);
        } else if (column + 1 + len > width) {
            g_string_append_printf(out, "\n%s", prefix);
            column = strlen(prefix);
        } else {
            g_string_append_c(out, ' ');
            column++;
        }
        g_string_append(out, words[i]);
        column += len;
    }
    g_string_append_c(out, '\n');
    g_strfreev(words);
}

static void config_print_group_defaults(GString *out, const struct config_print_group *group)
{
    if (group->sample_name != NULL)
        g_string_append_printf(out, "# %s\n[%s %s]\n", group->doc, group->name, group->sample_name);
    else
        g_string_append_printf(out, "# %s\n[%s]\n", group->doc, group->name);
    for (const struct config_key *key = group->keys; key->name != NULL; key++) {
        config_print_wrapped(out, "# ", key->doc);
        g_string_append_printf(out, "#%s =%s%s\n", key->name, *key->def != '\0' ? " " : "",
                               key->def);
    }
    g_string_append_c(out, '\n');
}

void config_print_defaults(GString *out)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_print_groups); i++)
        config_print_group_defaults(out, &config_print_groups[i]);
}

/* VALUE on one line as GKeyFile reads it back: a persona from its file or a signature with \n
 * holds line breaks. */
static void config_print_escaped(GString *out, const char *value)
{
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '\n')
            g_string_append(out, "\\n");
        else if (*p == '\r')
            g_string_append(out, "\\r");
        else if (*p == '\\')
            g_string_append(out, "\\\\");
        else
            g_string_append_c(out, *p);
    }
    g_string_append_c(out, '\n');
}

static void config_print_values(GString *out, const char *header, const struct config_key *keys,
                                const void *base)
{
    g_string_append_printf(out, "[%s]\n", header);
    for (const struct config_key *key = keys; key->name != NULL; key++) {
        char *value = config_types_format(key, base);
        /* [llm] url and webhook_url may carry a user name and password: shown as ***. The
         * API key itself is never a value here, only the name of its file. */
        if (strstr(value, "://") != NULL) {
            char *shown = redact_url(value);
            g_free(value);
            value = shown;
        }
        g_string_append_printf(out, "%s = ", key->name);
        config_print_escaped(out, value);
        g_free(value);
    }
    g_string_append_c(out, '\n');
}

void config_print(const struct config *cfg, GString *out)
{
    config_print_values(out, "daemon", config_types_daemon_keys, &cfg->daemon);
    config_print_values(out, "llm", config_types_llm_keys, &cfg->llm);
    config_print_values(out, "sendmail", config_types_sendmail_keys, &cfg->sendmail);
    config_print_values(out, "policy", config_types_policy_keys, &cfg->policy);
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        char *header = g_strdup_printf("mailbox %s", mailbox->address);
        config_print_values(out, header, config_types_mailbox_keys, mailbox);
        g_free(header);
    }
    for (guint i = 0; i < cfg->intents->len; i++) {
        const struct config_intent *intent = g_ptr_array_index(cfg->intents, i);
        char *header = g_strdup_printf("intent %s", intent->intent);
        config_print_values(out, header, config_types_intent_keys, intent);
        g_free(header);
    }
}

/* TEXT in roff, where a leading . or ' would be a request and \ and - mean something else. */
static void config_print_roff(GString *out, const char *text)
{
    if (*text == '.' || *text == '\'')
        g_string_append(out, "\\&");
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\\')
            g_string_append(out, "\\e");
        else if (*p == '-')
            g_string_append(out, "\\-");
        else
            g_string_append_c(out, *p);
    }
}

void config_print_man(GString *out)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_print_groups); i++) {
        const struct config_print_group *group = &config_print_groups[i];
        if (group->sample_name != NULL)
            g_string_append_printf(out, ".SS [%s %s]\n", group->name,
                                   strcmp(group->name, "mailbox") == 0 ? "ADDRESS" : "NAME");
        else
            g_string_append_printf(out, ".SS [%s]\n", group->name);
        config_print_roff(out, group->doc);
        g_string_append_c(out, '\n');
        for (const struct config_key *key = group->keys; key->name != NULL; key++) {
            g_string_append_printf(out, ".TP\n.B %s\n(%s", key->name, config_types_doc_name(key));
            g_string_append(out, ", default \\(lq");
            config_print_roff(out, key->def);
            g_string_append(out, "\\(rq)\n");
            config_print_roff(out, key->doc);
            g_string_append_c(out, '\n');
        }
    }
}
