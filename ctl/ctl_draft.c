/*
 * ctl_draft: the draft commands of mailtriagectl; see ctl_draft.h.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>
#include <json-c/json.h>

#include "action.h"
#include "ctl.h"
#include "ctl_draft.h"
#include "db.h"
#include "draft.h"
#include "log.h"

static void ctl_json_add_string(json_object *object, const char *key, const char *value)
{
    json_object_object_add(object, key, value != NULL ? json_object_new_string(value) : NULL);
}

/* DRAFT as JSON, with the same keys as the human output's fields. */
static json_object *ctl_draft_json(const struct draft *draft)
{
    json_object *object = json_object_new_object();
    json_object_object_add(object, "id", json_object_new_int64(draft->id));
    ctl_json_add_string(object, "state", draft_state_name(draft->state));
    json_object_object_add(object, "message", json_object_new_int64(draft->message));
    ctl_json_add_string(object, "mailbox", draft->mailbox);
    ctl_json_add_string(object, "envelope_from", draft->envelope_from);
    ctl_json_add_string(object, "subject", draft->subject);
    ctl_json_add_string(object, "recipient", draft->recipient);
    ctl_json_add_string(object, "message_id", draft->outgoing_message_id);
    json_object_object_add(object, "created_at", json_object_new_int64(draft->created_at));
    json_object_object_add(object, "decided_at",
                           draft->decided_at > 0 ? json_object_new_int64(draft->decided_at) : NULL);
    ctl_json_add_string(object, "decided_by", draft->decided_by);
    ctl_json_add_string(object, "reason", draft->reason);
    json_object_object_add(object, "sendmail_status",
                           draft->sendmail_status >= 0 ? json_object_new_int(draft->sendmail_status)
                                                       : NULL);
    ctl_json_add_string(object, "error", draft->error);
    if (draft->text != NULL)
        ctl_json_add_string(object, "text", draft->text);
    return object;
}

/* Print TEXT for a terminal: valid UTF-8, line ends as LF, no control characters (a reply
 * written by a model from a stranger's mail may carry escape sequences). */
static void ctl_find_text_plain(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    GMimeTextPart **found = data;
    if (*found == NULL && GMIME_IS_TEXT_PART(part) &&
        g_mime_content_type_is_type(g_mime_object_get_content_type(part), "text", "plain"))
        *found = GMIME_TEXT_PART(part);
}

/* The reply as a person reads it: its main header fields and its text part, decoded. */
void ctl_print_reply(const char *text)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text, strlen(text));
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    if (message == NULL) {
        ctl_print_clean(text);
        return;
    }
    static const char *const headers[] = {"From", "To", "Subject", "Date"};
    for (size_t i = 0; i < G_N_ELEMENTS(headers); i++) {
        const char *value = g_mime_object_get_header(GMIME_OBJECT(message), headers[i]);
        if (value == NULL)
            continue;
        char *decoded = g_mime_utils_header_decode_text(NULL, value);
        char *line = g_strdup_printf("%s: %s", headers[i], decoded);
        for (char *p = line; *p != '\0'; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        ctl_print_clean(line);
        g_free(line);
        g_free(decoded);
    }
    GMimeTextPart *part = NULL;
    g_mime_message_foreach(message, ctl_find_text_plain, &part);
    char *body = part != NULL ? g_mime_text_part_get_text(part) : NULL;
    putchar('\n');
    ctl_print_clean(body != NULL ? body : "(no text/plain part: see draft show --raw)");
    g_free(body);
    g_object_unref(message);
}

static int ctl_draft_failure(int status, char *error)
{
    if (status == ACTION_TRY_LATER)
        log_error("%s; the draft stays pending: approve it again later", error);
    else if (status == DB_BUSY)
        log_error("%s; the database is busy and the draft unchanged: try again", error);
    else
        log_error("%s", error);
    g_free(error);
    return status == ACTION_TRY_LATER || status == DB_BUSY ? EX_TEMPFAIL : EX_FAILED;
}

static int ctl_draft_list(struct ctl *ctl)
{
    GPtrArray *drafts = NULL;
    char *error = NULL;
    int status = draft_list(ctl->db, ctl->options->all, &drafts, &error);
    if (status != DB_OK)
        return ctl_draft_failure(status, error);
    if (ctl->options->json) {
        json_object *rows = json_object_new_array();
        for (guint i = 0; i < drafts->len; i++)
            json_object_array_add(rows, ctl_draft_json(g_ptr_array_index(drafts, i)));
        ctl_print_json(rows);
    } else {
        printf("%-6s %-8s %-19s %-7s %-22s %-26s %s\n", "ID", "STATE", "CREATED", "MESSAGE",
               "MAILBOX", "TO", "SUBJECT");
        for (guint i = 0; i < drafts->len; i++) {
            const struct draft *draft = g_ptr_array_index(drafts, i);
            char *created = ctl_time(draft->created_at);
            char *mailbox = ctl_cell(draft->mailbox, 22);
            char *to = ctl_cell(draft->recipient, 26);
            char *subject = ctl_cell(draft->subject, 40);
            printf("%-6" G_GINT64_FORMAT " %-8s %-19s %-7" G_GINT64_FORMAT " %-22s %-26s %s\n",
                   draft->id, draft_state_name(draft->state), created, draft->message, mailbox, to,
                   subject);
            if (draft->error != NULL && draft->state != DRAFT_SENT) {
                char *why = ctl_cell(draft->error, 110);
                printf("       last error: %s\n", why);
                g_free(why);
            }
            g_free(created);
            g_free(mailbox);
            g_free(to);
            g_free(subject);
        }
    }
    g_ptr_array_unref(drafts);
    return 0;
}

