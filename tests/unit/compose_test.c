/*
 * compose_test: the specification of lib/compose.c, read back the way a mail client would.
 *
 * Each case builds a reply or an escalation from a parsed original, parses the output again
 * with GMime and checks the headers and the decoded text; header-injection cases also look at
 * the raw header block. The reply template has UTF-8 ("€") of its own so that the
 * transfer-encoding and charset are checked with real non-ASCII text. The subject and
 * Message-ID rules are tables: one row per original subject or msg-id.
 */
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "compose.h"
#include "config.h"
#include "llm.h"
#include "mime.h"
#include "policy.h"
#include "testdata.h"

static const char compose_template[] = "Bonjour {{sender_name}},\n"
                                       "\n"
                                       "{{reply}}\n"
                                       "\n"
                                       "Tarif de base : 10 \u20ac.\n"
                                       "-- \n"
                                       "{{mailbox}}\n";

static const char compose_ini_format[] = "[daemon]\n"
                                         "hostname = mx.test.example\n"
                                         "[intent send_info]\n"
                                         "description = Asks for prices.\n"
                                         "action = reply\n"
                                         "template = %s\n"
                                         "[mailbox support@example.org]\n"
                                         "name = Example Support\n"
                                         "intents = send_info, speak_to_human\n"
                                         "escalate_to = staff@example.org\n"
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
    char *template_path = g_build_filename(f->dir, "send_info.txt", NULL);
    testdata_write(template_path, compose_template, -1, 0644);
    char *ini = g_strdup_printf(compose_ini_format, template_path);
    f->cfg = testdata_config(ini);
    g_free(ini);
    g_free(template_path);
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
    g_assert_cmpstr(header(message, POLICY_LOOP_HEADER), ==, "mx.test.example");

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

static void test_reply_text_is_rendered_template_in_utf8(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    GMimeObject *body = g_mime_message_get_mime_part(message);
    GMimeContentEncoding encoding = GMIME_CONTENT_ENCODING_DEFAULT;
    char *decoded = decoded_text(body, &encoding);
    g_assert_true(encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
                  encoding == GMIME_CONTENT_ENCODING_BASE64);
    g_assert_cmpstr(g_mime_object_get_content_type_parameter(body, "charset"), ==, "utf-8");
    g_assert_cmpstr(decoded, ==,
                    "Bonjour Alice Martin,\n"
                    "\n" REPLY_TEXT "\n"
                    "\n"
                    "Tarif de base : 10 \u20ac.\n"
                    "-- \n"
                    "Example Support\n");
    /* On the wire the message is 7-bit. */
    for (const char *p = text; *p != '\0'; p++)
        g_assert_cmpint((unsigned char)*p, <, 0x80);

    g_free(decoded);
    g_object_unref(message);
    g_free(text);
    g_free(id);
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
    char *id = NULL;
    char *text = compose_reply(&f.reply, &id);
    GMimeMessage *message = parse_output(text);

    GMimeObject *body = g_mime_message_get_mime_part(message);
    char *decoded = decoded_text(body, NULL);
    g_assert_cmpstr(decoded, ==,
                    "Hello Alice Martin,\n"
                    "\n"
                    "Voil\u00e0, le caf\u00e9 est pr\u00eat.\n"
                    "\n"
                    "Kind regards,\n"
                    "sales@example.org\n");

    g_free(decoded);
    g_object_unref(message);
    g_free(text);
    g_free(id);
    compose_fixture_clear(&f);
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
    char *text = compose_escalation(&f.escalation, &id);
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
    char *text = compose_escalation(&f.escalation, &id);
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
    char *text = compose_escalation(&f.escalation, &id);
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
    char *text = compose_escalation(&f.escalation, &id);
    GMimeMessage *message = parse_output(text);

    g_assert_cmpstr(header(message, "Auto-Submitted"), ==, "auto-generated");
    g_assert_cmpstr(header(message, POLICY_LOOP_HEADER), ==, "mx.test.example");

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
    char *text = compose_escalation(&f.escalation, &id);
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

static void test_escalation_text_latin1_only_decodes_exactly(void)
{
    struct compose_fixture f;
    compose_fixture_init(&f, NULL);
    set_field(&f.original->subject, "Tarifs caf\u00e9");
    f.classification.summary = "Demande les tarifs.";
    char *id = NULL;
    char *text = compose_escalation(&f.escalation, &id);
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
    char *text = compose_escalation(&f.escalation, &id);
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
    char *text = compose_escalation(&f.escalation, &id);
    GMimeMessage *message = parse_output(text);

    char *body_text = escalation_text(message);
    g_assert_true(testdata_contains(body_text, "Proposed reply"));
    g_assert_true(
        testdata_contains(body_text, "Bonjour Alice,\n\nNos tarifs : 10 \u20ac par mois.\n"));
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
    char *text = compose_escalation(&f.escalation, &id);
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
    g_test_add_func("/compose/reply_text_is_rendered_template_in_utf8",
                    test_reply_text_is_rendered_template_in_utf8);
    g_test_add_func("/compose/reply_text_collapses_blank_lines_when_reply_empty",
                    test_reply_text_collapses_blank_lines_when_reply_empty);
    g_test_add_func("/compose/reply_text_uses_builtin_template_without_one",
                    test_reply_text_uses_builtin_template_without_one);
    g_test_add_func("/compose/reply_text_latin1_only_decodes_exactly",
                    test_reply_text_latin1_only_decodes_exactly);
    g_test_add_func("/compose/escalation_goes_to_escalate_to", test_escalation_goes_to_escalate_to);
    g_test_add_func("/compose/escalation_reply_to_is_envelope_sender",
                    test_escalation_reply_to_is_envelope_sender);
    g_test_add_func("/compose/escalation_null_sender_reply_to_falls_back_to_from",
                    test_escalation_null_sender_reply_to_falls_back_to_from);
    g_test_add_func("/compose/escalation_is_marked_auto_generated_with_loop_marker",
                    test_escalation_is_marked_auto_generated_with_loop_marker);
    g_test_add_func("/compose/escalation_text_tells_intent_summary_reason_queue_id",
                    test_escalation_text_tells_intent_summary_reason_queue_id);
    g_test_add_func("/compose/escalation_text_latin1_only_decodes_exactly",
                    test_escalation_text_latin1_only_decodes_exactly);
    g_test_add_func("/compose/escalation_attaches_original_as_rfc822",
                    test_escalation_attaches_original_as_rfc822);
    g_test_add_func("/compose/draft_escalation_has_proposed_reply",
                    test_draft_escalation_has_proposed_reply);
    g_test_add_func("/compose/escalation_without_classification",
                    test_escalation_without_classification);

    int result = g_test_run();
    g_mime_shutdown();
    return result;
}
