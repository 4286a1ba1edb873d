#!/bin/bash
# Self-test of the fake LLM server: starts one instance, exercises every mode
# with curl and prints TAP.  Exits non-zero if any check fails.
set -u

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
server_pid=
checks=0
failures=0

cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# check NAME COMMAND...: one TAP line for the exit status of COMMAND.
check() {
	local name=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok $checks - $name"
	else
		echo "not ok $checks - $name"
		failures=$((failures + 1))
	fi
}

# The last response is kept in $tmp (status, headers, body).  expect EXPR
# evaluates a Python expression over it, with these names:
#   status   HTTP status (int)        elapsed  seconds the request took
#   headers  dict, lower-case names   raw      body (bytes)
#   doc      body as JSON, or None    message  choices[0].message, or None
#   answer   message content parsed as JSON, or None
cat >"$tmp/inspect.py" <<'EOF'
import json, sys
d = sys.argv[1]
status, elapsed = open(f"{d}/status").read().split()
status, elapsed = int(status), float(elapsed)
headers = {}
for line in open(f"{d}/headers", encoding="latin-1").read().splitlines()[1:]:
    name, _, value = line.partition(":")
    headers[name.strip().lower()] = value.strip()
raw = open(f"{d}/body", "rb").read()
def parse(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None
doc = parse(raw)
try:
    message = doc["choices"][0]["message"]
except (TypeError, KeyError, IndexError):
    message = None
answer = parse(message.get("content")) if message else None
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)
EOF

expect() {
	python3 "$tmp/inspect.py" "$tmp" "$1"
}

# expect_log EXPR: a Python expression over "records", the parsed log lines.
expect_log() {
	python3 -c '
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
sys.exit(0 if eval("(" + sys.argv[2] + ")") else 1)' "$tmp/log" "$1"
}

intents='["send_info","create_account","speak_to_human","unknown"]'
schema_format() {
	printf '{"type":"json_schema","json_schema":{"name":"%s","strict":true,' \
		"${2:-triage}"
	printf '"schema":{"type":"object","properties":{"intent":'
	printf '{"type":"string","enum":%s}}}}}' "${1:-$intents}"
}

# request USER_TEXT [ENUM_JSON]: a chat request as mailtriage sends it.
request() {
	printf '{"model":"fake-model","temperature":0,"max_tokens":600,'
	printf '"messages":[{"role":"system","content":"Classify the mail."},'
	printf '{"role":"user","content":"%s"}],' "$1"
	printf '"response_format":%s}' "$(schema_format "${2:-$intents}")"
}

# reply_request USER_TEXT ASSISTANT_JSON: the second step, the request for the reply text:
# the classification's messages, the classification, a user message asking for the reply.
reply_request() {
	printf '{"model":"fake-model","temperature":0,"max_tokens":600,'
	printf '"messages":[{"role":"system","content":"Classify the mail."},'
	printf '{"role":"user","content":"%s"},' "$1"
	printf '{"role":"assistant","content":"%s"},' "$(printf '%s' "$2" | sed 's/"/\\"/g')"
	printf '{"role":"user","content":"Write the reply to the sender now."}],'
	printf '"response_format":{"type":"json_schema","json_schema":{"name":"triage_reply",'
	printf '"strict":true,"schema":{"type":"object","properties":{"reply":{"type":"string"}}}}}}'
}
classified='{"intent": "create_account", "confidence": 0.9, "summary": "x"}'

# post_file PATH FILE [CURL_ARGS...]: POST FILE, keep the response in $tmp.
# Returns curl's exit status.
post_file() {
	local path=$1 file=$2
	shift 2
	curl -sS --max-time 5 -o "$tmp/body" -D "$tmp/headers" \
		-w '%{http_code} %{time_total}' \
		-H 'Content-Type: application/json' --data-binary @"$file" \
		"$@" "$base$path" >"$tmp/status" 2>"$tmp/curl.err"
}

