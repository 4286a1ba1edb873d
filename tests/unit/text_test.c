/*
 * text_test: the specification of lib/util/text.h, one named case per behaviour.
 *
 * Each cleaner has a table of inputs and the exact bytes it must return; the rows show how the
 * cleaners differ (which characters count as controls, what replaces them, what happens at the
 * ends and at line breaks), because each output goes where its callers were fitted to it: a
 * table cell, a header, a program's message, plain lines, a terminal, a quoted log field.
 * text_append_strict() rows also give the byte cap and whether input was left out.
 */
#include <string.h>

#include <glib.h>

#include "text.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* ---- the cleaners that take the whole text ---- */

struct whole_case {
    const char *name;
    char *(*clean)(const char *text);
    const char *text;
    const char *expected;
};

static const struct whole_case whole_cases[] = {
    /* text_terminal_line(): one field of `mailtriagectl show`, from mail or the model. */
    {"terminal_line_breaks_become_spaces_escapes_question_marks", text_terminal_line,
     " a\r\nTo: x\x1b[31m\xc2\x9b"
     "b\x7f\tc\n",
     "a  To: x?[31m?b? c"},
    /* text_clean_header(): a header value before GMime encodes it. */
    {"header_controls_and_del_become_spaces", text_clean_header,
     "a\rb\nc\td\x01"
     "e\x7f"
     "f",
     "a b c d e f"},
    {"header_ends_are_stripped", text_clean_header, " \r\n Re: hello\t\n", "Re: hello"},
    {"header_c1_stays", text_clean_header,
     "a\xc2\x85"
     "b",
     "a\xc2\x85"
     "b"},
    {"header_invalid_utf8_is_replaced", text_clean_header, "caf\xe9", "caf" REPLACEMENT},
    {"header_null_is_empty", text_clean_header, NULL, ""},

    /* text_unify_line_ends(): LF line ends, nothing else. */
    {"line_ends_crlf_and_cr_become_lf", text_unify_line_ends, "a\r\nb\rc\nd", "a\nb\nc\nd"},
    {"line_ends_cr_cr_lf_is_two_lines", text_unify_line_ends, "a\r\r\nb", "a\n\nb"},
    {"line_ends_keep_other_controls", text_unify_line_ends, "a\x01\tb\x7f", "a\x01\tb\x7f"},
    {"line_ends_invalid_utf8_is_replaced", text_unify_line_ends, "\xff", REPLACEMENT},

    /* text_clean_lines(): plain lines for a mail body. */
    {"lines_crlf_and_cr_become_lf", text_clean_lines, "a\r\nb\rc", "a\nb\nc"},
    {"lines_keep_tab_and_lf", text_clean_lines, "a\tb\n", "a\tb\n"},
    {"lines_drop_other_controls_and_del", text_clean_lines, "bell\a esc\033[1m del\x7f.",
     "bell esc[1m del."},
    {"lines_keep_c1", text_clean_lines,
     "a\xc2\x9b"
     "b",
     "a\xc2\x9b"
     "b"},
    {"lines_keep_spaces_at_the_ends", text_clean_lines, "  a  \n", "  a  \n"},
    {"lines_null_is_empty", text_clean_lines, NULL, ""},

    /* text_clean_for_terminal(): escape sequences must not reach a terminal. */
    {"terminal_escape_becomes_question_mark", text_clean_for_terminal, "\033[2Jhi", "?[2Jhi"},
    {"terminal_crlf_becomes_lf", text_clean_for_terminal, "a\r\nb", "a\nb"},
    {"terminal_lone_cr_becomes_question_mark", text_clean_for_terminal, "a\rb", "a?b"},
    {"terminal_keeps_tab_and_lf", text_clean_for_terminal, "a\tb\n", "a\tb\n"},
    {"terminal_del_and_c1_become_question_marks", text_clean_for_terminal,
     "a\x7f"
     "b\xc2\x9b"
     "c",
     "a?b?c"},
    {"terminal_adds_no_newline", text_clean_for_terminal, "last", "last"},
    {"terminal_keeps_other_unicode", text_clean_for_terminal, "caf\xc3\xa9 \xe2\x80\xa8",
     "caf\xc3\xa9 \xe2\x80\xa8"},
};

static void test_whole_case(gconstpointer data)
{
    const struct whole_case *c = data;
    char *clean = c->clean(c->text);
    g_assert_cmpstr(clean, ==, c->expected);
    g_free(clean);
}

/* ---- the cleaners that take a length ---- */

struct length_case {
    const char *name;
    char *(*clean)(const char *text, gssize len);
    const char *text;
    gssize len;
    const char *expected;
};

