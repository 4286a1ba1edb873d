/*
 * dsn_fuzz: any bytes as a delivery report, through dsn_read() (dsn.h).
 *
 * The reader never reads past the input (the sanitizers watch: the input is not
 * NUL-terminated), and a report it accepts has a 5.x.x status, at most DSN_MAX_IDS of our
 * Message-IDs, and fields that stay on one line.
 */
#include <string.h>

#include <glib.h>

#include "dsn.h"
#include "fuzz.h"
#include "markers.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly SIZE bytes, so that a read past the end is a heap overflow. */
    char *raw = g_malloc(size > 0 ? size : 1);
    if (size > 0)
        memcpy(raw, data, size);
    struct dsn_report report;
    if (dsn_read(raw, size, &report)) {
        FUZZ_CHECK(report.status != NULL && report.status[0] == '5');
        FUZZ_CHECK(strpbrk(report.status, "\r\n") == NULL);
        FUZZ_CHECK(report.diagnostic == NULL || strpbrk(report.diagnostic, "\r\n") == NULL);
        FUZZ_CHECK(report.message_ids->len <= DSN_MAX_IDS);
        for (guint i = 0; i < report.message_ids->len; i++)
            FUZZ_CHECK(markers_is_our_message_id(g_ptr_array_index(report.message_ids, i)));
        dsn_report_clear(&report);
    }
    g_free(raw);
    return 0;
}
