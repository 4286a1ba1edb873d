/*
 * text: untrusted text made valid UTF-8 and rid of control characters, for each place it goes.
 *
 * The cleaners return a new string of valid UTF-8 (invalid bytes become U+FFFD; NULL counts
 * as ""). They differ in what counts as a control character and what becomes of it, because
 * each is fitted to where its text lands: a table cell, a mail header, a program's message, a
 * mail body, a terminal, a quoted log field. text_append_strict() is the cleaning of parsed
 * mail (C0, DEL, C1, U+2028/2029, byte order marks), capped in bytes. text_cut() caps a text
 * in characters, never splitting one, so that a cap such as [llm] max_input_chars counts what
 * it documents. Nothing here knows about mail triage.
 */
#ifndef MAILTRIAGE_TEXT_H
#define MAILTRIAGE_TEXT_H

#include <glib.h>

/* How text_append_strict() treats line breaks. */
enum text_strict_mode {
    TEXT_STRICT_LINE, /* a header value: every control becomes a space, white space collapses */
    TEXT_STRICT_BODY, /* body text: keep LF and TAB, CR LF and CR become LF, other controls go */
};

/* At most MAX_CHARS characters of TEXT made valid UTF-8 (NULL counts as ""), as a new string
 * (a copy when it is short enough and valid). */
char *text_cut(const char *text, size_t max_chars);

/* Is C a C0 control byte or DEL? */
gboolean text_is_control_byte(unsigned char c);

/* The first LEN bytes of TEXT (-1: all of it) on one line, for a table cell or a one-line
 * field: every C0 control (CR, LF and TAB too) becomes a space; DEL and C1 stay. */
char *text_make_valid_line(const char *text, gssize len);
/* TEXT as a header value before GMime encodes it: C0 controls and DEL become spaces, and the
 * white space at either end goes. */
char *text_clean_header(const char *text);
/* The first LEN bytes (-1: all) of what a program said, on one line: CR, LF and TAB become
 * spaces and the white space at either end goes; other characters stay as they are. */
char *text_join_lines(const char *text, gssize len);
/* TEXT with every line ended by LF: CR LF and a lone CR become LF. Nothing else changes. */
char *text_unify_line_ends(const char *text);
/* TEXT as plain lines for a mail body: text_unify_line_ends(), then the C0 controls other
 * than TAB and LF, and DEL, removed. */
char *text_clean_lines(const char *text);
/* TEXT for a terminal (it may carry escape sequences): CR LF becomes LF, and every Unicode
 * control character other than LF and TAB (a lone CR too) becomes '?'. */
char *text_clean_for_terminal(const char *text);
/* TEXT on one line for a terminal: text_join_lines(), then text_clean_for_terminal(), so
 * that a field can neither start a line of its own nor send an escape sequence. */
char *text_terminal_line(const char *text);
/* TEXT fit to stand between double quotes in a log line: double quotes become single ones,
 * Unicode control characters become spaces, and after MAX_CHARS characters it is cut and
 * ends in "...". */
char *text_quote_for_log(const char *text, glong max_chars);

/* Append IN (LEN bytes, possibly invalid UTF-8) to OUT as valid UTF-8 cleaned as MODE says,
 * stopping before the appended part grows past CAP bytes. Returns TRUE if input was left out. */
gboolean text_append_strict(GString *out, const char *in, size_t len, size_t cap,
                            enum text_strict_mode mode);
/* VALUE cleaned by text_append_strict() as a header line within CAP bytes, or NULL when VALUE
 * is NULL; sets *TRUNCATED_R when something was left out (never clears it). */
char *text_strict_line(const char *value, size_t cap, gboolean *truncated_r);

#endif
