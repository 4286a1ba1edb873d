/*
 * compose: replies and escalations as GMime messages; see compose.h.
 */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "addr.h"
#include "clock.h"
#include "compose.h"
#include "markers.h"
#include "template.h"
#include "text.h"

#define COMPOSE_MAX_REFERENCES 10
#define COMPOSE_MAX_SUBJECT 200

/* A msg-id we may repeat in our headers: printable ASCII, no space or angle bracket, one @. */
static gboolean compose_msgid_is_safe(const char *id)
{
    if (id == NULL || *id == '\0' || strlen(id) > 250 || strchr(id, '@') == NULL)
        return FALSE;
    for (const char *p = id; *p != '\0'; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '<' || *p == '>' || *p == '"' || *p == '\\')
            return FALSE;
    return TRUE;
}

/* Headers common to everything we send. */
static GMimeMessage *compose_new_message(const struct config *cfg,
                                         const struct config_mailbox *mailbox,
                                         const char *auto_submitted, char **message_id_r)
{
    GMimeMessage *message = g_mime_message_new(TRUE);
    g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_FROM,
                               *mailbox->name != '\0' ? mailbox->name : NULL, mailbox->address);
    GDateTime *now = clock_now_local();
    g_mime_message_set_date(message, now);
    g_date_time_unref(now);
    *message_id_r = markers_new_message_id(cfg->hostname);
    g_mime_message_set_message_id(message, *message_id_r);
    g_mime_object_set_header(GMIME_OBJECT(message), "Auto-Submitted", auto_submitted, NULL);
    g_mime_object_set_header(GMIME_OBJECT(message), MARKERS_LOOP_HEADER, cfg->hostname, NULL);
    return message;
}

static void compose_set_subject(GMimeMessage *message, const char *prefix, const char *subject)
{
    char *line = text_clean_header(subject);
    if (g_utf8_strlen(line, -1) > COMPOSE_MAX_SUBJECT) {
        char *cut = g_utf8_substring(line, 0, COMPOSE_MAX_SUBJECT);
        g_free(line);
        line = cut;
    }
    /* Never stack prefixes: "Re: Re: Re:" is what loops look like. "Re:Prices" has one too. */
    char *bare_prefix = g_strchomp(g_strdup(prefix));
    gboolean has_prefix = g_ascii_strncasecmp(line, bare_prefix, strlen(bare_prefix)) == 0;
    g_free(bare_prefix);
    char *full = has_prefix ? g_strdup(line) : g_strconcat(prefix, line, NULL);
    g_mime_message_set_subject(message, full, "utf-8");
    g_free(full);
    g_free(line);
}

static GMimeTextPart *compose_text_part(const char *text)
{
    GMimeTextPart *part = g_mime_text_part_new_with_subtype("plain");
    /* GMime picks the smallest charset that holds the text (us-ascii, iso-8859-1, utf-8),
     * converts to it and labels the part accordingly. */
    g_mime_text_part_set_text(part, text);
    g_mime_part_set_content_encoding(
        GMIME_PART(part),
        g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT));
    return part;
}

/* MESSAGE as text, NUL-terminated, and its length (an attached original may hold NUL bytes). */
static char *compose_to_string(GMimeMessage *message, size_t *len_r)
{
    GMimeFormatOptions *options = g_mime_format_options_clone(NULL);
    g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_UNIX);
    GByteArray *bytes = g_byte_array_new();
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    (void)g_mime_object_write_to_stream(GMIME_OBJECT(message), options, stream);
    g_object_unref(stream);
    g_mime_format_options_free(options);
    if (len_r != NULL)
        *len_r = bytes->len;
    g_byte_array_append(bytes, (const guint8 *)"", 1);
    return (char *)g_byte_array_free(bytes, FALSE);
}

/* A body part of TEXT labelled UTF-8, which is what the reply templates are (and what an HTML
 * template's <meta charset> says), in the transfer encoding that keeps it 7-bit with short
 * lines: 7bit, quoted-printable or base64. */
static GMimeTextPart *compose_utf8_part(const char *subtype, const char *text)
{
    GMimeTextPart *part = g_mime_text_part_new_with_subtype(subtype);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text, strlen(text));
    GMimeDataWrapper *content =
        g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(GMIME_PART(part), content);
    g_object_unref(content);
    g_object_unref(stream);
    g_mime_text_part_set_charset(part, "utf-8");
    g_mime_part_set_content_encoding(
        GMIME_PART(part),
        g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT));
    return part;
}

