/*
 * inject: hand a message to the local MTA through its sendmail binary.
 *
 * inject_message() executes [sendmail] path with an argv, never a shell:
 *   PATH -i -f SENDER -- RECIPIENT
 * (the null sender is passed as "<>"), writes the message on its standard input, captures its
 * standard error (capped) and waits at most TIMEOUT seconds. Postfix's and Sendmail's exit
 * status is the contract: 0 queued, 75 (EX_TEMPFAIL) try later, anything else failed. A
 * program that cannot be run has sent nothing: try later. sendmail runs in a process group
 * of its own; when it overstays TIMEOUT the whole group is killed (a wrapper script's
 * children, Postfix's postdrop), and the process is always reaped: no zombie, and the caller
 * goes on. Once sendmail has exited, children it left behind (an MTA's background delivery)
 * are neither waited for nor killed. A sendmail killed by a signal, or stopped at the
 * timeout, before it had the whole message cannot have queued it: try later. Killed or
 * stopped after it had the whole message, it may have queued it (Postfix's postdrop commits
 * the queue file before sendmail reports back): INJECT_FAILED, so that the mail is never
 * sent twice without a person looking; the reason says so. The process must ignore SIGPIPE.
 */
#ifndef MAILTRIAGE_INJECT_H
#define MAILTRIAGE_INJECT_H

#include <glib.h>

enum inject_status { INJECT_SENT, INJECT_TEMPFAIL, INJECT_FAILED };

/* *EXIT_STATUS_R is the program's exit status, or -1 when it did not exit normally.
 * *ERROR_R (never set for INJECT_SENT) says what went wrong, with sendmail's own words. */
enum inject_status inject_message(const char *sendmail_path, gint64 timeout_seconds,
                                  const char *envelope_sender, const char *recipient,
                                  const char *message, size_t len, int *exit_status_r,
                                  char **error_r);

#endif
