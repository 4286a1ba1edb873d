/*
 * mailtriagectl: the administrator's window on the mailtriage queue.
 *
 * SYNOPSIS
 *   mailtriagectl [OPTION...] COMMAND [ARGS] [OPTION...]
 *
 * Options go before or after the command, as with git and systemctl: -c FILE (--config), --json
 * and -V belong to every command, the others to their command, whose --help lists them. The
 * commands are the rows of ctl_commands (name, summary, parameters, options, the function that
 * runs it, and whether it reads or writes the database); `config` has a table of its own, and
 * `draft`, `conversation` and `knowledge` theirs in ctl_draft.c, ctl_conversation.c and
 * knowledge_cmd.c. command.c turns a command line into a row of them; this file runs it.
 *
 * COMMANDS
 *   list [--state STATE] [--limit N]   messages, newest first (the table: 50 unless --limit,
 *                                      then how many were left out; --json: all; 0: all)
 *   show ID                            one message: envelope, state, classification, actions,
 *                                      events

 *   retry ID                           queue a failed, done or held message again
 *   forget ADDRESS                     delete every trace of a correspondent, with counts per
 *                                      table
 *   draft list [--all]                 replies waiting for approval (all: every draft)
 *   draft show ID [--raw]              one draft: its message, state and the reply (decoded,
 *                                      or exactly as it will be sent)
 *   draft approve ID                   send the reply (once) with the null envelope sender
 *   draft reject ID [--reason TEXT]    never send it
 *   conversation list|show|note|stop|resume
 *                                      conversations and their history, a person's note, no
 *                                      automatic reply (stop) and back (resume):
 *                                      ctl_conversation.c
 *   config check [--syntax]|defaults|show|man
 *                                      check the file and what it points at (only the file
 *                                      with --syntax); print every key with its default;
 *                                      print the effective values; print the key table as
 *                                      roff (the body of mailtriage.conf(5))
 *   knowledge list|search TEXT|reindex the mailboxes' documents (knowledge_cmd.h)
 *   health                             the LLM endpoint as the daemon sees it: ok, failing,
 *                                      misconfigured (with the server's words) or circuit
 *                                      breaker open, the budget, the messages waiting;
 *                                      exits 0 ok, 1 degraded, 2 failing, 3 unknown
 *   help [COMMAND]                     the commands, or a command's options
 *
 * Human tables by default; --json prints JSON for scripts. Reading commands open the database
 * read-only; no command creates it (the daemon and the pipe do). The log goes to stderr.
 *
 * EXIT STATUS
 *   0 success, 1 the command failed (no such message, a draft that is not pending, sendmail
 *   failed...), 64 bad usage (unknown command or option, a bad value, a missing or extra
 *   argument), 66 the database does not exist, 75 database busy or sendmail said try later (the
 *   draft stays pending), 78 configuration error. `health` is a Nagios-style check instead: 0
 *   ok, 1 degraded, 2 failing, 3 unknown (no state recorded, or the configuration or database
 *   cannot be read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>
#include <json-c/json.h>

#include "clock.h"
#include "command.h"
#include "config.h"
#include "config_check.h"
#include "config_print.h"
#include "ctl.h"
#include "ctl_compose.h"
#include "ctl_conversation.h"
#include "ctl_draft.h"
#include "db.h"
#include "action.h"
#include "draft.h"
#include "health.h"
#include "knowledge_cmd.h"
#include "log.h"
#include "program.h"
#include "queue.h"
#include "report.h"
#include "store.h"
#include "store_purge.h"
#include "text.h"

/* What a person reads at once; the rest is counted, not shown. */
#define CTL_LIST_DEFAULT_LIMIT 50

struct ctl_options ctl_options = {.limit = -1};

int ctl_db_failure(int status, char *error)
{
    log_error("%s", error);
    g_free(error);
    return status == DB_BUSY ? EX_TEMPFAIL : EX_FAILED;
}

