/*
 * template: reply templates with {{variable}} placeholders.
 *
 * The known variables are reply, sender_name, original_subject, mailbox, date and summary;
 * template_check() rejects any other name and unclosed braces, so that a broken template is a
 * configuration error found at load time, never at send time. template_render() substitutes
 * values (NULL renders as nothing) and, for HTML templates, escapes them.
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
};

int template_check(const char *text, char **error_r) G_GNUC_WARN_UNUSED_RESULT;
/* TEXT must have passed template_check(). Returns a new string. */
char *template_render(const char *text, const struct template_values *values, gboolean html);

#endif
