/*
 * llm_openai: the OpenAI-compatible provider (POST {url}/chat/completions with libcurl).
 *
 * Puts the prompt (prompt.h) into the request of REFERENCE.md section 3 (the system
 * instructions, then the messages, and the answer schema as strict json_schema structured
 * output), sends it within [llm] timeout, reads at most max_response_size bytes, keeps any
 * Retry-After of a refusal to serve, and takes the model's text out of the chat completion
 * for llm_answer.h to check. Used only through llm_classify(), as the row "openai".
 */
#ifndef MAILTRIAGE_LLM_OPENAI_H
#define MAILTRIAGE_LLM_OPENAI_H

#include <stddef.h>

#include "llm_provider.h"

extern const struct llm_provider llm_openai_provider;

/* Exposed for the unit tests: the request body, and the validation of a response body. */
char *llm_openai_request_body(const struct llm_request *request);
int llm_openai_parse_response(const struct llm_request *request, const char *body, size_t len,
                              struct classification **result_r, char **error_r);

#endif
