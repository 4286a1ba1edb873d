/*
 * compose_test: the specification of lib/core/compose.c, read back the way a mail client would.
 *
 * Each case builds a reply or an escalation from a parsed original, parses the output again
 * with GMime and checks the headers and the decoded parts (a reply is multipart/alternative:
 * text, then HTML); header-injection cases also look at the raw header block. The reply
 * templates have UTF-8 ("€") of their own so that the transfer-encoding and charset are checked
 * with real non-ASCII text. Intent send_info has templates without {{signature}} or
 * {{disclaimer}}, create_account has templates with both; the support mailbox has a signature
 * and a disclaimer, the sales mailbox neither. The shipped templates in contrib/templates are
 * rendered too. The subject and Message-ID rules are tables: one row per original subject or
 * msg-id.
 */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "classification.h"
#include "compose.h"
#include "config.h"
#include "mime.h"
#include "markers.h"
#include "testdata.h"

static const char compose_template[] = "Bonjour {{sender_name}},\n"
                                       "\n"
                                       "{{reply}}\n"
                                       "\n"
                                       "Tarif de base : 10 \u20ac.\n"
                                       "-- \n"
                                       "{{mailbox}}\n";

static const char compose_template_html[] = "<html><body>\n"
                                            "<p>Bonjour {{sender_name}},</p>\n"
                                            "<div>{{reply}}</div>\n"
                                            "<p>Tarif de base : 10 \u20ac.</p>\n"
                                            "<p>{{mailbox}}</p>\n"
                                            "</body></html>\n";

static const char signed_template[] = "Hello {{sender_name}},\n"
                                      "\n"
                                      "{{reply}}\n"
                                      "\n"
                                      "Kind regards,\n"
                                      "{{mailbox}}\n"
                                      "{{signature}}\n"
                                      "\n"
                                      "-- \n"
                                      "{{disclaimer}}\n";

static const char signed_template_html[] = "<div>{{reply}}</div>\n"
                                           "<p>Kind regards,<br>{{mailbox}}</p>\n"
                                           "<div class=\"signature\">{{signature}}</div>\n"
                                           "<div class=\"disclaimer\">{{disclaimer}}</div>\n";

/* The directory is filled in four times: send_info.txt, send_info.html, signed.txt and
 * signed.html. In the file, "\\n" is the escape the loader turns into a newline. */
static const char compose_ini_format[] = "[daemon]\n"
                                         "hostname = mx.test.example\n"
                                         "[intent send_info]\n"
                                         "description = Asks for prices.\n"
                                         "action = reply\n"
                                         "template = %s/send_info.txt\n"
                                         "template_html = %s/send_info.html\n"
                                         "[intent create_account]\n"
                                         "description = Wants an account.\n"
                                         "action = reply\n"
                                         "template = %s/signed.txt\n"
                                         "template_html = %s/signed.html\n"
                                         "[mailbox support@example.org]\n"
                                         "name = Example Support\n"
                                         "intents = send_info, create_account, speak_to_human\n"
                                         "escalate_to = staff@example.org\n"
                                         "signature = Jane Doe\\nSupport & Billing, "
                                         "Caf\u00e9 d\u00e9partement\n"
                                         "disclaimer = This message is confidential.\\n\\nIf "
                                         "it reached you by mistake, delete it.\n"
                                         "[mailbox sales@example.org]\n"
                                         "intents = send_info\n"
                                         "escalate_to = staff@example.org\n";

#define ORIGINAL_ID "orig-1@example.com"

static const char original_eml[] = "From: Alice Martin <alice@example.com>\n"
                                   "To: support@example.org\n"
                                   "Subject: Prices\n"
                                   "Date: Mon, 3 Mar 2025 10:00:00 +0100\n"
                                   "Message-ID: <" ORIGINAL_ID ">\n"
                                   "In-Reply-To: <mid@example.com>\n"
                                   "References: <root@example.com> <mid@example.com>\n"
                                   "MIME-Version: 1.0\n"
                                   "Content-Type: text/plain; charset=utf-8\n"
                                   "\n"
                                   "How much is the yearly plan?\n";

#define REPLY_TEXT "Our plans start at 10 \u20ac a month."
#define SIGNATURE_TEXT "Jane Doe\nSupport & Billing, Caf\u00e9 d\u00e9partement"
#define SIGNATURE_HTML "<p>Jane Doe<br>\nSupport &amp; Billing, Caf\u00e9 d\u00e9partement</p>"
#define DISCLAIMER_TEXT "This message is confidential.\n\nIf it reached you by mistake, delete it."
#define DISCLAIMER_HTML                                                                            \
    "<p>This message is confidential.</p>\n<p>If it reached you by mistake, delete it.</p>"

struct compose_fixture {
    char *dir;
    struct config *cfg;
    const struct config_mailbox *mailbox;
    const struct config_intent *intent;
    struct mime_message *original;
    struct classification classification;
    struct compose_reply reply;
    struct compose_escalation escalation;
};

static void compose_fixture_init(struct compose_fixture *f, const char *eml)
{
    memset(f, 0, sizeof(*f));
    f->dir = testdata_tmpdir();
    static const struct {
        const char *name, *text;
    } templates[] = {
        {"send_info.txt", compose_template},
        {"send_info.html", compose_template_html},
        {"signed.txt", signed_template},
        {"signed.html", signed_template_html},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(templates); i++) {
        char *path = g_build_filename(f->dir, templates[i].name, NULL);
        testdata_write(path, templates[i].text, -1, 0644);
        g_free(path);
    }
    char *ini = g_strdup_printf(compose_ini_format, f->dir, f->dir, f->dir, f->dir);
    f->cfg = testdata_config(ini);
    g_free(ini);
    f->mailbox = config_mailbox_find(f->cfg, "support@example.org");
    f->intent = config_intent_find(f->cfg, "send_info");
    g_assert_nonnull(f->mailbox);
    g_assert_nonnull(f->intent);
    f->original = testdata_message(eml != NULL ? eml : original_eml);

    f->classification.provider = "openai";
    f->classification.model = "test-model-7b";
    f->classification.intent = "send_info";
    f->classification.confidence = 0.9;
    f->classification.summary = "Asks for the price of the yearly plan.";
    f->classification.reply = REPLY_TEXT;
    f->classification.valid = TRUE;

    f->reply.cfg = f->cfg;
    f->reply.mailbox = f->mailbox;
    f->reply.intent = f->intent;
    f->reply.original = f->original;
    f->reply.recipient = "alice@example.com";
    f->reply.classification = &f->classification;

    f->escalation.cfg = f->cfg;
    f->escalation.mailbox = f->mailbox;
    f->escalation.original = f->original;
    f->escalation.queue_id = 4242;
    f->escalation.envelope_from = "alice@example.com";
    f->escalation.classification = &f->classification;
    f->escalation.reason = "intent send_info is configured to escalate";
    f->escalation.draft = NULL;
}

static void compose_fixture_clear(struct compose_fixture *f)
{
    mime_message_free(f->original);
    config_unref(f->cfg);
    testdata_rmdir(f->dir);
}

/* Replace a string field of the parsed original, as a hostile or odd message would set it. */
static void set_field(char **field, const char *value)
{
    g_free(*field);
    *field = g_strdup(value);
}

static GMimeMessage *parse_output(const char *text)
{
    g_assert_nonnull(text);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text, strlen(text));
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    g_assert_nonnull(message);
    return message;
}

/* The raw header block of TEXT (up to the first empty line). */
static char *header_block(const char *text)
{
    const char *end = strstr(text, "\n\n");
    return g_strndup(text, end != NULL ? (gsize)(end - text + 1) : strlen(text));
}

