/*
 * htmltext: HTML to readable plain text, for mail bodies that come only as HTML; see
 * htmltext.h.
 */
#include <string.h>

#include <glib.h>

#include "htmltext.h"

struct html_state {
    GString *out;
    unsigned quote_depth;
    unsigned pre_depth;
    gboolean space_pending;
    gboolean head_close_missing;  /* searched once: repeated tags stay linear */
    gboolean title_close_missing; /* likewise */
};

struct html_entity {
    const char *name;
    gunichar c; /* 0: the entity produces nothing */
};

static const struct html_entity html_entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"nbsp", 0xA0},    {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"hellip", 0x2026},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"sbquo", 0x201A},
    {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"bdquo", 0x201E}, {"bull", 0x2022},  {"middot", 0xB7},
    {"euro", 0x20AC},  {"pound", 0xA3},   {"yen", 0xA5},     {"cent", 0xA2},    {"sect", 0xA7},
    {"deg", 0xB0},     {"plusmn", 0xB1},  {"times", 0xD7},   {"divide", 0xF7},  {"laquo", 0xAB},
    {"raquo", 0xBB},   {"iexcl", 0xA1},   {"iquest", 0xBF},  {"auml", 0xE4},    {"ouml", 0xF6},
    {"uuml", 0xFC},    {"Auml", 0xC4},    {"Ouml", 0xD6},    {"Uuml", 0xDC},    {"szlig", 0xDF},
    {"aacute", 0xE1},  {"agrave", 0xE0},  {"acirc", 0xE2},   {"eacute", 0xE9},  {"egrave", 0xE8},
    {"ecirc", 0xEA},   {"Eacute", 0xC9},  {"iacute", 0xED},  {"oacute", 0xF3},  {"uacute", 0xFA},
    {"ccedil", 0xE7},  {"ntilde", 0xF1},  {"shy", 0},        {"zwnj", 0},       {"zwj", 0},
    {"lrm", 0},        {"rlm", 0},
};

static const char *const html_block_tags[] = {
    "p",       "div",    "tr",     "table",   "ul",   "ol",      "dl",    "dt",     "dd",
    "hr",      "h1",     "h2",     "h3",      "h4",   "h5",      "h6",    "center", "section",
    "article", "header", "footer", "address", "form", "caption", "tbody", "thead",  "nav",
};

static gboolean html_at_line_start(const struct html_state *st)
{
    return st->out->len == 0 || st->out->str[st->out->len - 1] == '\n';
}

/* Append visible text S (N bytes), after the quote prefix or a pending space. */
static void html_emit(struct html_state *st, const char *s, size_t n)
{
    if (html_at_line_start(st)) {
        for (unsigned i = 0; i < st->quote_depth; i++)
            g_string_append(st->out, "> ");
    } else if (st->space_pending) {
        g_string_append_c(st->out, ' ');
    }
    st->space_pending = FALSE;
    g_string_append_len(st->out, s, n);
}

/* A hard break always starts a new line; a soft one only ends a line that has text. A blank
   line inside a blockquote keeps its quote marks, so that the quote stays one block. */
static void html_newline(struct html_state *st, gboolean hard)
{
    if (hard && html_at_line_start(st))
        for (unsigned i = 0; i < st->quote_depth; i++)
            g_string_append_c(st->out, '>');
    if (hard || !html_at_line_start(st))
        g_string_append_c(st->out, '\n');
    st->space_pending = FALSE;
}

static void html_space(struct html_state *st, char c)
{
    if (st->pre_depth > 0) {
        if (c == '\n')
            html_newline(st, TRUE);
        else if (c != '\r')
            html_emit(st, " ", 1);
    } else if (!html_at_line_start(st) && st->out->str[st->out->len - 1] != ' ') {
        st->space_pending = TRUE;
    }
}

/* The first case-insensitive occurrence of NEEDLE in [P, END), or NULL. */
static const char *html_find_ci(const char *p, const char *end, const char *needle)
{
    size_t n = strlen(needle);

    while (p + n <= end && (p = memchr(p, needle[0], end - p - n + 1)) != NULL) {
        if (g_ascii_strncasecmp(p, needle, n) == 0)
            return p;
        p++;
    }
    return NULL;
}

