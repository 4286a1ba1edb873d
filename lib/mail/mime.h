/*
 * mime: parse one incoming message into what triage needs.
 *
 * mime_parse() reads a full RFC 5322 message (any bytes: bare LF or CRLF, broken MIME, lying
 * charsets, 8-bit headers, deep nesting) and returns its main header fields decoded to UTF-8
 * without control characters, the best text part as UTF-8 (text/plain, else HTML converted to
 * text) with quoted history and signature set apart, and the attachments (name, type, size,
 * text of small text attachments). Every output is capped by struct mime_limits; every string
 * is valid UTF-8. The bytes parsed are kept as they were given (raw), so that what is passed
 * on (an escalation's attachment) is the message itself and not GMime's rewriting of it.
 * Work and memory are linear in the input size, which the caller caps.
 * The caller runs g_mime_init() once at program start. Calls may run in several threads at
 * once; one parsed message belongs to one thread at a time.
 */
#ifndef MAILTRIAGE_MIME_H
#define MAILTRIAGE_MIME_H

#include <stddef.h>

#include <glib.h>
#include <gmime/gmime.h>

struct mime_limits {
    size_t max_text;            /* bytes of UTF-8 body text kept (text + quoted together) */
    unsigned max_parts;         /* MIME parts walked at most; beyond: parts_truncated */
    unsigned max_attachments;   /* attachments listed at most; beyond: attachments_truncated */
    size_t max_attachment_text; /* text/ attachments smaller than this get their text; 0 = never */
    size_t max_header;          /* longest header value kept, in bytes of UTF-8 */
};

struct mime_attachment {
    char *filename;     /* decoded; no path, no control characters; NULL if none */
    char *content_type; /* "type/subtype", lowercase */
    size_t size;        /* decoded size in bytes (message/rfc822: the embedded message) */
    char *text;         /* UTF-8 text of a small text/ attachment (HTML converted), else NULL */
};

struct mime_message {
    /* Header values: RFC 2047 decoded, UTF-8, control characters turned into spaces, runs of
       white space collapsed, capped at max_header; NULL when the header is absent. */
    char *from_addr;     /* addr-spec of the first From mailbox, domain lowercased */
    char *from_name;     /* display name of that mailbox, NULL if none */
    char *reply_to_addr; /* addr-spec of the first Reply-To mailbox */
    char *subject;
    char *message_id;           /* without angle brackets */
    char *in_reply_to;          /* first msg-id, without angle brackets */
    char *references;           /* msg-ids separated by one space, without angle brackets */
    char *date;                 /* Date header value as written */
    char *text;                 /* new content of the best text part, never NULL ("" when none) */
    char *quoted;               /* quoted history and signature, NULL if none was found */
    gboolean text_from_html;    /* no text/plain body: HTML converted to text */
    gboolean text_truncated;    /* body text was cut at max_text */
    gboolean parts_truncated;   /* max_parts or the nesting cap stopped the walk */
    gboolean headers_truncated; /* a header value or References was cut at max_header */
    gboolean attachments_truncated; /* more attachments than max_attachments */
    char *content_type;             /* top-level "type/subtype", lowercase */
    GPtrArray *attachments;         /* of struct mime_attachment *, owned */
    GMimeMessage *gmime;            /* the parsed message, owned, for other header lookups */
    struct mime_limits limits;      /* the limits it was parsed with (used by mime_header_all) */
    GByteArray *raw; /* the bytes parsed, as given (GMime reads its parts from them in place) */
};

/* Fill LIMITS_R with the defaults: 64 KiB text, 100 parts, 50 attachments, 8 KiB attachment
   text, 3992 bytes of header value. */
void mime_limits_default(struct mime_limits *limits_r);

/* Parse RAW (LEN bytes). A leading mbox "From " line is skipped. Returns 0 and a message to
   free with mime_message_free(), or -1 with a reason in ERROR_R (caller g_free()s): empty
   input, more than 4 GiB, or no header section. Broken MIME and bad charsets never fail the
   parse. */
int mime_parse(const char *raw, size_t len, const struct mime_limits *limits,
               struct mime_message **msg_r, char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* Frees MSG and its GMime tree: nothing may keep a reference to msg->gmime or its parts
   past this call, since their content points into msg->raw. */
void mime_message_free(struct mime_message *msg);

/* All values of top-level header NAME (case-insensitive), in message order, cleaned like the
   fields above. An empty array when absent. Free with g_ptr_array_unref(). */
GPtrArray *mime_header_all(const struct mime_message *msg, const char *name);

/* The first value of header NAME, cleaned, or NULL. Caller g_free()s. */
char *mime_header_first(const struct mime_message *msg, const char *name);

/* Append a stable, human-readable dump of MSG to OUT: one "key: value" line per field in a
   fixed order (strings in double quotes, absent ones as (none)), the attachments, then
   "text: N bytes" and the text, "quoted: N bytes" and the quoted part. */
void mime_message_dump(const struct mime_message *msg, GString *out);

#endif
