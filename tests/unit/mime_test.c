/*
 * mime_test: the specification of lib/mail/mime.c, one case per behaviour.
 *
 * Golden cases: for each NAME in golden_cases, mime_message_dump() of $srcdir/data/mime/NAME.eml
 * must equal $srcdir/data/mime/NAME.expected byte for byte ($srcdir is the tests/ directory,
 * "." when unset). MIME_TEST_REGENERATE=1 rewrites the .expected files instead; read them
 * before committing. Large and hostile inputs are generated here rather than stored.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "mime.h"

#define THREADS 8
#define THREAD_ROUNDS 10

static const char *const golden_cases[] = {
    "apple_inline_image",
    "attachments_pdf_csv",
    "bad_charset",
    "bare_lf_mbox",
    "base64_body",
    "format_flowed",
    "forwarded_rfc822",
    "gmail_alternative",
    "gmail_forward_inline",
    "header_injection",
    "html_body_with_list_footer",
    "html_gmail_quote",
    "inline_reply",
    "no_body",
    "outlook_html_cp1252",
    "outlook_original_message",
    "qp_latin1_body",
    "reply_quoted_history",
    "rfc2047_subject",
    "signature",
};

/* ---- helpers ---- */

static char *data_path(const char *name, const char *extension)
{
    const char *srcdir = g_getenv("srcdir");

    return g_strdup_printf("%s/data/mime/%s%s", srcdir != NULL ? srcdir : ".", name, extension);
}

static GBytes *read_case(const char *name)
{
    char *path = data_path(name, ".eml");
    GError *error = NULL;
    char *data;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, &error))
        g_error("%s", error->message);
    g_free(path);
    return g_bytes_new_take(data, len);
}

static struct mime_message *parse_len(const char *raw, size_t len, const struct mime_limits *limits)
{
    struct mime_limits defaults;
    struct mime_message *msg = NULL;
    char *error = NULL;

    if (limits == NULL) {
        mime_limits_default(&defaults);
        limits = &defaults;
    }
    if (mime_parse(raw, len, limits, &msg, &error) != 0)
        g_error("mime_parse failed: %s", error);
    return msg;
}

static struct mime_message *parse_string(const char *raw, const struct mime_limits *limits)
{
    return parse_len(raw, strlen(raw), limits);
}

static struct mime_message *parse_case(const char *name, const struct mime_limits *limits)
{
    GBytes *bytes = read_case(name);
    gsize len;
    const char *raw = g_bytes_get_data(bytes, &len);
    struct mime_message *msg = parse_len(raw, len, limits);

    g_bytes_unref(bytes);
    return msg;
}

static char *dump(const struct mime_message *msg)
{
    GString *out = g_string_new(NULL);

    mime_message_dump(msg, out);
    return g_string_free(out, FALSE);
}

static gboolean has_control(const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7F)
            return TRUE;
    return FALSE;
}

/* What every parse result promises, whatever the input. */
static void assert_well_formed(const struct mime_message *msg)
{
    const char *headers[] = {msg->from_addr,  msg->from_name,  msg->reply_to_addr,
                             msg->subject,    msg->message_id, msg->in_reply_to,
                             msg->references, msg->date,       msg->content_type};

    for (size_t i = 0; i < G_N_ELEMENTS(headers); i++) {
        g_assert_true(headers[i] == NULL || g_utf8_validate(headers[i], -1, NULL));
        g_assert_false(has_control(headers[i]));
        g_assert_true(headers[i] == NULL || strlen(headers[i]) <= msg->limits.max_header);
    }
    g_assert_nonnull(msg->text);
    g_assert_true(g_utf8_validate(msg->text, -1, NULL));
    g_assert_true(msg->quoted == NULL || g_utf8_validate(msg->quoted, -1, NULL));
    g_assert_cmpuint(strlen(msg->text) + (msg->quoted ? strlen(msg->quoted) : 0), <=,
                     msg->limits.max_text);
    g_assert_cmpuint(msg->attachments->len, <=, msg->limits.max_attachments);
    for (guint i = 0; i < msg->attachments->len; i++) {
        const struct mime_attachment *a = g_ptr_array_index(msg->attachments, i);

        g_assert_nonnull(a->content_type);
        g_assert_false(has_control(a->content_type));
        g_assert_false(has_control(a->filename));
        g_assert_true(a->filename == NULL || strpbrk(a->filename, "/\\") == NULL);
        g_assert_true(a->text == NULL || g_utf8_validate(a->text, -1, NULL));
        g_assert_true(a->text == NULL || strlen(a->text) <= msg->limits.max_attachment_text);
    }
}

static const struct mime_attachment *attachment(const struct mime_message *msg, guint i)
{
    g_assert_cmpuint(i, <, msg->attachments->len);
    return g_ptr_array_index(msg->attachments, i);
}

/* ---- golden files ---- */

