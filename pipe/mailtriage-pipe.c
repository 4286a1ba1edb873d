/*
 * mailtriage-pipe: record one message delivered by Postfix's pipe(8) in the mailtriage queue.
 *
 * SYNOPSIS
 *   mailtriage-pipe [-c CONF] [-q QUEUEID] [-f SENDER] [--inline] -- RECIPIENT...
 *
 * It reads one message on standard input (at most [daemon] max_message_size bytes are kept; a
 * larger message is recorded cut and marked truncated, never lost), records it in the queue
 * as one row per monitored recipient in one transaction, and exits. With --inline it then
 * processes that message itself, for sites that run no daemon. -f '' (Postfix's
 * null_sender=) is the null sender; without -f the envelope sender is unknown.
 *
 * EXIT STATUS (sysexits, as pipe(8) expects)
 *   0   recorded (and, with --inline, processed or left queued with its reason)
 *   64  bad usage
 *   65  the input is not a message (empty)
 *   75  cannot record now (configuration unreadable, database locked past busy_timeout, disk
 *       full, no recipient is a monitored mailbox): Postfix keeps the message and retries
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "db.h"
#include "llm.h"
#include "log.h"
#include "mime.h"
#include "process.h"
#include "program.h"
#include "queue.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_TEMPFAIL 75

/* Read stdin: keep at most MAX bytes, count them all. */
static GByteArray *pipe_read_message(guint64 max, guint64 *size_r, gboolean *read_error_r)
{
    GByteArray *data = g_byte_array_new();
    guint8 buf[65536];
    guint64 total = 0;
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *read_error_r = TRUE;
            break;
        }
        if (n == 0)
            break;
        if (total < max)
            g_byte_array_append(data, buf, (guint)MIN((guint64)n, max - total));
        total += (guint64)n;
    }
    *size_r = total;
    return data;
}

static int pipe_process_inline(struct config *cfg, sqlite3 *db, gint64 id)
{
    char owner[96];
    snprintf(owner, sizeof(owner), "%s:%d:pipe", cfg->hostname, (int)getpid());
    struct queue_row *row = NULL;
    char *error = NULL;
    int claimed = queue_claim(db, owner, cfg->daemon.lease_time, id, &row, &error);
    if (claimed <= 0) {
        if (claimed < 0)
            log_msg(LOG_LEVEL_WARNING, id, "not processed inline: %s", error);
        g_free(error);
        return 0;
    }
    struct llm_client *llm = llm_client_new(NULL);
    struct process_context ctx = {cfg, db, llm, owner, NULL};
    process_row(&ctx, row);
    llm_client_free(llm);
    queue_row_free(row);
    return 0;
}

