/*
 * lease: keeps the leases of this process's claims alive while their workers work.
 *
 * A worker that claimed a message (queue.h) may go a long time without writing: waiting for a
 * slot under [llm] max_concurrency, for the model, for sendmail. lease_keeper_start() starts one
 * thread, with a database connection of its own, that renews every third of the lease time the
 * lease of each claim watched with lease_keeper_watch(), until lease_keeper_forget(); so a lease
 * expires only when its process is gone or stuck, and lease_time bounds how long a dead
 * worker's message waits, not how long a live one may take. A claim whose lease is found lost
 * (another worker or an operator has the message) is no longer renewed and lease_keeper_lost()
 * says so; the check that counts is still the worker's own at each write (queue_lease_begin()).
 * A renewal that fails (database busy) is logged and tried again at the next round: a lease
 * survives two missed rounds. lease_keeper_stop() ends the thread; call it after the workers.
 */
#ifndef MAILTRIAGE_LEASE_H
#define MAILTRIAGE_LEASE_H

#include <glib.h>

#include "queue.h"

struct lease_keeper;

/* The keeper of the claims of this process on the database at PATH. */
struct lease_keeper *lease_keeper_start(const char *path, int busy_timeout_ms);
void lease_keeper_stop(struct lease_keeper *keeper);

/* Renew ROW's lease from now on, until lease_keeper_forget(). */
void lease_keeper_watch(struct lease_keeper *keeper, const struct queue_row *row);
void lease_keeper_forget(struct lease_keeper *keeper, const struct queue_row *row);
/* Has the keeper found ROW's lease taken by someone else? */
gboolean lease_keeper_lost(struct lease_keeper *keeper, const struct queue_row *row);

#endif
