/*
 * markers: our loop header, our Message-ID form and how to spot it; see markers.h.
 */
#include <string.h>

#include <glib.h>

#include "clock.h"
#include "markers.h"

#define MARKERS_ID_MARK ".mailtriage@"
#define MARKERS_MAX_FOUND 20
#define MARKERS_MAX_BEFORE_MARK 64 /* a stamp and a random part are 31 bytes */
#define MARKERS_MAX_AFTER_MARK 300 /* a host name is at most 253 */

char *markers_new_message_id(const char *host)
{
    char *stamp = clock_format_utc(clock_now(), "%Y%m%d%H%M%S");
    char *id = g_strdup_printf("%s.%08x%08x" MARKERS_ID_MARK "%s", stamp, g_random_int(),
                               g_random_int(), host);
    g_free(stamp);
    return id;
}

gboolean markers_is_our_message_id(const char *id)
{
    return id != NULL && strstr(id, MARKERS_ID_MARK) != NULL && strpbrk(id, " \t\r\n<") == NULL;
}

GPtrArray *markers_find_message_ids(const char *text, size_t len)
{
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    const char *end = text + len;
    for (const char *p = g_strstr_len(text, (gssize)len, MARKERS_ID_MARK);
         p != NULL && ids->len < MARKERS_MAX_FOUND;
         p = g_strstr_len(p + 1, end - p - 1, MARKERS_ID_MARK)) {
        const char *open = p;
        while (open > text && open[-1] != '<' && p - open < MARKERS_MAX_BEFORE_MARK)
            open--;
        const char *close = memchr(p, '>', (size_t)MIN(end - p, MARKERS_MAX_AFTER_MARK));
        if (open == text || open[-1] != '<' || close == NULL)
            continue;
        char *id = g_strndup(open, (gsize)(close - open));
        if (markers_is_our_message_id(id) &&
            !g_ptr_array_find_with_equal_func(ids, id, g_str_equal, NULL))
            g_ptr_array_add(ids, id);
        else
            g_free(id);
    }
    return ids;
}
