/*
 * addr_test: the specification of lib/mail/addr.h, one named case per behaviour.
 *
 * addr_is_safe() is given addresses that must pass and the ways an address can smuggle in an
 * option, a header or a second recipient; addr_bare(), addr_domain() and addr_unwrap_srs()
 * get a row per form they meet. role_cases is the list of role and no-reply senders in all
 * their spellings, and of the people who must still get a reply: each row names the rule
 * addr_role_rule() must report, or NULL.
 */
#include <string.h>

#include <glib.h>

#include "addr.h"

/* ---- addr_is_safe ---- */

struct safe_case {
    const char *name;
    const char *address;
    gboolean safe;
};

static const struct safe_case safe_cases[] = {
    {"shortest_address", "a@b", TRUE},
    {"plain_address", "support@example.org", TRUE},
    {"dots_plus_and_subdomains", "first.last+tag@sub.example.co.uk", TRUE},
    {"apostrophe_in_local_part", "o'brien@example.org", TRUE},
    {"empty_is_refused", "", FALSE},
    {"missing_at_is_refused", "support", FALSE},
    {"empty_local_part_is_refused", "@example.org", FALSE},
    {"empty_domain_is_refused", "support@", FALSE},
    {"two_ats_are_refused", "a@b@c", FALSE},
    {"leading_dash_would_be_an_option", "-oQ@example.org", FALSE},
    {"space_is_refused", "sup port@example.org", FALSE},
    {"angle_brackets_are_refused", "<a@b>", FALSE},
    {"crlf_is_refused", "a@b\r\n", FALSE},
    {"header_injection_is_refused", "a@b\nBcc: c@d", FALSE},
    {"tab_is_refused", "a\t@b", FALSE},
    {"quoted_local_part_is_refused", "\"a\"@b", FALSE},
    {"comma_is_refused", "a,b@c", FALSE},
    {"semicolon_is_refused", "a;b@c", FALSE},
    {"colon_is_refused", "a:b@c", FALSE},
    {"comment_is_refused", "a(b)@c", FALSE},
    {"domain_literal_is_refused", "a@[127.0.0.1]", FALSE},
    {"backslash_is_refused", "a\\b@c", FALSE},
    {"non_ascii_is_refused", "caf\xc3\xa9@example.org", FALSE},
    {"del_is_refused", "a@b\x7f", FALSE},
};

static void test_safe_case(gconstpointer data)
{
    const struct safe_case *c = data;
    g_assert_cmpint(addr_is_safe(c->address), ==, c->safe);
}

/* 254 bytes is the longest path of RFC 5321. */
static void test_safe_length_limit(void)
{
    char *local = g_strnfill(ADDR_MAX - strlen("@example.org"), 'a');
    char *longest = g_strconcat(local, "@example.org", NULL);
    char *too_long = g_strconcat("a", longest, NULL);

    g_assert_cmpuint(strlen(longest), ==, 254);
    g_assert_true(addr_is_safe(longest));
    g_assert_false(addr_is_safe(too_long));
    g_free(too_long);
    g_free(longest);
    g_free(local);
}

/* ---- addr_bare ---- */

struct bare_case {
    const char *name;
    const char *text;
    size_t max_len;
    const char *bare;
};

static const struct bare_case bare_cases[] = {
    {"brackets_removed", "<alice@example.com>", 100, "alice@example.com"},
    {"white_space_around_removed", " \t<alice@example.com> ", 100, "alice@example.com"},
    {"without_brackets_unchanged", "alice@example.com", 100, "alice@example.com"},
    {"null_sender_is_empty", "<>", 100, ""},
    {"null_is_empty", NULL, 100, ""},
    {"only_one_pair_removed", "<<a@b>>", 100, "<a@b>"},
    {"unclosed_bracket_stays", "<a@b", 100, "<a@b"},
    {"space_inside_brackets_stays", "< a@b >", 100, " a@b "},
    {"cut_before_brackets_are_seen", "<alice@example.com>", 6, "<alice"},
    {"msg_id_too", "<1234.abc@mx.example.net>", 100, "1234.abc@mx.example.net"},
};

static void test_bare_case(gconstpointer data)
{
    const struct bare_case *c = data;
    char *bare = addr_bare(c->text, c->max_len);
    g_assert_cmpstr(bare, ==, c->bare);
    g_free(bare);
}

/* ---- addr_domain ---- */