void ctl_print_json(json_object *object)
{
    puts(json_object_to_json_string_ext(object, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                    JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(object);
}

/* The string at KEY of OBJECT, or NULL when it is null or absent. */
const char *ctl_json_text(json_object *object, const char *key)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex(object, key, &value) || value == NULL)
        return NULL;
    return json_object_get_string(value);
}

char *ctl_time(gint64 seconds)
{
    return clock_format_local(seconds, "%Y-%m-%d %H:%M:%S");
}

/* TEXT cut to WIDTH characters for a table cell. */
char *ctl_cell(const char *text, glong width)
{
    char *valid = text_terminal_line(text != NULL ? text : "-");
    if (g_utf8_strlen(valid, -1) <= width)
        return valid;
    char *cut = g_utf8_substring(valid, 0, width - 1);
    char *result = g_strconcat(cut, "~", NULL);
    g_free(cut);
    g_free(valid);
    return result;
}

/* ---- list, show, retry ---- */

static void ctl_print_list_row(json_object *row)
{
    const char *state = ctl_json_text(row, "state");
    const char *envelope = ctl_json_text(row, "envelope_from");
    char *received = ctl_time(json_object_get_int64(json_object_object_get(row, "received_at")));
    char *mailbox = ctl_cell(ctl_json_text(row, "mailbox"), 22);
    char *from = ctl_cell(envelope != NULL && *envelope == '\0' ? "<>" : envelope, 26);
    char *intent = ctl_cell(ctl_json_text(row, "intent"), 15);
    char *action = ctl_cell(ctl_json_text(row, "action"), 16);
    char *subject = ctl_cell(ctl_json_text(row, "subject"), 40);
    printf("%-6" G_GINT64_FORMAT " %-7s %-3d %-19s %-22s %-26s %-15s %-16s %s\n",
           json_object_get_int64(json_object_object_get(row, "id")), state,
           json_object_get_int(json_object_object_get(row, "attempts")), received, mailbox, from,
           intent, action, subject);
    const char *last_error = ctl_json_text(row, "last_error");
    if (last_error != NULL && g_strcmp0(state, "done") != 0) {
        char *why = ctl_cell(last_error, 110);
        printf("       last error: %s\n", why);
        g_free(why);
    }
    g_free(received);
    g_free(mailbox);
    g_free(from);
    g_free(intent);
    g_free(action);
    g_free(subject);
}

static int ctl_list(struct ctl *ctl)
{
    /* A person gets a screenful and is told what is left out; a script gets everything. */
    gint64 limit = ctl->options->limit;
    if (limit < 0)
        limit = ctl->options->json ? 0 : CTL_LIST_DEFAULT_LIMIT;
    const struct report_filter filter = {.state = ctl->options->state};
    json_object *rows = NULL;
    gint64 total = 0;
    char *error = NULL;
    int status = report_list_messages(ctl->db, &filter, limit, &rows, &total, &error);
    if (status != DB_OK)
        return ctl_db_failure(status, error);
    if (ctl->options->json) {
        ctl_print_json(rows);
        return 0;
    }
    printf("%-6s %-7s %-3s %-19s %-22s %-26s %-15s %-16s %s\n", "ID", "STATE", "TRY", "RECEIVED",
           "MAILBOX", "FROM", "INTENT", "ACTION", "SUBJECT");
    gint64 shown = (gint64)json_object_array_length(rows);
    for (gint64 i = 0; i < shown; i++)
        ctl_print_list_row(json_object_array_get_idx(rows, (size_t)i));
    json_object_put(rows);
    if (total > shown)
        printf("... %" G_GINT64_FORMAT " more message%s not shown; use --limit 0 for all, or "
               "--json\n",
               total - shown, total - shown == 1 ? "" : "s");
    return 0;
}

/* The string of VALUE as one clean line: the fields come from mail and from the model. */
char *ctl_line(json_object *value)
{
    return text_terminal_line(json_object_get_string(value));
}

