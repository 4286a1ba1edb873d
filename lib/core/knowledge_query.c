/*
 * knowledge_query: a text's words as an FTS5 query that cannot fail; see knowledge_query.h.
 */
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "knowledge_query.h"

/* In strcmp() order, for bsearch(): tests/unit/knowledge_test.c checks it. */
const char *const knowledge_query_stop_words[] = {
    "aber",         "about",   "above",    "after",    "again",     "all",          "alors",
    "als",          "also",    "and",      "any",      "anyone",    "anything",     "are",
    "auch",         "auf",     "aus",      "aussi",    "aux",       "avec",         "avez",
    "avoir",        "avons",   "because",  "been",     "before",    "bei",          "being",
    "below",        "best",    "between",  "bien",     "bitte",     "bonjour",      "both",
    "but",          "can",     "ces",      "cette",    "chez",      "comme",        "comment",
    "cordialement", "could",   "dank",     "danke",    "dann",      "dans",         "das",
    "dass",         "daß",     "dear",     "dem",      "den",       "denn",         "der",
    "des",          "dich",    "did",      "die",      "diese",     "diesen",       "dieser",
    "dieses",       "dir",     "doch",     "does",     "doing",     "donc",         "dort",
    "durch",        "during",  "each",     "ein",      "eine",      "einem",        "einen",
    "einer",        "eines",   "either",   "elles",    "encore",    "est",          "euch",
    "ever",         "every",   "fait",     "few",      "for",       "freundlichen", "from",
    "für",          "geehrte", "geehrter", "gegen",    "get",       "got",          "gruß",
    "grüße",        "grüßen",  "habe",     "haben",    "had",       "hallo",        "has",
    "hat",          "hatte",   "have",     "hello",    "her",       "here",         "hers",
    "herself",      "hier",    "him",      "himself",  "his",       "how",          "ich",
    "ihr",          "ihre",    "ihrem",    "ihren",    "ils",       "into",         "ist",
    "its",          "itself",  "jetzt",    "just",     "kann",      "kind",         "know",
    "können",       "könnte",  "les",      "let",      "leur",      "leurs",        "liebe",
    "lieber",       "like",    "madame",   "mais",     "man",       "many",         "may",
    "mehr",         "mein",    "meine",    "meinem",   "meinen",    "merci",        "mes",
    "mich",         "might",   "mir",      "mit",      "mon",       "monsieur",     "more",
    "most",         "much",    "must",     "möchte",   "möchten",   "nach",         "neither",
    "nicht",        "noch",    "non",      "nor",      "nos",       "not",          "nothing",
    "notre",        "nous",    "now",      "nur",      "oder",      "off",          "ohne",
    "once",         "one",     "only",     "ont",      "other",     "oui",          "our",
    "ourselves",    "out",     "over",     "own",      "par",       "pas",          "peut",
    "please",       "plus",    "pour",     "pourquoi", "pouvez",    "puis",         "quand",
    "que",          "qui",     "quoi",     "regards",  "salut",     "same",         "sans",
    "schon",        "sehr",    "ses",      "shall",    "she",       "should",       "sich",
    "sie",          "sind",    "some",     "someone",  "something", "son",          "sont",
    "sous",         "such",    "suis",     "sur",      "tes",       "than",         "thank",
    "thanks",       "that",    "the",      "their",    "them",      "themselves",   "then",
    "there",        "these",   "they",     "this",     "those",     "through",      "ton",
    "too",          "tous",    "tout",     "toute",    "toutes",    "très",         "two",
    "und",          "under",   "une",      "uns",      "unter",     "until",        "very",
    "viel",         "vielen",  "vom",      "von",      "vor",       "vos",          "votre",
    "vous",         "want",    "war",      "waren",    "was",       "weil",         "welche",
    "welcher",      "welches", "wenn",     "wer",      "werden",    "were",         "what",
    "when",         "where",   "which",    "while",    "who",       "whom",         "why",
    "wie",          "will",    "wir",      "wird",     "with",      "would",        "yes",
    "you",          "your",    "yours",    "yourself", "zum",       "zur",          "était",
    "été",          "être",    "über",
};

const size_t knowledge_query_stop_words_count = G_N_ELEMENTS(knowledge_query_stop_words);

static int knowledge_query_compare(const void *key, const void *member)
{
    return strcmp(key, *(const char *const *)member);
}

gboolean knowledge_query_is_stop_word(const char *word)
{
    return bsearch(word, knowledge_query_stop_words, knowledge_query_stop_words_count,
                   sizeof(knowledge_query_stop_words[0]), knowledge_query_compare) != NULL;
}

/* A character of a word: a letter, a digit, or a mark that belongs to the letter before it. */
static gboolean knowledge_query_word_char(gunichar c)
{
    return g_unichar_isalnum(c) || g_unichar_ismark(c);
}

/* The word of LEN bytes at START, of CHARS characters, as a term of QUERY unless it is too
 * short, too long, without a letter, a common word or already there. */
static void knowledge_query_add(GString *query, GHashTable *seen, const char *start, size_t len,
                                glong chars, gboolean has_letter, guint *terms)
{
    if (!has_letter || chars < KNOWLEDGE_QUERY_MIN_CHARS || chars > KNOWLEDGE_QUERY_WORD_MAX)
        return;
    char *word = g_utf8_strdown(start, (gssize)len);
    if (knowledge_query_is_stop_word(word) || g_hash_table_contains(seen, word)) {
        g_free(word);
        return;
    }
    g_hash_table_add(seen, word);
    g_string_append_printf(query, "%s\"%s\"", query->len > 0 ? " OR " : "", word);
    (*terms)++;
}

char *knowledge_query(const char *text)
{
    char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
    GString *query = g_string_new(NULL);
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint terms = 0;
    const char *start = NULL;
    glong chars = 0;
    gboolean has_letter = FALSE;
    for (const char *p = valid; terms < KNOWLEDGE_QUERY_MAX_TERMS; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c != 0 && knowledge_query_word_char(c)) {
            if (start == NULL) {
                start = p;
                chars = 0;
                has_letter = FALSE;
            }
            chars++;
            has_letter = has_letter || g_unichar_isalpha(c);
            continue;
        }
        if (start != NULL)
            knowledge_query_add(query, seen, start, (size_t)(p - start), chars, has_letter, &terms);
        start = NULL;
        if (c == 0)
            break;
    }
    g_hash_table_unref(seen);
    g_free(valid);
    return g_string_free(query, FALSE);
}
