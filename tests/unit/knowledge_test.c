/*
 * knowledge_test: the specification of lib/core/knowledge_split.c, knowledge_query.c and
 * knowledge.c (with store_knowledge.c).
 *
 * Splitting and query building are pure and checked with literal texts. The index is checked on
 * a real SQLite file in a private directory with real files: what knowledge_sync() writes and
 * keeps as files change, vanish or turn unreadable, and what knowledge_select() gives the model.
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "config.h"
#include "db.h"
#include "knowledge.h"
#include "knowledge_query.h"
#include "knowledge_split.h"
#include "store_knowledge.h"
#include "testdata.h"
#include "testutil.h"

/* ---- splitting ---- */

static GPtrArray *split(const char *text, enum knowledge_format format)
{
    return knowledge_split(text, format);
}

static void assert_passage(GPtrArray *passages, guint i, const char *heading, const char *text)
{
    g_assert_cmpuint(i, <, passages->len);
    const struct knowledge_passage *passage = g_ptr_array_index(passages, i);
    g_assert_cmpstr(passage->heading, ==, heading);
    g_assert_cmpstr(passage->text, ==, text);
}

static void test_split_nested_headings(void)
{
    GPtrArray *p = split("# Prices\n\nAll prices in euros.\n\n## Pro plan\n\n29 EUR a month.\n\n"
                         "### Extras\n\nStatistics included.\n\n## Basic plan ##\n\n9 EUR.\n"
                         "# Support\nMonday to Friday.\n",
                         KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, ==, 5);
    assert_passage(p, 0, "Prices", "All prices in euros.");
    assert_passage(p, 1, "Prices > Pro plan", "29 EUR a month.");
    assert_passage(p, 2, "Prices > Pro plan > Extras", "Statistics included.");
    assert_passage(p, 3, "Prices > Basic plan", "9 EUR.");
    assert_passage(p, 4, "Support", "Monday to Friday.");
    g_ptr_array_unref(p);
}

static void test_split_skipped_level_and_setext(void)
{
    GPtrArray *p = split("Title\n=====\n\nIntro.\n\nPart\n----\n\nText.\n\n#### Deep\n\nDeeper.\n",
                         KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, ==, 3);
    assert_passage(p, 0, "Title", "Intro.");
    assert_passage(p, 1, "Title > Part", "Text.");
    assert_passage(p, 2, "Title > Part > Deep", "Deeper.");
    g_ptr_array_unref(p);
}

static void test_split_joins_short_paragraphs(void)
{
    GPtrArray *p = split("## Hours\n\nMonday to Friday.\n\n8:00 to 18:00.\n\n- mail\n- phone\n",
                         KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, ==, 1);
    assert_passage(p, 0, "Hours", "Monday to Friday.\n\n8:00 to 18:00.\n\n- mail\n- phone");
    g_ptr_array_unref(p);
}

/* Every passage is within the cap, and together they hold every word of TEXT, in order. */
static void assert_cut_keeps_words(GPtrArray *p, const char *text)
{
    GString *joined = g_string_new(NULL);
    for (guint i = 0; i < p->len; i++) {
        const struct knowledge_passage *passage = g_ptr_array_index(p, i);
        g_assert_true(g_utf8_validate(passage->text, -1, NULL));
        g_assert_cmpint(g_utf8_strlen(passage->text, -1), <=, KNOWLEDGE_PASSAGE_MAX);
        g_assert_cmpint(g_utf8_strlen(passage->text, -1), >, 0);
        g_string_append_printf(joined, "%s ", passage->text);
    }
    char **want = g_strsplit_set(text, " \n", -1);
    char **got = g_strsplit_set(joined->str, " \n", -1);
    GString *a = g_string_new(NULL), *b = g_string_new(NULL);
    for (char **w = want; *w != NULL; w++)
        if (**w != '\0')
            g_string_append_printf(a, "%s|", *w);
    for (char **w = got; *w != NULL; w++)
        if (**w != '\0')
            g_string_append_printf(b, "%s|", *w);
    g_assert_cmpstr(a->str, ==, b->str);
    g_string_free(a, TRUE);
    g_string_free(b, TRUE);
    g_strfreev(want);
    g_strfreev(got);
    g_string_free(joined, TRUE);
}

static void test_split_long_paragraph_at_sentences(void)
{
    GString *text = g_string_new(NULL);
    for (int i = 0; g_utf8_strlen(text->str, -1) < 3 * KNOWLEDGE_PASSAGE_MAX; i++)
        g_string_append_printf(text, "Sentence number %d says something useful. ", i);
    GPtrArray *p = split(text->str, KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, >=, 3);
    for (guint i = 0; i + 1 < p->len; i++) {
        const struct knowledge_passage *passage = g_ptr_array_index(p, i);
        g_assert_true(g_str_has_suffix(passage->text, "useful."));
    }
    assert_cut_keeps_words(p, text->str);
    g_ptr_array_unref(p);
    g_string_free(text, TRUE);
}