/* The end of a tag whose attributes start at P: after the '>' that is not inside a quoted
   attribute value; with an unclosed quote, after the first '>'. */
static const char *html_tag_end(const char *p, const char *end)
{
    char quote = 0, previous = 0;
    const char *gt;

    for (const char *q = p; q < end; q++) {
        if (quote != 0) {
            if (*q == quote)
                quote = 0;
        } else if ((*q == '"' || *q == '\'') && previous == '=') {
            quote = *q;
        } else if (*q == '>') {
            return q + 1;
        }
        if (!g_ascii_isspace(*q))
            previous = *q;
    }
    gt = memchr(p, '>', end - p);
    return gt != NULL ? gt + 1 : end;
}

static gboolean html_is_block(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(html_block_tags); i++)
        if (strcmp(name, html_block_tags[i]) == 0)
            return TRUE;
    return FALSE;
}

/* Skip the content of an element whose text is not shown; P is after its start tag. */
static const char *html_skip_content(struct html_state *st, const char *name, const char *p,
                                     const char *end)
{
    char close[16];
    const char *found;

    g_snprintf(close, sizeof close, "</%s", name);
    found = html_find_ci(p, end, close);
    if (found != NULL)
        return found;
    if (strcmp(name, "head") == 0) {
        found = html_find_ci(p, end, "<body");
        st->head_close_missing = found == NULL;
        return found != NULL ? found : p;
    }
    if (strcmp(name, "title") == 0) {
        st->title_close_missing = TRUE;
        return p;
    }
    return end; /* an unclosed script or style hides the rest, as in a browser */
}

/* Act on tag NAME (lowercase, "" if unknown); P is after the tag. Returns where to go on. */
static const char *html_tag(struct html_state *st, const char *name, gboolean closing,
                            const char *p, const char *end)
{
    if (!closing && (strcmp(name, "script") == 0 || strcmp(name, "style") == 0 ||
                     (strcmp(name, "head") == 0 && !st->head_close_missing) ||
                     (strcmp(name, "title") == 0 && !st->title_close_missing)))
        return html_skip_content(st, name, p, end);
    if (strcmp(name, "br") == 0) {
        html_newline(st, TRUE);
    } else if (strcmp(name, "li") == 0) {
        html_newline(st, FALSE);
        if (!closing)
            html_emit(st, "- ", 2);
    } else if (strcmp(name, "blockquote") == 0) {
        html_newline(st, FALSE);
        if (!closing)
            st->quote_depth++;
        else if (st->quote_depth > 0)
            st->quote_depth--;
    } else if (strcmp(name, "pre") == 0) {
        html_newline(st, FALSE);
        if (!closing)
            st->pre_depth++;
        else if (st->pre_depth > 0)
            st->pre_depth--;
    } else if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
        if (!closing && !html_at_line_start(st))
            st->space_pending = TRUE;
    } else if (html_is_block(name)) {
        html_newline(st, FALSE);
    }
    return p;
}

/* Handle the markup that starts with '<' at P. Returns where to go on. */
static const char *html_markup(struct html_state *st, const char *p, const char *end)
{
    const char *q = p + 1, *found;
    gboolean closing = FALSE;
    char name[16];
    size_t n = 0;

    if (q < end && *q == '!' && end - q >= 3 && memcmp(q, "!--", 3) == 0) {
        found = memmem(q + 3, end - q - 3, "-->", 3);
        return found != NULL ? found + 3 : end;
    }
    if (q < end && (*q == '!' || *q == '?')) {
        found = memchr(q, '>', end - q);
        return found != NULL ? found + 1 : end;
    }
    if (q < end && *q == '/') {
        closing = TRUE;
        q++;
    }
    if (q >= end || !g_ascii_isalpha(*q)) {
        html_emit(st, "<", 1);
        return p + 1;
    }
    for (; q < end && (g_ascii_isalnum(*q) || *q == ':' || *q == '-'); q++, n++)
        if (n < sizeof name)
            name[n] = g_ascii_tolower(*q);
    name[n < sizeof name ? n : 0] = '\0';
    return html_tag(st, name, closing, html_tag_end(q, end), end);
}

