/*
 * store_conversation: conversations and their history, stored (the SQL of sql/007).
 *
 * A conversation belongs to one mailbox and one counterpart (the outside address, lower-cased)
 * and has a status: active (answered automatically), stopped or human (a person handles it).
 * Its entries are the history in order: what the counterpart wrote (user), what we sent
 * (assistant) and what a person of the site wrote (human), each with its Message-ID, author
 * and new text. The lookups are those threading needs (conversation.h decides among them): by
 * any Message-ID we stored, theirs or ours, and by subject key. The writes of a worker are made
 * inside its lease transaction (queue_lease_begin()); the list and show views read in one
 * snapshot, write nothing, and return json-c objects keyed by column name (report.h), for
 * `mailtriagectl conversation`. Functions return DB_OK, DB_BUSY or DB_ERROR unless they say
 * otherwise.
 */
#ifndef MAILTRIAGE_STORE_CONVERSATION_H
#define MAILTRIAGE_STORE_CONVERSATION_H

#include <glib.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "conversation.h"

/* 1 with *CONVERSATION_R and *STATUS_R when message MESSAGE has joined a conversation, 0 when
 * not. */
int store_conversation_of_message(sqlite3 *db, gint64 message, gint64 *conversation_r,
                                  enum conversation_status *status_r,
                                  char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 with *INSTRUCTIONS_R (the staff's for conversation ID, NULL when it has none) when it
 * exists, 0 when not. */
int store_conversation_instructions(sqlite3 *db, gint64 id, char **instructions_r,
                                    char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 with *STATUS_R (and *MAILBOX_R, *COUNTERPART_R when not NULL) when conversation ID exists,
 * else 0. */
int store_conversation_get(sqlite3 *db, gint64 id, enum conversation_status *status_r,
                           char **mailbox_r, char **counterpart_r,
                           char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* 1 with *CONVERSATION_R: the latest conversation of MAILBOX and COUNTERPART that one of IDS
 * (message-ids, tried in order) names: a message of it (messages.message_id, other than message
 * EXCEPT), an entry of its history (theirs, ours, a person's), or a reply we sent for one of its
 * messages (actions.outgoing_message_id); 0 when none does. A conversation of another
 * counterpart never matches: the history of one correspondent is not shown for another. */
int store_conversation_find_by_reference(sqlite3 *db, const char *mailbox, const char *counterpart,
                                         const GPtrArray *ids, gint64 except,
                                         gint64 *conversation_r,
                                         char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 with the latest conversation of MAILBOX, COUNTERPART and SUBJECT_KEY and when it was
 * updated, 0 when none (or SUBJECT_KEY is empty). */
int store_conversation_find_by_subject(sqlite3 *db, const char *mailbox, const char *counterpart,
                                       const char *subject_key, gint64 *conversation_r,
                                       gint64 *updated_at_r,
                                       char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* A new active conversation, as of NOW; *ID_R is its id. */
int store_conversation_create(sqlite3 *db, const char *mailbox, const char *counterpart,
                              const char *subject, const char *subject_key, gint64 now,
                              gint64 *id_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Message MESSAGE joins CONVERSATION (messages.conversation). */
int store_conversation_link(sqlite3 *db, gint64 message, gint64 conversation,
                            char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Conversation ID gets STATUS (and updated_at NOW); *OLD_R (may be NULL) is the status it had.
 * 0 when there is no such conversation, else 1. */
int store_conversation_set_status(sqlite3 *db, gint64 id, enum conversation_status status,
                                  gint64 now, enum conversation_status *old_r,
                                  char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Conversation ID gets STATUS as WHO decided (mailtriagectl conversation stop, resume), with an
 * event of the conversation, in one transaction; *OLD_R is the status it had. 1, or 0 when
 * there is no such conversation. */
int store_conversation_decide(sqlite3 *db, gint64 id, enum conversation_status status,
                              const char *who, enum conversation_status *old_r,
                              char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* One entry of a history, as written. */
struct store_conversation_entry {
    gint64 conversation;
    enum conversation_role role;
    gint64 message;         /* messages.id it belongs to (the one answered, for ours); 0: none */
    const char *message_id; /* of the mail, without angle brackets; NULL for a note */
    const char *author;     /* the address */
    const char *text;       /* conversation_entry_text() of the new text */
    const char *sources;    /* a JSON array, or NULL */
    gint64 created_at;
};
/* Append ENTRY and make the conversation's updated_at its time (if later). An entry with the
 * same role, message and Message-ID (one of them set) is there already: nothing is added and
 * *ADDED_R (may be NULL) is FALSE, so that a retried message is added once. */
int store_conversation_append(sqlite3 *db, const struct store_conversation_entry *entry,
                              gboolean *added_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The LIMIT newest entries of CONVERSATION with some text, newest first, without the user
 * entry of message EXCEPT (0: none), as struct conversation_entry * in *ENTRIES_R. */
int store_conversation_recent(sqlite3 *db, gint64 conversation, gint64 except, guint limit,
                              GPtrArray **entries_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Conversation ID's audit trail; failures are ignored (the log has it). */
void store_conversation_event(sqlite3 *db, gint64 conversation, const char *level,
                              const char *text);

/* Which conversations store_conversation_list() returns; NULL: any. */
struct store_conversation_filter {
    const char *mailbox;
    const char *status;
};
/* The conversations that pass FILTER, the latest updated first, at most LIMIT (0: all), as an
 * array of objects with the keys id, status, mailbox, counterpart, subject, messages (the
 * entries of its history), created_at, updated_at; *TOTAL_R is how many pass FILTER. */
int store_conversation_list(sqlite3 *db, const struct store_conversation_filter *filter,
                            gint64 limit, json_object **rows_r, gint64 *total_r,
                            char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* 1 and conversation ID in *CONVERSATION_R, 0 when none. Keys: id, status, mailbox,
 * counterpart, subject, subject_key, instructions, created_at, updated_at; entries, oldest
 * first: id, role, author, message, message_id, text, sources (an array, or null), created_at;
 * messages (its inbound messages): id, state, received_at, subject; events: time, level, text. */
int store_conversation_show(sqlite3 *db, gint64 id, json_object **conversation_r,
                            char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
