#!/usr/bin/env python3
"""Fake OpenAI-compatible LLM server for the mailtriage test suite.

Usage: fake_llm.py --port-file FILE [--port N] [--log FILE] [--pid-file FILE]
                   [--hook-secret-file FILE]

Listens on 127.0.0.1 (port 0, the default, picks a free one) and writes the
port to --port-file once it is listening; the file appears atomically, so a
reader that sees it can connect.  --pid-file gets the process id first.  Both
files are removed on a clean exit (SIGTERM or SIGINT).

One instance serves every test: the first path segment picks a behaviour.

    POST [/MODE]/v1/chat/completions     no MODE means "ok"
    GET  /health                         200 "ok"
    POST /hook[/STATUS]                  a webhook receiver: logs the JSON body, answers
                                         STATUS (default 200)
    POST /signed-hook[/N]                a receiver of signed webhooks: checks
                                         X-Mailtriage-Signature (t=T,v1=HMAC-SHA256 of
                                         "T.BODY") against the secret of
                                         --hook-secret-file and X-Mailtriage-Timestamp
                                         against t, answers 401 when they do not match;
                                         of the matching deliveries to this exact path the
                                         first N get 500, later ones 200. Logged with
                                         "signature_ok" true or false.
    POST /switch/NAME/MODE               from now on, requests to mode switch-NAME behave
                                         as MODE (any mode below but switch-*); answers
                                         200 {"switch": NAME, "mode": MODE}, 404 for a
                                         MODE that does not exist
    GET  /stats                          the load counters below, as JSON
    POST /stats/reset                    zero them; answers 200 with the counters zeroed

A test points its llm url at http://127.0.0.1:PORT/MODE/v1.

mailtriage asks in two steps: the classification, whose schema's properties are
intent, confidence and summary, and, only for mail that gets the model's text,
the reply, whose schema has the property reply, and sources (an array of
integers) for a mailbox with knowledge (its messages are the classification's,
then the classification as an assistant message, then a user message asking for
the reply).  The server tells them apart by the schema (in
noschema mode, without one, by an assistant message in the request), and every
mode has a meaning for both.  A third kind of request, mailtriagectl compose's
first message, has a schema whose properties are subject and body (and
sources): ok answers {"subject": "About: W", "body": "... W ...", "sources":
[N]}, W the first five words of the staff's instructions (after "The staff's
instructions for this message:" in the request) and N the first source number
("[N] " at the start of a line) in the request, none when there is none; the
modes that override the reply override the body (emptyreply: ""), those that
override the summary the subject (forge: a subject with CR LF, "To:" and
"Bcc:"), and badsources cites source 99; the others answer it as they answer
the reply.  Modes:

    ok           a chat.completion whose content is the triage JSON
                 {"intent", "confidence", "summary"}, or, for the reply
                 request, {"reply"} with the canned reply of the intent the
                 assistant message names; when the reply schema asks for
                 sources, {"reply", "sources"}: sources [N], N the first
                 numbered source in the request's user messages (a line
                 starting "[N] "), and the reply quotes the first sentence of
                 that source's text ("From our documentation: ..."), or
                 sources [] when the request gives none
    nosources    as ok, the reply's sources [] (it names none)
    badsource    as ok, the reply's sources [99] (a source it was not given)
    echo-pii     as ok, and the reply ends with "We will write to you at P.",
                 P the first [EMAIL_N] or [PHONE_N] placeholder of the new
                 message ([EMAIL_1] when it has none)
    invent-pii   as ok, and the reply holds [EMAIL_97], a placeholder the
                 request never had
    slow-N       wait N seconds (float, at most 120), then ok
    hang         never answer (gives up after 600 s or when the client leaves)
    error500     500, JSON error body
    error503     503, Retry-After: 1
    error429     429, Retry-After: 1, OpenAI rate limit error body
    badkey       401, an error body that quotes the bearer key it was sent, as
                 some proxies do (the client must not log it)
    echokey      500 (transient), an error body that repeats the Authorization
                 header it was sent
    flaky-N      the first N valid requests to this exact mode string get 500,
                 later ones ok (both steps count)
    malformed    200, valid envelope, content is not JSON
    badenvelope  200, text/html body that is not JSON
    truncated    200, finish_reason "length", content ""
    refusal      200, content null, message.refusal set
    badintent    200, intent "buy_crypto" (outside any enum); the reply as ok
    lowconf      200, confidence 0.1; the reply as ok
    emptyreply   200, the classification as ok, and a reply of "" (the model
                 wrote no text)
    intentonly   200, the classification with the intent alone (no confidence
                 or summary), as local servers sometimes answer; the reply
                 request gets {} (no reply key)
    think        200, content is "<think>...</think>\n" + triage JSON
    fenced       200, content is the triage JSON in a ```json fence
    huge         200, a valid body of 20 MiB, to trip the client's size cap
    forge        200, a valid intent whose summary, and then the reply, try to
                 forge what staff read: line breaks (CR LF, U+2028, NEL),
                 "To:"/"Bcc:" lines, our own separator and label lines,
                 terminal escapes
    badsources   as ok; a compose answer cites source 99
    forgeintent  200, an intent outside any enum that holds a line break, a
                 "To:" line and a terminal escape; the reply as ok
    noschema     ok, without requiring a valid response_format
    nochoices    200, a chat.completion whose "choices" is empty
    status-N     HTTP N (400 to 599) with an OpenAI-style JSON error body whose
                 message is what such a server says (401: a wrong API key,
                 404: no such model ...)
    status-N-R   the same with Retry-After: R (seconds)
    switch-NAME  as the mode last set for NAME with POST /switch/NAME/MODE
                 ("ok" until then), so that a test can take a server down and
                 bring it back while its client keeps the same URL
    reply-MODE   the classification as ok, the reply request as MODE (any
                 mode above but reply-*): reply-error500, reply-status-401,
                 reply-flaky-1 (counts the reply requests only) ...

The other modes (slow-N, hang, the errors, status-N, badkey, echokey,
malformed, badenvelope, truncated, refusal, huge, nochoices) answer both steps
alike; think and fenced wrap both answers; nosources, badsource, echo-pii and
invent-pii change only the reply.

Every mode but noschema first validates the request the way strict servers
do (model, non-empty messages, response_format.json_schema with a valid name
and a schema whose properties.intent.enum lists strings, or whose properties
are reply, a string, and maybe sources, an array of integers) and answers 400
otherwise; bodies over 4 MiB get 413.
Unknown paths and modes get 404.

The intent of a reply request is the one its last assistant message names (or,
when that is not such JSON, the one of the last user message before it).  The
intent of a classification is picked from the last user message by
case-insensitive whole-word search (a plural "s" is allowed), among the intents in the
request's enum only, in this order:
    price pricing cost quote plan                     -> send_info
    account sign up signup register login             -> create_account
    human person someone speak call me manager        -> speak_to_human
otherwise "unknown" if the enum has it, else the enum's last entry.

Load counters (GET /stats, for the benchmark, tests/bench): "requests", the
chat completion requests that reached a mode (validated); "in_flight", those
being served now, a slow mode's wait included; "max_in_flight", the most at
once; "prompt_tokens" and "completion_tokens", the usage summed over every
completion answered; "reply_asked", the requests whose response_format schema
has a "reply" property (the model is asked to write a reply); "connections",
the TCP connections accepted. A reset zeroes them, but max_in_flight restarts
from the requests in flight at that moment. The server sets TCP_NODELAY (an
answer written as headers, then body, would otherwise wait for the client's
delayed ACK, about 40 ms) and a listen backlog of 128.

--log gets one JSON line per request: time, path, mode, authorization (the
header or null) and body (the parsed request JSON or null); failures inside
the server are logged there as {"time", "error"}, never on stderr.
"""

