/*
 * disclose: the parts of a message the model is told; see disclose.h.
 */
#include <string.h>

#include <glib.h>

#include "disclose.h"
#include "text.h"

char *disclose_text(struct pii_map *pii, const char *text)
{
    return pii != NULL ? pii_redact(pii, text) : g_strdup(text != NULL ? text : "");
}

gboolean disclose_attachment_text(const struct mime_attachment *attachment)
{
    static const char *const types[] = {"text/plain", "text/csv", "text/markdown", NULL};
    return attachment->text != NULL && *attachment->text != '\0' &&
           g_strv_contains(types, attachment->content_type);
}

void disclose_append_attachments(GString *out, const struct mime_message *msg, size_t budget,
                                 struct pii_map *pii)
{
    for (guint i = 0; msg->attachments != NULL && i < msg->attachments->len && budget > 0; i++) {
        const struct mime_attachment *attachment = g_ptr_array_index(msg->attachments, i);
        if (!disclose_attachment_text(attachment))
            continue;
        char *name =
            disclose_text(pii, attachment->filename != NULL ? attachment->filename : "unnamed");
        char *text = disclose_text(pii, attachment->text);
        char *cut = text_cut(text, budget);
        size_t chars = (size_t)g_utf8_strlen(cut, -1);
        g_string_append_printf(out, "\n\n----- text of the attachment %s (%s) -----\n%s%s", name,
                               attachment->content_type, cut,
                               strlen(cut) < strlen(text) ? " [cut: max_input_chars]" : "");
        g_string_append_printf(out, "\n----- end of the attachment %s -----", name);
        budget -= MIN(chars, budget);
        g_free(cut);
        g_free(text);
        g_free(name);
    }
}