# post PATH BODY [CURL_ARGS...]
post() {
	local path=$1
	printf '%s' "$2" >"$tmp/request"
	shift 2
	post_file "$path" "$tmp/request" "$@"
}

chat=/v1/chat/completions

python3 "$here/fake_llm.py" --port-file "$tmp/port" --log "$tmp/log" \
	--pid-file "$tmp/pid" 2>"$tmp/stderr" &
server_pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/port" ] && break
	sleep 0.1
done

check "server writes its port file" test -s "$tmp/port"
base="http://127.0.0.1:$(cat "$tmp/port" 2>/dev/null)"
check "server writes its pid file" \
	test "$(cat "$tmp/pid" 2>/dev/null)" = "$server_pid"

curl -sS --max-time 5 -o "$tmp/body" -D "$tmp/headers" \
	-w '%{http_code} %{time_total}' "$base/health" \
	>"$tmp/status" 2>"$tmp/curl.err"
check "GET /health answers 200 ok" expect 'status == 200 and raw == b"ok"'

# ---- ok: envelope and intents ------------------------------------------

post $chat "$(request 'What is the price of your plans?')" \
	-H 'Authorization: Bearer sk-selftest'
check "ok: chat.completion envelope" expect 'status == 200
	and headers["content-type"] == "application/json"
	and doc["object"] == "chat.completion"
	and doc["id"].startswith("chatcmpl-fake-")
	and isinstance(doc["created"], int)
	and doc["model"] == "fake-model"
	and doc["choices"][0]["finish_reason"] == "stop"
	and message["role"] == "assistant" and message["refusal"] is None'
check "ok: usage tokens add up" expect 'doc["usage"]["prompt_tokens"] >= 1
	and doc["usage"]["completion_tokens"] >= 1
	and doc["usage"]["total_tokens"] == doc["usage"]["prompt_tokens"]
	                                   + doc["usage"]["completion_tokens"]'
check "ok: pricing question is send_info" expect '
	answer["intent"] == "send_info"
	and answer["confidence"] == 0.92
	and "send_info" in answer["summary"] and "\n" not in answer["summary"]
	and set(answer) == {"intent", "confidence", "summary"}'
check "ok: request logged with its Authorization header" expect_log '
	any(r.get("authorization") == "Bearer sk-selftest" and r["mode"] == "ok"
	    and r["path"] == "/v1/chat/completions"
	    and r["body"]["model"] == "fake-model" for r in records)'

post $chat "$(reply_request 'price' '{"intent": "send_info", "confidence": 0.9, "summary": "x"}')"
check "ok: the reply request gets the reply alone" expect 'status == 200
	and set(answer) == {"reply"}'
check "ok: send_info reply has two paragraphs and UTF-8" expect '
	answer["reply"].startswith("Thank you for asking about our pricing.\n\n")
	and answer["reply"].count("\n\n") == 1 and "€".encode() in raw'
post $chat "$(reply_request 'price' "$classified")"
check "ok: the reply is for the intent the classification names" expect '
	answer["reply"].startswith("Thank you for your interest in opening an account.")'
post $chat "$(reply_request 'price' 'not json')"
check "ok: a reply request whose classification is not JSON: from the message" expect '
	answer["reply"].startswith("Thank you for asking about our pricing.")'
reply_request 'price' "$classified" | sed 's/"reply":{"type":"string"}/"reply":{"type":"string"},"x":{"type":"string"}/' >"$tmp/request"
post_file $chat "$tmp/request"
check "400 on a schema with neither an intent enum nor the reply alone" \
	expect 'status == 400'

post /ok$chat "$(request 'Please help me sign up, I need an account')"
check "ok: sign up is create_account" \
	expect 'answer["intent"] == "create_account"'

post $chat "$(request 'Can someone CALL ME tomorrow?')"
check "ok: call me is speak_to_human" \
	expect 'answer["intent"] == "speak_to_human"'

post $chat "$(request 'I am planning a trip; costly, isnt it?')"
check "ok: no whole keyword is unknown" expect 'answer["intent"] == "unknown"'

