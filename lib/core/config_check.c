/*
 * config_check: the files, directories, users and groups a configuration names; see
 * config_check.h.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <glib.h>

#include "config_check.h"
#include "log.h"

/* The most groups of one user we look at (NGROUPS_MAX on Linux). */
#define CONFIG_CHECK_MAX_GROUPS 65536

/* The mode's rwx bits are tested with these. */
G_STATIC_ASSERT(R_OK == 4 && W_OK == 2 && X_OK == 1);

enum config_check_found { CONFIG_CHECK_FOUND, CONFIG_CHECK_MISSING, CONFIG_CHECK_REPORTED };

/* One run of the checks, and what the key being checked is: its problems are reported with
 * that group and key, and a denial with that severity and note. */
struct config_check {
    GPtrArray *problems;
    const struct config_check_user *user;
    const char *group;
    const char *key;
    enum config_check_severity denied;
    const char *note; /* said after a denial, or NULL */
};

static void config_check_problem_free(gpointer data)
{
    struct config_check_problem *problem = data;
    g_free(problem->key);
    g_free(problem->text);
    g_free(problem);
}

static GPtrArray *config_check_problems_new(void)
{
    return g_ptr_array_new_with_free_func(config_check_problem_free);
}

static void config_check_append(GPtrArray *problems, enum config_check_severity severity,
                                const char *key, char *text)
{
    struct config_check_problem *problem = g_new0(struct config_check_problem, 1);
    problem->severity = severity;
    problem->key = g_strdup(key);
    problem->text = text;
    g_ptr_array_add(problems, problem);
}

G_GNUC_PRINTF(3, 4)
static void config_check_add(struct config_check *check, enum config_check_severity severity,
                             const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *detail = g_strdup_vprintf(format, args);
    va_end(args);
    config_check_append(check->problems, severity, check->key,
                        g_strdup_printf("[%s] %s: %s", check->group, check->key, detail));
    g_free(detail);
}

static void config_check_for(struct config_check *check, const char *group, const char *key)
{
    check->group = group;
    check->key = key;
    check->denied = CONFIG_CHECK_ERROR;
    check->note = NULL;
}

/* --- access, as the kernel decides it from the mode --- */

static gboolean config_check_in_group(const struct config_check_user *user, gid_t gid)
{
    for (int i = 0; i < user->n_groups; i++)
        if (user->groups[i] == gid)
            return TRUE;
    return FALSE;
}

/* Whether USER may do WANT (R_OK, W_OK or X_OK) to a file of status ST: the owner's bits for
 * its owner, else the group's bits for a member of its group, else the others' bits. Root may
 * read and write anything and search any directory, but executes only a file with an x bit. */
static gboolean config_check_may(const struct stat *st, const struct config_check_user *user,
                                 int want)
{
    if (user == NULL)
        return TRUE;
    if (user->uid == 0)
        return want != X_OK || S_ISDIR(st->st_mode) || (st->st_mode & 0111) != 0;
    unsigned bits = st->st_mode & 07;
    if (st->st_uid == user->uid)
        bits = (st->st_mode >> 6) & 07;
    else if (config_check_in_group(user, st->st_gid))
        bits = (st->st_mode >> 3) & 07;
    return (bits & (unsigned)want) != 0;
}

/* Report unless USER may do every access of WANT to PATH. */
static gboolean config_check_allowed(struct config_check *check, const char *path,
                                     const struct stat *st, int want)
{
    const char *denied = NULL;
    if ((want & R_OK) && !config_check_may(st, check->user, R_OK))
        denied = "readable";
    else if ((want & W_OK) && !config_check_may(st, check->user, W_OK))
        denied = "writable";
    else if ((want & X_OK) && !config_check_may(st, check->user, X_OK))
        denied = S_ISDIR(st->st_mode) ? "searchable" : "executable";
    if (denied == NULL)
        return TRUE;
    const char *kind = S_ISDIR(st->st_mode) ? "directory " : "";
    const char *note = check->note != NULL ? check->note : "";
    /* The mode of a file with an ACL tells only part of the story. */
    if (getxattr(path, "system.posix_acl_access", NULL, 0) >= 0)
        config_check_add(check, CONFIG_CHECK_WARNING,
                         "%s%s is not %s by %s by its mode, and it has an ACL, which is not "
                         "checked%s",
                         kind, path, denied, check->user->name, note);
    else
        config_check_add(check, check->denied, "%s%s is not %s by %s%s", kind, path, denied,
                         check->user->name, note);
    return FALSE;
}

