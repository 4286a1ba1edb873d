/*
 * summary: the one line per message; see summary.h.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "summary.h"
#include "text.h"

/* Longest reason quoted in the line. */
#define SUMMARY_REASON_MAX 400

/* A delay: seconds with one or two decimals, "-" when US < 0. */
static const char *summary_seconds(gint64 us, char buf[32])
{
    if (us < 0)
        return "-";
    if (snprintf(buf, 32, "%.2f", (double)us / G_USEC_PER_SEC) >= 32)
        return "?";
    size_t len = strlen(buf);
    if (buf[len - 1] == '0') /* 1.20 -> 1.2; 0.00 -> 0.0 */
        buf[len - 1] = '\0';
    return buf;
}

/* ADDR: <masked address>, <> for the null sender, - when unknown. */
static const char *summary_addr(const char *addr, char buf[LOG_ADDR_MAX + 2])
{
    char masked[LOG_ADDR_MAX];
    if (addr == NULL)
        return "-";
    if (*addr == '\0')
        return "<>";
    snprintf(buf, LOG_ADDR_MAX + 2, "<%s>", log_addr(addr, masked)); /* fits: masked is capped */
    return buf;
}

char *summary_format(const struct summary *s)
{
    char from[LOG_ADDR_MAX + 2], mailbox[LOG_ADDR_MAX + 2], to[LOG_ADDR_MAX + 2];
    char confidence[16] = "-", delay[32], llm[32], send[32];
    if (s->intent != NULL)
        snprintf(confidence, sizeof(confidence), "%.2f", s->confidence); /* fits: 0 to 1 */
    char *msgid = s->message_id != NULL ? g_strdup_printf("<%s>", s->message_id) : NULL;
    char *quoted = s->reason != NULL ? text_quote_for_log(s->reason, SUMMARY_REASON_MAX) : NULL;
    char *line = g_strdup_printf(
        "id=%" G_GINT64_FORMAT " from=%s mailbox=%s intent=%s confidence=%s action=%s to=%s "
        "msgid=%s status=%s delay=%s llm=%s send=%s%s%s%s",
        s->id, summary_addr(s->envelope_from, from), summary_addr(s->mailbox, mailbox),
        s->intent != NULL ? s->intent : "-", confidence, s->action != NULL ? s->action : "-",
        summary_addr(s->recipient, to), msgid != NULL ? msgid : "-", s->status,
        summary_seconds(MAX(s->delay_us, 0), delay), summary_seconds(s->llm_us, llm),
        summary_seconds(s->send_us, send), quoted != NULL ? " reason=\"" : "",
        quoted != NULL ? quoted : "", quoted != NULL ? "\"" : "");
    g_free(quoted);
    g_free(msgid);
    return line;
}

void summary_log(enum log_level level, const struct summary *summary)
{
    char *line = summary_format(summary);
    log_msg_mta(level, summary->mta_queue_id, summary->id, "%s", line);
    g_free(line);
}
