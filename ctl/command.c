/*
 * command: mailtriagectl's command line, from the command table; see command.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "addr.h"
#include "command.h"

void command_usage_error(const char *command, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *message = g_strdup_vprintf(format, args);
    va_end(args);
    const char *space = *command != '\0' ? " " : "";
    fprintf(stderr, "mailtriagectl%s%s: %s\nTry 'mailtriagectl%s%s --help'.\n", space, command,
            message, space, command);
    g_free(message);
}

/* The commands under PREFIX (COMMANDS), a line each, for a --help. */
static void command_describe(GString *out, const char *prefix, const struct command *commands)
{
    for (const struct command *c = commands; c->name != NULL; c++) {
        char *name =
            *prefix != '\0' ? g_strdup_printf("%s %s", prefix, c->name) : g_strdup(c->name);
        if (c->subcommands != NULL)
            command_describe(out, name, c->subcommands);
        else {
            char *usage = g_strchomp(g_strdup_printf("%s %s", name, c->parameters));
            g_string_append_printf(out, "  %-18s %s\n", usage, c->summary);
            g_free(usage);
        }
        g_free(name);
    }
}

static GOptionContext *command_context_new(const struct command_line *line)
{
    const struct command *command = line->path[line->depth];
    char *usage = g_strstrip(g_strdup_printf("%s %s", line->name->str, command->parameters));
    GOptionContext *context = g_option_context_new(usage);
    g_free(usage);
    g_option_context_set_summary(context, command->summary);
    if (command->options != NULL && line->depth > 0)
        g_option_context_add_main_entries(context, command->options, NULL);
    /* In the main group rather than a group of their own, so that every --help lists them. */
    g_option_context_add_main_entries(context, line->path[0]->options, NULL);
    if (command->subcommands != NULL) {
        GString *description = g_string_new("Commands:\n");
        command_describe(description, line->name->str, command->subcommands);
        g_string_append_printf(description,
                               "\nOptions go before or after the command; 'mailtriagectl %s%s"
                               "COMMAND --help' lists a command's options.",
                               line->name->str, line->depth > 0 ? " " : "");
        g_option_context_set_description(context, description->str);
        g_string_free(description, TRUE);
    }
    return context;
}

void command_print_help(const struct command_line *line, FILE *out)
{
    GOptionContext *context = command_context_new(line);
    char *help = g_option_context_get_help(context, TRUE, NULL);
    fputs(help, out);
    g_free(help);
    g_option_context_free(context);
}

/* Whether WORD, an option, takes the next word as its value. Only the root's options may come
 * before the command, so only they (OPTIONS) are looked at. */
static gboolean command_takes_next_word(const GOptionEntry *options, const char *word)
{
    if (g_str_has_prefix(word, "--")) {
        for (const GOptionEntry *e = options; e->long_name != NULL; e++)
            if (strcmp(word + 2, e->long_name) == 0)
                return e->arg != G_OPTION_ARG_NONE;
        return FALSE;
    }
    for (const char *p = word + 1; *p != '\0'; p++)
        for (const GOptionEntry *e = options; e->long_name != NULL; e++)
            if (e->short_name == *p && e->arg != G_OPTION_ARG_NONE)
                return TRUE; /* as GOption, which takes no value inside the word (-cFILE) */
    return FALSE;
}

/* The first N words of ARGV that are neither options nor their values, into WORDS_R: the
 * command's name and maybe its sub-command's. */
static int command_words(const GOptionEntry *options, int argc, char **argv, const char *words_r[],
                         int n)
{
    int found = 0;
    gboolean in_options = TRUE;
    for (int i = 1; i < argc && found < n; i++) {
        if (in_options && strcmp(argv[i], "--") == 0)
            in_options = FALSE;
        else if (in_options && argv[i][0] == '-' && argv[i][1] != '\0') {
            if (command_takes_next_word(options, argv[i]))
                i++;
        } else
            words_r[found++] = argv[i];
    }
    return found;
}

int command_line_find(const struct command *root, const char *const words[], int n_words,
                      struct command_line *line_r)
{
    *line_r = (struct command_line){.path = {root}, .name = g_string_new(NULL)};
    while (line_r->path[line_r->depth]->subcommands != NULL && line_r->depth < n_words) {
        const char *word = words[line_r->depth];
        const struct command *found = line_r->path[line_r->depth]->subcommands;
        while (found->name != NULL && strcmp(found->name, word) != 0)
            found++;
        if (found->name == NULL) {
            command_usage_error(line_r->name->str, "unknown command '%s'", word);
            return COMMAND_EX_USAGE;
        }
        line_r->path[++line_r->depth] = found;
        g_string_append_printf(line_r->name, "%s%s", line_r->depth > 1 ? " " : "", found->name);
    }
    return 0;
}

