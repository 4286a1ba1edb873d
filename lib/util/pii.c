/*
 * pii: find personal data in text, replace it by placeholders and back; see pii.h.
 *
 * One pass from left to right tries, at each position, a placeholder-shaped token, a mail
 * address, then (outside URLs) an IBAN, a card number and a phone number; the first that
 * matches is replaced and the pass goes on after it. Every detector only reads ASCII; bytes
 * of other characters count as letters, so nothing is found inside a word.
 */
#include <string.h>

#include <glib.h>

#include "pii.h"

#define PII_KINDS 4
#define PII_MAX_LOCAL 64
#define PII_MAX_DOMAIN 253
#define PII_MAX_IBAN 34
#define PII_MIN_IBAN 15
#define PII_MAX_GROUPS 12

struct pii_entry {
    enum pii_kind kind;
    char *placeholder;
    char *value;
};

struct pii_map {
    GPtrArray *entries;         /* of struct pii_entry *, in the order met */
    GHashTable *by_key;         /* kind and normalised value -> entry */
    GHashTable *by_placeholder; /* "[EMAIL_1]" -> entry */
    guint count[PII_KINDS];     /* placeholders given, per kind */
};

static const char *const pii_kind_names[PII_KINDS] = {"EMAIL", "PHONE", "IBAN", "CARD"};

/* ---- the map ---- */

static void pii_entry_free(gpointer data)
{
    struct pii_entry *entry = data;
    g_free(entry->placeholder);
    g_free(entry->value);
    g_free(entry);
}

struct pii_map *pii_map_new(void)
{
    struct pii_map *map = g_new0(struct pii_map, 1);
    map->entries = g_ptr_array_new_with_free_func(pii_entry_free);
    map->by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    map->by_placeholder = g_hash_table_new(g_str_hash, g_str_equal);
    return map;
}

void pii_map_free(struct pii_map *map)
{
    if (map == NULL)
        return;
    g_hash_table_unref(map->by_placeholder);
    g_hash_table_unref(map->by_key);
    g_ptr_array_unref(map->entries);
    g_free(map);
}

guint pii_map_size(const struct pii_map *map)
{
    return map->entries->len;
}

const char *pii_map_lookup(const struct pii_map *map, const char *placeholder)
{
    const struct pii_entry *entry = g_hash_table_lookup(map->by_placeholder, placeholder);
    return entry != NULL ? entry->value : NULL;
}

/* VALUE[0..LEN) as the map compares it: addresses without case, numbers by their digits (and
 * letters, for an IBAN), so that one value written two ways is one placeholder. */
static char *pii_key(enum pii_kind kind, const char *value, size_t len)
{
    GString *key = g_string_new(pii_kind_names[kind]);
    g_string_append_c(key, ':');
    for (size_t i = 0; i < len; i++) {
        char c = value[i];
        if (kind == PII_EMAIL)
            g_string_append_c(key, g_ascii_tolower(c));
        else if (g_ascii_isalnum(c) || (c == '+' && kind == PII_PHONE))
            g_string_append_c(key, g_ascii_toupper(c));
    }
    return g_string_free(key, FALSE);
}

/* The placeholder of VALUE[0..LEN), a new one when the map does not know it yet. */
static const char *pii_map_add(struct pii_map *map, enum pii_kind kind, const char *value,
                               size_t len)
{
    char *key = pii_key(kind, value, len);
    struct pii_entry *entry = g_hash_table_lookup(map->by_key, key);
    if (entry != NULL) {
        g_free(key);
        return entry->placeholder;
    }
    entry = g_new0(struct pii_entry, 1);
    entry->kind = kind;
    entry->placeholder = g_strdup_printf("[%s_%u]", pii_kind_names[kind], ++map->count[kind]);
    entry->value = g_strndup(value, len);
    g_ptr_array_add(map->entries, entry);
    g_hash_table_insert(map->by_key, key, entry);
    g_hash_table_insert(map->by_placeholder, entry->placeholder, entry);
    return entry->placeholder;
}

/* ---- character classes ---- */

static gboolean pii_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A letter or digit of a word: ASCII ones, and every byte of another character. */
static gboolean pii_is_word(char c)
{
    return g_ascii_isalnum(c) || (unsigned char)c >= 0x80 || c == '_';
}

/* A character of a local part: ASCII letters, digits and ._%+-, and those of other scripts
 * (RFC 6531). */
static gboolean pii_is_local(char c)
{
    return g_ascii_isalnum(c) || (unsigned char)c >= 0x80 ||
           (c != '\0' && strchr("._%+-", c) != NULL);
}

/* ---- placeholders and URLs ---- */

