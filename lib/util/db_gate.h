/*
 * db_gate: how the threads of one process take turns at SQLite's write lock.
 *
 * SQLite lets one connection write at a time; a connection that finds the lock taken calls
 * its busy handler, and SQLite's own sleeps 1, 2, 5, 10 ... ms between tries, so a writer that
 * comes a moment after another waits a whole millisecond or more however short the other's
 * transaction was. Within a process, db_gate_enter() (db_begin_immediate() calls it) makes the
 * threads queue on a mutex instead, woken the moment the holder's transaction ends
 * (db_gate_leave(), from db_commit() and db_rollback()); threads that said
 * db_gate_thread_priority(DB_GATE_FIRST) (the milter's recorder, which an SMTP client waits
 * for) go before every other waiting thread. A second connection of a thread that already holds
 * the gate is not gated (no deadlock): SQLite's lock and busy handler still order it.
 * Between processes (the pipe, mailtriagectl), db_gate_busy_handler() retries every 50 us at
 * first, backing off to every millisecond, until the connection's busy_timeout is spent.
 * Nothing here knows the schema.
 */
#ifndef MAILTRIAGE_DB_GATE_H
#define MAILTRIAGE_DB_GATE_H

#include <sqlite3.h>

enum db_gate_priority { DB_GATE_NORMAL, DB_GATE_FIRST };

/* The calling thread's priority for the rest of its life. */
void db_gate_thread_priority(enum db_gate_priority priority);
/* Wait for the process's write turn for DB (returns at once when this thread holds the turn
 * for another connection, without taking it). */
void db_gate_enter(sqlite3 *db);
/* End DB's turn, if it has one; any other call does nothing. */
void db_gate_leave(sqlite3 *db);
/* How many threads wait for the turn now (for tests and diagnostics). */
unsigned db_gate_waiters(void);
/* Install the busy handler on DB, giving up after BUSY_TIMEOUT_MS. */
void db_gate_busy_handler(sqlite3 *db, int busy_timeout_ms);

#endif
