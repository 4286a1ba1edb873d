/*
 * inject: run sendmail with an argv and the message on stdin; see inject.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "inject.h"
#include "log.h"
#include "text.h"

#define INJECT_MAX_STDERR 2048
#define INJECT_EX_TEMPFAIL 75
/* How often the exchange looks whether sendmail has exited while a child it left behind
 * still holds its standard error open. */
#define INJECT_POLL_MS 200

/* One run of sendmail. */
struct inject_run {
    GPid pid;
    int in, err; /* its standard input and standard error; -1 once closed */
    const char *message;
    size_t len, written;
    GString *errors;  /* what it said, at most INJECT_MAX_STDERR bytes */
    gint64 deadline;  /* monotonic microseconds */
    gboolean stopped; /* it overstayed the deadline and its group was killed */
};

/* In the child, before exec: a process group of its own, so that a timeout kills sendmail
 * and whatever it started (setpgid is async-signal-safe). */
static void inject_child_setup(gpointer data)
{
    (void)data;
    setpgid(0, 0);
}

static void inject_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Has sendmail exited? It is not reaped here: until inject_reap(), its pid, which is also
 * its process group's id, cannot be given to another process. */
static gboolean inject_exited(GPid pid)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno != EINTR; /* ECHILD: reaped by someone else, so gone */
    return info.si_pid == pid;
}

static void inject_write(struct inject_run *run)
{
    ssize_t n = write(run->in, run->message + run->written, MIN(run->len - run->written, 65536));
    if (n > 0)
        run->written += (size_t)n;
    if ((n < 0 && errno != EAGAIN && errno != EINTR) || run->written == run->len)
        inject_close(&run->in); /* EPIPE: sendmail stopped reading; its status tells why */
}

/* Read what sendmail's standard error holds now; closed at its end. */
static void inject_read_errors(struct inject_run *run)
{
    for (;;) {
        char buf[4096];
        ssize_t n = read(run->err, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0) {
            if (run->errors->len < INJECT_MAX_STDERR)
                g_string_append_len(run->errors, buf,
                                    MIN(n, (ssize_t)(INJECT_MAX_STDERR - run->errors->len)));
            continue;
        }
        if (n == 0 || errno != EAGAIN)
            inject_close(&run->err);
        return;
    }
}

/* Write the message and read standard error until both are done or sendmail has exited;
 * FALSE when the deadline passed first. */
static gboolean inject_exchange(struct inject_run *run)
{
    fcntl(run->in, F_SETFL, fcntl(run->in, F_GETFL) | O_NONBLOCK);
    fcntl(run->err, F_SETFL, fcntl(run->err, F_GETFL) | O_NONBLOCK);
    while (run->in >= 0 || run->err >= 0) {
        if (inject_exited(run->pid)) {
            /* What it said is in the pipe already; a child it left behind may keep the pipe
             * open, and is not waited for. */
            if (run->err >= 0)
                inject_read_errors(run);
            return TRUE;
        }
        gint64 left_ms = (run->deadline - g_get_monotonic_time()) / 1000;
        struct pollfd fds[2] = {{run->in, POLLOUT, 0}, {run->err, POLLIN, 0}};
        if (left_ms <= 0 || (poll(fds, 2, (int)MIN(left_ms, INJECT_POLL_MS)) < 0 && errno != EINTR))
            return FALSE;
        if (run->in >= 0 && fds[0].revents != 0)
            inject_write(run);
        if (run->err >= 0 && fds[1].revents != 0)
            inject_read_errors(run);
    }
    return TRUE;
}

/* Wait for sendmail until the deadline (none when IN_TIME is FALSE); one that overstays is
 * killed with its whole group. Returns the wait status, or -1 when it cannot be known. */
static int inject_reap(struct inject_run *run, gboolean in_time)
{
    int status = 0;
    while (in_time && g_get_monotonic_time() < run->deadline) {
        pid_t done = waitpid(run->pid, &status, WNOHANG);
        if (done == run->pid)
            return status;
        if (done < 0 && errno != EINTR)
            return -1;
        g_usleep(10000);
    }
    if (!inject_exited(run->pid)) {
        run->stopped = TRUE;
        if (kill(-run->pid, SIGKILL) < 0)
            kill(run->pid, SIGKILL);
    }
    /* SIGKILL cannot be caught: this wait ends. */
    while (waitpid(run->pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return status;
}

/* What STATUS means: the contract of inject.h. */
static enum inject_status inject_outcome(const char *path, gint64 timeout_seconds,
                                         const struct inject_run *run, int status, const char *said,
                                         int *exit_status_r, char **error_r)
{
    const char *colon = *said != '\0' ? ": " : "";
    if (status >= 0 && WIFEXITED(status)) { /* also one that exited as it was being killed */
        *exit_status_r = WEXITSTATUS(status);
        if (*exit_status_r == 0)
            return INJECT_SENT;
        *error_r =
            g_strdup_printf("%s exited with status %d%s%s", path, *exit_status_r, colon, said);
        return *exit_status_r == INJECT_EX_TEMPFAIL ? INJECT_TEMPFAIL : INJECT_FAILED;
    }
    char *how = run->stopped || status < 0
                    ? g_strdup_printf("did not finish within %" G_GINT64_FORMAT "s and was killed",
                                      timeout_seconds)
                    : g_strdup_printf("was killed by signal %d", WTERMSIG(status));
    gboolean had_it = run->written == run->len;
    *error_r = g_strdup_printf(
        "%s %s %s%s%s", path, how,
        had_it ? "after it had the whole message: it may have queued it, so it is not sent "
                 "again automatically (look for it in the MTA's log)"
               : "before it had the whole message, so it cannot have queued it",
        colon, said);
    g_free(how);
    return had_it ? INJECT_FAILED : INJECT_TEMPFAIL;
}

enum inject_status inject_message(const char *sendmail_path, gint64 timeout_seconds,
                                  const char *envelope_sender, const char *recipient,
                                  const char *message, size_t len, int *exit_status_r,
                                  char **error_r)
{
    const char *argv[] = {
        sendmail_path, "-i",      "-f", *envelope_sender != '\0' ? envelope_sender : "<>",
        "--",          recipient, NULL};
    struct inject_run run = {.in = -1, .err = -1, .message = message, .len = len};
    GError *gerror = NULL;

    *exit_status_r = -1;
    if (!g_spawn_async_with_pipes(
            NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL,
            inject_child_setup, NULL, &run.pid, &run.in, NULL, &run.err, &gerror)) {
        *error_r = g_strdup_printf("cannot run %s: %s", sendmail_path, gerror->message);
        g_error_free(gerror);
        return INJECT_TEMPFAIL;
    }

    run.deadline = g_get_monotonic_time() + timeout_seconds * G_USEC_PER_SEC;
    run.errors = g_string_new(NULL);
    if (len == 0)
        inject_close(&run.in);
    gboolean in_time = inject_exchange(&run);
    inject_close(&run.in);
    inject_close(&run.err);
    int status = inject_reap(&run, in_time);
    g_spawn_close_pid(run.pid);
    char *joined = text_join_lines(run.errors->str, (gssize)run.errors->len);
    g_string_free(run.errors, TRUE);
    /* Its words end up in log lines: the addresses a sendmail names are masked with the rest. */
    char *said = log_mask_text(joined);
    g_free(joined);
    enum inject_status result =
        inject_outcome(sendmail_path, timeout_seconds, &run, status, said, exit_status_r, error_r);
    g_free(said);
    return result;
}
