/*
 * mime: parse one incoming message into headers, best text, quoted part and attachments.
 *
 * The contract is in mime.h. GMime builds the tree; we walk it ourselves with a part counter
 * and a depth cap. The body is the first inline text part in tree order, where a
 * multipart/alternative contributes only one branch (text/plain, else text/html, else a nested
 * multipart). Content is decoded by GMime, converted to UTF-8 with iconv or our own
 * windows-1252 table, cleaned of control characters, HTML is turned into text by a small tag
 * scanner, and quoted history and signature are split off by conservative line rules: when a
 * rule is unsure, the text stays in the new text.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "htmltext.h"
#include "mime.h"
#include "quote.h"
#include "text.h"

#define MIME_MAX_DEPTH 32        /* nesting beyond this is not walked */
#define MIME_CHARSET_NAME_MAX 40 /* longer charset names are not real ones */
#define MIME_TYPE_MAX 127        /* longest "type/subtype" kept */
#define MIME_FILENAME_MAX 255    /* longest attachment file name kept, in bytes */
#define MIME_IDS_RAW_FACTOR 4    /* raw References parsed: this many times max_header */

struct walk {
    const struct mime_limits *limits;
    struct mime_message *msg;
    unsigned parts;
    GMimePart *body;
    GMimePart *body_html_alternative; /* the HTML twin of a text/plain body, if any */
};

static const gunichar cp1252_high[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

/* Tags that start and end a line of text, open or closed. */

/* Verbs of reply attributions ("On ... wrote:") in the languages our users meet most. */
/* ---- charset conversion: always succeeds, output may still hold controls ---- */

static GString *charset_from_cp1252(const char *in, size_t len)
{
    GString *out = g_string_sized_new(len + len / 4 + 1);

    for (size_t i = 0; i < len; i++) {
        unsigned char c = in[i];

        if (c < 0x80)
            g_string_append_c(out, c);
        else if (c < 0xA0)
            g_string_append_unichar(out, cp1252_high[c - 0x80]);
        else
            g_string_append_unichar(out, c);
    }
    return out;
}

/* Valid UTF-8 apart from NUL bytes (which the cleaning drops). */
static gboolean charset_is_utf8(const char *in, size_t len)
{
    const char *p = in, *end = in + len, *stop;

    while (!g_utf8_validate_len(p, end - p, &stop)) {
        if (*stop != '\0')
            return FALSE;
        p = stop + 1;
    }
    return TRUE;
}

/* Convert with CD, replacing each byte that does not convert by U+FFFD. */
static GString *charset_iconv(GIConv cd, const char *in, size_t len, gboolean *lossy_r)
{
    GString *out = g_string_sized_new(len + len / 2 + 16);
    char *inp = (char *)in;
    size_t inleft = len;
    char buf[4096];

    *lossy_r = FALSE;
    while (inleft > 0) {
        char *outp = buf;
        size_t outleft = sizeof buf;
        size_t r = g_iconv(cd, &inp, &inleft, &outp, &outleft);

        g_string_append_len(out, buf, outp - buf);
        if (r != (size_t)-1 || inleft == 0)
            break;
        if (errno == E2BIG)
            continue;
        g_string_append(out, "\xEF\xBF\xBD");
        *lossy_r = TRUE;
        inp++;
        inleft--;
    }
    return out;
}

/* Copy a plausible charset NAME into BUF; FALSE for absent, long or strange names, which must
   not reach iconv_open() (glibc gives "//" suffixes a meaning). */
static gboolean charset_name_ok(const char *name, char *buf, size_t size)
{
    size_t n;

    if (name == NULL || (n = strlen(name)) == 0 || n >= size)
        return FALSE;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(name[i]) && strchr("-_.:+", name[i]) == NULL)
            return FALSE;
    memcpy(buf, name, n + 1);
    return TRUE;
}

static gboolean charset_in(const char *name, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (g_ascii_strcasecmp(name, list[i]) == 0)
            return TRUE;
    return FALSE;
}

/* IN (LEN bytes in charset DECLARED, which may be absent, unknown or a lie) as UTF-8.
   Undeclared, ASCII and UTF-8 text that is not valid UTF-8 is taken as windows-1252, and so is
   ISO-8859-1, whose C1 range senders fill with windows-1252 punctuation. */
