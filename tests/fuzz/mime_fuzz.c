/*
 * mime_fuzz: any bytes through mime_parse(), with the promises of mime.h checked.
 *
 * A parse either fails with a reason or yields fields that are valid UTF-8 within their caps,
 * header values on one line without a control character (they end up in our headers and
 * tables), the raw bytes kept exactly as given, at most max_attachments attachments with file
 * names that name no directory. The header lookups and the dump run on every parsed message.
 */
#include <string.h>

#include <glib.h>

#include "fuzz.h"
#include "mime.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init_gmime();
    return 0;
}

/* VALUE, when set, is one clean line of at most CAP bytes. */
static void mime_fuzz_check_line(const char *value, size_t cap)
{
    if (value == NULL)
        return;
    FUZZ_CHECK(strlen(value) <= cap);
    FUZZ_CHECK(!fuzz_has_control(value, strlen(value)));
}

static void mime_fuzz_check(const struct mime_message *msg, const uint8_t *data, size_t size)
{
    const struct mime_limits *limits = &msg->limits;
    const char *const lines[] = {msg->from_addr,  msg->from_name,  msg->reply_to_addr,
                                 msg->subject,    msg->message_id, msg->in_reply_to,
                                 msg->references, msg->date};
    for (size_t i = 0; i < G_N_ELEMENTS(lines); i++)
        mime_fuzz_check_line(lines[i], limits->max_header);
    FUZZ_CHECK(msg->from_addr == NULL || strchr(msg->from_addr, '@') != NULL);
    FUZZ_CHECK(msg->text != NULL && g_utf8_validate(msg->text, -1, NULL));
    FUZZ_CHECK(msg->quoted == NULL || g_utf8_validate(msg->quoted, -1, NULL));
    FUZZ_CHECK(strlen(msg->text) + (msg->quoted != NULL ? strlen(msg->quoted) : 0) <=
               limits->max_text);
    FUZZ_CHECK(msg->attachments->len <= limits->max_attachments);
    for (guint i = 0; i < msg->attachments->len; i++) {
        const struct mime_attachment *a = g_ptr_array_index(msg->attachments, i);
        mime_fuzz_check_line(a->filename, 255);
        FUZZ_CHECK(a->filename == NULL || strpbrk(a->filename, "/\\") == NULL);
        mime_fuzz_check_line(a->content_type, 127);
        FUZZ_CHECK(a->text == NULL || g_utf8_validate(a->text, -1, NULL));
    }
    FUZZ_CHECK(msg->raw->len == size && memcmp(msg->raw->data, data, size) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mime_limits limits;
    mime_limits_default(&limits);
    struct mime_message *msg = NULL;
    char *error = NULL;
    if (mime_parse((const char *)data, size, &limits, &msg, &error) < 0) {
        FUZZ_CHECK(error != NULL && msg == NULL);
        g_free(error);
        return 0;
    }
    mime_fuzz_check(msg, data, size);
    static const char *const names[] = {"Received", "Auto-Submitted", "List-Id", "X-Spam-Flag"};
    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        GPtrArray *values = mime_header_all(msg, names[i]);
        for (guint j = 0; j < values->len; j++)
            mime_fuzz_check_line(g_ptr_array_index(values, j), limits.max_header);
        g_ptr_array_unref(values);
    }
    GString *dump = g_string_new(NULL);
    mime_message_dump(msg, dump);
    FUZZ_CHECK(g_utf8_validate(dump->str, (gssize)dump->len, NULL));
    g_string_free(dump, TRUE);
    mime_message_free(msg);
    return 0;
}
