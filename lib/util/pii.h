/*
 * pii: personal data taken out of text before it leaves the site, and put back after.
 *
 * pii_redact() replaces the mail addresses, phone numbers, IBANs and payment card numbers of a
 * text with placeholders, [EMAIL_1], [PHONE_1], [IBAN_1], [CARD_1], numbered per kind in the
 * order met; a value met again (in the same or a later text of the same map) gets the same
 * placeholder, and the map keeps what each stands for. What counts:
 *   - an address: local part of letters (of any script), digits and . _ % + -, an @, a domain
 *     of two or more ASCII labels ending in letters (inside angle brackets and URLs too);
 *   - an IBAN: a country's two letters, two check digits and up to 30 letters or digits,
 *     compact or in groups of four, whose ISO 13616 checksum holds;
 *   - a card number: 13 to 19 digits (compact, or in groups of four, or 4-6-5 or 4-6-4, with
 *     spaces or dashes), first digit 2 to 6, whose Luhn checksum holds;
 *   - a phone number: 7 to 15 digits, written international (+CC..., 00CC...), national with
 *     the trunk prefix 0, or North American (555-123-4567, (555) 123-4567), with spaces, dashes,
 *     slashes, dots (North American only) and parentheses; not a date (2024-01-15, 15.01.2024),
 *     a time, a version or an address of the net (1.2.3.4), a number inside a URL, a number
 *     after '#' or after a word such as order, invoice, ticket or ref (an order number), nor
 *     digits glued to letters.
 * Text already shaped like a placeholder ([WORD_9]) is defused ([WORD 9]), so that only the map
 * makes placeholders. pii_restore() puts the values back into a text the model wrote.
 * pii_reply_is_safe() says whether such a text may go out without a person: not when it holds a
 * placeholder-shaped token the map does not know (the model invented or garbled one), the
 * placeholder of an IBAN or a card (restoring it would mail the number), or an IBAN or card
 * number itself. Pure functions of their arguments; nothing here knows about mail triage.
 */
#ifndef MAILTRIAGE_PII_H
#define MAILTRIAGE_PII_H

#include <glib.h>

enum pii_kind { PII_EMAIL, PII_PHONE, PII_IBAN, PII_CARD };

struct pii_map;

struct pii_map *pii_map_new(void);
void pii_map_free(struct pii_map *map);
/* How many values the map holds. */
guint pii_map_size(const struct pii_map *map);
/* The value PLACEHOLDER ("[EMAIL_1]") stands for, or NULL. */
const char *pii_map_lookup(const struct pii_map *map, const char *placeholder);

/* TEXT (valid UTF-8; NULL counts as "") with its personal data replaced; MAP learns them. */
char *pii_redact(struct pii_map *map, const char *text);
/* TEXT with each placeholder that MAP knows replaced by its value; others stay. */
char *pii_restore(const struct pii_map *map, const char *text);
/* May TEXT, as the model wrote it (before pii_restore()), be sent without a person? FALSE with
 * the reason in *REASON_R (which may be NULL) when not. */
gboolean pii_reply_is_safe(const struct pii_map *map, const char *text, char **reason_r);

#endif
