/*
 * knowledge_cmd: mailtriagectl knowledge list, search and reindex; see knowledge_cmd.h.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <json-c/json.h>

#include "clock.h"
#include "ctl.h"
#include "db.h"
#include "knowledge.h"
#include "knowledge_cmd.h"
#include "log.h"
#include "store_knowledge.h"
#include "text.h"

static void knowledge_cmd_add_string(json_object *object, const char *key, const char *value)
{
    json_object_object_add(object, key, value != NULL ? json_object_new_string(value) : NULL);
}

/* --mailbox, which must be monitored; NULL in *MAILBOX_R when not given. */
static int knowledge_cmd_option_mailbox(struct ctl *ctl, const struct config_mailbox **mailbox_r)
{
    *mailbox_r = NULL;
    if (ctl->options->mailbox == NULL)
        return 0;
    *mailbox_r = config_mailbox_find(ctl->cfg, ctl->options->mailbox);
    if (*mailbox_r != NULL)
        return 0;
    char *shown = text_terminal_line(ctl->options->mailbox);
    command_usage_error(ctl->line->name->str, "--mailbox: %s is not a mailbox of %s", shown,
                        ctl->config_path);
    g_free(shown);
    return EX_USAGE;
}

/* --mailbox, or the first mailbox with knowledge. */
static int knowledge_cmd_choose_mailbox(struct ctl *ctl, const struct config_mailbox **mailbox_r)
{
    int status = knowledge_cmd_option_mailbox(ctl, mailbox_r);
    if (status != 0 || *mailbox_r != NULL)
        return status;
    guint with_knowledge = 0;
    for (guint i = 0; i < ctl->cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(ctl->cfg->mailboxes, i);
        if (mailbox->knowledge[0] != NULL && with_knowledge++ == 0)
            *mailbox_r = mailbox;
    }
    if (*mailbox_r == NULL) {
        log_error("no mailbox of %s has knowledge ([mailbox ADDRESS] knowledge = FILE|DIR, ...)",
                  ctl->config_path);
        return EX_FAILED;
    }
    if (with_knowledge > 1)
        fprintf(stderr,
                "mailtriagectl %s: %s, the first of %u mailboxes with knowledge (choose one "
                "with --mailbox)\n",
                ctl->line->name->str, (*mailbox_r)->address, with_knowledge);
    return 0;
}

/* ---- list ---- */

static json_object *knowledge_cmd_file_json(const struct store_knowledge_file *file)
{
    json_object *row = json_object_new_object();
    gboolean indexed = file->sha256 != NULL;
    knowledge_cmd_add_string(row, "mailbox", file->mailbox);
    knowledge_cmd_add_string(row, "path", file->path);
    json_object_object_add(row, "position", json_object_new_int64(file->position));
    json_object_object_add(row, "passages", json_object_new_int64(file->passages));
    json_object_object_add(row, "chars", json_object_new_int64(file->chars));
    json_object_object_add(row, "size", indexed ? json_object_new_int64(file->size) : NULL);
    json_object_object_add(row, "mtime_ns", indexed ? json_object_new_int64(file->mtime_ns) : NULL);
    knowledge_cmd_add_string(row, "sha256", file->sha256);
    json_object_object_add(row, "indexed_at",
                           indexed ? json_object_new_int64(file->indexed_at) : NULL);
    knowledge_cmd_add_string(row, "warning", file->warning);
    knowledge_cmd_add_string(row, "error", file->error);
    return row;
}

static void knowledge_cmd_print_file(const struct store_knowledge_file *file)
{
    char *path = text_terminal_line(file->path);
    char *when = file->sha256 != NULL ? clock_format_local(file->indexed_at, "%Y-%m-%d %H:%M:%S")
                                      : g_strdup("never");
    printf("%-24s %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT " %-19s %s\n", file->mailbox,
           file->passages, file->chars, when, path);
    if (file->error != NULL) {
        char *error = text_terminal_line(file->error);
        printf("    error: %s (the passages of its last version stay)\n", error);
        g_free(error);
    }
    if (file->warning != NULL) {
        char *warning = text_terminal_line(file->warning);
        printf("    warning: %s\n", warning);
        g_free(warning);
    }
    g_free(when);
    g_free(path);
}

