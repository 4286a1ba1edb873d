/*
 * mailtriagectl: the administrator's window on the mailtriage queue.
 *
 * SYNOPSIS
 *   mailtriagectl [-c CONF] [--json] COMMAND [ARGS]
 *
 * COMMANDS
 *   list [--state STATE] [--limit N]   messages, newest first
 *   show ID                            one message: envelope, state, classification, actions,
 *                                      events
 *   retry ID                           queue a failed (or done) message again
 *   draft list [--all]                 replies waiting for approval (all: every draft)
 *   draft show ID [--raw]              one draft: its message, state and the reply (decoded,
 *                                      or exactly as it will be sent)
 *   draft approve ID                   send the reply (once) with the null envelope sender
 *   draft reject ID [--reason TEXT]    never send it
 *   config check|defaults|show|man     check the file; print every key with its default;
 *                                      print the effective values; print the key table as
 *                                      roff (the body of mailtriage.conf(5))
 *
 * Human tables by default; --json prints JSON for scripts. The log goes to stderr.
 *
 * EXIT STATUS
 *   0 success, 1 the command failed (no such message, a draft that is not pending, sendmail
 *   failed...), 64 bad usage, 75 database busy or sendmail said try later (the draft stays
 *   pending), 78 configuration error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <gmime/gmime.h>
#include <json-c/json.h>

#include "config.h"
#include "db.h"
#include "draft.h"
#include "log.h"
#include "program.h"
#include "queue.h"

#define EX_FAILED 1
#define EX_USAGE 64
#define EX_TEMPFAIL 75
#define EX_CONFIG 78

struct ctl {
    char *config_path;
    gboolean json;
    struct config *cfg;
    sqlite3 *db;
};

struct ctl_command {
    const char *name;
    const char *usage;
    int (*run)(struct ctl *ctl, int argc, char **argv);
    gboolean needs_db;
};

static int ctl_usage(const char *usage)
{
    fprintf(stderr, "usage: mailtriagectl [-c CONF] [--json] %s\n", usage);
    return EX_USAGE;
}

static int ctl_db_failure(int status, char *error)
{
    log_error("%s", error);
    g_free(error);
    return status == DB_BUSY ? EX_TEMPFAIL : EX_FAILED;
}

static void ctl_print_json(json_object *object)
{
    puts(json_object_to_json_string_ext(object, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                    JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(object);
}

/* Column I of STMT as a JSON value of its own type. */
static json_object *ctl_json_column(sqlite3_stmt *stmt, int i)
{
    switch (sqlite3_column_type(stmt, i)) {
    case SQLITE_INTEGER:
        return json_object_new_int64(sqlite3_column_int64(stmt, i));
    case SQLITE_FLOAT:
        return json_object_new_double(sqlite3_column_double(stmt, i));
    case SQLITE_TEXT:
        return json_object_new_string((const char *)sqlite3_column_text(stmt, i));
    default:
        return NULL;
    }
}

/* Every row of STMT as a JSON object, keyed by column name. */
static json_object *ctl_json_rows(sqlite3_stmt *stmt, int *rc_r)
{
    json_object *rows = json_object_new_array();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_object *row = json_object_new_object();
        for (int i = 0; i < sqlite3_column_count(stmt); i++)
            json_object_object_add(row, sqlite3_column_name(stmt, i), ctl_json_column(stmt, i));
        json_object_array_add(rows, row);
    }
    *rc_r = rc;
    return rows;
}

static char *ctl_time(gint64 seconds)
{
    GDateTime *time = g_date_time_new_from_unix_local(seconds);
    char *text = g_date_time_format(time, "%Y-%m-%d %H:%M:%S");
    g_date_time_unref(time);
    return text;
}

/* TEXT cut to WIDTH characters for a table cell. */
static char *ctl_cell(const unsigned char *text, glong width)
{
    char *valid = g_utf8_make_valid(text != NULL ? (const char *)text : "-", -1);
    for (char *p = valid; *p != '\0'; p++)
        if ((unsigned char)*p < ' ')
            *p = ' ';
    if (g_utf8_strlen(valid, -1) <= width)
        return valid;
    char *cut = g_utf8_substring(valid, 0, width - 1);
    char *result = g_strconcat(cut, "~", NULL);
    g_free(cut);
    g_free(valid);
    return result;
}

