/*
 * context: what the decision about a claimed message needs from the database, read at once.
 *
 * context_load() reads, in one read transaction (one snapshot while other workers write), the
 * message's earlier classification (a retried message is not classified again), the kinds of
 * mail already sent for it (never sent twice), and what the reply rules of the sender's
 * history need: a recent hard bounce of one of our replies (bounce_block), an automatic reply
 * from this mailbox within reply_interval (RFC 3834), and the automatic replies to the sender
 * within loop_window from this mailbox and from all; the message's own replies (sent by an
 * earlier attempt at it) are not part of that history. After it, the decision (decide.h) reads
 * no database. The conversation the message joined and its status are filled in after the
 * parse, by conversation_join() (conversation_join.h): a conversation stopped or handled by a
 * person gets no automatic reply (decide.h).
 */
#ifndef MAILTRIAGE_CONTEXT_H
#define MAILTRIAGE_CONTEXT_H

#include <glib.h>
#include <sqlite3.h>

#include "classification.h"
#include "config.h"
#include "conversation.h"
#include "store.h"

struct context {
    struct classification *classification; /* the stored one, NULL when none */
    guint sent_kinds;                      /* bit 1 << kind for each kind of mail already sent */
    /* The sender's history (all FALSE or 0 when the envelope sender is null or unknown). */
    gboolean bounced;         /* hard-bounced one of our replies within bounce_block */
    gboolean replied;         /* had an automatic reply from this mailbox within reply_interval */
    int replies_from_mailbox; /* automatic replies to it from this mailbox within loop_window */
    int replies_from_all;     /* from every mailbox, within loop_window */
    gint64 conversation;      /* the one the message joined; 0 before conversation_join() */
    enum conversation_status conversation_status;
};

/* Read the context of message ID from MAILBOX to ENVELOPE_FROM (NULL unknown, "" null) as of
 * NOW (Unix seconds). DB_OK, DB_BUSY or DB_ERROR; *CONTEXT_R is to be cleared in any case. */
int context_load(sqlite3 *db, const struct config *cfg, gint64 id,
                 const struct config_mailbox *mailbox, const char *envelope_from, gint64 now,
                 struct context *context_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Was mail of KIND already sent for the message? */
gboolean context_was_sent(const struct context *context, enum store_action_kind kind);
void context_clear(struct context *context);

#endif
