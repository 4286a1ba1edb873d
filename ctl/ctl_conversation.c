/*
 * ctl_conversation: the conversation commands of mailtriagectl; see ctl_conversation.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <json-c/json.h>

#include "addr.h"
#include "command.h"
#include "conversation.h"
#include "ctl.h"
#include "ctl_conversation.h"
#include "db.h"
#include "log.h"
#include "staff.h"
#include "store_conversation.h"
#include "text.h"

/* What a person reads at once; the rest is counted, not shown. */
#define CTL_CONVERSATION_LIST_LIMIT 50

/* The options of these commands; GOption writes here. */
static struct {
    char *mailbox;
    char *status;
    char *file;
} ctl_conversation_options;

static gboolean ctl_conversation_option_status(const char *name, const char *value, gpointer data,
                                               GError **error)
{
    enum conversation_status status;
    if (!conversation_status_parse(value, &status)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s must be one of active, stopped, human, not '%s'", name, value);
        return FALSE;
    }
    g_free(ctl_conversation_options.status);
    ctl_conversation_options.status = g_strdup(value);
    return TRUE;
}

static gboolean ctl_conversation_option_mailbox(const char *name, const char *value, gpointer data,
                                                GError **error)
{
    if (!addr_is_safe(value)) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s must be a plain mail address, not '%s'", name, value);
        return FALSE;
    }
    g_free(ctl_conversation_options.mailbox);
    ctl_conversation_options.mailbox = g_strdup(value);
    return TRUE;
}

/* ---- list ---- */

static void ctl_conversation_print_row(json_object *row)
{
    char *updated = ctl_time(json_object_get_int64(json_object_object_get(row, "updated_at")));
    char *mailbox = ctl_cell(ctl_json_text(row, "mailbox"), 22);
    char *counterpart = ctl_cell(ctl_json_text(row, "counterpart"), 26);
    char *subject = ctl_cell(ctl_json_text(row, "subject"), 40);
    printf("%-6" G_GINT64_FORMAT " %-7s %-22s %-26s %4d %-19s %s\n",
           json_object_get_int64(json_object_object_get(row, "id")), ctl_json_text(row, "status"),
           mailbox, counterpart, json_object_get_int(json_object_object_get(row, "messages")),
           updated, subject);
    g_free(updated);
    g_free(mailbox);
    g_free(counterpart);
    g_free(subject);
}

static int ctl_conversation_list(struct ctl *ctl)
{
    gint64 limit = ctl->options->limit;
    if (limit < 0)
        limit = ctl->options->json ? 0 : CTL_CONVERSATION_LIST_LIMIT;
    const struct store_conversation_filter filter = {ctl_conversation_options.mailbox,
                                                     ctl_conversation_options.status};
    json_object *rows = NULL;
    gint64 total = 0;
    char *error = NULL;
    int status = store_conversation_list(ctl->db, &filter, limit, &rows, &total, &error);
    if (status != DB_OK)
        return ctl_db_failure(status, error);
    if (ctl->options->json) {
        ctl_print_json(rows);
        return 0;
    }
    printf("%-6s %-7s %-22s %-26s %4s %-19s %s\n", "ID", "STATUS", "MAILBOX", "COUNTERPART", "MSGS",
           "UPDATED", "SUBJECT");
    gint64 shown = (gint64)json_object_array_length(rows);
    for (gint64 i = 0; i < shown; i++)
        ctl_conversation_print_row(json_object_array_get_idx(rows, (size_t)i));
    json_object_put(rows);
    if (total > shown)
        printf("... %" G_GINT64_FORMAT " more conversation%s not shown; use --limit 0 for all, "
               "or --json\n",
               total - shown, total - shown == 1 ? "" : "s");
    return 0;
}

/* ---- show ---- */

