/*
 * quote: set quoted history and signatures apart from the new text of a message; see quote.h.
 */
#include <string.h>

#include <glib.h>

#include "quote.h"

#define QUOTE_ATTRIBUTION_MAX 300  /* longest "On ... wrote:" line recognised */
#define QUOTE_MARKER_MAX 120       /* longest "-----Original Message-----" line recognised */
#define QUOTE_HEADER_BLOCK_LINES 5 /* lines after "From:" searched for "Sent:" and "To:" */

struct line {
    const char *s;
    size_t len;
};

static const char *const attribution_verbs[] = {
    "wrote", "schrieb", "\303\251crit", "escribi\303\263", "scritto", "schreef", "skrev",
};

/* First words of an attribution that a client wrapped onto two lines. */
static const char *const attribution_leads[] = {"On ", "Le ", "Am ", "El ", "Il ", "Op ", "Den "};

/* Outlook's reply header block, by language: sender, date and recipient/subject labels. */
static const char *const outlook_from[] = {"From:", "Von:", "De :", "De:"};
static const char *const outlook_sent[] = {
    "Sent:", "Date:", "Gesendet:", "Envoy\xc3\xa9 :", "Envoy\xc3\xa9:"};
static const char *const outlook_to[] = {
    "To:", "Subject:", "An:", "Betreff:", "\xc3\x80 :", "Objet :"};
static const char *const original_message_words[] = {
    "original message",    "urspr\xc3\xbcngliche nachricht",
    "message d'origine",   "mensaje original",
    "messaggio originale", "oorspronkelijk bericht",
};

static const char *const forward_subject_prefixes[] = {"fwd:", "fw:", "wg:", "tr:"};

/* Drop trailing white space and leading blank lines. */
void quote_trim(GString *text)
{
    size_t skip = 0, i;

    while (text->len > 0 && g_ascii_isspace(text->str[text->len - 1]))
        g_string_truncate(text, text->len - 1);
    for (i = 0;
         i < text->len && (text->str[i] == ' ' || text->str[i] == '\t' || text->str[i] == '\n');
         i++)
        if (text->str[i] == '\n')
            skip = i + 1;
    g_string_erase(text, 0, skip);
}

static GArray *lines_split(const char *text)
{
    GArray *lines = g_array_new(FALSE, FALSE, sizeof(struct line));
    const char *p = text;

    for (;;) {
        const char *nl = strchr(p, '\n');
        struct line l = {p, nl != NULL ? (size_t)(nl - p) : strlen(p)};

        g_array_append_val(lines, l);
        if (nl == NULL)
            return lines;
        p = nl + 1;
    }
}

static gboolean line_is_blank(struct line l)
{
    for (size_t i = 0; i < l.len; i++)
        if (l.s[i] != ' ' && l.s[i] != '\t')
            return FALSE;
    return TRUE;
}

static gboolean line_is_quoted(struct line l)
{
    return l.len > 0 && l.s[0] == '>';
}

static gboolean line_is_signature(struct line l)
{
    return l.len == 3 && memcmp(l.s, "-- ", 3) == 0;
}

/* L without the Markdown-style bold that HTML conversions of Outlook headers leave ("*From:*"),
   and without trailing white space. */
static struct line line_core(struct line l)
{
    while (l.len > 0 && (l.s[0] == '*' || l.s[0] == ' ')) {
        l.s++;
        l.len--;
    }
    while (l.len > 0 && (l.s[l.len - 1] == ' ' || l.s[l.len - 1] == '\t'))
        l.len--;
    return l;
}

static gboolean line_starts_with_any(struct line l, const char *const *list, size_t count)
{
    l = line_core(l);
    for (size_t i = 0; i < count; i++)
        if (l.len >= strlen(list[i]) && g_ascii_strncasecmp(l.s, list[i], strlen(list[i])) == 0)
            return TRUE;
    return FALSE;
}

/* A line of dashes around "Original Message" or its translation. */
static gboolean line_is_original_message(struct line l)
{
    char buf[QUOTE_MARKER_MAX + 1];
    gboolean found = FALSE;

    l = line_core(l);
    if (l.len < 10 || l.len > QUOTE_MARKER_MAX || strncmp(l.s, "---", 3) != 0 ||
        strncmp(l.s + l.len - 3, "---", 3) != 0)
        return FALSE;
    memcpy(buf, l.s, l.len);
    buf[l.len] = '\0';
    char *lower = g_ascii_strdown(buf, -1);
    for (size_t i = 0; i < G_N_ELEMENTS(original_message_words) && !found; i++)
        found = strstr(lower, original_message_words[i]) != NULL;
    g_free(lower);
    return found;
}

static gboolean line_is_forward_marker(struct line l)
{
    char buf[QUOTE_MARKER_MAX + 1];
    gboolean found;

    l = line_core(l);
    if (l.len == 0 || l.len > QUOTE_MARKER_MAX)
        return FALSE;
    memcpy(buf, l.s, l.len);
    buf[l.len] = '\0';
    if (buf[0] != '-')
        return strcmp(buf, "Begin forwarded message:") == 0;
    char *lower = g_ascii_strdown(buf, -1);
    found = strstr(lower, "forwarded message") != NULL;
    g_free(lower);
    return found;
}

