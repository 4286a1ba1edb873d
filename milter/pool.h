/*
 * pool: the daemon's worker threads and housekeeping.
 *
 * pool_start() starts [daemon] workers threads, each with its own database connection and
 * LLM client, that claim due messages and process them, and one housekeeping thread that puts
 * messages whose lease expired back in the queue and applies [policy] retention (retention.h).
 * Idle workers look for work every
 * poll_interval, or at once after pool_wake(). pool_stop() asks every thread to stop: a worker
 * finishes the message in hand, or releases it to the queue if it was waiting on the LLM,
 * and then the threads are joined. The configuration is taken afresh for each message, so
 * pool_set_config() (a reload) applies to the next one. Call with signals blocked: the
 * threads inherit the mask.
 */
#ifndef MAILTRIAGE_POOL_H
#define MAILTRIAGE_POOL_H

#include "config.h"

struct pool;

struct pool *pool_start(struct config *cfg);
void pool_set_config(struct pool *pool, struct config *cfg);
void pool_wake(struct pool *pool);
void pool_stop(struct pool *pool);

#endif
