/*
 * lease: the renewal thread of this process's claims; see lease.h.
 */
#include <glib.h>
#include <sqlite3.h>

#include "db.h"
#include "lease.h"
#include "log.h"
#include "queue.h"

/* A watched claim. */
struct lease_claim {
    gint64 id;
    char *lease;
    gint64 seconds;
    gboolean lost;
};

struct lease_keeper {
    GMutex lock;
    GCond changed;
    GHashTable *claims; /* lease token -> struct lease_claim *, under lock */
    gint64 next_round;  /* monotonic us, under lock; 0: none planned */
    gboolean stop;      /* under lock */
    char *path;
    int busy_timeout_ms;
    GThread *thread;
};

static void lease_claim_free(struct lease_claim *claim)
{
    g_free(claim->lease);
    g_free(claim);
}

/* How often the claims of KEEPER are renewed: a third of the shortest lease, so that two
 * rounds may fail before a lease runs out. Under lock. */
static gint64 lease_interval_us(struct lease_keeper *keeper)
{
    gint64 shortest = G_MAXINT64;
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, keeper->claims);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        shortest = MIN(shortest, ((struct lease_claim *)value)->seconds);
    return MAX(shortest * G_USEC_PER_SEC / 3, G_USEC_PER_SEC);
}

/* Copies of the claims still renewed, taken under lock so that the database is used without it. */
static GPtrArray *lease_snapshot(struct lease_keeper *keeper)
{
    GPtrArray *claims = g_ptr_array_new_with_free_func((GDestroyNotify)lease_claim_free);
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, keeper->claims);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        const struct lease_claim *claim = value;
        if (claim->lost)
            continue;
        struct lease_claim *copy = g_new0(struct lease_claim, 1);
        copy->id = claim->id;
        copy->lease = g_strdup(claim->lease);
        copy->seconds = claim->seconds;
        g_ptr_array_add(claims, copy);
    }
    return claims;
}

/* Renew every claim of CLAIMS on *DB (opened on first use); mark those found lost. */
static void lease_renew_all(struct lease_keeper *keeper, sqlite3 **db, GPtrArray *claims)
{
    char *error = NULL;
    /* Never db_open(): a database removed under the daemon must not come back empty. */
    if (*db == NULL && db_open_existing(keeper->path, keeper->busy_timeout_ms, DB_READ_WRITE, db,
                                        &error) != DB_OK) {
        log_warn("lease renewal: cannot open the database, trying again at the next round: %s",
                 error);
        g_free(error);
        *db = NULL;
        return;
    }
    for (guint i = 0; i < claims->len; i++) {
        struct lease_claim *claim = g_ptr_array_index(claims, i);
        int status = queue_lease_renew(*db, claim->id, claim->lease, claim->seconds, &error);
        if (status == QUEUE_LEASE_LOST)
            claim->lost = TRUE; /* its worker says so, at its next write */
        else if (status != DB_OK)
            log_msg(LOG_LEVEL_WARNING, claim->id,
                    "cannot renew the lease, trying again at the next round: %s", error);
        g_clear_pointer(&error, g_free);
        if (status == DB_ERROR) { /* a new connection finds what the path holds now */
            db_close(*db);
            *db = NULL;
            break;
        }
    }
    g_mutex_lock(&keeper->lock);
    for (guint i = 0; i < claims->len; i++) {
        const struct lease_claim *renewed = g_ptr_array_index(claims, i);
        struct lease_claim *claim = g_hash_table_lookup(keeper->claims, renewed->lease);
        if (claim != NULL && renewed->lost)
            claim->lost = TRUE;
    }
    g_mutex_unlock(&keeper->lock);
}

static gpointer lease_keeper_run(gpointer data)
{
    struct lease_keeper *keeper = data;
    sqlite3 *db = NULL;
    g_mutex_lock(&keeper->lock);
    while (!keeper->stop) {
        if (g_hash_table_size(keeper->claims) == 0) {
            keeper->next_round = 0;
            g_cond_wait(&keeper->changed, &keeper->lock);
            continue;
        }
        if (keeper->next_round == 0)
            keeper->next_round = g_get_monotonic_time() + lease_interval_us(keeper);
        if (g_get_monotonic_time() < keeper->next_round) {
            g_cond_wait_until(&keeper->changed, &keeper->lock, keeper->next_round);
            continue;
        }
        GPtrArray *claims = lease_snapshot(keeper);
        g_mutex_unlock(&keeper->lock);
        lease_renew_all(keeper, &db, claims);
        g_ptr_array_unref(claims);
        /* A connection for each round, as housekeeping's: one held between rounds would keep a
         * removed database in use, and SQLite would not let the pipe make a new one there. */
        if (db != NULL) {
            db_close(db);
            db = NULL;
        }
        g_mutex_lock(&keeper->lock);
        keeper->next_round = g_get_monotonic_time() + lease_interval_us(keeper);
    }
    g_mutex_unlock(&keeper->lock);
    if (db != NULL)
        db_close(db);
    return NULL;
}

struct lease_keeper *lease_keeper_start(const char *path, int busy_timeout_ms)
{
    struct lease_keeper *keeper = g_new0(struct lease_keeper, 1);
    g_mutex_init(&keeper->lock);
    g_cond_init(&keeper->changed);
    keeper->claims =
        g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)lease_claim_free);
    keeper->path = g_strdup(path);
    keeper->busy_timeout_ms = busy_timeout_ms;
    keeper->thread = g_thread_new("lease", lease_keeper_run, keeper);
    return keeper;
}

void lease_keeper_stop(struct lease_keeper *keeper)
{
    if (keeper == NULL)
        return;
    g_mutex_lock(&keeper->lock);
    keeper->stop = TRUE;
    g_cond_broadcast(&keeper->changed);
    g_mutex_unlock(&keeper->lock);
    g_thread_join(keeper->thread);
    g_hash_table_unref(keeper->claims);
    g_cond_clear(&keeper->changed);
    g_mutex_clear(&keeper->lock);
    g_free(keeper->path);
    g_free(keeper);
}

void lease_keeper_watch(struct lease_keeper *keeper, const struct queue_row *row)
{
    struct lease_claim *claim = g_new0(struct lease_claim, 1);
    claim->id = row->id;
    claim->lease = g_strdup(row->lease);
    claim->seconds = row->lease_seconds;
    g_mutex_lock(&keeper->lock);
    g_hash_table_replace(keeper->claims, claim->lease, claim);
    /* A shorter lease than those watched so far brings the next round forward. */
    gint64 due = g_get_monotonic_time() + lease_interval_us(keeper);
    if (keeper->next_round == 0 || due < keeper->next_round)
        keeper->next_round = due;
    g_cond_broadcast(&keeper->changed);
    g_mutex_unlock(&keeper->lock);
}

void lease_keeper_forget(struct lease_keeper *keeper, const struct queue_row *row)
{
    g_mutex_lock(&keeper->lock);
    g_hash_table_remove(keeper->claims, row->lease);
    g_mutex_unlock(&keeper->lock);
}

gboolean lease_keeper_lost(struct lease_keeper *keeper, const struct queue_row *row)
{
    g_mutex_lock(&keeper->lock);
    const struct lease_claim *claim = g_hash_table_lookup(keeper->claims, row->lease);
    gboolean lost = claim != NULL && claim->lost;
    g_mutex_unlock(&keeper->lock);
    return lost;
}