static int knowledge_cmd_list(struct ctl *ctl)
{
    const struct config_mailbox *mailbox = NULL;
    int status = knowledge_cmd_option_mailbox(ctl, &mailbox);
    if (status != 0)
        return status;
    GPtrArray *files = NULL;
    char *error = NULL;
    status =
        store_knowledge_files(ctl->db, mailbox != NULL ? mailbox->address : NULL, &files, &error);
    if (status != DB_OK)
        return ctl_db_failure(status, error);
    if (ctl->options->json) {
        json_object *rows = json_object_new_array();
        for (guint i = 0; i < files->len; i++)
            json_object_array_add(rows, knowledge_cmd_file_json(g_ptr_array_index(files, i)));
        ctl_print_json(rows);
    } else if (files->len == 0)
        printf("no knowledge indexed%s%s (mailtriaged indexes it at start and reload; "
               "mailtriagectl knowledge reindex does it now)\n",
               mailbox != NULL ? " for " : "", mailbox != NULL ? mailbox->address : "");
    else {
        printf("%-24s %8s %8s %-19s %s\n", "MAILBOX", "PASSAGES", "CHARS", "INDEXED", "PATH");
        for (guint i = 0; i < files->len; i++)
            knowledge_cmd_print_file(g_ptr_array_index(files, i));
    }
    g_ptr_array_unref(files);
    return 0;
}

/* ---- search ---- */

static json_object *knowledge_cmd_selection_json(const struct config_mailbox *mailbox,
                                                 const struct knowledge_selection *sel)
{
    json_object *object = json_object_new_object();
    knowledge_cmd_add_string(object, "mailbox", mailbox->address);
    json_object_object_add(object, "whole", json_object_new_boolean(sel->whole));
    knowledge_cmd_add_string(object, "query", sel->query);
    json_object_object_add(object, "total_passages", json_object_new_int64(sel->total_passages));
    json_object_object_add(object, "total_chars", json_object_new_int64(sel->total_chars));
    json_object_object_add(object, "chars", json_object_new_int64(sel->chars));
    json_object_object_add(object, "max_knowledge_chars", json_object_new_int64(sel->max_chars));
    json_object_object_add(object, "cut", json_object_new_boolean(sel->cut));
    json_object *sources = json_object_new_array();
    for (guint i = 0; i < sel->sources->len; i++) {
        const struct knowledge_source *source = g_ptr_array_index(sel->sources, i);
        json_object *row = json_object_new_object();
        json_object_object_add(row, "number", json_object_new_int(source->number));
        knowledge_cmd_add_string(row, "path", source->path);
        knowledge_cmd_add_string(row, "heading", source->heading);
        json_object_object_add(row, "score",
                               source->scored ? json_object_new_double(source->score) : NULL);
        knowledge_cmd_add_string(row, "text", source->text);
        json_object_array_add(sources, row);
    }
    json_object_object_add(object, "sources", sources);
    return object;
}

/* What goes, and why, on a line. */
static void knowledge_cmd_print_verdict(const struct config_mailbox *mailbox,
                                        const struct knowledge_selection *sel)
{
    printf("%s: %" G_GINT64_FORMAT " passages, %" G_GINT64_FORMAT
           " characters; max_knowledge_chars %u\n",
           mailbox->address, sel->total_passages, sel->total_chars, sel->max_chars);
    if (sel->total_passages == 0)
        printf("no knowledge indexed: the model gets none (mailtriaged indexes it at start and "
               "reload; mailtriagectl knowledge reindex does it now)\n");
    else if (sel->whole)
        printf("the whole knowledge base goes, in document order: %u sources, %" G_GINT64_FORMAT
               " of %u characters\n",
               sel->sources->len, sel->chars, sel->max_chars);
    else if (sel->sources->len == 0)
        printf("no passage matches the text: the model gets no knowledge\n");
    else
        printf("the best matches go: %u sources, %" G_GINT64_FORMAT " of %u characters%s\n",
               sel->sources->len, sel->chars, sel->max_chars,
               sel->cut ? " (the best one cut to fit)" : "");
}

static void knowledge_cmd_print_source(const struct knowledge_source *source)
{
    char *path = text_terminal_line(source->path);
    char *heading = text_terminal_line(source->heading);
    const char *end = strchr(source->text, '\n');
    char *first =
        g_strndup(source->text, end != NULL ? (gsize)(end - source->text) : strlen(source->text));
    char *line = text_terminal_line(first);
    char *score = source->scored ? g_strdup_printf("%.2f", source->score) : g_strdup("-");
    printf("[%d] %-6s %s%s%s\n    %s\n", source->number, score, path, *heading != '\0' ? "  " : "",
           heading, line);
    g_free(score);
    g_free(line);
    g_free(first);
    g_free(heading);
    g_free(path);
}