/* Every directory from / down to DIR must exist and let USER search it. */
static gboolean config_check_directories(struct config_check *check, const char *dir)
{
    size_t len = strlen(dir);
    gboolean passed = TRUE;
    for (size_t end = 1; passed && end <= len; end++) {
        if (end != 1 && end != len && dir[end] != '/')
            continue;
        char *prefix = g_strndup(dir, end);
        struct stat st;
        if (stat(prefix, &st) < 0) {
            if (errno == ENOENT)
                config_check_add(check, CONFIG_CHECK_ERROR, "directory %s does not exist", prefix);
            else /* the running process may see less than the user */
                config_check_add(check, CONFIG_CHECK_WARNING, "cannot examine %s: %s", prefix,
                                 g_strerror(errno));
            passed = FALSE;
        } else if (!S_ISDIR(st.st_mode)) {
            config_check_add(check, CONFIG_CHECK_ERROR, "%s is not a directory", prefix);
            passed = FALSE;
        } else
            passed = config_check_allowed(check, prefix, &st, X_OK);
        g_free(prefix);
    }
    return passed;
}

/* Stat PATH after checking the directories on the way to it, as the kernel walks them: those
 * of the path as written, and those of the directory a symbolic link on the way leads to.
 * CONFIG_CHECK_MISSING when only PATH itself does not exist. */
static enum config_check_found config_check_stat(struct config_check *check, const char *path,
                                                 struct stat *st_r)
{
    char *dir = g_path_get_dirname(path);
    char *real = realpath(dir, NULL);
    gboolean passed = config_check_directories(check, dir);
    if (passed && real != NULL && strcmp(real, dir) != 0)
        passed = config_check_directories(check, real);
    free(real);
    g_free(dir);
    if (!passed)
        return CONFIG_CHECK_REPORTED;
    if (stat(path, st_r) == 0)
        return CONFIG_CHECK_FOUND;
    if (errno == ENOENT)
        return CONFIG_CHECK_MISSING;
    config_check_add(check, CONFIG_CHECK_WARNING, "cannot examine %s: %s", path, g_strerror(errno));
    return CONFIG_CHECK_REPORTED;
}

/* PATH must exist and be a regular file; TRUE when it is (ST_R then holds its status). */
static gboolean config_check_regular_file(struct config_check *check, const char *path,
                                          struct stat *st_r)
{
    switch (config_check_stat(check, path, st_r)) {
    case CONFIG_CHECK_MISSING:
        config_check_add(check, CONFIG_CHECK_ERROR, "%s does not exist", path);
        return FALSE;
    case CONFIG_CHECK_REPORTED:
        return FALSE;
    case CONFIG_CHECK_FOUND:
        break;
    }
    if (S_ISREG(st_r->st_mode))
        return TRUE;
    config_check_add(check, CONFIG_CHECK_ERROR, "%s is not a regular file", path);
    return FALSE;
}

/* A directory that must exist and where USER creates files; TRUE when all is well. */
static gboolean config_check_work_directory(struct config_check *check, const char *dir,
                                            enum config_check_severity missing,
                                            const char *missing_note)
{
    struct stat st;
    switch (config_check_stat(check, dir, &st)) {
    case CONFIG_CHECK_MISSING:
        config_check_add(check, missing, "directory %s does not exist%s", dir, missing_note);
        return FALSE;
    case CONFIG_CHECK_REPORTED:
        return FALSE;
    case CONFIG_CHECK_FOUND:
        break;
    }
    if (!S_ISDIR(st.st_mode)) {
        config_check_add(check, CONFIG_CHECK_ERROR, "%s is not a directory", dir);
        return FALSE;
    }
    return config_check_allowed(check, dir, &st, W_OK | X_OK);
}

/* --- the keys --- */

