/*
 * llm_answer_fuzz: any text as a model's answer (llm_answer.h), then shown to staff.
 *
 * The answer never fails to parse into a classification whose intent is in the mailbox's list
 * or `unknown` (a usable one with a confidence from min_confidence to 1), with summary, reply
 * and error as valid UTF-8; read as the answer to the request for the reply, with two sources
 * given, it gives a text in valid UTF-8 or the reason why none, and sources that are distinct
 * numbers, at most 32, of which exactly those the prompt gave (1 and 2) have a file. Put into an
 * escalation as the classification and the proposed reply, what the model wrote cannot add a
 * line of ours: the lines above the proposal are our labels, each once, and every line of the
 * proposal is indented.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "classification.h"
#include "compose.h"
#include "config.h"
#include "fuzz.h"
#include "knowledge.h"
#include "llm_answer.h"
#include "llm_provider.h"
#include "mime.h"

static struct config *llm_answer_fuzz_cfg;
static struct mime_message *llm_answer_fuzz_msg;
static struct knowledge_selection llm_answer_fuzz_sources;

static const char llm_answer_fuzz_ini[] =
    "[daemon]\n"
    "hostname = mx.fuzz.test\n"
    "[llm]\n"
    "model = fuzz-model\n"
    "min_confidence = 0.5\n"
    "[mailbox support@site.test]\n"
    "escalate_to = staff@site.test\n"
    "intents = send_info, create_account, speak_to_human, unknown\n";

static const char llm_answer_fuzz_eml[] = "From: Ann <ann@customer.test>\n"
                                          "Subject: Prices\n"
                                          "Message-ID: <p1@customer.test>\n"
                                          "\n"
                                          "What is the price of the basic plan?\n";

/* The first lines of an escalation's text, in order; each label at most once. */
static const char *const llm_answer_fuzz_labels[] = {
    "Mailbox:    ", "From:       ", "Envelope:   ", "Subject:    ", "Intent:     ",
    "Summary:    ", "Note:       ", "Why:        ", "Queue id:   "};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_gmime();
    llm_answer_fuzz_cfg = fuzz_config(llm_answer_fuzz_ini);
    struct mime_limits limits;
    mime_limits_default(&limits);
    char *error = NULL;
    if (mime_parse(llm_answer_fuzz_eml, strlen(llm_answer_fuzz_eml), &limits, &llm_answer_fuzz_msg,
                   &error) < 0)
        fuzz_fail(__FILE__, __LINE__, error);
    llm_answer_fuzz_sources.sources = g_ptr_array_new();
    static char path1[] = "/kb/prices.md", path2[] = "/kb/account.md";
    static char heading1[] = "Prices", heading2[] = "";
    static char text1[] = "From 10 EUR.", text2[] = "Sign up online.";
    static struct knowledge_source given[] = {{1, path1, heading1, text1, FALSE, 0},
                                              {2, path2, heading2, text2, FALSE, 0}};
    for (size_t i = 0; i < G_N_ELEMENTS(given); i++)
        g_ptr_array_add(llm_answer_fuzz_sources.sources, &given[i]);
    return 0;
}

/* REPLY's sources are as llm_answer.h promises. */
static void llm_answer_fuzz_check_sources(const struct llm_reply *reply)
{
    FUZZ_CHECK(reply->error == NULL || reply->sources == NULL);
    if (reply->sources == NULL)
        return;
    FUZZ_CHECK(reply->sources->len <= 32);
    for (guint i = 0; i < reply->sources->len; i++) {
        const struct classification_source *source = g_ptr_array_index(reply->sources, i);
        FUZZ_CHECK((source->path != NULL) == (source->number == 1 || source->number == 2));
        for (guint j = 0; j < i; j++)
            FUZZ_CHECK(((const struct classification_source *)g_ptr_array_index(reply->sources, j))
                           ->number != source->number);
    }
}

/* The lines of the escalation's text up to the blank line after "Queue id:" are our labels,
 * in order, each once; then the proposal's lines are indented up to our next separator. */
