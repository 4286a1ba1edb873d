/*
 * retention: [policy] retention_days and metadata_retention_days, applied by the daemon's
 * housekeeping.
 *
 * retention_apply() removes the content of settled messages older than retention_days and the
 * rows of those older than metadata_retention_days (store_purge.h says what each covers), in
 * batches of RETENTION_BATCH messages, each its own short transaction so that the milter's
 * intake never waits for more than one; at most RETENTION_MAX_BATCHES a call, *MORE_R telling
 * whether work was left. retention_housekeep() is what the housekeeping thread calls each round:
 * it applies retention at most once an hour (again at the next round while work is left), logs
 * what went in one line and keeps it as an event of the daemon; a failure is logged and tried
 * again at a later round. Neither does anything when both keys are 0.
 */
#ifndef MAILTRIAGE_RETENTION_H
#define MAILTRIAGE_RETENTION_H

#include <glib.h>
#include <sqlite3.h>

#include "config.h"
#include "store_purge.h"

#define RETENTION_BATCH 200
#define RETENTION_MAX_BATCHES 50

/* What one call removed. */
struct retention_result {
    struct store_purge_counts bodies; /* content emptied */
    struct store_purge_counts rows;   /* rows deleted */
};

/* As of NOW (Unix seconds). DB_OK, DB_BUSY or DB_ERROR; *RESULT_R holds what was done before a
 * failure too. */
int retention_apply(sqlite3 *db, const struct config *cfg, gint64 now,
                    struct retention_result *result_r, gboolean *more_r,
                    char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Only from the one housekeeping thread: it keeps the time of the next run. */
void retention_housekeep(sqlite3 *db, const struct config *cfg);

#endif