/* The rendered text with blank lines tidied where a value was empty: lines of spaces become
 * empty, runs of blank lines become one, none are left at either end, and the text ends with
 * one newline; a template's CRLF becomes LF. Spaces at the end of other lines stay ("-- " is
 * the signature separator). */
static char *compose_tidy(char *text)
{
    GString *out = g_string_sized_new(strlen(text) + 1);
    gboolean pending_blank = FALSE;
    char **lines = g_strsplit(text, "\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        size_t len = strlen(*line);
        if (len > 0 && (*line)[len - 1] == '\r')
            (*line)[len - 1] = '\0';
        if ((*line)[strspn(*line, " \t")] == '\0') {
            pending_blank = out->len > 0;
            continue;
        }
        if (pending_blank)
            g_string_append_c(out, '\n');
        pending_blank = FALSE;
        g_string_append(out, *line);
        g_string_append_c(out, '\n');
    }
    g_strfreev(lines);
    g_free(text);
    return g_string_free(out, FALSE);
}

/* The values of a reply's templates and the strings they point into. */
struct compose_reply_values {
    struct template_values values;
    char *date, *sender_name, *subject, *summary, *reply, *signature, *disclaimer;
};

static void compose_reply_values_init(struct compose_reply_values *v,
                                      const struct compose_reply *in)
{
    const struct mime_message *original = in->original;
    v->date = clock_format_local(clock_now(), "%Y-%m-%d");
    v->sender_name = text_clean_header(original->from_name);
    v->subject = text_clean_header(original->subject);
    v->summary = text_clean_header(in->classification->summary);
    v->reply = text_clean_lines(in->classification->reply);
    v->signature = text_clean_lines(in->mailbox->signature);
    v->disclaimer = text_clean_lines(in->mailbox->disclaimer);
    v->values = (struct template_values){
        .reply = v->reply,
        .sender_name = v->sender_name,
        .original_subject = v->subject,
        .mailbox = *in->mailbox->name != '\0' ? in->mailbox->name : in->mailbox->address,
        .date = v->date,
        .summary = v->summary,
        .signature = v->signature,
        .disclaimer = v->disclaimer,
    };
}

static void compose_reply_values_clear(struct compose_reply_values *v)
{
    g_free(v->date);
    g_free(v->sender_name);
    g_free(v->subject);
    g_free(v->summary);
    g_free(v->reply);
    g_free(v->signature);
    g_free(v->disclaimer);
}

char *compose_reply_text(const struct compose_reply *in)
{
    struct compose_reply_values v;
    compose_reply_values_init(&v, in);
    char *text = compose_tidy(template_render(in->intent->template_text, &v.values, FALSE));
    compose_reply_values_clear(&v);
    return text;
}

/* The body of a reply: multipart/alternative, the text part first and the HTML part last (the
 * one a reader prefers, RFC 2046 section 5.1.4); text alone when the intent has no HTML. */
static GMimeObject *compose_reply_body(const struct compose_reply *in)
{
    struct compose_reply_values v;
    compose_reply_values_init(&v, in);
    char *text = compose_tidy(template_render(in->intent->template_text, &v.values, FALSE));
    GMimeTextPart *text_part = compose_utf8_part("plain", text);
    g_free(text);
    if (in->intent->template_html_text == NULL) {
        compose_reply_values_clear(&v);
        return GMIME_OBJECT(text_part);
    }
    char *html = template_render(in->intent->template_html_text, &v.values, TRUE);
    GMimeTextPart *html_part = compose_utf8_part("html", html);
    g_free(html);
    compose_reply_values_clear(&v);

    GMimeMultipart *alternative = g_mime_multipart_new_with_subtype("alternative");
    g_mime_multipart_add(alternative, GMIME_OBJECT(text_part));
    g_mime_multipart_add(alternative, GMIME_OBJECT(html_part));
    g_object_unref(text_part);
    g_object_unref(html_part);
    return GMIME_OBJECT(alternative);
}

