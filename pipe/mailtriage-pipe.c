/*
 * mailtriage-pipe: record one message delivered by Postfix's pipe(8) in the mailtriage queue.
 *
 * SYNOPSIS
 *   mailtriage-pipe [-c CONF] [-q QUEUEID] [-f SENDER] [--inline] -- RECIPIENT...
 *
 * It reads one message on standard input, parses its From, Subject, Message-ID and
 * In-Reply-To, and records it through intake (intake.h), as the milter does: at most [daemon]
 * max_message_size bytes are kept (a larger message is recorded cut and marked truncated,
 * never lost), one row per monitored mailbox among the recipients (a recipient not monitored,
 * or whose [mailbox] has intake = milter, is logged and ignored), all in one transaction. Then
 * it exits; with --inline it first processes those rows itself, for sites that run no daemon.
 * -f '' (Postfix's null_sender=) is the null sender; without -f the envelope sender is unknown.
 *
 * EXIT STATUS (sysexits, as pipe(8) expects)
 *   0   recorded (and, with --inline, processed or left queued with its reason); also -V and
 *       --help without recipients
 *   75  not recorded: Postfix keeps the message and retries. Every failure is ours to fix or
 *       passes (bad usage in master.cf, -V or --help beside recipients, empty input,
 *       configuration unreadable, database locked past busy_timeout, disk full, the database
 *       or its directory not writable, a schema from a newer version, no recipient is a
 *       monitored mailbox), never the sender's, so none bounces the mail (any other non-zero
 *       status would). The reason, with the database's path and what to do, goes to syslog
 *       and to stderr, which Postfix shows as the delivery status.
 *
 * A database it creates gets mode 0600 whatever the umask pipe(8) gives (0640 in a
 * set-group-ID directory): see db.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "db.h"
#include "intake.h"
#include "llm.h"
#include "log.h"
#include "mime.h"
#include "process.h"
#include "program.h"
#include "queue.h"

#define EX_OK 0
#define EX_TEMPFAIL 75

#define PIPE_USAGE "mailtriage-pipe [-c CONF] [-q QUEUEID] [-f SENDER] [--inline] -- RECIPIENT..."

/* Read stdin into MSG, which keeps what max_message_size allows; -1 (errno set) on a read
 * error. */
static int pipe_read_message(struct intake_message *msg)
{
    guint8 buf[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        intake_append(msg, buf, (size_t)n);
    }
}

/* The length of TEXT's header section with the blank line after it (all of it when there is
 * no body). */
static size_t pipe_header_length(const char *text, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (text[i] == '\n' &&
            (text[i + 1] == '\n' || (text[i + 1] == '\r' && i + 2 < len && text[i + 2] == '\n')))
            return i + (text[i + 1] == '\n' ? 2 : 3);
    return len;
}

/* The header fields the rows keep, from the message's header section as parsed: the body, which
 * may be most of 1 GiB, is not parsed here (the worker does). */
static void pipe_take_headers(struct intake_message *msg)
{
    struct mime_limits limits;
    mime_limits_default(&limits);
    struct mime_message *parsed = NULL;
    char *error = NULL;
    const char *text = (const char *)msg->raw->data;
    if (mime_parse(text, pipe_header_length(text, msg->raw->len), &limits, &parsed, &error) < 0) {
        /* Recorded all the same: the worker fails it visibly rather than the sender bouncing. */
        log_warn("recording a message that does not parse: %s", error);
        g_free(error);
        return;
    }
    msg->from_addr = g_strdup(parsed->from_addr);
    msg->subject = g_strdup(parsed->subject);
    msg->message_id = g_strdup(parsed->message_id);
    msg->in_reply_to = g_strdup(parsed->in_reply_to);
    mime_message_free(parsed);
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
    /* No lease keeper: process_row() runs one of its own for the message. */
    struct process_context ctx = {cfg, db, llm, owner, NULL, NULL};
    process_row(&ctx, row);
    llm_client_free(llm);
    queue_row_free(row);
    return 0;
}

/* What main() collects; everything is freed in one place, whatever the exit status. */
struct pipe_run {
    char *config_path, *sender, *queue_id;
    char **recipients;
    struct config *cfg;
    struct intake_message *msg;
    GArray *ids; /* of gint64: the rows recorded */
    sqlite3 *db;
};

static void pipe_run_clear(struct pipe_run *run)
{
    if (run->db != NULL)
        db_close(run->db);
    if (run->ids != NULL)
        g_array_unref(run->ids);
    intake_message_free(run->msg);
    config_unref(run->cfg);
    g_strfreev(run->recipients);
    g_free(run->config_path);
    g_free(run->sender);
    g_free(run->queue_id);
}

/* The recipients of the command line; those this program does not record are logged. */
static void pipe_add_recipients(struct pipe_run *run)
{
    for (char **rcpt = run->recipients; *rcpt != NULL; rcpt++) {
        char *skipped = NULL;
        if (!intake_add_recipient(run->msg, *rcpt, &skipped)) {
            log_warn("%s", skipped);
            g_free(skipped);
        }
    }
}