struct domain_case {
    const char *name;
    const char *address;
    const char *domain; /* NULL: no domain */
};

static const struct domain_case domain_cases[] = {
    {"after_the_at", "alice@mail.example.com", "mail.example.com"},
    {"after_the_last_at", "a@b@c.example", "c.example"},
    {"case_kept", "alice@Example.COM", "Example.COM"},
    {"empty_after_a_final_at", "alice@", ""},
    {"none_without_an_at", "postmaster", NULL},
};

static void test_domain_case(gconstpointer data)
{
    const struct domain_case *c = data;
    g_assert_cmpstr(addr_domain(c->address), ==, c->domain);
}

/* ---- addr_unwrap_srs ---- */

struct srs_case {
    const char *name;
    const char *address;
    const char *original;
};

static const struct srs_case srs_cases[] = {
    {"srs0", "SRS0=HHH=TT=example.com=alice@forwarder.example", "alice@example.com"},
    {"srs0_lowercase", "srs0=hhh=tt=example.com=alice@forwarder.example", "alice@example.com"},
    {"srs0_plus_separator", "SRS0+HHH=TT=example.com=alice@forwarder.example", "alice@example.com"},
    {"srs0_minus_separator", "SRS0-HHH=TT=example.com=alice@forwarder.example",
     "alice@example.com"},
    {"srs0_keeps_equals_of_a_verp_local_part",
     "SRS0=HHH=TT=lists.example.net=list-bounces+tag=host@fwd.example",
     "list-bounces+tag=host@lists.example.net"},
    {"srs1_unwrapped_through_its_srs0_part",
     "SRS1=HHH=fwd1.example==HHH=TT=example.com=alice@fwd2.example", "alice@example.com"},
    {"plain_address_unchanged", "alice@example.com", "alice@example.com"},
    {"srs_lookalike_unchanged", "srs0@example.com", "srs0@example.com"},
    {"srs0_with_too_few_fields_unchanged", "SRS0=HHH=TT@fwd.example", "SRS0=HHH=TT@fwd.example"},
    {"srs0_without_domain_unchanged", "SRS0=HHH=TT=example.com", "SRS0=HHH=TT=example.com"},
};

static void test_srs_case(gconstpointer data)
{
    const struct srs_case *c = data;
    char *original = addr_unwrap_srs(c->address);
    g_assert_cmpstr(original, ==, c->original);
    g_free(original);
}

/* ---- addr_role_rule: role and no-reply senders in all their spellings ---- */

struct role_case {
    const char *name;
    const char *address;
    const char *rule; /* the rule matched, or NULL: a person, who may get a reply */
};