/* The length of a placeholder-shaped token ([WORD_9]) at P, or 0. */
static size_t pii_placeholder_at(const char *p)
{
    size_t i = 1, letters = 0, digits = 0;
    if (p[0] != '[')
        return 0;
    for (; p[i] >= 'A' && p[i] <= 'Z'; i++)
        letters++;
    if (letters == 0 || p[i++] != '_')
        return 0;
    for (; pii_is_digit(p[i]) && digits < 9; i++)
        digits++;
    return digits > 0 && p[i] == ']' ? i + 1 : 0;
}

/* The length of a URL starting at TEXT[I] (http://, https:// or www.), up to white space or a
 * delimiter, or 0. */
static size_t pii_url_at(const char *text, size_t i)
{
    const char *p = text + i;
    if (i > 0 && pii_is_word(text[i - 1]))
        return 0;
    if (g_ascii_strncasecmp(p, "http://", 7) != 0 && g_ascii_strncasecmp(p, "https://", 8) != 0 &&
        g_ascii_strncasecmp(p, "www.", 4) != 0)
        return 0;
    size_t n = 0;
    while (p[n] != '\0' && !g_ascii_isspace(p[n]) && strchr("<>\"'", p[n]) == NULL)
        n++;
    return n;
}

/* ---- mail addresses ---- */

/* The length of the domain at P: two or more labels, the last of letters only, or 0. */
static size_t pii_domain_at(const char *p)
{
    size_t n = 0, labels = 0, last = 0;
    gboolean last_alpha = FALSE;
    while (n < PII_MAX_DOMAIN && g_ascii_isalnum(p[n])) {
        size_t start = n;
        last_alpha = TRUE;
        while (g_ascii_isalnum(p[n]) || (p[n] == '-' && g_ascii_isalnum(p[n + 1]))) {
            last_alpha = last_alpha && g_ascii_isalpha(p[n]);
            n++;
        }
        labels++;
        last = n - start;
        if (p[n] != '.' || !g_ascii_isalnum(p[n + 1]))
            break;
        n++;
    }
    return labels >= 2 && last >= 2 && last_alpha ? n : 0;
}

static size_t pii_email_at(const char *text, size_t i)
{
    if ((i > 0 && pii_is_local(text[i - 1])) || !pii_is_local(text[i]) || text[i] == '.')
        return 0;
    size_t n = i;
    while (pii_is_local(text[n]) && n - i < PII_MAX_LOCAL)
        n++;
    if (text[n] != '@' || text[n - 1] == '.')
        return 0;
    size_t domain = pii_domain_at(text + n + 1);
    return domain > 0 ? n + 1 + domain - i : 0;
}

/* ---- IBANs ---- */

/* Does the ISO 13616 checksum of IBAN (LEN letters and digits, upper case) hold? */
static gboolean pii_iban_valid(const char *iban, size_t len)
{
    unsigned rest = 0;
    for (size_t k = 0; k < len; k++) {
        char c = iban[(k + 4) % len]; /* the first four characters go to the end */
        rest = pii_is_digit(c) ? (rest * 10 + (unsigned)(c - '0')) % 97
                               : (rest * 100 + (unsigned)(c - 'A' + 10)) % 97;
    }
    return rest == 1;
}

/* Ends (offsets in TEXT) after each group of an IBAN-shaped token at TEXT[I]: compact, or in
 * groups of four with single spaces (the last one shorter). The letters and digits go to
 * CHARS. Returns the number of ends. */
static size_t pii_iban_groups(const char *text, size_t i, GString *chars, size_t *ends)
{
    size_t p = i, count = 0;
    for (;;) {
        size_t start = p;
        while (g_ascii_isalnum(text[p]))
            p++;
        size_t run = p - start;
        if (run == 0 || chars->len + run > PII_MAX_IBAN || (count > 0 && run > 4) ||
            pii_is_word(text[p]))
            break;
        for (size_t k = start; k < p; k++)
            g_string_append_c(chars, g_ascii_toupper(text[k]));
        ends[count++] = p;
        if (run != 4 || text[p] != ' ' || !g_ascii_isalnum(text[p + 1]))
            break;
        p++;
    }
    return count;
}

/* An IBAN-shaped token at TEXT[I]: its length (*VALID_R says whether its checksum holds, for
 * the longest run of groups that makes a valid one), or 0 when there is none. */
