/*
 * llm_answer: a model's text answers turned into a classification and a reply, for any
 * provider.
 *
 * llm_answer_parse() takes the JSON object in CONTENT (after any <think>...</think> block,
 * inside any code fence or words around it). Only the intent must be there, and in the
 * mailbox's list; a missing or non-numeric confidence counts as min_confidence, a missing
 * summary as empty, each noted in `error` of a result that stays valid. Anything else
 * unusable (no object or intent, a confidence outside 0..1 or below min_confidence) is
 * `unknown`, valid = FALSE, with the reason. The reply is not in it (reply "", not settled):
 * llm_answer_parse_reply() takes it from the answer to the second request, the string "reply"
 * of its object found the same way, cut to 8000 characters; when the prompt gave sources (a
 * mailbox with knowledge), also the integers of its array "sources", in order, duplicates
 * dropped, at most 32, each with its file and heading when the prompt gave that number and
 * without them when it did not (the decision holds such a reply back, decide.h); anything in
 * the array that is not an integer is no citation, and a missing array names none. With the
 * prompt's PII map, the text is checked by pii_reply_is_safe() (the reason kept as the reply's
 * hold) and then pii_restore()d; llm_answer_restore_summary() restores the summary for staff.
 * All never fail and read only their arguments, so that a fuzz target can drive them.
 * llm_answer_unknown() is the first's result for a reason of the provider's own (a refusal, a
 * truncation). llm_answer_parse_compose() checks the answer to a compose request, which goes
 * to a stranger as it is: anything doubtful makes it unusable rather than mended.
 */
#ifndef MAILTRIAGE_LLM_ANSWER_H
#define MAILTRIAGE_LLM_ANSWER_H

#include "classification.h"
#include "llm_provider.h"
#include "pii.h"

struct classification *llm_answer_parse(const struct llm_request *request, const char *provider,
                                        const char *content);
/* The reply into REPLY_R: its text ("" with the reason in error when there is none), its
 * sources (NULL when GIVEN is NULL: no sources were asked for) and its hold (PII is the prompt's
 * map, NULL when nothing was redacted). Latency and tokens are left alone. */
void llm_answer_parse_reply(const char *content, const struct knowledge_selection *given,
                            const struct pii_map *pii, struct llm_reply *reply_r);
/* CLASSIFICATION's summary with PII's values back (nothing when PII is NULL). */
void llm_answer_restore_summary(struct classification *classification, const struct pii_map *pii);
/* The answer to a compose request into *COMPOSED_R (subject, body, sources; or error): the
 * subject is the staff's when the request has one, else the model's, which must be one line
 * of at most LLM_ANSWER_MAX_SUBJECT characters of valid UTF-8 without control characters
 * (no CR or LF that could start a header of its own); the body must be non-empty and at most
 * LLM_ANSWER_MAX_BODY characters (an answer cut short is not sent); every source number must
 * be one the request gave (a missing "sources" counts as none, and is noted nowhere else).
 * Never fails; reads only its arguments. */
#define LLM_ANSWER_MAX_SUBJECT 200
#define LLM_ANSWER_MAX_BODY 8000
/* Why SUBJECT cannot be the subject line of a first message (as above), or NULL when it can:
 * for the model's subject and the staff's alike. */
char *llm_answer_subject_problem(const char *subject);
void llm_answer_parse_compose(const struct llm_compose_request *request, const char *content,
                              struct llm_composed *composed_r);
/* Takes REASON. */
struct classification *llm_answer_unknown(const struct llm_request *request, const char *provider,
                                          char *reason);

#endif