static void test_split_long_list_at_line_ends(void)
{
    GString *text = g_string_new("## Stores\n\n");
    for (int i = 0; i < 80; i++)
        g_string_append_printf(text, "- store %d in town %d. Open daily\n", i, i);
    GPtrArray *p = split(text->str, KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, >=, 2);
    for (guint i = 0; i < p->len; i++) {
        const struct knowledge_passage *passage = g_ptr_array_index(p, i);
        g_assert_cmpstr(passage->heading, ==, "Stores");
        g_assert_true(g_str_has_prefix(passage->text, "- store "));
        g_assert_true(g_str_has_suffix(passage->text, "Open daily"));
    }
    g_ptr_array_unref(p);
    g_string_free(text, TRUE);
}

static void test_split_long_line_without_blanks(void)
{
    GString *text = g_string_new(NULL);
    for (int i = 0; i < 3000; i++)
        g_string_append(text, "é");
    GPtrArray *p = split(text->str, KNOWLEDGE_FORMAT_TEXT);
    g_assert_cmpuint(p->len, ==, 3);
    glong total = 0;
    for (guint i = 0; i < p->len; i++) {
        const struct knowledge_passage *passage = g_ptr_array_index(p, i);
        g_assert_true(g_utf8_validate(passage->text, -1, NULL));
        total += g_utf8_strlen(passage->text, -1);
    }
    g_assert_cmpint(total, ==, 3000);
    g_assert_cmpint(g_utf8_strlen(((struct knowledge_passage *)p->pdata[0])->text, -1), ==,
                    KNOWLEDGE_PASSAGE_MAX);
    g_ptr_array_unref(p);
    g_string_free(text, TRUE);
}

static void test_split_plain_text_has_no_headings(void)
{
    GPtrArray *p = split("# not a heading\n\nSecond paragraph.\n", KNOWLEDGE_FORMAT_TEXT);
    g_assert_cmpuint(p->len, ==, 1);
    assert_passage(p, 0, "", "# not a heading\n\nSecond paragraph.");
    g_ptr_array_unref(p);
}

static void test_split_code_fence_keeps_hash_lines(void)
{
    GPtrArray *p = split("# Setup\n\n```sh\n# not a heading\n\nmake\n```\n\nDone.\n",
                         KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, ==, 1);
    assert_passage(p, 0, "Setup", "```sh\n# not a heading\n\nmake\n```\n\nDone.");
    g_ptr_array_unref(p);
}

static void test_split_headings_only_and_no_heading(void)
{
    GPtrArray *p = split("# One\n## Two\n\n### Three\n#\n", KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, ==, 0);
    g_ptr_array_unref(p);
    p = split("First.\n\nSecond.\n", KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, ==, 1);
    assert_passage(p, 0, "", "First.\n\nSecond.");
    g_ptr_array_unref(p);
    p = split("", KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, ==, 0);
    g_ptr_array_unref(p);
}

static void test_split_front_matter_and_rules(void)
{
    GPtrArray *p = split("---\ntitle: Secret front matter\n---\n# FAQ\n\nAnswer.\n\n***\n\nMore.\n",
                         KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, ==, 1);
    assert_passage(p, 0, "FAQ", "Answer.\n\nMore.");
    g_ptr_array_unref(p);
}