static size_t pii_iban_at(const char *text, size_t i, gboolean *valid_r)
{
    const char *p = text + i;
    *valid_r = FALSE;
    if ((i > 0 && pii_is_word(text[i - 1])) || !g_ascii_isalpha(p[0]) || !g_ascii_isalpha(p[1]) ||
        !pii_is_digit(p[2]) || !pii_is_digit(p[3]))
        return 0;
    GString *chars = g_string_new(NULL);
    size_t ends[PII_MAX_IBAN];
    size_t count = pii_iban_groups(text, i, chars, ends);
    size_t found = 0, longest = count > 0 ? ends[count - 1] - i : 0;
    if (chars->len < PII_MIN_IBAN)
        longest = 0;
    size_t len = chars->len;
    for (size_t k = count; k > 0 && found == 0; k--) {
        if (len >= PII_MIN_IBAN && pii_iban_valid(chars->str, len))
            found = ends[k - 1] - i;
        if (k > 1)
            len -= ends[k - 1] - ends[k - 2] - 1;
    }
    g_string_free(chars, TRUE);
    *valid_r = found > 0;
    return found > 0 ? found : longest;
}

/* ---- digit groups: card and phone numbers ---- */

struct pii_number {
    size_t start[PII_MAX_GROUPS], len[PII_MAX_GROUPS], end[PII_MAX_GROUPS];
    char sep[PII_MAX_GROUPS]; /* after group k, '\0' when none */
    gboolean paren[PII_MAX_GROUPS];
    size_t groups, digits;
    gboolean plus;
};

/* Read groups of digits at TEXT[I] joined by single separators of SEPS, a group in parentheses
 * too when PARENS. */
static void pii_number_read(const char *text, size_t i, const char *seps, gboolean parens,
                            struct pii_number *n)
{
    memset(n, 0, sizeof(*n));
    size_t p = i;
    if (parens && text[p] == '+') {
        n->plus = TRUE;
        p++;
    }
    while (n->groups < PII_MAX_GROUPS) {
        size_t k = n->groups, q = p;
        gboolean paren = parens && text[p] == '(';
        q += paren;
        while (pii_is_digit(text[q]))
            q++;
        size_t len = q - p - paren;
        if (len == 0 || (paren && (text[q] != ')' || len > 5)))
            break;
        n->start[k] = p + paren;
        n->len[k] = len;
        n->paren[k] = paren;
        n->end[k] = p = q + paren;
        n->digits += len;
        n->groups++;
        char c = text[p];
        gboolean next = c != '\0' && (pii_is_digit(text[p + 1]) || (parens && text[p + 1] == '('));
        if (next && strchr(seps, c) != NULL)
            n->sep[k] = c, p++;
        else if (!(paren && pii_is_digit(c)))
            break;
    }
}

/* Drop the last group of N. */
static void pii_number_drop_last(struct pii_number *n)
{
    n->groups--;
    n->digits -= n->len[n->groups];
    if (n->groups > 0)
        n->sep[n->groups - 1] = '\0';
}

static gboolean pii_luhn(const char *text, const struct pii_number *n)
{
    unsigned sum = 0, position = 0;
    for (size_t k = n->groups; k > 0; k--)
        for (size_t d = n->len[k - 1]; d > 0; d--, position++) {
            unsigned v = (unsigned)(text[n->start[k - 1] + d - 1] - '0');
            if (position % 2 == 1)
                v = v * 2 > 9 ? v * 2 - 9 : v * 2;
            sum += v;
        }
    return sum % 10 == 0;
}

static size_t pii_card_at(const char *text, size_t i)
{
    if ((i > 0 && (pii_is_word(text[i - 1]) || text[i - 1] == '+')) || text[i] < '2' ||
        text[i] > '6')
        return 0;
    struct pii_number n;
    pii_number_read(text, i, " -", FALSE, &n);
    if (n.digits < 13 || n.digits > 19 || pii_is_word(text[n.end[n.groups - 1]]) ||
        (n.groups > 1 && n.sep[0] != n.sep[n.groups - 2]))
        return 0;
    gboolean fours = n.groups > 1;
    for (size_t k = 0; k + 1 < n.groups; k++)
        fours = fours && n.len[k] == 4 && n.sep[k] == n.sep[0];
    fours = fours && n.len[n.groups - 1] <= 4;
    gboolean amex = n.groups == 3 && n.len[0] == 4 && n.len[1] == 6 &&
                    (n.len[2] == 5 || n.len[2] == 4) && n.sep[0] == n.sep[1];
    if (!(n.groups == 1 || fours || amex) || !pii_luhn(text, &n))
        return 0;
    return n.end[n.groups - 1] - i;
}

/* The value of group K of N, as a number (groups are short). */
static unsigned pii_group_value(const char *text, const struct pii_number *n, size_t k)
{
    unsigned v = 0;
    for (size_t d = 0; d < n->len[k] && d < 6; d++)
        v = v * 10 + (unsigned)(text[n->start[k] + d] - '0');
    return v;
}

