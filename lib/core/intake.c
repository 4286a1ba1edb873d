/*
 * intake: one inbound message into the queue; see intake.h.
 */
#include <glib.h>
#include <sqlite3.h>

#include "config.h"
#include "db.h"
#include "intake.h"
#include "log.h"
#include "queue.h"

/* The name of KIND in the intake column and in [mailbox] intake. */
static const char *intake_name(enum intake_kind kind)
{
    return kind == INTAKE_MILTER ? "milter" : "pipe";
}

/* The [mailbox] intake value that names KIND alone. */
static int intake_config_choice(enum intake_kind kind)
{
    return kind == INTAKE_MILTER ? CONFIG_INTAKE_MILTER : CONFIG_INTAKE_PIPE;
}

struct intake_message *intake_message_new(enum intake_kind kind, struct config *cfg)
{
    struct intake_message *msg = g_new0(struct intake_message, 1);
    msg->kind = kind;
    msg->cfg = config_ref(cfg);
    msg->rcpts = g_ptr_array_new_with_free_func(g_free);
    msg->mailboxes = g_ptr_array_new();
    msg->raw = g_byte_array_new();
    return msg;
}

void intake_message_free(struct intake_message *msg)
{
    if (msg == NULL)
        return;
    g_free(msg->mta_queue_id);
    g_free(msg->envelope_from);
    g_free(msg->client_addr);
    g_free(msg->helo);
    g_free(msg->from_addr);
    g_free(msg->subject);
    g_free(msg->message_id);
    g_free(msg->in_reply_to);
    g_ptr_array_unref(msg->rcpts);
    g_ptr_array_unref(msg->mailboxes);
    g_byte_array_unref(msg->raw);
    config_unref(msg->cfg);
    g_free(msg);
}

gboolean intake_add_recipient(struct intake_message *msg, const char *rcpt, char **skipped_r)
{
    g_ptr_array_add(msg->rcpts, g_strdup(rcpt));
    const struct config_mailbox *mailbox = config_mailbox_find(msg->cfg, rcpt);
    enum intake_kind other = msg->kind == INTAKE_MILTER ? INTAKE_PIPE : INTAKE_MILTER;
    char buf[LOG_ADDR_MAX];
    if (mailbox == NULL) {
        if (skipped_r != NULL)
            *skipped_r = g_strdup_printf("recipient <%s> is not a monitored mailbox; ignored",
                                         log_addr(rcpt, buf));
        return FALSE;
    }
    /* Such a mailbox is routed to the other program, which records it; a row here as well
     * would make every one of its messages a duplicate. */
    if (mailbox->intake == intake_config_choice(other)) {
        if (skipped_r != NULL)
            *skipped_r =
                g_strdup_printf("recipient <%s>: [mailbox] intake = %s, so the %s does "
                                "not record it; ignored",
                                log_addr(rcpt, buf), intake_name(other), intake_name(msg->kind));
        return FALSE;
    }
    /* Two recipients that are one mailbox (a repeated RCPT TO, a case variant) are one row. */
    if (!g_ptr_array_find(msg->mailboxes, mailbox, NULL))
        g_ptr_array_add(msg->mailboxes, (gpointer)mailbox);
    return TRUE;
}

void intake_append(struct intake_message *msg, const void *data, size_t len)
{
    guint64 max = msg->cfg->daemon.max_message_size;
    msg->size += len;
    if (msg->raw->len >= max)
        return;
    /* max_message_size is at most 1 GiB (config_keys.h), so ROOM fits a guint. */
    size_t room = (size_t)MIN((guint64)len, max - msg->raw->len);
    g_byte_array_append(msg->raw, data, (guint)room);
}

gboolean intake_truncated(const struct intake_message *msg)
{
    return msg->size > msg->raw->len;
}

/* Append the rows of MSG, one per mailbox, to ROWS; RCPTS is the rcpts column, which they
 * point at. */
