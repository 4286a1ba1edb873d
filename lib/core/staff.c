/*
 * staff: what the site's people wrote to a correspondent, into the conversation; see staff.h.
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "clock.h"
#include "config.h"
#include "conversation.h"
#include "db.h"
#include "intake.h"
#include "log.h"
#include "mime.h"
#include "policy.h"
#include "staff.h"
#include "store_conversation.h"
#include "store_staff.h"

gboolean staff_is_sender(const struct config *cfg, const char *address)
{
    if (address == NULL || *address == '\0')
        return FALSE;
    return config_mailbox_find(cfg, address) != NULL ||
           policy_sender_listed(cfg->policy.staff_addresses, address);
}

gboolean staff_is_outside(const struct config *cfg, const char *address)
{
    if (address == NULL || strchr(address, '@') == NULL || config_mailbox_find(cfg, address))
        return FALSE;
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        if (g_ascii_strcasecmp(mailbox->escalate_to, address) == 0)
            return FALSE;
    }
    return !policy_sender_listed(cfg->policy.staff_addresses, address);
}

int staff_record(sqlite3 *db, const struct intake_message *msg, gint64 *id_r, char **error_r)
{
    GString *rcpts = g_string_new(NULL);
    for (guint i = 0; i < msg->rcpts->len; i++)
        g_string_append_printf(rcpts, "%s%s", i > 0 ? " " : "",
                               (const char *)g_ptr_array_index(msg->rcpts, i));
    const struct store_staff_new row = {
        .mta_queue_id = msg->mta_queue_id,
        .envelope_from = msg->envelope_from,
        .rcpts = rcpts->str,
        .message_id = msg->message_id,
        .received_at = clock_now(),
        .raw = (const char *)msg->raw->data,
        .raw_len = msg->raw->len,
        .size = (size_t)msg->size,
        .truncated = intake_truncated(msg),
    };
    int status = store_staff_add(db, &row, id_r, error_r);
    g_string_free(rcpts, TRUE);
    if (status != DB_OK)
        return status;
    char from[LOG_ADDR_MAX];
    log_info("%s: staff message %" G_GINT64_FORMAT " recorded: from=<%s> rcpts=%u "
             "size=%" G_GUINT64_FORMAT "%s",
             msg->mta_queue_id != NULL ? msg->mta_queue_id : "NOQUEUE", *id_r,
             log_addr(msg->envelope_from, from), msg->rcpts->len, msg->size,
             intake_truncated(msg) ? " truncated" : "");
    return DB_OK;
}

/* Inside a transaction: MSG, written by AUTHOR at CREATED_AT, as the human entry of
 * CONVERSATION, which becomes human; the event names it with WHAT. */
static int staff_fold_into(sqlite3 *db, gint64 conversation, const struct mime_message *msg,
                           const char *author, gint64 created_at, const char *what, char **error_r)
{
    char *text = conversation_entry_text(msg->text);
    struct store_conversation_entry entry = {
        .conversation = conversation,
        .role = CONVERSATION_HUMAN_ROLE,
        .message_id = msg->message_id,
        .author = author,
        .text = text,
        .created_at = created_at,
    };
    int status = store_conversation_append(db, &entry, NULL, error_r);
    g_free(text);
    if (status != DB_OK)
        return status;
    int found = store_conversation_set_status(db, conversation, CONVERSATION_HUMAN, created_at,
                                              NULL, error_r);
    if (found < 0)
        return found;
    char *event = g_strdup_printf("%s: the conversation is handled by a person, no automatic "
                                  "reply (mailtriagectl conversation resume %" G_GINT64_FORMAT
                                  " gives it back)",
                                  what, conversation);
    store_conversation_event(db, conversation, "info", event);
    g_free(event);
    return DB_OK;
}

/* The outside recipients of ROW, lower-cased, at most STAFF_RECIPIENTS_MAX. */
static GPtrArray *staff_counterparts(const struct config *cfg, const struct store_staff_row *row)
{
    GPtrArray *counterparts = g_ptr_array_new_with_free_func(g_free);
    char **rcpts = g_strsplit(row->rcpts != NULL ? row->rcpts : "", " ", -1);
    for (char **r = rcpts; *r != NULL && counterparts->len < STAFF_RECIPIENTS_MAX; r++)
        if (staff_is_outside(cfg, *r))
            g_ptr_array_add(counterparts, g_ascii_strdown(*r, -1));
    g_strfreev(rcpts);
    return counterparts;
}

/* The mailboxes a conversation of ROW may belong to: its sender's, or any. */
static GPtrArray *staff_mailboxes(const struct config *cfg, const struct store_staff_row *row)
{
    GPtrArray *mailboxes = g_ptr_array_new();
    const struct config_mailbox *own = config_mailbox_find(cfg, row->envelope_from);
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        if (own == NULL || own == mailbox)
            g_ptr_array_add(mailboxes, mailbox->address);
    }
    return mailboxes;
}