static void test_golden(gconstpointer data)
{
    const char *name = data;
    struct mime_message *msg = parse_case(name, NULL);
    char *actual = dump(msg);
    char *path = data_path(name, ".expected");
    GError *error = NULL;
    char *expected;

    assert_well_formed(msg);
    if (g_strcmp0(g_getenv("MIME_TEST_REGENERATE"), "1") == 0) {
        if (!g_file_set_contents(path, actual, -1, &error))
            g_error("%s", error->message);
    } else {
        if (!g_file_get_contents(path, &expected, NULL, &error))
            g_error("%s (set MIME_TEST_REGENERATE=1 to create it)", error->message);
        g_assert_cmpstr(actual, ==, expected);
        g_free(expected);
    }
    g_free(path);
    g_free(actual);
    mime_message_free(msg);
}

/* ---- choosing and converting the text ---- */

static void test_prefers_text_plain_in_alternative(void)
{
    struct mime_message *msg = parse_case("gmail_alternative", NULL);

    g_assert_false(msg->text_from_html);
    g_assert_cmpstr(msg->content_type, ==, "multipart/alternative");
    g_assert_nonnull(strstr(msg->text, "priority support \u2014 and whether"));
    g_assert_null(strstr(msg->text, "<div"));
    g_assert_cmpuint(msg->attachments->len, ==, 0);
    mime_message_free(msg);
}

static void test_html_only_converted_to_text(void)
{
    struct mime_message *msg = parse_case("outlook_html_cp1252", NULL);

    g_assert_true(msg->text_from_html);
    g_assert_true(g_str_has_prefix(msg->text, "Hello,\n\nWe haven\u2019t received"));
    g_assert_null(strchr(msg->text, '<'));
    g_assert_null(strstr(msg->text, "Font Definitions"));
    g_assert_null(strstr(msg->text, "Invoice question")); /* the <title> */
    g_assert_null(strstr(msg->text, "MsoNormal"));
    mime_message_free(msg);
}

static void test_html_entities_lists_and_scripts(void)
{
    struct mime_message *msg = parse_case("html_gmail_quote", NULL);

    g_assert_cmpstr(msg->text, ==,
                    "Two problems remain:\n"
                    "- the export & import still fail\n"
                    "- prices show <0> \u20ac \u2013 see screenshot\n"
                    "Tom \"Lee\" \u00a9 2024 &bogus; AT&T");
    g_assert_null(strstr(msg->quoted, "alert"));
    g_assert_null(strstr(msg->quoted, "hidden"));
    mime_message_free(msg);
}

