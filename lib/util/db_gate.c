/*
 * db_gate: the write turn of a process's threads and the busy handler; see db_gate.h.
 */
#include <glib.h>
#include <sqlite3.h>
#include <unistd.h>

#include "db_gate.h"

static struct {
    GMutex lock;
    GCond turn;
    gboolean held;
    unsigned waiting;       /* threads waiting for the turn */
    unsigned first_waiting; /* those of them that are DB_GATE_FIRST */
} db_gate;

static _Thread_local enum db_gate_priority db_gate_priority = DB_GATE_NORMAL;
static _Thread_local sqlite3 *db_gate_holder; /* the connection this thread holds the turn for */

void db_gate_thread_priority(enum db_gate_priority priority)
{
    db_gate_priority = priority;
}

void db_gate_enter(sqlite3 *db)
{
    if (db_gate_holder != NULL)
        return;
    gboolean first = db_gate_priority == DB_GATE_FIRST;
    g_mutex_lock(&db_gate.lock);
    db_gate.waiting++;
    if (first)
        db_gate.first_waiting++;
    while (db_gate.held || (!first && db_gate.first_waiting > 0))
        g_cond_wait(&db_gate.turn, &db_gate.lock);
    if (first)
        db_gate.first_waiting--;
    db_gate.waiting--;
    db_gate.held = TRUE;
    g_mutex_unlock(&db_gate.lock);
    db_gate_holder = db;
}

void db_gate_leave(sqlite3 *db)
{
    if (db == NULL || db_gate_holder != db)
        return;
    db_gate_holder = NULL;
    g_mutex_lock(&db_gate.lock);
    db_gate.held = FALSE;
    g_cond_broadcast(&db_gate.turn);
    g_mutex_unlock(&db_gate.lock);
}

unsigned db_gate_waiters(void)
{
    g_mutex_lock(&db_gate.lock);
    unsigned waiting = db_gate.waiting;
    g_mutex_unlock(&db_gate.lock);
    return waiting;
}

/* The wait before try COUNT + 1, in microseconds, and the waits before it summed. */
static gint64 db_gate_delay(int count)
{
    return count < 5 ? (gint64)50 << count : 1000;
}

static gint64 db_gate_waited(int count)
{
    gint64 total = 0;
    for (int i = 0; i < MIN(count, 5); i++)
        total += db_gate_delay(i);
    if (count > 5)
        total += (gint64)(count - 5) * 1000;
    return total;
}

static int db_gate_busy(void *data, int count)
{
    gint64 timeout_us = (gint64)GPOINTER_TO_INT(data) * 1000;
    if (db_gate_waited(count) >= timeout_us)
        return 0;
    g_usleep((gulong)db_gate_delay(count));
    return 1;
}

void db_gate_busy_handler(sqlite3 *db, int busy_timeout_ms)
{
    sqlite3_busy_handler(db, db_gate_busy, GINT_TO_POINTER(MAX(busy_timeout_ms, 0)));
}