static const struct length_case length_cases[] = {
    /* text_make_valid_line(): a table cell or a one-line field. */
    {"valid_line_c0_controls_become_spaces", text_make_valid_line,
     "a\tb\r\nc\x01"
     "d",
     -1, "a b  c d"},
    {"valid_line_del_and_c1_stay", text_make_valid_line,
     "a\x7f"
     "b\xc2\x85"
     "c",
     -1,
     "a\x7f"
     "b\xc2\x85"
     "c"},
    {"valid_line_ends_are_kept", text_make_valid_line, " a ", -1, " a "},
    {"valid_line_length_counts_bytes", text_make_valid_line, "abcdef", 3, "abc"},
    {"valid_line_cut_inside_a_character_is_replaced", text_make_valid_line, "\xc3\xa9", 1,
     REPLACEMENT},
    {"valid_line_null_is_empty", text_make_valid_line, NULL, -1, ""},

    /* text_join_lines(): what a program said, on one line. */
    {"join_line_breaks_and_tabs_become_spaces", text_join_lines, "fatal:\tno\r\nsuch user", -1,
     "fatal: no  such user"},
    {"join_ends_are_stripped", text_join_lines, "\n  fatal  \n", -1, "fatal"},
    {"join_other_controls_stay", text_join_lines,
     "a\x01"
     "b",
     -1,
     "a\x01"
     "b"},
    {"join_length_counts_bytes", text_join_lines, "abc\ndef", 4, "abc"},
    {"join_invalid_utf8_is_replaced", text_join_lines, "x\xff", -1, "x" REPLACEMENT},
};

static void test_length_case(gconstpointer data)
{
    const struct length_case *c = data;
    char *clean = c->clean(c->text, c->len);
    g_assert_cmpstr(clean, ==, c->expected);
    g_free(clean);
}

/* ---- text_quote_for_log() ---- */

struct log_case {
    const char *name;
    const char *text;
    glong max_chars;
    const char *expected;
};

static const struct log_case log_cases[] = {
    {"log_double_quotes_become_single", "say \"hi\"", 40, "say 'hi'"},
    {"log_controls_become_spaces",
     "a\nb\tc\x7f"
     "d\xc2\x85"
     "e",
     40, "a b c d e"},
    {"log_short_text_is_not_cut", "abc", 3, "abc"},
    {"log_long_text_is_cut_with_dots", "abcd", 3, "abc..."},
    {"log_cap_counts_characters", "\xc3\xa9\xc3\xa9\xc3\xa9", 2, "\xc3\xa9\xc3\xa9..."},
    {"log_invalid_utf8_is_replaced", "\xff", 40, REPLACEMENT},
    {"log_null_is_empty", NULL, 40, ""},
};

static void test_log_case(gconstpointer data)
{
    const struct log_case *c = data;
    char *quoted = text_quote_for_log(c->text, c->max_chars);
    g_assert_cmpstr(quoted, ==, c->expected);
    g_free(quoted);
}

/* ---- text_append_strict() ---- */

struct strict_case {
    const char *name;
    enum text_strict_mode mode;
    const char *in;
    size_t len; /* 0: strlen(in) */
    size_t cap;
    const char *expected;
    gboolean truncated;
};

static const struct strict_case strict_cases[] = {
    {"strict_line_controls_become_one_space", TEXT_STRICT_LINE, "a\r\n\tb", 0, 100, "a b", FALSE},
    {"strict_line_spaces_collapse_and_ends_go", TEXT_STRICT_LINE, "  a   b  ", 0, 100, "a b",
     FALSE},
    {"strict_line_c1_and_separators_are_controls", TEXT_STRICT_LINE,
     "a\xc2\x85"
     "b\xe2\x80\xa8"
     "c\xe2\x80\xa9"
     "d",
     0, 100, "a b c d", FALSE},
    {"strict_line_nul_is_a_control", TEXT_STRICT_LINE, "a\0b", 3, 100, "a b", FALSE},
    {"strict_byte_order_mark_is_dropped", TEXT_STRICT_LINE,
     "\xef\xbb\xbf"
     "a",
     0, 100, "a", FALSE},
    {"strict_invalid_byte_is_replaced_alone", TEXT_STRICT_LINE,
     "a\xff"
     "b",
     0, 100, "a" REPLACEMENT "b", FALSE},
    {"strict_body_crlf_and_cr_become_lf", TEXT_STRICT_BODY, "a\r\nb\rc\n", 0, 100, "a\nb\nc\n",
     FALSE},
    {"strict_body_separators_become_lf", TEXT_STRICT_BODY,
     "a\xe2\x80\xa8"
     "b",
     0, 100, "a\nb", FALSE},
    {"strict_body_keeps_tab", TEXT_STRICT_BODY, "a\tb", 0, 100, "a\tb", FALSE},
    {"strict_body_drops_other_controls", TEXT_STRICT_BODY,
     "a\033b\x7f"
     "c\xc2\x9b"
     "d",
     0, 100, "abcd", FALSE},
    {"strict_body_keeps_spaces", TEXT_STRICT_BODY, "  a  ", 0, 100, "  a  ", FALSE},
    {"strict_cap_counts_bytes", TEXT_STRICT_BODY, "abcdef", 0, 4, "abcd", TRUE},
    {"strict_cap_never_splits_a_character", TEXT_STRICT_BODY, "a\xc3\xa9", 0, 2, "a", TRUE},
    {"strict_input_that_fits_is_not_truncated", TEXT_STRICT_BODY, "abcd", 0, 4, "abcd", FALSE},
};

