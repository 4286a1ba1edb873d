/*
 * knowledge_split: documents into passages, by heading and paragraph; see knowledge_split.h.
 */
#include <string.h>

#include <glib.h>

#include "knowledge_split.h"
#include "text.h"

#define KNOWLEDGE_SPLIT_LEVELS 6
/* A YAML front matter closes within this many lines, or it is not one. */
#define KNOWLEDGE_FRONT_MATTER_LINES 100

struct knowledge_splitter {
    enum knowledge_format format;
    GPtrArray *passages;
    char *headings[KNOWLEDGE_SPLIT_LEVELS]; /* the heading of each level in force, or NULL */
    char *heading;                          /* their path */
    GString *passage;                       /* the paragraphs gathered for the next passage */
    glong passage_chars;
    GString *paragraph; /* the lines of the paragraph being read */
    int paragraph_lines;
    char fence; /* '`' or '~' inside fenced code, else 0 */
    size_t fence_len;
};

enum knowledge_format knowledge_split_format(const char *path)
{
    char *lower = g_ascii_strdown(path, -1);
    gboolean markdown = g_str_has_suffix(lower, ".md") || g_str_has_suffix(lower, ".markdown");
    g_free(lower);
    return markdown ? KNOWLEDGE_FORMAT_MARKDOWN : KNOWLEDGE_FORMAT_TEXT;
}

/* The length of DATA without a multi-byte character cut short at its end. */
static size_t knowledge_split_whole_characters(const char *data, size_t len)
{
    size_t continuation = 0;
    while (continuation < 3 && continuation < len &&
           ((unsigned char)data[len - 1 - continuation] & 0xC0) == 0x80)
        continuation++;
    if (continuation == len)
        return len;
    unsigned char lead = (unsigned char)data[len - 1 - continuation];
    size_t needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return lead >= 0xC0 && needed > continuation + 1 ? len - continuation - 1 : len;
}

int knowledge_split_clean(const char *data, size_t len, char **text_r, char **warning_r,
                          char **error_r)
{
    *warning_r = NULL;
    if (memchr(data, '\0', len) != NULL) {
        *error_r = g_strdup("not a text file: it holds NUL bytes (binary, or UTF-16)");
        return -1;
    }
    size_t end = knowledge_split_whole_characters(data, len);
    GString *out = g_string_sized_new(end + 1);
    text_append_strict(out, data, end, G_MAXSIZE, TEXT_STRICT_BODY);
    if (!g_utf8_validate_len(data, end, NULL))
        *warning_r = g_strdup("not valid UTF-8: the invalid bytes are shown as U+FFFD");
    *text_r = g_string_free(out, FALSE);
    return 0;
}

glong knowledge_passage_chars(const struct knowledge_passage *passage)
{
    return g_utf8_strlen(passage->heading, -1) + g_utf8_strlen(passage->text, -1);
}

void knowledge_passage_free(struct knowledge_passage *passage)
{
    if (passage == NULL)
        return;
    g_free(passage->heading);
    g_free(passage->text);
    g_free(passage);
}

/* --- passages --- */

/* LEN bytes at TEXT, without white space at either end, as a passage under the heading. */
static void knowledge_splitter_emit(struct knowledge_splitter *sp, const char *text, size_t len)
{
    char *copy = g_strstrip(g_strndup(text, len));
    if (*copy == '\0') {
        g_free(copy);
        return;
    }
    struct knowledge_passage *passage = g_new0(struct knowledge_passage, 1);
    passage->heading = g_strdup(sp->heading);
    passage->text = copy;
    g_ptr_array_add(sp->passages, passage);
}

static void knowledge_splitter_flush(struct knowledge_splitter *sp)
{
    knowledge_splitter_emit(sp, sp->passage->str, sp->passage->len);
    g_string_truncate(sp->passage, 0);
    sp->passage_chars = 0;
}

/* Where to end a piece of the text at P that must end by LIMIT and should not end before HALF:
 * after the last line end, else after the last sentence, else at the last blank, else LIMIT. */
static const char *knowledge_split_cut_point(const char *half, const char *limit)
{
    const char *sentence = NULL, *space = NULL;
    for (const char *q = limit; q > half; q = g_utf8_prev_char(q)) {
        gunichar before = g_utf8_get_char(g_utf8_prev_char(q));
        if (before == '\n')
            return q;
        if (sentence == NULL && (before == '.' || before == '!' || before == '?') &&
            (*q == ' ' || *q == '\t'))
            sentence = q;
        if (sentence == NULL && (before == 0x3002 || before == 0xFF01 || before == 0xFF1F))
            sentence = q; /* ideographic full stop, fullwidth ! and ? */
        if (space == NULL && (before == ' ' || before == '\t'))
            space = q;
    }
    return sentence != NULL ? sentence : space != NULL ? space : limit;
}

