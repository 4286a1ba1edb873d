/*
 * template_test: the specification of lib/util/template.c, one case per behaviour.
 *
 * template_check() is given tables of accepted and rejected templates (rejections name the
 * line and the reason); template_render() is given tables of text, values and the expected
 * output, in plain and HTML mode. In HTML mode every value is escaped; reply, signature and
 * disclaimer are running text whose paragraphs become <p> elements, the others stay inline.
 * template_uses() finds a variable only as a placeholder.
 */
#include <string.h>

#include <glib.h>

#include "template.h"

/* ---- template_check ---- */

struct check_case {
    const char *name;
    const char *text;
    const char *error; /* NULL when the template is accepted */
};

static const struct check_case check_cases[] = {
    {"accepts_every_known_variable",
     "Hello {{sender_name}},\n{{reply}}\nRe: {{original_subject}} on {{date}}\n{{summary}}\n"
     "-- {{mailbox}}\n{{signature}}\n{{disclaimer}}\n",
     NULL},
    {"accepts_inner_spaces", "{{ reply }} and {{  mailbox}}", NULL},
    {"accepts_text_without_variables", "Thank you.\n", NULL},
    {"accepts_empty_template", "", NULL},
    {"accepts_single_braces", "a { b } c {x} }} {", NULL},
    {"rejects_unknown_variable_with_line", "Hello\n\nDear {{foo}},\n",
     "line 3: unknown variable {{foo}}"},
    {"rejects_unknown_variable_after_known_one", "{{reply}}\n{{reply}} {{Reply}}\n",
     "line 2: unknown variable {{Reply}}"},
    {"rejects_empty_variable", "x {{}} y", "line 1: unknown variable {{}}"},
    {"rejects_unclosed_with_line", "one\ntwo {{reply\n", "line 2: \"{{\" without \"}}\""},
    {"rejects_unclosed_at_end", "{{reply}}\n\n\n{{", "line 4: \"{{\" without \"}}\""},
    {"rejects_variable_spanning_lines", "{{reply\n}}", "line 1: \"{{\" without \"}}\""},
    {"unknown_variable_name_cut_at_40_bytes", "{{abcdefghijabcdefghijabcdefghijabcdefghijXYZ}}",
     "line 1: unknown variable {{abcdefghijabcdefghijabcdefghijabcdefghij}}"},
};

static void test_check(gconstpointer data)
{
    const struct check_case *c = data;
    char *error = NULL;
    int result = template_check(c->text, &error);

    if (c->error == NULL) {
        g_assert_null(error);
        g_assert_cmpint(result, ==, 0);
    } else {
        g_assert_cmpint(result, ==, -1);
        g_assert_cmpstr(error, ==, c->error);
    }
    g_free(error);
}

/* ---- template_render ---- */

static const struct template_values all_values = {
    .reply = "Our prices are online.",
    .sender_name = "Alice",
    .original_subject = "Prices?",
    .mailbox = "support@example.org",
    .date = "Mon, 1 Jan 2024",
    .summary = "asks for prices",
    .signature = "Jane",
    .disclaimer = "Confidential.",
};

static const struct template_values hostile_values = {
    .reply = "<b>Tom & \"Jerry\"</b> it's",
    .sender_name = "{{mailbox}}",
    .mailbox = "support@example.org",
};

static const struct template_values all_specials = {
    .reply = "<>&\"'",
    .sender_name = "<>&\"'",
    .original_subject = "<>&\"'",
    .mailbox = "<>&\"'",
    .date = "<>&\"'",
    .summary = "<>&\"'",
    .signature = "<>&\"'",
    .disclaimer = "<>&\"'",
};

static const struct template_values multi_line = {
    .reply = "Dear Alice,\n\nline one\nline two\n\n\n\nlast & final",
    .sender_name = "Alice\nMartin",
    .signature = "Jane Doe\nSupport",
    .disclaimer = "Confidential.\n\nDelete if misdirected.",
};

static const struct template_values untidy_lines = {
    .reply = "\n\n  first\r\nsecond  \r\n \t \r\nthird\rfourth\n\n",
    .signature = "",
    .disclaimer = "   \n\n",
    .summary = "one\r\ntwo",
};

static const struct template_values control_characters = {
    .reply = "bell\a, escape\033[31m, nul-free\x7f end\ttab",
    .sender_name = "invalid \xff\xfe utf-8",
};

struct render_case {
    const char *name;
    const char *text;
    const struct template_values *values;
    gboolean html;
    const char *expected;
};

