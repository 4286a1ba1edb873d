/*
 * conversation: threading rules; see conversation.h.
 */
#include <string.h>

#include <glib.h>

#include "conversation.h"
#include "quote.h"
#include "text.h"

/* The longest [tag] taken off a subject, in bytes between the brackets. */
#define CONVERSATION_TAG_MAX 100

static const char *const conversation_status_names[] = {"active", "stopped", "human"};
static const char *const conversation_role_names[] = {"user", "assistant", "human"};
static const char *const conversation_thread_names[] = {"reference", "subject", "new"};

/* Reply and forward markers, before their colon: English, German (AW, WG, Antw), Scandinavian
 * (SV), French (TR). */
static const char *const conversation_markers[] = {"re", "aw", "sv", "fwd",
                                                   "fw", "wg", "tr", "antw"};

const char *conversation_status_name(enum conversation_status status)
{
    return conversation_status_names[status];
}

gboolean conversation_status_parse(const char *name, enum conversation_status *status_r)
{
    for (guint i = 0; name != NULL && i < G_N_ELEMENTS(conversation_status_names); i++)
        if (strcmp(name, conversation_status_names[i]) == 0) {
            *status_r = (enum conversation_status)i;
            return TRUE;
        }
    return FALSE;
}

const char *conversation_role_name(enum conversation_role role)
{
    return conversation_role_names[role];
}

gboolean conversation_role_parse(const char *name, enum conversation_role *role_r)
{
    for (guint i = 0; name != NULL && i < G_N_ELEMENTS(conversation_role_names); i++)
        if (strcmp(name, conversation_role_names[i]) == 0) {
            *role_r = (enum conversation_role)i;
            return TRUE;
        }
    return FALSE;
}

const char *conversation_thread_name(enum conversation_thread thread)
{
    return conversation_thread_names[thread];
}

/* Does the character at P count as white space (or as a control, which becomes a space)? */
static gboolean conversation_is_space(const char *p)
{
    gunichar c = g_utf8_get_char(p);
    return g_unichar_isspace(c) || g_unichar_iscntrl(c);
}

/* P after white space and invisible characters (zero-width, direction marks). */
static const char *conversation_skip_space(const char *p)
{
    while (*p != '\0' &&
           (conversation_is_space(p) || g_unichar_type(g_utf8_get_char(p)) == G_UNICODE_FORMAT))
        p = g_utf8_next_char(p);
    return p;
}

/* After a marker word: white space, an optional count ([2] or (2)), white space, the colon.
 * The text after the colon, or NULL when P does not go on so. */
static const char *conversation_after_marker(const char *p)
{
    p = conversation_skip_space(p);
    if (*p == '[' || *p == '(') {
        char close = *p == '[' ? ']' : ')';
        const char *digit = p + 1;
        while (g_ascii_isdigit(*digit) && digit - p <= 4)
            digit++;
        if (digit == p + 1 || *digit != close)
            return NULL;
        p = conversation_skip_space(digit + 1);
    }
    return *p == ':' ? p + 1 : NULL;
}

/* P without one leading marker or [tag], or NULL when it starts with neither. */
static const char *conversation_strip_one(const char *p)
{
    if (*p == '[') {
        const char *close = p + 1;
        while (*close != '\0' && *close != ']' && *close != '[' &&
               close - p <= CONVERSATION_TAG_MAX)
            close++;
        return *close == ']' ? close + 1 : NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(conversation_markers); i++) {
        size_t len = strlen(conversation_markers[i]);
        if (g_ascii_strncasecmp(p, conversation_markers[i], len) == 0) {
            const char *rest = conversation_after_marker(p + len);
            if (rest != NULL)
                return rest;
        }
    }
    return NULL;
}

char *conversation_subject_key(const char *subject)
{
    char *valid = text_cut(subject, CONVERSATION_SUBJECT_MAX);
    /* NFKC first: a full-width colon or bracket (Re：) is a colon or a bracket. */
    char *normal = g_utf8_normalize(valid, -1, G_NORMALIZE_ALL_COMPOSE);
    g_free(valid);
    const char *p = conversation_skip_space(normal);
    for (const char *next; (next = conversation_strip_one(p)) != NULL;)
        p = conversation_skip_space(next);
    GString *collapsed = g_string_new(NULL);
    gboolean space = FALSE;
    for (; *p != '\0'; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (g_unichar_type(c) == G_UNICODE_FORMAT)
            continue; /* zero-width and direction marks: invisible, so not part of the key */
        if (conversation_is_space(p)) {
            space = collapsed->len > 0;
            continue;
        }
        if (space)
            g_string_append_c(collapsed, ' ');
        space = FALSE;
        g_string_append_unichar(collapsed, c);
    }
    g_free(normal);
    char *folded = g_utf8_casefold(collapsed->str, -1);
    g_string_free(collapsed, TRUE);
    char *key = text_cut(folded, CONVERSATION_KEY_MAX);
    g_free(folded);
    return key;
}