void ctl_print_sources(json_object *sources, const char *indent)
{
    for (size_t i = 0; i < json_object_array_length(sources); i++) {
        json_object *source = json_object_array_get_idx(sources, i);
        const char *path = ctl_json_text(source, "path");
        const char *heading = ctl_json_text(source, "heading");
        char *named = path == NULL
                          ? g_strdup("(not given to the model)")
                          : g_strdup_printf("%s (%s)", heading != NULL ? heading : "", path);
        char *shown = text_terminal_line(named);
        g_free(named);
        printf("%s[%" G_GINT64_FORMAT "] %s\n", indent,
               json_object_get_int64(json_object_object_get(source, "number")), shown);
        g_free(shown);
    }
}

void ctl_print_field(json_object *object, const char *key, const char *label)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex(object, key, &value) || value == NULL)
        return;
    if (strstr(key, "_at") != NULL || strcmp(key, "lease_until") == 0 ||
        strcmp(key, "open_until") == 0 || strcmp(key, "since") == 0) {
        char *when = ctl_time(json_object_get_int64(value));
        printf("%-16s %s\n", label, when);
        g_free(when);
    } else if (strcmp(key, "envelope_from") == 0 && *json_object_get_string(value) == '\0')
        printf("%-16s <>\n", label);
    else {
        char *line = ctl_line(value);
        printf("%-16s %s\n", label, line);
        g_free(line);
    }
}

/* The classification of MESSAGE (report_show_message()), when it has one. */
static void ctl_print_classification(json_object *message)
{
    json_object *c = NULL;
    if (!json_object_object_get_ex(message, "classification", &c) || c == NULL)
        return;
    printf("\nclassification:\n");
    /* The reply's request, second, when there was one (its numbers are 0 when not). */
    static const char *const keys[] = {"intent",
                                       "provider",
                                       "model",
                                       "confidence",
                                       "summary",
                                       "error",
                                       "latency_ms",
                                       "prompt_tokens",
                                       "completion_tokens",
                                       "reply_error",
                                       "reply_hold",
                                       "reply_latency_ms",
                                       "reply_prompt_tokens",
                                       "reply_completion_tokens"};
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        json_object *value = NULL;
        if (!json_object_object_get_ex(c, keys[i], &value) || value == NULL)
            continue;
        if (g_str_has_prefix(keys[i], "reply_") && json_object_is_type(value, json_type_int) &&
            json_object_get_int64(value) == 0)
            continue;
        char *line = ctl_line(value);
        printf("  %-24s %s\n", keys[i], line);
        g_free(line);
    }
    json_object *sources = NULL;
    if (json_object_object_get_ex(c, "reply_sources", &sources) &&
        json_object_is_type(sources, json_type_array)) {
        if (json_object_array_length(sources) == 0)
            printf("  %-24s %s\n", "reply_sources", "none named");
        else
            printf("  reply_sources\n");
        ctl_print_sources(sources, "    ");
    }
}

/* The actions of show; for a shadow action, what would have left. */
static void ctl_print_actions(json_object *list)
{
    printf("\nactions:\n");
    for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
        json_object *a = json_object_array_get_idx(list, i), *v;
        const char *kind = json_object_get_string(json_object_object_get(a, "kind"));
        printf("  %s %s", kind, json_object_get_string(json_object_object_get(a, "state")));
        if ((v = json_object_object_get(a, "recipient")) != NULL)
            printf(" to <%s>", json_object_get_string(v));
        if ((v = json_object_object_get(a, "message_id")) != NULL)
            printf(" message-id <%s>", json_object_get_string(v));
        char *reason = ctl_line(json_object_object_get(a, "reason"));
        printf("\n    reason: %s\n", reason);
        g_free(reason);
        if ((v = json_object_object_get(a, "error")) != NULL) {
            char *error = ctl_line(v);
            printf("    error: %s\n", error);
            g_free(error);
        }
        if ((v = json_object_object_get(a, "shadow_text")) != NULL) {
            printf("    would have sent (mode shadow):\n");
            if (strcmp(kind, "webhook") == 0)
                ctl_print_clean(json_object_get_string(v));
            else
                ctl_print_reply(json_object_get_string(v));
        }
    }
}

