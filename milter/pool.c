/*
 * pool: worker threads and housekeeping of mailtriaged; see pool.h.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib.h>

#include "db.h"
#include "lease.h"
#include "llm.h"
#include "log.h"
#include "pool.h"
#include "process.h"
#include "queue.h"
#include "retention.h"
#include "staff.h"
#include "store.h"

#define POOL_HOUSEKEEPING_SECONDS 30
/* Staff messages folded into their conversations before each claim, at most. */
#define POOL_STAFF_BATCH 20

struct pool {
    GMutex lock;
    GCond wake;
    struct config *cfg; /* under lock */
    volatile gint stop;
    GPtrArray *threads;
    struct lease_keeper *leases; /* renews the workers' claims */
};

struct pool_worker {
    struct pool *pool;
    unsigned number;
};

static struct config *pool_get_config(struct pool *pool)
{
    g_mutex_lock(&pool->lock);
    struct config *cfg = config_ref(pool->cfg);
    g_mutex_unlock(&pool->lock);
    return cfg;
}

/* Sleep SECONDS or until woken or stopped. */
static void pool_idle(struct pool *pool, gint64 seconds)
{
    g_mutex_lock(&pool->lock);
    if (!g_atomic_int_get(&pool->stop))
        g_cond_wait_until(&pool->wake, &pool->lock,
                          g_get_monotonic_time() + seconds * G_USEC_PER_SEC);
    g_mutex_unlock(&pool->lock);
}

int pool_db_open(const struct config *cfg, sqlite3 **db_r, char **error_r)
{
    char *error = NULL;
    int status = db_open_existing(cfg->daemon.database, (int)cfg->daemon.busy_timeout * 1000,
                                  DB_READ_WRITE, db_r, &error);
    if (status == DB_MISSING) {
        *error_r = g_strdup_printf("%s (mailtriaged created it at start, so it was removed since: "
                                   "restore it, or restart mailtriaged, which creates a new one)",
                                   error);
        g_free(error);
    } else if (status != DB_OK)
        *error_r = error;
    return status;
}

static sqlite3 *pool_open_db(struct pool *pool, const char *who)
{
    while (!g_atomic_int_get(&pool->stop)) {
        struct config *cfg = pool_get_config(pool);
        sqlite3 *db = NULL;
        char *error = NULL;
        int status = pool_db_open(cfg, &db, &error);
        gint64 wait = cfg->daemon.retry_base;
        config_unref(cfg);
        /* A worker's bookkeeping is lazy (db.h): one fsync per mail sent, not one per step. */
        if (status == DB_OK && (status = db_set_lazy(db, &error)) != DB_OK)
            g_clear_pointer(&db, db_close);
        if (status == DB_OK)
            return db;
        log_error("%s: cannot open the database, retrying in %" G_GINT64_FORMAT "s: %s", who, wait,
                  error);
        g_free(error);
        pool_idle(pool, wait);
    }
    return NULL;
}

/* Lower the calling thread's CPU priority by INCREMENT (on Linux, nice is a thread's own; the
 * sendmail it starts inherits it). */
static void pool_lower_priority(const char *who, unsigned increment)
{
#ifdef __linux__
    if (increment == 0)
        return;
    id_t tid = (id_t)gettid();
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, tid);
    if ((nice == -1 && errno != 0) ||
        setpriority(PRIO_PROCESS, tid, MIN(nice + (int)increment, 19)) < 0)
        log_warn("%s: cannot lower its CPU priority (worker_nice): %s", who, g_strerror(errno));
#else
    (void)who;
    (void)increment;
#endif
}

