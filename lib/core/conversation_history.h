/*
 * conversation_history: what the model is told of a conversation before its new message.
 *
 * conversation_history() returns the entries of CONVERSATION oldest first: at most
 * MAX_MESSAGES of them and at most MAX_CHARS characters of text in total, the newest kept (an
 * entry that does not fit ends the history there: what is older goes with it), without the
 * user entry of message EXCEPT, the one being processed, which the caller puts last. Entries
 * whose text retention removed are left out. Each is a struct conversation_entry
 * (conversation.h): its role, author, text and time. The prompt builder sends user entries as
 * the role user (what the correspondent wrote) and assistant and human entries as the role
 * assistant (what the site said, automatically or by a person); all of it is untrusted mail
 * text like the new message. Read-only; DB_OK, DB_BUSY or DB_ERROR.
 */
#ifndef MAILTRIAGE_CONVERSATION_HISTORY_H
#define MAILTRIAGE_CONVERSATION_HISTORY_H

#include <stddef.h>

#include <glib.h>
#include <sqlite3.h>

#include "conversation.h"

/* *ENTRIES_R: a new array of struct conversation_entry *, which frees them; empty when
 * CONVERSATION is 0 or MAX_MESSAGES is 0 ([llm] max_history_messages, max_input_chars). */
int conversation_history(sqlite3 *db, gint64 conversation, gint64 except, guint max_messages,
                         size_t max_chars, GPtrArray **entries_r,
                         char **error_r) G_GNUC_WARN_UNUSED_RESULT;

#endif