static void test_split_heading_is_capped(void)
{
    GString *text = g_string_new("# ");
    for (int i = 0; i < 1000; i++)
        g_string_append(text, "ü");
    g_string_append(text, "\n## Sub\n\nText.\n");
    GPtrArray *p = split(text->str, KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpuint(p->len, ==, 1);
    const struct knowledge_passage *passage = g_ptr_array_index(p, 0);
    g_assert_cmpint(g_utf8_strlen(passage->heading, -1), ==, KNOWLEDGE_HEADING_MAX);
    g_assert_true(g_utf8_validate(passage->heading, -1, NULL));
    g_ptr_array_unref(p);
    g_string_free(text, TRUE);
}

static void test_split_format_by_name(void)
{
    g_assert_cmpint(knowledge_split_format("/kb/faq.md"), ==, KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpint(knowledge_split_format("/kb/FAQ.Markdown"), ==, KNOWLEDGE_FORMAT_MARKDOWN);
    g_assert_cmpint(knowledge_split_format("/kb/prices.txt"), ==, KNOWLEDGE_FORMAT_TEXT);
    g_assert_cmpint(knowledge_split_format("/kb/md"), ==, KNOWLEDGE_FORMAT_TEXT);
}

static void test_clean_hostile_bytes(void)
{
    char *text = NULL, *warning = NULL, *error = NULL;
    static const char nul[] = "text\0more";
    g_assert_cmpint(knowledge_split_clean(nul, sizeof(nul) - 1, &text, &warning, &error), ==, -1);
    g_assert_true(testdata_contains(error, "NUL"));
    g_free(error);

    static const char controls[] = "a\r\nb\x01\x1b[31mc\rd\xef\xbb\xbf";
    g_assert_cmpint(knowledge_split_clean(controls, sizeof(controls) - 1, &text, &warning, &error),
                    ==, 0);
    g_assert_cmpstr(text, ==, "a\nb[31mc\nd");
    g_assert_null(warning);
    g_free(text);

    static const char invalid[] = "caf\xe9 cr\xe8me";
    g_assert_cmpint(knowledge_split_clean(invalid, sizeof(invalid) - 1, &text, &warning, &error),
                    ==, 0);
    g_assert_cmpstr(text, ==, "caf\xef\xbf\xbd cr\xef\xbf\xbdme");
    g_assert_true(testdata_contains(warning, "UTF-8"));
    g_free(text);
    g_free(warning);

    /* Read up to a cap, a file may end inside a character: that piece goes, silently. */
    static const char cut[] = "prix: 9 \xe2\x82";
    g_assert_cmpint(knowledge_split_clean(cut, sizeof(cut) - 1, &text, &warning, &error), ==, 0);
    g_assert_cmpstr(text, ==, "prix: 9 ");
    g_assert_null(warning);
    g_free(text);
}

/* ---- queries ---- */

static void assert_query(const char *text, const char *expected)
{
    char *query = knowledge_query(text);
    g_assert_cmpstr(query, ==, expected);
    g_free(query);
}

static void test_query_words(void)
{
    assert_query("What does the Pro plan cost? The PRO plan!", "\"pro\" OR \"plan\" OR \"cost\"");
    assert_query("Ist ein Rabatt für Schulen möglich?", "\"rabatt\" OR \"schulen\" OR \"möglich\"");
    assert_query("Bonjour, quel est le prix de l'abonnement ?",
                 "\"quel\" OR \"prix\" OR \"abonnement\"");
    assert_query("X200 costs 49 or 1999", "\"x200\" OR \"costs\"");
    assert_query(NULL, "");
    assert_query("a an to ?? 12 345 the and und les", "");
}

static void test_query_stop_words_sorted(void)
{
    for (size_t i = 0; i < knowledge_query_stop_words_count; i++) {
        const char *word = knowledge_query_stop_words[i];
        if (i > 0)
            g_assert_cmpint(strcmp(knowledge_query_stop_words[i - 1], word), <, 0);
        g_assert_cmpint(g_utf8_strlen(word, -1), >=, KNOWLEDGE_QUERY_MIN_CHARS);
        g_assert_true(knowledge_query_is_stop_word(word));
    }
    g_assert_false(knowledge_query_is_stop_word("refund"));
}

static void test_query_at_most_max_terms(void)
{
    GString *text = g_string_new(NULL);
    for (int i = 0; i < 2 * KNOWLEDGE_QUERY_MAX_TERMS; i++)
        g_string_append_printf(text, "word%c%c ", 'a' + i / 26, 'a' + i % 26);
    char *query = knowledge_query(text->str);
    char **terms = g_strsplit(query, " OR ", -1);
    g_assert_cmpuint(g_strv_length(terms), ==, KNOWLEDGE_QUERY_MAX_TERMS);
    g_assert_cmpstr(terms[0], ==, "\"wordaa\"");
    g_strfreev(terms);
    g_free(query);
    g_string_free(text, TRUE);
}

/* Every hostile text gives a query that FTS5 accepts. */
static void test_query_cannot_break_fts5(void)
{
    static const char *const texts[] = {
        "\"",
        "\"*:^()-",
        "AND OR NOT NEAR",
        "NEAR(price plan, 2)",
        "text:price",
        "-price",
        "^price",
        "pric*",
        "price\" OR \"x",
        "{text heading}: refund",
        "(((((",
        "plan + - * /",
        "Сколько стоит тариф?",
        "价格是多少？",
        "Τιμή πακέτου",
        "ثمن الاشتراك",
        "मूल्य क्या है",
        "caf\xe9 \xff\xfe broken",
        "emoji 😀😀 price",
        "İSTANBUL Straße ÆØÅ",
    };
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(":memory:", &db), ==, SQLITE_OK);
    testutil_db_exec(db, "CREATE VIRTUAL TABLE t USING fts5(text, heading,"
                         " tokenize = 'unicode61 remove_diacritics 2')");
    testutil_db_exec(db, "INSERT INTO t VALUES ('Сколько стоит тариф Pro', 'Цены')");
    for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
        char *query = knowledge_query(texts[i]);
        sqlite3_stmt *stmt = NULL;
        g_assert_cmpint(
            sqlite3_prepare_v2(db, "SELECT count(*) FROM t WHERE t MATCH ?1", -1, &stmt, NULL), ==,
            SQLITE_OK);
        sqlite3_bind_text(stmt, 1, query, -1, SQLITE_TRANSIENT);
        int rc = *query != '\0' ? sqlite3_step(stmt) : SQLITE_ROW;
        if (rc != SQLITE_ROW)
            g_error("text '%s' gave query '%s': %s", texts[i], query, sqlite3_errmsg(db));
        sqlite3_finalize(stmt);
        g_free(query);
    }
    char *query = knowledge_query("Сколько стоит тариф?");
    g_assert_cmpstr(query, ==, "\"сколько\" OR \"стоит\" OR \"тариф\"");
    g_assert_cmpint(testutil_db_int(db, "SELECT count(*) FROM t WHERE t MATCH '%s'", query), ==, 1);
    g_free(query);
    sqlite3_close(db);
}

/* ---- the index ---- */

struct fixture {
    char *dir;
    char *kb; /* a directory of knowledge files */
    sqlite3 *db;
};

static void fixture_setup(struct fixture *fx, gconstpointer data)
{
    char *error = NULL;
    fx->dir = testutil_tmpdir();
    fx->kb = g_build_filename(fx->dir, "kb", NULL);
    g_assert_cmpint(g_mkdir(fx->kb, 0755), ==, 0);
    char *path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open(path, 5000, &fx->db, &error), ==, DB_OK);
    g_free(path);
}