/* Do groups K, K+1, K+2 of N read as a date (2024-01-15, 15.01.2024, 01/15/24)? */
static gboolean pii_is_date(const char *text, const struct pii_number *n, size_t k)
{
    if (n->sep[k] == '\0' || n->sep[k] != n->sep[k + 1] || strchr(".-/", n->sep[k]) == NULL)
        return FALSE;
    unsigned a = pii_group_value(text, n, k), b = pii_group_value(text, n, k + 1),
             c = pii_group_value(text, n, k + 2);
    size_t la = n->len[k], lb = n->len[k + 1], lc = n->len[k + 2];
    if (la == 4 && lb <= 2 && lc <= 2)
        return b >= 1 && b <= 12 && c >= 1 && c <= 31;
    if (la <= 2 && lb <= 2 && (lc == 4 || lc == 2))
        return a >= 1 && b >= 1 && ((a <= 31 && b <= 12) || (a <= 12 && b <= 31));
    return FALSE;
}

/* Is the number N at TEXT written as a phone number is? */
static gboolean pii_phone_shape(const char *text, const struct pii_number *n)
{
    if (n->digits < 7 || n->digits > 15)
        return FALSE;
    for (size_t k = 0; k + 2 < n->groups; k++)
        if (pii_is_date(text, n, k))
            return FALSE;
    if (n->plus)
        return n->digits >= 8;
    const char *first = text + n->start[0];
    if (!n->paren[0] && first[0] == '0' && first[1] == '0')
        return n->digits >= 10;
    gboolean nanp = (n->groups == 3 && n->len[0] == 3 && n->len[1] == 3 && n->len[2] == 4) ||
                    (n->groups == 4 && n->len[0] == 1 && first[0] == '1' && n->len[1] == 3 &&
                     n->len[2] == 3 && n->len[3] == 4);
    if (nanp)
        return TRUE;
    for (size_t k = 0; k + 1 < n->groups; k++)
        if (n->sep[k] == '.')
            return FALSE; /* a version or an address of the net */
    return first[0] == '0' && n->digits <= 13;
}

/* The word that ends right before END in TEXT (skipping white space and : . #), lowercased,
 * and in *START_R where it starts; "" when none. '#' counts as the word "#". */
static char *pii_word_before(const char *text, size_t end, size_t *start_r)
{
    size_t p = end;
    while (p > 0 && (text[p - 1] == ' ' || text[p - 1] == ':' || text[p - 1] == '.'))
        p--;
    if (p > 0 && text[p - 1] == '#') {
        *start_r = p - 1;
        return g_strdup("#");
    }
    size_t word_end = p;
    while (p > 0 && g_ascii_isalpha(text[p - 1]) && word_end - p < 32)
        p--;
    *start_r = p;
    return g_ascii_strdown(text + p, (gssize)(word_end - p));
}

/* Is the number at TEXT[I] an order number, invoice number and the like by the word before? */
static gboolean pii_after_order_word(const char *text, size_t i)
{
    static const char *const orders[] = {"#",
                                         "order",
                                         "orders",
                                         "invoice",
                                         "inv",
                                         "ticket",
                                         "case",
                                         "ref",
                                         "reference",
                                         "tracking",
                                         "shipment",
                                         "parcel",
                                         "sku",
                                         "item",
                                         "article",
                                         "po",
                                         "contract",
                                         "serial",
                                         "customer",
                                         "account",
                                         "bestellung",
                                         "bestellnr",
                                         "auftrag",
                                         "rechnung",
                                         "vertrag",
                                         "sendung",
                                         "vorgang",
                                         "kunde",
                                         "kundennr",
                                         "commande",
                                         "facture",
                                         "pedido",
                                         "factura",
                                         "ordine",
                                         "kundennummer",
                                         "bestellnummer",
                                         "rechnungsnummer",
                                         "auftragsnummer",
                                         "vertragsnummer",
                                         NULL};
    static const char *const links[] = {"no", "nr", "number", "nummer", "num", "id", NULL};
    size_t start = 0;
    char *word = pii_word_before(text, i, &start);
    if (g_strv_contains(links, word)) {
        g_free(word);
        word = pii_word_before(text, start, &start);
    }
    gboolean order = g_strv_contains(orders, word);
    g_free(word);
    return order;
}

