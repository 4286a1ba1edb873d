/*
 * fill_queue: fill a mailtriage queue fast, for `make bench` (tests/bench/README).
 *
 *   fill_queue -c CONF -n COUNT [-s FIRST] -f SENDER -r RECIPIENT TEMPLATE
 *
 * Records COUNT messages made from the file TEMPLATE exactly as mailtriage-pipe records one
 * (its headers parsed with mime_parse(), then intake_record(): one transaction per message,
 * one row per monitored mailbox, the "recorded:" line logged below warning level, so not at
 * all), in the database of CONF. In TEMPLATE and SENDER every "@N@" becomes the message's
 * number, FIRST (default 1) onwards, so that each has its own Message-ID and sender. The one
 * difference from the pipe: the connection runs with synchronous = OFF, because the bench
 * measures how the daemon drains a queue, not how fast it can be filled (mailtriage-pipe
 * through Postfix measures that); a crash of the machine during the fill may lose the queue,
 * which a bench never reuses. Prints "recorded: N" and exits 0, or says why and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "db.h"
#include "intake.h"
#include "log.h"
#include "mime.h"
#include "program.h"

#define FILL_TOKEN "@N@"

struct fill_options {
    char *config_path, *sender, *recipient;
    gint64 count, first;
    char **rest;
};

/* TEXT with every FILL_TOKEN replaced by NUMBER. */
static char *fill_expand(const char *text, gint64 number)
{
    char digits[32];
    snprintf(digits, sizeof(digits), "%" G_GINT64_FORMAT, number);
    char **parts = g_strsplit(text, FILL_TOKEN, -1);
    char *joined = g_strjoinv(digits, parts);
    g_strfreev(parts);
    return joined;
}

/* The header fields the rows keep, as mailtriage-pipe takes them. */
static void fill_take_headers(struct intake_message *msg)
{
    struct mime_limits limits;
    mime_limits_default(&limits);
    struct mime_message *parsed = NULL;
    char *error = NULL;
    if (mime_parse((const char *)msg->raw->data, msg->raw->len, &limits, &parsed, &error) < 0) {
        g_free(error);
        return;
    }
    msg->from_addr = g_strdup(parsed->from_addr);
    msg->subject = g_strdup(parsed->subject);
    msg->message_id = g_strdup(parsed->message_id);
    msg->in_reply_to = g_strdup(parsed->in_reply_to);
    mime_message_free(parsed);
}

static int fill_one(struct config *cfg, sqlite3 *db, const struct fill_options *options,
                    const char *template, gint64 number)
{
    struct intake_message *msg = intake_message_new(INTAKE_PIPE, cfg);
    char *text = fill_expand(template, number);
    msg->envelope_from = fill_expand(options->sender, number);
    msg->mta_queue_id = g_strdup_printf("BENCH%" G_GINT64_FORMAT, number);
    intake_append(msg, text, strlen(text));
    g_free(text);
    fill_take_headers(msg);
    int status = -1;
    char *error = NULL;
    GArray *ids = NULL;
    if (!intake_add_recipient(msg, options->recipient, &error))
        fprintf(stderr, "fill_queue: %s\n", error);
    else if (intake_record(msg, db, &ids, &error) != DB_OK)
        fprintf(stderr, "fill_queue: message %" G_GINT64_FORMAT ": %s\n", number, error);
    else
        status = 0;
    if (ids != NULL)
        g_array_unref(ids);
    g_free(error);
    intake_message_free(msg);
    return status;
}

static int fill_run(const struct fill_options *options)
{
    char *template = NULL, *error = NULL;
    GError *gerror = NULL;
    if (!g_file_get_contents(options->rest[0], &template, NULL, &gerror)) {
        fprintf(stderr, "fill_queue: %s\n", gerror->message);
        g_error_free(gerror);
        return 1;
    }
    struct config *cfg = program_load_config(options->config_path, 1);
    log_set_level(LOG_LEVEL_WARNING);
    sqlite3 *db = NULL;
    int status = 1;
    if (db_open(cfg->daemon.database, (int)cfg->daemon.busy_timeout * 1000, &db, &error) != DB_OK ||
        db_exec(db, "PRAGMA synchronous = OFF", &error) != DB_OK) {
        fprintf(stderr, "fill_queue: %s: %s\n", cfg->daemon.database, error);
        g_free(error);
    } else {
        gint64 done = 0;
        while (done < options->count &&
               fill_one(cfg, db, options, template, options->first + done) == 0)
            done++;
        printf("recorded: %" G_GINT64_FORMAT "\n", done);
        status = done == options->count ? 0 : 1;
    }
    if (db != NULL)
        db_close(db);
    config_unref(cfg);
    g_free(template);
    return status;
}

int main(int argc, char **argv)
{
    struct fill_options options = {.count = 0, .first = 1};
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &options.config_path, "Configuration", "CONF"},
        {"count", 'n', 0, G_OPTION_ARG_INT64, &options.count, "Messages to record", "COUNT"},
        {"first", 's', 0, G_OPTION_ARG_INT64, &options.first, "Number of the first", "FIRST"},
        {"sender", 'f', 0, G_OPTION_ARG_STRING, &options.sender, "Envelope sender", "SENDER"},
        {"recipient", 'r', 0, G_OPTION_ARG_STRING, &options.recipient, "Recipient", "RCPT"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &options.rest, NULL, "TEMPLATE"},
        {NULL}};
    GOptionContext *context = g_option_context_new(NULL);
    g_option_context_add_main_entries(context, entries, NULL);
    GError *gerror = NULL;
    program_init("fill_queue", LOG_TO_STDERR);
    gboolean parsed = g_option_context_parse(context, &argc, &argv, &gerror);
    g_option_context_free(context);
    int status = 64;
    if (!parsed) {
        fprintf(stderr, "fill_queue: %s\n", gerror->message);
        g_error_free(gerror);
    } else if (options.config_path == NULL || options.sender == NULL || options.recipient == NULL ||
               options.count < 1 || options.rest == NULL || options.rest[0] == NULL ||
               options.rest[1] != NULL)
        fprintf(stderr, "usage: fill_queue -c CONF -n COUNT [-s FIRST] -f SENDER -r RECIPIENT "
                        "TEMPLATE\n");
    else
        status = fill_run(&options);
    g_free(options.config_path);
    g_free(options.sender);
    g_free(options.recipient);
    g_strfreev(options.rest);
    program_done();
    return status;
}