static GString *charset_to_utf8(const char *in, size_t len, const char *declared)
{
    static const char *const utf8_like[] = {"UTF-8", "utf8",           "us-ascii",
                                            "ascii", "ansi_x3.4-1968", "iso646-us"};
    static const char *const latin1_like[] = {"iso-8859-1", "iso8859-1",    "latin1", "l1",
                                              "cp1252",     "windows-1252", "cp819"};
    char name[MIME_CHARSET_NAME_MAX + 1];
    const char *iconv_name = NULL;
    GIConv cd;
    GString *out;
    gboolean lossy;

    if (charset_name_ok(declared, name, sizeof name))
        iconv_name = g_mime_charset_iconv_name(name);
    if (iconv_name != NULL && charset_in(iconv_name, latin1_like, G_N_ELEMENTS(latin1_like)))
        return charset_from_cp1252(in, len);
    if (iconv_name == NULL || charset_in(iconv_name, utf8_like, G_N_ELEMENTS(utf8_like)) ||
        (cd = g_iconv_open("UTF-8", iconv_name)) == (GIConv)-1) {
        if (charset_is_utf8(in, len))
            return g_string_new_len(in, len);
        return charset_from_cp1252(in, len);
    }
    out = charset_iconv(cd, in, len, &lossy);
    g_iconv_close(cd);
    if (lossy && charset_is_utf8(in, len)) {
        g_string_free(out, TRUE);
        return g_string_new_len(in, len);
    }
    return out;
}

/* ---- RFC 3676 format=flowed ---- */

/* Join the soft line breaks of format=flowed TEXT and undo space-stuffing. */
static void flowed_join(GString *text, gboolean delsp)
{
    GString *out = g_string_sized_new(text->len);
    const char *p = text->str, *end = text->str + text->len;
    gboolean joining = FALSE, first = TRUE;
    unsigned previous_depth = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', end - p), *line_end = nl != NULL ? nl : end;
        const char *s = p;
        unsigned depth = 0;

        for (; s < line_end && *s == '>'; s++)
            depth++;
        if (s < line_end && *s == ' ')
            s++;
        size_t len = line_end - s;
        gboolean signature = len == 3 && memcmp(s, "-- ", 3) == 0;
        gboolean soft = !signature && len > 0 && s[len - 1] == ' ';

        if (!(joining && depth == previous_depth)) {
            if (!first)
                g_string_append_c(out, '\n');
            for (unsigned i = 0; i < depth; i++)
                g_string_append_c(out, '>');
            if (depth > 0)
                g_string_append_c(out, ' ');
        }
        g_string_append_len(out, s, soft && delsp ? len - 1 : len);
        joining = soft;
        previous_depth = depth;
        first = FALSE;
        p = line_end + 1;
    }
    g_string_assign(text, out->str);
    g_string_free(out, TRUE);
}

/* ---- parts ---- */

static GByteArray *part_decode(GMimePart *part)
{
    GByteArray *data = g_byte_array_new();
    GMimeDataWrapper *content = g_mime_part_get_content(part);

    if (content != NULL) {
        GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(data);

        g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
        /* on a decoding error what was decoded so far is all there is */
        (void)g_mime_data_wrapper_write_to_stream(content, stream);
        g_object_unref(stream);
    }
    return data;
}

static size_t part_decoded_size(GMimePart *part)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    GMimeStream *null;
    size_t size;

    if (content == NULL)
        return 0;
    null = g_mime_stream_null_new();
    (void)g_mime_data_wrapper_write_to_stream(content, null);
    size = GMIME_STREAM_NULL(null)->written;
    g_object_unref(null);
    return size;
}

static gboolean part_is_type(GMimeObject *object, const char *type, const char *subtype)
{
    return g_mime_content_type_is_type(g_mime_object_get_content_type(object), type, subtype);
}

