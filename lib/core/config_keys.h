/*
 * config_keys: every configuration key of mailtriage, declared once.
 *
 * One X-macro list per group. Each entry is
 *   X(key, TYPE, default, minimum, maximum, choices, doc)
 * TYPE is STRING, PATH, ADDRESS, UINT, DOUBLE, BOOL, ENUM (choices "a|b|c", stored as the index),
 * DURATION (seconds; suffixes s m h d w) or SIZE (bytes; suffixes k M G) or LIST (comma
 * separated). Bounds apply to numbers, durations and sizes. The loader, `mailtriagectl config
 * defaults|show`, mailtriage.conf(5) and contrib/mailtriage.conf.sample all come from these
 * lists; tests/config_docs.sh fails when they drift. Defaults do not depend on how the
 * programs were configured, so that the documentation holds for every build.
 */
#ifndef MAILTRIAGE_CONFIG_KEYS_H
#define MAILTRIAGE_CONFIG_KEYS_H

#define CONFIG_DAEMON_KEYS(X)                                                                      \
    X(database, PATH, "/var/lib/mailtriage/mailtriage.db", 0, 0, NULL,                             \
      "The SQLite database that holds the queue and everything mailtriage saw, decided and "       \
      "sent. Its directory must be writable by every mailtriage program (WAL mode).")              \
    X(socket, STRING, "unix:/var/spool/postfix/mailtriage/mailtriaged.sock", 0, 0, NULL,           \
      "The milter socket in libmilter syntax: unix:/path or inet:PORT@ADDRESS (inet6: too); "      \
      "empty runs the workers without a milter (pipe intake only). The default lies in "           \
      "Postfix's queue directory, where a chrooted smtpd finds it as "                             \
      "unix:mailtriage/mailtriaged.sock.")                                                         \
    X(socket_mode, MODE, "0660", 0, 511, NULL,                                                     \
      "The permissions of a unix milter socket; the MTA's user (postfix) must be able to "         \
      "write it, through socket_group or this mode.")                                              \
    X(socket_group, STRING, "", 0, 0, NULL,                                                        \
      "The group of a unix milter socket; empty keeps the daemon's group (mailtriage, of which "   \
      "the user postfix is made a member).")                                                       \
    X(user, STRING, "", 0, 0, NULL,                                                                \
      "The user the daemon runs as once the socket is bound, when started as root (-u "            \
      "overrides it).")                                                                            \
    X(on_error, ENUM, "accept", 0, 0, "accept|tempfail",                                           \
      "When the milter cannot record a message (database locked past busy_timeout, disk "          \
      "full): accept lets it through untriaged, tempfail answers 451 so the client retries.")      \
    X(add_header, BOOL, "false", 0, 0, NULL,                                                       \
      "The milter adds an X-Mailtriage-Id header with the queue id(s) of the recorded message.")   \
    X(busy_timeout, DURATION, "10s", 1, 600, NULL,                                                 \
      "How long a program waits for the database when another holds its lock; past it the "        \
      "pipe exits 75 so that Postfix retries, and a worker tries again later.")                    \
    X(workers, UINT, "4", 1, 256, NULL,                                                            \
      "Worker threads that process the queue, each with its own database connection.")             \
    X(worker_nice, UINT, "10", 0, 19, NULL,                                                        \
      "How much lower the workers' CPU priority is than the milter's (a nice increment): on a "    \
      "busy host the MTA and the recording of its mail come first, and the backlog drains in "     \
      "the time left. 0 runs them at the daemon's own priority.")                                  \
    X(log_level, ENUM, "info", 0, 0, "debug|info|warning|error",                                   \
      "The least important log level written.")                                                    \
    X(mask_addresses, BOOL, "false", 0, 0, NULL,                                                   \
      "Mask the local part of mail addresses in every log line (j***@example.org): intake, "       \
      "summaries, the steps logged, sendmail's own words, audit lines. Configuration errors, "     \
      "written before the file is read, name the file's addresses as they are.")                   \
    X(hostname, STRING, "", 0, 0, NULL,                                                            \
      "The host name used in Message-IDs and the loop marker; empty means the system's.")          \
    X(max_message_size, SIZE, "10M", 65536, 1073741824, NULL,                                      \
      "The largest message recorded whole; a larger one is recorded cut at this size and "         \
      "marked truncated.")                                                                         \
    X(max_attempts, UINT, "10", 1, 1000, NULL,                                                     \
      "Processing attempts before a message is marked failed.")                                    \
    X(retry_base, DURATION, "1m", 1, 86400, NULL,                                                  \
      "The first retry delay; it doubles with each attempt, with jitter.")                         \
    X(retry_max, DURATION, "1h", 1, 604800, NULL, "The longest retry delay.")                      \
    X(lease_time, DURATION, "10m", 10, 86400, NULL,                                                \
      "How long a claimed message stays with a worker that stopped renewing its lease (its "       \
      "process died or hangs) before it returns to the queue; a live worker renews it every "      \
      "third of this. Must exceed llm.timeout plus sendmail.timeout.")                             \
    X(poll_interval, DURATION, "1s", 1, 60, NULL, "How often idle workers look for due messages.") \
    X(webhook_timeout, DURATION, "30s", 1, 600, NULL,                                              \
      "The longest one webhook POST (action webhook) may take.")                                   \
    X(watch_outbound, BOOL, "false", 0, 0, NULL,                                                   \
      "The milter also records mail from a monitored mailbox or a [policy] staff_addresses "       \
      "address to an outside address (staff answering a correspondent by hand); the daemon "       \
      "adds it to its conversation as what a person wrote, and the conversation is then handled "  \
      "by a person: no more automatic replies until mailtriagectl conversation resume.")

