/*
 * text: UTF-8 helpers; see text.h.
 */
#include <glib.h>

#include "text.h"

char *text_cut(const char *text, size_t max_chars)
{
    /* g_utf8_substring() would read past the end of a text shorter than the cut. */
    if ((size_t)g_utf8_strlen(text, -1) <= max_chars)
        return g_strdup(text);
    return g_utf8_substring(text, 0, (glong)max_chars);
}
