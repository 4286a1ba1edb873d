/*
 * ctl_compose: `mailtriagectl compose`; see ctl_compose.h.
 */
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <json-c/json.h>

#include "action.h"
#include "addr.h"
#include "command.h"
#include "ctl.h"
#include "ctl_compose.h"
#include "db.h"
#include "knowledge.h"
#include "llm.h"
#include "llm_answer.h"
#include "log.h"
#include "staff.h"
#include "text.h"

/* The most characters of instructions taken: they go into every later reply's prompt too. */
#define CTL_COMPOSE_MAX_INSTRUCTIONS 4000

/* The options of compose; GOption writes here. */
static struct {
    char *mailbox;
    char *to;
    char *instructions;
    char *subject;
    gboolean draft;
} ctl_compose_values;

const GOptionEntry ctl_compose_options[] = {
    {"mailbox", 0, 0, G_OPTION_ARG_STRING, &ctl_compose_values.mailbox,
     "The monitored mailbox that writes (required)", "ADDRESS"},
    {"to", 0, 0, G_OPTION_ARG_STRING, &ctl_compose_values.to,
     "The outside address it goes to (required)", "ADDRESS"},
    {"instructions", 0, 0, G_OPTION_ARG_STRING, &ctl_compose_values.instructions,
     "What the message is to say (required); kept for the conversation's later replies", "TEXT"},
    {"subject", 0, 0, G_OPTION_ARG_STRING, &ctl_compose_values.subject,
     "The subject line; without it the model proposes one", "TEXT"},
    {"draft", 0, 0, G_OPTION_ARG_NONE, &ctl_compose_values.draft,
     "File it as a draft for `mailtriagectl draft approve` instead of sending it", NULL},
    {NULL}};

void ctl_compose_options_free(void)
{
    g_free(ctl_compose_values.mailbox);
    g_free(ctl_compose_values.to);
    g_free(ctl_compose_values.instructions);
    g_free(ctl_compose_values.subject);
}

/* Say on the command line that OPTION's VALUE is wrong for WHY; EX_USAGE. */
static int ctl_compose_usage(struct ctl *ctl, const char *option, const char *value,
                             const char *why)
{
    char *shown = text_terminal_line(value != NULL ? value : "");
    command_usage_error(ctl->line->name->str, "%s%s%s: %s", option, *shown != '\0' ? " " : "",
                        shown, why);
    g_free(shown);
    return EX_USAGE;
}

/* The mailbox, the recipient, the instructions and the subject, checked. */
static int ctl_compose_check(struct ctl *ctl, const struct config_mailbox **mailbox_r)
{
    const char *mailbox = ctl_compose_values.mailbox, *to = ctl_compose_values.to;
    const char *instructions = ctl_compose_values.instructions;
    if (mailbox == NULL)
        return ctl_compose_usage(ctl, "--mailbox", NULL, "required");
    if ((*mailbox_r = config_mailbox_find(ctl->cfg, mailbox)) == NULL)
        return ctl_compose_usage(ctl, "--mailbox", mailbox, "not a mailbox of the configuration");
    if (to == NULL)
        return ctl_compose_usage(ctl, "--to", NULL, "required");
    if (!addr_is_safe(to))
        return ctl_compose_usage(ctl, "--to", to, "not a plain address (local@domain)");
    if (!staff_is_outside(ctl->cfg, to))
        return ctl_compose_usage(ctl, "--to", to,
                                 "one of ours (a mailbox, an escalate_to or staff address)");
    if (instructions == NULL || *g_strstrip(ctl_compose_values.instructions) == '\0')
        return ctl_compose_usage(ctl, "--instructions", NULL, "required, and not empty");
    if (!g_utf8_validate(instructions, -1, NULL) ||
        g_utf8_strlen(instructions, -1) > CTL_COMPOSE_MAX_INSTRUCTIONS)
        return ctl_compose_usage(ctl, "--instructions", NULL,
                                 "must be UTF-8 text of at most 4000 characters");
    if (ctl_compose_values.subject != NULL) {
        char *problem = llm_answer_subject_problem(ctl_compose_values.subject);
        int status = problem != NULL
                         ? ctl_compose_usage(ctl, "--subject", ctl_compose_values.subject, problem)
                         : 0;
        g_free(problem);
        return status;
    }
    return 0;
}

/* What the model wrote for REQUEST, or an exit status after saying why there is nothing. */
static int ctl_compose_ask(struct ctl *ctl, const struct llm_compose_request *request,
                           struct llm_composed *composed_r)
{
    llm_global_init();
    struct llm_client *client = llm_client_new(NULL);
    struct llm_meter meter = {ctl->db, 0};
    struct llm_failure failure = {NULL, 0, LLM_FAILURE_TRANSIENT, FALSE, 0};
    int asked = llm_compose(client, request, &meter, composed_r, &failure);
    llm_client_free(client);
    llm_global_cleanup();
    if (asked != LLM_ANSWERED) {
        gboolean later = failure.kind != LLM_FAILURE_CONFIG && failure.kind != LLM_FAILURE_REJECTED;
        log_error("%s; nothing sent%s", failure.reason, later ? ": try again later" : "");
        llm_failure_clear(&failure);
        return later ? EX_TEMPFAIL : EX_FAILED;
    }
    if (composed_r->error != NULL) {
        char *shown = text_quote_for_log(composed_r->error, 300);
        log_error("the model's answer cannot be sent: %s; nothing sent", shown);
        g_free(shown);
        return EX_FAILED;
    }
    return 0;
}

