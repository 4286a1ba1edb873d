/*
 * recorder: the milter's one database writer; see recorder.h.
 */
#include <glib.h>
#include <sqlite3.h>

#include "db.h"
#include "db_gate.h"
#include "intake.h"
#include "log.h"
#include "pool.h"
#include "recorder.h"
#include "staff.h"

struct recorder_job {
    const struct intake_message *msg;
    gboolean staff; /* a staff message: staff_record(), *staff_id */
    gint64 staff_id;
    GArray *ids;
    char *error;
    int status;
    gboolean done;
};

struct recorder {
    GMutex lock;
    GCond work;         /* the writer waits for jobs */
    GCond done;         /* callers wait for theirs */
    GPtrArray *pending; /* of struct recorder_job *, under lock */
    gboolean stop;
    GThread *thread;
    sqlite3 *db; /* the writer's alone */
};

/* The writer's connection, checked: NULL with *ERROR_R when none can be had. */
static sqlite3 *recorder_db(struct recorder *recorder, const struct config *cfg, char **error_r)
{
    char *why = NULL;
    if (recorder->db != NULL && db_check_file(recorder->db, &why) != DB_OK) {
        log_warn("%s; the milter's database connection was closed", why);
        g_free(why);
        g_clear_pointer(&recorder->db, db_close);
    }
    if (recorder->db == NULL && pool_db_open(cfg, &recorder->db, error_r) != DB_OK)
        recorder->db = NULL;
    return recorder->db;
}

/* Record N jobs in one transaction; *OPENED_R says whether a connection was had at all. On a
 * failure that is not busy the connection is closed. */
static int recorder_write(struct recorder *recorder, struct recorder_job **jobs, guint n,
                          gboolean *opened_r, char **error_r)
{
    sqlite3 *db = recorder_db(recorder, jobs[0]->msg->cfg, error_r);
    *opened_r = db != NULL;
    if (db == NULL)
        return DB_ERROR;
    const struct intake_message **msgs = g_new(const struct intake_message *, n);
    GArray **ids = g_new0(GArray *, n);
    for (guint i = 0; i < n; i++)
        msgs[i] = jobs[i]->msg;
    int status = intake_record_batch(msgs, n, db, ids, error_r);
    if (status == DB_OK)
        for (guint i = 0; i < n; i++)
            jobs[i]->ids = ids[i];
    else if (status != DB_BUSY)
        g_clear_pointer(&recorder->db, db_close);
    g_free(ids);
    g_free(msgs);
    return status;
}

static void recorder_settle(struct recorder_job *job, int status, const char *error)
{
    job->status = status;
    if (status != DB_OK)
        job->error = g_strdup(error);
}

/* A staff message, in a transaction of its own. */
static void recorder_staff(struct recorder *recorder, struct recorder_job *job)
{
    char *error = NULL;
    sqlite3 *db = recorder_db(recorder, job->msg->cfg, &error);
    int status = db != NULL ? staff_record(db, job->msg, &job->staff_id, &error) : DB_ERROR;
    if (db != NULL && status != DB_OK && status != DB_BUSY)
        g_clear_pointer(&recorder->db, db_close);
    recorder_settle(job, status, error);
    g_free(error);
}

/* Inbound messages, in one transaction. */
static void recorder_inbound(struct recorder *recorder, GPtrArray *batch)
{
    struct recorder_job **jobs = (struct recorder_job **)batch->pdata;
    char *error = NULL;
    gboolean opened;
    int status = recorder_write(recorder, jobs, batch->len, &opened, &error);
    if (opened && status == DB_ERROR && batch->len > 1) {
        /* One message may be what the database refused: the others need not fail with it. */
        g_clear_pointer(&error, g_free);
        for (guint i = 0; i < batch->len; i++) {
            status = recorder_write(recorder, &jobs[i], 1, &opened, &error);
            recorder_settle(jobs[i], status, error);
            g_clear_pointer(&error, g_free);
        }
        return;
    }
    for (guint i = 0; i < batch->len; i++)
        recorder_settle(jobs[i], status, error);
    g_free(error);
}