static void intake_rows(const struct intake_message *msg, const char *rcpts, GArray *rows)
{
    for (guint i = 0; i < msg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(msg->mailboxes, i);
        struct queue_new row = {
            .intake = intake_name(msg->kind),
            .mta_queue_id = msg->mta_queue_id,
            .mailbox = mailbox->address,
            .envelope_from = msg->envelope_from,
            .rcpts = rcpts,
            .client_addr = msg->client_addr,
            .helo = msg->helo,
            .from_addr = msg->from_addr,
            .subject = msg->subject,
            .message_id = msg->message_id,
            .in_reply_to = msg->in_reply_to,
            .raw = (const char *)msg->raw->data,
            .raw_len = msg->raw->len,
            .size = (size_t)msg->size,
            .truncated = intake_truncated(msg),
        };
        g_array_append_val(rows, row);
    }
}

/* One line per row, with our id first. The client is a field only for the milter, which has
 * an SMTP client; the pipe's line never had one. */
static void intake_log_recorded(const struct intake_message *msg, guint index, gint64 id,
                                gint64 now)
{
    const struct config_mailbox *mailbox = g_ptr_array_index(msg->mailboxes, index);
    char *client =
        msg->kind == INTAKE_MILTER
            ? g_strdup_printf(" client=%s", msg->client_addr != NULL ? msg->client_addr : "-")
            : g_strdup("");
    char *store = msg->started > 0
                      ? g_strdup_printf(" store_ms=%.3f", (double)(now - msg->started) / 1000.0)
                      : g_strdup("");
    char from[LOG_ADDR_MAX], to[LOG_ADDR_MAX];
    log_msg(LOG_LEVEL_INFO, id,
            "recorded: mta_queue_id=%s%s from=<%s> mailbox=<%s> size=%" G_GUINT64_FORMAT "%s%s",
            msg->mta_queue_id != NULL ? msg->mta_queue_id : "-", client,
            log_addr(msg->envelope_from, from), log_addr(mailbox->address, to), msg->size, store,
            intake_truncated(msg) ? " truncated" : "");
    g_free(store);
    g_free(client);
}

/* The rcpts column: every recipient, separated by one space. */
static char *intake_rcpts_joined(const struct intake_message *msg)
{
    GString *rcpts = g_string_new(NULL);
    for (guint i = 0; i < msg->rcpts->len; i++)
        g_string_append_printf(rcpts, "%s%s", i > 0 ? " " : "",
                               (const char *)g_ptr_array_index(msg->rcpts, i));
    return g_string_free(rcpts, FALSE);
}

int intake_record_batch(const struct intake_message *const *msgs, guint n_msgs, sqlite3 *db,
                        GArray **ids_r, char **error_r)
{
    GPtrArray *rcpts = g_ptr_array_new_with_free_func(g_free);
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(struct queue_new));
    for (guint i = 0; i < n_msgs; i++) {
        g_ptr_array_add(rcpts, intake_rcpts_joined(msgs[i]));
        intake_rows(msgs[i], g_ptr_array_index(rcpts, i), rows);
    }
    gint64 *ids = g_new0(gint64, MAX(rows->len, 1));
    int status = DB_OK;
    /* Nothing to write: no transaction, no lock. */
    if (rows->len > 0)
        status =
            queue_insert(db, (const struct queue_new *)(void *)rows->data, rows->len, ids, error_r);
    if (status == DB_OK) {
        gint64 now = g_get_monotonic_time();
        guint row = 0;
        for (guint i = 0; i < n_msgs; i++) {
            guint n = msgs[i]->mailboxes->len;
            ids_r[i] = g_array_sized_new(FALSE, TRUE, sizeof(gint64), n);
            g_array_append_vals(ids_r[i], ids + row, n);
            for (guint j = 0; j < n; j++)
                intake_log_recorded(msgs[i], j, ids[row + j], now);
            row += n;
        }
    }
    g_free(ids);
    g_array_unref(rows);
    g_ptr_array_unref(rcpts);
    return status;
}

int intake_record(const struct intake_message *msg, sqlite3 *db, GArray **ids_r, char **error_r)
{
    return intake_record_batch(&msg, 1, db, ids_r, error_r);
}
