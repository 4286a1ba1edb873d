/*
 * template: {{variable}} substitution; see template.h.
 */
#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "template.h"

static const struct {
    const char *name;
    size_t offset;
} template_variables[] = {
    {"reply", offsetof(struct template_values, reply)},
    {"sender_name", offsetof(struct template_values, sender_name)},
    {"original_subject", offsetof(struct template_values, original_subject)},
    {"mailbox", offsetof(struct template_values, mailbox)},
    {"date", offsetof(struct template_values, date)},
    {"summary", offsetof(struct template_values, summary)},
};

/* The variable named by the LEN bytes at NAME (spaces around it allowed), or -1. */
static int template_lookup(const char *name, size_t len)
{
    while (len > 0 && *name == ' ')
        name++, len--;
    while (len > 0 && name[len - 1] == ' ')
        len--;
    for (size_t i = 0; i < G_N_ELEMENTS(template_variables); i++)
        if (strlen(template_variables[i].name) == len &&
            memcmp(template_variables[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

int template_check(const char *text, char **error_r)
{
    int line = 1;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\n')
            line++;
        if (p[0] != '{' || p[1] != '{')
            continue;
        const char *close = strstr(p + 2, "}}");
        const char *newline = strchr(p + 2, '\n');
        if (close == NULL || (newline != NULL && newline < close)) {
            *error_r = g_strdup_printf("line %d: \"{{\" without \"}}\"", line);
            return -1;
        }
        if (template_lookup(p + 2, (size_t)(close - p - 2)) < 0) {
            *error_r = g_strdup_printf("line %d: unknown variable {{%.*s}}", line,
                                       (int)MIN(close - p - 2, 40), p + 2);
            return -1;
        }
        p = close + 1;
    }
    return 0;
}

static void template_append_html(GString *out, const char *value)
{
    char *escaped = g_markup_escape_text(value, -1);
    g_string_append(out, escaped);
    g_free(escaped);
}

char *template_render(const char *text, const struct template_values *values, gboolean html)
{
    GString *out = g_string_sized_new(strlen(text) + 256);

    for (const char *p = text; *p != '\0'; p++) {
        const char *close = p[0] == '{' && p[1] == '{' ? strstr(p + 2, "}}") : NULL;
        int index = close != NULL ? template_lookup(p + 2, (size_t)(close - p - 2)) : -1;
        if (index < 0) {
            g_string_append_c(out, *p);
            continue;
        }
        const char *value =
            *(const char *const *)((const char *)values + template_variables[index].offset);
        if (value != NULL && html)
            template_append_html(out, value);
        else if (value != NULL)
            g_string_append(out, value);
        p = close + 1;
    }
    return g_string_free(out, FALSE);
}
