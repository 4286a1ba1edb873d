/*
 * llm_openai: the OpenAI-compatible provider (POST {url}/chat/completions with libcurl).
 *
 * Builds the request of REFERENCE.md section 3 (system prompt with persona and the closed
 * intent list, the message delimited as untrusted data, json_schema structured output),
 * sends it within [llm] timeout, reads at most max_response_size bytes, and validates the
 * answer into a classification. Used only through llm_classify().
 */
#ifndef MAILTRIAGE_LLM_OPENAI_H
#define MAILTRIAGE_LLM_OPENAI_H

#include <curl/curl.h>

#include "llm.h"

int llm_openai_classify(CURL *curl, const volatile gint *stop, const struct llm_request *request,
                        struct classification **result_r, struct llm_failure *failure_r);

/* Exposed for the unit tests: the request body, and the validation of a response body. */
char *llm_openai_request_body(const struct llm_request *request);
int llm_openai_parse_response(const struct llm_request *request, const char *body, size_t len,
                              struct classification **result_r, char **error_r);

#endif
