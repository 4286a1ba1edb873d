/*
 * template: {{variable}} substitution; see template.h.
 */
#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "template.h"
#include "text.h"

/* BLOCK marks running text: in HTML its paragraphs become <p> elements. */
static const struct {
    const char *name;
    size_t offset;
    gboolean block;
} template_variables[] = {
    {"reply", offsetof(struct template_values, reply), TRUE},
    {"sender_name", offsetof(struct template_values, sender_name), FALSE},
    {"original_subject", offsetof(struct template_values, original_subject), FALSE},
    {"mailbox", offsetof(struct template_values, mailbox), FALSE},
    {"date", offsetof(struct template_values, date), FALSE},
    {"summary", offsetof(struct template_values, summary), FALSE},
    {"signature", offsetof(struct template_values, signature), TRUE},
    {"disclaimer", offsetof(struct template_values, disclaimer), TRUE},
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

gboolean template_uses(const char *text, const char *name)
{
    for (const char *p = strstr(text, "{{"); p != NULL; p = strstr(p + 2, "{{")) {
        const char *close = strstr(p + 2, "}}");
        if (close == NULL)
            return FALSE;
        int index = template_lookup(p + 2, (size_t)(close - p - 2));
        if (index >= 0 && strcmp(template_variables[index].name, name) == 0)
            return TRUE;
    }
    return FALSE;
}

/* TEXT as HTML text, also safe inside a quoted attribute. &#39; rather than &apos;, which
 * HTML 4 mail readers show literally. Control characters other than tab are dropped: they
 * have no meaning in HTML and some readers choke on them. */
static void template_append_escaped(GString *out, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '&')
            g_string_append(out, "&amp;");
        else if (c == '<')
            g_string_append(out, "&lt;");
        else if (c == '>')
            g_string_append(out, "&gt;");
        else if (c == '"')
            g_string_append(out, "&quot;");
        else if (c == '\'')
            g_string_append(out, "&#39;");
        else if (!text_is_control_byte(c) || c == '\t')
            g_string_append_c(out, (char)c);
    }
}

/* The lines of VALUE (made valid UTF-8; LF, CRLF or CR end a line), without the blank lines
 * at either end and each stripped of the spaces around it; g_strfreev() them. */
static char **template_lines(const char *value)
{
    char *text = text_unify_line_ends(value);
    char **lines = g_strsplit(g_strstrip(text), "\n", -1);
    g_free(text);
    for (char **line = lines; *line != NULL; line++)
        g_strstrip(*line);
    return lines;
}

/* VALUE as escaped HTML. Running text (BLOCK) becomes one <p> per paragraph, paragraphs being
 * separated by blank lines; within a paragraph, and in any other value, a newline is <br>. */
static void template_append_html(GString *out, const char *value, gboolean block)
{
    char **lines = template_lines(value);
    gboolean in_paragraph = FALSE, first = TRUE;
    for (char **line = lines; *line != NULL; line++) {
        if (block && **line == '\0') {
            if (in_paragraph)
                g_string_append(out, "</p>");
            in_paragraph = FALSE;
            continue;
        }
        if (block && !in_paragraph)
            g_string_append(out, first ? "<p>" : "\n<p>");
        else if (!first)
            g_string_append(out, "<br>\n");
        template_append_escaped(out, *line);
        in_paragraph = TRUE;
        first = FALSE;
    }
    if (block && in_paragraph)
        g_string_append(out, "</p>");
    g_strfreev(lines);
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
            template_append_html(out, value, template_variables[index].block);
        else if (value != NULL)
            g_string_append(out, value);
        p = close + 1;
    }
    return g_string_free(out, FALSE);
}