static size_t pii_phone_at(const char *text, size_t i)
{
    if (i > 0 && strchr(" \t\n\r(<[{\"':;,", text[i - 1]) == NULL)
        return 0;
    if (!pii_is_digit(text[i]) && text[i] != '+' && text[i] != '(')
        return 0;
    struct pii_number n;
    pii_number_read(text, i, " -./", TRUE, &n);
    if (n.groups == 0)
        return 0;
    char after = text[n.end[n.groups - 1]];
    if (after == ':' && n.groups > 1) /* a time follows: 030 1234567 10:30 */
        pii_number_drop_last(&n);
    after = text[n.end[n.groups - 1]];
    if (pii_is_word(after) || after == '@' || after == '%' ||
        (after == ',' && pii_is_digit(text[n.end[n.groups - 1] + 1])) ||
        !pii_phone_shape(text, &n) || pii_after_order_word(text, i))
        return 0;
    return n.end[n.groups - 1] - i;
}

/* ---- the passes ---- */

char *pii_redact(struct pii_map *map, const char *text)
{
    text = text != NULL ? text : "";
    GString *out = g_string_sized_new(strlen(text) + 16);
    size_t i = 0, url_end = 0, n;
    while (text[i] != '\0') {
        if (i >= url_end && (n = pii_url_at(text, i)) > 0)
            url_end = i + n;
        gboolean in_url = i < url_end, valid = FALSE;
        enum pii_kind kind = PII_EMAIL;
        if ((n = pii_placeholder_at(text + i)) > 0) {
            char *defused = g_strndup(text + i, n);
            *strchr(defused, '_') = ' ';
            g_string_append(out, defused);
            g_free(defused);
            i += n;
            continue;
        }
        if ((n = pii_email_at(text, i)) > 0)
            valid = TRUE;
        else if (!in_url && (n = pii_iban_at(text, i, &valid)) > 0)
            kind = PII_IBAN;
        else if (!in_url && (n = pii_card_at(text, i)) > 0)
            kind = PII_CARD, valid = TRUE;
        else if (!in_url && (n = pii_phone_at(text, i)) > 0)
            kind = PII_PHONE, valid = TRUE;
        if (n == 0)
            n = 1;
        if (valid)
            g_string_append(out, pii_map_add(map, kind, text + i, n));
        else
            g_string_append_len(out, text + i, (gssize)n);
        i += n;
    }
    return g_string_free(out, FALSE);
}

char *pii_restore(const struct pii_map *map, const char *text)
{
    text = text != NULL ? text : "";
    GString *out = g_string_sized_new(strlen(text) + 16);
    for (size_t i = 0; text[i] != '\0';) {
        size_t n = pii_placeholder_at(text + i);
        char *token = n > 0 ? g_strndup(text + i, n) : NULL;
        const char *value = token != NULL ? pii_map_lookup(map, token) : NULL;
        if (value != NULL)
            g_string_append(out, value);
        else
            g_string_append_len(out, text + i, (gssize)MAX(n, 1));
        i += MAX(n, 1);
        g_free(token);
    }
    return g_string_free(out, FALSE);
}

/* The first IBAN or card number in TEXT (outside URLs), as a reason, or NULL. */
static char *pii_find_payment(const char *text)
{
    size_t i = 0, url_end = 0;
    while (text[i] != '\0') {
        size_t n = i >= url_end ? pii_url_at(text, i) : 0;
        if (n > 0)
            url_end = i + n;
        gboolean valid = FALSE;
        n = i < url_end ? 0 : pii_iban_at(text, i, &valid);
        if (valid)
            return g_strdup("it holds an IBAN");
        if (n == 0 && i >= url_end && pii_card_at(text, i) > 0)
            return g_strdup("it holds a payment card number");
        i += MAX(n, 1);
    }
    return NULL;
}

gboolean pii_reply_is_safe(const struct pii_map *map, const char *text, char **reason_r)
{
    text = text != NULL ? text : "";
    char *reason = NULL;
    for (size_t i = 0; text[i] != '\0' && reason == NULL; i++) {
        size_t n = pii_placeholder_at(text + i);
        if (n == 0)
            continue;
        char *token = g_strndup(text + i, n);
        const struct pii_entry *entry = g_hash_table_lookup(map->by_placeholder, token);
        if (entry == NULL)
            reason = g_strdup_printf("it holds %s, which stands for nothing of the message", token);
        else if (entry->kind == PII_IBAN || entry->kind == PII_CARD)
            reason = g_strdup_printf("it would hold the sender's %s (%s)",
                                     entry->kind == PII_IBAN ? "IBAN" : "card number", token);
        g_free(token);
    }
    if (reason == NULL)
        reason = pii_find_payment(text);
    if (reason_r != NULL)
        *reason_r = reason;
    else
        g_free(reason);
    return reason == NULL;
}