/* One entry of the history: when, who (role and address), what the mail was, its text. */
static void ctl_conversation_print_entry(json_object *entry)
{
    char *when = ctl_time(json_object_get_int64(json_object_object_get(entry, "created_at")));
    char *author = ctl_cell(ctl_json_text(entry, "author"), 60);
    printf("\n%s  %s <%s>", when, ctl_json_text(entry, "role"), author);
    json_object *value = json_object_object_get(entry, "message");
    if (value != NULL)
        printf("  message %" G_GINT64_FORMAT, json_object_get_int64(value));
    const char *message_id = ctl_json_text(entry, "message_id");
    if (message_id != NULL) {
        char *id = ctl_cell(message_id, 100);
        printf("  message-id <%s>", id);
        g_free(id);
    }
    putchar('\n');
    if ((value = json_object_object_get(entry, "sources")) != NULL &&
        json_object_is_type(value, json_type_array) && json_object_array_length(value) > 0) {
        printf("  sources:\n");
        ctl_print_sources(value, "    ");
    }
    const char *text = ctl_json_text(entry, "text");
    char **lines = g_strsplit(text != NULL && *text != '\0' ? text : "(no text)", "\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        char *clean = text_clean_for_terminal(*line);
        printf("    %s\n", clean);
        g_free(clean);
    }
    g_strfreev(lines);
    g_free(author);
    g_free(when);
}

static void ctl_conversation_print_show(json_object *conversation)
{
    static const char *const fields[][2] = {
        {"id", "id:"},
        {"status", "status:"},
        {"mailbox", "mailbox:"},
        {"counterpart", "counterpart:"},
        {"subject", "subject:"},
        {"instructions", "instructions:"},
        {"created_at", "created:"},
        {"updated_at", "updated:"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
        ctl_print_field(conversation, fields[i][0], fields[i][1]);
    json_object *list = json_object_object_get(conversation, "messages");
    printf("%-16s", "messages:");
    for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
        json_object *m = json_object_array_get_idx(list, i);
        printf(" %" G_GINT64_FORMAT " (%s)", json_object_get_int64(json_object_object_get(m, "id")),
               ctl_json_text(m, "state"));
    }
    list = json_object_object_get(conversation, "entries");
    printf("\n\nhistory (%zu):\n", list != NULL ? json_object_array_length(list) : 0);
    for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++)
        ctl_conversation_print_entry(json_object_array_get_idx(list, i));
    list = json_object_object_get(conversation, "events");
    printf("\nevents:\n");
    for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);
        char *when = ctl_time(json_object_get_int64(json_object_object_get(e, "time")));
        char *text = ctl_line(json_object_object_get(e, "text"));
        printf("  %s %-7s %s\n", when, ctl_json_text(e, "level"), text);
        g_free(text);
        g_free(when);
    }
}

static int ctl_conversation_show(struct ctl *ctl)
{
    json_object *conversation = NULL;
    char *error = NULL;
    int found = store_conversation_show(ctl->db, ctl->line->id, &conversation, &error);
    if (found < 0)
        return ctl_db_failure(found, error);
    if (found == 0) {
        log_error("no conversation %" G_GINT64_FORMAT, ctl->line->id);
        return EX_FAILED;
    }
    if (ctl->options->json)
        ctl_print_json(conversation);
    else {
        ctl_conversation_print_show(conversation);
        json_object_put(conversation);
    }
    return 0;
}

/* ---- note, stop, resume ---- */

/* The message of --file (- for stdin) in *TEXT_R, at most MAX bytes: 0, or an exit status. */
static int ctl_conversation_read_file(const char *path, guint64 max, GString **text_r)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (in == NULL) {
        log_error("%s: %s", path, g_strerror(errno));
        return EX_NOINPUT;
    }
    GString *text = g_string_new(NULL);
    char buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof(buffer), in)) > 0 && text->len <= max)
        g_string_append_len(text, buffer, (gssize)n);
    gboolean failed = ferror(in) != 0;
    if (in != stdin)
        fclose(in);
    if (failed)
        log_error("%s: cannot read it", path);
    else if (text->len > max)
        log_error("%s: larger than [daemon] max_message_size (%" G_GUINT64_FORMAT " bytes)", path,
                  max);
    else if (text->len == 0)
        log_error("%s: empty", path);
    if (failed || text->len > max || text->len == 0) {
        g_string_free(text, TRUE);
        return EX_FAILED;
    }
    *text_r = text;
    return 0;
}