static void ctl_print_show(json_object *message)
{
    static const char *const fields[][2] = {
        {"id", "id:"},
        {"state", "state:"},
        {"last_error", "last error:"},
        {"attempts", "attempts:"},
        {"next_attempt_at", "next attempt:"},
        {"intake", "intake:"},
        {"mta_queue_id", "MTA queue id:"},
        {"received_at", "received:"},
        {"mailbox", "mailbox:"},
        {"envelope_from", "envelope from:"},
        {"rcpts", "recipients:"},
        {"from", "from:"},
        {"subject", "subject:"},
        {"message_id", "message-id:"},
        {"conversation", "conversation:"},
        {"size", "size:"},
        {"truncated", "truncated:"},
    };
    json_object *state = json_object_object_get(message, "state");
    gboolean queued = state != NULL && strcmp(json_object_get_string(state), "queued") == 0;
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
        if (queued || strcmp(fields[i][0], "next_attempt_at") != 0)
            ctl_print_field(message, fields[i][0], fields[i][1]);

    ctl_print_classification(message);
    json_object *list = NULL;
    json_object_object_get_ex(message, "actions", &list);
    ctl_print_actions(list);
    json_object_object_get_ex(message, "events", &list);
    printf("\nevents:\n");
    for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);
        char *when = ctl_time(json_object_get_int64(json_object_object_get(e, "time")));
        char *text = ctl_line(json_object_object_get(e, "text"));
        printf("  %s %-7s %s\n", when, json_object_get_string(json_object_object_get(e, "level")),
               text);
        g_free(text);
        g_free(when);
    }
}

static int ctl_show(struct ctl *ctl)
{
    json_object *message = NULL;
    char *error = NULL;
    int found = report_show_message(ctl->db, ctl->line->id, &message, &error);
    if (found < 0)
        return ctl_db_failure(found, error);
    if (found == 0) {
        log_error("no message %" G_GINT64_FORMAT, ctl->line->id);
        return EX_FAILED;
    }
    if (ctl->options->json)
        ctl_print_json(message);
    else {
        ctl_print_show(message);
        json_object_put(message);
    }
    return 0;
}

/* The operator as the audit trail names them: the login name and, under sudo, who ran it (the
 * command is usually run as the mailtriage user). */
char *ctl_operator(void)
{
    const char *user = g_get_user_name();
    const char *sudo_user = g_getenv("SUDO_USER");
    if (sudo_user != NULL && *sudo_user != '\0' && strcmp(sudo_user, user) != 0)
        return g_strdup_printf("%s (sudo %s)", user, sudo_user);
    return g_strdup(user);
}

static int ctl_retry(struct ctl *ctl)
{
    char *error = NULL;
    char *who = ctl_operator();
    int status = queue_retry_now(ctl->db, ctl->line->id, who, &error);
    g_free(who);
    if (status != DB_OK)
        return ctl_db_failure(status, error);
    printf("message %" G_GINT64_FORMAT " queued again\n", ctl->line->id);
    return 0;
}

/* ---- forget: a correspondent's erasure ---- */

/* Is ADDRESS one of ours? Every message names a monitored mailbox among its recipients. */
static gboolean ctl_is_our_address(const struct config *cfg, const char *address)
{
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        if (g_ascii_strcasecmp(mailbox->address, address) == 0 ||
            g_ascii_strcasecmp(mailbox->escalate_to, address) == 0)
            return TRUE;
    }
    return FALSE;
}

