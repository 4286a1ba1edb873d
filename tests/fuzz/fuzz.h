/*
 * fuzz: what the fuzz targets of tests/fuzz share.
 *
 * Each target is one file that defines LLVMFuzzerInitialize() and LLVMFuzzerTestOneInput():
 * it feeds any bytes to one parser of the library and checks the parser's contract on the
 * result, aborting through FUZZ_CHECK() when a promise is broken, which libFuzzer reports like
 * a crash. The same file is linked two ways: with libFuzzer (configure --enable-fuzz, `make
 * fuzz`), and with replay.c in every build, so that `make check` runs the seed corpus and
 * every input that once crashed through exactly the same code, under the sanitizers of that
 * build. The helpers here build the fixed configuration the targets need and read back a
 * message mailtriage composed.
 */
#ifndef MAILTRIAGE_FUZZ_H
#define MAILTRIAGE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with the file, line and condition unless COND holds. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

G_GNUC_NORETURN void fuzz_fail(const char *file, int line, const char *what);

/* GMime set up once, and its warnings kept off stderr (hostile input makes many). */
void fuzz_init_gmime(void);

/* The configuration of INI (a text that names no file: intents take the built-in templates),
 * loaded with config_load() from a temporary file; aborts when it does not load. */
struct config *fuzz_config(const char *ini);

/* A NUL-terminated copy of DATA; g_free() it. */
char *fuzz_string(const uint8_t *data, size_t size);

/* Does TEXT (LEN bytes) hold a character that ends or breaks a line, or another control:
 * C0, DEL, C1, U+2028, U+2029? It must be valid UTF-8 (checked first). */
gboolean fuzz_has_control(const char *text, size_t len);

/* MESSAGE (LEN bytes) parsed by GMime; NULL when it is not a message. */
GMimeMessage *fuzz_parse_message(const char *message, size_t len);

/* Check a message we composed: its top-level header names are all in ALLOWED (a NULL-ended
 * list, case-insensitive), it has exactly one To address and it is TO, and every header value
 * is printable ASCII (GMime encoded the rest). */
void fuzz_check_composed(GMimeMessage *message, const char *const *allowed, const char *to);

/* The body of the message/rfc822 part of the multipart/mixed MESSAGE (LEN bytes) as written,
 * found by its boundary in the text itself (the CRLF or LF before a delimiter belongs to the
 * delimiter, RFC 2046 section 5.1.1); FALSE when there is none. */
gboolean fuzz_attached_bytes(const char *message, size_t len, const char **start_r, size_t *len_r);

#endif
