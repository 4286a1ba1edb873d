/*
 * ctl_draft: `mailtriagectl draft`, the replies that wait for a person's approval.
 *
 *   draft list [--all]                 replies waiting for approval (all: every draft)
 *   draft show ID [--raw]              one draft: its message, state and the reply (decoded,
 *                                      or exactly as it will be sent)
 *   draft approve ID                   send the reply (once) with the null envelope sender
 *   draft reject ID [--reason TEXT]    never send it
 *
 * approve and reject write an event and an audit line with the operator. ctl_print_reply()
 * prints the text/plain part of a composed mail, as draft show and show (a shadow action) do.
 */
#ifndef MAILTRIAGECTL_CTL_DRAFT_H
#define MAILTRIAGECTL_CTL_DRAFT_H

#include "command.h"

/* The sub-commands of `draft`, ended by a row without name. */
extern const struct command ctl_draft_commands[];

/* The text/plain part of the mail TEXT (the whole text when it is not MIME), for a terminal. */
void ctl_print_reply(const char *text);

#endif
