/*
 * ctl: one run of mailtriagectl, as the files that implement its commands share it.
 *
 * mailtriagectl.c parses the command line into ctl_options (GOption writes there, hence one
 * instance), loads the configuration and opens the database as the command's row says, and
 * hands each command's function a struct ctl. The exit statuses follow sysexits.h.
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

/* What the command line set. */
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

/* Log ERROR (taken) of a database call that returned STATUS; the exit status to return. */
int ctl_db_failure(int status, char *error);
/* Print OBJECT (taken) as pretty JSON. */
void ctl_print_json(json_object *object);

#endif