#define CONFIG_LLM_KEYS(X)                                                                         \
    X(provider, ENUM, "builtin", 0, 0, "openai|builtin",                                           \
      "The classifier: openai (any OpenAI-compatible /v1/chat/completions server: OpenAI, "        \
      "Ollama, vLLM, llama.cpp, LiteLLM) or builtin (the intents' keywords).")                     \
    X(url, STRING, "", 0, 0, NULL,                                                                 \
      "The base URL of the OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1; "                \
      "/chat/completions is appended.")                                                            \
    X(model, STRING, "", 0, 0, NULL, "The model name sent with each request.")                     \
    X(api_key_file, PATH, "", 0, 0, NULL,                                                          \
      "A file holding the API key (sent as Authorization: Bearer); empty for none. Keep it "       \
      "readable by mailtriage only: no program starts with a key file every user can read.")       \
    X(timeout, DURATION, "60s", 1, 600, NULL, "The longest an LLM request may take.")              \
    X(max_concurrency, UINT, "4", 1, 256, NULL,                                                    \
      "LLM requests in flight at once, across all workers of the daemon; the workers share as "    \
      "many kept-alive connections to the server.")                                                \
    X(max_attempts, UINT, "3", 1, 100, NULL,                                                       \
      "Failed LLM requests for one message (with back-off between them) before the builtin "       \
      "classifier decides instead.")                                                               \
    X(temperature, DOUBLE, "0", 0, 2, NULL, "The sampling temperature sent with each request.")    \
    X(max_tokens, UINT, "600", 16, 32768, NULL,                                                    \
      "The most tokens the model may answer with, in each request: the classification, and the "   \
      "reply, asked for only for mail that gets the model's text.")                                \
    X(max_input_chars, UINT, "12000", 500, 1000000, NULL,                                          \
      "The most characters of the message's text sent to the model, with the text of its small "   \
      "text attachments (text/plain, text/csv, text/markdown, each under 8 kB) after it.")         \
    X(redact, ENUM, "none", 0, 0, "none|pii",                                                      \
      "What is taken out of the message before it goes to the model: none, or pii (mail "          \
      "addresses, phone numbers, IBANs and payment card numbers become placeholders such as "      \
      "[EMAIL_1], in the From line, the subject, the text and the attachments' text). The "        \
      "model's reply gets the sender's own values back; a reply that would carry an IBAN, a "      \
      "card number or a placeholder the message did not have is not sent automatically.")          \
    X(max_history_messages, UINT, "10", 0, 1000, NULL,                                             \
      "The most earlier messages of the conversation sent to the model with a new one, the "       \
      "newest kept; together with the new message's text within max_input_chars. 0 sends none.")   \
    X(max_knowledge_chars, UINT, "8000", 500, 1000000, NULL,                                       \
      "The most characters of a mailbox's knowledge (headings and text of its passages) given "    \
      "to the model for one message: all of it when it is this small, else the passages that "     \
      "match the message best (at least the best one, cut to fit).")                               \
    X(min_confidence, DOUBLE, "0.5", 0, 1, NULL,                                                   \
      "Answers less confident than this count as the intent unknown.")                             \
    X(max_response_size, SIZE, "1M", 4096, 67108864, NULL,                                         \
      "The largest HTTP response read from the LLM server; a larger answer counts as the "         \
      "intent unknown.")                                                                           \
    X(breaker_threshold, UINT, "5", 1, 1000, NULL,                                                 \
      "Transient failures in a row (connection, DNS, timeout, HTTP 429 or 5xx) after which the "   \
      "circuit breaker opens: no request goes to the endpoint until breaker_cooldown has "         \
      "passed, then one probes it. As many rejected requests in a row (HTTP 400, 413, 422) "       \
      "count as a configuration error.")                                                           \
    X(breaker_cooldown, DURATION, "30s", 1, 3600, NULL,                                            \
      "How long the circuit breaker first stays open, and how long a misconfigured endpoint "      \
      "(HTTP 401, 403, 404, a TLS error) is left alone before a probe; it doubles with each "      \
      "failed probe.")                                                                             \
    X(breaker_cooldown_max, DURATION, "10m", 1, 86400, NULL,                                       \
      "The longest cool-down of the circuit breaker: an endpoint that keeps failing is probed "    \
      "at least this often.")                                                                      \
    X(daily_token_budget, UINT, "0", 0, 4000000000, NULL,                                          \
      "Tokens (prompt and completion, as the server's usage counts them) that all mailtriage "     \
      "programs together may spend per local calendar day, the requests for the classification "   \
      "and for the reply alike; 0 for no limit. Counted in the database, so that a restart does "  \
      "not reset it.")                                                                             \
    X(max_requests_per_minute, UINT, "0", 0, 100000, NULL,                                         \
      "LLM requests that all mailtriage programs together may start in any 60 seconds; 0 for "     \
      "no limit.")                                                                                 \
    X(over_budget, ENUM, "wait", 0, 0, "wait|fallback",                                            \
      "Past daily_token_budget or max_requests_per_minute: wait keeps the message queued, its "    \
      "attempts not counted, until a request may go; fallback lets the builtin classifier "        \
      "decide at once. Either is recorded in the message's events.")

