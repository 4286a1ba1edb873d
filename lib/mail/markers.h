/*
 * markers: the marks mailtriage leaves on mail, so that it knows its own mail again.
 *
 * MARKERS_LOOP_HEADER goes on everything we send; its presence on inbound mail stops any
 * reply. MARKERS_QUEUE_ID_HEADER is the header the milter may add with the queue ids of a
 * recorded message. Our Message-IDs have the form STAMP.RANDOM.mailtriage@HOST (STAMP the UTC
 * time as YYYYMMDDhhmmss, RANDOM 16 hex digits); markers_is_our_message_id() and
 * markers_find_message_ids() recognise them by their ".mailtriage@" part, e.g. quoted in a
 * delivery report. Nothing here knows about the rest of mail triage.
 */
#ifndef MAILTRIAGE_MARKERS_H
#define MAILTRIAGE_MARKERS_H

#include <glib.h>

#define MARKERS_LOOP_HEADER "X-Mailtriage-Loop"
#define MARKERS_QUEUE_ID_HEADER "X-Mailtriage-Id"

/* A new Message-ID of ours for HOST, without angle brackets. */
char *markers_new_message_id(const char *host);
/* Does ID (a Message-ID without angle brackets) carry our mark, with no white space or '<'? */
gboolean markers_is_our_message_id(const char *id);
/* Our Message-IDs found between angle brackets in the first LEN bytes of TEXT, without the
 * brackets, each once, at most 20; the part before the mark counts up to 64 bytes and the id
 * must close within 300 bytes of the mark. g_ptr_array_unref() the array. */
GPtrArray *markers_find_message_ids(const char *text, size_t len);

#endif
