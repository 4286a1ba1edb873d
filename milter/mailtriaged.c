/*
 * mailtriaged: the mailtriage daemon.
 *
 * SYNOPSIS
 *   mailtriaged [-c CONF] [-f] [-n] [-u USER] [-t FILE.eml [--mailbox ADDR] [--sender ADDR]] [-V]
 *
 * It runs the milter (milter.c: Postfix smtpd_milters, Sendmail INPUT_MAIL_FILTER) that records
 * mail for the monitored mailboxes in the queue during the SMTP session, the worker pool that
 * processes the queue (parse, policy, classification, action; pool.c), and the housekeeping
 * that returns messages of dead workers to the queue. The socket is bound first, then the
 * daemon becomes USER. -n checks the configuration and what it points at for that user
 * (config_check.h), and exits; -t runs one file through parse, policy and classification and
 * prints the decision without sending anything; -f logs to stderr (otherwise to syslog,
 * facility mail). It never forks: run it under a supervisor.
 * SIGTERM, SIGINT and SIGHUP stop it cleanly (messages in hand are finished or released to the
 * queue); SIGUSR1 reloads the configuration.
 *
 * EXIT STATUS
 *   0 success, 64 bad usage, 66 the -t file cannot be read, 69 the socket cannot be bound,
 *   70 internal error, 78 configuration error.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <glib.h>

#include "config.h"
#include "config_check.h"
#include "db.h"
#include "knowledge.h"
#include "llm.h"
#include "log.h"
#include "milter.h"
#include "pool.h"
#include "process.h"
#include "program.h"

#define EX_USAGE 64
#define EX_NOINPUT 66
#define EX_UNAVAILABLE 69
#define EX_SOFTWARE 70
#define EX_CONFIG 78

struct daemon_options {
    char *config_path;
    gboolean foreground;
    gboolean check_only;
    gboolean show_version;
    char *try_file;
    char *try_mailbox;
    char *try_sender;
    char *user;
};

static int daemon_try(struct config *cfg, const struct daemon_options *opts)
{
    char *raw = NULL;
    gsize len = 0;
    GError *gerror = NULL;
    if (!g_file_get_contents(opts->try_file, &raw, &len, &gerror)) {
        log_error("%s", gerror->message);
        g_error_free(gerror);
        return EX_NOINPUT;
    }
    const struct config_mailbox *first = g_ptr_array_index(cfg->mailboxes, 0);
    const char *mailbox = opts->try_mailbox != NULL ? opts->try_mailbox : first->address;
    const char *sender = opts->try_sender;
    struct mime_limits limits;
    mime_limits_default(&limits);
    struct mime_message *msg = NULL;
    char *error = NULL;
    /* Without --sender, the From address stands in for the envelope sender. */
    if (sender == NULL && mime_parse(raw, len, &limits, &msg, &error) == 0)
        sender = msg->from_addr;
    g_free(error);
    error = NULL;

    struct llm_client *llm = llm_client_new(NULL);
    GString *out = g_string_new(NULL);
    int status = 0;
    if (process_try(cfg, llm, raw, len, mailbox, sender, out, &error) < 0) {
        log_error("%s: %s", opts->try_file, error);
        g_free(error);
        status = EX_NOINPUT;
    } else
        fputs(out->str, stdout);
    g_string_free(out, TRUE);
    llm_client_free(llm);
    mime_message_free(msg);
    g_free(raw);
    return status;
}

/* Create or upgrade the database once, before the workers open it. */
static int daemon_prepare_database(const struct config *cfg)
{
    sqlite3 *db = NULL;
    char *error = NULL;
    if (db_open(cfg->daemon.database, (int)cfg->daemon.busy_timeout * 1000, &db, &error) != DB_OK) {
        log_error("database: %s", error);
        g_free(error);
        return -1;
    }
    db_close(db);
    return 0;
}