/* The text of PART as clean UTF-8, HTML converted, at most CAP bytes, trimmed. */
static GString *part_text(GMimePart *part, size_t cap, gboolean *truncated_r)
{
    GMimeObject *object = GMIME_OBJECT(part);
    GByteArray *data = part_decode(part);
    const char *charset = g_mime_object_get_content_type_parameter(object, "charset");
    const char *format = g_mime_object_get_content_type_parameter(object, "format");
    const char *delsp = g_mime_object_get_content_type_parameter(object, "delsp");
    /* An empty GByteArray has no data at all: NULL + 0 is undefined behaviour, "" + 0 is not. */
    GString *utf8 =
        charset_to_utf8(data->len > 0 ? (const char *)data->data : "", data->len, charset);
    GString *text = g_string_sized_new(MIN(utf8->len, cap) + 1);

    g_byte_array_unref(data);
    if (part_is_type(object, "text", "html")) {
        GString *plain = htmltext_convert(utf8->str, utf8->len, cap, truncated_r);

        g_string_free(utf8, TRUE);
        utf8 = plain;
    }
    if (text_append_strict(text, utf8->str, utf8->len, cap, TEXT_STRICT_BODY))
        *truncated_r = TRUE;
    g_string_free(utf8, TRUE);
    if (format != NULL && g_ascii_strcasecmp(format, "flowed") == 0 &&
        part_is_type(object, "text", "plain"))
        flowed_join(text, delsp != NULL && g_ascii_strcasecmp(delsp, "yes") == 0);
    quote_trim(text);
    return text;
}

static gboolean part_is_attachment(GMimeObject *object)
{
    const char *disposition = g_mime_object_get_disposition(object);

    if (disposition != NULL && g_ascii_strcasecmp(disposition, "attachment") == 0)
        return TRUE;
    return GMIME_IS_PART(object) && g_mime_part_get_filename(GMIME_PART(object)) != NULL;
}

static char *content_type_string(GMimeObject *object)
{
    char *type = g_mime_content_type_get_mime_type(g_mime_object_get_content_type(object));
    gboolean truncated = FALSE;
    char *clean = text_strict_line(type, MIME_TYPE_MAX, &truncated);
    char *lower = g_ascii_strdown(clean, -1);

    g_free(type);
    g_free(clean);
    return lower;
}

/* NAME without any directory part and cleaned; NULL if nothing usable is left. */
static char *filename_clean(const char *name)
{
    const char *base, *slash;
    gboolean truncated = FALSE;
    char *clean;

    if (name == NULL)
        return NULL;
    base = name;
    if ((slash = strrchr(base, '/')) != NULL)
        base = slash + 1;
    if ((slash = strrchr(base, '\\')) != NULL)
        base = slash + 1;
    clean = text_strict_line(base, MIME_FILENAME_MAX, &truncated);
    if (clean[0] == '\0' || strcmp(clean, ".") == 0 || strcmp(clean, "..") == 0) {
        g_free(clean);
        return NULL;
    }
    return clean;
}

static void attachment_free(gpointer data)
{
    struct mime_attachment *attachment = data;

    g_free(attachment->filename);
    g_free(attachment->content_type);
    g_free(attachment->text);
    g_free(attachment);
}

/* A new entry for OBJECT in the attachment list, or NULL when the list is full. */
static struct mime_attachment *attachment_new(struct walk *w, GMimeObject *object,
                                              const char *filename)
{
    struct mime_attachment *attachment;

    if (w->msg->attachments->len >= w->limits->max_attachments) {
        w->msg->attachments_truncated = TRUE;
        return NULL;
    }
    attachment = g_new0(struct mime_attachment, 1);
    attachment->content_type = content_type_string(object);
    attachment->filename = filename_clean(filename);
    g_ptr_array_add(w->msg->attachments, attachment);
    return attachment;
}

static void attachment_add_part(struct walk *w, GMimePart *part)
{
    GMimeObject *object = GMIME_OBJECT(part);
    struct mime_attachment *attachment = attachment_new(w, object, g_mime_part_get_filename(part));
    gboolean truncated = FALSE;
    GString *text;

    if (attachment == NULL)
        return;
    attachment->size = part_decoded_size(part);
    if (attachment->size < w->limits->max_attachment_text &&
        g_mime_content_type_is_type(g_mime_object_get_content_type(object), "text", "*")) {
        text = part_text(part, w->limits->max_attachment_text, &truncated);
        attachment->text = g_string_free(text, FALSE);
    }
}

static void attachment_add_message(struct walk *w, GMimeMessagePart *part)
{
    GMimeObject *object = GMIME_OBJECT(part);
    const char *filename = g_mime_object_get_content_disposition_parameter(object, "filename");
    struct mime_attachment *attachment;
    GMimeMessage *inner = g_mime_message_part_get_message(part);
    GMimeStream *null;

    if (filename == NULL)
        filename = g_mime_object_get_content_type_parameter(object, "name");
    attachment = attachment_new(w, object, filename);
    if (attachment == NULL || inner == NULL)
        return;
    null = g_mime_stream_null_new();
    (void)g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, null);
    attachment->size = GMIME_STREAM_NULL(null)->written;
    g_object_unref(null);
}