static void fixture_teardown(struct fixture *fx, gconstpointer data)
{
    db_close(fx->db);
    g_chmod(fx->kb, 0755);
    testutil_rmtree(fx->dir);
    g_free(fx->kb);
    g_free(fx->dir);
}

/* Write NAME in the knowledge directory. */
static void kb_write(struct fixture *fx, const char *name, const char *text)
{
    g_free(testutil_write(fx->kb, name, text));
}

static char *kb_path(struct fixture *fx, const char *name)
{
    return g_build_filename(fx->kb, name, NULL);
}

/* support@example.org with KNOWLEDGE, max_knowledge_chars MAX. */
static struct config *kb_config(const char *knowledge, guint max)
{
    char *ini = g_strdup_printf("[llm]\nmax_knowledge_chars = %u\n"
                                "[mailbox support@example.org]\nescalate_to = human@example.org\n"
                                "knowledge = %s\n"
                                "[mailbox sales@example.org]\nescalate_to = human@example.org\n",
                                max, knowledge);
    struct config *cfg = testdata_config(ini);
    g_free(ini);
    return cfg;
}

static struct knowledge_sync_report *kb_sync(struct fixture *fx, const struct config *cfg)
{
    struct knowledge_sync_report *report = NULL;
    char *error = NULL;
    if (knowledge_sync(fx->db, cfg, &report, &error) < 0)
        g_error("knowledge_sync: %s", error);
    return report;
}

static struct knowledge_selection *kb_select(struct fixture *fx, const struct config *cfg,
                                             const char *text)
{
    struct knowledge_selection *sel = NULL;
    char *error = NULL;
    const struct config_mailbox *mailbox = config_mailbox_find(cfg, "support@example.org");
    if (knowledge_select(fx->db, cfg, mailbox, text, &sel, &error) < 0)
        g_error("knowledge_select: %s", error);
    return sel;
}

static gint64 kb_passages(struct fixture *fx, const char *name)
{
    char *path = kb_path(fx, name);
    gint64 n = testutil_db_int(fx->db,
                               "SELECT count(*) FROM knowledge_passages WHERE file = (SELECT id"
                               " FROM knowledge_files WHERE path = '%s')",
                               path);
    g_free(path);
    return n;
}

static char *kb_column(struct fixture *fx, const char *name, const char *column)
{
    char *path = kb_path(fx, name);
    char *value =
        testutil_db_text(fx->db, "SELECT %s FROM knowledge_files WHERE path = '%s'", column, path);
    g_free(path);
    return value;
}

/* Whether the selection for TEXT has a source whose text holds NEEDLE. */
static gboolean kb_selects(struct fixture *fx, const struct config *cfg, const char *text,
                           const char *needle)
{
    struct knowledge_selection *sel = kb_select(fx, cfg, text);
    gboolean found = FALSE;
    for (guint i = 0; i < sel->sources->len; i++) {
        const struct knowledge_source *source = g_ptr_array_index(sel->sources, i);
        found = found || strstr(source->text, needle) != NULL;
    }
    knowledge_selection_free(sel);
    return found;
}

static void test_sync_directory_in_name_order(struct fixture *fx, gconstpointer data)
{
    kb_write(fx, "b-prices.txt", "Basic costs 9 EUR.\n");
    kb_write(fx, "a-faq.md", "# FAQ\n\n## Refunds\n\nRefunds within 30 days.\n");
    kb_write(fx, "c-manual.pdf", "%PDF-1.4 not indexed");
    kb_write(fx, ".draft.md", "# Draft\n\nnot indexed\n");
    struct config *cfg = kb_config(fx->kb, 8000);
    struct knowledge_sync_report *report = kb_sync(fx, cfg);
    g_assert_cmpuint(report->files, ==, 2);
    g_assert_cmpuint(report->indexed, ==, 2);
    g_assert_cmpuint(report->changes->len, ==, 2);
    char *line = knowledge_change_describe(g_ptr_array_index(report->changes, 0));
    char *path = kb_path(fx, "a-faq.md");
    char *expected =
        g_strdup_printf("support@example.org %s: indexed, 1 passages, 36 characters", path);
    g_assert_cmpstr(line, ==, expected);
    g_free(expected);
    g_free(path);
    g_free(line);
    char *summary = knowledge_sync_summarize(report);
    g_assert_cmpstr(summary, ==,
                    "knowledge: 2 file(s): 2 indexed, 0 unchanged, 0 unreadable, 0 removed");
    g_free(summary);
    knowledge_sync_report_free(report);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_files"), ==, 2);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT position FROM knowledge_files WHERE path LIKE"
                                            " '%%/a-faq.md'"),
                    ==, 0);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT position FROM knowledge_files WHERE path LIKE"
                                            " '%%/b-prices.txt'"),
                    ==, 1);
    char *heading = testutil_db_text(fx->db, "SELECT heading FROM knowledge_passages WHERE text"
                                             " = 'Refunds within 30 days.'");
    g_assert_cmpstr(heading, ==, "FAQ > Refunds");
    g_free(heading);
    char *sha = kb_column(fx, "a-faq.md", "sha256");
    g_assert_cmpuint(strlen(sha), ==, 64);
    g_free(sha);
    config_unref(cfg);
}