/* A paragraph TEXT of CHARS characters, more than a passage holds, into passages; its last
 * piece starts the next passage, which short paragraphs may join. */
static void knowledge_splitter_add_long(struct knowledge_splitter *sp, const char *text,
                                        glong chars)
{
    const char *p = text;
    while (chars > KNOWLEDGE_PASSAGE_MAX) {
        const char *limit = g_utf8_offset_to_pointer(p, KNOWLEDGE_PASSAGE_MAX);
        const char *half = g_utf8_offset_to_pointer(p, KNOWLEDGE_PASSAGE_MAX / 2);
        const char *cut = knowledge_split_cut_point(half, limit);
        knowledge_splitter_emit(sp, p, (size_t)(cut - p));
        chars -= g_utf8_strlen(p, cut - p);
        p = cut;
        while (*p == ' ' || *p == '\t' || *p == '\n') {
            p++;
            chars--;
        }
    }
    g_string_assign(sp->passage, p);
    sp->passage_chars = chars;
}

static void knowledge_splitter_add_paragraph(struct knowledge_splitter *sp, const char *text)
{
    glong chars = g_utf8_strlen(text, -1);
    if (sp->passage->len > 0 && sp->passage_chars + 2 + chars > KNOWLEDGE_PASSAGE_MAX)
        knowledge_splitter_flush(sp);
    if (chars > KNOWLEDGE_PASSAGE_MAX) {
        knowledge_splitter_add_long(sp, text, chars);
        return;
    }
    if (sp->passage->len > 0) {
        g_string_append(sp->passage, "\n\n");
        sp->passage_chars += 2;
    }
    g_string_append(sp->passage, text);
    sp->passage_chars += chars;
}

static void knowledge_splitter_end_paragraph(struct knowledge_splitter *sp)
{
    if (sp->paragraph->len > 0)
        knowledge_splitter_add_paragraph(sp, sp->paragraph->str);
    g_string_truncate(sp->paragraph, 0);
    sp->paragraph_lines = 0;
}

static void knowledge_splitter_add_line(struct knowledge_splitter *sp, const char *line)
{
    if (sp->paragraph_lines > 0)
        g_string_append_c(sp->paragraph, '\n');
    g_string_append(sp->paragraph, line);
    sp->paragraph_lines++;
}

/* --- Markdown --- */

/* The heading TEXT of LEVEL (1 to 6) is in force from here: the passage so far ends. */
static void knowledge_splitter_set_heading(struct knowledge_splitter *sp, int level,
                                           const char *text)
{
    knowledge_splitter_end_paragraph(sp);
    knowledge_splitter_flush(sp);
    for (int i = level - 1; i < KNOWLEDGE_SPLIT_LEVELS; i++)
        g_clear_pointer(&sp->headings[i], g_free);
    char *clean = g_strstrip(g_strdelimit(g_strdup(text), "\t", ' '));
    if (*clean != '\0')
        sp->headings[level - 1] = text_cut(clean, KNOWLEDGE_HEADING_MAX);
    g_free(clean);

    GString *path = g_string_new(NULL);
    for (int i = 0; i < KNOWLEDGE_SPLIT_LEVELS; i++)
        if (sp->headings[i] != NULL)
            g_string_append_printf(path, "%s%s", path->len > 0 ? " > " : "", sp->headings[i]);
    g_free(sp->heading);
    sp->heading = text_cut(path->str, KNOWLEDGE_HEADING_MAX);
    g_string_free(path, TRUE);
}

/* Up to three spaces of indentation, as Markdown allows before a block. */
static const char *knowledge_split_indent(const char *line)
{
    int spaces = 0;
    while (line[spaces] == ' ' && spaces < 3)
        spaces++;
    return line + spaces;
}

/* The level of an ATX heading ("## Title ##"), its text in *TEXT_R (new); 0 for another line. */
static int knowledge_split_atx(const char *line, char **text_r)
{
    const char *p = knowledge_split_indent(line);
    int level = 0;
    while (p[level] == '#')
        level++;
    if (level == 0 || level > KNOWLEDGE_SPLIT_LEVELS ||
        (p[level] != '\0' && p[level] != ' ' && p[level] != '\t'))
        return 0;
    char *text = g_strstrip(g_strdup(p + level));
    size_t end = strlen(text);
    while (end > 0 && text[end - 1] == '#')
        end--;
    if (end == 0 || text[end - 1] == ' ' || text[end - 1] == '\t')
        g_strchomp(text)[end] = '\0'; /* a closing sequence of #, not part of the title */
    *text_r = text;
    return level;
}