/* Drop root for USER, once the socket is bound. */
static int daemon_drop_privileges(const char *user, char **error_r)
{
    if (user == NULL || *user == '\0')
        return 0;
    struct passwd *entry = getpwnam(user);
    if (entry == NULL) {
        *error_r = g_strdup_printf("user %s: no such user", user);
        return -1;
    }
    if (getuid() != 0 && geteuid() != 0) {
        if (geteuid() == entry->pw_uid)
            return 0;
        *error_r = g_strdup_printf("cannot become %s: not started as root", user);
        return -1;
    }
    if (initgroups(entry->pw_name, entry->pw_gid) < 0 || setgid(entry->pw_gid) < 0 ||
        setuid(entry->pw_uid) < 0) {
        *error_r = g_strdup_printf("cannot become %s: %s", user, g_strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) { /* cannot happen after a proper setuid() */
        *error_r = g_strdup("privileges could be regained after dropping them");
        return -1;
    }
    return 0;
}

struct daemon_state {
    struct config *cfg;
    struct pool *pool;
    gboolean with_milter;
    volatile gint stop;
};

static void daemon_reload(struct daemon_state *state)
{
    char *error = NULL;
    struct config *fresh = config_load(state->cfg->path, &error);
    if (fresh == NULL) {
        log_error("reload refused, the running configuration stays: %s", error);
        g_free(error);
        return;
    }
    log_set_level((enum log_level)fresh->daemon.log_level);
    log_set_mask_addresses(fresh->daemon.mask_addresses);
    pool_set_config(state->pool, fresh);
    if (state->with_milter)
        milter_set_config(fresh);
    log_info("configuration reloaded from %s (socket, user, workers and database need a "
             "restart)",
             state->cfg->path);
    knowledge_refresh(fresh);
    config_unref(fresh);
}

/* With the milter, libmilter's own thread takes SIGTERM, SIGINT and SIGHUP (all stop it);
 * this one takes SIGUSR1. */
static void *daemon_reload_thread(void *data)
{
    struct daemon_state *state = data;
    sigset_t reload;
    sigemptyset(&reload);
    sigaddset(&reload, SIGUSR1);
    knowledge_refresh(state->cfg); /* here, so that the milter takes mail meanwhile */
    for (;;) {
        int sig = 0;
        if (sigwait(&reload, &sig) != 0)
            continue;
        if (g_atomic_int_get(&state->stop))
            break;
        daemon_reload(state);
    }
    return NULL;
}

static void daemon_wake_pool(void *pool)
{
    pool_wake(pool);
}

/* Without the milter: the main thread takes every signal. */
static void daemon_wait_for_stop(struct daemon_state *state, const sigset_t *signals)
{
    knowledge_refresh(state->cfg); /* the workers already run */
    for (;;) {
        int sig = 0;
        if (sigwait(signals, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            daemon_reload(state);
            continue;
        }
        log_info("signal %d: stopping; messages in hand are finished or released", sig);
        return;
    }
}

/* Run until SIGTERM, SIGINT or SIGHUP; SIGUSR1 reloads. These signals are blocked in every
 * thread before any starts, and taken with sigwait(), so that no thread is interrupted at a
 * random point. */
static int daemon_run(struct config *cfg, const struct daemon_options *opts)
{
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGHUP);
    sigaddset(&signals, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);

    struct daemon_state state = {cfg, NULL, *cfg->daemon.socket != '\0', 0};
    char *error = NULL;
    if (state.with_milter && milter_start(cfg, &error) < 0) {
        log_error("milter: %s", error);
        g_free(error);
        return EX_UNAVAILABLE;
    }
    if (daemon_drop_privileges(opts->user != NULL ? opts->user : cfg->daemon.user, &error) < 0) {
        log_error("%s", error);
        g_free(error);
        return EX_CONFIG;
    }
    if (geteuid() == 0)
        log_warn("running as root: every worker, the LLM client and the parser of untrusted mail "
                 "have root's rights. Set [daemon] user (e.g. mailtriage), pass -u, or start it "
                 "as that user (contrib/mailtriaged.service does)");
    if (daemon_prepare_database(cfg) < 0)
        return EX_CONFIG;
    log_info("mailtriaged %s starting: database %s, %u mailbox(es), provider %s, milter %s",
             PACKAGE_VERSION, cfg->daemon.database, cfg->mailboxes->len,
             cfg->llm.provider == CONFIG_PROVIDER_OPENAI ? "openai" : "builtin",
             state.with_milter ? cfg->daemon.socket : "off");
    state.pool = pool_start(cfg);
    int status = 0;
    if (state.with_milter) {
        /* A pthread, not a GThread: it is woken by pthread_kill() to stop. */
        pthread_t reloader;
        if (pthread_create(&reloader, NULL, daemon_reload_thread, &state) != 0)
            g_error("cannot start the reload thread");
        if (milter_run(daemon_wake_pool, state.pool) < 0) {
            log_error("milter: smfi_main failed");
            status = EX_SOFTWARE;
        }
        log_info("milter stopped; stopping the workers");
        g_atomic_int_set(&state.stop, 1);
        pthread_kill(reloader, SIGUSR1);
        pthread_join(reloader, NULL);
    } else
        daemon_wait_for_stop(&state, &signals);
    pool_stop(state.pool);
    log_info("stopped");
    return status;
}

/* -n: the file and what it points at for the user the daemon will run as, every problem on a
 * line of its own. */
static int daemon_check(const char *path, const char *user)
{
    struct config *cfg = NULL;
    GPtrArray *problems = config_check_file(path, user, FALSE, &cfg);
    guint errors = config_check_log(problems);
    if (errors == 0 && problems->len == 0)
        printf("%s: configuration OK (%u mailboxes, %u intents)\n", path, cfg->mailboxes->len,
               cfg->intents->len);
    else if (errors == 0)
        printf("%s: configuration OK (%u mailboxes, %u intents, %u warning%s)\n", path,
               cfg->mailboxes->len, cfg->intents->len, problems->len,
               problems->len == 1 ? "" : "s");
    g_ptr_array_unref(problems);
    config_unref(cfg);
    return errors == 0 ? 0 : EX_CONFIG;
}

static int daemon_main(const struct daemon_options *opts)
{
    gboolean interactive = opts->foreground || opts->check_only || opts->try_file != NULL;
    program_init("mailtriaged", interactive ? LOG_TO_STDERR : LOG_TO_SYSLOG);
    const char *path = opts->config_path != NULL ? opts->config_path : CONFIG_DEFAULT_PATH;
    if (opts->check_only) {
        int status = daemon_check(path, opts->user);
        program_done();
        return status;
    }
    struct config *cfg = program_load_config(path, EX_CONFIG);
    int status = 0;
    if (opts->try_file != NULL)
        status = daemon_try(cfg, opts);
    else
        status = daemon_run(cfg, opts);
    config_unref(cfg);
    program_done();
    return status;
}

int main(int argc, char **argv)
{
    struct daemon_options opts = {0};
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &opts.config_path, "Configuration file", "FILE"},
        {"foreground", 'f', 0, G_OPTION_ARG_NONE, &opts.foreground,
         "Log to stderr (stays in the foreground)", NULL},
        {"check", 'n', 0, G_OPTION_ARG_NONE, &opts.check_only, "Check the configuration and exit",
         NULL},
        {"test", 't', 0, G_OPTION_ARG_FILENAME, &opts.try_file,
         "Run one message file through parse, policy and classification; send nothing", "FILE.eml"},
        {"mailbox", 0, 0, G_OPTION_ARG_STRING, &opts.try_mailbox,
         "With -t: the mailbox it arrived at (default: the first)", "ADDR"},
        {"sender", 0, 0, G_OPTION_ARG_STRING, &opts.try_sender,
         "With -t: the envelope sender (default: the From address)", "ADDR"},
        {"user", 'u', 0, G_OPTION_ARG_STRING, &opts.user,
         "Run as USER once the socket is bound (overrides [daemon] user)", "USER"},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &opts.show_version, "Print the version", NULL},
        {NULL}};
    GOptionContext *options = g_option_context_new(NULL);
    g_option_context_add_main_entries(options, entries, NULL);
    g_option_context_set_summary(options, "The mailtriage daemon: workers that triage the queue.");
    GError *gerror = NULL;
    gboolean parsed = g_option_context_parse(options, &argc, &argv, &gerror);
    g_option_context_free(options);
    int status = 0;
    if (!parsed || argc > 1) {
        fprintf(stderr, "mailtriaged: %s\n",
                gerror != NULL ? gerror->message : "unexpected arguments");
        if (gerror != NULL)
            g_error_free(gerror);
        status = EX_USAGE;
    } else if (opts.show_version)
        printf("mailtriaged %s\n", PACKAGE_VERSION);
    else
        status = daemon_main(&opts);
    g_free(opts.config_path);
    g_free(opts.try_file);
    g_free(opts.try_mailbox);
    g_free(opts.try_sender);
    g_free(opts.user);
    return status;
}
