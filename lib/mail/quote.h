/*
 * quote: what is new in a message body, and what is history.
 *
 * quote_split() takes a cleaned body (valid UTF-8, LF line ends) and consumes it into the new
 * text and the quoted part: "> " lines, an "On ... wrote:" attribution (several languages) and
 * what follows, Outlook "-----Original Message-----" and From:/Sent: blocks, and the signature
 * after "-- ". It is conservative: a forward (Fwd:/FW: subject), a reply interleaved with
 * quotes, or a body that would keep nothing new stays whole in the text. *QUOTED_R is left
 * untouched when nothing is set apart. quote_trim() drops trailing white space and leading
 * blank lines.
 */
#ifndef MAILTRIAGE_QUOTE_H
#define MAILTRIAGE_QUOTE_H

#include <glib.h>

void quote_split(GString *body, const char *subject, char **text_r, char **quoted_r);
void quote_trim(GString *text);

#endif