static const char ctl_list_sql[] =
    "SELECT m.id, m.state, m.attempts, m.received_at, m.mailbox, m.envelope_from,"
    " m.from_addr, m.subject, m.message_id, m.last_error,"
    " (SELECT intent FROM classifications c WHERE c.message = m.id ORDER BY c.id DESC LIMIT 1)"
    "   AS intent,"
    " (SELECT kind || ' ' || state FROM actions a WHERE a.message = m.id ORDER BY a.id DESC"
    "   LIMIT 1) AS action"
    " FROM messages m WHERE (?1 IS NULL OR m.state = ?1) ORDER BY m.id DESC LIMIT ?2";

static int ctl_list(struct ctl *ctl, int argc, char **argv)
{
    const char *state = NULL;
    gint64 limit = 50;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
            state = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = g_ascii_strtoll(argv[++i], NULL, 10);
        else
            return ctl_usage("list [--state queued|working|done|failed|held] [--limit N]");
    }
    char *error = NULL;
    sqlite3_stmt *stmt = db_prepare(ctl->db, ctl_list_sql, &error);
    if (stmt == NULL)
        return ctl_db_failure(DB_ERROR, error);
    db_bind_text(stmt, 1, state);
    sqlite3_bind_int64(stmt, 2, limit > 0 ? limit : 50);

    int rc;
    if (ctl->json) {
        json_object *rows = ctl_json_rows(stmt, &rc);
        if (rc == SQLITE_DONE)
            ctl_print_json(rows);
        else
            json_object_put(rows);
    } else {
        printf("%-6s %-7s %-3s %-19s %-22s %-26s %-15s %-14s %s\n", "ID", "STATE", "TRY",
               "RECEIVED", "MAILBOX", "FROM", "INTENT", "ACTION", "SUBJECT");
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            char *received = ctl_time(sqlite3_column_int64(stmt, 3));
            char *mailbox = ctl_cell(sqlite3_column_text(stmt, 4), 22);
            const unsigned char *envelope = sqlite3_column_text(stmt, 5);
            char *from = ctl_cell(
                envelope != NULL && *envelope == '\0' ? (const unsigned char *)"<>" : envelope, 26);
            char *intent = ctl_cell(sqlite3_column_text(stmt, 10), 15);
            char *action = ctl_cell(sqlite3_column_text(stmt, 11), 14);
            char *subject = ctl_cell(sqlite3_column_text(stmt, 7), 40);
            printf("%-6lld %-7s %-3d %-19s %-22s %-26s %-15s %-14s %s\n",
                   (long long)sqlite3_column_int64(stmt, 0), sqlite3_column_text(stmt, 1),
                   sqlite3_column_int(stmt, 2), received, mailbox, from, intent, action, subject);
            if (sqlite3_column_type(stmt, 9) != SQLITE_NULL &&
                strcmp((const char *)sqlite3_column_text(stmt, 1), "done") != 0) {
                char *why = ctl_cell(sqlite3_column_text(stmt, 9), 110);
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
    }
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE)
        return ctl_db_failure(db_status_of(rc), db_error(ctl->db, "list"));
    return 0;
}

/* The rows of SQL (with ?1 bound to ID) as a JSON array, or NULL on error. */
static json_object *ctl_query(struct ctl *ctl, const char *sql, gint64 id, int *status_r,
                              char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(ctl->db, sql, error_r);
    if (stmt == NULL) {
        *status_r = DB_ERROR;
        return NULL;
    }
    sqlite3_bind_int64(stmt, 1, id);
    int rc;
    json_object *rows = ctl_json_rows(stmt, &rc);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        json_object_put(rows);
        *error_r = db_error(ctl->db, "show");
        *status_r = db_status_of(rc);
        return NULL;
    }
    return rows;
}

static const char ctl_show_message_sql[] =
    "SELECT id, state, intake, mta_queue_id, mailbox, envelope_from, rcpts, client_addr, helo,"
    " from_addr AS \"from\", subject, message_id, in_reply_to, received_at, size, truncated,"
    " attempts, llm_failures, next_attempt_at, lease_until, last_error FROM messages"
    " WHERE id = ?1";
