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

#define LOG_LINE_MAX 2048
/* The longest MTA queue id put first on a line (Postfix's long form has 17 characters). */
#define LOG_QUEUE_ID_MAX 32

/* PREFIX and the formatted text as one line in LINE (LOG_LINE_MAX bytes, cut when longer). */
static void log_format(char *line, const char *prefix, const char *fmt, va_list ap)
    G_GNUC_PRINTF(3, 0);
static void log_format(char *line, const char *prefix, const char *fmt, va_list ap)
{
    int used = snprintf(line, LOG_LINE_MAX, "%s", prefix);
    if (used < 0 || (size_t)used >= LOG_LINE_MAX)
        used = 0;
    vsnprintf(line + used, LOG_LINE_MAX - (size_t)used, fmt, ap);
    /* A value from the network may carry line breaks: one event stays one line. */
    for (char *p = line; *p != '\0'; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

static void log_write(enum log_level level, const char *prefix, const char *fmt, va_list ap)
    G_GNUC_PRINTF(3, 0);
static void log_write(enum log_level level, const char *prefix, const char *fmt, va_list ap)
{
    static const int priorities[] = {LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR};
    char line[LOG_LINE_MAX];

    if (level < log_min_level)
        return;
    log_format(line, prefix, fmt, ap);
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
    /* Opened for every target: the audit lines of the CLI go to syslog too. Without
     * LOG_NDELAY nothing connects until the first such line. */
    openlog(log_ident, LOG_PID | (target != LOG_TO_STDERR ? LOG_NDELAY : 0), LOG_MAIL);
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

/* Is ID fit to start a line: a plain word of letters and digits, as MTAs make them? */
static gboolean log_queue_id_is_plain(const char *id)
{
    if (id == NULL || *id == '\0' || strlen(id) > LOG_QUEUE_ID_MAX)
        return FALSE;
    for (const char *p = id; *p != '\0'; p++)
        if (!g_ascii_isalnum(*p))
            return FALSE;
    return TRUE;
}

void log_msg_mta(enum log_level level, const char *mta_queue_id, gint64 id, const char *fmt, ...)
{
    char prefix[LOG_QUEUE_ID_MAX + 8];
    va_list ap;

    if (log_queue_id_is_plain(mta_queue_id))
        snprintf(prefix, sizeof(prefix), "%s: ", mta_queue_id); /* fits: length checked */
    else
        snprintf(prefix, sizeof(prefix), "%" G_GINT64_FORMAT ": ", id);
    va_start(ap, fmt);
    log_write(level, prefix, fmt, ap);
    va_end(ap);
}

void log_audit(gint64 id, const char *fmt, ...)
{
    char prefix[32] = "", line[LOG_LINE_MAX];
    va_list ap;

    if (id > 0)
        snprintf(prefix, sizeof(prefix), "%" G_GINT64_FORMAT ": ", id);
    va_start(ap, fmt);
    log_format(line, prefix, fmt, ap);
    va_end(ap);
    /* Whatever the target and the level: mail.log shows who approved or retried what. */
    syslog(LOG_INFO, "%s", line);
    if (log_target == LOG_TO_STDERR && log_min_level <= LOG_LEVEL_INFO)
        fprintf(stderr, "%s: %s\n", log_ident, line);
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
    /* Only the local part is masked; the log stays below the mail layer (addr.h). */
    const char *at = strrchr(addr, '@');
    const char *domain = at != NULL ? at + 1 : NULL;
    if (snprintf(buf, LOG_ADDR_MAX, "%c***@%s", addr[0], domain != NULL ? domain : "") >=
        LOG_ADDR_MAX)
        memcpy(buf + LOG_ADDR_MAX - 4, "...", 4);
    return buf;
}

/* Could C be in the local part of an address (RFC 5322 atext and the dot, but for the "/" that
 * ends the scheme of a URL)? */
static gboolean log_is_local_char(char c)
{
    return g_ascii_isalnum(c) || (c != '\0' && strchr(".!#$%&'*+=?^_`{|}~-", c) != NULL);
}

char *log_mask_text(const char *text)
{
    if (text == NULL)
        return NULL;
    if (!log_masking)
        return g_strdup(text);
    GString *out = g_string_new(NULL);
    const char *copied = text; /* TEXT up to here is in OUT */
    for (const char *at = strchr(text, '@'); at != NULL; at = strchr(at + 1, '@')) {
        const char *local = at;
        while (local > copied && log_is_local_char(local[-1]))
            local--;
        const char *end = at + 1;
        while (g_ascii_isalnum(*end) || *end == '-' || *end == '.')
            end++;
        while (end > at + 1 && end[-1] == '.') /* the end of a sentence */
            end--;
        /* Nothing to mask: no local part, no domain, or one masked already (redact.h). */
        if (local == at || end == at + 1 || strspn(local, "*") == (size_t)(at - local))
            continue;
        g_string_append_len(out, copied, local - copied);
        g_string_append_printf(out, "%c***@%.*s", *local, (int)(end - at - 1), at + 1);
        copied = end;
        at = end - 1;
    }
    g_string_append(out, copied);
    return g_string_free(out, FALSE);
}