static void recorder_batch(struct recorder *recorder, GPtrArray *batch)
{
    GPtrArray *inbound = g_ptr_array_sized_new(batch->len);
    for (guint i = 0; i < batch->len; i++) {
        struct recorder_job *job = g_ptr_array_index(batch, i);
        if (job->staff)
            recorder_staff(recorder, job);
        else
            g_ptr_array_add(inbound, job);
    }
    if (inbound->len > 0)
        recorder_inbound(recorder, inbound);
    g_ptr_array_unref(inbound);
}

static gpointer recorder_run(gpointer data)
{
    struct recorder *recorder = data;
    db_gate_thread_priority(DB_GATE_FIRST);
    g_mutex_lock(&recorder->lock);
    for (;;) {
        while (recorder->pending->len == 0 && !recorder->stop)
            g_cond_wait(&recorder->work, &recorder->lock);
        if (recorder->pending->len == 0)
            break;
        guint n = MIN(recorder->pending->len, RECORDER_BATCH_MAX);
        GPtrArray *batch = g_ptr_array_sized_new(n);
        for (guint i = 0; i < n; i++)
            g_ptr_array_add(batch, g_ptr_array_index(recorder->pending, i));
        g_ptr_array_remove_range(recorder->pending, 0, n);
        g_mutex_unlock(&recorder->lock);
        recorder_batch(recorder, batch);
        g_mutex_lock(&recorder->lock);
        for (guint i = 0; i < batch->len; i++)
            ((struct recorder_job *)g_ptr_array_index(batch, i))->done = TRUE;
        g_cond_broadcast(&recorder->done);
        g_ptr_array_unref(batch);
    }
    g_mutex_unlock(&recorder->lock);
    if (recorder->db != NULL)
        db_close(recorder->db);
    return NULL;
}

struct recorder *recorder_start(void)
{
    struct recorder *recorder = g_new0(struct recorder, 1);
    g_mutex_init(&recorder->lock);
    g_cond_init(&recorder->work);
    g_cond_init(&recorder->done);
    recorder->pending = g_ptr_array_new();
    recorder->thread = g_thread_new("recorder", recorder_run, recorder);
    return recorder;
}

/* Hand JOB to the writer and wait until it is written. */
static void recorder_wait(struct recorder *recorder, struct recorder_job *job)
{
    g_mutex_lock(&recorder->lock);
    g_ptr_array_add(recorder->pending, job);
    g_cond_signal(&recorder->work);
    while (!job->done)
        g_cond_wait(&recorder->done, &recorder->lock);
    g_mutex_unlock(&recorder->lock);
}

int recorder_record_staff(struct recorder *recorder, const struct intake_message *msg, gint64 *id_r,
                          char **error_r)
{
    struct recorder_job job = {.msg = msg, .staff = TRUE};
    recorder_wait(recorder, &job);
    if (job.status == DB_OK)
        *id_r = job.staff_id;
    else
        *error_r = job.error;
    return job.status;
}

int recorder_record(struct recorder *recorder, const struct intake_message *msg, GArray **ids_r,
                    char **error_r)
{
    struct recorder_job job = {.msg = msg};
    recorder_wait(recorder, &job);
    if (job.status == DB_OK)
        *ids_r = job.ids;
    else
        *error_r = job.error;
    return job.status;
}

void recorder_stop(struct recorder *recorder)
{
    if (recorder == NULL)
        return;
    g_mutex_lock(&recorder->lock);
    recorder->stop = TRUE;
    g_cond_signal(&recorder->work);
    g_mutex_unlock(&recorder->lock);
    g_thread_join(recorder->thread);
    g_ptr_array_unref(recorder->pending);
    g_cond_clear(&recorder->done);
    g_cond_clear(&recorder->work);
    g_mutex_clear(&recorder->lock);
    g_free(recorder);
}