static void config_check_database(struct config_check *check, const struct config *cfg)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    config_check_for(check, "daemon", "database");
    char *dir = g_path_get_dirname(cfg->daemon.database);
    /* SQLite creates the database, and in WAL mode its -wal and -shm files, in DIR. */
    if (config_check_work_directory(check, dir, CONFIG_CHECK_ERROR, "")) {
        for (size_t i = 0; i < G_N_ELEMENTS(suffixes); i++) {
            char *path = g_strconcat(cfg->daemon.database, suffixes[i], NULL);
            struct stat st;
            if (stat(path, &st) < 0) {
                if (errno != ENOENT) /* else it is created when first opened */
                    config_check_add(check, CONFIG_CHECK_WARNING, "cannot examine %s: %s", path,
                                     g_strerror(errno));
            } else if (!S_ISREG(st.st_mode))
                config_check_add(check, CONFIG_CHECK_ERROR, "%s is not a regular file", path);
            else
                config_check_allowed(check, path, &st, R_OK | W_OK);
            g_free(path);
        }
    }
    g_free(dir);
}

static void config_check_sendmail(struct config_check *check, const struct config *cfg)
{
    struct stat st;
    config_check_for(check, "sendmail", "path");
    if (config_check_regular_file(check, cfg->sendmail.path, &st))
        config_check_allowed(check, cfg->sendmail.path, &st, X_OK);
}

static void config_check_readable(struct config_check *check, const char *path)
{
    struct stat st;
    if (*path != '\0' && config_check_regular_file(check, path, &st))
        config_check_allowed(check, path, &st, R_OK);
}

static void config_check_templates(struct config_check *check, const struct config *cfg)
{
    for (guint i = 0; i < cfg->intents->len; i++) {
        const struct config_intent *intent = g_ptr_array_index(cfg->intents, i);
        char *group = g_strdup_printf("intent %s", intent->intent);
        config_check_for(check, group, "template");
        config_check_readable(check, intent->template);
        config_check_for(check, group, "template_html");
        config_check_readable(check, intent->template_html);
        g_free(group);
    }
}

static void config_check_knowledge_path(struct config_check *check, const char *path)
{
    struct stat st;
    switch (config_check_stat(check, path, &st)) {
    case CONFIG_CHECK_MISSING:
        config_check_add(check, CONFIG_CHECK_ERROR, "%s does not exist", path);
        return;
    case CONFIG_CHECK_REPORTED:
        return;
    case CONFIG_CHECK_FOUND:
        break;
    }
    if (S_ISDIR(st.st_mode))
        config_check_allowed(check, path, &st, R_OK | X_OK);
    else if (S_ISREG(st.st_mode))
        config_check_allowed(check, path, &st, R_OK);
    else
        config_check_add(check, CONFIG_CHECK_ERROR, "%s is neither a file nor a directory", path);
}

/* A knowledge file that is missing or unreadable is only a warning: the daemon runs without it
 * and keeps the passages of its last version, and a file on a mount that is away must not keep
 * it from starting (the unit runs mailtriaged -n first). */
static void config_check_knowledge(struct config_check *check, const struct config *cfg)
{
    guint first = check->problems->len;
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        char *group = g_strdup_printf("mailbox %s", mailbox->address);
        config_check_for(check, group, "knowledge");
        for (char **path = mailbox->knowledge; *path != NULL; path++)
            config_check_knowledge_path(check, *path);
        g_free(group);
    }
    for (guint i = first; i < check->problems->len; i++) {
        struct config_check_problem *problem = g_ptr_array_index(check->problems, i);
        problem->severity = CONFIG_CHECK_WARNING;
    }
}

/* The files of mailboxes and intents that config_load() reads: each persona_file readable, each
 * webhook_secret_file readable and not by every user. */
static void config_check_named_files(struct config_check *check, const struct config *cfg)
{
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        char *group = g_strdup_printf("mailbox %s", mailbox->address);
        config_check_for(check, group, "persona_file");
        config_check_readable(check, mailbox->persona_file);
        g_free(group);
    }
    for (guint i = 0; i < cfg->intents->len; i++) {
        const struct config_intent *intent = g_ptr_array_index(cfg->intents, i);
        const char *path = intent->webhook_secret_file;
        struct stat st;
        char *group = g_strdup_printf("intent %s", intent->intent);
        config_check_for(check, group, "webhook_secret_file");
        if (path != NULL && *path != '\0' && config_check_regular_file(check, path, &st)) {
            config_check_allowed(check, path, &st, R_OK);
            if (st.st_mode & S_IROTH)
                config_check_add(check, CONFIG_CHECK_ERROR,
                                 "%s is readable by every user (chmod 600 or 640)", path);
        }
        g_free(group);
    }
}

