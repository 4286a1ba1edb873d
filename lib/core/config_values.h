/*
 * config_values: the values of the configuration that need more than their key's type.
 *
 * config_values_read_text() reads a file named by a key whose text the programs use (a
 * mailbox's persona_file): at most MAX bytes of valid UTF-8 without NUL bytes.
 * config_values_read_secret() reads a file that holds one secret on one line (an intent's
 * webhook_secret_file): not readable by every user, not empty, at most MAX bytes.
 * config_values_is_language() says whether a [mailbox] language is auto or a BCP 47-style
 * tag: a 2-3 letter language, then optionally a 4-letter script, a 2-letter or 3-digit region
 * and variants (de, en-GB, pt-BR, zh-Hant-TW, sr-Latn, es-419). Each failure is a reason that
 * names the file, for the loader to place at the key's line.
 */
#ifndef MAILTRIAGE_CONFIG_VALUES_H
#define MAILTRIAGE_CONFIG_VALUES_H

#include <stddef.h>

#include <glib.h>

/* 0 and the text in *TEXT_R, or -1 and the reason in *REASON_R. */
int config_values_read_text(const char *path, size_t max, char **text_r,
                            char **reason_r) G_GNUC_WARN_UNUSED_RESULT;
/* 0 and the secret (white space at either end removed) in *SECRET_R, or -1 and the reason. */
int config_values_read_secret(const char *path, size_t max, char **secret_r,
                              char **reason_r) G_GNUC_WARN_UNUSED_RESULT;
/* Free a secret: its bytes are overwritten first. NULL is allowed. */
void config_values_free_secret(char *secret);

gboolean config_values_is_language(const char *tag);

#endif
