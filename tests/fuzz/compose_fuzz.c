/*
 * compose_fuzz: any bytes as an inbound message, answered and escalated (compose.h).
 *
 * Whatever the message holds, the reply goes To the envelope sender alone and the escalation
 * To the escalation address alone, their headers are our fixed set with printable ASCII
 * values (nothing from the content becomes a header or a recipient), and the escalation's
 * message/rfc822 part is the input byte for byte.
 */
#include <string.h>

#include <glib.h>

#include "classification.h"
#include "compose.h"
#include "config.h"
#include "fuzz.h"
#include "markers.h"
#include "mime.h"

static struct config *compose_fuzz_cfg;

static const char compose_fuzz_ini[] = "[daemon]\n"
                                       "hostname = mx.fuzz.test\n"
                                       "[intent send_info]\n"
                                       "action = reply\n"
                                       "[mailbox support@site.test]\n"
                                       "name = Site Support\n"
                                       "escalate_to = staff@site.test\n"
                                       "signature = Jane\\nSupport\n";

/* Every header we write, and GMime's Content-* of a multipart. */
static const char *const compose_fuzz_headers[] = {"From",
                                                   "To",
                                                   "Reply-To",
                                                   "Subject",
                                                   "Date",
                                                   "Message-ID",
                                                   "In-Reply-To",
                                                   "References",
                                                   "MIME-Version",
                                                   "Content-Type",
                                                   "Content-Transfer-Encoding",
                                                   "Auto-Submitted",
                                                   MARKERS_LOOP_HEADER,
                                                   NULL};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_gmime();
    compose_fuzz_cfg = fuzz_config(compose_fuzz_ini);
    return 0;
}

static void compose_fuzz_reply(const struct compose_reply *reply)
{
    char *id = NULL;
    char *text = compose_reply(reply, &id);
    GMimeMessage *parsed = fuzz_parse_message(text, strlen(text));
    FUZZ_CHECK(parsed != NULL);
    fuzz_check_composed(parsed, compose_fuzz_headers, reply->recipient);
    FUZZ_CHECK(strcmp(g_mime_message_get_message_id(parsed), id) == 0);
    g_object_unref(parsed);
    g_free(text);
    g_free(id);
}

static void compose_fuzz_escalation(const struct compose_escalation *escalation,
                                    const uint8_t *data, size_t size)
{
    char *id = NULL;
    size_t len = 0;
    char *text = compose_escalation(escalation, &id, &len);
    GMimeMessage *parsed = fuzz_parse_message(text, len);
    FUZZ_CHECK(parsed != NULL);
    fuzz_check_composed(parsed, compose_fuzz_headers, escalation->mailbox->escalate_to);
    g_object_unref(parsed);
    const char *attached = NULL;
    size_t attached_len = 0;
    FUZZ_CHECK(fuzz_attached_bytes(text, len, &attached, &attached_len));
    FUZZ_CHECK(attached_len == size && memcmp(attached, data, size) == 0);
    g_free(text);
    g_free(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mime_limits limits;
    mime_limits_default(&limits);
    struct mime_message *msg = NULL;
    char *error = NULL;
    if (mime_parse((const char *)data, size, &limits, &msg, &error) < 0) {
        g_free(error);
        return 0;
    }
    const struct config_mailbox *mailbox =
        config_mailbox_find(compose_fuzz_cfg, "support@site.test");
    struct classification classification = {.provider = "openai",
                                            .model = "fuzz",
                                            .intent = "send_info",
                                            .confidence = 0.9,
                                            .summary = msg->subject,
                                            .reply = msg->text,
                                            .valid = TRUE};
    struct compose_reply reply = {
        compose_fuzz_cfg,    mailbox,        config_intent_find(compose_fuzz_cfg, "send_info"), msg,
        "ann@customer.test", &classification};
    compose_fuzz_reply(&reply);
    /* The sender's own text as the proposed reply: it is as untrusted as a model's. */
    struct compose_escalation escalation = {compose_fuzz_cfg, mailbox,         msg,    1,
                                            msg->from_addr,   &classification, "fuzz", msg->text};
    compose_fuzz_escalation(&escalation, data, size);
    mime_message_free(msg);
    return 0;
}
