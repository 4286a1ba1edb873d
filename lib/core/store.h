/*
 * store: what mailtriage decided and did about a message, beside the queue.
 *
 * Classifications, actions and the events of the audit trail are written here, each in its own
 * short statement, and read back to resume an interrupted message (a stored classification is
 * reused, a sent action is not repeated, a started one whose outcome is unknown is reported)
 * and to answer the reply interval. An action is pending from its intent (recorded with the
 * outgoing Message-ID) until its outcome: sent, failed or skipped; store_action_start() marks
 * the moment sendmail or the webhook is started (started_at), so that an action left pending
 * tells apart "never started" from "outcome unknown". The caller makes the writes about a
 * claimed message inside a transaction that checks its lease (queue_lease_begin()). Functions
 * return DB_OK, DB_BUSY or DB_ERROR unless they say otherwise.
 */
#ifndef MAILTRIAGE_STORE_H
#define MAILTRIAGE_STORE_H

#include <glib.h>
#include <sqlite3.h>

#include "classification.h"

enum store_action_kind {
    STORE_ACTION_REPLY,
    STORE_ACTION_ESCALATE,
    STORE_ACTION_DRAFT,
    STORE_ACTION_WEBHOOK,
    STORE_ACTION_NONE
};
enum store_action_state {
    STORE_ACTION_PENDING,
    STORE_ACTION_SENT,
    STORE_ACTION_FAILED,
    STORE_ACTION_SKIPPED
};

const char *store_action_kind_name(enum store_action_kind kind);

int store_classification_save(sqlite3 *db, gint64 message, const struct classification *c,
                              char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* The reply text of C (reply, reply_settled, reply_error and the reply request's latency and
 * tokens) into the message's latest classification, before anything is sent with it. */
int store_classification_save_reply(sqlite3 *db, gint64 message, const struct classification *c,
                                    char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 and *RESULT_R when the message has a classification, 0 when not, or DB_BUSY/DB_ERROR. */
int store_classification_load(sqlite3 *db, gint64 message, struct classification **result_r,
                              char **error_r) G_GNUC_WARN_UNUSED_RESULT;

struct store_action {
    enum store_action_kind kind;
    const char *reason;
    const char *recipient;
    const char *envelope_sender;
    const char *outgoing_message_id;
};
/* Record an action as pending (or, with STATE, as already finished); *ID_R is its id. */
int store_action_add(sqlite3 *db, gint64 message, const struct store_action *action,
                     enum store_action_state state, gint64 *id_r,
                     char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Record ACTION as a shadow (mailbox mode shadow: nothing was sent): state skipped, shadow set,
 * and TEXT (LEN bytes, which may hold NUL bytes) what would have left: the mail as sendmail
 * would have read it, or the webhook's body. */
int store_action_add_shadow(sqlite3 *db, gint64 message, const struct store_action *action,
                            const char *text, size_t len, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Pending ACTION starts now: sendmail or the webhook runs next (started_at is set). */
int store_action_start(sqlite3 *db, gint64 action, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* SENDMAIL_STATUS < 0 when no program ran. */
int store_action_finish(sqlite3 *db, gint64 action, enum store_action_state state,
                        int sendmail_status, const char *error,
                        char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 when the message has an action of KIND in state sent, else 0, or DB_BUSY/DB_ERROR. */
int store_action_was_sent(sqlite3 *db, gint64 message, enum store_action_kind kind,
                          char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* The kinds of the message's actions in state sent, as bits 1 << kind in *KINDS_R. */
int store_actions_sent(sqlite3 *db, gint64 message, guint *kinds_r,
                       char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* A mail (or webhook) that an earlier attempt started and whose outcome it never recorded. */
struct store_unknown {
    gint64 action;
    enum store_action_kind kind;
    char *recipient;  /* the webhook's URL for a webhook */
    char *message_id; /* without angle brackets; NULL for a webhook */
    gint64 started_at;
};
void store_unknown_free(struct store_unknown *unknown);
/* Settle what earlier attempts of MESSAGE left pending: an action that never started becomes
 * failed ("not started"), and may be performed afresh; one that started stays pending, with
 * its error saying that its outcome is unknown, and is added to *UNKNOWN_R (an array of
 * struct store_unknown *, oldest first, which frees them). */
int store_actions_resume(sqlite3 *db, gint64 message, GPtrArray **unknown_r,
                         char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* The started pending actions of MESSAGE (outcome unknown) become failed with ERROR: a person
 * decided that the mail is to be sent again. */
int store_actions_unknown_resolve(sqlite3 *db, gint64 message, const char *error,
                                  char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 when MAILBOX sent an automatic reply to RECIPIENT since SINCE (Unix seconds), else 0; the
 * replies of message EXCEPT (0: none) do not count: a retried message's own reply is not one
 * that an earlier message received. Neither here nor below does a first message count
 * (intake compose, mailtriagectl compose): a person asked for it, and its answer is awaited. */
int store_replied_since(sqlite3 *db, const char *mailbox, const char *recipient, gint64 since,
                        gint64 except, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* How many automatic replies went to RECIPIENT since SINCE: from MAILBOX, or from any mailbox
 * when MAILBOX is NULL, leaving out those of message EXCEPT (0: none). >= 0, or
 * DB_BUSY/DB_ERROR. */
int store_replies_to_since(sqlite3 *db, const char *mailbox, const char *recipient, gint64 since,
                           gint64 except, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* The sent reply with Message-ID MESSAGE_ID: 1 with its action id and recipient, 0 when none. */
int store_reply_find(sqlite3 *db, const char *message_id, gint64 *action_r, char **recipient_r,
                     char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* A hard bounce of reply ACTION to ADDRESS, reported by message REPORT. */
int store_bounce_add(sqlite3 *db, const char *address, gint64 action, gint64 report,
                     const char *status, const char *diagnostic,
                     char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 when ADDRESS hard-bounced one of our replies since SINCE, else 0. */
int store_bounced_since(sqlite3 *db, const char *address, gint64 since,
                        char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Audit trail; MESSAGE 0 for an event of the daemon. Failures are ignored: the log has it. */
void store_event(sqlite3 *db, gint64 message, const char *level, const char *text);

/* The header fields the intake could not fill, from the worker's parse. */
int store_message_headers(sqlite3 *db, gint64 message, const char *from_addr, const char *subject,
                          const char *message_id, const char *in_reply_to,
                          char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
