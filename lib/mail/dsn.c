/*
 * dsn: hard bounces of our own messages; see dsn.h.
 */
#include <string.h>

#include <glib.h>

#include "dsn.h"
#include "markers.h"

/* The value of the first "NAME: value" line in TEXT, capped, or NULL. */
static char *dsn_field(const char *text, size_t len, const char *name)
{
    const char *end = text + len;
    for (const char *p = g_strstr_len(text, (gssize)len, name); p != NULL;
         p = g_strstr_len(p + 1, end - p - 1, name)) {
        if (p != text && p[-1] != '\n')
            continue;
        const char *value = p + strlen(name);
        size_t n = 0;
        while (value + n < end && value[n] != '\r' && value[n] != '\n' && value[n] != '\0')
            n++;
        return g_strstrip(g_strndup(value, MIN(n, (size_t)300)));
    }
    return NULL;
}

gboolean dsn_read(const char *raw, size_t len, struct dsn_report *report_r)
{
    *report_r = (struct dsn_report){0};
    if (raw == NULL || g_strstr_len(raw, (gssize)len, "Status:") == NULL)
        return FALSE;
    char *status = dsn_field(raw, len, "Status:");
    if (status == NULL || status[0] != '5') {
        g_free(status);
        return FALSE;
    }
    report_r->status = status;
    report_r->diagnostic = dsn_field(raw, len, "Diagnostic-Code:");
    report_r->message_ids = markers_find_message_ids(raw, len);
    return TRUE;
}

void dsn_report_clear(struct dsn_report *report)
{
    g_clear_pointer(&report->status, g_free);
    g_clear_pointer(&report->diagnostic, g_free);
    g_clear_pointer(&report->message_ids, g_ptr_array_unref);
}