static int ctl_conversation_note(struct ctl *ctl)
{
    if (ctl_conversation_options.file == NULL) {
        command_usage_error(ctl->line->name->str, "missing --file MSG (- for stdin)");
        return EX_USAGE;
    }
    GString *text = NULL;
    int status = ctl_conversation_read_file(ctl_conversation_options.file,
                                            ctl->cfg->daemon.max_message_size, &text);
    if (status != 0)
        return status;
    char *who = ctl_operator();
    char *error = NULL;
    status = staff_note(ctl->db, ctl->line->id, text->str, text->len, who, &error);
    g_free(who);
    g_string_free(text, TRUE);
    if (status != DB_OK)
        return ctl_db_failure(status, error);
    printf("conversation %" G_GINT64_FORMAT ": note added; handled by a person (no automatic "
           "reply until mailtriagectl conversation resume %" G_GINT64_FORMAT ")\n",
           ctl->line->id, ctl->line->id);
    return 0;
}

static int ctl_conversation_decide(struct ctl *ctl, enum conversation_status status)
{
    char *who = ctl_operator();
    char *error = NULL;
    enum conversation_status old = CONVERSATION_ACTIVE;
    gint64 id = ctl->line->id;
    int found = store_conversation_decide(ctl->db, id, status, who, &old, &error);
    if (found == 1)
        log_audit(0, "conversation %" G_GINT64_FORMAT " %s by %s (it was %s)", id,
                  status == CONVERSATION_ACTIVE ? "resumed" : "stopped", who,
                  conversation_status_name(old));
    g_free(who);
    if (found < 0)
        return ctl_db_failure(found, error);
    if (found == 0) {
        log_error("no conversation %" G_GINT64_FORMAT, id);
        return EX_FAILED;
    }
    printf("conversation %" G_GINT64_FORMAT " %s (it was %s)\n", id,
           status == CONVERSATION_ACTIVE ? "resumed: answered automatically again"
                                         : "stopped: no automatic reply",
           conversation_status_name(old));
    return 0;
}

static int ctl_conversation_stop(struct ctl *ctl)
{
    return ctl_conversation_decide(ctl, CONVERSATION_STOPPED);
}

static int ctl_conversation_resume(struct ctl *ctl)
{
    return ctl_conversation_decide(ctl, CONVERSATION_ACTIVE);
}

static const GOptionEntry ctl_conversation_list_options[] = {
    {"mailbox", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)ctl_conversation_option_mailbox,
     "Only the conversations of mailbox M", "M"},
    {"status", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)ctl_conversation_option_status,
     "Only those in status S: active, stopped or human", "S"},
    {"limit", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer)ctl_option_limit,
     "At most N conversations; 0: all (default: 50 in the table, all with --json)", "N"},
    {NULL}};
static const GOptionEntry ctl_conversation_note_options[] = {
    {"file", 0, 0, G_OPTION_ARG_FILENAME, &ctl_conversation_options.file,
     "The message a person wrote (RFC 5322), - for stdin", "MSG"},
    {NULL}};

const struct command ctl_conversation_commands[] = {
    {"list", "The conversations, the latest updated first", "", ctl_conversation_list_options,
     ctl_conversation_list, COMMAND_READS, COMMAND_NO_ARGUMENTS, NULL},
    {"show", "One conversation and its whole history", "ID", NULL, ctl_conversation_show,
     COMMAND_READS, COMMAND_ID, NULL},
    {"note", "Add what a person wrote; the conversation is then handled by a person", "ID",
     ctl_conversation_note_options, ctl_conversation_note, COMMAND_WRITES, COMMAND_ID, NULL},
    {"stop", "No automatic reply in this conversation any more", "ID", NULL, ctl_conversation_stop,
     COMMAND_WRITES, COMMAND_ID, NULL},
    {"resume", "Answer this conversation automatically again", "ID", NULL, ctl_conversation_resume,
     COMMAND_WRITES, COMMAND_ID, NULL},
    {NULL}};