int main(int argc, char **argv)
{
    char *config_path = NULL, *sender = NULL, *queue_id = NULL;
    gboolean inline_processing = FALSE, show_version = FALSE;
    char **recipients = NULL;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file", "FILE"},
        {"sender", 'f', 0, G_OPTION_ARG_STRING, &sender, "Envelope sender ('' is <>)", "ADDR"},
        {"queue-id", 'q', 0, G_OPTION_ARG_STRING, &queue_id, "The MTA's queue id", "ID"},
        {"inline", 0, 0, G_OPTION_ARG_NONE, &inline_processing, "Process the message now", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &show_version, "Print the version", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &recipients, NULL, "RECIPIENT..."},
        {NULL}};
    GOptionContext *options = g_option_context_new("-- RECIPIENT...");
    g_option_context_add_main_entries(options, entries, NULL);
    g_option_context_set_summary(options, "Record one message from Postfix pipe(8) in the "
                                          "mailtriage queue.");
    GError *gerror = NULL;
    program_init("mailtriage-pipe", LOG_TO_SYSLOG_AND_STDERR);
    if (!g_option_context_parse(options, &argc, &argv, &gerror)) {
        log_error("%s", gerror->message);
        return EX_USAGE;
    }
    g_option_context_free(options);
    if (show_version) {
        printf("mailtriage-pipe %s\n", PACKAGE_VERSION);
        return EX_OK;
    }
    if (recipients == NULL || recipients[0] == NULL) {
        log_error("usage: mailtriage-pipe [-c CONF] [-f SENDER] [--inline] -- RECIPIENT...");
        return EX_USAGE;
    }
    struct config *cfg = program_load_config(config_path != NULL ? config_path
                                                                 : CONFIG_DEFAULT_PATH,
                                             EX_TEMPFAIL);

    guint64 size = 0;
    gboolean read_error = FALSE;
    GByteArray *data = pipe_read_message(cfg->daemon.max_message_size, &size, &read_error);
    if (read_error) {
        log_error("cannot read the message: %s", g_strerror(errno));
        return EX_TEMPFAIL;
    }
    if (size == 0) {
        log_error("empty input: not a message");
        return EX_DATAERR;
    }
    gboolean truncated = size > data->len;

    struct mime_limits limits;
    mime_limits_default(&limits);
    struct mime_message *msg = NULL;
    char *error = NULL;
    if (mime_parse((const char *)data->data, data->len, &limits, &msg, &error) < 0) {
        /* Recorded all the same: the worker fails it visibly rather than the sender bouncing. */
        log_warn("recording a message that does not parse: %s", error);
        g_clear_pointer(&error, g_free);
    }

    char *rcpts = g_strjoinv(" ", recipients);
    GArray *rows = g_array_new(FALSE, TRUE, sizeof(struct queue_new));
    for (char **rcpt = recipients; *rcpt != NULL; rcpt++) {
        const struct config_mailbox *mailbox = config_mailbox_find(cfg, *rcpt);
        char buf[LOG_ADDR_MAX];
        if (mailbox == NULL) {
            log_warn("recipient <%s> is not a monitored mailbox; ignored", log_addr(*rcpt, buf));
            continue;
        }
        struct queue_new row = {
            .intake = "pipe",
            .mta_queue_id = queue_id,
            .mailbox = mailbox->address,
            .envelope_from = sender,
            .rcpts = rcpts,
            .from_addr = msg != NULL ? msg->from_addr : NULL,
            .subject = msg != NULL ? msg->subject : NULL,
            .message_id = msg != NULL ? msg->message_id : NULL,
            .in_reply_to = msg != NULL ? msg->in_reply_to : NULL,
            .raw = (const char *)data->data,
            .raw_len = data->len,
            .size = (size_t)size,
            .truncated = truncated,
        };
        g_array_append_val(rows, row);
    }
    if (rows->len == 0) {
        log_error("no recipient is a monitored mailbox (%s): add a [mailbox] group or fix "
                  "transport_maps",
                  rcpts);
        return EX_TEMPFAIL;
    }

    sqlite3 *db = NULL;
    gint64 *ids = g_new0(gint64, rows->len);
    int status = db_open(cfg->daemon.database, (int)cfg->daemon.busy_timeout * 1000, &db, &error);
    if (status == DB_OK)
        status = queue_insert(db, (struct queue_new *)rows->data, rows->len, ids, &error);
    if (status != DB_OK) {
        log_error("cannot record the message%s%s: %s", queue_id != NULL ? " " : "",
                  queue_id != NULL ? queue_id : "", error);
        return EX_TEMPFAIL;
    }
    for (guint i = 0; i < rows->len; i++) {
        const struct queue_new *row = &g_array_index(rows, struct queue_new, i);
        char from[LOG_ADDR_MAX];
        log_msg(LOG_LEVEL_INFO, ids[i],
                "recorded: mta_queue_id=%s from=<%s> mailbox=<%s> size=%" G_GUINT64_FORMAT "%s",
                queue_id != NULL ? queue_id : "-", log_addr(sender, from), row->mailbox, size,
                truncated ? " truncated" : "");
    }
    if (inline_processing)
        for (guint i = 0; i < rows->len; i++)
            pipe_process_inline(cfg, db, ids[i]);

    db_close(db);
    g_free(ids);
    g_array_unref(rows);
    g_free(rcpts);
    mime_message_free(msg);
    g_byte_array_unref(data);
    config_unref(cfg);
    g_strfreev(recipients);
    g_free(config_path);
    g_free(sender);
    g_free(queue_id);
    program_done();
    return EX_OK;
}
