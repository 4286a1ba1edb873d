/*
 * draft: proposed replies and their decisions, stored; see draft.h.
 */
#include <string.h>

#include <glib.h>
#include <sqlite3.h>

#include "clock.h"
#include "conversation_join.h"
#include "db.h"
#include "draft.h"
#include "log.h"
#include "store.h"

static const char *const draft_state_names[] = {"pending", "sending", "sent", "rejected", "failed"};

/* The draft's columns as draft_read_row() expects them; ?TEXT is the text or NULL. */
#define DRAFT_COLUMNS(TEXT)                                                                        \
    "SELECT d.id, d.message, d.state, m.mailbox, m.envelope_from, m.subject, d.recipient,"         \
    " d.outgoing_message_id, " TEXT ", d.created_at, d.decided_at, d.decided_by, d.reason,"        \
    " d.sendmail_status, d.error, m.intake = 'compose' FROM drafts d"                              \
    " JOIN messages m ON m.id = d.message"

const char *draft_state_name(enum draft_state state)
{
    return draft_state_names[state];
}

const char *draft_envelope_sender(const struct draft *draft)
{
    return draft->composed ? draft->mailbox : "";
}

static enum draft_state draft_state_parse(const unsigned char *name)
{
    for (size_t i = 0; name != NULL && i < G_N_ELEMENTS(draft_state_names); i++)
        if (strcmp((const char *)name, draft_state_names[i]) == 0)
            return (enum draft_state)i;
    return DRAFT_FAILED; /* the schema's CHECK allows nothing else */
}

void draft_free(struct draft *draft)
{
    if (draft == NULL)
        return;
    g_free(draft->mailbox);
    g_free(draft->envelope_from);
    g_free(draft->subject);
    g_free(draft->recipient);
    g_free(draft->outgoing_message_id);
    g_free(draft->text);
    g_free(draft->decided_by);
    g_free(draft->reason);
    g_free(draft->error);
    g_free(draft);
}

static struct draft *draft_read_row(sqlite3_stmt *stmt)
{
    struct draft *draft = g_new0(struct draft, 1);
    draft->id = sqlite3_column_int64(stmt, 0);
    draft->message = sqlite3_column_int64(stmt, 1);
    draft->state = draft_state_parse(sqlite3_column_text(stmt, 2));
    draft->mailbox = db_column_dup(stmt, 3);
    draft->envelope_from = db_column_dup(stmt, 4);
    draft->subject = db_column_dup(stmt, 5);
    draft->recipient = db_column_dup(stmt, 6);
    draft->outgoing_message_id = db_column_dup(stmt, 7);
    draft->text = db_column_dup(stmt, 8);
    draft->created_at = sqlite3_column_int64(stmt, 9);
    draft->decided_at = sqlite3_column_int64(stmt, 10);
    draft->decided_by = db_column_dup(stmt, 11);
    draft->reason = db_column_dup(stmt, 12);
    draft->sendmail_status =
        sqlite3_column_type(stmt, 13) == SQLITE_NULL ? -1 : sqlite3_column_int(stmt, 13);
    draft->error = db_column_dup(stmt, 14);
    draft->composed = sqlite3_column_int(stmt, 15) != 0;
    return draft;
}

/* Step STMT to completion, finalize it, and map the result; *CHANGES_R (when not NULL) is the
 * number of rows it changed. */
static int draft_run(sqlite3 *db, sqlite3_stmt *stmt, const char *context, int *changes_r,
                     char **error_r)
{
    int rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, context);
        return db_status_of(rc);
    }
    if (changes_r != NULL)
        *changes_r = sqlite3_changes(db);
    return DB_OK;
}

