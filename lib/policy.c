/*
 * policy: the rules that stop an automatic reply before any LLM is asked; see policy.h.
 */
#include <string.h>

#include <glib.h>

#include "policy.h"

static const char *const policy_list_headers[] = {"List-Id", "List-Unsubscribe", "List-Post",
                                                  "List-Help", "List-Owner"};
static const char *const policy_bulk_precedences[] = {"bulk", "junk", "list", "auto_reply"};

/* VALUE without RFC 5322 comments and surrounding space. */
static char *policy_strip_comments(const char *value)
{
    GString *out = g_string_new(NULL);
    int depth = 0;
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')' && depth > 0)
            depth--;
        else if (depth == 0)
            g_string_append_c(out, *p);
    }
    return g_strstrip(g_string_free(out, FALSE));
}

static char *policy_auto_submitted(const struct mime_message *msg)
{
    char *value = mime_header_first(msg, "Auto-Submitted");
    if (value == NULL)
        return NULL;
    char *bare = policy_strip_comments(value);
    char *reason = NULL;
    if (g_ascii_strcasecmp(bare, "no") != 0)
        reason = g_strdup_printf("Auto-Submitted: %.60s (RFC 3834)", bare);
    g_free(bare);
    g_free(value);
    return reason;
}

static char *policy_list_or_bulk(const struct mime_message *msg)
{
    for (size_t i = 0; i < G_N_ELEMENTS(policy_list_headers); i++) {
        char *value = mime_header_first(msg, policy_list_headers[i]);
        if (value != NULL) {
            g_free(value);
            return g_strdup_printf("mailing list mail (%s)", policy_list_headers[i]);
        }
    }
    char *value = mime_header_first(msg, "Precedence");
    if (value == NULL)
        return NULL;
    char *bare = policy_strip_comments(value);
    char *reason = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(policy_bulk_precedences) && reason == NULL; i++)
        if (g_ascii_strcasecmp(bare, policy_bulk_precedences[i]) == 0)
            reason = g_strdup_printf("Precedence: %s", policy_bulk_precedences[i]);
    g_free(bare);
    g_free(value);
    return reason;
}

static gboolean policy_is_our_address(const struct config *cfg, const char *address)
{
    for (guint i = 0; i < cfg->mailboxes->len; i++) {
        const struct config_mailbox *mailbox = g_ptr_array_index(cfg->mailboxes, i);
        if (g_ascii_strcasecmp(mailbox->address, address) == 0 ||
            g_ascii_strcasecmp(mailbox->escalate_to, address) == 0)
            return TRUE;
    }
    return FALSE;
}

char *policy_reply_refusal(const struct config *cfg, const char *envelope_from,
                           const struct mime_message *msg)
{
    if (envelope_from == NULL)
        return g_strdup("unknown envelope sender");
    if (*envelope_from == '\0')
        return g_strdup("null envelope sender (a bounce or a notification)");
    if (!config_address_is_safe(envelope_from))
        return g_strdup("the envelope sender is not a plain mail address");

    char *loop = mime_header_first(msg, POLICY_LOOP_HEADER);
    if (loop != NULL) {
        g_free(loop);
        return g_strdup("our own loop marker " POLICY_LOOP_HEADER " is present");
    }
    if (policy_is_our_address(cfg, envelope_from))
        return g_strdup("the sender is one of our own addresses");

    char *reason = policy_auto_submitted(msg);
    if (reason == NULL)
        reason = policy_list_or_bulk(msg);
    return reason;
}
