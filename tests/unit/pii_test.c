/*
 * pii_test: the specification of lib/util/pii.h. One row per text: what pii_redact() makes of
 * it with a fresh map. Each kind in its usual forms, then the near misses that must stay:
 * dates, times, version numbers and addresses of the net, amounts, order numbers, numbers in
 * URLs, digits glued to letters, a failed Luhn or IBAN checksum. Then: the same value is one
 * placeholder, pii_restore() gives back the text redacted, and pii_reply_is_safe() refuses
 * the replies a person must see.
 */
#include <string.h>

#include <glib.h>

#include "pii.h"

struct pii_case {
    const char *name;
    const char *text;
    const char *redacted;
};

static const struct pii_case pii_cases[] = {
    /* Mail addresses. */
    {"email_plain", "Write to ann.smith@example.org today.", "Write to [EMAIL_1] today."},
    {"email_in_angle_brackets", "From: Ann <ann+shop@mail.example.co.uk>", "From: Ann <[EMAIL_1]>"},
    {"email_end_of_sentence", "It is bob_99@example.net.", "It is [EMAIL_1]."},
    {"email_mailto", "mailto:carl@example.de", "mailto:[EMAIL_1]"},
    {"email_inside_url", "See https://crm.example/?contact=dana@example.com&x=1",
     "See https://crm.example/?contact=[EMAIL_1]&x=1"},
    {"email_upper_case", "ERIC@EXAMPLE.ORG", "[EMAIL_1]"},
    {"not_email_without_dot_domain", "root@localhost says hi", "root@localhost says hi"},
    {"not_email_numeric_tld", "user@host.123", "user@host.123"},
    {"not_email_bare_at", "meet @ 5 or @home", "meet @ 5 or @home"},

    /* Phone numbers. */
    {"phone_international_spaces", "Call +49 30 1234567.", "Call [PHONE_1]."},
    {"phone_international_trunk_in_parens", "+49 (0)30 123 456 78", "[PHONE_1]"},
    {"phone_international_00", "Tel: 0049 30 1234567", "Tel: [PHONE_1]"},
    {"phone_north_american_parens", "(555) 123-4567 or later", "[PHONE_1] or later"},
    {"phone_north_american_dashes", "at 555-123-4567", "at [PHONE_1]"},
    {"phone_north_american_dots", "at 555.123.4567", "at [PHONE_1]"},
    {"phone_north_american_with_1", "1-800-555-0199", "[PHONE_1]"},
    {"phone_plus_one", "+1 (555) 123-4567", "[PHONE_1]"},
    {"phone_national_german", "mobil 0171 2345678", "mobil [PHONE_1]"},
    {"phone_national_slash", "Tel. 030/1234567", "Tel. [PHONE_1]"},
    {"phone_national_parens", "(030) 123 45 67", "[PHONE_1]"},
    {"phone_national_compact", "0301234567", "[PHONE_1]"},
    {"phone_uk", "+44 20 7946 0958", "[PHONE_1]"},
    {"phone_before_a_time", "ring 030 1234567 10:30", "ring [PHONE_1] 10:30"},
    {"not_phone_six_digits", "call 030 123", "call 030 123"},
    {"not_phone_date_iso", "on 2024-01-15 we", "on 2024-01-15 we"},
    {"not_phone_date_dotted", "am 15.01.2024 um", "am 15.01.2024 um"},
    {"not_phone_date_slashed", "by 01/15/2024", "by 01/15/2024"},
    {"not_phone_date_and_time", "2024-01-15 10:30:00", "2024-01-15 10:30:00"},
    {"not_phone_time", "at 10:30:15", "at 10:30:15"},
    {"not_phone_version", "version 10.0.19045.2965", "version 10.0.19045.2965"},
    {"not_phone_ip_address", "host 192.168.100.200", "host 192.168.100.200"},
    {"not_phone_plain_number", "ticket count 1234567", "ticket count 1234567"},
    {"not_phone_amount", "EUR 1 234 567,89", "EUR 1 234 567,89"},
    {"not_phone_order_word", "order 0301234567 shipped", "order 0301234567 shipped"},
    {"not_phone_order_no", "Order No. 0123456789", "Order No. 0123456789"},
    {"not_phone_german_order", "Bestellnummer: 0301234567", "Bestellnummer: 0301234567"},
    {"not_phone_hash", "see # 0301234567", "see # 0301234567"},
    {"not_phone_hash_glued", "see #0301234567", "see #0301234567"},
    {"not_phone_order_id_prefix", "ORD-0301234567", "ORD-0301234567"},
    {"not_phone_glued_to_letters", "SN0301234567X", "SN0301234567X"},
    {"not_phone_in_url", "https://shop.example/orders/0301234567",
     "https://shop.example/orders/0301234567"},
    {"not_phone_percent", "0301234567%", "0301234567%"},

    /* IBANs. */
    {"iban_grouped", "IBAN DE89 3704 0044 0532 0130 00, thanks", "IBAN [IBAN_1], thanks"},
    {"iban_compact", "DE89370400440532013000", "[IBAN_1]"},
    {"iban_with_letters", "GB29 NWBK 6016 1331 9268 19", "[IBAN_1]"},
    {"iban_followed_by_a_word", "FR14 2004 1010 0505 0001 3M02 606 Paris", "[IBAN_1] Paris"},
    {"iban_lower_case", "de89370400440532013000", "[IBAN_1]"},
    {"not_iban_bad_checksum", "DE89 3704 0044 0532 0130 01", "DE89 3704 0044 0532 0130 01"},
    {"not_iban_too_short", "DE89 3704", "DE89 3704"},

    /* Payment cards. */
    {"card_grouped", "card 4111 1111 1111 1111 exp", "card [CARD_1] exp"},
    {"card_dashes", "4111-1111-1111-1111", "[CARD_1]"},
    {"card_compact", "5500000000000004", "[CARD_1]"},
    {"card_amex", "3782 822463 10005", "[CARD_1]"},
    {"card_after_order_prefix", "ORD-4111111111111111", "ORD-[CARD_1]"},
    {"not_card_bad_luhn", "4111 1111 1111 1112", "4111 1111 1111 1112"},
    {"not_card_mixed_separators", "4111 1111-1111 1111", "4111 1111-1111 1111"},
    {"not_card_twenty_digits", "41111111111111111111", "41111111111111111111"},

    /* Several, and placeholders the sender wrote. */
    {"each_kind_numbered", "a@example.org, b@example.org, +49 30 1234567, a@example.org",
     "[EMAIL_1], [EMAIL_2], [PHONE_1], [EMAIL_1]"},
    {"placeholder_shaped_text_defused", "I am [EMAIL_1] and [CARD_22]",
     "I am [EMAIL 1] and [CARD 22]"},
    {"nothing_to_redact", "Hello, what does the basic plan cost? 10 EUR?",
     "Hello, what does the basic plan cost? 10 EUR?"},
    {"email_utf8_local_part", "Grüße, Jürgen (jürgen@example.de)", "Grüße, Jürgen ([EMAIL_1])"},
};