/* Draft ID, or an exit status after saying why there is none. */
static int ctl_draft_get(struct ctl *ctl, gint64 id, struct draft **draft_r)
{
    char *error = NULL;
    int found = draft_get(ctl->db, id, draft_r, &error);
    if (found < 0)
        return ctl_draft_failure(found, error);
    if (found == 0) {
        log_error("no draft %" G_GINT64_FORMAT, id);
        return EX_FAILED;
    }
    return 0;
}

static int ctl_draft_show(struct ctl *ctl)
{
    static const char *const fields[][2] = {
        {"id", "draft:"},
        {"state", "state:"},
        {"error", "last error:"},
        {"message", "message:"},
        {"mailbox", "mailbox:"},
        {"envelope_from", "envelope from:"},
        {"subject", "subject:"},
        {"recipient", "to:"},
        {"message_id", "message-id:"},
        {"created_at", "created:"},
        {"decided_at", "decided:"},
        {"decided_by", "decided by:"},
        {"reason", "reason:"},
        {"sendmail_status", "sendmail status:"},
    };
    struct draft *draft = NULL;
    int status = ctl_draft_get(ctl, ctl->line->id, &draft);
    if (status != 0)
        return status;
    if (ctl->options->raw)
        fputs(draft->text, stdout);
    else if (ctl->options->json)
        ctl_print_json(ctl_draft_json(draft));
    else {
        json_object *object = ctl_draft_json(draft);
        for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
            ctl_print_field(object, fields[i][0], fields[i][1]);
        json_object_put(object);
        printf("\n----- the reply -----\n");
        ctl_print_reply(draft->text);
    }
    draft_free(draft);
    return 0;
}

/* After a decision: the draft again, for --json, or SUMMARY for a person. */
static int ctl_draft_done(struct ctl *ctl, const char *summary)
{
    if (!ctl->options->json) {
        printf("%s\n", summary);
        return 0;
    }
    struct draft *draft = NULL;
    int status = ctl_draft_get(ctl, ctl->line->id, &draft);
    if (status != 0)
        return status;
    g_clear_pointer(&draft->text, g_free);
    ctl_print_json(ctl_draft_json(draft));
    draft_free(draft);
    return 0;
}

static int ctl_draft_approve(struct ctl *ctl)
{
    struct draft *draft = NULL;
    int status = ctl_draft_get(ctl, ctl->line->id, &draft);
    if (status != 0)
        return status;
    char *who = ctl_operator();
    char *error = NULL;
    status = action_approve_draft(ctl->db, ctl->cfg, ctl->line->id, who, &error);
    g_free(who);
    if (status == DB_OK) {
        char *summary =
            g_strdup_printf("draft %" G_GINT64_FORMAT " sent to <%s>, message-id <%s>",
                            ctl->line->id, draft->recipient, draft->outgoing_message_id);
        status = ctl_draft_done(ctl, summary);
        g_free(summary);
    } else
        status = ctl_draft_failure(status, error);
    draft_free(draft);
    return status;
}

static int ctl_draft_reject(struct ctl *ctl)
{
    char *who = ctl_operator();
    char *error = NULL;
    int status = draft_reject(ctl->db, ctl->line->id, who, ctl->options->reason, &error);
    g_free(who);
    if (status != DB_OK)
        return ctl_draft_failure(status, error);
    char *summary =
        g_strdup_printf("draft %" G_GINT64_FORMAT " rejected; it will not be sent", ctl->line->id);
    status = ctl_draft_done(ctl, summary);
    g_free(summary);
    return status;
}

/* ---- config: none of these opens the database ---- */

static const GOptionEntry ctl_draft_list_options[] = {
    {"all", 0, 0, G_OPTION_ARG_NONE, &ctl_options.all,
     "Every draft, also those sent, rejected or failed", NULL},
    {NULL}};
static const GOptionEntry ctl_draft_show_options[] = {
    {"raw", 0, 0, G_OPTION_ARG_NONE, &ctl_options.raw,
     "Only the reply, byte for byte as sendmail will get it", NULL},
    {NULL}};
static const GOptionEntry ctl_draft_reject_options[] = {
    {"reason", 0, 0, G_OPTION_ARG_STRING, &ctl_options.reason, "Why, for the audit trail", "TEXT"},
    {NULL}};

const struct command ctl_draft_commands[] = {
    {"list", "The replies waiting for approval (or sendmail), newest first", "",
     ctl_draft_list_options, ctl_draft_list, COMMAND_READS, COMMAND_NO_ARGUMENTS, NULL},
    {"show", "One draft: its message, its state and the reply", "ID", ctl_draft_show_options,
     ctl_draft_show, COMMAND_READS, COMMAND_ID, NULL},
    {"approve", "Send the reply, once, with the null envelope sender", "ID", NULL,
     ctl_draft_approve, COMMAND_WRITES, COMMAND_ID, NULL},
    {"reject", "Reject the reply: it is never sent", "ID", ctl_draft_reject_options,
     ctl_draft_reject, COMMAND_WRITES, COMMAND_ID, NULL},
    {NULL}};