import argparse
import contextlib
import hashlib
import hmac
import json
import os
import re
import select
import signal
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_SLOW_SECONDS = 120.0
HANG_SECONDS = 600.0
HUGE_BYTES = 20 * 1024 * 1024
STREAM_CHUNK_BYTES = 64 * 1024
# How often a waiting mode checks whether its client has hung up.
WAIT_STEP_SECONDS = 0.25

CHAT_PATH_RE = re.compile(r"(?:/([^/]+))?/v1/chat/completions")
HOOK_PATH_RE = re.compile(r"/hook(?:/([1-5][0-9][0-9]))?")
SIGNED_HOOK_PATH_RE = re.compile(r"/signed-hook(?:/([0-9]+))?")
SCHEMA_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
SLOW_MODE_RE = re.compile(r"slow-(\d+(?:\.\d*)?|\.\d+)")
FLAKY_MODE_RE = re.compile(r"flaky-(\d+)")
STATUS_MODE_RE = re.compile(r"status-([45][0-9][0-9])(?:-(\d{1,5}))?")
SWITCH_MODE_RE = re.compile(r"switch-([A-Za-z0-9_]{1,32})")
SWITCH_PATH_RE = re.compile(r"/switch/([A-Za-z0-9_]{1,32})/([^/]+)")
REPLY_MODE_RE = re.compile(r"reply-(.+)")

# What a server says with each status of status-N (OpenAI's words where it has them).
STATUS_ERRORS = {
    400: ("Invalid schema for response_format 'triage'.",
          "invalid_request_error", None),
    401: ("Incorrect API key provided: sk-wrong. You can find your API key "
          "at https://platform.openai.com/account/api-keys.",
          "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to use this model.",
          "invalid_request_error", "model_not_allowed"),
    404: ("The model `{model}` does not exist or you do not have access to it.",
          "invalid_request_error", "model_not_found"),
    429: ("Rate limit reached for {model}: please try again later.",
          "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request.",
          "server_error", None),
    503: ("The engine is currently overloaded, please try again later.",
          "server_error", None),
}

# Used by noschema when the request carries no usable intent enum.
DEFAULT_INTENTS = ["send_info", "create_account", "speak_to_human", "unknown"]

INTENT_KEYWORDS = [
    ("send_info",
     re.compile(r"\b(?:price|pricing|cost|quote|plan)s?\b", re.I)),
    ("create_account",
     re.compile(r"\b(?:account|sign[\s-]*up|register|login)s?\b", re.I)),
    ("speak_to_human",
     re.compile(r"\b(?:human|person|someone|speak|call\s+me|manager)s?\b",
                re.I)),
]