/* What the store finds for MSG, from the sender of ROW to the outside recipients. */
static int staff_find(sqlite3 *db, const struct config *cfg, const struct store_staff_row *row,
                      const struct mime_message *msg, struct conversation_found *found,
                      char **error_r)
{
    GPtrArray *ids = conversation_references(msg->in_reply_to, msg->references);
    GPtrArray *counterparts = staff_counterparts(cfg, row);
    GPtrArray *mailboxes = staff_mailboxes(cfg, row);
    char *key = conversation_subject_key(msg->subject);
    int status = DB_OK;
    for (guint c = 0; c < counterparts->len && status >= 0 && found->by_reference == 0; c++)
        for (guint m = 0; m < mailboxes->len && status >= 0 && found->by_reference == 0; m++)
            status = store_conversation_find_by_reference(db, g_ptr_array_index(mailboxes, m),
                                                          g_ptr_array_index(counterparts, c), ids,
                                                          0, &found->by_reference, error_r);
    for (guint c = 0; c < counterparts->len && status >= 0 && found->by_reference == 0; c++)
        for (guint m = 0; m < mailboxes->len && status >= 0; m++) {
            gint64 id = 0, updated_at = 0;
            status = store_conversation_find_by_subject(db, g_ptr_array_index(mailboxes, m),
                                                        g_ptr_array_index(counterparts, c), key,
                                                        &id, &updated_at, error_r);
            if (status == 1 && updated_at > found->by_subject_updated_at) {
                found->by_subject = id;
                found->by_subject_updated_at = updated_at;
            }
        }
    g_free(key);
    g_ptr_array_unref(mailboxes);
    g_ptr_array_unref(counterparts);
    g_ptr_array_unref(ids);
    return status < 0 ? status : DB_OK;
}

/* Inside the transaction: fold ROW; *CONVERSATION_R is where it went, or *WHY_R why nowhere. */
static int staff_fold_row(sqlite3 *db, const struct config *cfg, const struct store_staff_row *row,
                          gint64 *conversation_r, char **why_r, char **error_r)
{
    struct mime_limits limits;
    mime_limits_default(&limits);
    gsize len = 0;
    const char *raw = g_bytes_get_data(row->raw, &len);
    struct mime_message *msg = NULL;
    char *error = NULL;
    if (len == 0 || mime_parse(raw, len, &limits, &msg, &error) < 0) {
        *why_r = g_strdup_printf("cannot parse the message: %s",
                                 error != NULL ? error : "its content was removed");
        g_free(error);
        return DB_OK;
    }
    struct conversation_found found = {0};
    int status = staff_find(db, cfg, row, msg, &found, error_r);
    enum conversation_thread thread = CONVERSATION_THREAD_NEW;
    if (status == DB_OK)
        thread = conversation_choose(&found, TRUE, cfg->policy.thread_window, clock_now(),
                                     conversation_r);
    if (status == DB_OK && thread == CONVERSATION_THREAD_NEW)
        *why_r = g_strdup("it matches no conversation: it refers to no message of one (In-Reply-"
                          "To, References), and no conversation with an outside recipient has its "
                          "subject within thread_window");
    else if (status == DB_OK) {
        char *what = g_strdup_printf("staff message %" G_GINT64_FORMAT " from <%s> (by %s)",
                                     row->id, row->envelope_from, conversation_thread_name(thread));
        status = staff_fold_into(db, *conversation_r, msg, row->envelope_from, row->received_at,
                                 what, error_r);
        g_free(what);
    }
    mime_message_free(msg);
    return status;
}

/* Fold the oldest pending row: 1 when one was handled, 0 when none is left. */
static int staff_fold_next(sqlite3 *db, const struct config *cfg, char **error_r)
{
    int pending = store_staff_pending(db, error_r);
    if (pending <= 0)
        return pending;
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    struct store_staff_row *row = NULL;
    int found = store_staff_next(db, &row, error_r);
    if (found <= 0) {
        db_rollback(db);
        return found;
    }
    gint64 conversation = 0;
    char *why = NULL;
    status = staff_fold_row(db, cfg, row, &conversation, &why, error_r);
    if (status == DB_OK)
        status = store_staff_done(db, row->id, conversation, why, clock_now(), error_r);
    if (status == DB_OK)
        status = db_commit(db, error_r);
    else
        db_rollback(db);
    char buf[LOG_ADDR_MAX];
    if (status == DB_OK && why != NULL)
        log_warn("staff message %" G_GINT64_FORMAT " from <%s>: %s; nothing changed", row->id,
                 log_addr(row->envelope_from, buf), why);
    else if (status == DB_OK)
        log_info("staff message %" G_GINT64_FORMAT " from <%s> added to conversation "
                 "%" G_GINT64_FORMAT ", which is now handled by a person",
                 row->id, log_addr(row->envelope_from, buf), conversation);
    g_free(why);
    store_staff_row_free(row);
    return status == DB_OK ? 1 : status;
}

int staff_fold_pending(sqlite3 *db, const struct config *cfg, guint max, guint *folded_r,
                       char **error_r)
{
    guint folded = 0;
    int status = 1;
    while (folded < max && (status = staff_fold_next(db, cfg, error_r)) == 1)
        folded++;
    if (folded_r != NULL)
        *folded_r = folded;
    return status < 0 ? status : DB_OK;
}

int staff_note(sqlite3 *db, gint64 conversation, const char *raw, size_t len, const char *who,
               char **error_r)
{
    struct mime_limits limits;
    mime_limits_default(&limits);
    struct mime_message *msg = NULL;
    if (mime_parse(raw, len, &limits, &msg, error_r) < 0)
        return DB_ERROR;
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK) {
        mime_message_free(msg);
        return status;
    }
    enum conversation_status old = CONVERSATION_ACTIVE;
    int found = store_conversation_get(db, conversation, &old, NULL, NULL, error_r);
    if (found == 1) {
        char *what = g_strdup_printf("note by %s", who);
        status =
            staff_fold_into(db, conversation, msg, msg->from_addr != NULL ? msg->from_addr : who,
                            clock_now(), what, error_r);
        g_free(what);
    } else if (found == 0) {
        *error_r = g_strdup_printf("no conversation %" G_GINT64_FORMAT, conversation);
        status = DB_ERROR;
    } else
        status = found;
    if (status == DB_OK)
        status = db_commit(db, error_r);
    else
        db_rollback(db);
    mime_message_free(msg);
    if (status == DB_OK)
        log_audit(0, "conversation %" G_GINT64_FORMAT ": note by %s; handled by a person",
                  conversation, who);
    return status;
}
