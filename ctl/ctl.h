/*
 * ctl: what mailtriagectl's commands share: the state of the run, the options GOption fills,
 * and the helpers that print for a person or a script.
 *
 * mailtriagectl.c runs a command (command.h finds it in a table) with a struct ctl: its
 * options, its command line (the ID or words), the configuration and the database, opened as
 * the command's row says. A command in a file of its own (ctl_conversation.c, knowledge_cmd.c) uses
 * the helpers below so that every command prints, fails and audits alike: JSON through
 * ctl_print_json(), times through ctl_time(), table cells and lines cleaned for a terminal (mail
 * and model text may carry escape sequences), database failures through ctl_db_failure(), the
 * operator as the audit trail names them through ctl_operator().
 */
#ifndef MAILTRIAGECTL_CTL_H
#define MAILTRIAGECTL_CTL_H

#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "command.h"
#include "config.h"

#define EX_FAILED 1
#define EX_USAGE COMMAND_EX_USAGE
#define EX_NOINPUT 66
#define EX_TEMPFAIL 75
#define EX_CONFIG 78

/* What the command line set; GOption writes here, hence one static instance (ctl_options). */
struct ctl_options {
    char *config_path;
    gboolean json;
    gboolean version;
    char *state;  /* list --state, checked while parsing */
    gint64 limit; /* list --limit, checked while parsing; -1 when not given */
    gboolean all;
    gboolean raw;
    char *reason;
    gboolean syntax_only; /* config check --syntax */
    char *mailbox;        /* knowledge --mailbox, checked against the configuration */
};
extern struct ctl_options ctl_options;

struct ctl {
    const struct ctl_options *options;
    const struct command_line *line; /* the command, its ID or words */
    const char *config_path;         /* -c, or the default */
    struct config *cfg;
    sqlite3 *db;
};

/* Log ERROR (freed) and return the exit status for STATUS: 75 when busy, else 1. */
int ctl_db_failure(int status, char *error);
/* Print OBJECT (consumed) as pretty JSON. */
void ctl_print_json(json_object *object);
/* The string at KEY of OBJECT, or NULL when it is null or absent. */
const char *ctl_json_text(json_object *object, const char *key);
char *ctl_time(gint64 seconds);
/* TEXT cut to WIDTH characters for a table cell, on one clean line ("-" for NULL). */
char *ctl_cell(const char *text, glong width);
/* The string of VALUE as one clean line. */
char *ctl_line(json_object *value);
/* "LABEL VALUE" for KEY of OBJECT, when it is there (times formatted). */
void ctl_print_field(json_object *object, const char *key, const char *label);
/* The knowledge sources of an answer (classification.h's JSON array), a line each with INDENT:
 * "[2] Prices > Pro plan (/kb/prices.md)", or "[7] (not given to the model)". */
void ctl_print_sources(json_object *sources, const char *indent);
/* TEXT for a terminal, ended by a new line. */
void ctl_print_clean(const char *text);
/* The operator as the audit trail names them: the login name, and under sudo who ran it. */
char *ctl_operator(void);
/* The GOption callback of --limit N (0: all) into ctl_options.limit. */
gboolean ctl_option_limit(const char *name, const char *value, gpointer data, GError **error);

#endif