static void llm_answer_fuzz_check_text(const char *text)
{
    char **lines = g_strsplit(text, "\n", -1);
    size_t next_label = 0, i = 2; /* the greeting and a blank line come first */
    for (; lines[i] != NULL && *lines[i] != '\0'; i++) {
        while (next_label < G_N_ELEMENTS(llm_answer_fuzz_labels) &&
               !g_str_has_prefix(lines[i], llm_answer_fuzz_labels[next_label]))
            next_label++;
        FUZZ_CHECK(next_label < G_N_ELEMENTS(llm_answer_fuzz_labels));
        next_label++;
    }
    for (; lines[i] != NULL && strcmp(lines[i], "----- Proposed reply -----") != 0; i++)
        ;
    FUZZ_CHECK(lines[i] != NULL);
    for (i++; lines[i] != NULL && strcmp(lines[i], "----- Message text -----") != 0; i++)
        FUZZ_CHECK(*lines[i] == '\0' || g_str_has_prefix(lines[i], "    "));
    FUZZ_CHECK(lines[i] != NULL);
    /* The message text is ours (a fixed one): nothing of the model's comes after it. */
    for (i++; lines[i] != NULL; i++)
        FUZZ_CHECK(strcmp(lines[i], "----- Message text -----") != 0 &&
                   strcmp(lines[i], "----- Proposed reply -----") != 0);
    g_strfreev(lines);
}

static void llm_answer_fuzz_escalate(const struct config_mailbox *mailbox,
                                     const struct classification *c)
{
    struct compose_escalation escalation = {llm_answer_fuzz_cfg,
                                            mailbox,
                                            llm_answer_fuzz_msg,
                                            7,
                                            "ann@customer.test",
                                            c,
                                            "fuzz",
                                            c->reply};
    char *id = NULL;
    size_t len = 0;
    char *mail = compose_escalation(&escalation, &id, &len);
    GMimeMessage *parsed = fuzz_parse_message(mail, len);
    FUZZ_CHECK(parsed != NULL);
    GMimeObject *top = g_mime_message_get_mime_part(parsed);
    FUZZ_CHECK(GMIME_IS_MULTIPART(top));
    GMimeObject *first = g_mime_multipart_get_part(GMIME_MULTIPART(top), 0);
    FUZZ_CHECK(GMIME_IS_TEXT_PART(first));
    char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(first));
    llm_answer_fuzz_check_text(text);
    g_free(text);
    g_object_unref(parsed);
    g_free(mail);
    g_free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct config_mailbox *mailbox =
        config_mailbox_find(llm_answer_fuzz_cfg, "support@site.test");
    struct llm_request request = {
        .cfg = llm_answer_fuzz_cfg, .mailbox = mailbox, .msg = llm_answer_fuzz_msg};
    char *content = fuzz_string(data, size);
    struct classification *c = llm_answer_parse(&request, "openai", content);
    FUZZ_CHECK(c != NULL && c->intent != NULL);
    FUZZ_CHECK(classification_intent_allowed(mailbox, c->intent));
    FUZZ_CHECK(c->valid || strcmp(c->intent, "unknown") == 0);
    /* An answer refused for its confidence keeps the number the model gave, for the record. */
    FUZZ_CHECK(isfinite(c->confidence));
    FUZZ_CHECK(!c->valid ||
               (c->confidence >= llm_answer_fuzz_cfg->llm.min_confidence && c->confidence <= 1));
    FUZZ_CHECK(g_utf8_validate(c->summary, -1, NULL) && g_utf8_validate(c->reply, -1, NULL));
    FUZZ_CHECK(c->error == NULL || g_utf8_validate(c->error, -1, NULL));
    /* The same bytes as the answer to the request for the reply: its text, or why none. */
    struct llm_reply reply = {0};
    llm_answer_parse_reply(content, &llm_answer_fuzz_sources, NULL, &reply);
    FUZZ_CHECK(reply.text != NULL && g_utf8_validate(reply.text, -1, NULL));
    FUZZ_CHECK(reply.error == NULL || *reply.text == '\0');
    llm_answer_fuzz_check_sources(&reply);
    g_free(c->reply);
    c->reply = reply.text;
    g_free(reply.error);
    if (reply.sources != NULL)
        g_ptr_array_unref(reply.sources);
    llm_answer_fuzz_escalate(mailbox, c);
    classification_free(c);
    g_free(content);
    return 0;
}
