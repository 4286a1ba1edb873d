/*
 * conversation_test: the specification of lib/core/conversation.c, the threading rules.
 *
 * Tables: subject keys (reply and forward markers in several languages, tags, case, white
 * space, Unicode, hostile input), the message-ids of In-Reply-To and References, the
 * counterpart, the text of an entry and the choice of a conversation.
 */
#include <string.h>

#include <glib.h>

#include "conversation.h"

struct subject_case {
    const char *name;
    const char *subject;
    const char *key;
};

static const struct subject_case subject_cases[] = {
    {"plain", "Prices", "prices"},
    {"null", NULL, ""},
    {"empty", "", ""},
    {"re", "Re: Prices", "prices"},
    {"re_upper", "RE: Prices", "prices"},
    {"re_space_before_colon", "RE : Prices", "prices"},
    {"re_no_space_after_colon", "Re:Prices", "prices"},
    {"re_counted_brackets", "Re[2]: Prices", "prices"},
    {"re_counted_parentheses", "Re(3): Prices", "prices"},
    {"re_counted_spaced", "Re [12] : Prices", "prices"},
    {"re_stacked", "Re: Re: RE: re: Prices", "prices"},
    {"aw_german", "AW: Preise", "preise"},
    {"wg_german_forward", "WG: Preise", "preise"},
    {"antw_dutch", "Antw: Prijzen", "prijzen"},
    {"sv_scandinavian", "SV: Priser", "priser"},
    {"tr_french_forward", "TR: Tarifs", "tarifs"},
    {"fwd", "Fwd: Prices", "prices"},
    {"fw", "FW: Prices", "prices"},
    {"mixed_markers", "Fwd: AW: Re[2]: SV: Prices", "prices"},
    {"ticket_tag", "[Ticket #123] Prices", "prices"},
    {"tag_after_re", "Re: [support] Prices", "prices"},
    {"re_after_tag", "[support] Re: [Ticket #123] RE: Prices", "prices"},
    {"full_width_colon", "Re\357\274\232 Prices", "prices"},
    {"collapsed_white_space", "  Re:   Prices \t for   2025  ", "prices for 2025"},
    {"case_folded_unicode", "Re: \303\234BER Stra\303\237e", "\303\274ber strasse"},
    {"marker_inside_is_kept", "Prices Re: plans", "prices re: plans"},
    {"word_starting_like_a_marker", "Retour: colis", "retour: colis"},
    {"treatment_is_not_tr", "Treatment: plan", "treatment: plan"},
    {"marker_without_colon_is_kept", "Re Prices", "re prices"},
    {"only_markers", "Re: Fwd: ", ""},
    {"only_a_tag", "[support]", ""},
    {"unclosed_tag_is_kept", "[support Prices", "[support prices"},
    {"nested_bracket_is_not_a_tag", "[a [b] c] Prices", "[a [b] c] prices"},
    {"long_tag_is_kept",
     "[0123456789012345678901234567890123456789012345678901234567890123456789"
     "012345678901234567890123456789x] Prices",
     "[0123456789012345678901234567890123456789012345678901234567890123456789"
     "012345678901234567890123456789x] prices"},
    {"controls_are_space", "Re:\tPrices\r\nfor\001you", "prices for you"},
    {"zero_width_is_invisible", "Re:\342\200\213 Pri\342\200\213ces", "prices"},
    {"zero_width_between_markers", "\342\200\217Re: \342\200\213Re: Prices", "prices"},
    {"invalid_utf8", "Re: Pr\377ices", "pr\357\277\275ices"},
    {"count_too_long_is_kept", "Re[123456]: Prices", "re[123456]: prices"},
};

static void test_subject_key(gconstpointer data)
{
    const struct subject_case *c = data;
    char *key = conversation_subject_key(c->subject);
    g_assert_cmpstr(key, ==, c->key);
    g_assert_true(g_utf8_validate(key, -1, NULL));
    g_free(key);
}