char *compose_reply(const struct compose_reply *in, char **message_id_r)
{
    const struct mime_message *original = in->original;
    GMimeMessage *message = compose_new_message(in->cfg, in->mailbox, "auto-replied", message_id_r);
    g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, in->recipient);
    compose_set_subject(message, "Re: ", original->subject != NULL ? original->subject : "");

    if (compose_msgid_is_safe(original->message_id)) {
        char *bracketed = g_strdup_printf("<%s>", original->message_id);
        g_mime_object_set_header(GMIME_OBJECT(message), "In-Reply-To", bracketed, NULL);
        /* References: the original's (or its In-Reply-To), then its Message-ID; trimmed. */
        GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
        char **earlier = g_strsplit(original->references != NULL    ? original->references
                                    : original->in_reply_to != NULL ? original->in_reply_to
                                                                    : "",
                                    " ", -1);
        for (char **id = earlier; *id != NULL; id++)
            if (compose_msgid_is_safe(*id))
                g_ptr_array_add(ids, g_strdup_printf("<%s>", *id));
        g_strfreev(earlier);
        while (ids->len >= COMPOSE_MAX_REFERENCES)
            g_ptr_array_remove_index(ids, ids->len > 1 ? 1 : 0); /* keep the thread's root */
        g_ptr_array_add(ids, bracketed);
        g_ptr_array_add(ids, NULL);
        char *references = g_strjoinv(" ", (char **)ids->pdata);
        g_mime_object_set_header(GMIME_OBJECT(message), "References", references, NULL);
        g_free(references);
        g_ptr_array_unref(ids);
    }

    GMimeObject *body = compose_reply_body(in);
    g_mime_message_set_mime_part(message, body);
    g_object_unref(body);
    char *result = compose_to_string(message, NULL);
    g_object_unref(message);
    return result;
}

/* Model-written TEXT for staff, cleaned as parsed mail is (text.h: C0 and C1 controls, line
 * separators, byte order marks): one line, or with INDENT each line of it after that many
 * spaces, so that no line of it can pass for one of ours (they all start in column one). */
static void compose_append_untrusted(GString *out, const char *text, int indent)
{
    GString *clean = g_string_new(NULL);
    const char *value = text != NULL ? text : "";
    (void)text_append_strict(clean, value, strlen(value), G_MAXSIZE,
                             indent > 0 ? TEXT_STRICT_BODY : TEXT_STRICT_LINE);
    for (const char *line = clean->str; indent > 0 && *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        if (len > 0)
            g_string_append_printf(out, "%*s", indent, "");
        g_string_append_len(out, line, (gssize)len);
        g_string_append_c(out, '\n');
        line += len + (end != NULL);
    }
    if (indent == 0)
        g_string_append(out, clean->str);
    g_string_free(clean, TRUE);
}

static char *compose_escalation_text(const struct compose_escalation *in)
{
    const struct mime_message *original = in->original;
    const struct classification *c = in->classification;
    GString *text =
        g_string_new(in->draft != NULL ? "mailtriage proposes a reply for your approval.\n\n"
                                       : "mailtriage hands this message to you.\n\n");
    char *from = text_clean_header(original->from_addr != NULL ? original->from_addr : "(none)");
    char *name = text_clean_header(original->from_name);
    char *subject = text_clean_header(original->subject);
    g_string_append_printf(text, "Mailbox:    %s\n", in->mailbox->address);
    g_string_append_printf(text, "From:       %s%s%s%s\n", name, *name != '\0' ? " <" : "", from,
                           *name != '\0' ? ">" : "");
    g_string_append(text, "Envelope:   "); /* the SMTP client's bytes, as the MTA passed them */
    compose_append_untrusted(text,
                             in->envelope_from == NULL    ? "(unknown)"
                             : *in->envelope_from == '\0' ? "<>"
                                                          : in->envelope_from,
                             0);
    g_string_append_c(text, '\n');
    g_string_append_printf(text, "Subject:    %s\n", subject);
    if (c != NULL) {
        g_string_append_printf(text, "Intent:     %s (%s%s%s, confidence %.2f)\n", c->intent,
                               c->provider, c->model != NULL ? " " : "",
                               c->model != NULL ? c->model : "", c->confidence);
        g_string_append(text, "Summary:    ");
        compose_append_untrusted(text, c->summary, 0);
        if (c->error != NULL) { /* it may quote the model: an intent it made up */
            g_string_append(text, "\nNote:       ");
            compose_append_untrusted(text, c->error, 0);
        }
        g_string_append_c(text, '\n');
    }
    g_string_append_printf(text, "Why:        %s\n", in->reason);
    g_string_append_printf(text, "Queue id:   %" G_GINT64_FORMAT "\n\n", in->queue_id);
    g_string_append(text, "Answer the sender by replying to this mail (Reply-To is set to the "
                          "sender). The original is attached.\n");
    if (in->draft != NULL) {
        g_string_append(text, "\n----- Proposed reply -----\n");
        compose_append_untrusted(text, in->draft, 4);
    }
    g_string_append_printf(text, "\n----- Message text -----\n%s\n", original->text);
    g_free(from);
    g_free(name);
    g_free(subject);
    return g_string_free(text, FALSE);
}

