/*
 * pool: the daemon's worker threads and housekeeping.
 *
 * pool_start() starts [daemon] workers threads, each with its own database connection and
 * LLM client, that claim due messages and process them; they run worker_nice below the
 * daemon's CPU priority, since the milter's threads, which an SMTP client waits for, come
 * first (their write turn too: db_gate.h). Their connections are lazy (db.h: a power loss may
 * take back their last steps, which are then done again; the write after which mail leaves is
 * durable), so that a message costs one fsync when it sends mail and none when it does not. It also
 * starts one lease keeper (lease.h) that renews the leases of the messages in the workers' hands
 * every lease_time/3 while they work, and one housekeeping thread that puts messages whose lease
 * expired back in the queue and applies [policy] retention (retention.h); it opens a connection for
 * each round and closes it after. Idle workers look for work every poll_interval, or at once after
 * pool_wake(). pool_stop() asks every thread to stop: a worker finishes the message in hand (a
 * sendmail run included), or releases it to the queue if it was waiting on the LLM, and then the
 * threads are joined, the lease keeper last. The configuration is taken afresh for each
 * message, so pool_set_config() (a reload) applies to the next one. Call with signals
 * blocked: the threads inherit the mask. A thread whose database connection fails otherwise
 * than busy (the file was removed, replaced or made read-only, or a newer program upgraded
 * it) closes it and opens the path again, retrying every retry_base until it works.
 * pool_db_open() is the daemon's way to open the database: the file must exist, since
 * mailtriaged created it at start; one removed since is not silently made anew and empty.
 */
#ifndef MAILTRIAGE_POOL_H
#define MAILTRIAGE_POOL_H

#include <sqlite3.h>

#include "config.h"

struct pool;

/* DB_OK, or DB_BUSY, DB_ERROR or DB_MISSING with the reason (and what to do) in *ERROR_R. */
int pool_db_open(const struct config *cfg, sqlite3 **db_r,
                 char **error_r) G_GNUC_WARN_UNUSED_RESULT;

struct pool *pool_start(struct config *cfg);
void pool_set_config(struct pool *pool, struct config *cfg);
void pool_wake(struct pool *pool);
void pool_stop(struct pool *pool);

#endif
