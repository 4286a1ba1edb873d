/*
 * knowledge_query: the FTS5 query that finds a message's passages in the knowledge base.
 *
 * knowledge_query() takes the words of a text (runs of Unicode letters and digits, at least
 * KNOWLEDGE_QUERY_MIN_CHARS characters with one letter among them, at most
 * KNOWLEDGE_QUERY_WORD_MAX), lower-cased, without the common words of English, German and
 * French that would match every passage, each once, in the order they first appear, the first
 * KNOWLEDGE_QUERY_MAX_TERMS of them; each is quoted as an FTS5 string ("word") and they are
 * joined with OR. A term holds only letters and digits, so no text, whatever FTS5 syntax it
 * carries ("*:^()-, AND, NEAR), can make the query fail. Pure: no I/O, no state.
 */
#ifndef MAILTRIAGE_KNOWLEDGE_QUERY_H
#define MAILTRIAGE_KNOWLEDGE_QUERY_H

#include <glib.h>

#define KNOWLEDGE_QUERY_MAX_TERMS 32
#define KNOWLEDGE_QUERY_MIN_CHARS 3
#define KNOWLEDGE_QUERY_WORD_MAX 64

/* The query for TEXT (NULL counts as ""), new; "" when no word is left. */
char *knowledge_query(const char *text);

/* The common words left out of a query: words of three letters or more that say nothing of
 * what a message is about, in English, German and French, lower case. */
extern const char *const knowledge_query_stop_words[];
extern const size_t knowledge_query_stop_words_count;
/* Whether WORD (lower case) is one of them. */
gboolean knowledge_query_is_stop_word(const char *word);

#endif