/* ---- the tree walk ---- */

static void walk(struct walk *w, GMimeObject *object, unsigned depth);

/* The first inline child of ALTERNATIVE of type text/SUBTYPE, or NULL. */
static GMimeObject *walk_alternative_text(GMimeMultipart *alternative, const char *subtype)
{
    for (int i = 0; i < g_mime_multipart_get_count(alternative); i++) {
        GMimeObject *child = g_mime_multipart_get_part(alternative, i);

        if (GMIME_IS_PART(child) && !part_is_attachment(child) &&
            part_is_type(child, "text", subtype))
            return child;
    }
    return NULL;
}

/* Walk the one branch of a multipart/alternative worth reading: inline text/plain, else
   inline text/html, else the first nested multipart. */
static void walk_alternative(struct walk *w, GMimeMultipart *alternative, unsigned depth)
{
    GMimeObject *plain = walk_alternative_text(alternative, "plain");
    GMimeObject *html = walk_alternative_text(alternative, "html");

    if (plain != NULL || html != NULL) {
        walk(w, plain != NULL ? plain : html, depth + 1);
        if (plain != NULL && html != NULL && w->body == GMIME_PART(plain))
            w->body_html_alternative = GMIME_PART(html);
        return;
    }
    for (int i = 0; i < g_mime_multipart_get_count(alternative); i++)
        if (GMIME_IS_MULTIPART(g_mime_multipart_get_part(alternative, i))) {
            walk(w, g_mime_multipart_get_part(alternative, i), depth + 1);
            return;
        }
}

static void walk_multipart(struct walk *w, GMimeMultipart *multipart, unsigned depth)
{
    if (part_is_type(GMIME_OBJECT(multipart), "multipart", "alternative")) {
        walk_alternative(w, multipart, depth);
        return;
    }
    for (int i = 0; i < g_mime_multipart_get_count(multipart); i++) {
        if (w->parts >= w->limits->max_parts) {
            w->msg->parts_truncated = TRUE;
            break;
        }
        walk(w, g_mime_multipart_get_part(multipart, i), depth + 1);
    }
}

static void walk(struct walk *w, GMimeObject *object, unsigned depth)
{
    if (w->parts >= w->limits->max_parts || depth > MIME_MAX_DEPTH) {
        w->msg->parts_truncated = TRUE;
        return;
    }
    w->parts++;
    if (GMIME_IS_MESSAGE_PART(object)) {
        attachment_add_message(w, GMIME_MESSAGE_PART(object));
    } else if (GMIME_IS_MULTIPART(object)) {
        walk_multipart(w, GMIME_MULTIPART(object), depth);
    } else if (GMIME_IS_PART(object)) {
        if (w->body == NULL && !part_is_attachment(object) &&
            (part_is_type(object, "text", "plain") || part_is_type(object, "text", "html")))
            w->body = GMIME_PART(object);
        else
            attachment_add_part(w, GMIME_PART(object));
    }
}

/* ---- headers ---- */

static InternetAddressMailbox *address_first_mailbox(InternetAddressList *list)
{
    for (int i = 0; list != NULL && i < internet_address_list_length(list); i++) {
        InternetAddress *address = internet_address_list_get_address(list, i);
        InternetAddressList *members;

        if (INTERNET_ADDRESS_IS_MAILBOX(address))
            return INTERNET_ADDRESS_MAILBOX(address);
        if (!INTERNET_ADDRESS_IS_GROUP(address))
            continue;
        members = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address));
        for (int j = 0; members != NULL && j < internet_address_list_length(members); j++)
            if (INTERNET_ADDRESS_IS_MAILBOX(internet_address_list_get_address(members, j)))
                return INTERNET_ADDRESS_MAILBOX(internet_address_list_get_address(members, j));
    }
    return NULL;
}

/* The addr-spec of MAILBOX with its domain lowercased; NULL unless it is local@domain. */
static char *address_clean(InternetAddressMailbox *mailbox, size_t cap, gboolean *truncated_r)
{
    gboolean truncated = FALSE;
    char *addr, *at;

    if (mailbox == NULL)
        return NULL;
    addr = text_strict_line(internet_address_mailbox_get_addr(mailbox), cap, &truncated);
    at = addr != NULL ? strrchr(addr, '@') : NULL;
    if (truncated || at == NULL || at == addr || at[1] == '\0' || strchr(at, ' ') != NULL) {
        *truncated_r = *truncated_r || truncated;
        g_free(addr);
        return NULL;
    }
    for (char *p = at + 1; *p != '\0'; p++)
        *p = g_ascii_tolower(*p);
    return addr;
}

