/*
 * classification: the classifiers' result type; see classification.h.
 */
#include <string.h>

#include <glib.h>

#include "classification.h"
#include "config.h"

void classification_free(struct classification *classification)
{
    if (classification == NULL)
        return;
    g_free(classification->provider);
    g_free(classification->model);
    g_free(classification->intent);
    g_free(classification->summary);
    g_free(classification->reply);
    g_free(classification->error);
    g_free(classification->raw_answer);
    g_free(classification->reply_error);
    g_free(classification);
}

gboolean classification_intent_allowed(const struct config_mailbox *mailbox, const char *intent)
{
    for (char **name = mailbox->intents; *name != NULL; name++)
        if (strcmp(*name, intent) == 0)
            return TRUE;
    return FALSE;
}
