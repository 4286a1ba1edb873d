/*
 * llm_builtin: the keyword classifier, the row "builtin" of llm.c's provider table.
 *
 * The first intent of the mailbox's list with a keyword found as a whole word in the subject
 * or the text wins (case folded, composed characters); otherwise `unknown`. It writes no
 * reply text: the intent's template carries the answer. It never fails and needs no network,
 * so that it also serves as the fallback when the LLM is down (llm_builtin_classify()).
 */
#ifndef MAILTRIAGE_LLM_BUILTIN_H
#define MAILTRIAGE_LLM_BUILTIN_H

#include "llm_provider.h"

extern const struct llm_provider llm_builtin_provider;

struct classification *llm_builtin_classify(const struct llm_request *request);

#endif