static void test_html_edge_cases(void)
{
    static const struct {
        const char *html;
        const char *text;
    } cases[] = {
        {"a<br>b<br/>c", "a\nb\nc"},
        {"<p>one</p><p>two</p>", "one\ntwo"},
        {"<p>one</p><p>&nbsp;</p><p>two</p>", "one\n\ntwo"},
        {"x   \n\t y", "x y"},
        {"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"},
        {"<h1>Title</h1>body", "Title\nbody"},
        {"a < b and c > d", "a < b and c > d"},
        {"&#65;&#x42;&#0;&#x110000;&#xD800;", "AB\ufffd\ufffd\ufffd"},
        {"<!-- <p>comment</p> -->shown", "shown"},
        {"<a href='x>y'>link</a>", "link"},
        {"<img alt=\"x\" src=\"a>b.png\">after", "after"},
        {"<style>unclosed", ""},
        {"<head><title>t</title>no body tag", "no body tag"},
        {"<head>only a head", "only a head"},
        {"<pre>  keep\n  lines</pre>", "keep\nlines"},
        {"<ul><li>\n  one\n</li><li>two</li></ul>", "- one\n- two"},
        {"&zwnj;&nbsp;&zwnj;text", "text"},
        {"trailing &", "trailing &"},
        {"<blockquote>q1<br><br>q2</blockquote>", "> q1\n>\n> q2"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *raw =
            g_strdup_printf("From: a@example.com\nContent-Type: text/html\n\n%s\n", cases[i].html);
        struct mime_message *msg = parse_string(raw, NULL);
        char *all = g_strconcat(msg->text, msg->quoted ? "\n" : "", msg->quoted, NULL);

        if (g_strcmp0(all, cases[i].text) != 0)
            g_error("html %s: got \"%s\", want \"%s\"", cases[i].html, all, cases[i].text);
        g_free(all);
        g_free(raw);
        mime_message_free(msg);
    }
}

static void test_latin1_converted_to_utf8(void)
{
    struct mime_message *msg = parse_case("qp_latin1_body", NULL);

    g_assert_nonnull(strstr(msg->text, "livraison \u00e0 Montr\u00e9al est possible"));
    g_assert_true(g_str_has_suffix(msg->text, "H\u00e9l\u00e8ne"));
    g_assert_cmpstr(msg->from_name, ==, "H\u00e9l\u00e8ne");
    mime_message_free(msg);
}

static void test_windows1252_punctuation(void)
{
    struct mime_message *msg = parse_case("outlook_html_cp1252", NULL);

    g_assert_nonnull(strstr(msg->text, "\u20ac 1.250,00 \u2013 \u201cnet 30\u201d terms"));
    g_assert_cmpstr(msg->from_name, ==, "Ren\u00e9e M\u00fcller");
    mime_message_free(msg);
}

#define BYTES(literal)                                                                             \
    {                                                                                              \
        literal, sizeof(literal) - 1                                                               \
    }

static void test_bad_charset_still_valid_utf8(void)
{
    static const struct {
        const char *data;
        size_t len;
    } inputs[] = {
        BYTES("From: a@example.com\nContent-Type: text/plain; charset=shift_jis\n\n"
              "\x82\xa0\xff\xfe\x82"),
        BYTES("From: a@example.com\nContent-Type: text/plain; charset=utf-16\n\n"
              "\xff\xfe"
              "a\0b\0c"),
        BYTES("From: a@example.com\nContent-Type: text/plain; charset=iso-2022-jp\n\n"
              "\x1b$B\xff\xff\x1b(B ok"),
        BYTES("From: a@example.com\nContent-Type: text/plain; charset=\"../../etc/passwd\"\n\n"
              "bytes \xe9\xe8"),
        BYTES("From: a@example.com\nContent-Type: text/plain; charset=utf-8\n\n"
              "\xc0\xaf overlong \xed\xa0\x80 surrogate \0 nul"),
        BYTES("From: a@example.com\nContent-Type: text/html; charset=bogus\n\n"
              "<p>\x93hi\x94 \x81</p>"),
        BYTES("From: \xff\xfe\x00<a@example.com>\nSubject: \xc3\x28\x00\x80\n\nx"),
    };
    struct mime_message *msg = parse_case("bad_charset", NULL);

    assert_well_formed(msg);
    g_assert_cmpstr(msg->text, ==,
                    "Declared UTF-8 but written in Latin-1: caf\u00e9, na\u00efve, "
                    "\u201cquoted\u201d.");
    g_assert_cmpstr(msg->subject, ==, "Caf\u00e9 8-bit subject");
    g_assert_cmpstr(attachment(msg, 0)->text, ==, "Unknown charset: gr\u00fc\u00dfe.");
    mime_message_free(msg);
    for (size_t i = 0; i < G_N_ELEMENTS(inputs); i++) {
        msg = parse_len(inputs[i].data, inputs[i].len, NULL);
        assert_well_formed(msg);
        mime_message_free(msg);
    }
}

static void test_base64_and_qp_decoded(void)
{
    struct mime_message *msg = parse_case("base64_body", NULL);

    g_assert_cmpstr(msg->text, ==,
                    "Guten Tag,\n\nwir m\u00f6chten 20 Lizenzen bestellen. Gibt es "
                    "Mengenrabatt?\n\nViele Gr\u00fc\u00dfe\nJ\u00f6rg");
    mime_message_free(msg);
    msg = parse_case("qp_latin1_body", NULL);
    /* a soft line break of the quoted-printable joins the line again */
    g_assert_nonnull(strstr(msg->text, "fin du mois, et quel serait le co\u00fbt"));
    g_assert_null(strchr(msg->text, '='));
    mime_message_free(msg);
}

static void test_flowed_text_joined(void)
{
    struct mime_message *msg = parse_case("format_flowed", NULL);

    g_assert_true(g_str_has_prefix(msg->text, "Hello, are you open on Saturdays, and if so, until "
                                              "what time can I come by to pick up my order?"));
    g_assert_nonnull(strstr(msg->text, "ready by now.\nFrom what I read"));
    mime_message_free(msg);
}

static void test_bare_lf_message(void)
{
    GBytes *bytes = read_case("bare_lf_mbox");
    gsize len;
    const char *lf = g_bytes_get_data(bytes, &len);
    GString *crlf = g_string_new(NULL);
    struct mime_message *a, *b;
    char *dump_a, *dump_b;

    for (gsize i = 0; i < len; i++) {
        if (lf[i] == '\n')
            g_string_append_c(crlf, '\r');
        g_string_append_c(crlf, lf[i]);
    }
    a = parse_len(lf, len, NULL);
    b = parse_len(crlf->str, crlf->len, NULL);
    g_assert_cmpstr(a->subject, ==, "Weekly update");
    g_assert_cmpstr(a->text, ==, "This week: nothing new.\nSee you next week.");
    dump_a = dump(a);
    dump_b = dump(b);
    g_assert_cmpstr(dump_a, ==, dump_b);
    g_free(dump_a);
    g_free(dump_b);
    mime_message_free(a);
    mime_message_free(b);
    g_string_free(crlf, TRUE);
    g_bytes_unref(bytes);
}

static void test_empty_plain_twin_falls_back_to_html(void)
{
    struct mime_message *msg = parse_string(
        "From: a@example.com\nMIME-Version: 1.0\n"
        "Content-Type: multipart/alternative; boundary=alt\n\n"
        "--alt\nContent-Type: text/plain\n\n \n\n"
        "--alt\nContent-Type: text/html\n\n<p>Only the <b>HTML</b> has text.</p>\n--alt--\n",
        NULL);

    g_assert_true(msg->text_from_html);
    g_assert_cmpstr(msg->text, ==, "Only the HTML has text.");
    mime_message_free(msg);
}

static void test_no_body_gives_empty_text(void)
{
    struct mime_message *msg = parse_case("no_body", NULL);

    g_assert_cmpstr(msg->text, ==, "");
    g_assert_null(msg->quoted);
    g_assert_cmpstr(msg->subject, ==, "");
    mime_message_free(msg);
}

static void test_list_footer_does_not_replace_html_body(void)
{
    struct mime_message *msg = parse_case("html_body_with_list_footer", NULL);

    g_assert_true(msg->text_from_html);
    g_assert_cmpstr(msg->text, ==, "The printer on floor 2 shows offline again.");
    g_assert_cmpstr(attachment(msg, 0)->content_type, ==, "text/plain");
    g_assert_nonnull(strstr(attachment(msg, 0)->text, "help mailing list"));
    mime_message_free(msg);
}

/* ---- headers ---- */

static void test_rfc2047_subject_decoded(void)
{
    struct mime_message *msg = parse_case("rfc2047_subject", NULL);

    g_assert_cmpstr(msg->subject, ==,
                    "Re: Anfrage \u00fcber Gr\u00f6\u00dfen und Preise f\u00fcr M\u00e4rz \u2713");
    g_assert_cmpstr(msg->from_name, ==, "Fran\u00e7ois Lef\u00e8vre");
    mime_message_free(msg);
}

static void test_addresses_and_ids_normalised(void)
{
    struct mime_message *msg = parse_case("rfc2047_subject", NULL);

    g_assert_cmpstr(msg->from_addr, ==, "francois@example.fr");
    g_assert_cmpstr(msg->reply_to_addr, ==, "Francois.Lefevre@example.fr");
    g_assert_cmpstr(msg->message_id, ==, "87h6e9x2k1.fsf@example.fr");
    mime_message_free(msg);
    msg = parse_case("reply_quoted_history", NULL);
    g_assert_cmpstr(msg->in_reply_to, ==, "ticket-4711.2@support.example.com");
    g_assert_cmpstr(msg->references, ==,
                    "CAF=orig.0@mail.gmail.com ticket-4711.2@support.example.com");
    mime_message_free(msg);
    msg = parse_string("From: undisclosed-recipients:;\nReply-To: not an address\n"
                       "Subject: x\n\nbody\n",
                       NULL);
    g_assert_null(msg->from_addr);
    g_assert_null(msg->from_name);
    g_assert_null(msg->reply_to_addr);
    mime_message_free(msg);
}

static void test_header_injection_controls_removed(void)
{
    struct mime_message *msg = parse_case("header_injection", NULL);

    assert_well_formed(msg);
    g_assert_cmpstr(msg->subject, ==, "Hello X-Injected: yes tab here");
    g_assert_cmpstr(msg->from_name, ==, "Evil Bcc: victim@example.com");
    g_assert_cmpstr(msg->from_addr, ==, "evil@attacker.example");
    g_assert_cmpstr(attachment(msg, 0)->filename, ==, "evil name.sh");
    g_assert_null(strchr(msg->text, '\x1b'));
    g_assert_null(strchr(msg->text, '\a'));
    mime_message_free(msg);
}

static void test_header_capped_at_utf8_boundary(void)
{
    struct mime_limits limits;
    GString *raw = g_string_new("From: a@example.com\nSubject: ");
    struct mime_message *msg;

    mime_limits_default(&limits);
    limits.max_header = 101;
    for (int i = 0; i < 5000; i++)
        g_string_append(raw, "\u00e9");
    g_string_append(raw, "\nReferences:");
    for (int i = 0; i < 50; i++)
        g_string_append_printf(raw, " <id%d@example.com>", i);
    g_string_append(raw, "\n\nbody\n");
    msg = parse_string(raw->str, &limits);
    assert_well_formed(msg);
    g_assert_true(msg->headers_truncated);
    g_assert_cmpuint(strlen(msg->subject), ==, 100);
    g_assert_true(g_str_has_prefix(msg->references, "id0@example.com id1@example.com"));
    g_assert_true(g_str_has_suffix(msg->references, "@example.com")); /* whole ids only */
    mime_message_free(msg);
    g_string_free(raw, TRUE);
}

static void test_header_all_in_order(void)
{
    struct mime_message *msg = parse_case("gmail_alternative", NULL);
    GPtrArray *received = mime_header_all(msg, "received");
    GPtrArray *absent = mime_header_all(msg, "X-Absent");
    char *type = mime_header_first(msg, "Content-Type");

    g_assert_cmpuint(received->len, ==, 2);
    g_assert_true(g_str_has_prefix(g_ptr_array_index(received, 0), "from mail-wr1-f41"));
    g_assert_true(g_str_has_prefix(g_ptr_array_index(received, 1), "by mail-wr1-f41"));
    g_assert_false(has_control(g_ptr_array_index(received, 0)));
    g_assert_cmpuint(absent->len, ==, 0);
    g_assert_null(mime_header_first(msg, "X-Absent"));
    g_assert_true(g_str_has_prefix(type, "multipart/alternative"));
    g_free(type);
    g_ptr_array_unref(received);
    g_ptr_array_unref(absent);
    mime_message_free(msg);
}

/* ---- attachments ---- */

static void test_attachments_listed(void)
{
    struct mime_message *msg = parse_case("attachments_pdf_csv", NULL);
    const struct mime_attachment *pdf = attachment(msg, 0), *csv = attachment(msg, 1);

    g_assert_cmpuint(msg->attachments->len, ==, 2);
    g_assert_cmpstr(pdf->content_type, ==, "application/pdf");
    g_assert_cmpstr(pdf->filename, ==, "order-2024-06.pdf");
    g_assert_cmpuint(pdf->size, ==, 142);
    g_assert_null(pdf->text);
    g_assert_cmpstr(csv->content_type, ==, "text/csv");
    g_assert_cmpstr(csv->filename, ==, "line items \u2013 June.csv"); /* RFC 2231 */
    g_assert_cmpuint(csv->size, ==, 48);
    g_assert_cmpstr(msg->text, ==,
                    "Please find our order attached (PDF) and the line items as CSV.");
    mime_message_free(msg);
}

static void test_small_text_attachment_extracted(void)
{
    struct mime_limits limits;
    struct mime_message *msg = parse_case("attachments_pdf_csv", NULL);

    g_assert_cmpstr(attachment(msg, 1)->text, ==,
                    "sku;quantity;price\nA-100;3;19,90\nB-220;1;249,00");
    mime_message_free(msg);
    mime_limits_default(&limits);
    limits.max_attachment_text = 48; /* the CSV is 48 bytes: not smaller */
    msg = parse_case("attachments_pdf_csv", &limits);
    g_assert_null(attachment(msg, 1)->text);
    g_assert_cmpuint(attachment(msg, 1)->size, ==, 48);
    mime_message_free(msg);
    limits.max_attachment_text = 0;
    msg = parse_case("attachments_pdf_csv", &limits);
    g_assert_null(attachment(msg, 1)->text);
    mime_message_free(msg);
}

static void test_forwarded_rfc822_is_attachment(void)
{
    struct mime_message *msg = parse_case("forwarded_rfc822", NULL);
    const struct mime_attachment *inner = attachment(msg, 0);

    g_assert_cmpstr(msg->text, ==, "Can you handle this one? Customer is upset.");
    g_assert_cmpstr(inner->content_type, ==, "message/rfc822");
    g_assert_cmpstr(inner->filename, ==, "Refund for order 991.eml");
    g_assert_cmpuint(inner->size, >, 250);
    g_assert_null(inner->text);
    mime_message_free(msg);
}

static void test_inline_parts_after_body_listed(void)
{
    struct mime_message *msg = parse_case("apple_inline_image", NULL);

    g_assert_cmpstr(msg->text, ==, "The screen looks like this:");
    g_assert_cmpstr(attachment(msg, 0)->content_type, ==, "image/png");
    g_assert_cmpuint(attachment(msg, 0)->size, ==, 70);
    g_assert_cmpstr(attachment(msg, 1)->text, ==, "It started yesterday.");
    mime_message_free(msg);
}

/* ---- quoted history and signature ---- */

static void test_quoted_history_set_apart(void)
{
    struct mime_message *msg = parse_case("reply_quoted_history", NULL);

    g_assert_cmpstr(msg->text, ==,
                    "Thanks, but the link in your mail has already expired when I click it.\n"
                    "Can you send a new one?");
    g_assert_true(g_str_has_prefix(msg->quoted, "On Mon, Jun 3, 2024 at 6:44 PM Example Support "
                                                "<support@example.com>\nwrote:\n\n> Hello Jane,"));
    g_assert_true(g_str_has_suffix(msg->quoted, "> > I cannot log in any more."));
    mime_message_free(msg);
}

static void test_outlook_history_set_apart(void)
{
    struct mime_message *msg = parse_case("outlook_original_message", NULL);

    g_assert_cmpstr(msg->text, ==, "Approved. Please go ahead with 12 units.\n\nKaren");
    g_assert_true(g_str_has_prefix(msg->quoted, "-----Original Message-----\nFrom: Sales"));
    mime_message_free(msg);
    msg = parse_string("From: a@example.com\nSubject: RE: x\n\nYes, Tuesday works.\n\n"
                       "________________________________\n"
                       "From: Sales <sales@example.com>\nSent: Monday, June 10, 2024 9:00\n"
                       "To: A <a@example.com>\nSubject: x\n\nDoes Tuesday work?\n",
                       NULL);
    g_assert_cmpstr(msg->text, ==, "Yes, Tuesday works.");
    g_assert_true(g_str_has_prefix(msg->quoted, "________________________________\nFrom: Sales"));
    mime_message_free(msg);
    msg = parse_case("outlook_html_cp1252", NULL);
    g_assert_true(g_str_has_suffix(msg->text, "Accounts Payable | Contoso GmbH"));
    g_assert_true(g_str_has_prefix(msg->quoted, "From: Billing <billing@example.com>\nSent:"));
    mime_message_free(msg);
}

static void test_html_blockquote_set_apart(void)
{
    struct mime_message *msg = parse_case("html_gmail_quote", NULL);

    g_assert_cmpstr(msg->quoted, ==,
                    "On Sun, Jun 9, 2024 at 9:00 AM Support <support@example.com> wrote:\n"
                    "> Is it fixed now?\n>\n> Support team");
    mime_message_free(msg);
}

static void test_signature_set_apart(void)
{
    struct mime_message *msg = parse_case("signature", NULL);

    g_assert_cmpstr(msg->text, ==, "Please delete my account and all data you hold about me.");
    g_assert_cmpstr(msg->quoted, ==, "-- \nBob Miller\nMiller & Sons Ltd. | +44 20 7946 0000");
    mime_message_free(msg);
}

static void test_interleaved_reply_kept_in_text(void)
{
    struct mime_message *msg = parse_case("inline_reply", NULL);

    g_assert_null(msg->quoted);
    g_assert_true(g_str_has_suffix(msg->text, "Yes, right after it."));
    mime_message_free(msg);
}

static void test_forward_kept_in_text(void)
{
    struct mime_message *msg = parse_case("gmail_forward_inline", NULL);

    g_assert_null(msg->quoted);
    g_assert_true(g_str_has_suffix(msg->text, "The product stopped working after two days."));
    mime_message_free(msg);
    msg = parse_string("From: a@example.com\nSubject: FW: order\n\nSee below.\n\n"
                       "From: C <c@example.net>\nSent: Monday\nTo: a@example.com\n"
                       "Subject: order\n\nWhere is my order?\n",
                       NULL);
    g_assert_null(msg->quoted);
    g_assert_true(g_str_has_suffix(msg->text, "Where is my order?"));
    mime_message_free(msg);
}

static void test_only_history_kept_in_text(void)
{
    struct mime_message *msg = parse_string("From: a@example.com\n\n> all quoted\n> here\n", NULL);

    g_assert_cmpstr(msg->text, ==, "> all quoted\n> here");
    g_assert_null(msg->quoted);
    mime_message_free(msg);
}

/* ---- caps and hostile input ---- */

static void test_text_capped_at_utf8_boundary(void)
{
    static const char *const characters[] = {"\u00e9", "\u20ac", "\U0001F600"};
    struct mime_limits limits;

    mime_limits_default(&limits);
    for (size_t c = 0; c < G_N_ELEMENTS(characters); c++) {
        GString *raw = g_string_new("From: a@example.com\nContent-Type: text/plain; "
                                    "charset=utf-8\n\n");
        struct mime_message *msg;

        while (raw->len < 200 * 1024)
            g_string_append(raw, characters[c]);
        limits.max_text = 1001;
        msg = parse_len(raw->str, raw->len, &limits);
        assert_well_formed(msg);
        g_assert_true(msg->text_truncated);
        g_assert_cmpuint(strlen(msg->text), >, 1001 - strlen(characters[c]));
        mime_message_free(msg);
        limits.max_text = 64 * 1024;
        msg = parse_len(raw->str, raw->len, &limits);
        assert_well_formed(msg);
        g_assert_true(msg->text_truncated);
        mime_message_free(msg);
        g_string_free(raw, TRUE);
    }
}

static void test_html_capped(void)
{
    GString *raw = g_string_new("From: a@example.com\nContent-Type: text/html\n\n<html><body>");
    struct mime_limits limits;
    struct mime_message *msg;

    mime_limits_default(&limits);
    limits.max_text = 5000;
    while (raw->len < 300 * 1024)
        g_string_append(raw, "<p style=\"margin:0\">Line with &amp; entity \u00e9</p>\n");
    msg = parse_len(raw->str, raw->len, &limits);
    assert_well_formed(msg);
    g_assert_true(msg->text_truncated);
    g_assert_true(msg->text_from_html);
    g_assert_true(g_str_has_prefix(msg->text, "Line with & entity \u00e9\nLine with"));
    mime_message_free(msg);
    g_string_free(raw, TRUE);
}

static void test_text_and_quoted_capped_together(void)
{
    GString *raw = g_string_new("From: a@example.com\n\nShort answer.\n\nOn Monday, B wrote:\n");
    struct mime_limits limits;
    struct mime_message *msg;

    while (raw->len < 100 * 1024)
        g_string_append(raw, "> an old line of quoted history\n");
    mime_limits_default(&limits);
    limits.max_text = 1000;
    msg = parse_len(raw->str, raw->len, &limits);
    assert_well_formed(msg);
    g_assert_true(msg->text_truncated);
    g_assert_cmpstr(msg->text, ==, "Short answer.");
    g_assert_true(g_str_has_prefix(msg->quoted, "On Monday, B wrote:\n> an old line"));
    mime_message_free(msg);
    g_string_free(raw, TRUE);
}

static GString *nested_message(unsigned depth)
{
    GString *raw = g_string_new("From: a@example.com\nSubject: deep\nMIME-Version: 1.0\n");

    for (unsigned i = 0; i < depth; i++)
        g_string_append_printf(raw, "Content-Type: multipart/mixed; boundary=\"b%u\"\n\n--b%u\n", i,
                               i);
    g_string_append(raw, "Content-Type: text/plain\n\ndeep text\n");
    for (unsigned i = depth; i-- > 0;)
        g_string_append_printf(raw, "--b%u--\n", i);
    return raw;
}

static void test_deep_nesting_bounded(void)
{
    GString *deep = nested_message(100), *shallow = nested_message(20);
    struct mime_message *msg = parse_len(deep->str, deep->len, NULL);

    assert_well_formed(msg);
    g_assert_true(msg->parts_truncated);
    g_assert_cmpstr(msg->text, ==, "");
    mime_message_free(msg);
    msg = parse_len(shallow->str, shallow->len, NULL);
    g_assert_false(msg->parts_truncated);
    g_assert_cmpstr(msg->text, ==, "deep text");
    mime_message_free(msg);
    g_string_free(deep, TRUE);
    g_string_free(shallow, TRUE);
}

static void test_many_parts_bounded(void)
{
    GString *raw = g_string_new("From: a@example.com\nMIME-Version: 1.0\n"
                                "Content-Type: multipart/mixed; boundary=\"many\"\n\n"
                                "--many\nContent-Type: text/plain\n\nthe body\n");
    struct mime_message *msg;

    for (int i = 0; i < 500; i++)
        g_string_append_printf(raw,
                               "--many\nContent-Type: application/octet-stream\n"
                               "Content-Disposition: attachment; filename=\"f%d.bin\"\n\n"
                               "data %d\n",
                               i, i);
    g_string_append(raw, "--many--\n");
    msg = parse_len(raw->str, raw->len, NULL);
    assert_well_formed(msg);
    g_assert_true(msg->parts_truncated);
    g_assert_true(msg->attachments_truncated);
    g_assert_cmpuint(msg->attachments->len, ==, 50);
    g_assert_cmpstr(msg->text, ==, "the body");
    g_assert_cmpstr(attachment(msg, 49)->filename, ==, "f49.bin");
    mime_message_free(msg);
    g_string_free(raw, TRUE);
}

static void test_empty_message_rejected(void)
{
    struct mime_limits limits;
    struct mime_message *msg = NULL;
    char *error = NULL;

    mime_limits_default(&limits);
    g_assert_cmpint(mime_parse("", 0, &limits, &msg, &error), ==, -1);
    g_assert_null(msg);
    g_assert_cmpstr(error, ==, "empty message");
    g_free(error);
}

static void test_garbage_rejected_with_reason(void)
{
    static const char garbage[] = "\x00\x01\x02\xff\xfe\x89PNG\r\n\x1a\n\x00\x00";
    static const char *const texts[] = {"just a line of text\nand another\n", "\n\nbody only\n"};
    struct mime_limits limits;
    struct mime_message *msg = NULL;
    char *error = NULL;

    mime_limits_default(&limits);
    g_assert_cmpint(mime_parse(garbage, sizeof garbage - 1, &limits, &msg, &error), ==, -1);
    g_assert_null(msg);
    g_assert_nonnull(strstr(error, "no header"));
    g_clear_pointer(&error, g_free);
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        g_assert_cmpint(mime_parse(texts[i], strlen(texts[i]), &limits, &msg, &error), ==, -1);
        g_assert_nonnull(error);
        g_clear_pointer(&error, g_free);
    }
}