static void test_sync_reindexes_only_what_changed(struct fixture *fx, gconstpointer data)
{
    kb_write(fx, "faq.md", "# Refunds\n\nRefunds within 30 days.\n");
    kb_write(fx, "prices.md", "# Prices\n\nBasic costs 9 EUR.\n");
    struct config *cfg = kb_config(fx->kb, 8000);
    knowledge_sync_report_free(kb_sync(fx, cfg));
    gint64 first_id = testutil_db_int(fx->db, "SELECT max(rowid) FROM knowledge_passages");

    struct knowledge_sync_report *report = kb_sync(fx, cfg);
    g_assert_cmpuint(report->unchanged, ==, 2);
    g_assert_cmpuint(report->changes->len, ==, 0);
    knowledge_sync_report_free(report);

    /* The same bytes written again (a new modification time) are not a new version. */
    kb_write(fx, "prices.md", "# Prices\n\nBasic costs 9 EUR.\n");
    report = kb_sync(fx, cfg);
    g_assert_cmpuint(report->unchanged, ==, 2);
    g_assert_cmpuint(report->changes->len, ==, 0);
    knowledge_sync_report_free(report);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT max(rowid) FROM knowledge_passages"), ==,
                    first_id);

    kb_write(fx, "prices.md", "# Prices\n\nBasic costs 12 EUR from March.\n");
    report = kb_sync(fx, cfg);
    g_assert_cmpuint(report->indexed, ==, 1);
    g_assert_cmpuint(report->unchanged, ==, 1);
    knowledge_sync_report_free(report);
    g_assert_cmpint(kb_passages(fx, "prices.md"), ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_passages WHERE"
                                            " knowledge_passages MATCH '\"march\"'"),
                    ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_passages WHERE text"
                                            " LIKE '%%9 EUR%%'"),
                    ==, 0);
    config_unref(cfg);
}

static void test_sync_removes_what_is_no_longer_configured(struct fixture *fx, gconstpointer data)
{
    kb_write(fx, "faq.md", "# Refunds\n\nRefunds within 30 days.\n");
    kb_write(fx, "prices.md", "# Prices\n\nBasic costs 9 EUR.\n");
    char *faq = kb_path(fx, "faq.md"), *prices = kb_path(fx, "prices.md");
    char *both = g_strdup_printf("%s, %s", faq, prices);
    struct config *cfg = kb_config(both, 8000);
    knowledge_sync_report_free(kb_sync(fx, cfg));
    config_unref(cfg);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_passages"), ==, 2);

    cfg = kb_config(faq, 8000);
    struct knowledge_sync_report *report = kb_sync(fx, cfg);
    g_assert_cmpuint(report->removed, ==, 1);
    const struct knowledge_change *change = g_ptr_array_index(report->changes, 0);
    g_assert_cmpint(change->kind, ==, KNOWLEDGE_CHANGE_REMOVED);
    g_assert_cmpstr(change->path, ==, prices);
    knowledge_sync_report_free(report);
    config_unref(cfg);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_files"), ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_passages"), ==, 1);

    /* A mailbox without knowledge keeps none. */
    struct config *none = testdata_config("[mailbox support@example.org]\n"
                                          "escalate_to = human@example.org\n");
    knowledge_sync_report_free(kb_sync(fx, none));
    config_unref(none);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_files"), ==, 0);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_passages"), ==, 0);
    g_free(both);
    g_free(faq);
    g_free(prices);
}

/* The file's error after a sync with CFG, whose one change is a failure. */
static void assert_sync_fails(struct fixture *fx, const struct config *cfg, const char *name,
                              const char *reason)
{
    struct knowledge_sync_report *report = kb_sync(fx, cfg);
    g_assert_cmpuint(report->failed, ==, 1);
    const struct knowledge_change *change = g_ptr_array_index(report->changes, 0);
    g_assert_cmpint(change->kind, ==, KNOWLEDGE_CHANGE_FAILED);
    g_assert_cmpint(change->passages, ==, 2);
    knowledge_sync_report_free(report);
    char *error = kb_column(fx, name, "error");
    g_assert_true(testdata_contains(error, reason));
    g_free(error);
    g_assert_cmpint(kb_passages(fx, name), ==, 2);
}

static void test_sync_unreadable_file_keeps_its_passages(struct fixture *fx, gconstpointer data)
{
    kb_write(fx, "faq.md", "# Refunds\n\nRefunds within 30 days.\n\n# Hours\n\nFrom 8 to 18.\n");
    struct config *cfg = kb_config(fx->kb, 8000);
    knowledge_sync_report_free(kb_sync(fx, cfg));
    g_assert_cmpint(kb_passages(fx, "faq.md"), ==, 2);

    char *path = kb_path(fx, "faq.md");
    testdata_write(path, "binary\0data", 11, 0644);
    assert_sync_fails(fx, cfg, "faq.md", "NUL bytes");
    g_assert_true(kb_selects(fx, cfg, "refund", "30 days"));

    g_assert_cmpint(g_unlink(path), ==, 0);
    g_assert_cmpint(mkfifo(path, 0644), ==, 0);
    assert_sync_fails(fx, cfg, "faq.md", "not a regular file");
    g_assert_cmpint(g_unlink(path), ==, 0);

    /* A directory that cannot be listed (an NFS mount away) keeps the files it had. */
    char *moved = g_strconcat(fx->kb, ".away", NULL);
    g_assert_cmpint(g_rename(fx->kb, moved), ==, 0);
    assert_sync_fails(fx, cfg, "faq.md", "No such file or directory");
    g_assert_cmpint(g_rename(moved, fx->kb), ==, 0);
    g_free(moved);

    /* Back, the same content: the error goes, nothing is re-indexed. */
    kb_write(fx, "faq.md", "# Refunds\n\nRefunds within 30 days.\n\n# Hours\n\nFrom 8 to 18.\n");
    struct knowledge_sync_report *report = kb_sync(fx, cfg);
    g_assert_cmpuint(report->unchanged, ==, 1);
    g_assert_cmpuint(report->changes->len, ==, 0);
    knowledge_sync_report_free(report);
    char *error = kb_column(fx, "faq.md", "error");
    g_assert_null(error);
    g_free(path);
    config_unref(cfg);
}