static const struct role_case role_cases[] = {
    /* Role local parts, also with a sub-address or a VERP tail. */
    {"mailer_daemon", "MAILER-DAEMON@mx.example.net", "mailer-daemon"},
    {"mailer_daemon_with_subaddress", "mailer-daemon+x@mx.example.net", "mailer-daemon"},
    {"postmaster", "postmaster@example.net", "postmaster"},
    {"postmaster_with_subaddress", "Postmaster+x@example.net", "postmaster"},
    {"abuse", "abuse@example.net", "abuse"},
    {"root", "root@host.example.net", "root"},
    {"owner_dash_list", "owner-users@lists.example.net", "owner-*"},
    {"owner_dash_verp", "owner-users+alice=example.com@lists.example.net", "owner-*"},
    {"list_request", "users-request@lists.example.net", "*-request"},
    {"list_request_with_subaddress", "foo-request+bar@lists.example.net", "*-request"},
    {"list_request_verp_with_dash", "foo-request-alice=example.com@lists.example.net", "*-request"},

    /* Bounce addresses. */
    {"list_bounces", "users-bounces@lists.example.net", "bounces"},
    {"list_bounces_verp", "list-bounces+tag=host.example@lists.example.net", "bounces"},
    {"bounces_verp_with_dash", "bounces-123-alice=example.com@mail.example.net", "bounces"},
    {"bounce", "bounce@mail.example.net", "bounce"},
    {"bounces", "Bounces@mail.example.net", "bounces"},
    {"bounce_with_tag", "bounce-8f3a2c@esp.example.net", "bounce"},
    {"bounce_as_suffix", "news_bounce@example.net", "bounce"},

    /* No-reply in its spellings. */
    {"noreply", "noreply@shop.example.net", "noreply"},
    {"noreply_mixed_case", "NoReply@shop.example.net", "noreply"},
    {"no_reply_with_dash", "no-reply@shop.example.net", "no-reply"},
    {"no_reply_with_underscore", "no_reply@shop.example.net", "no-reply"},
    {"no_reply_with_dot", "No.Reply@shop.example.net", "no-reply"},
    {"donotreply", "donotreply@shop.example.net", "donotreply"},
    {"do_not_reply_with_dashes", "do-not-reply@shop.example.net", "do-not-reply"},
    {"do_not_reply_with_underscores", "DO_NOT_REPLY@shop.example.net", "do-not-reply"},
    {"do_not_reply_with_dots", "do.not.reply@shop.example.net", "do-not-reply"},
    {"noreply_dash_tail", "noreply-billing@shop.example.net", "noreply"},
    {"no_reply_dash_tail", "no-reply-7@shop.example.net", "no-reply"},
    {"noreply_with_digits", "noreply2@shop.example.net", "noreply"},
    {"noreply_as_suffix", "calendar-noreply@example.net", "noreply"},
    {"noreply_with_subaddress", "noreply+orders@shop.example.net", "noreply"},

    /* SRS: the original sender decides. */
    {"srs0_noreply", "SRS0=HHH=TT=example.com=noreply@forwarder.example", "noreply"},
    {"srs0_lowercase_mailer_daemon", "srs0=hhh=tt=example.com=mailer-daemon@forwarder.example",
     "mailer-daemon"},
    {"srs0_plus_separator", "SRS0+HHH=TT=example.com=postmaster@forwarder.example", "postmaster"},
    {"srs0_of_a_verp_address", "SRS0=HHH=TT=lists.example.net=list-bounces+tag=host@fwd.example",
     "bounces"},
    {"srs1_noreply", "SRS1=HHH=fwd1.example==HHH=TT=example.com=noreply@fwd2.example", "noreply"},
    {"srs1_of_a_verp_owner", "SRS1=HHH=fwd1.example==HHH=TT=lists.example.net=owner-users+a=b@fwd2",
     "owner-*"},

    /* People, who must still get a reply. */
    {"person", "alice@example.com", NULL},
    {"bouncer_fan_is_a_person", "bouncer.fan@example.com", NULL},
    {"bounced_is_another_word", "jim.bounced@example.com", NULL},
    {"reply_is_a_person", "reply@example.com", NULL},
    {"norris_is_a_person", "norris@example.com", NULL},
    {"owner_needs_the_dash", "owner@example.com", NULL},
    {"request_needs_a_list_name", "request@example.com", NULL},
    {"rootbeer_is_not_root", "rootbeer@example.com", NULL},
    {"mailer_is_not_mailer_daemon", "mailer@example.com", NULL},
    /* Borderline, decided for the person: a letter after the word makes a name of it. */
    {"noreplyguy_is_a_name", "noreplyguy@example.com", NULL},
    {"no_replyguy_is_a_name", "no-replyguy@example.com", NULL},
    {"subaddress_is_not_the_sender", "alice+noreply@example.com", NULL},
    {"srs0_of_a_person", "SRS0=HHH=TT=example.com=alice@forwarder.example", NULL},
    {"srs_lookalike_is_a_person", "srs0@example.com", NULL},
};

static void test_role_case(gconstpointer data)
{
    const struct role_case *c = data;
    g_assert_cmpstr(addr_role_rule(c->address), ==, c->rule);
}

/* Register one test per row of TABLE under PREFIX, each row starting with its name. */
#define ADDR_TEST_ADD_TABLE(prefix, table, func)                                                   \
    for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {                                             \
        char *path = g_strdup_printf("/addr/" prefix "/%s", (table)[i].name);                      \
        g_test_add_data_func(path, &(table)[i], func);                                             \
        g_free(path);                                                                              \
    }

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_set_nonfatal_assertions();

    ADDR_TEST_ADD_TABLE("safe", safe_cases, test_safe_case);
    g_test_add_func("/addr/safe/length_limit_is_254_bytes", test_safe_length_limit);
    ADDR_TEST_ADD_TABLE("bare", bare_cases, test_bare_case);
    ADDR_TEST_ADD_TABLE("domain", domain_cases, test_domain_case);
    ADDR_TEST_ADD_TABLE("srs", srs_cases, test_srs_case);
    ADDR_TEST_ADD_TABLE("role", role_cases, test_role_case);
    return g_test_run();
}