static void config_check_api_key(struct config_check *check, const struct config *cfg)
{
    const char *path = cfg->llm.api_key_file;
    struct stat st;
    config_check_for(check, "llm", "api_key_file");
    if (*path == '\0' || !config_check_regular_file(check, path, &st))
        return;
    config_check_allowed(check, path, &st, R_OK);
    if (st.st_mode & S_IROTH)
        config_check_add(check, CONFIG_CHECK_ERROR,
                         "%s is readable by every user (chmod 600 or 640)", path);
}

/* Who binds the socket: the user, when the daemon is started as the user; otherwise root, who
 * may do anything, and then a denial for the user is only a warning. */
static void config_check_for_socket(struct config_check *check, const char *key)
{
    config_check_for(check, "daemon", key);
    if (check->user != NULL && !check->user->starts_daemon) {
        check->denied = CONFIG_CHECK_WARNING;
        check->note = " (fine when the daemon is started as root: it binds the socket before it "
                      "becomes the user)";
    }
}

static void config_check_socket(struct config_check *check, const struct config *cfg)
{
    const char *path = config_check_unix_socket(cfg->daemon.socket);
    struct sockaddr_un address;
    if (path == NULL || *path != '/') /* relative: to a working directory not known here */
        return;
    config_check_for_socket(check, "socket");
    if (strlen(path) >= sizeof(address.sun_path)) {
        config_check_add(check, CONFIG_CHECK_ERROR,
                         "%s is longer than a unix socket's path may be (%zu bytes)", path,
                         sizeof(address.sun_path) - 1);
        return;
    }
    char *dir = g_path_get_dirname(path);
    /* Under /run it is made at each start (systemd's RuntimeDirectory=, tmpfiles.d). */
    config_check_work_directory(check, dir, CONFIG_CHECK_WARNING,
                                " (it must exist when the daemon starts)");
    g_free(dir);
}

static void config_check_accounts(struct config_check *check, const struct config *cfg)
{
    if (*cfg->daemon.socket_group != '\0') {
        config_check_for_socket(check, "socket_group");
        struct group *group = getgrnam(cfg->daemon.socket_group);
        if (group == NULL)
            config_check_add(check, CONFIG_CHECK_ERROR, "no such group %s",
                             cfg->daemon.socket_group);
        else if (config_check_unix_socket(cfg->daemon.socket) != NULL && check->user != NULL &&
                 check->user->uid != 0 && !config_check_in_group(check->user, group->gr_gid))
            /* chown() to a group is for its members (and root). */
            config_check_add(check, check->denied,
                             "%s is not a member of group %s and cannot give the socket to it%s",
                             check->user->name, cfg->daemon.socket_group,
                             check->note != NULL ? check->note : "");
    }
    config_check_for(check, "daemon", "user");
    if (*cfg->daemon.user != '\0' && getpwnam(cfg->daemon.user) == NULL)
        config_check_add(check, CONFIG_CHECK_ERROR, "no such user %s", cfg->daemon.user);
}

/* --- public --- */

const char *config_check_unix_socket(const char *socket)
{
    if (g_str_has_prefix(socket, "unix:"))
        return socket + strlen("unix:");
    if (g_str_has_prefix(socket, "local:"))
        return socket + strlen("local:");
    return socket[0] == '/' ? socket : NULL;
}

static void config_check_user_groups(struct config_check_user *user, const char *name, gid_t gid)
{
    int n = 32;
    user->groups = g_new(gid_t, n);
    for (;;) {
        int wanted = n;
        if (getgrouplist(name, gid, user->groups, &wanted) >= 0) {
            user->n_groups = wanted;
            return;
        }
        n = wanted > n ? wanted : n * 2;
        if (n > CONFIG_CHECK_MAX_GROUPS) { /* cannot happen: the kernel's limit */
            user->groups[0] = gid;
            user->n_groups = 1;
            return;
        }
        user->groups = g_renew(gid_t, user->groups, n);
    }
}