static int ctl_forget(struct ctl *ctl)
{
    const char *address = ctl->line->words[0];
    char buf[LOG_ADDR_MAX];
    if (ctl_is_our_address(ctl->cfg, address)) {
        log_error("<%s> is a monitored mailbox or an escalate_to address: forgetting it would "
                  "delete every message",
                  log_addr(address, buf));
        return EX_USAGE;
    }
    struct store_purge_counts n;
    char *error = NULL;
    int status = store_purge_address(ctl->db, address, &n, &error);
    if (status != DB_OK)
        return ctl_db_failure(status, error);
    char *counts = g_strdup_printf(
        "%" G_GINT64_FORMAT " messages, %" G_GINT64_FORMAT " classifications, %" G_GINT64_FORMAT
        " actions, %" G_GINT64_FORMAT " drafts, %" G_GINT64_FORMAT " events, %" G_GINT64_FORMAT
        " bounces, %" G_GINT64_FORMAT " conversations, %" G_GINT64_FORMAT
        " conversation entries, %" G_GINT64_FORMAT " staff messages",
        n.messages, n.classifications, n.actions, n.drafts, n.events, n.bounces, n.conversations,
        n.entries, n.staff);
    char *who = ctl_operator();
    /* The audit trail keeps who did it and how much went, never whom it was about. */
    char *event =
        g_strdup_printf("forget by %s: a correspondent's every trace deleted (%s)", who, counts);
    store_event(ctl->db, 0, "info", event);
    log_audit(0, "forget by %s: every trace of <%s> deleted (%s)", who, log_addr(address, buf),
              counts);
    if (ctl->options->json) {
        json_object *deleted = json_object_new_object();
        static const char *const tables[] = {
            "messages",      "classifications", "actions",       "drafts",
            "events",        "bounces",         "conversations", "conversation_messages",
            "staff_messages"};
        const gint64 values[] = {n.messages, n.classifications, n.actions, n.drafts, n.events,
                                 n.bounces,  n.conversations,   n.entries, n.staff};
        for (size_t i = 0; i < G_N_ELEMENTS(tables); i++)
            json_object_object_add(deleted, tables[i], json_object_new_int64(values[i]));
        json_object *object = json_object_new_object();
        json_object_object_add(object, "address", json_object_new_string(address));
        json_object_object_add(object, "deleted", deleted);
        ctl_print_json(object);
    } else
        printf("every trace of <%s> deleted: %s\n", address, counts);
    g_free(event);
    g_free(who);
    g_free(counts);
    return 0;
}

void ctl_print_clean(const char *text)
{
    char *clean = text_clean_for_terminal(text);
    size_t len = strlen(clean);
    fputs(clean, stdout);
    if (len == 0 || clean[len - 1] != '\n')
        putchar('\n');
    g_free(clean);
}

static int ctl_config_print(void (*print)(GString *out))
{
    GString *out = g_string_new(NULL);
    print(out);
    fputs(out->str, stdout);
    g_string_free(out, TRUE);
    return 0;
}

static int ctl_config_defaults(struct ctl *ctl)
{
    return ctl_config_print(config_print_defaults);
}

static int ctl_config_man(struct ctl *ctl)
{
    return ctl_config_print(config_print_man);
}

/* The configuration of -c, or EX_CONFIG after saying why it is unusable. */
static int ctl_config_load(struct ctl *ctl, struct config **cfg_r)
{
    char *error = NULL;
    *cfg_r = config_load(ctl->config_path, &error);
    if (*cfg_r != NULL)
        return 0;
    log_error("%s", error);
    g_free(error);
    return EX_CONFIG;
}

/* config check: the file and, unless --syntax, what it points at for [daemon] user (or the
 * user running the command), every problem on a line of its own. */