static const char ctl_show_classification_sql[] =
    "SELECT provider, model, intent, confidence, summary, reply, valid, error, latency_ms,"
    " prompt_tokens, completion_tokens FROM classifications WHERE message = ?1"
    " ORDER BY id DESC LIMIT 1";
static const char ctl_show_actions_sql[] =
    "SELECT kind, state, reason, recipient, envelope_sender,"
    " outgoing_message_id AS message_id, sendmail_status, error, created_at, sent_at"
    " FROM actions WHERE message = ?1 ORDER BY id";
static const char ctl_show_events_sql[] =
    "SELECT time, level, text FROM events WHERE message = ?1 ORDER BY id";

static void ctl_print_field(json_object *object, const char *key, const char *label)
{
    json_object *value = NULL;
    if (!json_object_object_get_ex(object, key, &value) || value == NULL)
        return;
    if (strstr(key, "_at") != NULL || strcmp(key, "lease_until") == 0) {
        char *when = ctl_time(json_object_get_int64(value));
        printf("%-16s %s\n", label, when);
        g_free(when);
    } else if (strcmp(key, "envelope_from") == 0 && *json_object_get_string(value) == '\0')
        printf("%-16s <>\n", label);
    else
        printf("%-16s %s\n", label, json_object_get_string(value));
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
        {"size", "size:"},
        {"truncated", "truncated:"},
    };
    json_object *state = json_object_object_get(message, "state");
    gboolean queued = state != NULL && strcmp(json_object_get_string(state), "queued") == 0;
    for (size_t i = 0; i < G_N_ELEMENTS(fields); i++)
        if (queued || strcmp(fields[i][0], "next_attempt_at") != 0)
            ctl_print_field(message, fields[i][0], fields[i][1]);

    json_object *c = NULL;
    if (json_object_object_get_ex(message, "classification", &c) && c != NULL) {
        printf("\nclassification:\n");
        static const char *const keys[] = {"intent",     "provider",      "model",
                                           "confidence", "summary",       "error",
                                           "latency_ms", "prompt_tokens", "completion_tokens"};
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
            json_object *value = NULL;
            if (json_object_object_get_ex(c, keys[i], &value) && value != NULL)
                printf("  %-18s %s\n", keys[i], json_object_get_string(value));
        }
    }
    json_object *list = NULL;
    json_object_object_get_ex(message, "actions", &list);
    printf("\nactions:\n");
    for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
        json_object *a = json_object_array_get_idx(list, i), *v;
        printf("  %s %s", json_object_get_string(json_object_object_get(a, "kind")),
               json_object_get_string(json_object_object_get(a, "state")));
        if ((v = json_object_object_get(a, "recipient")) != NULL)
            printf(" to <%s>", json_object_get_string(v));
        if ((v = json_object_object_get(a, "message_id")) != NULL)
            printf(" message-id <%s>", json_object_get_string(v));
        printf("\n    reason: %s\n", json_object_get_string(json_object_object_get(a, "reason")));
        if ((v = json_object_object_get(a, "error")) != NULL)
            printf("    error: %s\n", json_object_get_string(v));
    }
    json_object_object_get_ex(message, "events", &list);
    printf("\nevents:\n");
    for (size_t i = 0; list != NULL && i < json_object_array_length(list); i++) {
        json_object *e = json_object_array_get_idx(list, i);
        char *when = ctl_time(json_object_get_int64(json_object_object_get(e, "time")));
        printf("  %s %-7s %s\n", when, json_object_get_string(json_object_object_get(e, "level")),
               json_object_get_string(json_object_object_get(e, "text")));
        g_free(when);
    }
}

static int ctl_parse_id(const char *text, gint64 *id_r)
{
    char *end;
    *id_r = g_ascii_strtoll(text, &end, 10);
    return end != text && *end == '\0' && *id_r > 0 ? 0 : -1;
}