static const struct render_case render_cases[] = {
    {"substitutes_every_variable",
     "{{sender_name}}|{{reply}}|{{original_subject}}|{{mailbox}}|{{date}}|{{summary}}|"
     "{{signature}}|{{disclaimer}}",
     &all_values, FALSE,
     "Alice|Our prices are online.|Prices?|support@example.org|Mon, 1 Jan 2024|asks for prices|"
     "Jane|Confidential."},
    {"substitutes_with_inner_spaces", "Hi {{ sender_name }}!", &all_values, FALSE, "Hi Alice!"},
    {"substitutes_repeated_variable", "{{mailbox}} {{mailbox}}", &all_values, FALSE,
     "support@example.org support@example.org"},
    {"null_value_renders_empty", "[{{original_subject}}][{{date}}]", &hostile_values, FALSE,
     "[][]"},
    {"plain_mode_keeps_markup_in_values", "{{reply}}", &hostile_values, FALSE,
     "<b>Tom & \"Jerry\"</b> it's"},
    {"html_mode_escapes_values", "{{reply}}", &hostile_values, TRUE,
     "<p>&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; it&#39;s</p>"},
    {"html_mode_escapes_all_five_specials_in_every_value",
     "{{sender_name}}|{{original_subject}}|{{mailbox}}|{{date}}|{{summary}}|{{reply}}|"
     "{{signature}}|{{disclaimer}}",
     &all_specials, TRUE,
     "&lt;&gt;&amp;&quot;&#39;|&lt;&gt;&amp;&quot;&#39;|&lt;&gt;&amp;&quot;&#39;|"
     "&lt;&gt;&amp;&quot;&#39;|&lt;&gt;&amp;&quot;&#39;|<p>&lt;&gt;&amp;&quot;&#39;</p>|"
     "<p>&lt;&gt;&amp;&quot;&#39;</p>|<p>&lt;&gt;&amp;&quot;&#39;</p>"},
    {"html_mode_value_cannot_leave_a_quoted_attribute",
     "<a title=\"{{mailbox}}\" href='mailto:{{date}}'>x</a>", &all_specials, TRUE,
     "<a title=\"&lt;&gt;&amp;&quot;&#39;\" href='mailto:&lt;&gt;&amp;&quot;&#39;'>x</a>"},
    {"html_mode_reply_paragraphs_and_line_breaks", "<div>{{reply}}</div>", &multi_line, TRUE,
     "<div><p>Dear Alice,</p>\n<p>line one<br>\nline two</p>\n<p>last &amp; final</p></div>"},
    {"html_mode_signature_and_disclaimer_are_paragraphs", "{{signature}}|{{disclaimer}}",
     &multi_line, TRUE,
     "<p>Jane Doe<br>\nSupport</p>|<p>Confidential.</p>\n<p>Delete if misdirected.</p>"},
    {"html_mode_inline_value_newline_is_br", "<p>Hello {{sender_name}},</p>", &multi_line, TRUE,
     "<p>Hello Alice<br>\nMartin,</p>"},
    {"html_mode_crlf_cr_and_blank_lines_of_spaces", "{{reply}}|{{summary}}", &untidy_lines, TRUE,
     "<p>first<br>\nsecond</p>\n<p>third<br>\nfourth</p>|one<br>\ntwo"},
    {"html_mode_empty_running_text_renders_nothing", "[{{signature}}][{{disclaimer}}]",
     &untidy_lines, TRUE, "[][]"},
    {"html_mode_null_value_renders_nothing", "[{{original_subject}}][{{signature}}]",
     &hostile_values, TRUE, "[][]"},
    {"html_mode_drops_control_characters", "{{reply}}", &control_characters, TRUE,
     "<p>bell, escape[31m, nul-free end\ttab</p>"},
    {"html_mode_makes_utf8_valid", "{{sender_name}}", &control_characters, TRUE,
     "invalid \ufffd\ufffd utf-8"},
    {"plain_mode_keeps_lines_as_they_are", "{{reply}}|{{signature}}", &multi_line, FALSE,
     "Dear Alice,\n\nline one\nline two\n\n\n\nlast & final|Jane Doe\nSupport"},
    {"html_mode_keeps_template_markup", "<p class=\"x\">&amp; {{mailbox}}</p>", &hostile_values,
     TRUE, "<p class=\"x\">&amp; support@example.org</p>"},
    {"values_are_not_expanded_again", "Dear {{sender_name}}", &hostile_values, FALSE,
     "Dear {{mailbox}}"},
    {"single_braces_are_kept", "{ a } {b} }{ {", &all_values, FALSE, "{ a } {b} }{ {"},
    {"text_without_variables_is_copied", "line 1\nline 2\n", &all_values, FALSE,
     "line 1\nline 2\n"},
    {"empty_template_renders_empty", "", &all_values, TRUE, ""},
};

static void test_render(gconstpointer data)
{
    const struct render_case *c = data;
    char *error = NULL;

    /* Render's contract only covers checked text; make sure the case respects it. */
    g_assert_cmpint(template_check(c->text, &error), ==, 0);
    char *out = template_render(c->text, c->values, c->html);
    g_assert_cmpstr(out, ==, c->expected);
    g_free(out);
}

/* ---- template_uses ---- */

struct uses_case {
    const char *name;
    const char *text;
    gboolean reply; /* template_uses(text, "reply") */
};

static const struct uses_case uses_cases[] = {
    {"variable_is_found", "Hello,\n{{reply}}\n", TRUE},
    {"variable_with_inner_spaces_is_found", "Hello,\n{{  reply }}\n", TRUE},
    {"variable_after_others_is_found", "{{sender_name}} {{mailbox}} {{reply}}", TRUE},
    {"other_variables_are_not_it", "Hello {{sender_name}}, {{summary}} {{signature}}", FALSE},
    {"the_word_outside_braces_is_not_it", "Your reply is welcome: reply {reply}.", FALSE},
    {"no_variable", "Thank you.\n", FALSE},
    {"empty_template", "", FALSE},
};

static void test_uses(gconstpointer data)
{
    const struct uses_case *c = data;
    g_assert_cmpint(template_uses(c->text, "reply"), ==, c->reply);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    for (size_t i = 0; i < G_N_ELEMENTS(check_cases); i++) {
        char *path = g_strdup_printf("/template/check/%s", check_cases[i].name);
        g_test_add_data_func(path, &check_cases[i], test_check);
        g_free(path);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(render_cases); i++) {
        char *path = g_strdup_printf("/template/render/%s", render_cases[i].name);
        g_test_add_data_func(path, &render_cases[i], test_render);
        g_free(path);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(uses_cases); i++) {
        char *path = g_strdup_printf("/template/uses/%s", uses_cases[i].name);
        g_test_add_data_func(path, &uses_cases[i], test_uses);
        g_free(path);
    }
    return g_test_run();
}
