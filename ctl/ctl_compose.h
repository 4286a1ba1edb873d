/*
 * ctl_compose: `mailtriagectl compose`, the first message of a conversation the site starts.
 *
 *   compose --mailbox ADDRESS --to ADDRESS --instructions TEXT [--subject TEXT] [--draft]
 *
 * The model writes the message under the mailbox's persona and language, from the staff's
 * instructions and the knowledge sources chosen for them (knowledge.h); its answer is checked
 * (llm_answer.h), and action.h sends it with the mailbox as envelope sender, or files it as a
 * draft (--draft, or mode draft) for `draft approve`, or records it as a shadow (mode shadow),
 * opening a conversation that keeps the instructions for the workers' later replies. Exit
 * status: 0 done; 64 a bad command line (a mailbox not configured, a recipient that is ours or
 * not a plain address); 1 mode off, an answer that cannot be sent, an LLM configuration error
 * (the builtin provider), sendmail failed; 75 the LLM or sendmail said try later, or the
 * database stayed busy: nothing was sent. An audit line names the operator.
 */
#ifndef MAILTRIAGECTL_CTL_COMPOSE_H
#define MAILTRIAGECTL_CTL_COMPOSE_H

#include "command.h"

extern const GOptionEntry ctl_compose_options[];
int ctl_compose(struct ctl *ctl);
/* At exit: the option values. */
void ctl_compose_options_free(void);

#endif
