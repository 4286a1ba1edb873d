/*
 * inject: hand a message to the local MTA through its sendmail binary.
 *
 * inject_message() executes [sendmail] path with an argv, never a shell:
 *   PATH -i -f SENDER -- RECIPIENT
 * (the null sender is passed as "<>"), writes the message on its standard input, captures its
 * standard error (capped) and waits at most TIMEOUT seconds. Postfix's and Sendmail's exit
 * status is the contract: 0 queued, 75 (EX_TEMPFAIL) try later, anything else failed. A
 * program that cannot be run, is killed or times out counts as "try later". The process must
 * ignore SIGPIPE.
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