/* Hostile sizes: thousands of markers or a huge subject are cut and cost linear time. */
static void test_subject_key_bounded(void)
{
    GString *many = g_string_new(NULL);
    for (int i = 0; i < 100000; i++)
        g_string_append(many, "Re: [x] ");
    g_string_append(many, "Prices");
    char *key = conversation_subject_key(many->str);
    g_assert_cmpstr(key, ==, ""); /* the subject is read only so far */
    g_free(key);
    g_string_truncate(many, 0);
    for (int i = 0; i < 100000; i++)
        g_string_append(many, "\303\251");
    key = conversation_subject_key(many->str);
    g_assert_cmpint(g_utf8_strlen(key, -1), ==, CONVERSATION_KEY_MAX);
    g_assert_true(g_utf8_validate(key, -1, NULL));
    g_free(key);
    g_string_free(many, TRUE);
}

struct references_case {
    const char *name;
    const char *in_reply_to;
    const char *references;
    const char *ids; /* space separated, in the order returned */
};

static const struct references_case references_cases[] = {
    {"none", NULL, NULL, ""},
    {"in_reply_to", "<a@x>", NULL, "a@x"},
    {"references_newest_first", NULL, "<a@x> <b@x> <c@x>", "c@x b@x a@x"},
    {"in_reply_to_before_references", "<c@x>", "<a@x> <b@x> <c@x>", "c@x b@x a@x"},
    {"bare_words_as_mime_gives_them", "c@x", "a@x b@x", "c@x b@x a@x"},
    {"folded_and_commas", NULL, "<a@x>,\r\n\t<b@x>", "b@x a@x"},
    {"comments_around", "Your message of Monday <a@x> (sent)", NULL, "a@x"},
    {"cut_last_one_skipped", NULL, "<a@x> <b@x> <c@", "b@x a@x"},
    {"duplicates_once", "<a@x>", "<a@x> <a@x> <b@x>", "a@x b@x"},
    {"space_inside_skipped", NULL, "<a b@x> <c@x>", "c@x"},
    {"empty_brackets_skipped", NULL, "<> <c@x>", "c@x"},
    {"control_inside_skipped", NULL, "<a\001@x> <c@x>", "c@x"},
    {"invalid_utf8_skipped", NULL, "<a\377@x> <c@x>", "c@x"},
    {"utf8_kept", NULL, "<\303\251@x>", "\303\251@x"},
    {"stray_brackets", NULL, ">> <a@x> <<b@x>", "b@x a@x"},
};

static void test_references(gconstpointer data)
{
    const struct references_case *c = data;
    GPtrArray *ids = conversation_references(c->in_reply_to, c->references);
    g_ptr_array_add(ids, NULL);
    char *joined = g_strjoinv(" ", (char **)ids->pdata);
    g_assert_cmpstr(joined, ==, c->ids);
    g_free(joined);
    g_ptr_array_unref(ids);
}

/* A References of 10,000 ids: the newest 50, newest first; an overlong id is skipped. */
static void test_references_bounded(void)
{
    GString *references = g_string_new(NULL);
    for (int i = 0; i < 10000; i++)
        g_string_append_printf(references, "<%d@x> ", i);
    char *long_id = g_strnfill(CONVERSATION_MESSAGE_ID_MAX + 1, 'a');
    char *in_reply_to = g_strdup_printf("<%s>", long_id);
    GPtrArray *ids = conversation_references(in_reply_to, references->str);
    g_assert_cmpuint(ids->len, ==, CONVERSATION_REFERENCES_MAX);
    g_assert_cmpstr(g_ptr_array_index(ids, 0), ==, "9999@x");
    g_assert_cmpstr(g_ptr_array_index(ids, 49), ==, "9950@x");
    g_ptr_array_unref(ids);
    g_free(in_reply_to);
    g_free(long_id);
    g_string_free(references, TRUE);
}

