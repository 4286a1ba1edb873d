/*
 * htmltext: HTML to readable plain text.
 *
 * htmltext_convert() turns LEN bytes of UTF-8 HTML (any markup, broken or hostile) into text:
 * script, style and head content dropped; block elements, <br> and list items become line
 * breaks ("- " for items); <blockquote> becomes "> " lines; entities (named, &#NNN; and
 * &#xHH;) are decoded; runs of spaces and blank lines collapse. Work is linear in LEN; the
 * output stops once it passes CAP bytes (then *TRUNCATED_R is set). The result may still hold
 * control characters: the caller cleans it.
 */
#ifndef MAILTRIAGE_HTMLTEXT_H
#define MAILTRIAGE_HTMLTEXT_H

#include <stddef.h>

#include <glib.h>

GString *htmltext_convert(const char *html, size_t len, size_t cap, gboolean *truncated_r);

#endif
