/*
 * addr_fuzz: any text as an address, through every function of addr.h.
 *
 * addr_is_safe() accepts only what its contract describes (one '@', printable ASCII without
 * the specials, at most ADDR_MAX bytes, no leading '-'), which is what lets an address reach a
 * sendmail argv and a header; addr_bare() stays within its cap; addr_unwrap_srs() never makes
 * an address longer; addr_role_rule() answers for anything.
 */
#include <string.h>

#include <glib.h>

#include "addr.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

static void addr_fuzz_check_safe(const char *text)
{
    size_t len = strlen(text);
    FUZZ_CHECK(len > 0 && len <= ADDR_MAX && text[0] != '-');
    const char *at = strchr(text, '@');
    FUZZ_CHECK(at != NULL && at != text && at[1] != '\0' && strchr(at + 1, '@') == NULL);
    for (const char *p = text; *p != '\0'; p++)
        FUZZ_CHECK(*p > ' ' && *p < 0x7f && strchr("<>()[]\\,;:\"", *p) == NULL);
    FUZZ_CHECK(addr_domain(text) == at + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    if (addr_is_safe(text))
        addr_fuzz_check_safe(text);
    char *bare = addr_bare(text, ADDR_MAX);
    FUZZ_CHECK(strlen(bare) <= ADDR_MAX);
    const char *domain = addr_domain(bare);
    FUZZ_CHECK(domain == NULL || (domain > bare && domain[-1] == '@'));
    char *unwrapped = addr_unwrap_srs(bare);
    FUZZ_CHECK(strlen(unwrapped) <= strlen(bare));
    const char *rule = addr_role_rule(bare);
    FUZZ_CHECK(rule == NULL || *rule != '\0');
    (void)addr_role_rule(text);
    g_free(unwrapped);
    g_free(bare);
    g_free(text);
    return 0;
}
