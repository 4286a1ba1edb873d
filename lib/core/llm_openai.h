/*
 * llm_openai: the OpenAI-compatible provider (POST {url}/chat/completions with libcurl).
 *
 * Puts the prompt (prompt.h) of either step, the classification or the reply, into the
 * request of REFERENCE.md section 3 (the system instructions, then the messages, and the
 * answer schema as strict json_schema structured output), sends it within [llm] timeout,
 * reads at most max_response_size bytes, keeps any Retry-After of a refusal to serve, and
 * takes the model's text out of the chat completion for llm_answer.h to check. A response
 * that is larger, or not a chat completion, is an answer all the same: `unknown` (for the
 * reply: no text, with the reason), which a person looks at. A failure says its kind
 * (llm_failure_kind) and the server's own words (the message of its JSON error). Used only
 * through llm.h, as the row "openai".
 */
#ifndef MAILTRIAGE_LLM_OPENAI_H
#define MAILTRIAGE_LLM_OPENAI_H

#include <stddef.h>

#include <curl/curl.h>

#include "llm_provider.h"
#include "pii.h"

extern const struct llm_provider llm_openai_provider;

/* Exposed for the unit tests: the request bodies of both steps, the classification a
 * response body gives (never NULL), the reply it gives, and the kind of failure a transfer
 * that ended with RC and HTTP_STATUS is. */
char *llm_openai_request_body(const struct llm_request *request);
char *llm_openai_reply_body(const struct llm_request *request,
                            const struct classification *classification);
struct classification *llm_openai_parse_response(const struct llm_request *request,
                                                 const char *body, size_t len);
void llm_openai_parse_reply(const struct llm_request *request, const struct pii_map *pii,
                            const char *body, size_t len, struct llm_reply *reply_r);
/* The body of a compose request, and the answer to one checked into *COMPOSED_R. */
char *llm_openai_compose_body(const struct llm_compose_request *request);
void llm_openai_parse_compose(const struct llm_compose_request *request, const char *body,
                              size_t len, struct llm_composed *composed_r);
enum llm_failure_kind llm_openai_failure_kind(CURLcode rc, long http_status);

#endif