post $chat "$(request 'Price list and login please' \
	'["create_account","speak_to_human","other"]')"
check "ok: keywords of intents outside the enum are skipped" \
	expect 'answer["intent"] == "create_account"'

post $chat "$(request 'Hello there' '["send_info","other"]')"
check "ok: without unknown, falls back to the enum's last entry" \
	expect 'answer["intent"] == "other" and "other" in answer["summary"]'

post $chat '{"model":"m","messages":[
	{"role":"user","content":"What is the price?"},
	{"role":"assistant","content":"10 EUR"},
	{"role":"user","content":"Let me speak to a manager"}],
	"response_format":'"$(schema_format)"'}'
check "ok: the last user message decides" \
	expect 'answer["intent"] == "speak_to_human" and doc["model"] == "m"'

request 'Price?' >"$tmp/request"
curl -sS --max-time 5 -o /dev/null -o /dev/null -w '%{num_connects}\n' \
	-H 'Content-Type: application/json' --data-binary @"$tmp/request" \
	"$base$chat" "$base$chat" >"$tmp/connects" 2>"$tmp/curl.err"
check "connections are kept alive across requests" \
	test "$(tr '\n' ' ' <"$tmp/connects")" = "1 0 "

# ---- validation and routing --------------------------------------------

post $chat '{"model":"m","messages":[{"role":"user","content":"price"}]}'
check "400 without response_format" expect 'status == 400
	and doc["error"]["type"] == "invalid_request_error"
	and "response_format" in doc["error"]["message"]'

post $chat "$(request 'price' | sed 's/"triage"/"bad name!"/')"
check "400 on an invalid json_schema name" expect 'status == 400
	and "name" in doc["error"]["message"]'

post $chat "$(request 'price' '[]')"
check "400 on an empty intent enum" expect 'status == 400'

post $chat '{"model":"m","messages":[],"response_format":'"$(schema_format)"'}'
check "400 on empty messages" expect 'status == 400'

post $chat '{"model":'
check "400 on a body that is not JSON" expect 'status == 400
	and doc["error"]["type"] == "invalid_request_error"'

post /nosuchmode$chat "$(request 'price')"
check "404 on an unknown mode" expect 'status == 404 and "error" in doc'

post /v1/embeddings "$(request 'price')"
check "404 on an unknown path" expect 'status == 404 and "error" in doc'

head -c $((4 * 1024 * 1024 + 1)) /dev/zero >"$tmp/large"
post_file $chat "$tmp/large"
check "413 on a body over 4 MiB (Expect: 100-continue)" expect 'status == 413'
post_file $chat "$tmp/large" -H 'Expect:'
check "413 on a body over 4 MiB (sent at once)" expect 'status == 413'

post /noschema$chat \
	'{"model":"m","messages":[{"role":"user","content":"register me"}]}'
check "noschema: accepts a request without response_format" \
	expect 'status == 200 and answer["intent"] == "create_account"'

# ---- timing modes -------------------------------------------------------

post /slow-1$chat "$(request 'price')"
check "slow-1: answers ok after a second" expect 'status == 200
	and answer["intent"] == "send_info" and elapsed >= 1.0'

request 'price' >"$tmp/hang-request"
curl -sS --max-time 2 -o /dev/null -H 'Content-Type: application/json' \
	--data-binary @"$tmp/hang-request" "$base/hang$chat" 2>/dev/null &
hang_pid=$!
post $chat "$(request 'price')" --max-time 1
check "requests are served while another one hangs" \
	expect 'status == 200 and answer["intent"] == "send_info"'
wait $hang_pid
check "hang: the client times out" test $? -eq 28

# ---- error modes --------------------------------------------------------

post /error500$chat "$(request 'price')"
check "error500: 500 with a JSON error" expect 'status == 500
	and doc["error"]["type"] == "server_error"'

post /error503$chat "$(request 'price')"
check "error503: 503 with Retry-After" expect 'status == 503
	and headers["retry-after"] == "1" and "error" in doc'