static void test_sync_never_read_file_is_recorded(struct fixture *fx, gconstpointer data)
{
    char *missing = kb_path(fx, "missing.md");
    struct config *cfg = kb_config(missing, 8000);
    struct knowledge_sync_report *report = kb_sync(fx, cfg);
    g_assert_cmpuint(report->failed, ==, 1);
    char *line = knowledge_change_describe(g_ptr_array_index(report->changes, 0));
    char *expected = g_strdup_printf(
        "support@example.org %s: cannot be read: No such file or directory", missing);
    g_assert_cmpstr(line, ==, expected);
    g_free(expected);
    g_free(line);
    knowledge_sync_report_free(report);
    char *error = kb_column(fx, "missing.md", "error");
    g_assert_cmpstr(error, ==, "No such file or directory");
    g_free(error);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT indexed_at IS NULL AND sha256 IS NULL FROM"
                                            " knowledge_files"),
                    ==, 1);
    struct knowledge_selection *sel = kb_select(fx, cfg, "anything at all");
    g_assert_cmpuint(sel->sources->len, ==, 0);
    knowledge_selection_free(sel);
    config_unref(cfg);
    g_free(missing);
}

static void test_sync_big_file_is_cut_with_a_warning(struct fixture *fx, gconstpointer data)
{
    GString *text = g_string_new("# Big\n\n");
    while (text->len <= KNOWLEDGE_FILE_MAX)
        g_string_append(text, "Filler words of a very long manual page. ");
    g_string_append(text, "\n\n# Tail\n\nUnreachable zeppelin fact.\n");
    kb_write(fx, "big.md", text->str);
    struct config *cfg = kb_config(fx->kb, 8000);
    knowledge_sync_report_free(kb_sync(fx, cfg));
    char *warning = kb_column(fx, "big.md", "warning");
    g_assert_true(testdata_contains(warning, "only the first 2097152 bytes"));
    g_free(warning);
    g_assert_false(kb_selects(fx, cfg, "zeppelin", "zeppelin"));
    g_assert_true(kb_selects(fx, cfg, "manual", "manual"));
    config_unref(cfg);
    g_string_free(text, TRUE);
}

static void test_select_small_base_goes_whole(struct fixture *fx, gconstpointer data)
{
    kb_write(fx, "b.md", "# Prices\n\nBasic costs 9 EUR.\n\n# Hours\n\nFrom 8 to 18.\n");
    kb_write(fx, "a.md", "# Refunds\n\nRefunds within 30 days.\n");
    struct config *cfg = kb_config(fx->kb, 8000);
    knowledge_sync_report_free(kb_sync(fx, cfg));
    /* Whatever the text, even one that matches nothing or in another language. */
    struct knowledge_selection *sel = kb_select(fx, cfg, "Сколько стоит?");
    g_assert_true(sel->whole);
    g_assert_null(sel->query);
    g_assert_cmpuint(sel->sources->len, ==, 3);
    static const char *const order[] = {"Refunds", "Prices", "Hours"};
    for (guint i = 0; i < sel->sources->len; i++) {
        const struct knowledge_source *source = g_ptr_array_index(sel->sources, i);
        g_assert_cmpint(source->number, ==, (int)i + 1);
        g_assert_cmpstr(source->heading, ==, order[i]);
        g_assert_false(source->scored);
        g_assert_true(g_str_has_suffix(source->path, i == 0 ? "/a.md" : "/b.md"));
    }
    g_assert_cmpint(sel->chars, ==, sel->total_chars);
    g_assert_cmpint(sel->total_passages, ==, 3);
    knowledge_selection_free(sel);
    config_unref(cfg);
}

/* A knowledge base of 20 sections of about 300 characters, one fact each. */
static void kb_write_large(struct fixture *fx)
{
    static const char *const facts[] = {
        "Refunds are paid within 30 days of the request.",
        "The warehouse ships parcels from Lyon every weekday.",
        "Invoices are sent by mail on the first day of the month.",
        "The Pro plan costs 29 EUR per user and month.",
    };
    GString *text = g_string_new(NULL);
    for (int i = 0; i < 20; i++) {
        g_string_append_printf(text, "# Section %d\n\n%s", i, facts[i % G_N_ELEMENTS(facts)]);
        for (int j = 0; j < 5; j++)
            g_string_append_printf(text, " Filler sentence %d of section %d, about nothing.", j, i);
        g_string_append(text, "\n\n");
    }
    kb_write(fx, "large.md", text->str);
    g_string_free(text, TRUE);
}

