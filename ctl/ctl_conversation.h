/*
 * ctl_conversation: `mailtriagectl conversation`, the conversations and who answers them.
 *
 *   conversation list [--mailbox M] [--status S] [--limit N]
 *                                 the conversations, the latest updated first: id, status,
 *                                 mailbox, counterpart, entries, updated, subject
 *   conversation show ID          one conversation and its whole history: who said what (role
 *                                 and address), when, the text, the sources an answer used
 *   conversation note ID --file MSG
 *                                 MSG (an RFC 5322 message, - for stdin) as what a person of
 *                                 the site wrote; the conversation is then handled by a person
 *   conversation stop ID          no automatic reply in it any more
 *   conversation resume ID        answered automatically again (after stop, or a person's
 *                                 mail or note)
 *
 * The last three write an event of the conversation and an audit line with the operator.
 * Exit statuses are mailtriagectl's: 1 no such conversation, 64 a bad ID, status or option,
 * 66 no database.
 */
#ifndef MAILTRIAGECTL_CTL_CONVERSATION_H
#define MAILTRIAGECTL_CTL_CONVERSATION_H

#include "command.h"

/* The sub-commands of `conversation`, ended by a row without name. */
extern const struct command ctl_conversation_commands[];

#endif
