/*
 * conversation: the rules that thread mail into conversations, as pure functions of values.
 *
 * conversation_subject_key() turns a subject into the key that threads by subject: any number
 * of leading reply and forward markers (Re:, RE :, AW:, SV:, Fwd:, Fw:, WG:, TR:, Antw:,
 * Re[2]:, Re(2):, also with a full-width colon) and [tags] ([Ticket #123], [support]) taken
 * off, case folded, white space collapsed, control characters gone, at most
 * CONVERSATION_KEY_MAX characters; any bytes in, valid UTF-8 out. conversation_references()
 * reads In-Reply-To and References into bare message-ids. conversation_choose() picks the
 * conversation a message joins from what the store found: the one its references name, else
 * (with thread_by_subject) the latest of the same mailbox, counterpart and subject key updated
 * within thread_window, else a new one. Nothing here reads a database.
 */
#ifndef MAILTRIAGE_CONVERSATION_H
#define MAILTRIAGE_CONVERSATION_H

#include <glib.h>

/* Characters of a subject key at most; bytes of a subject read at most. */
#define CONVERSATION_KEY_MAX 200
#define CONVERSATION_SUBJECT_MAX 2000
/* Message-ids conversation_references() returns at most, and the longest one kept. */
#define CONVERSATION_REFERENCES_MAX 50
#define CONVERSATION_MESSAGE_ID_MAX 250
/* Bytes of one history entry's text kept (cut at a character boundary). */
#define CONVERSATION_TEXT_MAX 16384

/* As the CHECKs of sql/007-conversations.sql. */
enum conversation_status { CONVERSATION_ACTIVE, CONVERSATION_STOPPED, CONVERSATION_HUMAN };
enum conversation_role { CONVERSATION_USER, CONVERSATION_ASSISTANT, CONVERSATION_HUMAN_ROLE };

const char *conversation_status_name(enum conversation_status status);
/* TRUE and *STATUS_R when NAME is a status name. */
gboolean conversation_status_parse(const char *name, enum conversation_status *status_r);
const char *conversation_role_name(enum conversation_role role);
gboolean conversation_role_parse(const char *name, enum conversation_role *role_r);

/* The threading key of SUBJECT (NULL counts as ""): a new string, "" when nothing is left. */
char *conversation_subject_key(const char *subject);

/* The message-ids of IN_REPLY_TO, then those of REFERENCES from the newest (last) back, each
 * once, at most CONVERSATION_REFERENCES_MAX, as new strings without angle brackets. A value
 * with angle brackets yields what stands between them; one without, its words (as
 * mime_message gives them). An id with white space, a control character, an angle bracket or
 * invalid UTF-8 inside, or longer than CONVERSATION_MESSAGE_ID_MAX, is skipped. Either value
 * may be NULL. Free with g_ptr_array_unref(). */
GPtrArray *conversation_references(const char *in_reply_to, const char *references);

/* The correspondent of an inbound message: the envelope sender, else the From: address (for
 * the null or an unknown envelope sender), lower-cased; "" when neither is known. */
char *conversation_counterpart(const char *envelope_from, const char *from_addr);

/* Text for a history entry: valid UTF-8, line ends LF, without control characters other than
 * LF and TAB, trimmed, at most CONVERSATION_TEXT_MAX bytes. */
char *conversation_entry_text(const char *text);

/* One entry of a conversation's history. */
struct conversation_entry {
    enum conversation_role role;
    char *author; /* the address, NULL when unknown */
    char *text;   /* the new text (conversation_entry_text()) */
    gint64 created_at;
};
void conversation_entry_free(struct conversation_entry *entry);

/* What the store found for a message. */
struct conversation_found {
    gint64 by_reference;          /* a conversation one of its references names; 0: none */
    gint64 by_subject;            /* the latest with its mailbox, counterpart and key; 0: none */
    gint64 by_subject_updated_at; /* when that one was last updated */
};

enum conversation_thread {
    CONVERSATION_THREAD_REFERENCE,
    CONVERSATION_THREAD_SUBJECT,
    CONVERSATION_THREAD_NEW
};

/* Which conversation the message joins as of NOW: *ID_R is it (0 for a new one). BY_SUBJECT is
 * [policy] thread_by_subject, WINDOW thread_window in seconds. */
enum conversation_thread conversation_choose(const struct conversation_found *found,
                                             gboolean by_subject, gint64 window, gint64 now,
                                             gint64 *id_r);
const char *conversation_thread_name(enum conversation_thread thread);

#endif