post /error429$chat "$(request 'price')"
check "error429: 429 with Retry-After and a rate limit error" \
	expect 'status == 429 and headers["retry-after"] == "1"
	and doc["error"]["code"] == "rate_limit_exceeded"'

post /badkey$chat "$(request 'price')" -H 'Authorization: Bearer sk-quoted-back'
check "badkey: 401 quoting the key it was sent" expect 'status == 401
	and "sk-quoted-back" in doc["error"]["message"]'

flaky=
for _ in 1 2 3; do
	post /flaky-2$chat "$(request 'price')"
	flaky="$flaky $(cut -d' ' -f1 "$tmp/status")"
done
check "flaky-2: 500, 500, then 200" test "$flaky" = " 500 500 200"

# ---- misbehaving answers ------------------------------------------------

post /malformed$chat "$(request 'price')"
check "malformed: valid envelope, content not JSON" expect 'status == 200
	and isinstance(message["content"], str) and answer is None'

post /badenvelope$chat "$(request 'price')"
check "badenvelope: HTML body" expect 'status == 200 and doc is None
	and headers["content-type"].startswith("text/html")'

post /truncated$chat "$(request 'price')"
check "truncated: finish_reason length, empty content" expect 'status == 200
	and doc["choices"][0]["finish_reason"] == "length"
	and message["content"] == ""'

post /refusal$chat "$(request 'price')"
check "refusal: null content and a refusal" expect 'status == 200
	and message["content"] is None
	and message["refusal"] == "I can'"'"'t help with that."'

post /badintent$chat "$(request 'price')"
check "badintent: intent outside the enum" \
	expect 'status == 200 and answer["intent"] == "buy_crypto"'

post /lowconf$chat "$(request 'price')"
check "lowconf: confidence 0.1" expect 'status == 200
	and answer["confidence"] == 0.1 and answer["intent"] == "send_info"'

post /badintent$chat "$(reply_request 'price' "$classified")"
check "badintent: the reply request as ok" expect 'status == 200
	and set(answer) == {"reply"} and answer["reply"] != ""'

post /emptyreply$chat "$(request 'price')"
check "emptyreply: the classification as ok" expect 'status == 200
	and answer["intent"] == "send_info" and answer["confidence"] == 0.92
	and answer["summary"] != "" and "reply" not in answer'
post /emptyreply$chat "$(reply_request 'price' "$classified")"
check "emptyreply: the reply request gets an empty reply" expect 'status == 200
	and answer == {"reply": ""}'

post /intentonly$chat "$(request 'price')"
check "intentonly: the intent and no other key" expect 'status == 200
	and answer == {"intent": "send_info"}'
post /intentonly$chat "$(reply_request 'price' "$classified")"
check "intentonly: the reply request gets no reply key" expect 'status == 200
	and answer == {}'

post /forge$chat "$(request 'price')"
check "forge: the classification forges in the summary" expect 'status == 200
	and "\r\nTo: attacker@evil.test" in answer["summary"] and "reply" not in answer'
post /forge$chat "$(reply_request 'price' "$classified")"
check "forge: the reply request forges in the reply" expect 'status == 200
	and "----- Message text -----" in answer["reply"]'

post /noschema$chat "$(reply_request 'price' "$classified" | sed 's/,"response_format".*/}/')"
check "noschema: an assistant message makes it a reply request" expect 'status == 200
	and set(answer) == {"reply"}'

post /reply-status-401$chat "$(request 'price')"
check "reply-MODE: the classification as ok" expect 'status == 200
	and answer["intent"] == "send_info"'
post /reply-status-401$chat "$(reply_request 'price' "$classified")"
check "reply-MODE: the reply request as MODE" expect 'status == 401'
post /reply-flaky-1$chat "$(request 'price')"
post /reply-flaky-1$chat "$(reply_request 'price' "$classified")"
check "reply-flaky-1: counts the reply requests only" expect 'status == 500'
post /reply-flaky-1$chat "$(reply_request 'price' "$classified")"
check "reply-flaky-1: then ok" expect 'status == 200 and "reply" in answer'
post /reply-reply-ok$chat "$(request 'price')"
check "reply-MODE: MODE cannot be reply-*" expect 'status == 404'