static int ctl_config_check(struct ctl *ctl)
{
    struct config *cfg = NULL;
    GPtrArray *problems =
        config_check_file(ctl->config_path, NULL, ctl->options->syntax_only, &cfg);
    guint errors = config_check_log(problems);
    if (errors == 0 && problems->len == 0)
        printf("%s: configuration OK\n", ctl->config_path);
    else if (errors == 0)
        printf("%s: configuration OK (%u warning%s)\n", ctl->config_path, problems->len,
               problems->len == 1 ? "" : "s");
    g_ptr_array_unref(problems);
    config_unref(cfg);
    return errors == 0 ? 0 : EX_CONFIG;
}

static int ctl_config_show(struct ctl *ctl)
{
    struct config *cfg = NULL;
    int status = ctl_config_load(ctl, &cfg);
    if (status != 0)
        return status;
    GString *out = g_string_new(NULL);
    config_print(cfg, out);
    fputs(out->str, stdout);
    g_string_free(out, TRUE);
    config_unref(cfg);
    return 0;
}

/* ---- health: a Nagios-style check, so every failure to tell is "unknown" (3) ---- */

static void ctl_print_health(json_object *health)
{
    static const char *const fields[][2] = {
        {"state", "state:"},
        {"reason", "last failure:"},
        {"failures", "failures:"},
        {"since", "since:"},
        {"open_until", "next probe at:"},
        {"last_success_at", "last answer:"},
        {"last_failure_at", "failed at:"},
        {"updated_at", "recorded:"},
        {"updated_by", "recorded by:"},
    };
    char *status = g_ascii_strup(ctl_json_text(health, "status"), -1);
    printf("LLM %s - %s\n", status, ctl_json_text(health, "summary"));
    g_free(status);
    printf("%-16s %s (%s, model %s)\n", "endpoint:", ctl_json_text(health, "url"),
           ctl_json_text(health, "provider"), ctl_json_text(health, "model"));
    json_object *endpoint = json_object_object_get(health, "endpoint");
    for (size_t i = 0; endpoint != NULL && i < G_N_ELEMENTS(fields); i++)
        ctl_print_field(endpoint, fields[i][0], fields[i][1]);
    static const char *const limits[][3] = {
        {"tokens_today", "daily_token_budget", "tokens today:"},
        {"requests_last_minute", "max_requests_per_minute", "last minute:"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(limits); i++) {
        gint64 used = json_object_get_int64(json_object_object_get(health, limits[i][0]));
        gint64 limit = json_object_get_int64(json_object_object_get(health, limits[i][1]));
        if (limit > 0)
            printf("%-16s %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT "\n", limits[i][2], used,
                   limit);
        else
            printf("%-16s %" G_GINT64_FORMAT " (no limit)\n", limits[i][2], used);
    }
    printf("%-16s %s message(s)\n", "waiting:", ctl_json_text(health, "waiting"));
}

static int ctl_health(struct ctl *ctl)
{
    char *error = NULL;
    ctl->cfg = config_load(ctl->config_path, &error);
    int status = ctl->cfg != NULL ? db_open_existing(ctl->cfg->daemon.database,
                                                     (int)ctl->cfg->daemon.busy_timeout * 1000,
                                                     DB_READ_ONLY, &ctl->db, &error)
                                  : DB_ERROR;
    json_object *health = NULL;
    if (status == DB_OK)
        status = report_health(ctl->db, ctl->cfg, clock_now(), &health, &error);
    if (status != DB_OK) {
        log_error("cannot tell the LLM endpoint's health: %s", error);
        g_free(error);
        return HEALTH_UNKNOWN;
    }
    int exit_status = json_object_get_int(json_object_object_get(health, "exit_status"));
    if (ctl->options->json)
        ctl_print_json(health);
    else {
        ctl_print_health(health);
        json_object_put(health);
    }
    return exit_status;
}

/* ---- the command line ---- */

static gboolean ctl_option_state(const char *name, const char *value, gpointer data, GError **error)
{
    if (!report_message_state_valid(value)) {
        char *states = g_strjoinv(", ", (char **)report_message_states);
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s must be one of %s, not '%s'", name, states, value);
        g_free(states);
        return FALSE;
    }
    g_free(ctl_options.state);
    ctl_options.state = g_strdup(value);
    return TRUE;
}

gboolean ctl_option_limit(const char *name, const char *value, gpointer data, GError **error)
{
    guint64 limit = 0;
    if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXINT64, &limit, NULL)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s must be a whole number of messages (0: all), not '%s'", name, value);
        return FALSE;
    }
    ctl_options.limit = (gint64)limit;
    return TRUE;
}