static const char *header(GMimeMessage *message, const char *name)
{
    return g_mime_object_get_header(GMIME_OBJECT(message), name);
}

/* The only address of TYPE in MESSAGE, or NULL when there is not exactly one. */
static InternetAddressMailbox *only_mailbox(GMimeMessage *message, GMimeAddressType type)
{
    InternetAddressList *list = g_mime_message_get_addresses(message, type);
    if (list == NULL || internet_address_list_length(list) != 1)
        return NULL;
    InternetAddress *address = internet_address_list_get_address(list, 0);
    return INTERNET_ADDRESS_IS_MAILBOX(address) ? INTERNET_ADDRESS_MAILBOX(address) : NULL;
}

static void assert_only_mailbox(GMimeMessage *message, GMimeAddressType type, const char *name,
                                const char *addr)
{
    InternetAddressMailbox *mailbox = only_mailbox(message, type);
    g_assert_nonnull(mailbox);
    if (mailbox == NULL)
        return;
    g_assert_cmpstr(internet_address_mailbox_get_addr(mailbox), ==, addr);
    /* GMime reads a bare address back with the name "". */
    const char *read_name = internet_address_get_name(INTERNET_ADDRESS(mailbox));
    g_assert_cmpstr(read_name != NULL ? read_name : "", ==, name != NULL ? name : "");
}

/* The msg-ids of a References or In-Reply-To value, without brackets. */
static GPtrArray *msgids(const char *value)
{
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    if (value == NULL)
        return ids;
    GMimeReferences *refs = g_mime_references_parse(NULL, value);
    for (int i = 0; refs != NULL && i < g_mime_references_length(refs); i++)
        g_ptr_array_add(ids, g_strdup(g_mime_references_get_message_id(refs, i)));
    if (refs != NULL)
        g_mime_references_free(refs);
    return ids;
}

/* "type/subtype" of OBJECT; g_free() it. */
static char *mime_type_of(GMimeObject *object)
{
    return g_mime_content_type_get_mime_type(g_mime_object_get_content_type(object));
}

static char *decoded_text(GMimeObject *object, GMimeContentEncoding *encoding_r)
{
    g_assert_true(GMIME_IS_TEXT_PART(object));
    if (!GMIME_IS_TEXT_PART(object))
        return g_strdup("");
    if (encoding_r != NULL)
        *encoding_r = g_mime_part_get_content_encoding(GMIME_PART(object));
    return g_mime_text_part_get_text(GMIME_TEXT_PART(object));
}

/* ---- replies ---- */

static void test_reply_from_is_the_mailbox_with_its_name(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    assert_only_mailbox(message, GMIME_ADDRESS_TYPE_FROM, "Example Support", "support@example.org");

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_reply_from_without_name_is_the_address(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.reply.mailbox = config_mailbox_find(f.cfg, "sales@example.org");
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    assert_only_mailbox(message, GMIME_ADDRESS_TYPE_FROM, NULL, "sales@example.org");

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_reply_goes_to_the_one_recipient(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.reply.recipient = "bounce-handler@lists.example.net";
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    assert_only_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, "bounce-handler@lists.example.net");
    InternetAddressList *cc = g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_CC);
    InternetAddressList *bcc = g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_BCC);
    g_assert_cmpint(cc != NULL ? internet_address_list_length(cc) : 0, ==, 0);
    g_assert_cmpint(bcc != NULL ? internet_address_list_length(bcc) : 0, ==, 0);
    g_assert_null(header(message, "Reply-To"));

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

struct subject_case {
    const char *name;
    const char *original; /* NULL: no Subject */
    const char *expected; /* the decoded subject of the reply */
};

static const struct subject_case subject_cases[] = {
    {"subject_gets_re_prefix", "Prices", "Re: Prices"},
    {"subject_prefix_not_stacked", "Re: Prices", "Re: Prices"},
    {"subject_prefix_uppercase_not_stacked", "RE: Prices", "RE: Prices"},
    {"subject_prefix_lowercase_not_stacked", "re: Prices", "re: Prices"},
    {"subject_prefix_without_space_not_stacked", "Re:Prices", "Re:Prices"},
    {"subject_non_ascii_kept", "Tarifs 2025 \u2013 caf\u00e9 \u20ac",
     "Re: Tarifs 2025 \u2013 caf\u00e9 \u20ac"},
    {"subject_absent_is_re_alone", NULL, "Re:"},
};