static int ctl_show(struct ctl *ctl, int argc, char **argv)
{
    gint64 id;
    if (argc != 2 || ctl_parse_id(argv[1], &id) < 0)
        return ctl_usage("show ID");
    int status = DB_OK;
    char *error = NULL;
    json_object *messages = ctl_query(ctl, ctl_show_message_sql, id, &status, &error);
    if (messages == NULL)
        return ctl_db_failure(status, error);
    if (json_object_array_length(messages) == 0) {
        json_object_put(messages);
        log_error("no message %" G_GINT64_FORMAT, id);
        return EX_FAILED;
    }
    json_object *message = json_object_get(json_object_array_get_idx(messages, 0));
    json_object_put(messages);

    json_object *classification = ctl_query(ctl, ctl_show_classification_sql, id, &status, &error);
    json_object *actions =
        classification != NULL ? ctl_query(ctl, ctl_show_actions_sql, id, &status, &error) : NULL;
    json_object *events =
        actions != NULL ? ctl_query(ctl, ctl_show_events_sql, id, &status, &error) : NULL;
    if (events == NULL) {
        json_object_put(message);
        json_object_put(classification);
        json_object_put(actions);
        return ctl_db_failure(status, error);
    }
    json_object_object_add(message, "classification",
                           json_object_array_length(classification) > 0
                               ? json_object_get(json_object_array_get_idx(classification, 0))
                               : NULL);
    json_object_put(classification);
    json_object_object_add(message, "actions", actions);
    json_object_object_add(message, "events", events);
    if (ctl->json)
        ctl_print_json(message);
    else {
        ctl_print_show(message);
        json_object_put(message);
    }
    return 0;
}

static char *ctl_operator(void);

static int ctl_retry(struct ctl *ctl, int argc, char **argv)
{
    gint64 id;
    if (argc != 2 || ctl_parse_id(argv[1], &id) < 0)
        return ctl_usage("retry ID");
    char *error = NULL;
    char *who = ctl_operator();
    int status = queue_retry_now(ctl->db, id, who, &error);
    g_free(who);
    if (status != DB_OK)
        return ctl_db_failure(status, error);
    printf("message %" G_GINT64_FORMAT " queued again\n", id);
    return 0;
}

/* ---- drafts ---- */

/* The operator as the audit trail names them: the login name and, under sudo, who ran it (the
 * command is usually run as the mailtriage user). */
static char *ctl_operator(void)
{
    const char *user = g_get_user_name();
    const char *sudo_user = g_getenv("SUDO_USER");
    if (sudo_user != NULL && *sudo_user != '\0' && strcmp(sudo_user, user) != 0)
        return g_strdup_printf("%s (sudo %s)", user, sudo_user);
    return g_strdup(user);
}

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
static void ctl_print_clean(const char *text)
{
    char *valid = g_utf8_make_valid(text, -1);
    GString *out = g_string_sized_new(strlen(valid) + 1);
    for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c == '\r' && p[1] == '\n')
            continue;
        if (c != '\n' && c != '\t' && g_unichar_iscntrl(c))
            g_string_append_c(out, '?');
        else
            g_string_append_unichar(out, c);
    }
    if (out->len == 0 || out->str[out->len - 1] != '\n')
        g_string_append_c(out, '\n');
    fputs(out->str, stdout);
    g_string_free(out, TRUE);
    g_free(valid);
}

static void ctl_find_text_plain(GMimeObject *parent, GMimeObject *part, gpointer data)
{
    GMimeTextPart **found = data;
    if (*found == NULL && GMIME_IS_TEXT_PART(part) &&
        g_mime_content_type_is_type(g_mime_object_get_content_type(part), "text", "plain"))
        *found = GMIME_TEXT_PART(part);
}

/* The reply as a person reads it: its main header fields and its text part, decoded. */
static void ctl_print_reply(const char *text)
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
    if (status == DRAFT_TRY_LATER)
        log_error("%s; the draft stays pending: approve it again later", error);
    else if (status == DB_BUSY)
        log_error("%s; the database is busy and the draft unchanged: try again", error);
    else
        log_error("%s", error);
    g_free(error);
    return status == DRAFT_TRY_LATER || status == DB_BUSY ? EX_TEMPFAIL : EX_FAILED;
}

