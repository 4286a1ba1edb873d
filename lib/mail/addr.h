/*
 * addr: mail address syntax, and the addresses that belong to machines rather than people.
 *
 * addr_is_safe() accepts only plain local@domain addresses that are safe to hand to sendmail
 * and to repeat in a header; addr_bare() takes the angle brackets off an address (or a msg-id)
 * as an MTA passes it. addr_role_rule() says which role or no-reply rule an address matches,
 * after SRS unwrapping (addr_unwrap_srs()). Addresses are compared as ASCII, case-insensitively
 * where the rules say so. Nothing here knows about mail triage.
 */
#ifndef MAILTRIAGE_ADDR_H
#define MAILTRIAGE_ADDR_H

#include <glib.h>

/* The longest address kept: the longest path of RFC 5321. */
#define ADDR_MAX 254

/* Is ADDRESS a plain address: local@domain, one '@', at most ADDR_MAX bytes, printable ASCII
 * without space, "<>()[]\,;:" or '"', and not starting with '-' (it would read as an option)? */
gboolean addr_is_safe(const char *address);
/* TEXT (NULL is "") cut to MAX_LEN bytes, without the white space at either end and without
 * one pair of angle brackets around it; a new string. */
char *addr_bare(const char *text, size_t max_len);
/* The domain of ADDRESS (what follows its last '@'), or NULL when it has no '@'. */
const char *addr_domain(const char *address);
/* The original address inside an SRS address, or a copy of ADDRESS. SRS0=HASH=TT=DOMAIN=LOCAL
 * (the separator after SRS0 may also be + or -) and SRS1=HASH=FORWARDER==HASH=TT=DOMAIN=LOCAL;
 * LOCAL keeps any '=' of its own (a VERP address). Nested forms are unwrapped too. */
char *addr_unwrap_srs(const char *address);
/* The role or machine sender rule ADDRESS matches, or NULL. Compared case-insensitively on the
 * local part after SRS unwrapping (SRS0 and SRS1), without its sub-address (from the first
 * '+': VERP owner-list+joe=example.org), and also without a '-'-separated VERP tail
 * (list-request-joe=example.org): mailer-daemon, postmaster, abuse, root, owner-* and
 * *-request; and the words noreply, no-reply, donotreply, do-not-reply, bounce and bounces
 * anywhere with no letter touching them, '_' and '.' counting as '-' (no_reply, no.reply-7,
 * calendar-noreply, list-bounces, bounces-12-joe=host). A letter makes another word, so
 * bouncer.fan, noreplyguy and norris are people, as are owner and reply. */
const char *addr_role_rule(const char *address);

#endif