/* Whether LINE is made of three or more of one of the characters of MARKS (and blanks). */
static gboolean knowledge_split_rule(const char *line, const char *marks, char *mark_r)
{
    const char *p = knowledge_split_indent(line);
    char mark = *p;
    int count = 0;
    if (mark == '\0' || strchr(marks, mark) == NULL)
        return FALSE;
    for (; *p != '\0'; p++) {
        if (*p == mark)
            count++;
        else if (*p != ' ' && *p != '\t')
            return FALSE;
    }
    *mark_r = mark;
    return count >= 3 || (mark == '=' && count >= 1);
}

/* Opens or closes fenced code: ``` or ~~~ (three or more). */
static gboolean knowledge_split_fence(const char *line, char *mark_r, size_t *len_r)
{
    const char *p = knowledge_split_indent(line);
    size_t len = 0;
    if (*p != '`' && *p != '~')
        return FALSE;
    while (p[len] == *p)
        len++;
    *mark_r = *p;
    *len_r = len;
    return len >= 3;
}

/* LINE of a Markdown document; TRUE when it was markup, not text. */
static gboolean knowledge_splitter_markdown(struct knowledge_splitter *sp, const char *line)
{
    char mark = 0;
    size_t len = 0;
    if (knowledge_split_fence(line, &mark, &len)) {
        knowledge_splitter_end_paragraph(sp);
        knowledge_splitter_add_line(sp, line);
        sp->fence = mark;
        sp->fence_len = len;
        return TRUE;
    }
    char *text = NULL;
    int level = knowledge_split_atx(line, &text);
    if (level > 0) {
        knowledge_splitter_set_heading(sp, level, text);
        g_free(text);
        return TRUE;
    }
    if (knowledge_split_rule(line, "=-*_", &mark)) {
        if (sp->paragraph_lines == 1 && (mark == '=' || mark == '-')) {
            /* Setext: the paragraph's one line was the heading. */
            text = g_string_free(sp->paragraph, FALSE);
            sp->paragraph = g_string_new(NULL);
            sp->paragraph_lines = 0;
            knowledge_splitter_set_heading(sp, mark == '=' ? 1 : 2, text);
            g_free(text);
            return TRUE;
        }
        if (mark != '=') { /* a thematic break */
            knowledge_splitter_end_paragraph(sp);
            return TRUE;
        }
    }
    return FALSE;
}

static void knowledge_splitter_line(struct knowledge_splitter *sp, char *line)
{
    g_strchomp(line);
    if (sp->fence != 0) {
        char mark = 0;
        size_t len = 0;
        knowledge_splitter_add_line(sp, line);
        if (knowledge_split_fence(line, &mark, &len) && mark == sp->fence && len >= sp->fence_len &&
            knowledge_split_indent(line)[len] == '\0') {
            sp->fence = 0;
            knowledge_splitter_end_paragraph(sp);
        }
        return;
    }
    if (*line == '\0') { /* blank: chomped to nothing */
        knowledge_splitter_end_paragraph(sp);
        return;
    }
    if (sp->format == KNOWLEDGE_FORMAT_MARKDOWN && knowledge_splitter_markdown(sp, line))
        return;
    knowledge_splitter_add_line(sp, line);
}

/* The first line after a YAML front matter (--- ... --- or ...), or 0. */
static int knowledge_split_front_matter(char **lines)
{
    if (lines[0] == NULL || strcmp(g_strchomp(lines[0]), "---") != 0)
        return 0;
    for (int i = 1; i < KNOWLEDGE_FRONT_MATTER_LINES && lines[i] != NULL; i++) {
        g_strchomp(lines[i]);
        if (strcmp(lines[i], "---") == 0 || strcmp(lines[i], "...") == 0)
            return i + 1;
    }
    return 0;
}

GPtrArray *knowledge_split(const char *text, enum knowledge_format format)
{
    struct knowledge_splitter sp = {
        .format = format,
        .passages = g_ptr_array_new_with_free_func((GDestroyNotify)knowledge_passage_free),
        .heading = g_strdup(""),
        .passage = g_string_new(NULL),
        .paragraph = g_string_new(NULL),
    };
    char **lines = g_strsplit(text, "\n", -1);
    int first = format == KNOWLEDGE_FORMAT_MARKDOWN ? knowledge_split_front_matter(lines) : 0;
    for (int i = first; lines[i] != NULL; i++)
        knowledge_splitter_line(&sp, lines[i]);
    knowledge_splitter_end_paragraph(&sp);
    knowledge_splitter_flush(&sp);
    g_strfreev(lines);
    for (int i = 0; i < KNOWLEDGE_SPLIT_LEVELS; i++)
        g_free(sp.headings[i]);
    g_free(sp.heading);
    g_string_free(sp.passage, TRUE);
    g_string_free(sp.paragraph, TRUE);
    return sp.passages;
}
