/*
 * knowledge_split: a document of a site's knowledge base cut into passages, the units that are
 * indexed and given to the model.
 *
 * knowledge_split_clean() turns a file's bytes into text fit for splitting (valid UTF-8, LF
 * line ends, no control characters but TAB and LF) or refuses a binary file (NUL bytes: binary,
 * or UTF-16). knowledge_split() cuts that text into passages in document order. Markdown: ATX
 * (# Title) and setext (underlined with === or ---) headings open sections, and each passage
 * carries the path of headings it lies under ("Prices > Pro plan"), at most
 * KNOWLEDGE_HEADING_MAX characters; fenced code keeps its # lines as text; a YAML front matter
 * is left out. Plain text has no headings. Within a section, blank lines part paragraphs; short
 * paragraphs are joined while the passage stays within KNOWLEDGE_PASSAGE_MAX characters, and a
 * longer one is cut at a line end, else after a sentence, else at a space, else anywhere. A
 * heading with no text under it gives no passage. Everything here is pure: no I/O, no state.
 */
#ifndef MAILTRIAGE_KNOWLEDGE_SPLIT_H
#define MAILTRIAGE_KNOWLEDGE_SPLIT_H

#include <glib.h>

/* The most characters of a passage's text, and of its heading path. */
#define KNOWLEDGE_PASSAGE_MAX 1200
#define KNOWLEDGE_HEADING_MAX 200

enum knowledge_format { KNOWLEDGE_FORMAT_TEXT, KNOWLEDGE_FORMAT_MARKDOWN };

struct knowledge_passage {
    char *heading; /* "Prices > Pro plan"; "" outside any heading */
    char *text;    /* not empty, without blank lines at either end */
};

/* Markdown for a name ending in .md or .markdown (any case), else plain text. */
enum knowledge_format knowledge_split_format(const char *path);

/* LEN bytes of DATA as text for knowledge_split() in *TEXT_R, and in *WARNING_R (else NULL) what
 * was repaired: invalid UTF-8 becomes U+FFFD, a sequence cut at the end goes. -1 and *ERROR_R
 * for data with a NUL byte. */
int knowledge_split_clean(const char *data, size_t len, char **text_r, char **warning_r,
                          char **error_r) G_GNUC_WARN_UNUSED_RESULT;

/* The passages of TEXT, as a new array of struct knowledge_passage * that frees them. */
GPtrArray *knowledge_split(const char *text, enum knowledge_format format);

/* The characters of PASSAGE that count against [llm] max_knowledge_chars: heading and text. */
glong knowledge_passage_chars(const struct knowledge_passage *passage);
void knowledge_passage_free(struct knowledge_passage *passage);

#endif
