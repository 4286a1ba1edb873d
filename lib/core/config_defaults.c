/*
 * config_defaults: the built-in intents and reply templates; see config_defaults.h.
 */
#include <string.h>

#include <glib.h>

#include "config_defaults.h"
#include "config_model.h"
#include "config_types.h"

/* The intents every mailbox may use without defining them. */
static const struct config_defaults_intent {
    const char *name, *description, *action, *keywords;
} config_defaults_intents[] = {
    {"send_info",
     "The sender asks for information: products, services, prices, plans, opening hours or "
     "documentation.",
     "reply", "price, pricing, prices, cost, quote, plan, plans, brochure, information"},
    {"create_account", "The sender wants to open an account, sign up, register or get access.",
     "reply", "account, sign up, signup, register, registration"},
    {"speak_to_human", "The sender asks to speak to a person, to be called back, or complains.",
     "escalate", "human, person, speak to, call me, phone me, manager, complaint"},
    {"unknown", "Anything else, or when unsure.", "escalate", ""},
};

/* Templates used when an intent names none. */
const char config_defaults_template[] = "Hello {{sender_name}},\n"
                                        "\n"
                                        "{{reply}}\n"
                                        "\n"
                                        "Kind regards,\n"
                                        "{{mailbox}}\n"
                                        "{{signature}}\n"
                                        "\n"
                                        "{{disclaimer}}\n";

const char config_defaults_template_html[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\n"
    "<body>\n"
    "<div style=\"max-width: 600px; font-family: -apple-system, Segoe UI, Roboto, Helvetica, "
    "Arial, sans-serif; font-size: 15px; line-height: 1.5; color: #222;\">\n"
    "<p>Hello {{sender_name}},</p>\n"
    "<div>{{reply}}</div>\n"
    "<p>Kind regards,<br>{{mailbox}}</p>\n"
    "<div style=\"color: #555;\">{{signature}}</div>\n"
    "<div style=\"color: #888; font-size: 12px;\">{{disclaimer}}</div>\n"
    "</div>\n"
    "</body></html>\n";

static const struct config_defaults_intent *config_defaults_intent_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(config_defaults_intents); i++)
        if (strcmp(config_defaults_intents[i].name, name) == 0)
            return &config_defaults_intents[i];
    return NULL;
}

/* KEY of INTENT set to TEXT, one of the values above, which are valid. */
static void config_defaults_set(struct config_intent *intent, const char *key, const char *text)
{
    char *error = NULL;
    if (config_types_parse(config_types_find_key(config_types_intent_keys, key), text, intent,
                           &error) < 0)
        g_error("default intent %s: %s", intent->intent, error); /* cannot happen */
}

struct config_intent *config_defaults_intent_new(const char *name)
{
    const struct config_defaults_intent *def = config_defaults_intent_find(name);
    if (def == NULL)
        return NULL;

    struct config_intent *intent = g_new0(struct config_intent, 1);
    intent->intent = g_strdup(def->name);
    config_types_set_defaults(config_types_intent_keys, intent);
    config_defaults_set(intent, "description", def->description);
    config_defaults_set(intent, "action", def->action);
    config_defaults_set(intent, "keywords", def->keywords);
    intent->template_text = g_strdup(config_defaults_template);
    intent->template_html_text = g_strdup(config_defaults_template_html);
    return intent;
}

void config_defaults_fill_intent(struct config_intent *intent, GKeyFile *keyfile, const char *group)
{
    const struct config_defaults_intent *def = config_defaults_intent_find(intent->intent);
    if (def == NULL)
        return;
    if (!g_key_file_has_key(keyfile, group, "description", NULL))
        config_defaults_set(intent, "description", def->description);
    if (!g_key_file_has_key(keyfile, group, "action", NULL))
        config_defaults_set(intent, "action", def->action);
    if (!g_key_file_has_key(keyfile, group, "keywords", NULL))
        config_defaults_set(intent, "keywords", def->keywords);
}