/* The msg-ids of header NAME without angle brackets, joined by spaces (only the first if
   ONLY_FIRST); ids that do not fit in max_header are dropped whole. Only the start of a long
   raw value is parsed, cut after a '>': ids further on could not be kept anyway. */
static char *header_message_ids(struct mime_message *msg, GMimeParserOptions *options,
                                const char *name, gboolean only_first)
{
    GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(msg->gmime));
    GMimeHeader *header = g_mime_header_list_get_header(headers, name);
    size_t limit = msg->limits.max_header * MIME_IDS_RAW_FACTOR;
    const char *raw, *end;
    char *prefix = NULL;
    GMimeReferences *refs;
    GString *out;
    gboolean dropped = FALSE;

    if (header == NULL || (raw = g_mime_header_get_raw_value(header)) == NULL)
        return NULL;
    if (strlen(raw) > limit) {
        end = memrchr(raw, '>', limit);
        prefix = g_strndup(raw, end != NULL ? (size_t)(end - raw + 1) : 0);
        msg->headers_truncated = TRUE;
    }
    refs = g_mime_references_parse(options, prefix != NULL ? prefix : raw);
    g_free(prefix);
    out = g_string_new(NULL);
    for (int i = 0; refs != NULL && i < g_mime_references_length(refs); i++) {
        char *id = text_strict_line(g_mime_references_get_message_id(refs, i),
                                    msg->limits.max_header, &dropped);

        if (id[0] != '\0' && strchr(id, ' ') == NULL) {
            if (out->len + (out->len > 0) + strlen(id) > msg->limits.max_header) {
                msg->headers_truncated = TRUE;
                g_free(id);
                break;
            }
            g_string_append_printf(out, "%s%s", out->len > 0 ? " " : "", id);
        }
        g_free(id);
        if (only_first && out->len > 0)
            break;
    }
    if (refs != NULL)
        g_mime_references_free(refs);
    if (out->len == 0) {
        g_string_free(out, TRUE);
        return NULL;
    }
    return g_string_free(out, FALSE);
}

static void header_list_collect(GPtrArray *values, GMimeHeaderList *headers, const char *name,
                                size_t cap, gboolean *truncated_r)
{
    for (int i = 0; headers != NULL && i < g_mime_header_list_get_count(headers); i++) {
        GMimeHeader *header = g_mime_header_list_get_header_at(headers, i);
        const char *value;

        if (g_ascii_strcasecmp(g_mime_header_get_name(header), name) != 0)
            continue;
        value = g_mime_header_get_value(header); /* decoded on first use: only matches */
        g_ptr_array_add(values, text_strict_line(value != NULL ? value : "", cap, truncated_r));
    }
}

/* The first value of header NAME, cleaned; NULL when absent. */
static char *header_first(struct mime_message *msg, const char *name)
{
    GPtrArray *values = g_ptr_array_new_with_free_func(g_free);
    GMimeObject *top = g_mime_message_get_mime_part(msg->gmime);
    char *first;

    header_list_collect(values, g_mime_object_get_header_list(GMIME_OBJECT(msg->gmime)), name,
                        msg->limits.max_header, &msg->headers_truncated);
    if (values->len == 0 && top != NULL)
        header_list_collect(values, g_mime_object_get_header_list(top), name,
                            msg->limits.max_header, &msg->headers_truncated);
    first = values->len > 0 ? g_strdup(g_ptr_array_index(values, 0)) : NULL;
    g_ptr_array_unref(values);
    return first;
}