static int knowledge_cmd_search(struct ctl *ctl)
{
    const struct config_mailbox *mailbox = NULL;
    int status = knowledge_cmd_choose_mailbox(ctl, &mailbox);
    if (status != 0)
        return status;
    struct knowledge_selection *sel = NULL;
    char *error = NULL;
    if (knowledge_select(ctl->db, ctl->cfg, mailbox, ctl->line->text, &sel, &error) < 0)
        return ctl_db_failure(DB_ERROR, error);
    if (ctl->options->json)
        ctl_print_json(knowledge_cmd_selection_json(mailbox, sel));
    else {
        knowledge_cmd_print_verdict(mailbox, sel);
        for (guint i = 0; i < sel->sources->len; i++)
            knowledge_cmd_print_source(g_ptr_array_index(sel->sources, i));
    }
    knowledge_selection_free(sel);
    return 0;
}

/* ---- reindex ---- */

static const char *const knowledge_cmd_change_names[] = {"indexed", "unreadable", "removed"};

static json_object *knowledge_cmd_report_json(const struct knowledge_sync_report *report)
{
    json_object *object = json_object_new_object();
    json_object_object_add(object, "files", json_object_new_int64(report->files));
    json_object_object_add(object, "indexed", json_object_new_int64(report->indexed));
    json_object_object_add(object, "unchanged", json_object_new_int64(report->unchanged));
    json_object_object_add(object, "unreadable", json_object_new_int64(report->failed));
    json_object_object_add(object, "removed", json_object_new_int64(report->removed));
    json_object *changes = json_object_new_array();
    for (guint i = 0; i < report->changes->len; i++) {
        const struct knowledge_change *change = g_ptr_array_index(report->changes, i);
        json_object *row = json_object_new_object();
        knowledge_cmd_add_string(row, "change", knowledge_cmd_change_names[change->kind]);
        knowledge_cmd_add_string(row, "mailbox", change->mailbox);
        knowledge_cmd_add_string(row, "path", change->path);
        json_object_object_add(row, "passages", json_object_new_int64(change->passages));
        json_object_object_add(row, "chars", json_object_new_int64(change->chars));
        knowledge_cmd_add_string(row, "reason", change->reason);
        json_object_array_add(changes, row);
    }
    json_object_object_add(object, "changes", changes);
    return object;
}

static int knowledge_cmd_reindex(struct ctl *ctl)
{
    struct knowledge_sync_report *report = NULL;
    char *error = NULL;
    if (knowledge_sync(ctl->db, ctl->cfg, &report, &error) < 0)
        return ctl_db_failure(DB_ERROR, error);
    if (ctl->options->json)
        ctl_print_json(knowledge_cmd_report_json(report));
    else {
        for (guint i = 0; i < report->changes->len; i++) {
            char *line = knowledge_change_describe(g_ptr_array_index(report->changes, i));
            char *clean = text_terminal_line(line);
            puts(clean);
            g_free(clean);
            g_free(line);
        }
        char *summary = knowledge_sync_summarize(report);
        puts(summary);
        g_free(summary);
    }
    int status = report->failed > 0 ? EX_FAILED : 0;
    knowledge_sync_report_free(report);
    return status;
}

static const GOptionEntry knowledge_cmd_list_options[] = {{"mailbox", 0, 0, G_OPTION_ARG_STRING,
                                                           &ctl_options.mailbox,
                                                           "Only the files of ADDRESS", "ADDRESS"},
                                                          {NULL}};
static const GOptionEntry knowledge_cmd_search_options[] = {
    {"mailbox", 0, 0, G_OPTION_ARG_STRING, &ctl_options.mailbox,
     "The knowledge of ADDRESS (default: the first mailbox with knowledge)", "ADDRESS"},
    {NULL}};

const struct command knowledge_cmd_commands[] = {
    {"list", "The files indexed: passages, characters, when, and any warning or error", "",
     knowledge_cmd_list_options, knowledge_cmd_list, COMMAND_READS, COMMAND_NO_ARGUMENTS, NULL},
    {"search", "The numbered sources the model would be given for TEXT", "TEXT...",
     knowledge_cmd_search_options, knowledge_cmd_search, COMMAND_READS, COMMAND_TEXT, NULL},
    {"reindex", "Index the documents that changed now, and say what changed", "", NULL,
     knowledge_cmd_reindex, COMMAND_WRITES, COMMAND_NO_ARGUMENTS, NULL},
    {NULL}};