/* Truncations and byte flips of every golden input: never a crash, always the promises. */
static void test_hostile_inputs_never_crash(void)
{
    GRand *rand = g_rand_new_with_seed(20240603);
    struct mime_limits limits;

    mime_limits_default(&limits);
    limits.max_text = 2048;
    limits.max_attachment_text = 512;
    for (size_t c = 0; c < G_N_ELEMENTS(golden_cases); c++) {
        GBytes *bytes = read_case(golden_cases[c]);
        gsize len;
        const char *orig = g_bytes_get_data(bytes, &len);

        for (int round = 0; round < 60; round++) {
            char *copy = g_memdup2(orig, len);
            size_t cut = round < 20 ? len * round / 20 : len;
            struct mime_message *msg = NULL;
            char *error = NULL;

            for (int flips = round < 20 ? 0 : 1 + round % 8; flips > 0; flips--)
                copy[g_rand_int_range(rand, 0, len)] = (char)g_rand_int_range(rand, 0, 256);
            if (mime_parse(copy, cut, &limits, &msg, &error) == 0) {
                char *text = dump(msg);

                assert_well_formed(msg);
                g_assert_true(g_utf8_validate(text, -1, NULL));
                g_free(text);
                mime_message_free(msg);
            } else {
                g_assert_nonnull(error);
                g_free(error);
            }
            g_free(copy);
        }
        g_bytes_unref(bytes);
    }
    g_rand_free(rand);
}