static void message_headers(struct mime_message *msg, GMimeParserOptions *options)
{
    size_t cap = msg->limits.max_header;
    gboolean *truncated = &msg->headers_truncated;
    InternetAddressMailbox *from = address_first_mailbox(g_mime_message_get_from(msg->gmime));

    msg->from_addr = address_clean(from, cap, truncated);
    if (from != NULL) {
        msg->from_name =
            text_strict_line(internet_address_get_name(INTERNET_ADDRESS(from)), cap, truncated);
        if (msg->from_name != NULL && msg->from_name[0] == '\0')
            g_clear_pointer(&msg->from_name, g_free);
    }
    msg->reply_to_addr = address_clean(
        address_first_mailbox(g_mime_message_get_reply_to(msg->gmime)), cap, truncated);
    msg->subject = header_first(msg, "Subject");
    msg->date = header_first(msg, "Date");
    msg->message_id = text_strict_line(g_mime_message_get_message_id(msg->gmime), cap, truncated);
    if (msg->message_id != NULL && msg->message_id[0] == '\0')
        g_clear_pointer(&msg->message_id, g_free);
    msg->in_reply_to = header_message_ids(msg, options, "In-Reply-To", TRUE);
    msg->references = header_message_ids(msg, options, "References", FALSE);
}

static void message_body(struct mime_message *msg, const struct mime_limits *limits)
{
    struct walk w = {.limits = limits, .msg = msg};
    GMimeObject *top = g_mime_message_get_mime_part(msg->gmime);
    GString *text;

    msg->content_type = top != NULL ? content_type_string(top) : g_strdup("text/plain");
    if (top != NULL)
        walk(&w, top, 1);
    if (w.body == NULL) {
        msg->text = g_strdup("");
        return;
    }
    text = part_text(w.body, limits->max_text, &msg->text_truncated);
    if (text->len == 0 && w.body_html_alternative != NULL) {
        /* some senders leave the text/plain twin empty: read the HTML instead */
        g_string_free(text, TRUE);
        w.body = w.body_html_alternative;
        text = part_text(w.body, limits->max_text, &msg->text_truncated);
    }
    msg->text_from_html = part_is_type(GMIME_OBJECT(w.body), "text", "html");
    quote_split(text, msg->subject, &msg->text, &msg->quoted);
}

static int header_count(GMimeMessage *gmime)
{
    GMimeObject *top = g_mime_message_get_mime_part(gmime);
    int count = g_mime_header_list_get_count(g_mime_object_get_header_list(GMIME_OBJECT(gmime)));

    if (top != NULL)
        count += g_mime_header_list_get_count(g_mime_object_get_header_list(top));
    return count;
}

static GMimeParserOptions *parser_options_new(void)
{
    static const char *fallback_charsets[] = {"UTF-8", "windows-1252", NULL};
    GMimeParserOptions *options = g_mime_parser_options_new();

    g_mime_parser_options_set_address_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_rfc2047_compliance_mode(options, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_fallback_charsets(options, fallback_charsets);
    return options;
}

/* ---- dump ---- */

static void dump_string(GString *out, const char *key, const char *value)
{
    g_string_append_printf(out, "%s: ", key);
    if (value == NULL) {
        g_string_append(out, "(none)\n");
        return;
    }
    g_string_append_c(out, '"');
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_c(out, '\\');
        g_string_append_c(out, *p);
    }
    g_string_append(out, "\"\n");
}

static void dump_flag(GString *out, const char *key, gboolean value)
{
    g_string_append_printf(out, "%s: %s\n", key, value ? "yes" : "no");
}

static void dump_block(GString *out, const char *key, const char *text)
{
    size_t len = text != NULL ? strlen(text) : 0;

    if (text == NULL) {
        g_string_append_printf(out, "%s: (none)\n", key);
        return;
    }
    g_string_append_printf(out, "%s: %zu bytes\n", key, len);
    g_string_append(out, text);
    if (len > 0 && text[len - 1] != '\n')
        g_string_append_c(out, '\n');
}

/* ---- public ---- */

void mime_limits_default(struct mime_limits *limits_r)
{
    limits_r->max_text = 64 * 1024;
    limits_r->max_parts = 100;
    limits_r->max_attachments = 50;
    limits_r->max_attachment_text = 8 * 1024;
    limits_r->max_header = 998 * 4;
}

int mime_parse(const char *raw, size_t len, const struct mime_limits *limits,
               struct mime_message **msg_r, char **error_r)
{
    GMimeParserOptions *options;
    GMimeStream *stream;
    GMimeParser *parser;
    GMimeMessage *gmime;
    GByteArray *copy;
    struct mime_message *msg;