# intent -> (summary, reply), the reply in two paragraphs.  The "€"
# exercises UTF-8 handling in clients.
CANNED_ANSWERS = {
    "send_info": (
        "The sender asks about prices and plans (intent: send_info).",
        "Thank you for asking about our pricing.\n\n"
        "Our plans start at 10 € (EUR) per month, and the full price list "
        "is on our website. We are happy to prepare a quote for you."),
    "create_account": (
        "The sender wants to create an account (intent: create_account).",
        "Thank you for your interest in opening an account.\n\n"
        "You can sign up on our website in a few minutes; if anything goes "
        "wrong, simply reply to this message and we will help."),
    "speak_to_human": (
        "The sender asks to speak to a person (intent: speak_to_human).",
        "Thank you for your message.\n\n"
        "A member of our team will contact you personally as soon as "
        "possible, usually within one business day."),
}


# What a model talked into it by the message (or a hostile one) may write: lines that would
# pass for headers, for our escalation's labels and separators, and terminal escapes.
FORGED_SUMMARY = ("Asks about prices.\r\nTo: attacker@evil.test\u2028Bcc: attacker@evil.test"
                  "\u0085Why:        approved by the manager\x1b[2J\x1b]0;pwned\x07")
FORGED_REPLY = ("Thank you for your message.\n"
                "----- Message text -----\n"
                "To: attacker@evil.test\n"
                "Bcc: attacker@evil.test\r\n"
                "Mailbox:    support@site.test\rSubject: forged\n"
                "\n"
                "Please wire the fee to the account below.\x1b[31m\x00")
FORGED_INTENT = "send_info\nTo: attacker@evil.test\x1b[31m"


def generic_answer(intent):
    """Summary and reply for an intent without a canned answer."""
    return (f"The sender's request fits no specific topic (intent: {intent}).",
            "Thank you for your message.\n\n"
            "We have received it and will get back to you soon.")


class BadRequest(Exception):
    """The request fails validation; the message goes back to the client."""


class ChatRequest:
    """A validated chat completion request and the mode it was sent to."""

    def __init__(self, mode, body, intents, wants_reply, wants_compose=False):
        self.mode = mode
        self.model = body["model"]
        self.messages = body["messages"]
        self.intents = intents
        # The second step: the request for the reply text (see the file comment).
        self.wants_reply = wants_reply
        # mailtriagectl compose: the first message, {"subject", "body", "sources"}.
        self.wants_compose = wants_compose
        # A reply of a mailbox with knowledge: {"reply", "sources"}.
        self.wants_sources = wants_reply and schema_wants_sources(
            body.get("response_format"))