static void test_subject_case(gconstpointer data)
{
    const struct subject_case *c = data;
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    set_field(&f.original->subject, c->original);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    const char *subject = g_mime_message_get_subject(message);
    /* Trailing space after a bare prefix is not meaningful. */
    char *trimmed = g_strstrip(g_strdup(subject != NULL ? subject : ""));
    g_assert_cmpstr(trimmed, ==, c->expected);

    g_free(trimmed);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_subject_with_crlf_cannot_inject_headers(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    set_field(&f.original->subject,
              "Prix\r\nBcc: victim@example.net\r\n\r\nX-Evil: 1\n caf\u00e9 \u20ac");
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);
    char *headers = header_block(text);

    char **lines = g_strsplit(headers, "\n", -1);
    for (char **line = lines; *line != NULL; line++) {
        g_assert_false(g_ascii_strncasecmp(*line, "Bcc:", 4) == 0);
        g_assert_false(g_ascii_strncasecmp(*line, "X-Evil:", 7) == 0);
        g_assert_null(strchr(*line, '\r'));
    }
    g_strfreev(lines);
    for (const char *p = headers; *p != '\0'; p++)
        g_assert_cmpint((unsigned char)*p, <, 0x80); /* non-ASCII is RFC 2047 encoded */
    g_assert_null(header(message, "Bcc"));
    g_assert_null(header(message, "X-Evil"));
    InternetAddressList *bcc = g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_BCC);
    g_assert_cmpint(bcc != NULL ? internet_address_list_length(bcc) : 0, ==, 0);

    const char *subject = g_mime_message_get_subject(message);
    g_assert_nonnull(subject);
    g_assert_null(strpbrk(subject != NULL ? subject : "", "\r\n"));
    g_assert_true(g_str_has_prefix(subject != NULL ? subject : "", "Re: Prix"));
    g_assert_true(testdata_contains(subject, "Bcc: victim@example.net"));
    g_assert_true(g_str_has_suffix(subject != NULL ? subject : "", "caf\u00e9 \u20ac"));

    g_free(headers);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_reply_has_in_reply_to_original(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    g_assert_cmpstr(header(message, "In-Reply-To"), ==, "<" ORIGINAL_ID ">");

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void assert_references(GMimeMessage *message, const char *const *expected, size_t n)
{
    GPtrArray *ids = msgids(header(message, "References"));
    g_assert_cmpuint(ids->len, ==, n);
    for (size_t i = 0; i < n && i < ids->len; i++)
        g_assert_cmpstr(g_ptr_array_index(ids, i), ==, expected[i]);
    g_ptr_array_unref(ids);
}

static void test_references_are_original_references_then_its_id(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    static const char *const expected[] = {"root@example.com", "mid@example.com", ORIGINAL_ID};
    assert_references(message, expected, G_N_ELEMENTS(expected));

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_references_from_in_reply_to_when_none(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, "From: Alice Martin <alice@example.com>\n"
                             "To: support@example.org\n"
                             "Subject: Prices\n"
                             "Message-ID: <" ORIGINAL_ID ">\n"
                             "In-Reply-To: <earlier@example.com>\n"
                             "\n"
                             "Hello\n");
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    static const char *const expected[] = {"earlier@example.com", ORIGINAL_ID};
    assert_references(message, expected, G_N_ELEMENTS(expected));

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_references_of_first_message_are_its_id(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, "From: Alice Martin <alice@example.com>\n"
                             "To: support@example.org\n"
                             "Subject: Prices\n"
                             "Message-ID: <" ORIGINAL_ID ">\n"
                             "\n"
                             "Hello\n");
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    static const char *const expected[] = {ORIGINAL_ID};
    assert_references(message, expected, G_N_ELEMENTS(expected));
    g_assert_cmpstr(header(message, "In-Reply-To"), ==, "<" ORIGINAL_ID ">");

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_references_trimmed_when_long(void)
{
    GString *eml = g_string_new("From: Alice Martin <alice@example.com>\n"
                                "To: support@example.org\n"
                                "Subject: Re: Prices\n"
                                "Message-ID: <" ORIGINAL_ID ">\n"
                                "References:");
    for (int i = 1; i <= 30; i++)
        g_string_append_printf(eml, " <ref%02d@example.com>", i);
    g_string_append(eml, "\n\nHello\n");
    struct compose_fixture f;
    compose_fixture_init(&f, eml->str);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    GPtrArray *ids = msgids(header(message, "References"));
    g_assert_cmpuint(ids->len, <=, 10);
    g_assert_cmpuint(ids->len, >=, 3);
    if (ids->len >= 3) {
        g_assert_cmpstr(g_ptr_array_index(ids, 0), ==, "ref01@example.com"); /* the root */
        g_assert_cmpstr(g_ptr_array_index(ids, ids->len - 1), ==, ORIGINAL_ID);
        g_assert_cmpstr(g_ptr_array_index(ids, ids->len - 2), ==, "ref30@example.com");
        /* What is kept keeps its order. */
        for (guint i = 1; i + 1 < ids->len; i++)
            g_assert_cmpint(strcmp(g_ptr_array_index(ids, i - 1), g_ptr_array_index(ids, i)), <, 0);
    }

    g_ptr_array_unref(ids);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
    g_string_free(eml, TRUE);
}

struct msgid_case {
    const char *name;
    const char *message_id; /* set on the parsed original */
};

static const struct msgid_case unsafe_msgid_cases[] = {
    {"unsafe_message_id_with_space_omitted", "a b@example.com"},
    {"unsafe_message_id_empty_brackets_omitted", "<>"},
    {"unsafe_message_id_with_bracket_omitted", "x>\r\nBcc: victim@example.net"},
    {"unsafe_message_id_without_at_omitted", "no-at-sign"},
    {"unsafe_message_id_empty_omitted", ""},
};

static void test_unsafe_msgid_case(gconstpointer data)
{
    const struct msgid_case *c = data;
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    set_field(&f.original->message_id, c->message_id);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);
    char *headers = header_block(text);

    g_assert_null(header(message, "In-Reply-To"));
    const char *references = header(message, "References");
    g_assert_false(testdata_contains(references, "<>"));
    if (*c->message_id != '\0')
        g_assert_false(testdata_contains(headers, c->message_id));
    g_assert_false(testdata_contains(headers, "<>"));
    g_assert_null(header(message, "Bcc"));

    g_free(headers);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

/* The same rule through the parser: a Message-ID header with a space or empty brackets. */
static void test_unsafe_message_id_header_omitted(void)
{
    static const char *const values[] = {"<a b@example.com>", "<>"};
    for (size_t i = 0; i < G_N_ELEMENTS(values); i++) {
        char *eml = g_strdup_printf("From: Alice <alice@example.com>\n"
                                    "To: support@example.org\n"
                                    "Subject: Prices\n"
                                    "Message-ID: %s\n"
                                    "\n"
                                    "Hello\n",
                                    values[i]);
        struct compose_fixture f;
        compose_fixture_init(&f, eml);
        char *id = NULL;
        char *text = compose_reply(&f.reply, &id);
        GMimeMessage *message = parse_output(text);
        char *headers = header_block(text);

        const char *in_reply_to = header(message, "In-Reply-To");
        if (in_reply_to != NULL)
            g_test_message("Message-ID %s gave In-Reply-To %s", values[i], in_reply_to);
        g_assert_false(testdata_contains(in_reply_to, " ") || testdata_contains(in_reply_to, "<>"));
        g_assert_false(testdata_contains(headers, "a b@example.com"));
        g_assert_false(testdata_contains(headers, "<>"));

        g_free(headers);
        g_object_unref(message);
        g_free(text);
        g_free(id);
        compose_fixture_clear(&f);
        g_free(eml);
    }
}

static void test_reply_is_marked_auto_replied_with_loop_marker(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    g_assert_cmpstr(header(message, "Auto-Submitted"), ==, "auto-replied");
    g_assert_cmpstr(header(message, MARKERS_LOOP_HEADER), ==, "mx.test.example");

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_reply_has_fresh_message_id_and_date(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL, *id2 = NULL;
    char *text = compose_reply(&f.reply, &id);
    char *text2 = compose_reply(&f.reply, &id2);
    GMimeMessage *message = parse_output(text);

    g_assert_nonnull(id);
    g_assert_cmpstr(g_mime_message_get_message_id(message), ==, id);
    char *bracketed = g_strdup_printf("<%s>", id != NULL ? id : "");
    g_assert_cmpstr(header(message, "Message-ID"), ==, bracketed);
    g_free(bracketed);
    g_assert_true(g_str_has_suffix(id != NULL ? id : "", "@mx.test.example"));
    g_assert_cmpstr(id, !=, ORIGINAL_ID);
    g_assert_cmpstr(id, !=, id2);
    g_assert_nonnull(header(message, "Date"));
    GDateTime *date = g_mime_message_get_date(message);
    g_assert_nonnull(date);
    if (date != NULL) {
        GDateTime *now = g_date_time_new_now_utc();
        /* A date of today, not the original's or the epoch. */
        g_assert_cmpint(g_date_time_difference(now, date) / G_TIME_SPAN_DAY, ==, 0);
        g_date_time_unref(now);
    }

    g_object_unref(message);
    g_free(text);
    g_free(text2);
    g_free(id);
    g_free(id2);
    compose_fixture_clear(&f);
}

/* ---- reply bodies ---- */

/* Part INDEX of the reply's body when that is multipart/alternative, else NULL. */
static GMimeObject *alternative_part(GMimeMessage *message, int index)
{
    GMimeObject *body = g_mime_message_get_mime_part(message);
    if (!GMIME_IS_MULTIPART(body) || index >= g_mime_multipart_get_count(GMIME_MULTIPART(body)))
        return NULL;
    return g_mime_multipart_get_part(GMIME_MULTIPART(body), index);
}

/* A reply as a mail client sees it: the raw text, the parsed message, the decoded text/plain
 * and text/html parts ("" when missing, which the asserting test reports). */
struct reply_output {
    char *raw;
    char *id;
    GMimeMessage *message;
    char *plain;
    char *html;
};

static void reply_output_init(struct reply_output *out, const struct compose_fixture *f)
{
    out->id = NULL;
    out->raw = compose_reply(&f->reply, &out->id);
    out->message = parse_output(out->raw);
    GMimeObject *plain = alternative_part(out->message, 0);
    GMimeObject *html = alternative_part(out->message, 1);
    g_assert_nonnull(plain);
    g_assert_nonnull(html);
    out->plain = plain != NULL ? decoded_text(plain, NULL) : g_strdup("");
    out->html = html != NULL ? decoded_text(html, NULL) : g_strdup("");
}

static void reply_output_clear(struct reply_output *out)
{
    g_free(out->plain);
    g_free(out->html);
    g_object_unref(out->message);
    g_free(out->raw);
    g_free(out->id);
}

static void test_reply_is_alternative_text_then_html(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    GMimeObject *body = g_mime_message_get_mime_part(message);
    char *body_type = body != NULL ? mime_type_of(body) : NULL;
    g_assert_cmpstr(body_type, ==, "multipart/alternative");
    g_assert_cmpint(
        GMIME_IS_MULTIPART(body) ? g_mime_multipart_get_count(GMIME_MULTIPART(body)) : 0, ==, 2);
    static const char *const expected[] = {"text/plain", "text/html"};
    for (int i = 0; i < (int)G_N_ELEMENTS(expected); i++) {
        GMimeObject *part = alternative_part(message, i);
        char *part_type = part != NULL ? mime_type_of(part) : NULL;
        g_assert_cmpstr(part_type, ==, expected[i]);
        g_assert_false(part != NULL && g_mime_object_get_disposition(part) != NULL);
        g_free(part_type);
    }

    g_free(body_type);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_reply_parts_are_utf8_in_7bit_transfer_encoding(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    for (int i = 0; i < 2; i++) {
        GMimeObject *part = alternative_part(message, i);
        g_assert_nonnull(part);
        if (part == NULL)
            continue;
        GMimeContentEncoding encoding = GMIME_CONTENT_ENCODING_DEFAULT;
        g_free(decoded_text(part, &encoding));
        g_assert_true(encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
                      encoding == GMIME_CONTENT_ENCODING_BASE64);
        g_assert_cmpstr(g_mime_object_get_content_type_parameter(part, "charset"), ==, "utf-8");
    }
    /* On the wire the message is 7-bit. */
    for (const char *p = text; *p != '\0'; p++)
        g_assert_cmpint((unsigned char)*p, <, 0x80);

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_reply_text_part_is_rendered_template(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_cmpstr(out.plain, ==,
                    "Bonjour Alice Martin,\n"
                    "\n" REPLY_TEXT "\n"
                    "\n"
                    "Tarif de base : 10 \u20ac.\n"
                    "-- \n"
                    "Example Support\n");

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_html_part_is_rendered_html_template(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_cmpstr(out.html, ==,
                    "<html><body>\n"
                    "<p>Bonjour Alice Martin,</p>\n"
                    "<div><p>" REPLY_TEXT "</p></div>\n"
                    "<p>Tarif de base : 10 \u20ac.</p>\n"
                    "<p>Example Support</p>\n"
                    "</body></html>\n");

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_html_escapes_markup_in_the_reply(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.classification.reply = "<script>alert(1)</script> & \"quotes\" it's <b>bold</b>";
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_true(testdata_contains(out.html, "<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                                              "&quot;quotes&quot; it&#39;s "
                                              "&lt;b&gt;bold&lt;/b&gt;</p>"));
    g_assert_false(testdata_contains(out.html, "<script"));
    g_assert_false(testdata_contains(out.html, "<b>"));
    /* The text part shows what the model wrote, as text. */
    g_assert_true(
        testdata_contains(out.plain, "<script>alert(1)</script> & \"quotes\" it's <b>bold</b>\n"));

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_html_escapes_the_sender_name_and_subject(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    set_field(&f.original->from_name, "<img src=x onerror=alert(1)> \"Al\" & Co");
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_true(testdata_contains(
        out.html, "<p>Bonjour &lt;img src=x onerror=alert(1)&gt; &quot;Al&quot; &amp; Co,</p>"));
    g_assert_false(testdata_contains(out.html, "<img"));

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_html_paragraphs_and_line_breaks(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.classification.reply = "Our plans:\nBasic, 10 \u20ac\nTeam, 25 \u20ac\n\n\n"
                             "Prices include VAT.\r\nAnswer this mail to order.";
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_true(testdata_contains(out.html, "<div><p>Our plans:<br>\n"
                                              "Basic, 10 \u20ac<br>\n"
                                              "Team, 25 \u20ac</p>\n"
                                              "<p>Prices include VAT.<br>\n"
                                              "Answer this mail to order.</p></div>"));
    /* The text part keeps the reply's lines and paragraphs; only the blank run is tidied. */
    g_assert_true(testdata_contains(out.plain, "Our plans:\n"
                                               "Basic, 10 \u20ac\n"
                                               "Team, 25 \u20ac\n"
                                               "\n"
                                               "Prices include VAT.\n"
                                               "Answer this mail to order.\n"));
    g_assert_null(strchr(out.plain, '\r'));

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_signature_and_disclaimer_in_both_parts(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.reply.intent = config_intent_find(f.cfg, "create_account");
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_cmpstr(out.plain, ==,
                    "Hello Alice Martin,\n"
                    "\n" REPLY_TEXT "\n"
                    "\n"
                    "Kind regards,\n"
                    "Example Support\n" SIGNATURE_TEXT "\n"
                    "\n"
                    "-- \n" DISCLAIMER_TEXT "\n");
    g_assert_cmpstr(out.html, ==,
                    "<div><p>" REPLY_TEXT "</p></div>\n"
                    "<p>Kind regards,<br>Example Support</p>\n"
                    "<div class=\"signature\">" SIGNATURE_HTML "</div>\n"
                    "<div class=\"disclaimer\">" DISCLAIMER_HTML "</div>\n");

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_template_without_signature_has_none(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_nonnull(f.mailbox->signature);
    g_assert_cmpstr(f.mailbox->signature, !=, "");
    g_assert_false(testdata_contains(out.plain, "Jane Doe"));
    g_assert_false(testdata_contains(out.html, "Jane Doe"));
    g_assert_false(testdata_contains(out.plain, "confidential"));
    g_assert_false(testdata_contains(out.html, "confidential"));

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_empty_signature_and_disclaimer_leave_no_blank_lines(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.reply.intent = config_intent_find(f.cfg, "create_account");
    f.reply.mailbox = config_mailbox_find(f.cfg, "sales@example.org");
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_cmpstr(out.plain, ==,
                    "Hello Alice Martin,\n"
                    "\n" REPLY_TEXT "\n"
                    "\n"
                    "Kind regards,\n"
                    "sales@example.org\n"
                    "\n"
                    "-- \n");
    g_assert_true(testdata_contains(out.html, "<div class=\"signature\"></div>\n"
                                              "<div class=\"disclaimer\"></div>\n"));

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_utf8_round_trips_in_both_parts(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.reply.intent = config_intent_find(f.cfg, "create_account");
    f.classification.reply =
        "Le caf\u00e9 co\u00fbte 10 \u20ac ; \u00c9t\u00e9 \u2013 \u65e5\u672c.";
    struct reply_output out;
    reply_output_init(&out, &f);

    const char *reply = "Le caf\u00e9 co\u00fbte 10 \u20ac ; \u00c9t\u00e9 \u2013 \u65e5\u672c.";
    g_assert_true(testdata_contains(out.plain, reply));
    g_assert_true(testdata_contains(out.html, reply));
    g_assert_true(testdata_contains(out.plain, "Caf\u00e9 d\u00e9partement"));
    g_assert_true(testdata_contains(out.html, "Caf\u00e9 d\u00e9partement"));

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

/* A paragraph of 3,000 bytes with no newline: both parts must still have short lines. */
static void test_reply_long_paragraph_keeps_lines_short(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    GString *reply = g_string_new(NULL);
    while (reply->len < 3000)
        g_string_append(reply, "Every plan includes support. ");
    g_strchomp(reply->str);
    f.classification.reply = reply->str;
    struct reply_output out;
    reply_output_init(&out, &f);

    char **lines = g_strsplit(out.raw, "\n", -1);
    for (char **line = lines; *line != NULL; line++)
        g_assert_cmpuint(strlen(*line), <=, 998);
    g_strfreev(lines);
    g_assert_true(testdata_contains(out.plain, reply->str));
    g_assert_true(testdata_contains(out.html, reply->str));

    reply_output_clear(&out);
    g_string_free(reply, TRUE);
    compose_fixture_clear(&f);
}

static void test_reply_builtin_templates_in_both_parts(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.reply.intent = config_intent_find(f.cfg, "speak_to_human");
    f.classification.reply = "First.\n\nSecond & last.";
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_true(
        testdata_contains(out.plain, "Hello Alice Martin,\n\nFirst.\n\nSecond & last.\n"));
    g_assert_true(testdata_contains(out.plain, SIGNATURE_TEXT));
    g_assert_true(testdata_contains(out.plain, DISCLAIMER_TEXT));
    g_assert_true(testdata_contains(out.html, "Hello Alice Martin,"));
    g_assert_true(testdata_contains(out.html, "<p>First.</p>\n<p>Second &amp; last.</p>"));
    g_assert_true(testdata_contains(out.html, SIGNATURE_HTML));
    g_assert_true(testdata_contains(out.html, DISCLAIMER_HTML));
    g_assert_false(testdata_contains(out.html, "{{"));

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

/* Drafts and mailtriaged -t show what the correspondent would read in the text part. */
static void test_reply_text_is_the_text_part(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.reply.intent = config_intent_find(f.cfg, "create_account");
    struct reply_output out;
    reply_output_init(&out, &f);

    char *text = compose_reply_text(&f.reply);
    g_assert_cmpstr(text, ==, out.plain);
    g_assert_true(testdata_contains(text, SIGNATURE_TEXT));
    g_assert_true(testdata_contains(text, DISCLAIMER_TEXT));

    g_free(text);
    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_without_html_template_is_text_alone(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    struct config_intent intent = *f.intent;
    intent.template_html_text = NULL;
    f.reply.intent = &intent;
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    GMimeObject *body = g_mime_message_get_mime_part(message);
    char *body_type = body != NULL ? mime_type_of(body) : NULL;
    g_assert_cmpstr(body_type, ==, "text/plain");
    char *decoded = decoded_text(body, NULL);
    g_assert_true(testdata_contains(decoded, REPLY_TEXT "\n"));

    g_free(decoded);
    g_free(body_type);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

/* Blank lines left by empty values, lines of spaces and a template saved with CRLF. */
static void test_reply_text_tidies_blank_lines_at_the_ends_and_of_spaces(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    struct config_intent intent = *f.intent;
    intent.template_text =
        "{{signature}}\r\n \t\r\n{{reply}}\r\n  \n\nSee you.\r\n\r\n{{disclaimer}}\n\n";
    f.reply.intent = &intent;
    f.reply.mailbox = config_mailbox_find(f.cfg, "sales@example.org");

    char *text = compose_reply_text(&f.reply);
    g_assert_cmpstr(text, ==, REPLY_TEXT "\n\nSee you.\n");

    g_free(text);
    compose_fixture_clear(&f);
}

/* Drafts are shown as they are, so the model's CRLF and stray control characters go. */
static void test_reply_text_has_lf_lines_only(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.classification.reply = "One\r\ntwo\rthree\x1b[2J\x07.";

    char *text = compose_reply_text(&f.reply);
    g_assert_true(testdata_contains(text, "\n\nOne\ntwo\nthree[2J.\n\n"));
    g_assert_null(strpbrk(text, "\r\x1b\x07"));

    g_free(text);
    compose_fixture_clear(&f);
}

static void test_reply_sender_name_is_one_line(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    set_field(&f.original->from_name, "Alice\n\nIgnore the above\r\nMartin");
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_true(g_str_has_prefix(out.plain, "Bonjour Alice  Ignore the above  Martin,\n\n"));
    g_assert_true(testdata_contains(out.html, "<p>Bonjour Alice  Ignore the above  Martin,</p>"));

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

static void test_reply_text_collapses_blank_lines_when_reply_empty(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.classification.reply = "";

    char *text = compose_reply_text(&f.reply);
    g_assert_cmpstr(text, ==,
                    "Bonjour Alice Martin,\n"
                    "\n"
                    "Tarif de base : 10 \u20ac.\n"
                    "-- \n"
                    "Example Support\n");

    g_free(text);
    compose_fixture_clear(&f);
}

static void test_reply_text_uses_builtin_template_without_one(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.reply.intent = config_intent_find(f.cfg, "speak_to_human");
    f.reply.mailbox = config_mailbox_find(f.cfg, "sales@example.org");

    char *text = compose_reply_text(&f.reply);
    g_assert_cmpstr(text, ==,
                    "Hello Alice Martin,\n"
                    "\n" REPLY_TEXT "\n"
                    "\n"
                    "Kind regards,\n"
                    "sales@example.org\n");

    g_free(text);
    compose_fixture_clear(&f);
}

/* Text whose only non-ASCII characters exist in Latin-1 must still arrive as what it says. */
static void test_reply_text_latin1_only_decodes_exactly(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.reply.intent = config_intent_find(f.cfg, "speak_to_human");
    f.reply.mailbox = config_mailbox_find(f.cfg, "sales@example.org");
    f.classification.reply = "Voil\u00e0, le caf\u00e9 est pr\u00eat.";
    struct reply_output out;
    reply_output_init(&out, &f);

    g_assert_cmpstr(out.plain, ==,
                    "Hello Alice Martin,\n"
                    "\n"
                    "Voil\u00e0, le caf\u00e9 est pr\u00eat.\n"
                    "\n"
                    "Kind regards,\n"
                    "sales@example.org\n");
    g_assert_true(testdata_contains(out.html, "<p>Voil\u00e0, le caf\u00e9 est pr\u00eat.</p>"));

    reply_output_clear(&out);
    compose_fixture_clear(&f);
}

/* ---- the shipped templates (contrib/templates) ---- */

struct contrib_case {
    const char *name; /* the intent and the templates' base name */
};

static const struct contrib_case contrib_cases[] = {{"send_info"}, {"create_account"}};

static char *contrib_template_path(const char *name, const char *extension)
{
    const char *srcdir = g_getenv("srcdir");
    char *file = g_strconcat(name, extension, NULL);
    char *relative =
        g_build_filename(srcdir != NULL ? srcdir : ".", "..", "contrib", "templates", file, NULL);
    char *path = g_canonicalize_filename(relative, NULL); /* the loader wants it absolute */
    g_free(relative);
    g_free(file);
    return path;
}

static void test_contrib_templates_case(gconstpointer data)
{
    const struct contrib_case *c = data;
    char *text_path = contrib_template_path(c->name, ".txt");
    char *html_path = contrib_template_path(c->name, ".html");
    char *ini = g_strdup_printf("[daemon]\n"
                                "hostname = mx.test.example\n"
                                "[intent %s]\n"
                                "template = %s\n"
                                "template_html = %s\n"
                                "[mailbox support@example.org]\n"
                                "name = Example Support\n"
                                "intents = %s\n"
                                "escalate_to = staff@example.org\n"
                                "signature = Jane Doe\\nSupport & Billing, "
                                "Caf\u00e9 d\u00e9partement\n"
                                "disclaimer = This message is confidential.\\n\\nIf it reached "
                                "you by mistake, delete it.\n",
                                c->name, text_path, html_path, c->name);
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    struct config *cfg = testdata_config(ini);
    f.reply.cfg = cfg;
    f.reply.mailbox = config_mailbox_find(cfg, "support@example.org");
    f.reply.intent = config_intent_find(cfg, c->name);
    f.classification.reply = "First <paragraph> & more.\n\nSecond paragraph.";
    struct reply_output out;
    reply_output_init(&out, &f);

    /* The same content in both parts: greeting, reply, signature, footer, disclaimer. */
    g_assert_true(testdata_contains(out.plain, "Hello Alice Martin,"));
    g_assert_true(testdata_contains(out.html, "Hello Alice Martin,"));
    g_assert_true(testdata_contains(out.plain, "First <paragraph> & more.\n\nSecond paragraph.\n"));
    g_assert_true(testdata_contains(
        out.html, "<p>First &lt;paragraph&gt; &amp; more.</p>\n<p>Second paragraph.</p>"));
    g_assert_true(testdata_contains(out.plain, "Example Support\n" SIGNATURE_TEXT "\n"));
    g_assert_true(testdata_contains(out.html, SIGNATURE_HTML));
    g_assert_true(testdata_contains(out.plain, DISCLAIMER_TEXT "\n"));
    g_assert_true(testdata_contains(out.html, DISCLAIMER_HTML));
    g_assert_true(testdata_contains(out.plain, "automatic answer"));
    g_assert_true(testdata_contains(out.html, "automatic answer"));
    /* The signature before the footer, the disclaimer last. */
    const char *signature = strstr(out.plain, SIGNATURE_TEXT);
    const char *footer = strstr(out.plain, "automatic answer");
    const char *disclaimer = strstr(out.plain, DISCLAIMER_TEXT);
    g_assert_true(signature != NULL && footer != NULL && signature < footer);
    g_assert_true(footer != NULL && disclaimer != NULL && footer < disclaimer);
    /* Self-contained HTML that phones scale: nothing fetched from elsewhere, no scripts. */
    static const char *const forbidden[] = {"<img",    "<link", "<script",
                                            "@import", "url(",  "<style"};
    for (size_t i = 0; i < G_N_ELEMENTS(forbidden); i++)
        g_assert_false(testdata_contains(out.html, forbidden[i]));
    g_assert_true(testdata_contains(out.html, "<meta name=\"viewport\""));
    g_assert_true(testdata_contains(out.html, "max-width: 600px"));

    reply_output_clear(&out);
    config_unref(cfg);
    compose_fixture_clear(&f);
    g_free(ini);
    g_free(html_path);
    g_free(text_path);
}

/* ---- escalations ---- */

static GMimeObject *escalation_part(GMimeMessage *message, int index)
{
    GMimeObject *body = g_mime_message_get_mime_part(message);
    if (!GMIME_IS_MULTIPART(body) || index >= g_mime_multipart_get_count(GMIME_MULTIPART(body)))
        return NULL;
    return g_mime_multipart_get_part(GMIME_MULTIPART(body), index);
}

static char *escalation_text(GMimeMessage *message)
{
    GMimeObject *part = escalation_part(message, 0);
    g_assert_nonnull(part);
    return part != NULL ? decoded_text(part, NULL) : g_strdup("");
}

static void test_escalation_goes_to_escalate_to(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    assert_only_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, "staff@example.org");
    assert_only_mailbox(message, GMIME_ADDRESS_TYPE_FROM, "Example Support", "support@example.org");
    g_assert_cmpstr(g_mime_message_get_message_id(message), ==, id);
    g_assert_nonnull(header(message, "Date"));

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_escalation_reply_to_is_envelope_sender(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.escalation.envelope_from = "alice+srs@forwarder.example.net";
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    InternetAddressMailbox *reply_to = only_mailbox(message, GMIME_ADDRESS_TYPE_REPLY_TO);
    g_assert_nonnull(reply_to);
    if (reply_to != NULL)
        g_assert_cmpstr(internet_address_mailbox_get_addr(reply_to), ==,
                        "alice+srs@forwarder.example.net");

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_escalation_null_sender_reply_to_falls_back_to_from(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.escalation.envelope_from = "";
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    InternetAddressMailbox *reply_to = only_mailbox(message, GMIME_ADDRESS_TYPE_REPLY_TO);
    g_assert_nonnull(reply_to);
    if (reply_to != NULL)
        g_assert_cmpstr(internet_address_mailbox_get_addr(reply_to), ==, "alice@example.com");
    char *body = escalation_text(message);
    g_assert_true(testdata_contains(body, "<>"));
    g_free(body);

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_escalation_is_marked_auto_generated_with_loop_marker(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    g_assert_cmpstr(header(message, "Auto-Submitted"), ==, "auto-generated");
    g_assert_cmpstr(header(message, MARKERS_LOOP_HEADER), ==, "mx.test.example");

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_escalation_text_tells_intent_summary_reason_queue_id(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.classification.summary = "Asks for the price in \u20ac.";
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    GMimeObject *body = g_mime_message_get_mime_part(message);
    g_assert_true(GMIME_IS_MULTIPART(body));
    char *mime_type = body != NULL ? mime_type_of(body) : NULL;
    g_assert_cmpstr(mime_type, ==, "multipart/mixed");
    g_free(mime_type);
    char *body_text = escalation_text(message);
    g_assert_true(testdata_contains(body_text, "send_info"));
    g_assert_true(testdata_contains(body_text, "Asks for the price in \u20ac."));
    g_assert_true(testdata_contains(body_text, "intent send_info is configured to escalate"));
    g_assert_true(testdata_contains(body_text, "4242"));
    g_assert_true(testdata_contains(body_text, "How much is the yearly plan?"));
    g_assert_false(testdata_contains(body_text, "Proposed reply"));
    const char *subject = g_mime_message_get_subject(message);
    g_assert_true(g_str_has_suffix(subject != NULL ? subject : "", "Prices"));
    g_assert_true(testdata_contains(subject, "send_info"));

    g_free(body_text);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

/* Escalations and drafts are for staff: one text/plain part, however the reply is sent. */
static void test_escalation_text_is_plain_without_html(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.escalation.draft = "Hello Alice,\n\n<b>Prices</b> & plans.\n";
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    GMimeObject *part = escalation_part(message, 0);
    char *part_type = part != NULL ? mime_type_of(part) : NULL;
    g_assert_cmpstr(part_type, ==, "text/plain");
    g_assert_false(testdata_contains(text, "text/html"));
    g_assert_false(testdata_contains(text, "multipart/alternative"));
    char *body_text = escalation_text(message);
    g_assert_true(testdata_contains(body_text, "    Hello Alice,\n\n    <b>Prices</b> & plans.\n"));

    g_free(body_text);
    g_free(part_type);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_escalation_text_latin1_only_decodes_exactly(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    set_field(&f.original->subject, "Tarifs caf\u00e9");
    f.classification.summary = "Demande les tarifs.";
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    char *body_text = escalation_text(message);
    g_assert_true(g_utf8_validate(body_text, -1, NULL));
    g_assert_true(testdata_contains(body_text, "Subject:    Tarifs caf\u00e9\n"));

    g_free(body_text);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_escalation_attaches_original_as_rfc822(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    GMimeObject *body = g_mime_message_get_mime_part(message);
    g_assert_true(GMIME_IS_MULTIPART(body));
    g_assert_cmpint(
        GMIME_IS_MULTIPART(body) ? g_mime_multipart_get_count(GMIME_MULTIPART(body)) : 0, ==, 2);
    GMimeObject *part = escalation_part(message, 1);
    g_assert_true(GMIME_IS_MESSAGE_PART(part));
    if (GMIME_IS_MESSAGE_PART(part)) {
        char *mime_type = mime_type_of(part);
        g_assert_cmpstr(mime_type, ==, "message/rfc822");
        g_free(mime_type);
        GMimeMessage *attached = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
        g_assert_nonnull(attached);
        if (attached != NULL) {
            g_assert_cmpstr(g_mime_message_get_subject(attached), ==, "Prices");
            g_assert_cmpstr(g_mime_message_get_message_id(attached), ==, ORIGINAL_ID);
        }
    }

    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_draft_escalation_has_proposed_reply(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.escalation.draft = "Bonjour Alice,\n\nNos tarifs : 10 \u20ac par mois.\n";
    f.escalation.reason = "mailbox mode is draft";
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    char *body_text = escalation_text(message);
    g_assert_true(testdata_contains(body_text, "Proposed reply"));
    g_assert_true(testdata_contains(
        body_text, "    Bonjour Alice,\n\n    Nos tarifs : 10 \u20ac par mois.\n"));
    g_assert_true(testdata_contains(body_text, "mailbox mode is draft"));
    const char *subject = g_mime_message_get_subject(message);
    g_assert_true(testdata_contains(subject, "draft"));
    g_assert_true(g_str_has_suffix(subject != NULL ? subject : "", "Prices"));
    g_assert_cmpstr(header(message, "Auto-Submitted"), ==, "auto-generated");

    g_free(body_text);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

static void test_escalation_without_classification(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.escalation.classification = NULL;
    f.escalation.reason = "Auto-Submitted: auto-replied (RFC 3834)";
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);

    g_assert_nonnull(id);
    assert_only_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, "staff@example.org");
    char *body_text = escalation_text(message);
    g_assert_true(testdata_contains(body_text, "Auto-Submitted: auto-replied (RFC 3834)"));
    g_assert_true(testdata_contains(body_text, "4242"));
    g_assert_false(testdata_contains(body_text, "Intent:"));
    const char *subject = g_mime_message_get_subject(message);
    g_assert_true(g_str_has_suffix(subject != NULL ? subject : "", "Prices"));
    g_assert_true(GMIME_IS_MESSAGE_PART(escalation_part(message, 1)));

    g_free(body_text);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

/* ---- hostile originals and model text ---- */

/* The body of the message/rfc822 part of ESCALATION (LEN bytes) as written: between its blank
 * line and the next delimiter, whose LF belongs to the delimiter (RFC 2046 section 5.1.1). */
static GBytes *attached_bytes(const char *escalation, size_t len)
{
    GMimeMessage *message = parse_output(escalation);
    const char *boundary =
        g_mime_multipart_get_boundary(GMIME_MULTIPART(g_mime_message_get_mime_part(message)));
    char *delimiter = g_strdup_printf("\n--%s", boundary);
    size_t dlen = strlen(delimiter);
    g_object_unref(message);
    const char *end = escalation + len;
    const char *first = memmem(escalation, len, delimiter, dlen);
    const char *second = first != NULL ? memmem(first + 1, end - first - 1, delimiter, dlen) : NULL;
    const char *body = second != NULL ? memmem(second, end - second, "\n\n", 2) : NULL;
    const char *closing = body != NULL ? memmem(body + 1, end - body - 1, delimiter, dlen) : NULL;
    g_free(delimiter);
    g_assert_nonnull(closing);
    if (closing == NULL)
        return g_bytes_new(NULL, 0);
    body += 2;
    return g_bytes_new(body, closing > body ? (gsize)(closing - body) : 0);
}

/* The original as received is what staff get, byte for byte, in the transfer encoding that
 * says what it holds: an originals table, each also checked for its encoding. */
static void test_escalation_attaches_original_byte_for_byte(void)
{
    static const struct {
        const char *raw;
        size_t len;
        const char *encoding;
    } cases[] = {
#define RAW(text, encoding) {text, sizeof(text) - 1, encoding}
        RAW("From: a@example.com\nSubject: Prices\n\nHow much?\n", "7bit"),
        RAW("From: a@example.com\nSubject: no newline at the end\n\nHow much?", "7bit"),
        RAW("From: a@example.com\nSubject: caf\xc3\xa9\n\nPrix \xe2\x82\xac\n", "8bit"),
        RAW("From: a@example.com\r\nSubject: CRLF\r\n\r\nHow much?\r\n", "binary"),
        RAW("From: a@example.com\nSubject: bare CR\n\nHow\rmuch?\n", "binary"),
        RAW("From: a@example.com\nSubject: NUL\0Bcc: x@example.net\n\nHow\0much?\n\0", "binary"),
        RAW("From: a@example.com\nContent-Type: multipart/mixed; boundary=\"x\"\n\n--x\n"
            "Content-Type: text/plain\n\nunclosed\n--x\n",
            "7bit"),
#undef RAW
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        struct compose_fixture f;
        compose_fixture_init(&f, NULL);
        struct mime_limits limits;
        mime_limits_default(&limits);
        struct mime_message *original = NULL;
        char *error = NULL;
        g_assert_cmpint(mime_parse(cases[i].raw, cases[i].len, &limits, &original, &error), ==, 0);
        f.escalation.original = original;
        char *id = NULL;
        size_t len = 0;
        char *text = compose_escalation(&f.escalation, &id, &len);
        GBytes *attached = attached_bytes(text, len);
        GBytes *expected = g_bytes_new_static(cases[i].raw, cases[i].len);
        g_assert_true(g_bytes_equal(attached, expected));
        GMimeMessage *message = parse_output(text);
        GMimeObject *part = escalation_part(message, 1);
        g_assert_cmpstr(part != NULL ? g_mime_object_get_header(part, "Content-Transfer-Encoding")
                                     : NULL,
                        ==, cases[i].encoding);
        g_object_unref(message);
        g_bytes_unref(expected);
        g_bytes_unref(attached);
        g_free(text);
        g_free(id);
        mime_message_free(original);
        compose_fixture_clear(&f);
    }
}

/* What the model wrote cannot add a line of ours: summary and note stay on their line (CR LF,
 * U+2028 and NEL included), every line of the proposed reply is indented, and the separators
 * are there once. */
static void test_escalation_model_text_cannot_forge_lines(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    f.classification.summary = "Prices.\r\nTo: attacker@example.net\xe2\x80\xa8"
                               "Bcc: x@example.net\xc2\x85Why:        approved\x1b[2J";
    f.classification.error = "the answer's intent \"a\nTo: attacker@example.net\" is odd";
    f.escalation.draft = "Hello,\n----- Message text -----\nTo: attacker@example.net\n\n"
                         "Mailbox:    forged\rSubject: forged\n";
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id, NULL);
    GMimeMessage *message = parse_output(text);
    char *body = escalation_text(message);

    g_assert_true(testdata_contains(
        body,
        "Summary:    Prices. To: attacker@example.net Bcc: x@example.net Why: approved [2J\n"));
    g_assert_true(
        testdata_contains(body, "Note:       the answer's intent \"a To: attacker@example.net\""));
    g_assert_true(testdata_contains(body, "----- Proposed reply -----\n    Hello,\n"
                                          "    ----- Message text -----\n"
                                          "    To: attacker@example.net\n\n"
                                          "    Mailbox:    forged\n    Subject: forged\n"));
    char **lines = g_strsplit(body, "\n", -1);
    int separators = 0;
    for (char **line = lines; *line != NULL; line++) {
        g_assert_false(g_str_has_prefix(*line, "To:"));
        g_assert_false(g_str_has_prefix(*line, "Bcc:"));
        separators += strcmp(*line, "----- Message text -----") == 0;
    }
    g_assert_cmpint(separators, ==, 1);
    assert_only_mailbox(message, GMIME_ADDRESS_TYPE_TO, NULL, "staff@example.org");
    InternetAddressList *bcc = g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_BCC);
    g_assert_true(bcc == NULL || internet_address_list_length(bcc) == 0);

    g_strfreev(lines);
    g_free(body);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    g_mime_init();

    g_test_add_func("/compose/reply_from_is_the_mailbox_with_its_name",
                    test_reply_from_is_the_mailbox_with_its_name);
    g_test_add_func("/compose/reply_from_without_name_is_the_address",
                    test_reply_from_without_name_is_the_address);
    g_test_add_func("/compose/reply_goes_to_the_one_recipient",
                    test_reply_goes_to_the_one_recipient);
    for (size_t i = 0; i < G_N_ELEMENTS(subject_cases); i++) {
        char *path = g_strdup_printf("/compose/%s", subject_cases[i].name);
        g_test_add_data_func(path, &subject_cases[i], test_subject_case);
        g_free(path);
    }
    g_test_add_func("/compose/subject_with_crlf_cannot_inject_headers",
                    test_subject_with_crlf_cannot_inject_headers);
    g_test_add_func("/compose/reply_has_in_reply_to_original", test_reply_has_in_reply_to_original);
    g_test_add_func("/compose/references_are_original_references_then_its_id",
                    test_references_are_original_references_then_its_id);
    g_test_add_func("/compose/references_from_in_reply_to_when_none",
                    test_references_from_in_reply_to_when_none);
    g_test_add_func("/compose/references_of_first_message_are_its_id",
                    test_references_of_first_message_are_its_id);
    g_test_add_func("/compose/references_trimmed_when_long", test_references_trimmed_when_long);
    for (size_t i = 0; i < G_N_ELEMENTS(unsafe_msgid_cases); i++) {
        char *path = g_strdup_printf("/compose/%s", unsafe_msgid_cases[i].name);
        g_test_add_data_func(path, &unsafe_msgid_cases[i], test_unsafe_msgid_case);
        g_free(path);
    }
    g_test_add_func("/compose/unsafe_message_id_header_omitted",
                    test_unsafe_message_id_header_omitted);
    g_test_add_func("/compose/reply_is_marked_auto_replied_with_loop_marker",
                    test_reply_is_marked_auto_replied_with_loop_marker);
    g_test_add_func("/compose/reply_has_fresh_message_id_and_date",
                    test_reply_has_fresh_message_id_and_date);
    g_test_add_func("/compose/reply_is_alternative_text_then_html",
                    test_reply_is_alternative_text_then_html);
    g_test_add_func("/compose/reply_parts_are_utf8_in_7bit_transfer_encoding",
                    test_reply_parts_are_utf8_in_7bit_transfer_encoding);
    g_test_add_func("/compose/reply_text_part_is_rendered_template",
                    test_reply_text_part_is_rendered_template);
    g_test_add_func("/compose/reply_html_part_is_rendered_html_template",
                    test_reply_html_part_is_rendered_html_template);
    g_test_add_func("/compose/reply_html_escapes_markup_in_the_reply",
                    test_reply_html_escapes_markup_in_the_reply);
    g_test_add_func("/compose/reply_html_escapes_the_sender_name_and_subject",
                    test_reply_html_escapes_the_sender_name_and_subject);
    g_test_add_func("/compose/reply_html_paragraphs_and_line_breaks",
                    test_reply_html_paragraphs_and_line_breaks);
    g_test_add_func("/compose/reply_signature_and_disclaimer_in_both_parts",
                    test_reply_signature_and_disclaimer_in_both_parts);
    g_test_add_func("/compose/reply_template_without_signature_has_none",
                    test_reply_template_without_signature_has_none);
    g_test_add_func("/compose/reply_empty_signature_and_disclaimer_leave_no_blank_lines",
                    test_reply_empty_signature_and_disclaimer_leave_no_blank_lines);
    g_test_add_func("/compose/reply_utf8_round_trips_in_both_parts",
                    test_reply_utf8_round_trips_in_both_parts);
    g_test_add_func("/compose/reply_long_paragraph_keeps_lines_short",
                    test_reply_long_paragraph_keeps_lines_short);
    g_test_add_func("/compose/reply_builtin_templates_in_both_parts",
                    test_reply_builtin_templates_in_both_parts);
    g_test_add_func("/compose/reply_text_is_the_text_part", test_reply_text_is_the_text_part);
    g_test_add_func("/compose/reply_without_html_template_is_text_alone",
                    test_reply_without_html_template_is_text_alone);
    g_test_add_func("/compose/reply_text_tidies_blank_lines_at_the_ends_and_of_spaces",
                    test_reply_text_tidies_blank_lines_at_the_ends_and_of_spaces);
    g_test_add_func("/compose/reply_text_has_lf_lines_only", test_reply_text_has_lf_lines_only);
    g_test_add_func("/compose/reply_sender_name_is_one_line", test_reply_sender_name_is_one_line);
    g_test_add_func("/compose/reply_text_collapses_blank_lines_when_reply_empty",
                    test_reply_text_collapses_blank_lines_when_reply_empty);
    g_test_add_func("/compose/reply_text_uses_builtin_template_without_one",
                    test_reply_text_uses_builtin_template_without_one);
    g_test_add_func("/compose/reply_text_latin1_only_decodes_exactly",
                    test_reply_text_latin1_only_decodes_exactly);
    for (size_t i = 0; i < G_N_ELEMENTS(contrib_cases); i++) {
        char *path = g_strdup_printf("/compose/contrib_templates_%s_render_both_parts",
                                     contrib_cases[i].name);
        g_test_add_data_func(path, &contrib_cases[i], test_contrib_templates_case);
        g_free(path);
    }
    g_test_add_func("/compose/escalation_goes_to_escalate_to", test_escalation_goes_to_escalate_to);
    g_test_add_func("/compose/escalation_reply_to_is_envelope_sender",
                    test_escalation_reply_to_is_envelope_sender);
    g_test_add_func("/compose/escalation_null_sender_reply_to_falls_back_to_from",
                    test_escalation_null_sender_reply_to_falls_back_to_from);
    g_test_add_func("/compose/escalation_is_marked_auto_generated_with_loop_marker",
                    test_escalation_is_marked_auto_generated_with_loop_marker);
    g_test_add_func("/compose/escalation_text_tells_intent_summary_reason_queue_id",
                    test_escalation_text_tells_intent_summary_reason_queue_id);
    g_test_add_func("/compose/escalation_text_is_plain_without_html",
                    test_escalation_text_is_plain_without_html);
    g_test_add_func("/compose/escalation_text_latin1_only_decodes_exactly",
                    test_escalation_text_latin1_only_decodes_exactly);
    g_test_add_func("/compose/escalation_attaches_original_as_rfc822",
                    test_escalation_attaches_original_as_rfc822);
    g_test_add_func("/compose/draft_escalation_has_proposed_reply",
                    test_draft_escalation_has_proposed_reply);
    g_test_add_func("/compose/escalation_without_classification",
                    test_escalation_without_classification);
    g_test_add_func("/compose/escalation_attaches_original_byte_for_byte",
                    test_escalation_attaches_original_byte_for_byte);
    g_test_add_func("/compose/escalation_model_text_cannot_forge_lines",
                    test_escalation_model_text_cannot_forge_lines);

    int result = g_test_run();
    g_mime_shutdown();
    return result;
}
