/*
 * conversation_join: threading inbound mail, recording what we sent; see conversation_join.h.
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "clock.h"
#include "conversation.h"
#include "conversation_join.h"
#include "db.h"
#include "log.h"
#include "mime.h"
#include "queue.h"
#include "store.h"
#include "store_conversation.h"

/* The header NAME of MSG as received (References may be longer than mime's cleaned copy), or
 * FALLBACK. */
static const char *conversation_join_header(const struct mime_message *msg, const char *name,
                                            const char *fallback)
{
    const char *value = NULL;
    if (msg->gmime != NULL)
        value = g_mime_object_get_header(GMIME_OBJECT(msg->gmime), name);
    return value != NULL ? value : fallback;
}

/* The conversation MSG (of MAILBOX, from COUNTERPART) belongs to, found or made, as of NOW. */
static int conversation_join_find(sqlite3 *db, const struct config *cfg,
                                  const struct queue_row *claim, const struct mime_message *msg,
                                  const char *counterpart, gint64 now, gint64 *id_r,
                                  enum conversation_thread *thread_r, char **error_r)
{
    GPtrArray *ids =
        conversation_references(conversation_join_header(msg, "In-Reply-To", msg->in_reply_to),
                                conversation_join_header(msg, "References", msg->references));
    char *key = conversation_subject_key(msg->subject);
    struct conversation_found found = {0};
    int status = store_conversation_find_by_reference(db, claim->mailbox, counterpart, ids,
                                                      claim->id, &found.by_reference, error_r);
    if (status == 0 && cfg->policy.thread_by_subject)
        status = store_conversation_find_by_subject(db, claim->mailbox, counterpart, key,
                                                    &found.by_subject, &found.by_subject_updated_at,
                                                    error_r);
    if (status >= 0) {
        *thread_r = conversation_choose(&found, cfg->policy.thread_by_subject,
                                        cfg->policy.thread_window, now, id_r);
        status = *thread_r != CONVERSATION_THREAD_NEW
                     ? DB_OK
                     : store_conversation_create(db, claim->mailbox, counterpart, msg->subject, key,
                                                 now, id_r, error_r);
    }
    g_free(key);
    g_ptr_array_unref(ids);
    return status;
}

/* Inside the lease transaction: the conversation of the claimed message, and its entry. */
static int conversation_join_locked(sqlite3 *db, const struct config *cfg,
                                    const struct queue_row *claim, const struct mime_message *msg,
                                    struct context *context, char **error_r)
{
    gint64 id = 0;
    enum conversation_status status_now = CONVERSATION_ACTIVE;
    int found = store_conversation_of_message(db, claim->id, &id, &status_now, error_r);
    if (found < 0)
        return found;
    char *counterpart = conversation_counterpart(claim->envelope_from, msg->from_addr);
    int status = DB_OK;
    enum conversation_thread thread = CONVERSATION_THREAD_REFERENCE;
    if (found == 0) {
        status = conversation_join_find(db, cfg, claim, msg, counterpart, clock_now(), &id, &thread,
                                        error_r);
        if (status == DB_OK)
            status = store_conversation_link(db, claim->id, id, error_r);
        if (status == DB_OK && thread != CONVERSATION_THREAD_NEW &&
            store_conversation_get(db, id, &status_now, NULL, NULL, error_r) < 0)
            status = DB_ERROR;
    }
    char *text = conversation_entry_text(msg->text);
    struct store_conversation_entry entry = {
        .conversation = id,
        .role = CONVERSATION_USER,
        .message = claim->id,
        .message_id = msg->message_id,
        .author = msg->from_addr != NULL ? msg->from_addr : counterpart,
        .text = text,
        .created_at = claim->received_at,
    };
    if (status == DB_OK)
        status = store_conversation_append(db, &entry, NULL, error_r);
    if (status == DB_OK && found == 0) {
        char *event = g_strdup_printf("joined conversation %" G_GINT64_FORMAT " (%s)", id,
                                      thread == CONVERSATION_THREAD_REFERENCE ? "by reference"
                                      : thread == CONVERSATION_THREAD_SUBJECT ? "by subject"
                                                                              : "new");
        store_event(db, claim->id, "info", event);
        g_free(event);
    }
    g_free(text);
    g_free(counterpart);
    context->conversation = id;
    context->conversation_status = status_now;
    return status;
}

int conversation_join(sqlite3 *db, const struct config *cfg, const struct queue_row *claim,
                      const struct mime_message *msg, struct context *context, char **error_r)
{
    int status = queue_lease_begin(db, claim, error_r);
    if (status != DB_OK)
        return status;
    status = conversation_join_locked(db, cfg, claim, msg, context, error_r);
    return queue_lease_end(db, status, error_r);
}

int conversation_add_reply(sqlite3 *db, gint64 message, const char *mailbox, const char *mail,
                           size_t len, const char *message_id, const char *sources, char **error_r)
{
    gint64 conversation = 0;
    enum conversation_status status_now;
    int found = store_conversation_of_message(db, message, &conversation, &status_now, error_r);
    if (found <= 0)
        return found;
    struct mime_limits limits;
    mime_limits_default(&limits);
    struct mime_message *parsed = NULL;
    char *parse_error = NULL;
    char *text = NULL;
    if (mime_parse(mail, len, &limits, &parsed, &parse_error) == 0)
        text = conversation_entry_text(parsed->text);
    else /* we built it: cannot happen but for a damaged draft, whose history stays short */
        g_free(parse_error);
    struct store_conversation_entry entry = {
        .conversation = conversation,
        .role = CONVERSATION_ASSISTANT,
        .message = message,
        .message_id = message_id,
        .author = mailbox,
        .text = text,
        .sources = sources,
        .created_at = clock_now(),
    };
    int status = store_conversation_append(db, &entry, NULL, error_r);
    g_free(text);
    mime_message_free(parsed);
    return status;
}

void conversation_join_reply(sqlite3 *db, const struct queue_row *claim, const char *mailbox,
                             const char *mail, size_t len, const char *message_id,
                             const char *sources)
{
    char *error = NULL;
    int status = queue_lease_begin(db, claim, &error);
    if (status == DB_OK)
        status = queue_lease_end(
            db,
            conversation_add_reply(db, claim->id, mailbox, mail, len, message_id, sources, &error),
            &error);
    if (status == DB_OK)
        return;
    log_msg(LOG_LEVEL_WARNING, claim->id,
            "the reply <%s> went out, but its entry in the conversation could not be recorded: %s",
            message_id, error);
    g_free(error);
}
