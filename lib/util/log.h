/*
 * log: the one logging API of mailtriage.
 *
 * Daemons log to syslog (facility mail), the CLI and foreground runs to stderr. Levels have
 * sharp meanings: debug (tracing), info (what happened), warn (something odd, handled),
 * error (a failure that was recovered from: the message stays queued), fatal (cannot go on:
 * startup and configuration only; exits with status 78, EX_CONFIG). Lines about a message
 * start with its queue id ("12: ...", or the MTA's "4Xk2Lp0zQ1z9v: ..." with log_msg_mta()).
 * Operators' actions are audit lines (log_audit()), which reach syslog from every program.
 * GLib and GMime warnings are routed here.
 * log_addr() masks mail addresses when log_set_mask_addresses(TRUE) was called.
 */
#ifndef MAILTRIAGE_LOG_H
#define MAILTRIAGE_LOG_H

#include <stdarg.h>

#include <glib.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARNING, LOG_LEVEL_ERROR };
/* LOG_TO_SYSLOG_AND_STDERR: for programs run by the MTA (the pipe), whose stderr becomes the
 * delivery status text. */
enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_SYSLOG_AND_STDERR };

/* Buffer size for log_addr(). */
#define LOG_ADDR_MAX 320

void log_open(const char *ident, enum log_target target);
void log_set_level(enum log_level level);
void log_set_mask_addresses(gboolean mask);
/* Parse "debug", "info", "warning" or "error"; -1 when unknown. */
int log_level_parse(const char *name);

void log_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void log_fatal(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;

/* The same, for a line about queued message ID. */
void log_msg(enum log_level level, gint64 id, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* The same, starting with the MTA's queue id when there is one (MTA_QUEUE_ID, used only when
 * it is a plain word of at most 32 letters and digits), else with ours, as log_msg() does. */
void log_msg_mta(enum log_level level, const char *mta_queue_id, gint64 id, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);
/* An operator's action on message ID (a draft approved or rejected, a retry): an info line
 * that always reaches syslog (facility mail), whatever the target and level, so that mail.log
 * shows who did what even when the CLI did it; the CLI also prints it on stderr. ID 0: an action
 * on no one message (a correspondent forgotten), whose line has no id. */
void log_audit(gint64 id, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ADDR as it may appear in the log: itself, or masked ("j***@example.org") when masking is on.
 * NULL prints as "(unknown)", "" as "<>". Returns BUF. */
const char *log_addr(const char *addr, char buf[LOG_ADDR_MAX]);
/* TEXT from another program (sendmail's words) as it may appear in the log: a copy, with every
 * local@domain in it masked as log_addr() masks an address when masking is on. */
char *log_mask_text(const char *text);

#endif