static void test_strict_case(gconstpointer data)
{
    const struct strict_case *c = data;
    GString *out = g_string_new("kept:");
    gboolean truncated =
        text_append_strict(out, c->in, c->len != 0 ? c->len : strlen(c->in), c->cap, c->mode);
    g_assert_true(g_str_has_prefix(out->str, "kept:"));
    g_assert_cmpstr(out->str + strlen("kept:"), ==, c->expected);
    g_assert_cmpint(truncated, ==, c->truncated);
    g_string_free(out, TRUE);
}

/* text_strict_line() is the one-line form: NULL stays NULL, and truncation is only ever set. */
static void test_strict_line(void)
{
    gboolean truncated = FALSE;
    g_assert_null(text_strict_line(NULL, 10, &truncated));
    g_assert_false(truncated);

    char *line = text_strict_line(" a\r\n b ", 10, &truncated);
    g_assert_cmpstr(line, ==, "a b");
    g_assert_false(truncated);
    g_free(line);

    line = text_strict_line("abcdef", 3, &truncated);
    g_assert_cmpstr(line, ==, "abc");
    g_assert_true(truncated);
    g_free(line);

    line = text_strict_line("short", 10, &truncated);
    g_assert_true(truncated);
    g_free(line);
}

static void test_control_bytes(void)
{
    for (unsigned c = 0; c < 256; c++)
        g_assert_cmpint(text_is_control_byte((unsigned char)c), ==, c < 0x20 || c == 0x7f);
}

/* text_cut() of bytes a model's JSON string may hold: a sequence cut off at the end made
 * g_utf8_strlen() step over the NUL (found by tests/fuzz/llm_answer_fuzz.c). The input sits in
 * a buffer of exactly its size, so that AddressSanitizer sees any read past it. */
static void test_cut_invalid_utf8(void)
{
    static const struct {
        const char *in;
        size_t max;
        const char *out;
    } cases[] = {
        {"ab\xe2\x82", 10, "ab\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xf0\x9f\x98", 10, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
        {"\xff\xfe ok", 3, "\xef\xbf\xbd\xef\xbf\xbd "},
        {"caf\xc3\xa9 \xc3", 4, "caf\xc3\xa9"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        size_t len = strlen(cases[i].in);
        char *exact = g_malloc(len + 1);
        memcpy(exact, cases[i].in, len + 1);
        char *cut = text_cut(exact, cases[i].max);
        g_assert_true(g_utf8_validate(cut, -1, NULL));
        g_assert_cmpstr(cut, ==, cases[i].out);
        g_free(cut);
        g_free(exact);
    }
}

/* Register one test per row of TABLE, each row starting with its name. */
#define TEXT_TEST_ADD_TABLE(table, func)                                                           \
    for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {                                             \
        char *path = g_strdup_printf("/text/%s", (table)[i].name);                                 \
        g_test_add_data_func(path, &(table)[i], func);                                             \
        g_free(path);                                                                              \
    }

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();

    TEXT_TEST_ADD_TABLE(whole_cases, test_whole_case);
    TEXT_TEST_ADD_TABLE(length_cases, test_length_case);
    TEXT_TEST_ADD_TABLE(log_cases, test_log_case);
    TEXT_TEST_ADD_TABLE(strict_cases, test_strict_case);
    g_test_add_func("/text/strict_line_null_and_truncation", test_strict_line);
    g_test_add_func("/text/control_bytes_are_c0_and_del", test_control_bytes);
    g_test_add_func("/text/cut_makes_invalid_utf8_valid", test_cut_invalid_utf8);
    return g_test_run();
}
