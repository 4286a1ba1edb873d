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

/* Write MESSAGE to *IN and read *ERR until both are done or DEADLINE (monotonic us) passes;
 * each is closed and set to -1 when done. Returns FALSE on timeout. */
static gboolean inject_exchange(int *in_fd, int *err_fd, const char *message, size_t len,
                                GString *errors, gint64 deadline)
{
    int in = *in_fd, err = *err_fd;
    size_t written = 0;
    gboolean in_time = TRUE;

    fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
    while (in >= 0 || err >= 0) {
        gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
        struct pollfd fds[2] = {{in, POLLOUT, 0}, {err, POLLIN, 0}};
        if (left_ms <= 0 || (poll(fds, 2, (int)MIN(left_ms, 1000)) < 0 && errno != EINTR)) {
            in_time = FALSE;
            break;
        }
        if (in >= 0 && fds[0].revents != 0) {
            ssize_t n = write(in, message + written, MIN(len - written, 65536));
            if (n > 0)
                written += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == len) {
                close(in); /* EPIPE: sendmail stopped reading; its status tells why */
                in = -1;
            }
        }
        if (err >= 0 && fds[1].revents != 0) {
            char buf[512];
            ssize_t n = read(err, buf, sizeof(buf));
            if (n > 0 && errors->len < INJECT_MAX_STDERR)
                g_string_append_len(errors, buf,
                                    MIN(n, (ssize_t)(INJECT_MAX_STDERR - errors->len)));
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                close(err);
                err = -1;
            }
        }
    }
    *in_fd = in;
    *err_fd = err;
    return in_time;
}

/* Wait for PID until DEADLINE; kill it if it overstays. Returns the wait status or -1. */
static int inject_wait(GPid pid, gint64 deadline)
{
    int status = 0;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            return status;
        if (done < 0 && errno != EINTR)
            return -1;
        if (g_get_monotonic_time() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        g_usleep(10000);
    }
}

enum inject_status inject_message(const char *sendmail_path, gint64 timeout_seconds,
                                  const char *envelope_sender, const char *recipient,
                                  const char *message, size_t len, int *exit_status_r,
                                  char **error_r)
{
    const char *argv[] = {
        sendmail_path, "-i",      "-f", *envelope_sender != '\0' ? envelope_sender : "<>",
        "--",          recipient, NULL};
    GPid pid;
    int in = -1, err = -1;
    GError *gerror = NULL;

    *exit_status_r = -1;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL,
                                  G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                                  NULL, &pid, &in, NULL, &err, &gerror)) {
        *error_r = g_strdup_printf("cannot run %s: %s", sendmail_path, gerror->message);
        g_error_free(gerror);
        return INJECT_TEMPFAIL;
    }
    gint64 deadline = g_get_monotonic_time() + timeout_seconds * G_USEC_PER_SEC;
    GString *errors = g_string_new(NULL);
    gboolean in_time = inject_exchange(&in, &err, message, len, errors, deadline);
    if (in >= 0)
        close(in);
    if (err >= 0)
        close(err);
    if (!in_time)
        kill(pid, SIGKILL);
    int status = inject_wait(pid, deadline);
    g_spawn_close_pid(pid);
    char *joined = text_join_lines(errors->str, (gssize)errors->len);
    g_string_free(errors, TRUE);
    /* Its words end up in log lines: the addresses a sendmail names are masked with the rest. */
    char *said = log_mask_text(joined);
    g_free(joined);

    enum inject_status result;
    if (status >= 0 && WIFEXITED(status)) {
        *exit_status_r = WEXITSTATUS(status);
        if (*exit_status_r == 0)
            result = INJECT_SENT;
        else {
            result = *exit_status_r == INJECT_EX_TEMPFAIL ? INJECT_TEMPFAIL : INJECT_FAILED;
            *error_r = g_strdup_printf("%s exited with status %d%s%s", sendmail_path,
                                       *exit_status_r, *said != '\0' ? ": " : "", said);
        }
    } else {
        result = INJECT_TEMPFAIL;
        *error_r =
            !in_time || status < 0
                ? g_strdup_printf("%s did not finish within %" G_GINT64_FORMAT "s", sendmail_path,
                                  timeout_seconds)
                : g_strdup_printf("%s was killed by signal %d", sendmail_path, WTERMSIG(status));
    }
    g_free(said);
    return result;
}