/* The character that entity NAME (N bytes, without '&' and ';') stands for; (gunichar)-1 if
   it is not one we know. */
static gunichar html_entity_value(const char *name, size_t n)
{
    gunichar c = 0;
    gboolean hex = n > 1 && (name[1] == 'x' || name[1] == 'X');
    size_t i = hex ? 2 : 1;

    if (n > 0 && name[0] == '#') {
        if (i >= n || n - i > 8)
            return (gunichar)-1;
        for (; i < n; i++) {
            if (hex ? !g_ascii_isxdigit(name[i]) : !g_ascii_isdigit(name[i]))
                return (gunichar)-1;
            c = c * (hex ? 16 : 10) + (hex ? g_ascii_xdigit_value(name[i]) : name[i] - '0');
        }
        return g_unichar_validate(c) && c != 0 ? c : 0xFFFD;
    }
    for (i = 0; i < G_N_ELEMENTS(html_entities); i++)
        if (strlen(html_entities[i].name) == n && memcmp(html_entities[i].name, name, n) == 0)
            return html_entities[i].c;
    return (gunichar)-1;
}

/* Handle the character reference that starts with '&' at P. Returns where to go on. */
static const char *html_entity(struct html_state *st, const char *p, const char *end)
{
    const char *semi = NULL;
    gunichar c;
    char buf[6];

    for (const char *q = p + 1; q < end && q < p + 12 && semi == NULL; q++)
        if (*q == ';')
            semi = q;
    if (semi == NULL || (c = html_entity_value(p + 1, semi - p - 1)) == (gunichar)-1) {
        html_emit(st, "&", 1);
        return p + 1;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        html_space(st, (char)c);
    else if (c == 0xA0)
        html_emit(st, " ", 1);
    else if (c >= 0x20)
        html_emit(st, buf, g_unichar_to_utf8(c, buf));
    return semi + 1;
}

/* Collapse runs of spaces, drop leading and trailing spaces of lines (not of a "-- " line),
   runs of blank lines become one, none at the start or the end. */
static void html_tidy(GString *text)
{
    GString *out = g_string_sized_new(text->len);
    const char *p = text->str, *end = text->str + text->len;
    gboolean blank_pending = FALSE;

    while (p < end) {
        const char *nl = memchr(p, '\n', end - p), *line_end = nl != NULL ? nl : end;
        gboolean signature = line_end - p == 3 && memcmp(p, "-- ", 3) == 0;
        size_t mark = out->len;

        if (out->len > 0)
            g_string_append_c(out, '\n');
        if (blank_pending && out->len > 0)
            g_string_append_c(out, '\n');
        size_t start = out->len;
        for (const char *q = p; q < line_end; q++)
            if (signature || *q != ' ' || (out->len > start && out->str[out->len - 1] != ' '))
                g_string_append_c(out, *q);
        if (!signature)
            while (out->len > start && out->str[out->len - 1] == ' ')
                g_string_truncate(out, out->len - 1);
        if (out->len == start) {
            g_string_truncate(out, mark);
            blank_pending = out->len > 0;
        } else {
            blank_pending = FALSE;
        }
        p = line_end + 1;
    }
    g_string_assign(text, out->str);
    g_string_free(out, TRUE);
}

GString *htmltext_convert(const char *html, size_t len, size_t cap, gboolean *truncated_r)
{
    struct html_state st = {.out = g_string_sized_new(MIN(len, cap) + 16)};
    const char *p = html, *end = html + len;

    while (p < end) {
        unsigned char c = *p;

        if (st.out->len > cap) {
            *truncated_r = TRUE;
            break;
        }
        if (c == '<') {
            p = html_markup(&st, p, end);
        } else if (c == '&') {
            p = html_entity(&st, p, end);
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
            html_space(&st, c);
            p++;
        } else if (c == 0xC2 && p + 1 < end && (unsigned char)p[1] == 0xA0) {
            html_emit(&st, " ", 1); /* U+00A0 no-break space */
            p += 2;
        } else {
            const char *run = p++;

            while (p < end && strchr("<& \t\n\r\f\xC2", *p) == NULL)
                p++;
            html_emit(&st, run, p - run);
        }
    }
    html_tidy(st.out);
    return st.out;
}
