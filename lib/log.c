/*
 * log: syslog or stderr, one line per event; see log.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <glib.h>

#include "log.h"

static enum log_target log_target = LOG_TO_STDERR;
static enum log_level log_min_level = LOG_LEVEL_INFO;
static gboolean log_masking;
static char log_ident[64] = "mailtriage";

static const char *const log_level_names[] = {"debug", "info", "warning", "error"};

static void log_write(enum log_level level, const char *prefix, const char *fmt, va_list ap)
{
    static const int priorities[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    char line[2048];

    if (level < log_min_level)
        return;
    int used = snprintf(line, sizeof(line), "%s", prefix);
    if (used < 0 || (size_t)used >= sizeof(line))
        used = 0;
    vsnprintf(line + used, sizeof(line) - (size_t)used, fmt, ap);
    /* A value from the network may carry line breaks: one event stays one line. */
    for (char *p = line; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    if (log_target != LOG_TO_STDERR)
        syslog(priorities[level], "%s", line);
    if (log_target == LOG_TO_STDERR ||
        (log_target == LOG_TO_SYSLOG_AND_STDERR && level >= LOG_LEVEL_WARNING))
        fprintf(stderr, "%s: %s%s\n", log_ident,
                level >= LOG_LEVEL_WARNING ? (level == LOG_LEVEL_ERROR ? "error: " : "warning: ")
                                           : "",
                line);
}

static void log_glib_handler(const gchar *domain, GLogLevelFlags flags, const gchar *message,
                             gpointer user_data)
{
    enum log_level level = LOG_LEVEL_DEBUG;

    if (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
        level = LOG_LEVEL_ERROR;
    else if (flags & G_LOG_LEVEL_WARNING)
        level = LOG_LEVEL_WARNING;
    else if (flags & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
        level = LOG_LEVEL_INFO;
    if (level == LOG_LEVEL_ERROR)
        log_error("%s: %s", domain != NULL ? domain : "glib", message);
    else if (level == LOG_LEVEL_WARNING)
        log_warn("%s: %s", domain != NULL ? domain : "glib", message);
    else if (level == LOG_LEVEL_INFO)
        log_info("%s: %s", domain != NULL ? domain : "glib", message);
    else
        log_debug("%s: %s", domain != NULL ? domain : "glib", message);
}

void log_open(const char *ident, enum log_target target)
{
    g_strlcpy(log_ident, ident, sizeof(log_ident));
    log_target = target;
    if (target != LOG_TO_STDERR)
        openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
    g_log_set_default_handler(log_glib_handler, NULL);
}

void log_set_level(enum log_level level)
{
    log_min_level = level;
}

void log_set_mask_addresses(gboolean mask)
{
    log_masking = mask;
}

int log_level_parse(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(log_level_names); i++)
        if (g_ascii_strcasecmp(name, log_level_names[i]) == 0)
            return (int)i;
    return -1;
}

#define LOG_DEFINE(function, level)                                                                \
    void function(const char *fmt, ...)                                                            \
    {                                                                                              \
        va_list ap;                                                                                \
        va_start(ap, fmt);                                                                         \
        log_write(level, "", fmt, ap);                                                             \
        va_end(ap);                                                                                \
    }
LOG_DEFINE(log_debug, LOG_LEVEL_DEBUG)
LOG_DEFINE(log_info, LOG_LEVEL_INFO)
LOG_DEFINE(log_warn, LOG_LEVEL_WARNING)
LOG_DEFINE(log_error, LOG_LEVEL_ERROR)

void log_fatal(const char *fmt, ...)
{
    va_list ap;

    log_min_level = MIN(log_min_level, LOG_LEVEL_ERROR);
    va_start(ap, fmt);
    log_write(LOG_LEVEL_ERROR, "fatal: ", fmt, ap);
    va_end(ap);
    exit(78);
}

void log_msg(enum log_level level, gint64 id, const char *fmt, ...)
{
    char prefix[32];
    va_list ap;

    snprintf(prefix, sizeof(prefix), "%" G_GINT64_FORMAT ": ", id);
    va_start(ap, fmt);
    log_write(level, prefix, fmt, ap);
    va_end(ap);
}

const char *log_addr(const char *addr, char buf[LOG_ADDR_MAX])
{
    if (addr == NULL)
        return "(unknown)";
    if (*addr == '\0')
        return "<>";
    if (!log_masking) {
        if (g_strlcpy(buf, addr, LOG_ADDR_MAX) >= LOG_ADDR_MAX)
            memcpy(buf + LOG_ADDR_MAX - 4, "...", 4);
        return buf;
    }
    const char *at = strrchr(addr, '@');
    const char *domain = at != NULL ? at + 1 : "";
    if (snprintf(buf, LOG_ADDR_MAX, "%c***@%s", addr[0], domain) >= LOG_ADDR_MAX)
        memcpy(buf + LOG_ADDR_MAX - 4, "...", 4);
    return buf;
}