int config_check_user_lookup(const char *name, struct config_check_user **user_r, char **error_r)
{
    struct config_check_user *user = g_new0(struct config_check_user, 1);
    if (name == NULL) {
        user->uid = geteuid();
        struct passwd *entry = getpwuid(user->uid);
        user->name = entry != NULL ? g_strdup(entry->pw_name)
                                   : g_strdup_printf("uid %lu", (unsigned long)user->uid);
        int n = getgroups(0, NULL);
        user->groups = g_new(gid_t, n > 0 ? n + 1 : 1);
        user->groups[0] = getegid();
        n = n > 0 ? getgroups(n, user->groups + 1) : 0;
        user->n_groups = 1 + (n > 0 ? n : 0);
        user->starts_daemon = TRUE;
    } else {
        struct passwd *entry = getpwnam(name);
        if (entry == NULL) {
            *error_r = g_strdup_printf("no such user %s", name);
            g_free(user);
            return -1;
        }
        user->name = g_strdup(entry->pw_name);
        user->uid = entry->pw_uid;
        gid_t gid = entry->pw_gid;
        config_check_user_groups(user, user->name, gid);
        user->starts_daemon = user->uid == geteuid();
    }
    *user_r = user;
    return 0;
}

void config_check_user_free(struct config_check_user *user)
{
    if (user == NULL)
        return;
    g_free(user->name);
    g_free(user->groups);
    g_free(user);
}

GPtrArray *config_check_environment(const struct config *cfg, const struct config_check_user *user)
{
    struct config_check check = {config_check_problems_new(), user, NULL, NULL,
                                 CONFIG_CHECK_ERROR,          NULL};
    /* In the order of the keys in the file's documentation. */
    config_check_database(&check, cfg);
    config_check_socket(&check, cfg);
    config_check_accounts(&check, cfg);
    config_check_api_key(&check, cfg);
    config_check_sendmail(&check, cfg);
    config_check_templates(&check, cfg);
    config_check_knowledge(&check, cfg);
    config_check_named_files(&check, cfg);
    return check.problems;
}

/* Whether a problem is already the reason why config_load() cannot read a named file. */
static gboolean config_check_named_file_failed(const GPtrArray *problems)
{
    for (guint i = 0; i < problems->len; i++) {
        const struct config_check_problem *problem = g_ptr_array_index(problems, i);
        if (problem->severity == CONFIG_CHECK_ERROR && problem->key != NULL &&
            (strcmp(problem->key, "template") == 0 || strcmp(problem->key, "template_html") == 0 ||
             strcmp(problem->key, "api_key_file") == 0 ||
             strcmp(problem->key, "persona_file") == 0 ||
             strcmp(problem->key, "webhook_secret_file") == 0))
            return TRUE;
    }
    return FALSE;
}

static void config_check_pointed_at(GPtrArray *problems, const char *path, const char *user_name,
                                    const struct config *cfg)
{
    const char *name = user_name;
    if (name == NULL && *cfg->daemon.user != '\0')
        name = cfg->daemon.user;
    struct config_check_user *user = NULL;
    char *error = NULL;
    /* An unknown [daemon] user is reported with the other problems. */
    if (config_check_user_lookup(name, &user, &error) < 0 && user_name != NULL)
        config_check_append(problems, CONFIG_CHECK_ERROR, NULL, g_strdup_printf("-u: %s", error));
    g_free(error);
    error = NULL;
    GPtrArray *found = config_check_environment(cfg, user);
    config_check_user_free(user);
    for (guint i = 0; i < found->len; i++)
        g_ptr_array_add(problems, g_ptr_array_index(found, i));
    g_ptr_array_set_free_func(found, NULL);
    g_ptr_array_unref(found);

    /* The contents of the templates and of the key file, once they can be read. */
    if (config_check_named_file_failed(problems))
        return;
    struct config *full = config_load(path, &error);
    if (full == NULL)
        config_check_append(problems, CONFIG_CHECK_ERROR, NULL, error);
    config_unref(full);
}

GPtrArray *config_check_file(const char *path, const char *user, gboolean syntax_only,
                             struct config **cfg_r)
{
    GPtrArray *problems = config_check_problems_new();
    char *error = NULL;
    struct config *cfg = config_load_syntax(path, &error);
    if (cfg == NULL)
        config_check_append(problems, CONFIG_CHECK_ERROR, NULL, error);
    else if (!syntax_only)
        config_check_pointed_at(problems, path, user, cfg);
    *cfg_r = cfg;
    return problems;
}

guint config_check_log(const GPtrArray *problems)
{
    guint errors = 0;
    for (guint i = 0; i < problems->len; i++) {
        const struct config_check_problem *problem = g_ptr_array_index(problems, i);
        if (problem->severity == CONFIG_CHECK_ERROR) {
            log_error("%s", problem->text);
            errors++;
        } else
            log_warn("%s", problem->text);
    }
    return errors;
}