static void test_select_best_within_max(struct fixture *fx, gconstpointer data)
{
    kb_write_large(fx);
    struct config *cfg = kb_config(fx->kb, 1000);
    knowledge_sync_report_free(kb_sync(fx, cfg));
    struct knowledge_selection *sel = kb_select(fx, cfg, "When are refunds paid?");
    g_assert_false(sel->whole);
    g_assert_cmpint(sel->total_chars, >, 1000);
    g_assert_cmpstr(sel->query, ==, "\"refunds\" OR \"paid\"");
    g_assert_cmpuint(sel->sources->len, >=, 2);
    g_assert_cmpint(sel->chars, <=, 1000);
    glong chars = 0;
    for (guint i = 0; i < sel->sources->len; i++) {
        const struct knowledge_source *source = g_ptr_array_index(sel->sources, i);
        g_assert_cmpint(source->number, ==, (int)i + 1);
        g_assert_true(source->scored);
        g_assert_cmpfloat(source->score, >, 0);
        if (i > 0)
            g_assert_cmpfloat(source->score, <=,
                              ((struct knowledge_source *)sel->sources->pdata[i - 1])->score);
        g_assert_true(testdata_contains(source->text, "Refunds are paid"));
        chars += g_utf8_strlen(source->heading, -1) + g_utf8_strlen(source->text, -1);
    }
    g_assert_cmpint(chars, ==, sel->chars);
    knowledge_selection_free(sel);
    config_unref(cfg);
}

static void test_select_fact_for_its_question_only(struct fixture *fx, gconstpointer data)
{
    kb_write_large(fx);
    kb_write(fx, "zz-pets.md", "# Pets\n\nDogs are welcome in the Lyon showroom.\n");
    struct config *cfg = kb_config(fx->kb, 1000);
    knowledge_sync_report_free(kb_sync(fx, cfg));
    g_assert_true(kb_selects(fx, cfg, "May I bring my dogs to the showroom?", "Dogs are welcome"));
    g_assert_false(kb_selects(fx, cfg, "How much is the Pro plan?", "Dogs are welcome"));
    g_assert_true(kb_selects(fx, cfg, "How much is the Pro plan?", "29 EUR"));
    struct knowledge_selection *sel = kb_select(fx, cfg, "Quantum chromodynamics lecture");
    g_assert_cmpuint(sel->sources->len, ==, 0);
    knowledge_selection_free(sel);
    sel = kb_select(fx, cfg, "the and of");
    g_assert_cmpuint(sel->sources->len, ==, 0);
    g_assert_cmpstr(sel->query, ==, "");
    knowledge_selection_free(sel);
    config_unref(cfg);
}

static void test_select_top_one_is_cut_to_fit(struct fixture *fx, gconstpointer data)
{
    GString *text = g_string_new("# Long\n\nZeppelin rides are offered.");
    while (g_utf8_strlen(text->str, -1) < KNOWLEDGE_PASSAGE_MAX)
        g_string_append(text, " More words about rides.");
    kb_write(fx, "long.md", text->str);
    g_string_free(text, TRUE);
    struct config *cfg = kb_config(fx->kb, 500);
    knowledge_sync_report_free(kb_sync(fx, cfg));
    struct knowledge_selection *sel = kb_select(fx, cfg, "zeppelin");
    g_assert_cmpuint(sel->sources->len, ==, 1);
    g_assert_true(sel->cut);
    const struct knowledge_source *source = g_ptr_array_index(sel->sources, 0);
    g_assert_true(g_str_has_prefix(source->text, "Zeppelin rides"));
    g_assert_cmpint(sel->chars, ==, 500);
    g_assert_cmpint(g_utf8_strlen(source->text, -1) + g_utf8_strlen(source->heading, -1), ==, 500);
    knowledge_selection_free(sel);
    config_unref(cfg);
}

static void test_select_without_knowledge_and_read_only(struct fixture *fx, gconstpointer data)
{
    kb_write(fx, "faq.md", "# Refunds\n\nRefunds within 30 days.\n");
    struct config *cfg = kb_config(fx->kb, 8000);
    knowledge_sync_report_free(kb_sync(fx, cfg));
    const struct config_mailbox *sales = config_mailbox_find(cfg, "sales@example.org");
    struct knowledge_selection *sel = NULL;
    char *error = NULL;
    g_assert_cmpint(knowledge_select(fx->db, cfg, sales, "refunds", &sel, &error), ==, 0);
    g_assert_cmpuint(sel->sources->len, ==, 0);
    g_assert_cmpint(sel->total_passages, ==, 0);
    knowledge_selection_free(sel);

    sqlite3 *reader = NULL;
    char *path = g_build_filename(fx->dir, "mailtriage.db", NULL);
    g_assert_cmpint(db_open_existing(path, 5000, DB_READ_ONLY, &reader, &error), ==, DB_OK);
    const struct config_mailbox *support = config_mailbox_find(cfg, "support@example.org");
    g_assert_cmpint(knowledge_select(reader, cfg, support, "refunds", &sel, &error), ==, 0);
    g_assert_cmpuint(sel->sources->len, ==, 1);
    knowledge_selection_free(sel);
    /* Inside the caller's own transaction, the selection reads that snapshot. */
    g_assert_cmpint(db_begin_read(reader, &error), ==, DB_OK);
    g_assert_cmpint(knowledge_select(reader, cfg, support, "refunds", &sel, &error), ==, 0);
    g_assert_cmpuint(sel->sources->len, ==, 1);
    knowledge_selection_free(sel);
    g_assert_cmpint(db_commit(reader, &error), ==, DB_OK);
    db_close(reader);
    g_free(path);
    config_unref(cfg);
}

