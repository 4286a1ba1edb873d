/*
 * context: the database facts the decision needs; see context.h.
 */
#include <glib.h>

#include "context.h"
#include "db.h"
#include "store.h"

/* The sender's history: the rules of decide_history() need nothing else. The message's own
 * replies (ID) are left out: a retried or recovered message whose reply went out in an earlier
 * attempt must not count that reply against itself (and escalate itself as answered). */
static int context_load_history(sqlite3 *db, const struct config *cfg, gint64 id,
                                const struct config_mailbox *mailbox, const char *sender,
                                gint64 now, struct context *context, char **error_r)
{
    const struct config_policy *policy = &cfg->policy;
    int found;
    if (policy->bounce_block > 0) {
        if ((found = store_bounced_since(db, sender, now - policy->bounce_block, error_r)) < 0)
            return found;
        context->bounced = found == 1;
    }
    if (mailbox->reply_interval > 0) {
        found = store_replied_since(db, mailbox->address, sender, now - mailbox->reply_interval, id,
                                    error_r);
        if (found < 0)
            return found;
        context->replied = found == 1;
    }
    gint64 since = now - policy->loop_window;
    if ((found = store_replies_to_since(db, mailbox->address, sender, since, id, error_r)) < 0)
        return found;
    context->replies_from_mailbox = found;
    if ((found = store_replies_to_since(db, NULL, sender, since, id, error_r)) < 0)
        return found;
    context->replies_from_all = found;
    return DB_OK;
}

int context_load(sqlite3 *db, const struct config *cfg, gint64 id,
                 const struct config_mailbox *mailbox, const char *envelope_from, gint64 now,
                 struct context *context_r, char **error_r)
{
    *context_r = (struct context){0};
    int status = db_begin_read(db, error_r);
    if (status != DB_OK)
        return status;
    int found = store_classification_load(db, id, &context_r->classification, error_r);
    status = found < 0 ? found : store_actions_sent(db, id, &context_r->sent_kinds, error_r);
    if (status == DB_OK && envelope_from != NULL && *envelope_from != '\0')
        status = context_load_history(db, cfg, id, mailbox, envelope_from, now, context_r, error_r);
    if (status != DB_OK) {
        db_rollback(db);
        return status;
    }
    return db_commit(db, error_r);
}

gboolean context_was_sent(const struct context *context, enum store_action_kind kind)
{
    return (context->sent_kinds & (1u << kind)) != 0;
}

void context_clear(struct context *context)
{
    g_clear_pointer(&context->classification, classification_free);
}
