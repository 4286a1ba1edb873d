/*
 * markers_test: the specification of lib/mail/markers.h.
 *
 * The header names are a contract with mail already sent (a reply to an old version's mail
 * must still be known as ours), so they are spelled out here. A new Message-ID is checked for
 * its form with the clock fixed; recognition gets a table of ids, and the search in a
 * delivery report a table of texts with the ids it must find, joined by spaces.
 */
#include <string.h>

#include <glib.h>

#include "clock.h"
#include "markers.h"

#define MARCH_3_2025_16H G_GINT64_CONSTANT(1741017600) /* 2025-03-03 16:00:00 UTC */
#define OURS "20250303160000.0123456789abcdef.mailtriage@mx.example"

static void test_header_names(void)
{
    g_assert_cmpstr(MARKERS_LOOP_HEADER, ==, "X-Mailtriage-Loop");
    g_assert_cmpstr(MARKERS_QUEUE_ID_HEADER, ==, "X-Mailtriage-Id");
}

static void test_new_message_id_form(void)
{
    clock_set_for_tests(MARCH_3_2025_16H * G_USEC_PER_SEC);
    char *id = markers_new_message_id("mx.example");
    char *other = markers_new_message_id("mx.example");
    clock_set_for_tests(0);

    g_assert_true(g_regex_match_simple("^20250303160000\\.[0-9a-f]{16}\\.mailtriage@mx\\.example$",
                                       id, 0, 0));
    g_assert_cmpstr(id, !=, other);
    g_assert_true(markers_is_our_message_id(id));
    g_free(other);
    g_free(id);
}

struct ours_case {
    const char *name;
    const char *id;
    gboolean ours;
};

static const struct ours_case ours_cases[] = {
    {"our_form", OURS, TRUE},
    {"the_mark_is_enough", "x.mailtriage@host", TRUE},
    {"foreign_id", "CAF12345@mail.example.com", FALSE},
    {"mark_needs_its_dot", "xmailtriage@host", FALSE},
    {"mark_needs_its_at", "x.mailtriage.host@example.com", FALSE},
    {"white_space_is_refused", "x .mailtriage@host", FALSE},
    {"angle_bracket_is_refused", "<x.mailtriage@host", FALSE},
    {"null_is_not_ours", NULL, FALSE},
};

static void test_ours_case(gconstpointer data)
{
    const struct ours_case *c = data;
    g_assert_cmpint(markers_is_our_message_id(c->id), ==, c->ours);
}

struct find_case {
    const char *name;
    const char *text;
    size_t len;        /* 0: strlen(text) */
    const char *found; /* the ids found, joined by spaces */
};

#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct find_case find_cases[] = {
    {"id_quoted_in_a_report", "Message-ID: <" OURS ">\n", 0, OURS},
    {"every_id_once", "<" OURS "> <x.mailtriage@h> <" OURS ">", 0, OURS " x.mailtriage@h"},
    {"foreign_ids_ignored", "<a@b.example> <c.mailtriage.example@d>", 0, ""},
    {"needs_angle_brackets", "In-Reply-To: " OURS "\n", 0, ""},
    {"needs_the_closing_bracket", "<" OURS, 0, ""},
    {"white_space_inside_is_refused", "<a b.mailtriage@h>", 0, ""},
    {"part_before_the_mark_of_64_bytes", "<" A64 ".mailtriage@h>", 0, A64 ".mailtriage@h"},
    {"part_before_the_mark_of_65_bytes_is_refused", "<a" A64 ".mailtriage@h>", 0, ""},
    {"only_the_first_len_bytes", "<" OURS "> <x.mailtriage@h>", strlen(OURS) + 2, OURS},
};

static void test_find_case(gconstpointer data)
{
    const struct find_case *c = data;
    GPtrArray *ids = markers_find_message_ids(c->text, c->len != 0 ? c->len : strlen(c->text));
    g_ptr_array_add(ids, NULL);
    char *found = g_strjoinv(" ", (char **)ids->pdata);
    g_assert_cmpstr(found, ==, c->found);
    g_free(found);
    g_ptr_array_unref(ids);
}

static void test_find_at_most_20(void)
{
    GString *text = g_string_new(NULL);
    for (int i = 0; i < 25; i++)
        g_string_append_printf(text, "<%d.mailtriage@h>\n", i);
    GPtrArray *ids = markers_find_message_ids(text->str, text->len);
    g_assert_cmpuint(ids->len, ==, 20);
    g_assert_cmpstr(g_ptr_array_index(ids, 19), ==, "19.mailtriage@h");
    g_ptr_array_unref(ids);
    g_string_free(text, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();

    g_test_add_func("/markers/header_names", test_header_names);
    g_test_add_func("/markers/new_message_id_form", test_new_message_id_form);
    for (size_t i = 0; i < G_N_ELEMENTS(ours_cases); i++) {
        char *path = g_strdup_printf("/markers/ours/%s", ours_cases[i].name);
        g_test_add_data_func(path, &ours_cases[i], test_ours_case);
        g_free(path);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(find_cases); i++) {
        char *path = g_strdup_printf("/markers/find/%s", find_cases[i].name);
        g_test_add_data_func(path, &find_cases[i], test_find_case);
        g_free(path);
    }
    g_test_add_func("/markers/find_at_most_20", test_find_at_most_20);
    return g_test_run();
}
