/*
 * config_check: what a configuration points at, checked before the daemon or the MTA finds out.
 *
 * config_check_environment() looks at what a loaded configuration names and returns every
 * problem, one line each naming the key, for the user the daemon runs as: the database's
 * directory (and an existing database, -wal and -shm) writable, the sendmail binary
 * executable, templates, persona files, webhook secret files and the API key file readable
 * (the key and the secrets not by every user), the unix socket's directory writable and its group
 * one the user belongs to, [daemon] user and socket_group known. Access is decided from stat()
 * (owner, group, mode, every directory on the way) and the user's groups, as the kernel would
 * decide it, so the answer is the same whether the check runs as root or as the user, and no
 * identity is ever changed. ACLs are not read: a denial by the mode on a file with an ACL is only a
 * warning. config_check_file() is `mailtriaged -n` and `mailtriagectl config check`: the file, then
 * what it points at.
 */
#ifndef MAILTRIAGE_CONFIG_CHECK_H
#define MAILTRIAGE_CONFIG_CHECK_H

#include <sys/types.h>

#include <glib.h>

#include "config.h"

enum config_check_severity { CONFIG_CHECK_WARNING, CONFIG_CHECK_ERROR };

struct config_check_problem {
    enum config_check_severity severity;
    char *key;  /* the key it is about ("database"), NULL for the file as a whole */
    char *text; /* one line: "[daemon] database: directory /var/lib/mailtriage does not exist" */
};

/* Whom the check is for. */
struct config_check_user {
    char *name;
    uid_t uid;
    gid_t *groups; /* every group of the user, the primary one included */
    int n_groups;
    /* The daemon is started as this user (not by root, who binds the socket, then becomes
     * it): the user itself must be able to create the socket. */
    gboolean starts_daemon;
};

/* The user NAME (getpwnam, getgrouplist), or the running process's identity when NAME is NULL. */
int config_check_user_lookup(const char *name, struct config_check_user **user_r,
                             char **error_r) G_GNUC_WARN_UNUSED_RESULT;
void config_check_user_free(struct config_check_user *user);

/* Every problem of what CFG points at, for USER (NULL when unknown: then only that the files
 * exist and are of the right kind), as a new array of struct config_check_problem *. */
GPtrArray *config_check_environment(const struct config *cfg, const struct config_check_user *user);

/* The file at PATH (config_load_syntax()); unless SYNTAX_ONLY, what it points at for USER
 * (NULL: [daemon] user, or the running process when none is set), then the templates' and the
 * API key's contents (config_load()) unless those files already have a problem. Returns the
 * problems; *CFG_R is the configuration read, NULL when the file itself is wrong. */
GPtrArray *config_check_file(const char *path, const char *user, gboolean syntax_only,
                             struct config **cfg_r);

/* Log each problem as a warning or an error; returns the number of errors. */
guint config_check_log(const GPtrArray *problems);

/* The path of a unix milter socket ("unix:/p", "local:/p" or "/p"), NULL for another kind. */
const char *config_check_unix_socket(const char *socket);

#endif