#define CONFIG_SENDMAIL_KEYS(X)                                                                    \
    X(path, PATH, "/usr/sbin/sendmail", 0, 0, NULL,                                                \
      "The sendmail binary that injects replies and escalations; run with an argv, never a "       \
      "shell.")                                                                                    \
    X(timeout, DURATION, "2m", 1, 3600, NULL, "The longest one sendmail run may take.")

#define CONFIG_POLICY_KEYS(X)                                                                      \
    X(trusted_authserv_ids, LIST, "", 0, 0, NULL,                                                  \
      "The authserv-ids (RFC 8601) of the hosts whose Authentication-Results headers are "         \
      "believed, e.g. mx.example.org; headers from any other host are ignored.")                   \
    X(require_auth, ENUM, "none", 0, 0, "none|spf_or_dkim|dmarc",                                  \
      "What the topmost trusted Authentication-Results must show before a reply goes out. The "    \
      "reply goes to the envelope sender, so that is the identity authenticated: spf_or_dkim "     \
      "needs spf=pass for its very domain (smtp.mailfrom) or a dkim=pass whose header.d is "       \
      "aligned with it (the same domain, a parent or a subdomain); dmarc needs that, a "           \
      "dmarc=pass and a From: domain aligned with the envelope sender's, so that the author "      \
      "DMARC vouches for and the address answered are one organisation; none needs nothing "       \
      "more. A DMARC pass for From: alone is never enough: mail an attacker signed for a domain "  \
      "of its own can carry a forged envelope sender. Whatever the value, an explicit failure "    \
      "stops the reply, even for allow_senders: dmarc=fail, or spf=fail for the envelope "         \
      "sender's domain without an aligned DKIM pass.")                                             \
    X(classify_suppressed, BOOL, "false", 0, 0, NULL,                                              \
      "Classify (and record) mail that the policy already stops; it is still not answered. "       \
      "Off saves the tokens.")                                                                     \
    X(allow_senders, LIST, "", 0, 0, NULL,                                                         \
      "Addresses or @domains whose mail skips the spam, authentication and rate rules (never "     \
      "the automatic-mail rules of RFC 3834, nor an explicit authentication failure: see "         \
      "require_auth).")                                                                            \
    X(block_senders, LIST, "", 0, 0, NULL,                                                         \
      "Addresses or @domains that never get an automatic reply nor an escalation.")                \
    X(spam_threshold, DOUBLE, "5", 0, 1000, NULL,                                                  \
      "A SpamAssassin or rspamd score at or above this stops the reply.")                          \
    X(rspamd_spam_actions, LIST, "reject, add header, rewrite subject, soft reject", 0, 0, NULL,   \
      "X-Rspamd-Action values that count as spam.")                                                \
    X(loop_window, DURATION, "10m", 60, 86400, NULL, "The window of the loop caps below.")         \
    X(loop_limit_mailbox, UINT, "10", 1, 10000, NULL,                                              \
      "At most this many automatic mails from one mailbox to one counterpart per loop_window.")    \
    X(loop_limit_total, UINT, "30", 1, 100000, NULL,                                               \
      "At most this many automatic mails to one counterpart from all mailboxes per "               \
      "loop_window.")                                                                              \
    X(bounce_block, DURATION, "60d", 0, 31536000, NULL,                                            \
      "An address that hard-bounced one of our replies gets no automatic reply for this long.")    \
    X(thread_by_subject, BOOL, "false", 0, 0, NULL,                                                \
      "A message that refers to no message of a conversation (In-Reply-To, References) joins the " \
      "latest conversation of the same mailbox and correspondent with the same subject (Re:, "     \
      "Fwd: and [tags] aside) updated within thread_window; off, it starts a new one.")            \
    X(thread_window, DURATION, "30d", 60, 31536000, NULL,                                          \
      "How recent a conversation must be for thread_by_subject to join it.")                       \
    X(staff_addresses, LIST, "", 0, 0, NULL,                                                       \
      "Addresses or @domains of the site's staff: with [daemon] watch_outbound, their mail to an " \
      "outside address (like that of a monitored mailbox) takes its conversation over.")           \
    X(retention_days, UINT, "0", 0, 36500, NULL,                                                   \
      "Days after which a settled message (done or failed, with no draft waiting for approval) "   \
      "loses its content in the database: the message as received, the text of its drafts and "    \
      "the reply text and raw answer of its classifications, the text of its conversation "        \
      "entries (and of what a person wrote as long ago); envelope, subject, classification "       \
      "and actions stay. The daemon's housekeeping applies it about once an hour. 0 keeps "        \
      "everything, the default: with the pipe transport the database may hold the only copy of "   \
      "a message, and deleting mail is the site's decision.")                                      \
    X(metadata_retention_days, UINT, "0", 0, 36500, NULL,                                          \
      "Days after which a settled message is deleted with everything recorded about it "           \
      "(classifications, actions, drafts, events, conversation entries; a conversation goes "      \
      "with its last message), as are the daemon's events, the bounces and the staff "             \
      "messages older than that. 0 keeps them. When set it must be at least retention_days, "      \
      "bounce_block, loop_window and every mailbox's reply_interval, which are counted from "      \
      "these rows.")