    *msg_r = NULL;
    if (len == 0) {
        *error_r = g_strdup("empty message");
        return -1;
    }
    if (len > G_MAXUINT) { /* a GByteArray's length is a guint */
        *error_r = g_strdup("message too large to parse");
        return -1;
    }
    options = parser_options_new();
    /* One copy of the input, read in place by the parts' content streams and kept as raw: the
       stream does not own it, the message does, and frees it after the GMime tree. */
    copy = g_byte_array_sized_new((guint)len);
    g_byte_array_append(copy, (const guint8 *)raw, (guint)len);
    stream = g_mime_stream_mem_new_with_byte_array(copy);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    parser = g_mime_parser_new_with_stream(stream);
    gmime = g_mime_parser_construct_message(parser, options);
    g_object_unref(parser);
    g_object_unref(stream);
    if (gmime == NULL || header_count(gmime) == 0) {
        if (gmime != NULL)
            g_object_unref(gmime);
        g_byte_array_unref(copy);
        g_mime_parser_options_free(options);
        *error_r = g_strdup("no header section found: not an RFC 5322 message");
        return -1;
    }
    msg = g_new0(struct mime_message, 1);
    msg->gmime = gmime;
    msg->raw = copy;
    msg->limits = *limits;
    msg->attachments = g_ptr_array_new_with_free_func(attachment_free);
    message_headers(msg, options);
    message_body(msg, limits);
    g_mime_parser_options_free(options);
    *msg_r = msg;
    return 0;
}

void mime_message_free(struct mime_message *msg)
{
    if (msg == NULL)
        return;
    g_free(msg->from_addr);
    g_free(msg->from_name);
    g_free(msg->reply_to_addr);
    g_free(msg->subject);
    g_free(msg->message_id);
    g_free(msg->in_reply_to);
    g_free(msg->references);
    g_free(msg->date);
    g_free(msg->text);
    g_free(msg->quoted);
    g_free(msg->content_type);
    g_ptr_array_unref(msg->attachments);
    g_object_unref(msg->gmime);
    g_byte_array_unref(msg->raw);
    g_free(msg);
}

GPtrArray *mime_header_all(const struct mime_message *msg, const char *name)
{
    GPtrArray *values = g_ptr_array_new_with_free_func(g_free);
    GMimeObject *top = g_mime_message_get_mime_part(msg->gmime);
    gboolean truncated = FALSE;

    header_list_collect(values, g_mime_object_get_header_list(GMIME_OBJECT(msg->gmime)), name,
                        msg->limits.max_header, &truncated);
    if (top != NULL)
        header_list_collect(values, g_mime_object_get_header_list(top), name,
                            msg->limits.max_header, &truncated);
    return values;
}

char *mime_header_first(const struct mime_message *msg, const char *name)
{
    GPtrArray *values = mime_header_all(msg, name);
    char *first = values->len > 0 ? g_strdup(g_ptr_array_index(values, 0)) : NULL;

    g_ptr_array_unref(values);
    return first;
}

void mime_message_dump(const struct mime_message *msg, GString *out)
{
    dump_string(out, "content_type", msg->content_type);
    dump_string(out, "from_addr", msg->from_addr);
    dump_string(out, "from_name", msg->from_name);
    dump_string(out, "reply_to_addr", msg->reply_to_addr);
    dump_string(out, "subject", msg->subject);
    dump_string(out, "date", msg->date);
    dump_string(out, "message_id", msg->message_id);
    dump_string(out, "in_reply_to", msg->in_reply_to);
    dump_string(out, "references", msg->references);
    dump_flag(out, "text_from_html", msg->text_from_html);
    dump_flag(out, "text_truncated", msg->text_truncated);
    dump_flag(out, "parts_truncated", msg->parts_truncated);
    dump_flag(out, "headers_truncated", msg->headers_truncated);
    dump_flag(out, "attachments_truncated", msg->attachments_truncated);
    g_string_append_printf(out, "attachments: %u\n", msg->attachments->len);
    for (guint i = 0; i < msg->attachments->len; i++) {
        const struct mime_attachment *a = g_ptr_array_index(msg->attachments, i);
        char key[64];

        g_snprintf(key, sizeof key, "attachment %u content_type", i + 1);
        dump_string(out, key, a->content_type);
        g_snprintf(key, sizeof key, "attachment %u filename", i + 1);
        dump_string(out, key, a->filename);
        g_string_append_printf(out, "attachment %u size: %zu\n", i + 1, a->size);
        g_snprintf(key, sizeof key, "attachment %u text", i + 1);
        dump_block(out, key, a->text);
    }
    dump_block(out, "text", msg->text);
    dump_block(out, "quoted", msg->quoted);
}
