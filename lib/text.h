/*
 * text: small operations on UTF-8 text that know nothing about mail or triage.
 *
 * text_cut() keeps at most MAX_CHARS characters of valid UTF-8 TEXT, never splitting a
 * character, and returns a new string (a copy when TEXT is short enough), so that a cap on
 * what we send or store is counted in characters, as [llm] max_input_chars documents.
 */
#ifndef MAILTRIAGE_TEXT_H
#define MAILTRIAGE_TEXT_H

#include <stddef.h>

char *text_cut(const char *text, size_t max_chars);

#endif