static void test_pii_case(gconstpointer data)
{
    const struct pii_case *c = data;
    struct pii_map *map = pii_map_new();
    char *redacted = pii_redact(map, c->text);
    g_assert_cmpstr(redacted, ==, c->redacted);
    /* What was taken out comes back. */
    char *restored = pii_restore(map, redacted);
    if (strstr(c->text, "_") == NULL || strstr(c->text, "[") == NULL)
        g_assert_cmpstr(restored, ==, c->text);
    g_free(restored);
    g_free(redacted);
    pii_map_free(map);
}

/* One map across the parts of a message: the same value keeps its placeholder; the sender's
 * own values come back into the model's reply. */
static void test_map_spans_texts_and_restores(void)
{
    struct pii_map *map = pii_map_new();
    char *from = pii_redact(map, "From: Ann <ann@example.org>");
    char *body = pii_redact(map, "Call me at +49 30 1234567 or mail ANN@example.org.");
    g_assert_cmpstr(from, ==, "From: Ann <[EMAIL_1]>");
    g_assert_cmpstr(body, ==, "Call me at [PHONE_1] or mail [EMAIL_1].");
    g_assert_cmpuint(pii_map_size(map), ==, 2);
    g_assert_cmpstr(pii_map_lookup(map, "[PHONE_1]"), ==, "+49 30 1234567");
    g_assert_null(pii_map_lookup(map, "[PHONE_2]"));
    char *reply = pii_restore(map, "We will call you at [PHONE_1] and write to [EMAIL_1].");
    g_assert_cmpstr(reply, ==, "We will call you at +49 30 1234567 and write to ann@example.org.");
    char *reason = NULL;
    g_assert_true(pii_reply_is_safe(map, "We will call you at [PHONE_1].", &reason));
    g_assert_null(reason);
    g_free(reply);
    g_free(body);
    g_free(from);
    pii_map_free(map);
}