/* The sources the message used, as [{number, heading, path}]. */
static json_object *ctl_compose_sources(const struct knowledge_selection *sel, const GArray *used)
{
    json_object *rows = json_object_new_array();
    for (guint i = 0; used != NULL && i < used->len; i++) {
        int number = g_array_index(used, int, i);
        const struct knowledge_source *source = g_ptr_array_index(sel->sources, number - 1);
        json_object *row = json_object_new_object();
        json_object_object_add(row, "number", json_object_new_int(number));
        json_object_object_add(row, "heading", json_object_new_string(source->heading));
        json_object_object_add(row, "path", json_object_new_string(source->path));
        json_object_array_add(rows, row);
    }
    return rows;
}

static json_object *ctl_compose_id(gint64 id)
{
    return id > 0 ? json_object_new_int64(id) : NULL;
}

/* What was sent, filed or recorded, for a script or a person. */
static void ctl_compose_report(struct ctl *ctl, const struct action_first *first,
                               const struct action_first_outcome *out, json_object *sources)
{
    static const char *const states[] = {"sent", "draft", "shadow"};
    json_object *report = json_object_new_object();
    json_object_object_add(report, "state", json_object_new_string(states[first->kind]));
    json_object_object_add(report, "message", ctl_compose_id(out->message));
    json_object_object_add(report, "conversation", ctl_compose_id(out->conversation));
    json_object_object_add(report, "draft", ctl_compose_id(out->draft));
    json_object_object_add(report, "message_id", json_object_new_string(out->message_id));
    json_object_object_add(report, "mailbox", json_object_new_string(first->mailbox->address));
    json_object_object_add(report, "to", json_object_new_string(first->recipient));
    json_object_object_add(report, "subject", json_object_new_string(first->subject));
    json_object_object_add(report, "sources", sources);
    if (ctl->options->json) {
        ctl_print_json(report);
        return;
    }
    if (first->kind == ACTION_FIRST_SEND)
        printf("sent to <%s>: message %" G_GINT64_FORMAT ", conversation %" G_GINT64_FORMAT "\n",
               first->recipient, out->message, out->conversation);
    else if (first->kind == ACTION_FIRST_DRAFT)
        printf("filed as draft %" G_GINT64_FORMAT " (mailtriagectl draft approve %" G_GINT64_FORMAT
               "): message %" G_GINT64_FORMAT ", conversation %" G_GINT64_FORMAT "\n",
               out->draft, out->draft, out->message, out->conversation);
    else
        printf("mode shadow: recorded as message %" G_GINT64_FORMAT ", nothing sent\n",
               out->message);
    printf("message-id: <%s>\n", out->message_id);
    char *subject = text_terminal_line(first->subject);
    printf("subject: %s\n", subject);
    g_free(subject);
    size_t n = json_object_array_length(sources);
    printf("sources: %s\n", n == 0 ? "none" : "");
    for (size_t i = 0; i < n; i++) {
        json_object *row = json_object_array_get_idx(sources, i);
        char *line = g_strdup_printf("  [%d] %s (%s)",
                                     json_object_get_int(json_object_object_get(row, "number")),
                                     ctl_json_text(row, "heading"), ctl_json_text(row, "path"));
        ctl_print_clean(line);
        g_free(line);
    }
    json_object_put(report);
}

/* The exit status of OUT, after saying what went wrong. */
static int ctl_compose_failure(const struct action_first_outcome *out)
{
    log_error("%s", out->error);
    return out->status == ACTION_FIRST_BUSY || out->status == ACTION_FIRST_TRY_LATER ? EX_TEMPFAIL
                                                                                     : EX_FAILED;
}

/* Send (or file) what the model wrote. */
static int ctl_compose_act(struct ctl *ctl, struct action_first *first,
                           const struct knowledge_selection *sel)
{
    char *who = ctl_operator();
    first->who = who;
    struct action_first_outcome out;
    action_send_first(ctl->db, first, &out);
    int status = 0;
    if (out.status == ACTION_FIRST_DONE)
        ctl_compose_report(ctl, first, &out, ctl_compose_sources(sel, first->sources));
    else
        status = ctl_compose_failure(&out);
    action_first_outcome_clear(&out);
    g_free(who);
    return status;
}

int ctl_compose(struct ctl *ctl)
{
    const struct config_mailbox *mailbox = NULL;
    int status = ctl_compose_check(ctl, &mailbox);
    if (status != 0)
        return status;
    if (mailbox->mode == CONFIG_MODE_OFF) {
        log_error("mailbox %s is in mode off: it records mail and sends none; nothing composed",
                  mailbox->address);
        return EX_FAILED;
    }
    struct knowledge_selection *sel = NULL;
    char *error = NULL;
    if (knowledge_select(ctl->db, ctl->cfg, mailbox, ctl_compose_values.instructions, &sel,
                         &error) != 0)
        return ctl_db_failure(DB_ERROR, error);
    struct llm_compose_request request = {ctl->cfg,
                                          mailbox,
                                          ctl_compose_values.to,
                                          ctl_compose_values.instructions,
                                          ctl_compose_values.subject,
                                          sel};
    struct llm_composed composed;
    status = ctl_compose_ask(ctl, &request, &composed);
    if (status == 0) {
        struct action_first first = {
            .cfg = ctl->cfg,
            .mailbox = mailbox,
            .recipient = ctl_compose_values.to,
            .instructions = ctl_compose_values.instructions,
            .subject = composed.subject,
            .body = composed.body,
            .sources = composed.sources,
            .kind = mailbox->mode == CONFIG_MODE_SHADOW ? ACTION_FIRST_SHADOW
                    : mailbox->mode == CONFIG_MODE_DRAFT || ctl_compose_values.draft
                        ? ACTION_FIRST_DRAFT
                        : ACTION_FIRST_SEND,
        };
        status = ctl_compose_act(ctl, &first, sel);
    }
    llm_composed_clear(&composed);
    knowledge_selection_free(sel);
    return status;
}
