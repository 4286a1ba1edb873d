/*
 * fuzz: the helpers of the fuzz targets; see fuzz.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "config.h"
#include "fuzz.h"

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: contract broken: %s\n", file, line, what);
    abort();
}

static void fuzz_quiet(const gchar *domain, GLogLevelFlags flags, const gchar *message,
                       gpointer data)
{
}

void fuzz_init_gmime(void)
{
    g_mime_init();
    g_log_set_handler("gmime", G_LOG_LEVEL_MASK, fuzz_quiet, NULL);
}

struct config *fuzz_config(const char *ini)
{
    GError *gerror = NULL;
    char *path = NULL, *error = NULL;
    int fd = g_file_open_tmp("mailtriage-fuzz-XXXXXX.conf", &path, &gerror);
    if (fd < 0) {
        fprintf(stderr, "fuzz_config: %s\n", gerror->message);
        abort();
    }
    close(fd);
    if (!g_file_set_contents(path, ini, -1, &gerror)) {
        fprintf(stderr, "fuzz_config: %s\n", gerror->message);
        abort();
    }
    struct config *cfg = config_load(path, &error);
    g_unlink(path);
    g_free(path);
    if (cfg == NULL) {
        fprintf(stderr, "fuzz_config: %s\n", error);
        abort();
    }
    return cfg;
}

char *fuzz_string(const uint8_t *data, size_t size)
{
    char *text = g_malloc(size + 1);
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';
    return text;
}

gboolean fuzz_has_control(const char *text, size_t len)
{
    FUZZ_CHECK(g_utf8_validate_len(text, len, NULL));
    for (const char *p = text; p < text + len; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029)
            return TRUE;
    }
    return FALSE;
}

GMimeMessage *fuzz_parse_message(const char *message, size_t len)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(message, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *parsed = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    return parsed;
}

static gboolean fuzz_name_in(const char *name, const char *const *allowed)
{
    for (; *allowed != NULL; allowed++)
        if (g_ascii_strcasecmp(name, *allowed) == 0)
            return TRUE;
    return FALSE;
}

void fuzz_check_composed(GMimeMessage *message, const char *const *allowed, const char *to)
{
    GMimeHeaderList *headers = g_mime_object_get_header_list(GMIME_OBJECT(message));
    for (int i = 0; i < g_mime_header_list_get_count(headers); i++) {
        GMimeHeader *header = g_mime_header_list_get_header_at(headers, i);
        const char *raw = g_mime_header_get_raw_value(header);
        FUZZ_CHECK(fuzz_name_in(g_mime_header_get_name(header), allowed));
        for (const char *p = raw != NULL ? raw : ""; *p != '\0'; p++)
            FUZZ_CHECK((*p >= ' ' && *p < 0x7f) || *p == '\t' || *p == '\n');
    }
    InternetAddressList *list = g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_TO);
    FUZZ_CHECK(internet_address_list_length(list) == 1);
    InternetAddress *address = internet_address_list_get_address(list, 0);
    FUZZ_CHECK(INTERNET_ADDRESS_IS_MAILBOX(address));
    FUZZ_CHECK(strcmp(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address)), to) ==
               0);
    FUZZ_CHECK(internet_address_list_length(
                   g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_CC)) == 0);
    FUZZ_CHECK(internet_address_list_length(
                   g_mime_message_get_addresses(message, GMIME_ADDRESS_TYPE_BCC)) == 0);
}

/* The next "\n--BOUNDARY" delimiter line at or after P, before END; NULL when none. */
static const char *fuzz_delimiter(const char *p, const char *end, const char *boundary)
{
    size_t blen = strlen(boundary);
    while (p != NULL && p < end) {
        const char *dash = memmem(p, (size_t)(end - p), "\n--", 3);
        if (dash == NULL)
            return NULL;
        if ((size_t)(end - dash) >= 3 + blen && memcmp(dash + 3, boundary, blen) == 0)
            return dash;
        p = dash + 1;
    }
    return NULL;
}

gboolean fuzz_attached_bytes(const char *message, size_t len, const char **start_r, size_t *len_r)
{
    const char *end = message + len;
    GMimeMessage *parsed = fuzz_parse_message(message, len);
    GMimeObject *top = parsed != NULL ? g_mime_message_get_mime_part(parsed) : NULL;
    const char *boundary =
        GMIME_IS_MULTIPART(top) ? g_mime_multipart_get_boundary(GMIME_MULTIPART(top)) : NULL;
    char *copy = g_strdup(boundary);
    if (parsed != NULL)
        g_object_unref(parsed);
    if (copy == NULL)
        return FALSE;
    /* Our escalations: the text part, then the original; the parts' own text never holds our
     * boundary, which is random. memmem(), not g_strstr_len(): that stops at a NUL byte. */
    const char *first = fuzz_delimiter(message, end, copy);
    const char *second = first != NULL ? fuzz_delimiter(first + 1, end, copy) : NULL;
    const char *headers_end =
        second != NULL ? memmem(second + 1, (size_t)(end - second - 1), "\n\n", 2) : NULL;
    const char *closing = headers_end != NULL ? fuzz_delimiter(headers_end + 1, end, copy) : NULL;
    g_free(copy);
    if (closing == NULL)
        return FALSE;
    *start_r = headers_end + 2;
    *len_r = closing >= *start_r ? (size_t)(closing - *start_r) : 0;
    return TRUE;
}