int draft_add(sqlite3 *db, gint64 message, const char *recipient, const char *message_id,
              const char *text, gint64 *id_r, char **error_r)
{
    if (recipient == NULL || *recipient == '\0' || message_id == NULL || *message_id == '\0' ||
        text == NULL || *text == '\0') {
        *error_r = g_strdup("a draft needs a recipient, a Message-ID and a text");
        return DB_ERROR;
    }
    /* A retried message must not get a second draft that could be approved too. */
    sqlite3_stmt *stmt = db_prepare(
        db,
        "INSERT INTO drafts (message, recipient, outgoing_message_id, text, created_at)"
        " SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM drafts WHERE message = ?1"
        " AND state IN ('pending', 'sending', 'sent'))",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    db_bind_text(stmt, 2, recipient);
    db_bind_text(stmt, 3, message_id);
    db_bind_text(stmt, 4, text);
    sqlite3_bind_int64(stmt, 5, clock_now());
    int changes = 0;
    int status = draft_run(db, stmt, "record draft", &changes, error_r);
    if (status != DB_OK || id_r == NULL)
        return status;
    if (changes == 1) {
        *id_r = sqlite3_last_insert_rowid(db);
        return DB_OK;
    }
    stmt = db_prepare(db,
                      "SELECT id FROM drafts WHERE message = ?1 AND state IN ('pending',"
                      " 'sending', 'sent') ORDER BY id DESC LIMIT 1",
                      error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, message);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *id_r = sqlite3_column_int64(stmt, 0);
    else
        *error_r = db_error(db, "read draft");
    sqlite3_finalize(stmt);
    return rc == SQLITE_ROW ? DB_OK : db_status_of(rc);
}

int draft_list(sqlite3 *db, gboolean all, GPtrArray **drafts_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(
        db,
        DRAFT_COLUMNS("NULL") " WHERE ?1 OR d.state IN ('pending', 'sending') ORDER BY d.id DESC",
        error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int(stmt, 1, all ? 1 : 0);
    GPtrArray *drafts = g_ptr_array_new_with_free_func((GDestroyNotify)draft_free);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
        g_ptr_array_add(drafts, draft_read_row(stmt));
    if (rc != SQLITE_DONE) {
        *error_r = db_error(db, "list drafts");
        g_ptr_array_unref(drafts);
    } else
        *drafts_r = drafts;
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? DB_OK : db_status_of(rc);
}

int draft_get(sqlite3 *db, gint64 id, struct draft **draft_r, char **error_r)
{
    sqlite3_stmt *stmt = db_prepare(db, DRAFT_COLUMNS("d.text") " WHERE d.id = ?1", error_r);
    if (stmt == NULL)
        return DB_ERROR;
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *draft_r = draft_read_row(stmt);
    else if (rc != SQLITE_DONE)
        *error_r = db_error(db, "read draft");
    sqlite3_finalize(stmt);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : db_status_of(rc);
}

/* Inside a transaction: draft ID when it is pending, else an error for an operator. */
static int draft_take_pending(sqlite3 *db, gint64 id, struct draft **draft_r, char **error_r)
{
    struct draft *draft = NULL;
    int found = draft_get(db, id, &draft, error_r);
    if (found < 0)
        return found;
    if (found == 0) {
        *error_r = g_strdup_printf("no draft %" G_GINT64_FORMAT, id);
        return DB_ERROR;
    }
    if (draft->state != DRAFT_PENDING) {
        *error_r = g_strdup_printf("draft %" G_GINT64_FORMAT " is %s, not pending", id,
                                   draft_state_name(draft->state));
        draft_free(draft);
        return DB_ERROR;
    }
    *draft_r = draft;
    return DB_OK;
}

int draft_begin_sending(sqlite3 *db, gint64 id, const char *who, struct draft **draft_r,
                        char **error_r)
{
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    struct draft *draft = NULL;
    if ((status = draft_take_pending(db, id, &draft, error_r)) != DB_OK) {
        db_rollback(db);
        return status;
    }
    /* Written before sendmail runs, so that an approval killed in its middle leaves the words
     * a person needs: draft_finish_sending() replaces them with the outcome. */
    char *unknown = g_strdup_printf(
        "outcome unknown until sendmail answers: approved by %s and handed to sendmail; if the "
        "draft stays in sending, the approval stopped first and the reply to <%s> may have gone "
        "out: look for message-id=<%s> in the mail log. It is never sent again",
        who, draft->recipient, draft->outgoing_message_id);
    sqlite3_stmt *stmt = db_prepare(
        db, "UPDATE drafts SET state = 'sending', error = ?2 WHERE id = ?1 AND state = 'pending'",
        error_r);
    if (stmt != NULL) {
        sqlite3_bind_int64(stmt, 1, id);
        db_bind_text(stmt, 2, unknown);
        status = draft_run(db, stmt, "claim draft", NULL, error_r);
    } else
        status = DB_ERROR;
    if (status == DB_OK) {
        char *event = g_strdup_printf("draft %" G_GINT64_FORMAT " approved by %s: sendmail runs "
                                      "for the reply to <%s>, message-id <%s>",
                                      id, who, draft->recipient, draft->outgoing_message_id);
        store_event(db, draft->message, "info", event);
        g_free(event);
        status = db_commit(db, error_r);
    } else
        db_rollback(db);
    g_free(unknown);
    if (status == DB_OK)
        *draft_r = draft;
    else
        draft_free(draft);
    return status;
}

/* The reply action on the message, as if mailtriage had sent it itself. */
static int draft_record_reply(sqlite3 *db, const struct draft *draft,
                              const struct draft_outcome *outcome, char **error_r)
{
    char *reason =
        g_strdup_printf("draft %" G_GINT64_FORMAT " approved by %s", draft->id, outcome->who);
    const struct store_action action = {
        .kind = STORE_ACTION_REPLY,
        .reason = reason,
        .recipient = draft->recipient,
        .envelope_sender = draft_envelope_sender(draft),
        .outgoing_message_id = draft->outgoing_message_id,
    };
    gint64 action_id = 0;
    int status =
        store_action_add(db, draft->message, &action, STORE_ACTION_PENDING, &action_id, error_r);
    if (status == DB_OK)
        status = store_action_finish(db, action_id, STORE_ACTION_SENT, outcome->exit_status, NULL,
                                     error_r);
    g_free(reason);
    if (status != DB_OK)
        return status;
    /* The reply went out: a failure to add it to the history must not lose that record. */
    char *error = NULL;
    struct classification *proposed = NULL;
    char *sources = NULL;
    if (store_classification_load(db, draft->message, &proposed, &error) == 1)
        sources = classification_sources_json(proposed->reply_sources, TRUE);
    classification_free(proposed);
    g_clear_pointer(&error, g_free);
    status =
        conversation_add_reply(db, draft->message, draft->mailbox, draft->text, strlen(draft->text),
                               draft->outgoing_message_id, sources, &error);
    g_free(sources);
    if (status != DB_OK) {
        log_msg(LOG_LEVEL_WARNING, draft->message,
                "draft %" G_GINT64_FORMAT " went out, but its entry in the conversation could not "
                "be recorded: %s",
                draft->id, error);
        g_free(error);
    }
    return DB_OK;
}

int draft_finish_sending(sqlite3 *db, const struct draft *draft,
                         const struct draft_outcome *outcome, char **error_r)
{
    static const char *const sql[] = {
        [DRAFT_SENT] = "UPDATE drafts SET state = 'sent', decided_at = ?2, decided_by = ?3,"
                       " sendmail_status = ?4, error = NULL WHERE id = ?1 AND state = 'sending'",
        [DRAFT_PENDING] = "UPDATE drafts SET state = 'pending', sendmail_status = ?4,"
                          " error = ?5 WHERE id = ?1 AND state = 'sending'",
        [DRAFT_FAILED] = "UPDATE drafts SET state = 'failed', decided_at = ?2, decided_by = ?3,"
                         " sendmail_status = ?4, error = ?5 WHERE id = ?1 AND state = 'sending'",
    };
    g_return_val_if_fail(outcome->state == DRAFT_SENT || outcome->state == DRAFT_PENDING ||
                             outcome->state == DRAFT_FAILED,
                         DB_ERROR);
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    sqlite3_stmt *stmt = db_prepare(db, sql[outcome->state], error_r);
    if (stmt == NULL) {
        db_rollback(db);
        return DB_ERROR;
    }
    sqlite3_bind_int64(stmt, 1, draft->id);
    /* One binding for all three statements: binding a parameter a statement lacks fails with
     * SQLITE_RANGE and changes nothing. */
    sqlite3_bind_int64(stmt, 2, clock_now());
    db_bind_text(stmt, 3, outcome->who);
    if (outcome->exit_status >= 0)
        sqlite3_bind_int(stmt, 4, outcome->exit_status);
    db_bind_text(stmt, 5, outcome->error);
    int changes = 0;
    status = draft_run(db, stmt, "record the draft's outcome", &changes, error_r);
    if (status == DB_OK && changes != 1) {
        *error_r = g_strdup("the draft left state sending while sendmail ran");
        status = DB_ERROR;
    }
    if (status == DB_OK && outcome->state == DRAFT_SENT)
        status = draft_record_reply(db, draft, outcome, error_r);
    if (status != DB_OK) {
        db_rollback(db);
        return status;
    }
    store_event(db, draft->message,
                outcome->state == DRAFT_SENT      ? "info"
                : outcome->state == DRAFT_PENDING ? "warning"
                                                  : "error",
                outcome->event);
    return db_commit(db, error_r);
}

int draft_reject(sqlite3 *db, gint64 id, const char *who, const char *reason, char **error_r)
{
    int status = db_begin_immediate(db, error_r);
    if (status != DB_OK)
        return status;
    struct draft *draft = NULL;
    if ((status = draft_take_pending(db, id, &draft, error_r)) != DB_OK) {
        db_rollback(db);
        return status;
    }
    sqlite3_stmt *stmt = db_prepare(db,
                                    "UPDATE drafts SET state = 'rejected', decided_at = ?2,"
                                    " decided_by = ?3, reason = ?4 WHERE id = ?1",
                                    error_r);
    if (stmt != NULL) {
        sqlite3_bind_int64(stmt, 1, id);
        sqlite3_bind_int64(stmt, 2, clock_now());
        db_bind_text(stmt, 3, who != NULL ? who : "(unknown)");
        db_bind_text(stmt, 4, reason);
        status = draft_run(db, stmt, "reject draft", NULL, error_r);
    } else
        status = DB_ERROR;
    if (status == DB_OK) {
        char *event = g_strdup_printf("draft %" G_GINT64_FORMAT " rejected by %s%s%s", id,
                                      who != NULL ? who : "(unknown)", reason != NULL ? ": " : "",
                                      reason != NULL ? reason : "");
        store_event(db, draft->message, "info", event);
        status = db_commit(db, error_r);
        if (status == DB_OK)
            log_audit(draft->message, "%s", event);
        g_free(event);
    } else
        db_rollback(db);
    draft_free(draft);
    return status;
}