/* Options anywhere in *ARGV; what is left is the program, the command's words, its arguments. */
static int command_parse_options(const struct command_line *line, int *argc, char ***argv)
{
    GOptionContext *context = command_context_new(line);
    GError *error = NULL;
    gboolean parsed = g_option_context_parse(context, argc, argv, &error);
    g_option_context_free(context);
    if (!parsed) {
        command_usage_error(line->name->str, "%s", error->message);
        g_error_free(error);
        return COMMAND_EX_USAGE;
    }
    /* GOption leaves the "--" that ends the options when an argument after it starts with -. */
    for (int i = 1; i < *argc; i++)
        if (strcmp((*argv)[i], "--") == 0) {
            memmove(*argv + i, *argv + i + 1, (size_t)(*argc - i - 1) * sizeof(char *));
            (*argc)--;
            break;
        }
    for (int i = 1; i <= line->depth; i++)
        if (i >= *argc || strcmp((*argv)[i], line->path[i]->name) != 0) {
            command_usage_error(line->name->str, "the command's name must come before its options");
            return COMMAND_EX_USAGE;
        }
    return 0;
}

static int command_parse_id(const struct command_line *line, const char *text, gint64 *id_r)
{
    guint64 id = 0;
    if (!g_ascii_string_to_unsigned(text, 10, 1, G_MAXINT64, &id, NULL)) {
        command_usage_error(line->name->str, "ID must be a whole number from 1 up, not '%s'", text);
        return COMMAND_EX_USAGE;
    }
    *id_r = (gint64)id;
    return 0;
}

/* ARGS, what follows the command's words, into LINE. */
static int command_parse_arguments(struct command_line *line, char **args, int n_args)
{
    const struct command *command = line->path[line->depth];
    if (command->subcommands != NULL) {
        command_usage_error(line->name->str, "missing command");
        return COMMAND_EX_USAGE;
    }
    if (command->arguments == COMMAND_TEXT) {
        if (n_args == 0) {
            command_usage_error(line->name->str, "missing TEXT");
            return COMMAND_EX_USAGE;
        }
        GString *text = g_string_new(args[0]);
        for (int i = 1; i < n_args; i++)
            g_string_append_printf(text, " %s", args[i]);
        line->text = g_string_free(text, FALSE);
        return 0;
    }
    int most = command->arguments == COMMAND_ID || command->arguments == COMMAND_ADDRESS ? 1
               : command->arguments == COMMAND_WORDS ? COMMAND_MAX_DEPTH
                                                     : 0;
    if (n_args > most) {
        command_usage_error(line->name->str, "unexpected argument '%s'", args[most]);
        return COMMAND_EX_USAGE;
    }
    if (command->arguments == COMMAND_ID) {
        if (n_args == 0) {
            command_usage_error(line->name->str, "missing ID");
            return COMMAND_EX_USAGE;
        }
        return command_parse_id(line, args[0], &line->id);
    }
    if (command->arguments == COMMAND_ADDRESS && (n_args == 0 || !addr_is_safe(args[0]))) {
        if (n_args == 0)
            command_usage_error(line->name->str, "missing ADDRESS");
        else
            command_usage_error(line->name->str, "ADDRESS must be a plain mail address, not '%s'",
                                args[0]);
        return COMMAND_EX_USAGE;
    }
    for (int i = 0; i < n_args; i++)
        line->words[i] = args[i];
    line->n_words = n_args;
    return 0;
}

int command_line_parse(const struct command *root, int *argc, char ***argv,
                       struct command_line *line_r)
{
    const char *words[COMMAND_MAX_DEPTH] = {NULL};
    int n_words = command_words(root->options, *argc, *argv, words, COMMAND_MAX_DEPTH);
    int status = command_line_find(root, words, n_words, line_r);
    if (status == 0)
        status = command_parse_options(line_r, argc, argv);
    return status;
}

int command_line_arguments(struct command_line *line, int argc, char **argv)
{
    return command_parse_arguments(line, argv + 1 + line->depth, argc - 1 - line->depth);
}

void command_line_clear(struct command_line *line)
{
    if (line->name != NULL)
        g_string_free(line->name, TRUE);
    line->name = NULL;
    g_clear_pointer(&line->text, g_free);
}