/* The transfer encoding RAW (LEN bytes) needs to be written as it is: 7bit or 8bit when it
 * is lines of at most 998 bytes ended by LF (the local form of CRLF, which is how the milter
 * and Postfix hand us mail) without NUL or CR (RFC 2045 section 2.7 and 2.8), else binary.
 * RFC 2046 section 5.2.1 allows no other for message/rfc822, any re-encoding would change the
 * bytes, and GMime writes binary content as it is, where it would make CRLF into LF. */
static GMimeContentEncoding compose_raw_encoding(const guint8 *raw, size_t len)
{
    gboolean eight_bit = FALSE;
    size_t line = 0;
    for (size_t i = 0; i < len; i++) {
        if (raw[i] == '\n') {
            line = 0;
            continue;
        }
        if (raw[i] == '\0' || raw[i] == '\r' || ++line > 998)
            return GMIME_CONTENT_ENCODING_BINARY;
        eight_bit = eight_bit || raw[i] >= 0x80;
    }
    return eight_bit ? GMIME_CONTENT_ENCODING_8BIT : GMIME_CONTENT_ENCODING_7BIT;
}

/* The original as received, byte for byte, as a message/rfc822 attachment. Not GMime's
 * GMimeMessagePart: that writes the parsed tree out again, which mends what was broken (and a
 * person deciding about a hostile message should see it as it came). */
static GMimeObject *compose_original_part(const struct mime_message *original)
{
    GMimePart *part = g_mime_part_new_with_type("message", "rfc822");
    GMimeContentEncoding encoding = compose_raw_encoding(original->raw->data, original->raw->len);
    GMimeStream *stream =
        g_mime_stream_mem_new_with_buffer((const char *)original->raw->data, original->raw->len);
    /* The content is already in ENCODING: GMime writes it out unchanged. */
    GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(stream, encoding);
    g_mime_part_set_content(part, content);
    g_object_unref(content);
    g_object_unref(stream);
    g_mime_part_set_content_encoding(part, encoding);
    g_mime_object_set_disposition(GMIME_OBJECT(part), "attachment");
    return GMIME_OBJECT(part);
}

char *compose_escalation(const struct compose_escalation *in, char **message_id_r, size_t *len_r)
{
    const struct mime_message *original = in->original;
    GMimeMessage *message =
        compose_new_message(in->cfg, in->mailbox, "auto-generated", message_id_r);
    g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, in->mailbox->escalate_to);
    const char *customer =
        in->envelope_from != NULL && addr_is_safe(in->envelope_from)       ? in->envelope_from
        : original->from_addr != NULL && addr_is_safe(original->from_addr) ? original->from_addr
                                                                           : NULL;
    if (customer != NULL) {
        char *name = original->from_name != NULL ? text_clean_header(original->from_name) : NULL;
        g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_REPLY_TO, name, customer);
        g_free(name);
    }
    char *prefix =
        g_strdup_printf("[%s%s] ", in->draft != NULL ? "draft " : "",
                        in->classification != NULL ? in->classification->intent : "triage");
    compose_set_subject(message, prefix, original->subject != NULL ? original->subject : "");
    g_free(prefix);

    GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");
    char *text = compose_escalation_text(in);
    GMimeTextPart *part = compose_text_part(text);
    g_free(text);
    g_mime_multipart_add(mixed, GMIME_OBJECT(part));
    g_object_unref(part);
    GMimeObject *attached = compose_original_part(original);
    g_mime_multipart_add(mixed, attached);
    g_object_unref(attached);
    g_mime_message_set_mime_part(message, GMIME_OBJECT(mixed));
    g_object_unref(mixed);

    char *result = compose_to_string(message, len_r);
    g_object_unref(message);
    return result;
}

char *compose_first(const struct compose_first *in, char **message_id_r)
{
    GMimeMessage *message =
        compose_new_message(in->cfg, in->mailbox, "auto-generated", message_id_r);
    g_mime_message_add_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, in->recipient);
    compose_set_subject(message, "", in->subject);
    char *body = text_clean_lines(in->body);
    char *signature = text_clean_lines(in->mailbox->signature);
    char *disclaimer = text_clean_lines(in->mailbox->disclaimer);
    char *text = compose_tidy(g_strdup_printf("%s\n\n%s\n\n%s\n", body, signature, disclaimer));
    GMimeTextPart *part = compose_utf8_part("plain", text);
    g_mime_message_set_mime_part(message, GMIME_OBJECT(part));
    g_object_unref(part);
    g_free(text);
    g_free(disclaimer);
    g_free(signature);
    g_free(body);
    char *result = compose_to_string(message, NULL);
    g_object_unref(message);
    return result;
}