/* Outlook's "From: / Sent: / To: / Subject:" block starting at line I. */
static gboolean lines_are_outlook_header(const GArray *lines, guint i)
{
    const struct line *l = (const struct line *)lines->data;
    gboolean sent = FALSE, to = FALSE;

    if (!line_starts_with_any(l[i], outlook_from, G_N_ELEMENTS(outlook_from)))
        return FALSE;
    for (guint j = i + 1; j < lines->len && j <= i + QUOTE_HEADER_BLOCK_LINES; j++) {
        sent = sent || line_starts_with_any(l[j], outlook_sent, G_N_ELEMENTS(outlook_sent));
        to = to || line_starts_with_any(l[j], outlook_to, G_N_ELEMENTS(outlook_to));
    }
    return sent && to;
}

static gboolean line_is_underscores(struct line l)
{
    l = line_core(l);
    if (l.len < 10)
        return FALSE;
    for (size_t i = 0; i < l.len; i++)
        if (l.s[i] != '_')
            return FALSE;
    return TRUE;
}

/* "On <date>, <name> wrote:" and translations: ends with ':' and names the verb. */
static gboolean line_is_attribution(struct line l)
{
    l = line_core(l);
    if (l.len == 0 || l.len > QUOTE_ATTRIBUTION_MAX || l.s[l.len - 1] != ':')
        return FALSE;
    for (size_t i = 0; i < G_N_ELEMENTS(attribution_verbs); i++)
        if (g_strstr_len(l.s, l.len, attribution_verbs[i]) != NULL)
            return TRUE;
    return FALSE;
}

/* Where the history starts in LINES: the first Outlook marker or signature line, or earlier,
   the start of the block of quoted lines that runs up to it, with its attribution. Returns
   lines->len when there is none, and 0 for a forward, whose content must stay visible. */
static guint quote_start(const GArray *lines)
{
    const struct line *l = (const struct line *)lines->data;
    guint hard = lines->len, signature = lines->len, t, first, a;

    for (guint i = 0; i < lines->len && hard == lines->len; i++) {
        if (line_is_quoted(l[i]))
            continue;
        if (line_is_forward_marker(l[i]))
            return 0;
        if (line_is_original_message(l[i]) || lines_are_outlook_header(lines, i))
            hard = i;
        if (signature == lines->len && line_is_signature(l[i]))
            signature = i;
    }
    if (hard < lines->len) {
        for (t = hard; t > 0 && line_is_blank(l[t - 1]); t--)
            ;
        if (t > 0 && line_is_underscores(l[t - 1]))
            hard = t - 1;
    }
    hard = MIN(hard, signature);
    for (t = hard; t > 0 && (line_is_blank(l[t - 1]) || line_is_quoted(l[t - 1])); t--)
        ;
    for (first = t; first < hard && line_is_blank(l[first]); first++)
        ;
    if (first == hard)
        return hard;
    for (a = t; a > 0 && line_is_blank(l[a - 1]); a--)
        ;
    if (a == 0 || !line_is_attribution(l[a - 1]))
        return first;
    if (line_starts_with_any(l[a - 1], attribution_leads, G_N_ELEMENTS(attribution_leads)))
        return a - 1;
    if (a >= 2 &&
        line_starts_with_any(l[a - 2], attribution_leads, G_N_ELEMENTS(attribution_leads)))
        return a - 2; /* the attribution was wrapped onto two lines */
    return first;
}

static gboolean subject_is_forward(const char *subject)
{
    for (size_t i = 0; subject != NULL && i < G_N_ELEMENTS(forward_subject_prefixes); i++)
        if (g_ascii_strncasecmp(subject, forward_subject_prefixes[i],
                                strlen(forward_subject_prefixes[i])) == 0)
            return TRUE;
    return FALSE;
}

void quote_split(GString *body, const char *subject, char **text_r, char **quoted_r)
{
    GArray *lines;
    guint cut;
    GString *quoted;

    if (body->len == 0 || subject_is_forward(subject)) {
        *text_r = g_string_free(body, FALSE);
        return;
    }
    lines = lines_split(body->str);
    cut = quote_start(lines);
    if (cut == 0 || cut >= lines->len) {
        g_array_unref(lines);
        *text_r = g_string_free(body, FALSE);
        return;
    }
    quoted = g_string_new(g_array_index(lines, struct line, cut).s);
    g_string_truncate(body, g_array_index(lines, struct line, cut).s - body->str);
    g_array_unref(lines);
    quote_trim(body);
    quote_trim(quoted);
    if (body->len == 0) { /* nothing new but history: unsure, keep it all as text */
        g_string_free(body, TRUE);
        *text_r = g_string_free(quoted, FALSE);
        return;
    }
    *text_r = g_string_free(body, FALSE);
    *quoted_r = g_string_free(quoted, FALSE);
}