static const GOptionEntry ctl_global_options[] = {
    {"config", 'c', 0, G_OPTION_ARG_FILENAME, &ctl_options.config_path,
     "The configuration file (default " CONFIG_DEFAULT_PATH ")", "FILE"},
    {"json", 0, 0, G_OPTION_ARG_NONE, &ctl_options.json, "Print JSON, for scripts", NULL},
    {"version", 'V', 0, G_OPTION_ARG_NONE, &ctl_options.version, "Print the version", NULL},
    {NULL}};
static const GOptionEntry ctl_list_options[] = {
    {"state", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)ctl_option_state,
     "Only the messages in STATE: queued, working, done, failed or held", "STATE"},
    {"limit", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)ctl_option_limit,
     "At most N messages; 0: all (default: 50 in the table, all with --json)", "N"},
    {NULL}};
static const GOptionEntry ctl_config_check_options[] = {
    {"syntax", 0, 0, G_OPTION_ARG_NONE, &ctl_options.syntax_only,
     "Check only the file itself, not the paths, users and groups it names", NULL},
    {NULL}};

static const struct command ctl_config_commands[] = {
    {"check", "Check the configuration file and what it points at", "", ctl_config_check_options,
     ctl_config_check, COMMAND_NO_DATABASE, COMMAND_NO_ARGUMENTS, NULL},
    {"show", "Print the effective configuration", "", NULL, ctl_config_show, COMMAND_NO_DATABASE,
     COMMAND_NO_ARGUMENTS, NULL},
    {"defaults", "Print every key with its default and documentation", "", NULL,
     ctl_config_defaults, COMMAND_NO_DATABASE, COMMAND_NO_ARGUMENTS, NULL},
    {"man", "Print the key table as roff, the body of mailtriage.conf(5)", "", NULL, ctl_config_man,
     COMMAND_NO_DATABASE, COMMAND_NO_ARGUMENTS, NULL},
    {NULL}};
static int ctl_help(struct ctl *ctl);
static const struct command ctl_commands[] = {
    {"list", "The messages, newest first", "", ctl_list_options, ctl_list, COMMAND_READS,
     COMMAND_NO_ARGUMENTS, NULL},
    {"show", "One message: envelope, state, classification, actions and events", "ID", NULL,
     ctl_show, COMMAND_READS, COMMAND_ID, NULL},
    {"retry", "Queue a failed (or done) message again", "ID", NULL, ctl_retry, COMMAND_WRITES,
     COMMAND_ID, NULL},
    {"forget",
     "Delete every trace of a correspondent: messages from or to ADDRESS, with their "
     "classifications, actions, drafts and events, its bounces",
     "ADDRESS", NULL, ctl_forget, COMMAND_WRITES, COMMAND_ADDRESS, NULL},
    {"compose",
     "Have the model write the first message of a conversation, and send it (or file a draft)", "",
     ctl_compose_options, ctl_compose, COMMAND_WRITES, COMMAND_NO_ARGUMENTS, NULL},
    {"draft", "Replies that wait for a person's approval", "COMMAND", NULL, NULL,
     COMMAND_NO_DATABASE, COMMAND_NO_ARGUMENTS, ctl_draft_commands},
    {"conversation", "Conversations: their history, and who answers them", "COMMAND", NULL, NULL,
     COMMAND_NO_DATABASE, COMMAND_NO_ARGUMENTS, ctl_conversation_commands},
    {"config", "The configuration file", "COMMAND", NULL, NULL, COMMAND_NO_DATABASE,
     COMMAND_NO_ARGUMENTS, ctl_config_commands},
    {"knowledge", "The mailboxes' own documents that answers are grounded in", "COMMAND", NULL,
     NULL, COMMAND_NO_DATABASE, COMMAND_NO_ARGUMENTS, knowledge_cmd_commands},
    {"health", "The LLM endpoint's state; exits 0 ok, 1 degraded, 2 failing, 3 unknown", "", NULL,
     ctl_health, COMMAND_NO_DATABASE, COMMAND_NO_ARGUMENTS, NULL},
    {"help", "The commands, or the options of one", "[COMMAND]", NULL, ctl_help,
     COMMAND_NO_DATABASE, COMMAND_WORDS, NULL},
    {NULL}};
