/*
 * template: reply templates with {{variable}} placeholders.
 *
 * The known variables are reply, sender_name, original_subject, mailbox, date, summary,
 * signature and disclaimer; template_check() rejects any other name and unclosed braces, so
 * that a broken template is a configuration error found at load time, never at send time.
 * template_render() substitutes values (NULL renders as nothing); template_uses() says whether
 * a template holds a variable. For HTML templates every
 * value is escaped (& < > " ' and control characters), so it is safe as text and inside a
 * quoted attribute. reply, signature and disclaimer are running text: each paragraph (lines
 * separated by a blank line) becomes <p>...</p>, so they belong in a block such as <div> or
 * <td>, never inside <p>; within a paragraph, and in the other values, a newline is <br>.
 */
#ifndef MAILTRIAGE_TEMPLATE_H
#define MAILTRIAGE_TEMPLATE_H

#include <glib.h>

struct template_values {
    const char *reply;
    const char *sender_name;
    const char *original_subject;
    const char *mailbox;
    const char *date;
    const char *summary;
    const char *signature;
    const char *disclaimer;
};

int template_check(const char *text, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* Does TEXT, which passed template_check(), hold the variable NAME? */
gboolean template_uses(const char *text, const char *name);
/* TEXT must have passed template_check(). Returns a new string. */
char *template_render(const char *text, const struct template_values *values, gboolean html);

#endif