#define CONFIG_MAILBOX_KEYS(X)                                                                     \
    X(name, STRING, "", 0, 0, NULL, "The display name in the From header of replies.")             \
    X(persona, STRING,                                                                             \
      "You are the courteous customer service assistant of this mailbox. Answer briefly and "      \
      "factually; never promise what you cannot know.",                                            \
      0, 0, NULL,                                                                                  \
      "Who the model speaks as when it writes replies for this mailbox: the opening of its "       \
      "instructions, before the intents and their descriptions.")                                  \
    X(persona_file, PATH, "", 0, 0, NULL,                                                          \
      "A file whose text is the persona, for long instructions: read when the configuration "      \
      "is loaded, at most 32 kB of UTF-8. Setting both persona and persona_file is an error.")     \
    X(language, STRING, "auto", 0, 0, NULL,                                                        \
      "The language of the replies: auto answers in the sender's language; a language tag "        \
      "(de, en-GB, pt-BR) answers in that language whatever the sender wrote.")                    \
    X(intents, LIST, "send_info, create_account, speak_to_human, unknown", 0, 0, NULL,             \
      "The closed list of intents for this mailbox; each is an [intent NAME] group or one of "     \
      "the defaults. unknown is always added.")                                                    \
    X(mode, ENUM, "auto", 0, 0, "auto|draft|off|shadow",                                           \
      "auto sends replies, draft sends them to escalate_to for approval, off records only. "       \
      "shadow classifies and composes every mail exactly as auto would and sends nothing: "        \
      "replies, escalations and webhooks are recorded with what would have left (mailtriagectl "   \
      "show). Shadow mails do not count for reply_interval nor the loop caps, which count mail "   \
      "sent: a shadow week shows what auto would send to each new sender.")                        \
    X(escalate_to, ADDRESS, "", 0, 0, NULL,                                                        \
      "The human address that receives escalations and drafts. Required unless mode is off.")      \
    X(reply_interval, DURATION, "7d", 0, 31536000, NULL,                                           \
      "At most one automatic reply per sender in this interval (RFC 3834); 0 answers every "       \
      "message, which is dangerous.")                                                              \
    X(escalate_suppressed, BOOL, "true", 0, 0, NULL,                                               \
      "Mail from a person that the policy keeps from an automatic reply (failed "                  \
      "authentication, reply interval, loop caps, a recent bounce) goes to escalate_to instead "   \
      "of being only recorded.")                                                                   \
    X(signature, STRING, "", 0, 0, NULL,                                                           \
      "Text added under every reply of this mailbox ({{signature}} in templates; \\n for a new "   \
      "line).")                                                                                    \
    X(disclaimer, STRING, "", 0, 0, NULL,                                                          \
      "Text added at the very end of every reply ({{disclaimer}} in templates; \\n for a new "     \
      "line).")                                                                                    \
    X(intake, ENUM, "any", 0, 0, "any|milter|pipe",                                                \
      "Which intake records this mailbox's mail: any (the first to see a message records it; "     \
      "a copy seen by the other is a duplicate), milter only, or pipe only (for a mailbox "        \
      "routed to the pipe transport on a site that also runs the milter).")                        \
    X(knowledge, LIST, "", 0, 0, NULL,                                                             \
      "The site's own documents that answers are grounded in: absolute paths of Markdown or "      \
      "plain text files, or of directories whose *.md, *.markdown and *.txt files count (not "     \
      "recursively, in name order). They are split into passages and indexed in the database "     \
      "when mailtriaged starts and reloads, and by mailtriagectl knowledge reindex. A comma "      \
      "cannot be part of a path. The systemd unit hides /home and /tmp from the daemon: keep "     \
      "them elsewhere, e.g. under /etc/mailtriage/knowledge.")                                     \
    X(ungrounded, ENUM, "escalate", 0, 0, "draft|escalate",                                        \
      "What becomes of a reply of a mailbox with knowledge whose answer names none of the "        \
      "numbered sources it was given, or a source it was not given: draft files it for a person "  \
      "to approve, escalate sends the message to escalate_to. Either way it is not sent "          \
      "automatically. A mailbox without knowledge answers from the persona alone.")