static int ctl_draft_list(struct ctl *ctl, int argc, char **argv)
{
    gboolean all = FALSE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0)
            all = TRUE;
        else
            return ctl_usage("draft list [--all]");
    }
    GPtrArray *drafts = NULL;
    char *error = NULL;
    int status = draft_list(ctl->db, all, &drafts, &error);
    if (status != DB_OK)
        return ctl_draft_failure(status, error);
    if (ctl->json) {
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
            char *mailbox = ctl_cell((const unsigned char *)draft->mailbox, 22);
            char *to = ctl_cell((const unsigned char *)draft->recipient, 26);
            char *subject = ctl_cell((const unsigned char *)draft->subject, 40);
            printf("%-6" G_GINT64_FORMAT " %-8s %-19s %-7" G_GINT64_FORMAT " %-22s %-26s %s\n",
                   draft->id, draft_state_name(draft->state), created, draft->message, mailbox, to,
                   subject);
            if (draft->error != NULL && draft->state != DRAFT_SENT) {
                char *why = ctl_cell((const unsigned char *)draft->error, 110);
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

static int ctl_draft_show(struct ctl *ctl, int argc, char **argv)
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
    gint64 id = 0;
    gboolean raw = FALSE;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--raw") == 0)
            raw = TRUE;
        else if (id != 0 || ctl_parse_id(argv[i], &id) < 0)
            return ctl_usage("draft show ID [--raw]");
    }
    if (id == 0)
        return ctl_usage("draft show ID [--raw]");
    struct draft *draft = NULL;
    int status = ctl_draft_get(ctl, id, &draft);
    if (status != 0)
        return status;
    if (raw)
        fputs(draft->text, stdout);
    else if (ctl->json)
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
static int ctl_draft_done(struct ctl *ctl, gint64 id, const char *summary)
{
    if (!ctl->json) {
        printf("%s\n", summary);
        return 0;
    }
    struct draft *draft = NULL;
    int status = ctl_draft_get(ctl, id, &draft);
    if (status != 0)
        return status;
    g_clear_pointer(&draft->text, g_free);
    ctl_print_json(ctl_draft_json(draft));
    draft_free(draft);
    return 0;
}

static int ctl_draft_approve(struct ctl *ctl, int argc, char **argv)
{
    gint64 id;
    if (argc != 2 || ctl_parse_id(argv[1], &id) < 0)
        return ctl_usage("draft approve ID");
    struct draft *draft = NULL;
    int status = ctl_draft_get(ctl, id, &draft);
    if (status != 0)
        return status;
    char *who = ctl_operator();
    char *error = NULL;
    status = draft_approve(ctl->db, ctl->cfg, id, who, &error);
    g_free(who);
    if (status == DB_OK) {
        char *summary = g_strdup_printf("draft %" G_GINT64_FORMAT " sent to <%s>, message-id <%s>",
                                        id, draft->recipient, draft->outgoing_message_id);
        status = ctl_draft_done(ctl, id, summary);
        g_free(summary);
    } else
        status = ctl_draft_failure(status, error);
    draft_free(draft);
    return status;
}

static int ctl_draft_reject(struct ctl *ctl, int argc, char **argv)
{
    gint64 id = 0;
    const char *reason = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
            reason = argv[++i];
        else if (id != 0 || ctl_parse_id(argv[i], &id) < 0)
            return ctl_usage("draft reject ID [--reason TEXT]");
    }
    if (id == 0)
        return ctl_usage("draft reject ID [--reason TEXT]");
    char *who = ctl_operator();
    char *error = NULL;
    int status = draft_reject(ctl->db, id, who, reason, &error);
    g_free(who);
    if (status != DB_OK)
        return ctl_draft_failure(status, error);
    char *summary = g_strdup_printf("draft %" G_GINT64_FORMAT " rejected; it will not be sent", id);
    status = ctl_draft_done(ctl, id, summary);
    g_free(summary);
    return status;
}

static const struct ctl_command ctl_draft_commands[] = {
    {"list", "draft list [--all]", ctl_draft_list, TRUE},
    {"show", "draft show ID [--raw]", ctl_draft_show, TRUE},
    {"approve", "draft approve ID", ctl_draft_approve, TRUE},
    {"reject", "draft reject ID [--reason TEXT]", ctl_draft_reject, TRUE},
};

static int ctl_draft(struct ctl *ctl, int argc, char **argv)
{
    for (size_t i = 0; argc >= 2 && i < G_N_ELEMENTS(ctl_draft_commands); i++)
        if (strcmp(argv[1], ctl_draft_commands[i].name) == 0)
            return ctl_draft_commands[i].run(ctl, argc - 1, argv + 1);
    return ctl_usage("draft list [--all] | show ID [--raw] | approve ID | reject ID [--reason "
                     "TEXT]");
}