static void test_counterpart(void)
{
    static const char *const cases[][3] = {
        {"Ann@Customer.Test", "other@x", "ann@customer.test"},
        {"", "Ann@Customer.Test", "ann@customer.test"},
        {NULL, "ann@customer.test", "ann@customer.test"},
        {NULL, NULL, ""},
        {" ann@customer.test\n", NULL, "ann@customer.test"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *counterpart = conversation_counterpart(cases[i][0], cases[i][1]);
        g_assert_cmpstr(counterpart, ==, cases[i][2]);
        g_free(counterpart);
    }
}

static void test_entry_text(void)
{
    char *text = conversation_entry_text("\n\n  Hello\r\nthere\001!\t\n\n\n");
    g_assert_cmpstr(text, ==, "  Hello\nthere!");
    g_free(text);
    text = conversation_entry_text(NULL);
    g_assert_cmpstr(text, ==, "");
    g_free(text);
    /* Capped in bytes, at a character boundary. */
    GString *big = g_string_new(NULL);
    for (int i = 0; i < CONVERSATION_TEXT_MAX; i++)
        g_string_append(big, "\303\251");
    text = conversation_entry_text(big->str);
    g_assert_cmpuint(strlen(text), <=, CONVERSATION_TEXT_MAX);
    g_assert_cmpuint(strlen(text), >=, CONVERSATION_TEXT_MAX - 1);
    g_assert_true(g_utf8_validate(text, -1, NULL));
    g_free(text);
    g_string_free(big, TRUE);
}

struct choose_case {
    const char *name;
    struct conversation_found found;
    gboolean by_subject;
    enum conversation_thread thread;
    gint64 id;
};

#define NOW 1000000
#define WINDOW 3600

static const struct choose_case choose_cases[] = {
    {"nothing_found_is_new", {0, 0, 0}, TRUE, CONVERSATION_THREAD_NEW, 0},
    {"reference_wins", {5, 6, NOW}, TRUE, CONVERSATION_THREAD_REFERENCE, 5},
    {"reference_without_subject_threading", {5, 0, 0}, FALSE, CONVERSATION_THREAD_REFERENCE, 5},
    {"subject_within_the_window", {0, 6, NOW - WINDOW + 1}, TRUE, CONVERSATION_THREAD_SUBJECT, 6},
    {"subject_at_the_window_edge", {0, 6, NOW - WINDOW}, TRUE, CONVERSATION_THREAD_SUBJECT, 6},
    {"subject_outside_the_window", {0, 6, NOW - WINDOW - 1}, TRUE, CONVERSATION_THREAD_NEW, 0},
    {"subject_with_thread_by_subject_off", {0, 6, NOW}, FALSE, CONVERSATION_THREAD_NEW, 0},
};

static void test_choose(gconstpointer data)
{
    const struct choose_case *c = data;
    gint64 id = -1;
    g_assert_cmpint(conversation_choose(&c->found, c->by_subject, WINDOW, NOW, &id), ==, c->thread);
    g_assert_cmpint(id, ==, c->id);
}

static void test_names(void)
{
    enum conversation_status status;
    g_assert_true(conversation_status_parse("human", &status));
    g_assert_cmpint(status, ==, CONVERSATION_HUMAN);
    g_assert_cmpstr(conversation_status_name(CONVERSATION_STOPPED), ==, "stopped");
    g_assert_false(conversation_status_parse("Human", &status));
    g_assert_false(conversation_status_parse(NULL, &status));
    enum conversation_role role;
    g_assert_true(conversation_role_parse("assistant", &role));
    g_assert_cmpint(role, ==, CONVERSATION_ASSISTANT);
    g_assert_cmpstr(conversation_role_name(CONVERSATION_HUMAN_ROLE), ==, "human");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(subject_cases); i++) {
        char *path = g_strdup_printf("/conversation/subject_key/%s", subject_cases[i].name);
        g_test_add_data_func(path, &subject_cases[i], test_subject_key);
        g_free(path);
    }
    g_test_add_func("/conversation/subject_key/bounded", test_subject_key_bounded);
    for (size_t i = 0; i < G_N_ELEMENTS(references_cases); i++) {
        char *path = g_strdup_printf("/conversation/references/%s", references_cases[i].name);
        g_test_add_data_func(path, &references_cases[i], test_references);
        g_free(path);
    }
    g_test_add_func("/conversation/references/bounded", test_references_bounded);
    g_test_add_func("/conversation/counterpart", test_counterpart);
    g_test_add_func("/conversation/entry_text", test_entry_text);
    for (size_t i = 0; i < G_N_ELEMENTS(choose_cases); i++) {
        char *path = g_strdup_printf("/conversation/choose/%s", choose_cases[i].name);
        g_test_add_data_func(path, &choose_cases[i], test_choose);
        g_free(path);
    }
    g_test_add_func("/conversation/names", test_names);
    return g_test_run();
}