/* ---- threads ---- */

static gpointer parse_all_cases(gpointer data)
{
    char **expected = data;
    unsigned failures = 0;

    for (int round = 0; round < THREAD_ROUNDS; round++)
        for (size_t c = 0; c < G_N_ELEMENTS(golden_cases); c++) {
            struct mime_message *msg = parse_case(golden_cases[c], NULL);
            char *text = dump(msg);

            failures += strcmp(text, expected[c]) != 0;
            g_free(text);
            mime_message_free(msg);
        }
    return GUINT_TO_POINTER(failures);
}

static void test_parse_is_thread_safe(void)
{
    char *expected[G_N_ELEMENTS(golden_cases)];
    GThread *threads[THREADS];

    for (size_t c = 0; c < G_N_ELEMENTS(golden_cases); c++) {
        struct mime_message *msg = parse_case(golden_cases[c], NULL);

        expected[c] = dump(msg);
        mime_message_free(msg);
    }
    for (int i = 0; i < THREADS; i++)
        threads[i] = g_thread_new("mime_test", parse_all_cases, expected);
    for (int i = 0; i < THREADS; i++)
        g_assert_cmpuint(GPOINTER_TO_UINT(g_thread_join(threads[i])), ==, 0);
    for (size_t c = 0; c < G_N_ELEMENTS(golden_cases); c++)
        g_free(expected[c]);
}

