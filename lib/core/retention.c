/*
 * retention: bodies and rows out of the database when they are old enough; see retention.h.
 */
#include <glib.h>
#include <sqlite3.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "retention.h"
#include "store.h"

#define RETENTION_INTERVAL 3600
#define RETENTION_DAY 86400

/* The batches of one purge (FUNCTION) of messages received before BEFORE. */
static int retention_batches(sqlite3 *db, gint64 before,
                             int (*function)(sqlite3 *, gint64, int, struct store_purge_counts *,
                                             char **),
                             struct store_purge_counts *counts, gboolean *more_r, char **error_r)
{
    for (int batch = 0; batch < RETENTION_MAX_BATCHES; batch++) {
        gint64 messages = counts->messages;
        int status = function(db, before, RETENTION_BATCH, counts, error_r);
        if (status != DB_OK)
            return status;
        if (counts->messages - messages < RETENTION_BATCH)
            return DB_OK;
    }
    *more_r = TRUE;
    return DB_OK;
}

int retention_apply(sqlite3 *db, const struct config *cfg, gint64 now,
                    struct retention_result *result_r, gboolean *more_r, char **error_r)
{
    const struct config_policy *policy = &cfg->policy;
    *result_r = (struct retention_result){{0}, {0}};
    *more_r = FALSE;
    int status = DB_OK;
    /* Rows first: a message about to be deleted need not be emptied before. */
    if (policy->metadata_retention_days > 0)
        status =
            retention_batches(db, now - (gint64)policy->metadata_retention_days * RETENTION_DAY,
                              store_purge_rows, &result_r->rows, more_r, error_r);
    if (status == DB_OK && policy->retention_days > 0)
        status = retention_batches(db, now - (gint64)policy->retention_days * RETENTION_DAY,
                                   store_purge_bodies, &result_r->bodies, more_r, error_r);
    return status;
}

static void retention_log(sqlite3 *db, const struct config *cfg,
                          const struct retention_result *result)
{
    const struct store_purge_counts *b = &result->bodies, *r = &result->rows;
    if (b->messages == 0 && r->messages == 0 && r->events == 0 && r->bounces == 0 &&
        b->entries == 0 && r->entries == 0 && b->staff == 0 && r->staff == 0)
        return;
    char *text = g_strdup_printf(
        "retention: the content of %" G_GINT64_FORMAT " message(s) older than %u days removed (and "
        "of %" G_GINT64_FORMAT " draft(s), %" G_GINT64_FORMAT
        " classification(s)); %" G_GINT64_FORMAT
        " message(s) older than %u days deleted with %" G_GINT64_FORMAT " classification(s), "
        "%" G_GINT64_FORMAT " action(s), %" G_GINT64_FORMAT " draft(s), %" G_GINT64_FORMAT
        " event(s), and %" G_GINT64_FORMAT
        " bounce(s); conversations: the text of %" G_GINT64_FORMAT
        " history entr(ies) and %" G_GINT64_FORMAT " staff message(s) removed, %" G_GINT64_FORMAT
        " conversation(s) deleted with their last message, %" G_GINT64_FORMAT
        " history entr(ies) and %" G_GINT64_FORMAT " staff message(s) deleted",
        b->messages, cfg->policy.retention_days, b->drafts, b->classifications, r->messages,
        cfg->policy.metadata_retention_days, r->classifications, r->actions, r->drafts, r->events,
        r->bounces, b->entries, b->staff, r->conversations, r->entries, r->staff);
    log_info("%s", text);
    store_event(db, 0, "info", text);
    g_free(text);
}

void retention_housekeep(sqlite3 *db, const struct config *cfg)
{
    /* One housekeeping thread per process calls this: no lock. */
    static gint64 next_run;
    if (cfg->policy.retention_days == 0 && cfg->policy.metadata_retention_days == 0)
        return;
    gint64 now = clock_now();
    if (now < next_run)
        return;
    struct retention_result result;
    gboolean more = FALSE;
    char *error = NULL;
    int status = retention_apply(db, cfg, now, &result, &more, &error);
    retention_log(db, cfg, &result);
    if (status != DB_OK) {
        log_warn("retention: %s; tried again at the next round", error);
        g_free(error);
        more = TRUE;
    }
    next_run = more ? 0 : now + RETENTION_INTERVAL;
}