#define CONFIG_INTENT_KEYS(X)                                                                      \
    X(description, STRING, "", 0, 0, NULL,                                                         \
      "What the sender wants, told to the model beside the intent's name in the list it "          \
      "chooses from (after the mailbox's persona).")                                               \
    X(action, ENUM, "escalate", 0, 0, "reply|escalate|draft|webhook|none",                         \
      "What is done with a message of this intent.")                                               \
    X(template, PATH, "", 0, 0, NULL,                                                              \
      "The text template of replies ({{reply}}, {{sender_name}}, {{original_subject}}, "           \
      "{{mailbox}}, {{date}}, {{summary}}, {{signature}}, {{disclaimer}}); empty for the "         \
      "built-in one.")                                                                             \
    X(template_html, PATH, "", 0, 0, NULL,                                                         \
      "The HTML template of replies, sent with the text one as multipart/alternative (values "     \
      "are HTML-escaped; reply, signature and disclaimer become paragraphs, so place them in a "   \
      "<div> or <td>, not in a <p>); empty for the built-in one.")                                 \
    X(keywords, LIST, "", 0, 0, NULL,                                                              \
      "Words that select this intent in the builtin classifier (case-insensitive).")               \
    X(webhook_url, STRING, "", 0, 0, NULL,                                                         \
      "Where action webhook POSTs a JSON record of the message (http or https).")                  \
    X(webhook_secret_file, PATH, "", 0, 0, NULL,                                                   \
      "A file holding the secret that signs each POST to webhook_url (X-Mailtriage-Signature: "    \
      "t=TIME,v1=HMAC-SHA256 of TIME.BODY); empty sends it unsigned. Keep it readable by "         \
      "mailtriage only: no program starts with a secret file every user can read.")

#endif