static const struct command ctl_program = {
    .name = "",
    .summary = "The administrator's window on the mailtriage queue.",
    .parameters = "COMMAND",
    .options = ctl_global_options,
    .subcommands = ctl_commands,
};

static int ctl_help(struct ctl *ctl)
{
    struct command_line about;
    int status = command_line_find(&ctl_program, ctl->line->words, ctl->line->n_words, &about);
    if (status == 0 && about.depth < ctl->line->n_words) {
        command_usage_error("help", "'%s %s' is not a command", about.name->str,
                            ctl->line->words[about.depth]);
        status = EX_USAGE;
    }
    if (status == 0)
        command_print_help(&about, stdout);
    command_line_clear(&about);
    return status;
}

static int ctl_open_database(struct ctl *ctl, enum command_database use)
{
    char *error = NULL;
    int status =
        db_open_existing(ctl->cfg->daemon.database, (int)ctl->cfg->daemon.busy_timeout * 1000,
                         use == COMMAND_READS ? DB_READ_ONLY : DB_READ_WRITE, &ctl->db, &error);
    if (status == DB_MISSING) {
        /* A typo in -c or in [daemon] database must not pass for an empty queue. */
        log_error("%s; mailtriaged and mailtriage-pipe create the database: is [daemon] database "
                  "in %s right?",
                  error, ctl->config_path);
        g_free(error);
        return EX_NOINPUT;
    }
    return status == DB_OK ? 0 : ctl_db_failure(status, error);
}

static int ctl_run(const struct command *command, struct ctl *ctl)
{
    program_init("mailtriagectl", LOG_TO_STDERR);
    int status = 0;
    if (command->database != COMMAND_NO_DATABASE) {
        ctl->cfg = program_load_config(ctl->config_path, EX_CONFIG);
        status = ctl_open_database(ctl, command->database);
    }
    if (status == 0)
        status = command->run(ctl);
    if (ctl->db != NULL)
        db_close(ctl->db);
    config_unref(ctl->cfg);
    program_done();
    return status;
}

/* After the options: the version, the list of commands, or the command. */
static int ctl_dispatch(struct command_line *line, int argc, char **argv)
{
    if (ctl_options.version) {
        printf("mailtriagectl %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (line->depth == 0) {
        command_print_help(line, stderr);
        return EX_USAGE;
    }
    int status = command_line_arguments(line, argc, argv);
    if (status != 0)
        return status;
    struct ctl ctl = {
        .options = &ctl_options,
        .line = line,
        .config_path =
            ctl_options.config_path != NULL ? ctl_options.config_path : CONFIG_DEFAULT_PATH,
    };
    return ctl_run(line->path[line->depth], &ctl);
}

int main(int argc, char **argv)
{
    struct command_line line;
    int status = command_line_parse(&ctl_program, &argc, &argv, &line);
    if (status == 0)
        status = ctl_dispatch(&line, argc, argv);
    command_line_clear(&line);
    g_free(ctl_options.config_path);
    g_free(ctl_options.state);
    g_free(ctl_options.reason);
    g_free(ctl_options.mailbox);
    ctl_compose_options_free();
    return status;
}
