/*
 * knowledge_cmd: mailtriagectl knowledge, the mailboxes' documents as the model gets them.
 *
 *   knowledge list [--mailbox M]      the files indexed: mailbox, path, passages, characters,
 *                                     when indexed, and any warning or error
 *   knowledge search [--mailbox M] TEXT...
 *                                     the numbered sources the model would be given for TEXT
 *                                     (knowledge_select()): file, heading, score and the first
 *                                     line of each; says when the whole knowledge base goes,
 *                                     and the characters against [llm] max_knowledge_chars.
 *                                     Without --mailbox, the first mailbox with knowledge
 *   knowledge reindex                 knowledge_sync(), what changed; exits 1 when a file
 *                                     could not be read (its old passages stay)
 *
 * list and search read the database read-only; reindex writes. --json prints everything.
 */
#ifndef MAILTRIAGECTL_KNOWLEDGE_CMD_H
#define MAILTRIAGECTL_KNOWLEDGE_CMD_H

#include "command.h"

/* The sub-commands of `knowledge`, for the command table. */
extern const struct command knowledge_cmd_commands[];

#endif