/* mailtriagectl knowledge reindex may run beside the daemon: a row another process wrote or
 * removed since this one read the table is written all the same, and passages never lose
 * their row. */
static void test_store_replace_after_another_writer(struct fixture *fx, gconstpointer data)
{
    GPtrArray *passages =
        knowledge_split("# A\n\nOne.\n\n# B\n\nTwo.\n", KNOWLEDGE_FORMAT_MARKDOWN);
    struct store_knowledge_file file = {.mailbox = "support@example.org",
                                        .path = "/kb/a.md",
                                        .sha256 = "00",
                                        .passages = passages->len};
    char *error = NULL;
    g_assert_cmpint(store_knowledge_replace(fx->db, &file, passages, &error), ==, DB_OK);
    gint64 first = file.id;
    /* Read before the other process wrote the row: no id. */
    file.id = 0;
    g_assert_cmpint(store_knowledge_replace(fx->db, &file, passages, &error), ==, DB_OK);
    g_assert_cmpint(file.id, ==, first);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_files"), ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_passages"), ==, 2);
    /* Removed by the other process since: written anew. */
    g_assert_cmpint(store_knowledge_remove(fx->db, first, &error), ==, DB_OK);
    g_assert_cmpint(store_knowledge_replace(fx->db, &file, passages, &error), ==, DB_OK);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_files"), ==, 1);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_passages p JOIN"
                                            " knowledge_files f ON f.id = p.file"),
                    ==, 2);
    g_assert_cmpint(testutil_db_int(fx->db, "SELECT count(*) FROM knowledge_passages"), ==, 2);
    g_ptr_array_unref(passages);
}

static void add(const char *path, void (*test)(struct fixture *, gconstpointer))
{
    g_test_add(path, struct fixture, NULL, fixture_setup, test, fixture_teardown);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/knowledge/split/nested_headings", test_split_nested_headings);
    g_test_add_func("/knowledge/split/skipped_level_and_setext",
                    test_split_skipped_level_and_setext);
    g_test_add_func("/knowledge/split/joins_short_paragraphs", test_split_joins_short_paragraphs);
    g_test_add_func("/knowledge/split/long_paragraph_at_sentences",
                    test_split_long_paragraph_at_sentences);
    g_test_add_func("/knowledge/split/long_list_at_line_ends", test_split_long_list_at_line_ends);
    g_test_add_func("/knowledge/split/long_line_without_blanks",
                    test_split_long_line_without_blanks);
    g_test_add_func("/knowledge/split/plain_text_has_no_headings",
                    test_split_plain_text_has_no_headings);
    g_test_add_func("/knowledge/split/code_fence_keeps_hash_lines",
                    test_split_code_fence_keeps_hash_lines);
    g_test_add_func("/knowledge/split/headings_only_and_no_heading",
                    test_split_headings_only_and_no_heading);
    g_test_add_func("/knowledge/split/front_matter_and_rules", test_split_front_matter_and_rules);
    g_test_add_func("/knowledge/split/heading_is_capped", test_split_heading_is_capped);
    g_test_add_func("/knowledge/split/format_by_name", test_split_format_by_name);
    g_test_add_func("/knowledge/split/clean_hostile_bytes", test_clean_hostile_bytes);
    g_test_add_func("/knowledge/query/words", test_query_words);
    g_test_add_func("/knowledge/query/stop_words_sorted", test_query_stop_words_sorted);
    g_test_add_func("/knowledge/query/at_most_max_terms", test_query_at_most_max_terms);
    g_test_add_func("/knowledge/query/cannot_break_fts5", test_query_cannot_break_fts5);
    add("/knowledge/sync/directory_in_name_order", test_sync_directory_in_name_order);
    add("/knowledge/sync/reindexes_only_what_changed", test_sync_reindexes_only_what_changed);
    add("/knowledge/sync/removes_what_is_no_longer_configured",
        test_sync_removes_what_is_no_longer_configured);
    add("/knowledge/sync/unreadable_file_keeps_its_passages",
        test_sync_unreadable_file_keeps_its_passages);
    add("/knowledge/sync/never_read_file_is_recorded", test_sync_never_read_file_is_recorded);
    add("/knowledge/sync/big_file_is_cut_with_a_warning", test_sync_big_file_is_cut_with_a_warning);
    add("/knowledge/select/small_base_goes_whole", test_select_small_base_goes_whole);
    add("/knowledge/select/best_within_max", test_select_best_within_max);
    add("/knowledge/select/fact_for_its_question_only", test_select_fact_for_its_question_only);
    add("/knowledge/select/top_one_is_cut_to_fit", test_select_top_one_is_cut_to_fit);
    add("/knowledge/select/without_knowledge_and_read_only",
        test_select_without_knowledge_and_read_only);
    add("/knowledge/store/replace_after_another_writer", test_store_replace_after_another_writer);
    return g_test_run();
}