post /flaky-1$chat "$(request 'price')"
post /flaky-1$chat "$(reply_request 'price' "$classified")"
check "flaky-N: both steps count" expect 'status == 200 and "reply" in answer'

post /think$chat "$(request 'price')"
check "think: <think> block before the JSON" expect 'status == 200
	and message["content"].startswith("<think>let me think about it</think>\n")
	and json.loads(message["content"].split("</think>\n", 1)[1])["intent"]
	    == "send_info"'

post /fenced$chat "$(request 'price')"
check "fenced: JSON in a code fence" expect 'status == 200
	and message["content"].startswith("```json\n")
	and message["content"].endswith("\n```")
	and json.loads(message["content"][8:-4])["intent"] == "send_info"'

post /huge$chat "$(request 'price')"
check "huge: a valid JSON body over 10 MB" expect 'status == 200
	and len(raw) > 10_000_000 and answer["intent"] == "send_info"'

request 'price' >"$tmp/huge-request"
curl -sS --max-time 5 -H 'Content-Type: application/json' \
	--data-binary @"$tmp/huge-request" "$base/huge$chat" 2>/dev/null |
	head -c 1000 >/dev/null
curl -sS --max-time 5 -o "$tmp/body" -D "$tmp/headers" \
	-w '%{http_code} %{time_total}' "$base/health" \
	>"$tmp/status" 2>"$tmp/curl.err"
check "huge: server survives a client that hangs up" expect 'status == 200'

# ---- status-N, nochoices, switch ---------------------------------------

post /status-401$chat "$(request 'price')"
check "status-401: a wrong API key, in OpenAI's words" expect 'status == 401
	and doc["error"]["code"] == "invalid_api_key"
	and "Incorrect API key" in doc["error"]["message"]
	and "retry-after" not in headers'

post /status-404$chat "$(request 'price')"
check "status-404: no such model, naming it" expect 'status == 404
	and "fake-model" in doc["error"]["message"]
	and doc["error"]["code"] == "model_not_found"'

post /status-429$chat "$(request 'price')"
check "status-429: 429 without Retry-After" \
	expect 'status == 429 and "retry-after" not in headers'

post /status-503-7$chat "$(request 'price')"
check "status-503-7: 503 with Retry-After: 7" expect 'status == 503
	and headers["retry-after"] == "7" and doc["error"]["type"] == "server_error"'

post /status-418$chat "$(request 'price')"
check "status-418: any 4xx, with a JSON error" \
	expect 'status == 418 and "error" in doc'

post /status-404$chat '{"model":'
check "status-N validates the request first" expect 'status == 400'

post /nochoices$chat "$(request 'price')"
check "nochoices: a chat.completion with no choices" expect 'status == 200
	and doc["object"] == "chat.completion" and doc["choices"] == []'

post /switch-s1$chat "$(request 'price')"
check "switch: ok until set" expect 'status == 200
	and answer["intent"] == "send_info"'
post /switch/s1/status-500 '{}'
check "switch: POST /switch/NAME/MODE sets it" expect 'status == 200
	and doc == {"switch": "s1", "mode": "status-500"}'
post /switch-s1$chat "$(request 'price')"
check "switch: then behaves as that mode" expect 'status == 500'
post /switch-s2$chat "$(request 'price')"
check "switch: each name on its own" expect 'status == 200'
post /switch/s1/ok '{}'
post /switch-s1$chat "$(request 'price')"
check "switch: and back" expect 'status == 200 and answer["intent"] == "send_info"'
post /switch/s1/nosuchmode '{}'
check "switch: an unknown mode is 404" expect 'status == 404'
post /switch/s1/switch-s2 '{}'
check "switch: a switch cannot name a switch" expect 'status == 404'