static gpointer pool_work(gpointer data)
{
    struct pool_worker *worker = data;
    struct pool *pool = worker->pool;
    char who[32], owner[128];
    snprintf(who, sizeof(who), "worker %u", worker->number);
    struct config *start = pool_get_config(pool);
    pool_lower_priority(who, start->daemon.worker_nice);
    config_unref(start);
    sqlite3 *db = pool_open_db(pool, who);
    struct llm_client *llm = llm_client_new(&pool->stop);

    while (db != NULL && !g_atomic_int_get(&pool->stop)) {
        struct config *cfg = pool_get_config(pool);
        snprintf(owner, sizeof(owner), "%s:%d:%u", cfg->hostname, (int)getpid(), worker->number);
        struct queue_row *row = NULL;
        char *error = NULL;
        /* First what staff wrote: the correspondent's next message must find it. */
        if (staff_fold_pending(db, cfg, POOL_STAFF_BATCH, NULL, &error) != DB_OK) {
            log_warn("%s: cannot fold staff messages into their conversations: %s", who, error);
            g_clear_pointer(&error, g_free);
        }
        int claimed = queue_claim(db, owner, cfg->daemon.lease_time, 0, &row, &error);
        if (claimed == 1) {
            struct process_context ctx = {cfg, db, llm, owner, &pool->stop, pool->leases};
            process_row(&ctx, row);
            queue_row_free(row);
        } else {
            if (claimed < 0) {
                log_warn("%s: cannot claim a message: %s", who, error);
                g_free(error);
            }
            if (claimed == DB_ERROR) { /* a new connection finds what the path holds now */
                db_close(db);
                pool_idle(pool, cfg->daemon.retry_base);
                db = pool_open_db(pool, who);
            } else
                pool_idle(pool, cfg->daemon.poll_interval);
        }
        config_unref(cfg);
    }
    llm_client_free(llm);
    if (db != NULL)
        db_close(db);
    g_free(worker);
    return NULL;
}

/* A connection for each round: one held between rounds would keep a removed database in use,
 * and SQLite would not let the pipe make a new one at its path. */
static gpointer pool_housekeep(gpointer data)
{
    struct pool *pool = data;
    sqlite3 *db = NULL;
    while (!g_atomic_int_get(&pool->stop) && (db = pool_open_db(pool, "housekeeping")) != NULL) {
        struct config *cfg = pool_get_config(pool);
        gint64 orphans = 0, count = 0;
        char *error = NULL;
        if (queue_recover_orphans(db, cfg->hostname, &orphans, &error) != DB_OK ||
            queue_recover_expired(db, (int)cfg->daemon.max_attempts, &count, &error) != DB_OK) {
            log_warn("housekeeping: %s", error);
            g_free(error);
        } else if (count > 0) {
            log_warn("housekeeping: %" G_GINT64_FORMAT " message(s) whose worker stopped are "
                     "queued again (or failed after max_attempts)",
                     count);
            store_event(db, 0, "warning", "messages whose worker stopped were recovered");
            pool_wake(pool);
        }
        retention_housekeep(db, cfg);
        db_close(db);
        config_unref(cfg);
        pool_idle(pool, POOL_HOUSEKEEPING_SECONDS);
    }
    return NULL;
}

struct pool *pool_start(struct config *cfg)
{
    struct pool *pool = g_new0(struct pool, 1);
    g_mutex_init(&pool->lock);
    g_cond_init(&pool->wake);
    pool->cfg = config_ref(cfg);
    pool->threads = g_ptr_array_new();
    llm_limit_set(cfg->llm.max_concurrency);
    /* Its own connection and thread, so that a worker waiting on the LLM or sendmail keeps its
     * lease; it outlives the workers (pool_stop()). */
    pool->leases = lease_keeper_start(cfg->daemon.database, (int)cfg->daemon.busy_timeout * 1000);

    g_ptr_array_add(pool->threads, g_thread_new("housekeeping", pool_housekeep, pool));
    for (unsigned i = 0; i < cfg->daemon.workers; i++) {
        struct pool_worker *worker = g_new0(struct pool_worker, 1);
        worker->pool = pool;
        worker->number = i + 1;
        g_ptr_array_add(pool->threads, g_thread_new("worker", pool_work, worker));
    }
    log_info("%u workers started, LLM concurrency %u, worker_nice %u", cfg->daemon.workers,
             cfg->llm.max_concurrency, cfg->daemon.worker_nice);
    return pool;
}

void pool_set_config(struct pool *pool, struct config *cfg)
{
    g_mutex_lock(&pool->lock);
    struct config *old = pool->cfg;
    pool->cfg = config_ref(cfg);
    g_mutex_unlock(&pool->lock);
    llm_limit_set(cfg->llm.max_concurrency);
    config_unref(old);
}

void pool_wake(struct pool *pool)
{
    g_mutex_lock(&pool->lock);
    g_cond_broadcast(&pool->wake);
    g_mutex_unlock(&pool->lock);
}

void pool_stop(struct pool *pool)
{
    g_atomic_int_set(&pool->stop, 1);
    pool_wake(pool);
    for (guint i = 0; i < pool->threads->len; i++)
        g_thread_join(g_ptr_array_index(pool->threads, i));
    lease_keeper_stop(pool->leases);
    g_ptr_array_unref(pool->threads);
    config_unref(pool->cfg);
    g_cond_clear(&pool->wake);
    g_mutex_clear(&pool->lock);
    g_free(pool);
}