/* Is ID (LEN bytes) fit to be a message-id we look up? */
static gboolean conversation_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > CONVERSATION_MESSAGE_ID_MAX || !g_utf8_validate(id, (gssize)len, NULL))
        return FALSE;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>')
            return FALSE;
    }
    return TRUE;
}

/* The message-ids of VALUE, in order, appended to IDS. */
static void conversation_ids_of(const char *value, GPtrArray *ids)
{
    if (value == NULL)
        return;
    gboolean bracketed = strchr(value, '<') != NULL;
    const char *p = value;
    while (*p != '\0') {
        const char *start, *end;
        if (bracketed) {
            if ((start = strchr(p, '<')) == NULL)
                break;
            start++;
            end = start + strcspn(start, "<>");
            p = *end == '>' ? end + 1 : end;
            if (*end != '>')
                continue; /* cut or broken: not an id */
        } else {
            start = p + strspn(p, " \t\r\n,");
            end = start + strcspn(start, " \t\r\n,");
            p = end;
        }
        if (conversation_id_valid(start, (size_t)(end - start)))
            g_ptr_array_add(ids, g_strndup(start, (gsize)(end - start)));
    }
}

static void conversation_add_unique(GPtrArray *ids, const char *id)
{
    if (ids->len >= CONVERSATION_REFERENCES_MAX)
        return;
    for (guint i = 0; i < ids->len; i++)
        if (strcmp(g_ptr_array_index(ids, i), id) == 0)
            return;
    g_ptr_array_add(ids, g_strdup(id));
}

GPtrArray *conversation_references(const char *in_reply_to, const char *references)
{
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    GPtrArray *found = g_ptr_array_new_with_free_func(g_free);
    conversation_ids_of(in_reply_to, found);
    for (guint i = 0; i < found->len; i++)
        conversation_add_unique(ids, g_ptr_array_index(found, i));
    g_ptr_array_set_size(found, 0);
    conversation_ids_of(references, found);
    for (guint i = found->len; i-- > 0 && ids->len < CONVERSATION_REFERENCES_MAX;)
        conversation_add_unique(ids, g_ptr_array_index(found, i));
    g_ptr_array_unref(found);
    return ids;
}

char *conversation_counterpart(const char *envelope_from, const char *from_addr)
{
    const char *address = envelope_from != NULL && *envelope_from != '\0' ? envelope_from
                          : from_addr != NULL                             ? from_addr
                                                                          : "";
    char *valid = text_make_valid_line(address, -1);
    char *lower = g_utf8_strdown(g_strstrip(valid), -1);
    g_free(valid);
    return lower;
}

char *conversation_entry_text(const char *text)
{
    char *valid = text_cut(text, CONVERSATION_TEXT_MAX);
    char *clean = text_clean_lines(valid);
    g_free(valid);
    size_t len = strlen(clean);
    if (len > CONVERSATION_TEXT_MAX) {
        /* Back to the start of the character that the cap cuts. */
        char *cut = clean + CONVERSATION_TEXT_MAX;
        while (cut > clean && ((unsigned char)*cut & 0xc0) == 0x80)
            cut--;
        *cut = '\0';
    }
    GString *trimmed = g_string_new(clean);
    g_free(clean);
    quote_trim(trimmed);
    return g_string_free(trimmed, FALSE);
}

void conversation_entry_free(struct conversation_entry *entry)
{
    if (entry == NULL)
        return;
    g_free(entry->author);
    g_free(entry->text);
    g_free(entry);
}

enum conversation_thread conversation_choose(const struct conversation_found *found,
                                             gboolean by_subject, gint64 window, gint64 now,
                                             gint64 *id_r)
{
    *id_r = 0;
    if (found->by_reference > 0) {
        *id_r = found->by_reference;
        return CONVERSATION_THREAD_REFERENCE;
    }
    if (by_subject && found->by_subject > 0 && found->by_subject_updated_at >= now - window) {
        *id_r = found->by_subject;
        return CONVERSATION_THREAD_SUBJECT;
    }
    return CONVERSATION_THREAD_NEW;
}