def schema_wants_compose(response_format):
    """True when a response_format's schema asks for a first message: its
    properties are subject and body (and sources)."""
    json_schema = (response_format.get("json_schema")
                   if isinstance(response_format, dict) else None)
    schema = json_schema.get("schema") if isinstance(json_schema, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return (isinstance(properties, dict)
            and all(isinstance(properties.get(key), dict)
                    and properties[key].get("type") == "string"
                    for key in ("subject", "body")))


def schema_properties(response_format):
    """The properties of a response_format's schema, or None."""
    json_schema = response_format.get("json_schema")
    schema = json_schema.get("schema") if isinstance(json_schema, dict) else None
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else None


def schema_wants_reply(response_format):
    """True when a response_format's schema asks for the reply (alone, or
    with its sources: an array of integers)."""
    properties = schema_properties(response_format)
    if properties is None or list(properties) not in (["reply"],
                                                      ["reply", "sources"]):
        return False
    sources = properties.get("sources", {"type": "array",
                                         "items": {"type": "integer"}})
    return (isinstance(properties["reply"], dict)
            and properties["reply"].get("type") == "string"
            and isinstance(sources, dict) and sources.get("type") == "array"
            and isinstance(sources.get("items"), dict)
            and sources["items"].get("type") == "integer")


def schema_wants_sources(response_format):
    """True when a reply schema asks for the sources too."""
    properties = (schema_properties(response_format)
                  if isinstance(response_format, dict) else None)
    return properties is not None and "sources" in properties


def schema_intents(response_format):
    """Return the intent enum from a response_format (None when it asks
    for the reply), or raise BadRequest."""
    if not isinstance(response_format, dict):
        raise BadRequest("'response_format' is required")
    if response_format.get("type") != "json_schema":
        raise BadRequest("'response_format.type' must be 'json_schema'")
    json_schema = response_format.get("json_schema")
    if not isinstance(json_schema, dict):
        raise BadRequest("'response_format.json_schema' must be an object")
    name = json_schema.get("name")
    if not isinstance(name, str) or not SCHEMA_NAME_RE.fullmatch(name):
        raise BadRequest("'response_format.json_schema.name' must match "
                         "^[A-Za-z0-9_-]{1,64}$")
    if schema_wants_reply(response_format) or schema_wants_compose(response_format):
        return None
    schema = json_schema.get("schema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    intent = properties.get("intent") if isinstance(properties, dict) else None
    enum = intent.get("enum") if isinstance(intent, dict) else None
    if (not isinstance(enum, list) or not enum
            or not all(isinstance(item, str) for item in enum)):
        raise BadRequest("'response_format.json_schema.schema' must have "
                         "properties.intent.enum, a non-empty list of strings")
    return enum


def validate_chat_request(mode, body):
    """Return a ChatRequest for a parsed body, or raise BadRequest."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    if not isinstance(body.get("model"), str):
        raise BadRequest("'model' must be a string")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list")
    for index, message in enumerate(messages):
        if not (isinstance(message, dict)
                and isinstance(message.get("role"), str)
                and isinstance(message.get("content"), str)):
            raise BadRequest(f"'messages[{index}]' must have string 'role' "
                             "and 'content'")
    try:
        intents = schema_intents(body.get("response_format"))
        wants_reply = intents is None
    except BadRequest:
        if mode != "noschema":
            raise
        intents = None
        wants_reply = any(m["role"] == "assistant" for m in messages)
    wants_compose = schema_wants_compose(body.get("response_format"))
    return ChatRequest(mode, body, intents or DEFAULT_INTENTS,
                       wants_reply and not wants_compose, wants_compose)


def choose_intent(request):
    """Pick the intent for the last user message (see the file comment); for
    a reply request, the last one before the classification."""
    messages = request.messages
    if request.wants_reply:
        said = [i for i, m in enumerate(messages) if m["role"] == "assistant"]
        messages = messages[:said[-1]] if said else messages
    user_texts = [m["content"] for m in messages if m["role"] == "user"]
    text = user_texts[-1] if user_texts else ""
    for intent, pattern in INTENT_KEYWORDS:
        if intent in request.intents and pattern.search(text):
            return intent
    return "unknown" if "unknown" in request.intents else request.intents[-1]


def classified_intent(request):
    """The intent a reply request's last assistant message names, or None."""
    said = [m["content"] for m in request.messages if m["role"] == "assistant"]
    try:
        answer = json.loads(said[-1]) if said else None
    except ValueError:
        answer = None
    intent = answer.get("intent") if isinstance(answer, dict) else None
    return intent if isinstance(intent, str) else None


INSTRUCTIONS_MARK = "The staff's instructions for this message:\n"
SOURCE_RE = re.compile(r"^\[(\d+)\] ", re.MULTILINE)


def compose_answer(request):
    """A first message: a subject and a body that repeat the first words of
    the staff's instructions (found after INSTRUCTIONS_MARK in the system
    message), citing the first source number the request holds."""
    text = "\n".join(m["content"] for m in request.messages)
    instructions = text.split(INSTRUCTIONS_MARK, 1)[1] if INSTRUCTIONS_MARK in text else ""
    words = " ".join(instructions.split()[:5]) or "our news"
    source = SOURCE_RE.search(text)
    return {"subject": f"About: {words}",
            "body": f"Hello,\n\nwe write to you about this: {words}.\n\n"
                    "Kind regards",
            "sources": [int(source.group(1))] if source else []}


# In a compose request, the reply's overrides stand for the body, the
# summary's for the subject.
COMPOSE_OVERRIDES = {"reply": "body", "summary": "subject", "sources": "sources"}
SOURCE_LINE_RE = re.compile(r"^\[(\d+)\] ")
PLACEHOLDER_RE = re.compile(r"\[(?:EMAIL|PHONE)_\d+\]")


def first_source(request):
    """The first numbered source of the request's user messages ("[N] heading
    (file)" and its text on the next line) as (N, its first sentence), or
    None."""
    for message in request.messages:
        if message["role"] != "user":
            continue
        lines = message["content"].split("\n")
        for index, line in enumerate(lines):
            match = SOURCE_LINE_RE.match(line)
            if match:
                text = lines[index + 1] if index + 1 < len(lines) else ""
                sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
                return int(match.group(1)), sentence
    return None


def new_message_text(request):
    """The last user message before the classification (the new message)."""
    said = [i for i, m in enumerate(request.messages) if m["role"] == "assistant"]
    messages = request.messages[:said[-1]] if said else request.messages
    user_texts = [m["content"] for m in messages if m["role"] == "user"]
    return user_texts[-1] if user_texts else ""


def triage_answer(request, **overrides):
    """The object a well-behaved model would return: the classification, or,
    for a reply request, the reply (overrides of the other step's keys are
    left out); a reply with sources names the first source the request gave
    and quotes its first sentence, or names none; a compose request gets the first message."""
    if request.wants_compose:
        answer = compose_answer(request)
        answer.update({COMPOSE_OVERRIDES[key]: value
                       for key, value in overrides.items()
                       if key in COMPOSE_OVERRIDES})
        return answer
    intent = (classified_intent(request) if request.wants_reply else None) \
        or choose_intent(request)
    summary, reply = CANNED_ANSWERS.get(intent) or generic_answer(intent)
    if request.wants_reply:
        answer = {"reply": reply}
        if request.wants_sources:
            source = first_source(request)
            answer["sources"] = [source[0]] if source else []
            if source:
                answer["reply"] = (f"{reply}\n\nFrom our documentation: "
                                   f"{source[1]}")
    else:
        answer = {"intent": intent, "confidence": 0.92, "summary": summary}
    answer.update({key: value for key, value in overrides.items()
                   if key in answer})
    return answer


def to_json(value):
    return json.dumps(value, ensure_ascii=False)


def token_estimate(text):
    return max(1, len(text) // 4)


def chat_completion(request, completion_id, content,
                    finish_reason="stop", refusal=None):
    """An OpenAI chat.completion envelope around one assistant message."""
    prompt_tokens = token_estimate("".join(m["content"]
                                           for m in request.messages))
    completion_tokens = token_estimate(content or refusal or "")
    return {
        "id": f"chatcmpl-fake-{completion_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content,
                        "refusal": refusal},
            "finish_reason": finish_reason,
        }],
        "usage": {"prompt_tokens": prompt_tokens,
                  "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def error_body(message, error_type, code=None):
    return {"error": {"message": message, "type": error_type,
                      "param": None, "code": code}}


class RequestLog:
    """Append-only JSON-lines log shared by all handler threads."""

    def __init__(self, path):
        self._file = open(path, "a", encoding="utf-8") if path else None
        self._lock = threading.Lock()

    def write(self, record):
        line = to_json({"time": time.time(), **record}) + "\n"
        with self._lock:
            if self._file is not None:
                self._file.write(line)
                self._file.flush()

    def close(self):
        # Under the lock: daemon threads may still be writing at shutdown.
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class LoadStats:
    """The load counters of GET /stats (see the file comment), for all threads."""

    COUNTERS = ("requests", "prompt_tokens", "completion_tokens",
                "reply_asked", "connections")

    def __init__(self):
        self._lock = threading.Lock()
        self._in_flight = 0
        self._max_in_flight = 0
        self._counts = dict.fromkeys(self.COUNTERS, 0)

    def _add(self, name, amount=1):
        with self._lock:
            self._counts[name] += amount

    def connection(self):
        self._add("connections")

    def usage(self, usage):
        """Add a completion's usage (a dict with the token counts)."""
        with self._lock:
            for name in ("prompt_tokens", "completion_tokens"):
                value = usage.get(name)
                if isinstance(value, int):
                    self._counts[name] += value

    @contextlib.contextmanager
    def serving(self, body):
        """Count one chat request as in flight until the block ends or calls the function
        it is given, whichever is first: the handler calls it just before it writes the
        last bytes of its answer, since the client may send its next request (and count it)
        as soon as it has them."""
        response_format = body.get("response_format")
        json_schema = (response_format.get("json_schema")
                       if isinstance(response_format, dict) else None)
        schema = (json_schema.get("schema")
                  if isinstance(json_schema, dict) else None)
        properties = schema.get("properties") if isinstance(schema, dict) else None
        asks_reply = isinstance(properties, dict) and "reply" in properties
        with self._lock:
            self._counts["requests"] += 1
            self._counts["reply_asked"] += 1 if asks_reply else 0
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        answered = False

        def finish():
            nonlocal answered
            with self._lock:
                if not answered:
                    answered = True
                    self._in_flight -= 1
        try:
            yield finish
        finally:
            finish()

    def snapshot(self):
        with self._lock:
            return {**self._counts, "in_flight": self._in_flight,
                    "max_in_flight": self._max_in_flight}

    def reset(self):
        with self._lock:
            self._counts = dict.fromkeys(self.COUNTERS, 0)
            self._max_in_flight = self._in_flight


class FakeLLMHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that clients can keep connections alive across requests.
    protocol_version = "HTTP/1.1"
    server_version = "fake-llm/1"
    # Headers and body go out as two writes: without TCP_NODELAY the body waits for the
    # client's delayed ACK (about 40 ms), which caps a client at some 25 requests a second.
    disable_nagle_algorithm = True
    # LoadStats.serving()'s function while a chat request is served.
    finish_in_flight = None
    # Frees the thread of an idle keep-alive connection or a stalled reader.
    timeout = 60

    # ---- plumbing -------------------------------------------------------

    def setup(self):
        super().setup()
        self.server.load_stats.connection()

    def log_message(self, format, *args):
        """Keep stderr quiet; requests are logged to --log instead."""

    def log_error(self, format, *args):
        self.server.request_log.write({"error": format % args})

    def record(self, mode, body):
        """Log the current request: one line per request, as it arrives."""
        self.server.request_log.write({
            "path": self.path, "mode": mode,
            "authorization": self.headers.get("Authorization"),
            "body": body})

    def send_body(self, status, body, content_type, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.finish_in_flight is not None:
            self.finish_in_flight()
        self.wfile.write(body)

    def send_json(self, status, value, headers=()):
        if isinstance(value, dict) and isinstance(value.get("usage"), dict):
            self.server.load_stats.usage(value["usage"])
        self.send_body(status, to_json(value).encode("utf-8"),
                       "application/json", headers)

    def send_completion(self, request, content, **envelope):
        completion_id = self.server.next_completion_id()
        self.send_json(200, chat_completion(request, completion_id, content,
                                            **envelope))

    def declared_length(self):
        """The Content-Length as an int; BadRequest if absent or invalid."""
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise BadRequest("a valid Content-Length is required") from None
        if length < 0:
            raise BadRequest("a valid Content-Length is required")
        return length

    def chat_mode(self):
        """The mode named by a chat completions path, or None."""
        match = CHAT_PATH_RE.fullmatch(urlsplit(self.path).path)
        return (match.group(1) or "ok") if match else None

    def reject_too_large(self, drain=0):
        self.record(self.chat_mode(), None)
        # Read (and drop) a body already on its way, up to a bound: a client still sending
        # when the socket closes sees a reset instead of the 413.
        while drain > 0:
            chunk = self.rfile.read(min(drain, 65536))
            if not chunk:
                break
            drain -= len(chunk)
        self.close_connection = True
        self.send_json(413, error_body(
            f"request body exceeds {MAX_REQUEST_BYTES} bytes",
            "invalid_request_error"))

    def handle_expect_100(self):
        """Refuse an oversized body before the client sends it."""
        try:
            too_large = self.declared_length() > MAX_REQUEST_BYTES
        except BadRequest:
            too_large = False  # do_POST answers 400
        if too_large:
            self.reject_too_large()
            return False
        return super().handle_expect_100()

    def wait_for_client(self, seconds):
        """Sleep up to seconds; return False early if the client hung up."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            step = min(left, WAIT_STEP_SECONDS)
            readable, _, _ = select.select([self.connection], [], [], step)
            if not readable:
                continue
            try:
                if not self.connection.recv(1, socket.MSG_PEEK):
                    return False
            except OSError:
                return False
            # A pipelined request is waiting: keep sleeping without spinning.
            time.sleep(step)
        return True

    def run_quietly(self, handler):
        """Run a request handler; no failure may reach stderr."""
        try:
            handler()
        except (ConnectionError, TimeoutError):
            # The client went away or stalled: nobody is left to answer.
            self.close_connection = True
        except Exception:
            self.server.request_log.write({"error": traceback.format_exc()})
            self.close_connection = True

    def do_GET(self):
        self.run_quietly(self.route_get)

    def do_POST(self):
        self.run_quietly(self.route_post)

    # ---- routing --------------------------------------------------------

    def route_get(self):
        path = urlsplit(self.path).path
        self.record(None, None)
        if path == "/health":
            self.send_body(200, b"ok", "text/plain")
        elif path == "/stats":
            self.send_json(200, self.server.load_stats.snapshot())
        else:
            self.send_not_found()

    def route_stats_reset(self):
        """POST /stats/reset, with or without a (small, ignored) body."""
        self.record("stats", None)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= 65536:
            self.close_connection = True
        elif length:
            self.rfile.read(length)
        self.server.load_stats.reset()
        self.send_json(200, self.server.load_stats.snapshot())

    def route_post(self):
        if urlsplit(self.path).path == "/stats/reset":
            self.route_stats_reset()
            return
        try:
            length = self.declared_length()
        except BadRequest as e:
            self.record(self.chat_mode(), None)
            self.close_connection = True  # the body's extent is unknown
            self.send_json(400, error_body(str(e), "invalid_request_error"))
            return
        if length > MAX_REQUEST_BYTES:
            self.reject_too_large(drain=min(length, 4 * MAX_REQUEST_BYTES))
            return
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None

        switch = SWITCH_PATH_RE.fullmatch(urlsplit(self.path).path)
        if switch:
            self.record("switch", body)
            name, target = switch.groups()
            if SWITCH_MODE_RE.fullmatch(target) or resolve_mode(target) is None:
                self.send_not_found()
                return
            self.server.set_switch(name, target)
            self.send_json(200, {"switch": name, "mode": target})
            return

        signed = SIGNED_HOOK_PATH_RE.fullmatch(urlsplit(self.path).path)
        if signed:
            self.signed_hook(raw, body, int(signed.group(1) or 0))
            return

        hook = HOOK_PATH_RE.fullmatch(urlsplit(self.path).path)
        if hook:
            # A webhook receiver (action webhook): record, answer the status the path names.
            self.record("hook", body)
            status = int(hook.group(1) or 200)
            self.send_json(status, {"ok": 200 <= status < 300})
            return

        mode = self.chat_mode()
        self.record(mode, body)

        behaviour = resolve_mode(mode) if mode else None
        if behaviour is None:
            self.send_not_found()
            return
        if body is None:
            self.send_json(400, error_body(
                "the request body is not valid JSON", "invalid_request_error"))
            return
        try:
            request = validate_chat_request(mode, body)
        except BadRequest as e:
            self.send_json(400, error_body(str(e), "invalid_request_error"))
            return
        with self.server.load_stats.serving(body) as self.finish_in_flight:
            try:
                behaviour(self, request)
            finally:
                self.finish_in_flight = None

    def signature_matches(self, raw):
        """Does the request carry a valid signature of raw with the hook secret?"""
        secret = self.server.hook_secret
        signature = self.headers.get("X-Mailtriage-Signature") or ""
        fields = dict(part.split("=", 1) for part in signature.split(",")
                      if "=" in part)
        stamp = fields.get("t", "")
        if secret is None or not stamp.isdigit() or "v1" not in fields:
            return False
        if self.headers.get("X-Mailtriage-Timestamp") != stamp:
            return False
        expected = hmac.new(secret, stamp.encode() + b"." + raw,
                            hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, fields["v1"])

    def signed_hook(self, raw, body, failures):
        ok = self.signature_matches(raw)
        self.server.request_log.write({
            "path": self.path, "mode": "signed-hook", "signature_ok": ok,
            "signature": self.headers.get("X-Mailtriage-Signature"),
            "timestamp": self.headers.get("X-Mailtriage-Timestamp"),
            "body": body})
        if not ok:
            self.send_json(401, {"ok": False, "error": "bad signature"})
        elif self.server.count_request(self.path) <= failures:
            self.send_json(500, {"ok": False, "error": "try again"})
        else:
            self.send_json(200, {"ok": True})

    def send_not_found(self):
        self.send_json(404, error_body(
            f"Invalid URL ({self.command} {self.path})",
            "invalid_request_error", "unknown_url"))

    # ---- modes ----------------------------------------------------------

    def mode_ok(self, request):
        self.send_completion(request, to_json(triage_answer(request)))

    def mode_slow(self, request, seconds):
        if self.wait_for_client(seconds):
            self.mode_ok(request)
        else:
            self.close_connection = True

    def mode_hang(self, request):
        self.wait_for_client(HANG_SECONDS)
        self.close_connection = True

    def mode_error500(self, request):
        self.send_json(500, error_body("The server had an error while "
                                       "processing your request.",
                                       "server_error"))

    def mode_error503(self, request):
        self.send_json(503, error_body("The engine is currently overloaded, "
                                       "please try again later.",
                                       "server_error"),
                       headers=[("Retry-After", "1")])

    def mode_error429(self, request):
        self.send_json(429, error_body(
            f"Rate limit reached for {request.model}: "
            "please try again in 1s.",
            "requests", "rate_limit_exceeded"),
            headers=[("Retry-After", "1")])


    def mode_status(self, request, status, retry_after):
        message, error_type, code = STATUS_ERRORS.get(
            status, (f"fake-llm answers {status}", "server_error"
                     if status >= 500 else "invalid_request_error", None))
        headers = [("Retry-After", retry_after)] if retry_after else []
        self.send_json(status, error_body(message.format(model=request.model),
                                          error_type, code),
                       headers=headers)

    def mode_nochoices(self, request):
        envelope = chat_completion(request, self.server.next_completion_id(),
                                   "")
        envelope["choices"] = []
        self.send_json(200, envelope)

    def mode_switch(self, request, name):
        resolve_mode(self.server.get_switch(name))(self, request)

    def mode_badkey(self, request):
        authorization = self.headers.get("Authorization") or ""
        key = authorization[len("Bearer "):] if authorization.startswith(
            "Bearer ") else authorization
        self.send_json(401, error_body(
            f"Incorrect API key provided: {key}.", "invalid_request_error",
            "invalid_api_key"))

    def mode_echokey(self, request):
        authorization = self.headers.get("Authorization") or ""
        self.send_json(500, error_body(
            f"internal error handling request with {authorization}",
            "server_error", None))

    def mode_flaky(self, request, failures):
        if self.server.count_request(request.mode) <= failures:
            self.mode_error500(request)
        else:
            self.mode_ok(request)

    def mode_malformed(self, request):
        self.send_completion(request,
                             "Sure! Here is the answer: intent=send_info")

    def mode_badenvelope(self, request):
        self.send_body(200, b"<html>oops</html>", "text/html")

    def mode_truncated(self, request):
        self.send_completion(request, "", finish_reason="length")

    def mode_refusal(self, request):
        self.send_completion(request, None,
                             refusal="I can't help with that.")

    def mode_badintent(self, request):
        self.send_completion(request, to_json(
            triage_answer(request, intent="buy_crypto")))

    def mode_lowconf(self, request):
        self.send_completion(request, to_json(
            triage_answer(request, confidence=0.1)))

    def mode_emptyreply(self, request):
        self.send_completion(request, to_json(triage_answer(request, reply="")))

    def mode_intentonly(self, request):
        answer = {} if request.wants_reply else {
            "intent": triage_answer(request)["intent"]}
        self.send_completion(request, to_json(answer))

    def mode_think(self, request):
        self.send_completion(request, "<think>let me think about it</think>\n"
                             + to_json(triage_answer(request)))

    def mode_fenced(self, request):
        self.send_completion(request, "```json\n"
                             + to_json(triage_answer(request)) + "\n```")

    def mode_forge(self, request):
        self.send_completion(request, to_json(triage_answer(
            request, summary=FORGED_SUMMARY, reply=FORGED_REPLY)))

    def mode_badsources(self, request):
        self.send_completion(request, to_json(triage_answer(request, sources=[99])))

    def mode_forgeintent(self, request):
        self.send_completion(request, to_json(triage_answer(
            request, intent=FORGED_INTENT, summary=FORGED_SUMMARY)))

    def mode_reply(self, request, mode):
        if request.wants_reply:
            resolve_mode(mode)(self, request)
        else:
            self.mode_ok(request)

    def mode_nosources(self, request):
        self.send_completion(request, to_json(triage_answer(request,
                                                            sources=[])))

    def mode_badsource(self, request):
        self.send_completion(request, to_json(triage_answer(request,
                                                            sources=[99])))

    def mode_echo_pii(self, request):
        answer = triage_answer(request)
        if request.wants_reply:
            found = PLACEHOLDER_RE.findall(new_message_text(request))
            echoed = found[0] if found else "[EMAIL_1]"
            answer["reply"] += f"\n\nWe will write to you at {echoed}."
        self.send_completion(request, to_json(answer))

    def mode_invent_pii(self, request):
        answer = triage_answer(request)
        if request.wants_reply:
            answer["reply"] += "\n\nWe will write to you at [EMAIL_97]."
        self.send_completion(request, to_json(answer))

    def mode_huge(self, request):
        # A summary (or reply) of plain "x" needs no escaping at either JSON
        # level, so the body can be cut around a marker and the run streamed
        # between.
        marker = "@@FILL@@"
        content = to_json(triage_answer(request, summary=marker, reply=marker))
        envelope = to_json(chat_completion(
            request, self.server.next_completion_id(), content))
        head, tail = (part.encode("utf-8") for part in envelope.split(marker))
        fill = HUGE_BYTES - len(head) - len(tail)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        self.wfile.write(head)
        chunk = b"x" * STREAM_CHUNK_BYTES
        while fill > 0:
            self.wfile.write(chunk[:fill])
            fill -= STREAM_CHUNK_BYTES
        self.wfile.write(tail)


FIXED_MODES = {
    "ok": FakeLLMHandler.mode_ok,
    "noschema": FakeLLMHandler.mode_ok,  # differs only in validation
    "hang": FakeLLMHandler.mode_hang,
    "error500": FakeLLMHandler.mode_error500,
    "error503": FakeLLMHandler.mode_error503,
    "error429": FakeLLMHandler.mode_error429,
    "badkey": FakeLLMHandler.mode_badkey,
    "echokey": FakeLLMHandler.mode_echokey,
    "malformed": FakeLLMHandler.mode_malformed,
    "badenvelope": FakeLLMHandler.mode_badenvelope,
    "truncated": FakeLLMHandler.mode_truncated,
    "refusal": FakeLLMHandler.mode_refusal,
    "badintent": FakeLLMHandler.mode_badintent,
    "lowconf": FakeLLMHandler.mode_lowconf,
    "emptyreply": FakeLLMHandler.mode_emptyreply,
    "intentonly": FakeLLMHandler.mode_intentonly,
    "think": FakeLLMHandler.mode_think,
    "fenced": FakeLLMHandler.mode_fenced,
    "huge": FakeLLMHandler.mode_huge,

    "nochoices": FakeLLMHandler.mode_nochoices,
    "forge": FakeLLMHandler.mode_forge,
    "forgeintent": FakeLLMHandler.mode_forgeintent,
    "badsources": FakeLLMHandler.mode_badsources,
    "nosources": FakeLLMHandler.mode_nosources,
    "badsource": FakeLLMHandler.mode_badsource,
    "echo-pii": FakeLLMHandler.mode_echo_pii,
    "invent-pii": FakeLLMHandler.mode_invent_pii,
}


def resolve_mode(mode):
    """Return the function (handler, request) for a mode, or None."""
    if mode in FIXED_MODES:
        return FIXED_MODES[mode]
    match = SLOW_MODE_RE.fullmatch(mode)
    if match:
        seconds = min(float(match.group(1)), MAX_SLOW_SECONDS)
        return lambda handler, request: handler.mode_slow(request, seconds)
    match = FLAKY_MODE_RE.fullmatch(mode)
    if match:
        failures = int(match.group(1))
        return lambda handler, request: handler.mode_flaky(request, failures)
    match = STATUS_MODE_RE.fullmatch(mode)
    if match:
        status, retry_after = int(match.group(1)), match.group(2)
        return lambda handler, request: handler.mode_status(request, status,
                                                            retry_after)
    match = SWITCH_MODE_RE.fullmatch(mode)
    if match:
        name = match.group(1)
        return lambda handler, request: handler.mode_switch(request, name)
    match = REPLY_MODE_RE.fullmatch(mode)
    if match and not REPLY_MODE_RE.fullmatch(match.group(1)) \
            and resolve_mode(match.group(1)) is not None:
        inner = match.group(1)
        return lambda handler, request: handler.mode_reply(request, inner)
    return None


class FakeLLMServer(ThreadingHTTPServer):
    daemon_threads = True
    # Hanging handlers must not hold up shutdown.
    block_on_close = False
    # socketserver's default of 5 drops the SYNs of 64 clients connecting at once.
    request_queue_size = 128

    def __init__(self, port, request_log, hook_secret=None):
        super().__init__(("127.0.0.1", port), FakeLLMHandler)
        self.request_log = request_log
        self.hook_secret = hook_secret
        self.load_stats = LoadStats()
        self._lock = threading.Lock()
        self._completions = 0
        self._requests_by_mode = {}
        self._switches = {}

    def next_completion_id(self):
        with self._lock:
            self._completions += 1
            return self._completions

    def count_request(self, mode):
        """Count one more request to mode and return the new count."""
        with self._lock:
            count = self._requests_by_mode.get(mode, 0) + 1
            self._requests_by_mode[mode] = count
            return count

    def set_switch(self, name, mode):
        with self._lock:
            self._switches[name] = mode

    def get_switch(self, name):
        with self._lock:
            return self._switches.get(name, "ok")

    def handle_error(self, request, client_address):
        """Failures outside the handlers go to the log, not to stderr."""
        self.request_log.write({"error": traceback.format_exc()})


def write_atomically(path, text):
    temporary = f"{path}.tmp.{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temporary, path)


def remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def stop(signum, frame):
    # Raised in the main thread, which leaves serve_forever().
    raise SystemExit(0)


def main():
    parser = argparse.ArgumentParser(
        description="Fake OpenAI-compatible LLM server for tests.")
    parser.add_argument("--port-file", required=True,
                        help="where to write the port once listening")
    parser.add_argument("--port", type=int, default=0,
                        help="port to bind on 127.0.0.1 (0: any free port)")
    parser.add_argument("--log", help="append one JSON line per request here")
    parser.add_argument("--pid-file", help="write the process id here")
    parser.add_argument("--hook-secret-file",
                        help="the secret that /signed-hook checks signatures with")
    args = parser.parse_args()
    hook_secret = None
    if args.hook_secret_file:
        with open(args.hook_secret_file, "rb") as f:
            hook_secret = f.read().strip()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    request_log = RequestLog(args.log)
    server = FakeLLMServer(args.port, request_log, hook_secret)
    try:
        if args.pid_file:
            write_atomically(args.pid_file, f"{os.getpid()}\n")
        write_atomically(args.port_file, f"{server.server_address[1]}\n")
        server.serve_forever()
    finally:
        server.server_close()
        request_log.close()
        remove_quietly(args.port_file)
        if args.pid_file:
            remove_quietly(args.pid_file)


if __name__ == "__main__":
    main()