struct pii_reply_case {
    const char *name;
    const char *reply;
    const char *reason; /* NULL: safe */
};

static const struct pii_reply_case pii_reply_cases[] = {
    {"known_placeholders_are_safe", "Thanks, [EMAIL_1]; we call [PHONE_1].", NULL},
    {"no_placeholder_is_safe", "Our plans start at 10 EUR.", NULL},
    {"unknown_placeholder", "We wrote to [EMAIL_2].",
     "it holds [EMAIL_2], which stands for nothing of the message"},
    {"invented_kind", "Dear [NAME_1],",
     "it holds [NAME_1], which stands for nothing of the message"},
    {"iban_placeholder", "We refund to [IBAN_1].", "it would hold the sender's IBAN ([IBAN_1])"},
    {"card_placeholder", "Your card [CARD_1] is charged.",
     "it would hold the sender's card number ([CARD_1])"},
    {"iban_written_out", "Pay to DE89 3704 0044 0532 0130 00.", "it holds an IBAN"},
    {"card_written_out", "Use 4111 1111 1111 1111.", "it holds a payment card number"},
    {"invalid_card_is_not_a_card", "Ticket 4111 1111 1111 1112.", NULL},
};

static void test_pii_reply_case(gconstpointer data)
{
    const struct pii_reply_case *c = data;
    struct pii_map *map = pii_map_new();
    char *redacted = pii_redact(map, "ann@example.org, +49 30 1234567, DE89 3704 0044 0532 0130 "
                                     "00, 4111 1111 1111 1111");
    g_assert_cmpstr(redacted, ==, "[EMAIL_1], [PHONE_1], [IBAN_1], [CARD_1]");
    char *reason = NULL;
    gboolean safe = pii_reply_is_safe(map, c->reply, &reason);
    g_assert_cmpint(safe, ==, c->reason == NULL);
    g_assert_cmpstr(reason, ==, c->reason);
    g_free(reason);
    g_free(redacted);
    pii_map_free(map);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();
    for (size_t i = 0; i < G_N_ELEMENTS(pii_cases); i++) {
        char *path = g_strdup_printf("/pii/redact/%s", pii_cases[i].name);
        g_test_add_data_func(path, &pii_cases[i], test_pii_case);
        g_free(path);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(pii_reply_cases); i++) {
        char *path = g_strdup_printf("/pii/reply/%s", pii_reply_cases[i].name);
        g_test_add_data_func(path, &pii_reply_cases[i], test_pii_reply_case);
        g_free(path);
    }
    g_test_add_func("/pii/map_spans_texts_and_restores", test_map_spans_texts_and_restores);
    return g_test_run();
}