int main(int argc, char **argv)
{
    int status;

    g_test_init(&argc, &argv, NULL);
    g_mime_init();
    for (size_t c = 0; c < G_N_ELEMENTS(golden_cases); c++) {
        char *path = g_strdup_printf("/mime/golden/%s", golden_cases[c]);

        g_test_add_data_func(path, golden_cases[c], test_golden);
        g_free(path);
    }
    g_test_add_func("/mime/prefers_text_plain_in_alternative",
                    test_prefers_text_plain_in_alternative);
    g_test_add_func("/mime/html_only_converted_to_text", test_html_only_converted_to_text);
    g_test_add_func("/mime/html_entities_lists_and_scripts", test_html_entities_lists_and_scripts);
    g_test_add_func("/mime/html_edge_cases", test_html_edge_cases);
    g_test_add_func("/mime/latin1_converted_to_utf8", test_latin1_converted_to_utf8);
    g_test_add_func("/mime/windows1252_punctuation", test_windows1252_punctuation);
    g_test_add_func("/mime/bad_charset_still_valid_utf8", test_bad_charset_still_valid_utf8);
    g_test_add_func("/mime/base64_and_qp_decoded", test_base64_and_qp_decoded);
    g_test_add_func("/mime/flowed_text_joined", test_flowed_text_joined);
    g_test_add_func("/mime/bare_lf_message", test_bare_lf_message);
    g_test_add_func("/mime/empty_plain_twin_falls_back_to_html",
                    test_empty_plain_twin_falls_back_to_html);
    g_test_add_func("/mime/no_body_gives_empty_text", test_no_body_gives_empty_text);
    g_test_add_func("/mime/list_footer_does_not_replace_html_body",
                    test_list_footer_does_not_replace_html_body);
    g_test_add_func("/mime/rfc2047_subject_decoded", test_rfc2047_subject_decoded);
    g_test_add_func("/mime/addresses_and_ids_normalised", test_addresses_and_ids_normalised);
    g_test_add_func("/mime/header_injection_controls_removed",
                    test_header_injection_controls_removed);
    g_test_add_func("/mime/header_capped_at_utf8_boundary", test_header_capped_at_utf8_boundary);
    g_test_add_func("/mime/header_all_in_order", test_header_all_in_order);
    g_test_add_func("/mime/attachments_listed", test_attachments_listed);
    g_test_add_func("/mime/small_text_attachment_extracted", test_small_text_attachment_extracted);
    g_test_add_func("/mime/forwarded_rfc822_is_attachment", test_forwarded_rfc822_is_attachment);
    g_test_add_func("/mime/inline_parts_after_body_listed", test_inline_parts_after_body_listed);
    g_test_add_func("/mime/quoted_history_set_apart", test_quoted_history_set_apart);
    g_test_add_func("/mime/outlook_history_set_apart", test_outlook_history_set_apart);
    g_test_add_func("/mime/html_blockquote_set_apart", test_html_blockquote_set_apart);
    g_test_add_func("/mime/signature_set_apart", test_signature_set_apart);
    g_test_add_func("/mime/interleaved_reply_kept_in_text", test_interleaved_reply_kept_in_text);
    g_test_add_func("/mime/forward_kept_in_text", test_forward_kept_in_text);
    g_test_add_func("/mime/only_history_kept_in_text", test_only_history_kept_in_text);
    g_test_add_func("/mime/text_capped_at_utf8_boundary", test_text_capped_at_utf8_boundary);
    g_test_add_func("/mime/html_capped", test_html_capped);
    g_test_add_func("/mime/text_and_quoted_capped_together", test_text_and_quoted_capped_together);
    g_test_add_func("/mime/deep_nesting_bounded", test_deep_nesting_bounded);
    g_test_add_func("/mime/many_parts_bounded", test_many_parts_bounded);
    g_test_add_func("/mime/empty_message_rejected", test_empty_message_rejected);
    g_test_add_func("/mime/garbage_rejected_with_reason", test_garbage_rejected_with_reason);
    g_test_add_func("/mime/hostile_inputs_never_crash", test_hostile_inputs_never_crash);
    g_test_add_func("/mime/parse_is_thread_safe", test_parse_is_thread_safe);
    status = g_test_run();
    g_mime_shutdown();
    return status;
}
