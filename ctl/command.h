/*
 * command: mailtriagectl's commands as a table, and the command line that names one.
 *
 * The command line has the shape admins know from git and systemctl: mailtriagectl [OPTION...]
 * COMMAND [SUB-COMMAND] [ARGUMENT...] [OPTION...]. A row of the table gives a command's name,
 * summary and parameters (for --help), its options, the function that runs it and how it uses
 * the database; a command with sub-commands points at a table of its own. The root row is the
 * program, and its options belong to every command. command_line_parse() gives each command a
 * GOptionContext of its own with its options and the root's, so that options go before or after
 * the command and each --help lists what that command takes; GOption stores the values where the
 * entries point. A bad command line is said on stderr, with where to read more, and is EX_USAGE.
 */
#ifndef MAILTRIAGECTL_COMMAND_H
#define MAILTRIAGECTL_COMMAND_H

#include <stdio.h>

#include <glib.h>

#define COMMAND_EX_USAGE 64
/* Command words before the arguments: `draft approve`. */
#define COMMAND_MAX_DEPTH 2

struct ctl; /* the state of mailtriagectl's run, which the command's function gets */

enum command_database {
    COMMAND_NO_DATABASE,
    COMMAND_READS, /* opened read-only */
    COMMAND_WRITES /* opened read-write; never created */
};
enum command_arguments {
    COMMAND_NO_ARGUMENTS,
    COMMAND_ID,      /* one, a positive whole number */
    COMMAND_WORDS,   /* up to COMMAND_MAX_DEPTH, the words of another command (help) */
    COMMAND_ADDRESS, /* one, a plain mail address (addr_is_safe()), in words[0] */
    COMMAND_TEXT     /* one or more words, joined with spaces in text */
};

struct command {
    const char *name;
    const char *summary;
    const char *parameters;      /* after the name in the usage line */
    const GOptionEntry *options; /* its own, beside the root's; NULL when none */
    int (*run)(struct ctl *ctl); /* NULL when it has sub-commands */
    enum command_database database;
    enum command_arguments arguments;
    const struct command *subcommands; /* ended by a row without name */
};

/* A command line, parsed. */
struct command_line {
    const struct command *path[COMMAND_MAX_DEPTH + 1]; /* from the root down */
    int depth;                                         /* path[depth] is the command */
    GString *name;                                     /* "draft approve"; "" for the root */
    gint64 id;                                         /* COMMAND_ID */
    const char *words[COMMAND_MAX_DEPTH];              /* COMMAND_WORDS, COMMAND_ADDRESS */
    int n_words;
    char *text; /* COMMAND_TEXT */
};

/* Find the command of *ARGV under ROOT into *LINE_R (the root itself when none is named) and
 * parse the options out of *ARGV. 0, or EX_USAGE after saying why; *LINE_R is to be freed with
 * command_line_clear() in either case. --help prints the help and exits. */
int command_line_parse(const struct command *root, int *argc, char ***argv,
                       struct command_line *line_r) G_GNUC_WARN_UNUSED_RESULT;
/* Then check what is left in ARGV, the command's arguments, into LINE: a command that has
 * sub-commands (the root too) is missing one. 0, or EX_USAGE after saying why. Separate, so
 * that -V can win over a missing argument as --help does. */
int command_line_arguments(struct command_line *line, int argc,
                           char **argv) G_GNUC_WARN_UNUSED_RESULT;
/* The command WORDS name under ROOT (none: the root), as command_line_parse() would. */
int command_line_find(const struct command *root, const char *const words[], int n_words,
                      struct command_line *line_r) G_GNUC_WARN_UNUSED_RESULT;
void command_line_clear(struct command_line *line);

/* The usage, options and sub-commands of LINE's command, to OUT. */
void command_print_help(const struct command_line *line, FILE *out);
/* Say what is wrong with the command line of COMMAND ("draft approve", "" for the root), and
 * where to read how it goes. */
void command_usage_error(const char *command, const char *format, ...) G_GNUC_PRINTF(2, 3);

#endif
