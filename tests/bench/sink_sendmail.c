/*
 * sink_sendmail: a sendmail stand-in for `make bench` that only stores the message.
 *
 *   sink_sendmail [-i] [-f SENDER] [-F NAME] [-oOPTION] [--] RECIPIENT...
 *
 * It reads the message on standard input and writes it to a new file in the directory named
 * by the environment variable MAILTRIAGE_SINK_DIR (the file's first line is "X-Sink-To:" and
 * the recipients, so that the bench can count replies and escalations apart), then exits 0.
 * Without MAILTRIAGE_SINK_DIR it reads and drops the message. sendmail's options are
 * accepted and ignored. Exit 75 (EX_TEMPFAIL) when the message cannot be stored, as a real
 * sendmail would, so that a full disk shows as deferred mail rather than as speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SINK_EX_TEMPFAIL 75

/* Copy standard input to FD (-1: drop it); 0, or -1 on a read or write error. */
static int sink_copy(int fd)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        for (ssize_t done = 0; fd >= 0 && done < n;) {
            ssize_t w = write(fd, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return -1;
            done += w;
        }
    }
}

/* The index of the first recipient: past the options, with or without "--". */
static int sink_first_recipient(int argc, char **argv)
{
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        if (strcmp(argv[i], "--") == 0)
            return i + 1;
        /* -f SENDER, -F NAME, -N DSN, -R RET, -V ENVID take a value when it is not attached */
        if (argv[i][1] != '\0' && strchr("fFNRV", argv[i][1]) != NULL && argv[i][2] == '\0')
            i++;
        i++;
    }
    return i;
}

static int sink_write_header(int fd, int argc, char **argv)
{
    char line[4096];
    size_t len = (size_t)snprintf(line, sizeof(line), "X-Sink-To:");
    for (int i = sink_first_recipient(argc, argv); i < argc && len < sizeof(line); i++)
        len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", argv[i]);
    if (len >= sizeof(line) - 1)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    return write(fd, line, len) == (ssize_t)len ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("MAILTRIAGE_SINK_DIR");
    if (dir == NULL || *dir == '\0')
        return sink_copy(-1) == 0 ? 0 : SINK_EX_TEMPFAIL;

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char path[4096], final[4096];
    int n = snprintf(path, sizeof(path), "%s/.tmp.%ld.%09ld.%d", dir, (long)now.tv_sec, now.tv_nsec,
                     (int)getpid());
    int m = snprintf(final, sizeof(final), "%s/%ld.%09ld.%d.eml", dir, (long)now.tv_sec,
                     now.tv_nsec, (int)getpid());
    if (n < 0 || (size_t)n >= sizeof(path) || m < 0 || (size_t)m >= sizeof(final)) {
        fprintf(stderr, "sink_sendmail: MAILTRIAGE_SINK_DIR is too long\n");
        return SINK_EX_TEMPFAIL;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) {
        fprintf(stderr, "sink_sendmail: %s: %s\n", path, strerror(errno));
        return SINK_EX_TEMPFAIL;
    }
    int status = sink_write_header(fd, argc, argv) == 0 && sink_copy(fd) == 0 ? 0 : -1;
    if (close(fd) < 0 || status < 0 || rename(path, final) < 0) {
        fprintf(stderr, "sink_sendmail: cannot store the message in %s: %s\n", dir,
                strerror(errno));
        unlink(path);
        return SINK_EX_TEMPFAIL;
    }
    return 0;
}