# ---- load counters (GET /stats, POST /stats/reset) ----------------------

# stats: GET /stats into $tmp (doc is the counters).
stats() {
	curl -sS --max-time 5 -o "$tmp/body" -D "$tmp/headers" \
		-w '%{http_code} %{time_total}' "$base/stats" \
		>"$tmp/status" 2>"$tmp/curl.err"
}

post /stats/reset ''
check "POST /stats/reset zeroes the counters" expect 'status == 200
	and doc == {"requests": 0, "in_flight": 0, "max_in_flight": 0,
	            "prompt_tokens": 0, "completion_tokens": 0,
	            "reply_asked": 0, "connections": 0}'
# usage: the prompt and completion tokens of the last answer, as "P C".
usage() {
	python3 -c 'import json, sys
u = json.load(open(sys.argv[1]))["usage"]
print(u["prompt_tokens"], u["completion_tokens"])' "$tmp/body"
}
prompt=0 completion=0
with_reply=$(request 'price' |
	sed 's/"properties":{"intent"/"properties":{"reply":{"type":"string"},"intent"/')
for body in "$(request 'price please')" "$(request 'Please call me')" "$with_reply"; do
	post $chat "$body"
	read -r p c <<<"$(usage)"
	prompt=$((prompt + p)) completion=$((completion + c))
done
post $chat '{"model":'
post /nosuchmode$chat "$(request 'price')"
stats
check "stats: counts the valid chat requests only" expect 'status == 200
	and doc["requests"] == 3 and doc["in_flight"] == 0
	and doc["max_in_flight"] == 1'
check "stats: sums the usage of the answers ($prompt, $completion)" expect "
	doc['prompt_tokens'] == $prompt and doc['completion_tokens'] == $completion
	and $prompt > 0 and $completion > 0"
check "stats: reply_asked counts a schema with a reply property" \
	expect 'doc["reply_asked"] == 1'
check "stats: one connection per curl run" expect 'doc["connections"] == 6'

slow_pids=
for _ in 1 2 3; do
	curl -sS --max-time 10 -o /dev/null -H 'Content-Type: application/json' \
		--data-binary "$(request 'price')" "$base/slow-3$chat" 2>/dev/null &
	slow_pids="$slow_pids $!"
done
# Bounded: the three are in flight for 3 s once they arrive.
for _ in $(seq 20); do
	stats
	expect 'doc["in_flight"] == 3' && break
	sleep 0.1
done
check "stats: requests in flight during a slow mode's wait" \
	expect 'doc["in_flight"] == 3 and doc["max_in_flight"] == 3'
post /stats/reset ''
check "stats: a reset keeps the requests in flight as the maximum" \
	expect 'doc["requests"] == 0 and doc["in_flight"] == 3
	and doc["max_in_flight"] == 3'
# shellcheck disable=SC2086 # the list of pids
wait $slow_pids
stats
check "stats: in flight back to 0, the maximum kept" \
	expect 'doc["in_flight"] == 0 and doc["max_in_flight"] == 3
	and doc["requests"] == 0'

# ---- log and shutdown ---------------------------------------------------

check "log: one JSON object per request with the agreed fields" expect_log '
	len(records) >= 40 and all({"time", "path", "mode", "authorization",
	                            "body"} <= set(r) for r in records)'

kill -TERM "$server_pid"
for _ in $(seq 50); do
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$server_pid" 2>/dev/null # still running: the check below fails
wait "$server_pid"
status=$?
server_pid=
check "SIGTERM: the server exits with status 0" test $status -eq 0
check "SIGTERM: the port and pid files are removed" \
	test ! -e "$tmp/port" -a ! -e "$tmp/pid"
check "nothing on stderr" test ! -s "$tmp/stderr"
check "no errors in the log" \
	expect_log 'not any("error" in r for r in records)'

echo "1..$checks"
[ "$failures" -eq 0 ]