static int pipe_record(struct pipe_run *run, gboolean inline_processing)
{
    struct intake_message *msg = run->msg = intake_message_new(INTAKE_PIPE, run->cfg);
    msg->mta_queue_id = g_strdup(run->queue_id);
    msg->envelope_from = g_strdup(run->sender);
    if (pipe_read_message(msg) < 0) {
        log_error("cannot read the message: %s", g_strerror(errno));
        return EX_TEMPFAIL;
    }
    if (msg->size == 0) {
        /* Postfix always writes at least its own headers: empty input is a mistake on our side
         * (a wrapper that ate stdin, a test by hand), never the sender's message. */
        log_error("empty input: no message on standard input; deferred (exit 75)");
        return EX_TEMPFAIL;
    }
    pipe_take_headers(msg);
    pipe_add_recipients(run);
    if (msg->mailboxes->len == 0) {
        GString *rcpts = g_string_new(NULL);
        char buf[LOG_ADDR_MAX];
        for (char **rcpt = run->recipients; *rcpt != NULL; rcpt++)
            g_string_append_printf(rcpts, "%s%s", rcpts->len > 0 ? " " : "", log_addr(*rcpt, buf));
        log_error("no recipient is a monitored mailbox (%s): add a [mailbox] group or fix "
                  "transport_maps",
                  rcpts->str);
        g_string_free(rcpts, TRUE);
        return EX_TEMPFAIL;
    }

    char *error = NULL;
    msg->started = g_get_monotonic_time(); /* store_ms: opening the database and the write */
    int status = db_open(run->cfg->daemon.database, (int)run->cfg->daemon.busy_timeout * 1000,
                         &run->db, &error);
    if (status == DB_OK)
        status = intake_record(msg, run->db, &run->ids, &error);
    if (status != DB_OK) {
        log_error("cannot record the message%s%s: %s; deferred (exit 75): Postfix retries",
                  run->queue_id != NULL ? " " : "", run->queue_id != NULL ? run->queue_id : "",
                  error);
        g_free(error);
        return EX_TEMPFAIL;
    }
    if (inline_processing)
        for (guint i = 0; i < run->ids->len; i++)
            pipe_process_inline(run->cfg, run->db, g_array_index(run->ids, gint64, i));
    return EX_OK;
}

/* A mistake in the command line, which master.cf gives: loud, and the mail waits for the fix. */
static int pipe_usage_error(const char *why)
{
    log_error("usage error: %s; usage: " PIPE_USAGE "; fix the pipe command in master.cf: the "
              "message is deferred (exit 75), not bounced",
              why);
    return EX_TEMPFAIL;
}

/* -V or --help: printed; with recipients it is a delivery that must not be lost by exiting 0. */
static int pipe_informational(const struct pipe_run *run, const char *option, const char *text)
{
    fputs(text, stdout);
    if (run->recipients == NULL || run->recipients[0] == NULL)
        return EX_OK;
    char *why = g_strdup_printf("%s given with recipients: nothing is recorded", option);
    int status = pipe_usage_error(why);
    g_free(why);
    return status;
}

static int pipe_deliver(struct pipe_run *run, gboolean inline_processing)
{
    char *error = NULL;
    const char *path = run->config_path != NULL ? run->config_path : CONFIG_DEFAULT_PATH;
    /* A configuration error defers the mail (75): it is fixed on our side, not the sender's. */
    run->cfg = config_load(path, &error);
    if (run->cfg == NULL) {
        log_error("configuration: %s", error);
        g_free(error);
        return EX_TEMPFAIL;
    }
    log_set_level((enum log_level)run->cfg->daemon.log_level);
    log_set_mask_addresses(run->cfg->daemon.mask_addresses);
    return pipe_record(run, inline_processing);
}

int main(int argc, char **argv)
{
    struct pipe_run run = {0};
    gboolean inline_processing = FALSE, show_version = FALSE, show_help = FALSE;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &run.config_path, "Configuration file", "FILE"},
        /* FILENAME, not STRING: bytes as given, where STRING converts from the locale's
         * charset, and pipe(8) runs us with LANG=C, which refuses an SMTPUTF8 address. */
        {"sender", 'f', 0, G_OPTION_ARG_FILENAME, &run.sender, "Envelope sender ('' is <>)",
         "ADDR"},
        {"queue-id", 'q', 0, G_OPTION_ARG_STRING, &run.queue_id, "The MTA's queue id", "ID"},
        {"inline", 0, 0, G_OPTION_ARG_NONE, &inline_processing, "Process the message now", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &show_version, "Print the version", NULL},
        {"help", 'h', 0, G_OPTION_ARG_NONE, &show_help, "Print this help", NULL},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &run.recipients, NULL,
         "-- RECIPIENT..."},
        {NULL}};
    GOptionContext *options = g_option_context_new(NULL);
    g_option_context_add_main_entries(options, entries, NULL);
    g_option_context_set_summary(options, "Record one message from Postfix pipe(8) in the "
                                          "mailtriage queue.");
    /* GOption's own --help exits 0, which pipe(8) takes for a delivery: ours decides. */
    g_option_context_set_help_enabled(options, FALSE);
    GError *gerror = NULL;
    program_init("mailtriage-pipe", LOG_TO_SYSLOG_AND_STDERR);
    gboolean parsed = g_option_context_parse(options, &argc, &argv, &gerror);
    char *help = show_help ? g_option_context_get_help(options, TRUE, NULL) : NULL;
    g_option_context_free(options);

    int status;
    if (!parsed) {
        status = pipe_usage_error(gerror->message);
        g_error_free(gerror);
    } else if (show_help)
        status = pipe_informational(&run, "--help", help);
    else if (show_version)
        status = pipe_informational(&run, "-V", "mailtriage-pipe " PACKAGE_VERSION "\n");
    else if (run.recipients == NULL || run.recipients[0] == NULL)
        status = pipe_usage_error("no recipient (the command needs -- ${recipient})");
    else
        status = pipe_deliver(&run, inline_processing);
    g_free(help);
    pipe_run_clear(&run);
    program_done();
    return status;
}
