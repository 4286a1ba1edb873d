/*
 * conversation_history: the history for the model; see conversation_history.h.
 */
#include <glib.h>
#include <sqlite3.h>

#include "conversation.h"
#include "conversation_history.h"
#include "db.h"
#include "store_conversation.h"

int conversation_history(sqlite3 *db, gint64 conversation, gint64 except, guint max_messages,
                         size_t max_chars, GPtrArray **entries_r, char **error_r)
{
    GPtrArray *newest = NULL;
    if (conversation <= 0 || max_messages == 0) {
        *entries_r = g_ptr_array_new_with_free_func((GDestroyNotify)conversation_entry_free);
        return DB_OK;
    }
    int status =
        store_conversation_recent(db, conversation, except, max_messages, &newest, error_r);
    if (status != DB_OK)
        return status;
    /* NEWEST is newest first: keep from its start while the total fits, then turn it round. */
    size_t total = 0;
    guint kept = 0;
    for (; kept < newest->len; kept++) {
        const struct conversation_entry *e = g_ptr_array_index(newest, kept);
        size_t chars = (size_t)g_utf8_strlen(e->text, -1);
        if (chars > max_chars - total)
            break;
        total += chars;
    }
    g_ptr_array_set_size(newest, kept);
    GPtrArray *entries = g_ptr_array_new_full(kept, (GDestroyNotify)conversation_entry_free);
    for (guint i = kept; i-- > 0;)
        g_ptr_array_add(entries, g_ptr_array_steal_index(newest, i));
    g_ptr_array_unref(newest);
    *entries_r = entries;
    return DB_OK;
}