static int ctl_config(struct ctl *ctl, int argc, char **argv)
{
    if (argc != 2)
        return ctl_usage("config check|defaults|show|man");
    GString *out = g_string_new(NULL);
    int status = 0;
    if (strcmp(argv[1], "defaults") == 0)
        config_print_defaults(out);
    else if (strcmp(argv[1], "man") == 0)
        config_print_man(out);
    else if (strcmp(argv[1], "check") == 0 || strcmp(argv[1], "show") == 0) {
        char *error = NULL;
        struct config *cfg = config_load(ctl->config_path, &error);
        if (cfg == NULL) {
            log_error("%s", error);
            g_free(error);
            status = EX_CONFIG;
        } else if (strcmp(argv[1], "show") == 0)
            config_print(cfg, out);
        else
            g_string_append_printf(out, "%s: configuration OK\n", ctl->config_path);
        config_unref(cfg);
    } else
        status = ctl_usage("config check|defaults|show|man");
    fputs(out->str, stdout);
    g_string_free(out, TRUE);
    return status;
}

static const struct ctl_command ctl_commands[] = {
    {"list", "list [--state STATE] [--limit N]", ctl_list, TRUE},
    {"show", "show ID", ctl_show, TRUE},
    {"retry", "retry ID", ctl_retry, TRUE},
    {"draft", "draft list [--all] | show ID [--raw] | approve ID | reject ID [--reason TEXT]",
     ctl_draft, TRUE},
    {"config", "config check|defaults|show|man", ctl_config, FALSE},
};

static int ctl_help(void)
{
    fprintf(stderr, "usage: mailtriagectl [-c CONF] [--json] COMMAND\ncommands:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(ctl_commands); i++)
        fprintf(stderr, "  %s\n", ctl_commands[i].usage);
    return EX_USAGE;
}

static int ctl_main(struct ctl *ctl, const struct ctl_command *command, int argc, char **argv)
{
    if (ctl->config_path == NULL)
        ctl->config_path = g_strdup(CONFIG_DEFAULT_PATH);
    program_init("mailtriagectl", LOG_TO_STDERR);
    int status;
    if (command->needs_db) {
        ctl->cfg = program_load_config(ctl->config_path, EX_CONFIG);
        char *error = NULL;
        int opened = db_open(ctl->cfg->daemon.database, (int)ctl->cfg->daemon.busy_timeout * 1000,
                             &ctl->db, &error);
        status =
            opened == DB_OK ? command->run(ctl, argc - 1, argv + 1) : ctl_db_failure(opened, error);
    } else
        status = command->run(ctl, argc - 1, argv + 1);
    if (ctl->db != NULL)
        db_close(ctl->db);
    config_unref(ctl->cfg);
    program_done();
    return status;
}

int main(int argc, char **argv)
{
    struct ctl ctl = {0};
    gboolean show_version = FALSE;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &ctl.config_path, "Configuration file", "FILE"},
        {"json", 0, 0, G_OPTION_ARG_NONE, &ctl.json, "Print JSON", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &show_version, "Print the version", NULL},
        {NULL}};
    GOptionContext *options = g_option_context_new("COMMAND [ARGS]");
    g_option_context_add_main_entries(options, entries, NULL);
    /* Options after the command belong to the command. */
    g_option_context_set_strict_posix(options, TRUE);
    GError *gerror = NULL;
    gboolean parsed = g_option_context_parse(options, &argc, &argv, &gerror);
    g_option_context_free(options);
    const struct ctl_command *command = NULL;
    for (size_t i = 0; parsed && argc >= 2 && i < G_N_ELEMENTS(ctl_commands); i++)
        if (strcmp(argv[1], ctl_commands[i].name) == 0)
            command = &ctl_commands[i];
    int status = 0;
    if (!parsed) {
        fprintf(stderr, "mailtriagectl: %s\n", gerror->message);
        g_error_free(gerror);
        status = EX_USAGE;
    } else if (show_version)
        printf("mailtriagectl %s\n", PACKAGE_VERSION);
    else if (command == NULL)
        status = ctl_help();
    else
        status = ctl_main(&ctl, command, argc, argv);
    g_free(ctl.config_path);
    return status;
}
