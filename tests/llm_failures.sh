#!/bin/bash
# The LLM failing in every way, and where each message ends: mailtriage-pipe --inline (one
# attempt per message, one process each) and mailtriaged (the workers sharing one circuit
# breaker) against the fake LLM server, whose request log counts what reached it. Then
# `mailtriagectl health` and the budget. No MTA: a sendmail stand-in takes what goes out.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe daemon=$build/milter/mailtriaged ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -s "$tmp/llm.pid" ] && kill "$(cat "$tmp/llm.pid")" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

python3 "$src/tests/fake-llm/fake_llm.py" --port-file "$tmp/port" --log "$tmp/llm.log" \
	--pid-file "$tmp/llm.pid" &
for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.2; done
port=$(cat "$tmp/port")
base=http://127.0.0.1:$port
# A port nobody listens on: bound, then let go.
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat > "$tmp/sendmail" <<EOF2
#!/bin/sh
cat > /dev/null
EOF2
chmod +x "$tmp/sendmail"

conf() { # NAME URL [MORE [llm] LINES]: $tmp/NAME.conf with database $tmp/NAME.db
	cat > "$tmp/$1.conf" <<EOF2
[daemon]
database = $tmp/$1.db
socket =
workers = 4
poll_interval = 1s
retry_base = 1m
busy_timeout = 5s
[sendmail]
path = $tmp/sendmail
[llm]
provider = openai
url = $2
model = m
timeout = 1s
max_response_size = 64k
${3:-}
[intent send_info]
template = $src/contrib/templates/send_info.txt
[mailbox support@site.test]
escalate_to = human@site.test
EOF2
}
message() { # ADDRESS: a question from ADDRESS, which is its Message-ID too (one sender each, so
	# that the reply interval and the loop caps stay out of the way)
	printf 'From: Ann <%s>\nSubject: Prices\nMessage-ID: <%s>\n\nWhat is the price of the basic plan?\n' "$1" "$1"
}
# Requests that reached the fake server's chat endpoint so far.
chat_requests() { grep -c '"path": "[^"]*/chat/completions"' "$tmp/llm.log"; }
sql() { sqlite3 "$tmp/$1.db" "$2"; }
# The message's state: STATE ATTEMPTS LLM_FAILURES, then whether its next attempt is later than
# its last update (0/1), then PROVIDER/INTENT/VALID of its classification ("-" when none).
state_of() { # NAME ID
	sql "$1" "SELECT m.state || ' ' || m.attempts || ' ' || m.llm_failures || ' '
		|| (m.next_attempt_at > m.updated_at) || ' '
		|| coalesce((SELECT provider || '/' || intent || '/' || valid FROM classifications c
		             WHERE c.message = m.id ORDER BY c.id DESC LIMIT 1), '-')
		FROM messages m WHERE m.id = $2"
}
last_error() { sql "$1" "SELECT last_error FROM messages WHERE id = $2"; }
classification_error() { sql "$1" "SELECT error FROM classifications WHERE message = $2 ORDER BY id DESC LIMIT 1"; }
wait_seconds() { sql "$1" "SELECT next_attempt_at - updated_at FROM messages WHERE id = $2"; }
inline() { # NAME MESSAGE-ID: one message through mailtriage-pipe --inline, stderr kept
	message "$2" | "$pipe" -c "$tmp/$1.conf" -f "$2" --inline -- support@site.test 2>> "$tmp/$1.err"
}

# ---- 1. one attempt per way of failing: the state it ends in, the requests it made ----------

# case NAME URL EXPECTED-STATE EXPECTED-REQUESTS ERROR-WORDS [LLM LINES]: one fresh database, one
# message; ERROR-WORDS are looked for in its last error, or in its classification's error.
case_of() {
	local name=$1 url=$2 expected=$3 requests=$4 words=$5 before after got
	conf "$name" "$url" "${6:-}"
	before=$(chat_requests)
	inline "$name" "$name@customer.test"
	after=$(chat_requests)
	got=$(state_of "$name" 1)
	check "$name: ends $expected" test "$got" = "$expected"
	check "$name: $requests request(s) reached the server" test "$((after - before))" = "$requests"
	check "$name: the reason says \"$words\"" grep -qF -- "$words" <<<"$(last_error "$name" 1) $(classification_error "$name" 1)"
}
# Transient: queued for another attempt, counted as an attempt and an LLM failure.
retry="queued 1 1 1 -"
case_of refused "http://127.0.0.1:$dead/v1" "$retry" 0 "Couldn't connect to server"
case_of dns "http://llm.invalid/v1" "$retry" 0 "Could not resolve host: llm.invalid"
case_of timeout "$base/slow-3/v1" "$retry" 1 "Timeout was reached"
case_of hang "$base/hang/v1" "$retry" 1 "Timeout was reached"
case_of http500 "$base/status-500/v1" "$retry" 1 "HTTP 500: The server had an error"
case_of http503 "$base/status-503-1/v1" "$retry" 1 "HTTP 503: The engine is currently overloaded"
case_of http503_bare "$base/status-503/v1" "$retry" 1 "HTTP 503"
case_of http429 "$base/status-429/v1" "$retry" 1 "HTTP 429: Rate limit reached for m"
case_of http429_retry_after "$base/status-429-300/v1" "$retry" 1 "HTTP 429"
check "429 with Retry-After 300: the next attempt is at least 300 s away" test "$(wait_seconds http429_retry_after 1)" -ge 300
check "429 without Retry-After: the back-off (retry_base 1m, jitter) decides" test "$(wait_seconds http429 1)" -lt 300
"$ctl" -c "$tmp/http500.conf" health > "$tmp/health.out"; status=$?
check "health after one 500: degraded (exit 1), the failure in the server's words" test "$status|$(head -n 1 "$tmp/health.out")" = \
	"1|LLM DEGRADED - 1 failure(s) in a row, retried with back-off: $base/status-500/v1/chat/completions: HTTP 500: The server had an error while processing your request."
# Configuration errors: queued, waiting, neither the attempts nor the LLM failures grew.
wait_state="queued 0 0 1 -"
case_of http401 "$base/status-401/v1" "$wait_state" 1 "HTTP 401: Incorrect API key provided"
case_of http403 "$base/status-403/v1" "$wait_state" 1 "HTTP 403: You are not allowed to use this model."
case_of http404 "$base/status-404/v1" "$wait_state" 1 "HTTP 404: The model \`m\` does not exist"
case_of tls "https://127.0.0.1:$port/ok/v1" "$wait_state" 0 "SSL connect error"
case_of http405 "$base/status-405/v1" "$wait_state" 1 "HTTP 405"
# A request the server rejects: the builtin classifier at once, the server's words kept.
case_of http400 "$base/status-400/v1" "done 1 0 0 builtin/send_info/1" 1 "the LLM server rejected the request: $base/status-400/v1/chat/completions: HTTP 400: Invalid schema"
# Answers that cannot be used: unknown, valid 0, which the escalation takes to a person.
unknown="done 1 0 0 openai/unknown/0"
case_of badenvelope "$base/badenvelope/v1" "$unknown" 1 "the server's response is not a chat completion"
case_of nochoices "$base/nochoices/v1" "$unknown" 1 "the server's response is not a chat completion"
case_of malformed "$base/malformed/v1" "$unknown" 1 "the answer is not a JSON object"
case_of badintent "$base/badintent/v1" "$unknown" 1 "the answer's intent \"buy_crypto\" is not in the mailbox's list"
case_of truncated "$base/truncated/v1" "$unknown" 1 "the answer was cut at max_tokens (finish_reason length)"
case_of refusal "$base/refusal/v1" "$unknown" 1 "the model refused: I can't help with that."
case_of huge "$base/huge/v1" "$unknown" 1 "the response is larger than max_response_size (65536 bytes)"
check "unknown answers go to a person" test "$(sql badintent "SELECT kind || ' ' || recipient FROM actions")" = "escalate human@site.test"
# Answers that can: the <think> block and the fence are taken off (of the classification and
# of the reply, asked for in a second request).
case_of think "$base/think/v1" "done 1 0 0 openai/send_info/1" 2 "$(:)"
case_of fenced "$base/fenced/v1" "done 1 0 0 openai/send_info/1" 2 "$(:)"
check "think, fenced: the reply text came through" test "$(sql think "SELECT reply_settled || ' ' || (reply LIKE 'Thank you for asking about our pricing.%') FROM classifications")|$(sql fenced "SELECT reply_error IS NULL AND reply LIKE 'Thank you%' FROM classifications")" = "1 1|1"
# After [llm] max_attempts transient failures, the builtin classifier decides.
case_of fallback "$base/status-500/v1" "done 1 0 0 builtin/send_info/1" 1 "fallback after 1 LLM failures: $base/status-500/v1/chat/completions: HTTP 500" "max_attempts = 1"
check "fallback: the reply went out all the same" test "$(sql fallback "SELECT kind || ' ' || state FROM actions")" = "reply sent"

# ---- 2. the circuit breaker and the health record across processes --------------------------

conf shut "$base/status-500/v1" "breaker_threshold = 3
breaker_cooldown = 1h"
before=$(chat_requests)
for i in 1 2 3 4 5 6 7 8; do inline shut "shut-$i@customer.test"; done
check "8 messages, one process each, against a 500: 3 requests, then the breaker is open" test "$(($(chat_requests) - before))" = 3
check "the messages after it wait, counted, without a request" grep -q "^LLM: not sent: the circuit breaker is open until .* (last: HTTP 500)$" <<<"$(last_error shut 8)"
check "a message kept back is counted as an attempt and an LLM failure" test "$(state_of shut 8)" = "$retry"
check "the breaker's opening is logged once" test "$(grep -c "circuit breaker open until" "$tmp/shut.err")" = 1
"$ctl" -c "$tmp/shut.conf" health > "$tmp/health.out"; status=$?
check "health: failing (exit 2) while the breaker is open" test "$status" = 2
check "health: says the breaker is open, after how many failures, and why" grep -q "^LLM FAILING - circuit breaker open until .* after 3 failure(s) in a row: $base/status-500/v1/chat/completions: HTTP 500: The server had an error" "$tmp/health.out"
check "health: counts the messages that wait" grep -q "^waiting: *8 message(s)$" "$tmp/health.out"

conf wrongkey "$base/status-401/v1"
before=$(chat_requests)
for i in 1 2 3 4 5; do inline wrongkey "key-$i@customer.test"; done
check "5 messages with a wrong key: 1 request" test "$(($(chat_requests) - before))" = 1
check "a wrong key is logged loudly once, not once per message" test "$(grep -c "error: LLM endpoint $base/status-401/v1 is misconfigured: .*HTTP 401: Incorrect API key provided" "$tmp/wrongkey.err")" = 1
for i in 1 5; do
	check "wrong key: message $i waits, its attempts not counted" test "$(state_of wrongkey $i)" = "$wait_state"
done
check "wrong key: the messages say so without the request" grep -q "^LLM: not sent: the LLM endpoint is misconfigured (HTTP 401); next probe at .*, see mailtriagectl health$" <<<"$(last_error wrongkey 5)"
"$ctl" -c "$tmp/wrongkey.conf" --json health > "$tmp/health.json"; status=$?
check "health --json: failing (exit 2) when misconfigured" test "$status" = 2
check "health --json: the state, the server's words and the waiting messages" python3 -c '
import json, sys
h = json.load(open(sys.argv[1]))
e = h["endpoint"]
assert (h["status"], h["exit_status"], e["state"], e["http_status"], h["waiting"]) == ("failing", 2, "misconfigured", 401, 5), h
assert "Incorrect API key provided" in e["reason"] and e["open_until"] > e["since"], e
' "$tmp/health.json"
# The operator fixes the key (here: the URL) and reloads; a new endpoint starts from nothing.
conf wrongkey "$base/v1"
sql wrongkey "UPDATE messages SET next_attempt_at = 0"
inline wrongkey "key-6@customer.test"
check "once the endpoint answers, a new message is classified by it" test "$(state_of wrongkey 6)" = "done 1 0 0 openai/send_info/1"
"$ctl" -c "$tmp/wrongkey.conf" health > "$tmp/health.out"; status=$?
check "health: ok (exit 0) once it answers" test "$status|$(head -c 17 "$tmp/health.out")" = "0|LLM OK - answerin"

rm -f "$tmp"/nothing.db*
conf nothing "$base/v1"
"$ctl" -c "$tmp/nothing.conf" health > /dev/null 2>&1
check "health: unknown (exit 3) without a database" test $? = 3
message nothing-1@customer.test | "$pipe" -c "$tmp/nothing.conf" -f nothing-1@customer.test -- support@site.test
"$ctl" -c "$tmp/nothing.conf" health > "$tmp/health.out" 2>&1
check "health: unknown (exit 3) when no program has called the endpoint" test "$?|$(head -c 12 "$tmp/health.out")" = "3|LLM UNKNOWN "
sed -i 's/^provider = openai/provider = builtin/' "$tmp/nothing.conf"
"$ctl" -c "$tmp/nothing.conf" health > /dev/null 2>&1
check "health: ok (exit 0) with the builtin classifier" test $? = 0
"$ctl" -c "$tmp/nothing.conf" health extra > /dev/null 2>&1
check "health: an extra argument is bad usage (64)" test $? = 64

# ---- 3. the budget, counted in the database across processes --------------------------------

conf budget "$base/v1" "daily_token_budget = 1"
before=$(chat_requests)
inline budget budget-1@customer.test
inline budget budget-2@customer.test
# The request for the reply text counts like any: the classification spent the budget.
check "daily_token_budget: the first message is classified, and its reply request waits" test "$(state_of budget 1)" = "queued 0 0 1 openai/send_info/1"
check "daily_token_budget: past it, the next waits without a request (over_budget = wait)" test "$(state_of budget 2)|$(($(chat_requests) - before))" = "queued 0 0 1 -|1"
check "daily_token_budget: the reason, with the count" grep -q "^LLM: the daily token budget is spent ([0-9]* of 1 tokens today)$" <<<"$(last_error budget 2)"
check "daily_token_budget: an event of the message says it waits" test "$(sql budget "SELECT count(*) FROM events WHERE message = 2 AND text LIKE 'waits, the attempt not counted: LLM: the daily token budget is spent%'")" = 1
"$ctl" -c "$tmp/budget.conf" health > "$tmp/health.out"; status=$?
check "health: degraded (exit 1) when the budget is spent" test "$status" = 1
check "health: says the budget is spent" grep -q "^LLM DEGRADED - answering, but the daily token budget is spent" "$tmp/health.out"
sed -i 's/^daily_token_budget = 1$/daily_token_budget = 1\nover_budget = fallback/' "$tmp/budget.conf"
inline budget budget-3@customer.test
check "over_budget = fallback: the builtin classifier decides at once" test "$(state_of budget 3)|$(($(chat_requests) - before))" = "done 1 0 0 builtin/send_info/1|1"
check "over_budget = fallback: the classification says why" grep -q "^LLM not asked: the daily token budget is spent (.*); the builtin\|^LLM not asked: the daily token budget is spent (.*) (over_budget = fallback)$" <<<"$(classification_error budget 3)"

conf perminute "$base/v1" "max_requests_per_minute = 1"
before=$(chat_requests)
inline perminute minute-1@customer.test
inline perminute minute-2@customer.test
check "max_requests_per_minute: the second message waits without a request" test "$(state_of perminute 2)|$(($(chat_requests) - before))" = "$wait_state|1"
check "max_requests_per_minute: the reason" grep -q "^LLM: max_requests_per_minute reached (1 requests in the last minute, at most 1)$" <<<"$(last_error perminute 2)"
check "max_requests_per_minute: it comes back within the minute (and a quarter)" test "$(wait_seconds perminute 2)" -le 77

# ---- 4. the daemon: its workers share one breaker --------------------------------------------

conf daemon "$base/switch-down/v1" "max_attempts = 3
breaker_threshold = 3
breaker_cooldown = 1s
breaker_cooldown_max = 2s"
sed -i 's/^retry_base = 1m$/retry_base = 1s\nretry_max = 2s/; s/^timeout = 1s$/timeout = 5s/' "$tmp/daemon.conf"
switch() { curl -sSf -o /dev/null -d '' "$base/switch/down/$1" || echo "# cannot switch the fake server to $1"; }
record() { # FIRST LAST: messages down-FIRST..down-LAST, recorded for the daemon
	for i in $(seq "$1" "$2"); do
		message "down-$i@customer.test" | "$pipe" -c "$tmp/daemon.conf" -f "down-$i@customer.test" -- support@site.test
	done
}
count_done() { sql daemon "SELECT count(*) FROM messages WHERE state = 'done'"; }
wait_done() { for _ in $(seq 1 300); do [ "$(count_done)" = "$1" ] && return 0; sleep 0.2; done; return 1; }
log_lines() { grep -c -- "$1" "$tmp/daemon.log"; }

# A wrong key: the messages wait, probes go now and then, nothing is used up.
switch status-401
record 1 3
before=$(chat_requests)
"$daemon" -f -c "$tmp/daemon.conf" 2> "$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 1 150); do [ "$(($(chat_requests) - before))" -ge 3 ] && break; sleep 0.2; done
check "wrong key: the daemon probes the endpoint again (a request, then probes)" test "$(($(chat_requests) - before))" -ge 3
# Between two probes (a message being probed with is working, attempt 1, for a moment).
all_waiting() { [ "$(sql daemon "SELECT group_concat(state || ' ' || attempts || ' ' || llm_failures, ',') FROM messages")" = "queued 0 0,queued 0 0,queued 0 0" ]; }
for _ in $(seq 1 50); do all_waiting && break; sleep 0.2; done
check "wrong key: every message still waits with nothing used up" all_waiting
check "wrong key: logged loudly once, probes and messages aside" test "$(log_lines "is misconfigured: ")" = 1
switch ok
wait_done 3
check "the key works again: the waiting messages are classified by the LLM, one attempt each" test "$(sql daemon "SELECT group_concat(m.attempts || ' ' || c.provider || '/' || c.intent, ',') FROM messages m JOIN classifications c ON c.message = m.id")" = "1 openai/send_info,1 openai/send_info,1 openai/send_info"
check "the daemon logged that it answers again, once" test "$(log_lines "answers again; the circuit breaker is closed")" = 1

# 30 messages against a server answering 500.
switch status-500
before=$(chat_requests)
record 4 33
wait_done 33
down_requests=$(($(chat_requests) - before))
check "30 messages against a 500 all end, by the builtin classifier" test "$(sql daemon "SELECT count(*) FROM messages m JOIN classifications c ON c.message = m.id WHERE m.state = 'done' AND c.provider = 'builtin'")" = 30
check "each reached the fallback after max_attempts (3)" test "$(sql daemon "SELECT count(*) FROM classifications WHERE error LIKE 'fallback after 3 LLM failures: %'")" = 30
check "30 messages against a 500: far fewer than 90 requests (saw $down_requests)" test "$down_requests" -lt 30
check "the breaker's opening was logged once" test "$(log_lines "circuit breaker open until")" = 1
"$ctl" -c "$tmp/daemon.conf" health > /dev/null; status=$?
check "health: failing (2) or degraded (1) while it answers 500" test "$status" = 2 -o "$status" = 1

# It comes back: the next message probes, and the breaker closes.
switch ok
before=$(chat_requests)
record 34 34
wait_done 34
check "the server is back: the message is classified by the LLM" test "$(state_of daemon 34 | cut -d' ' -f1,5)" = "done openai/send_info/1"
check "back: two requests for one message (its classification and its reply)" test "$(($(chat_requests) - before))" = 2
check "the daemon logged the recovery once more" test "$(log_lines "answers again; the circuit breaker is closed")" = 2
"$ctl" -c "$tmp/daemon.conf" health > /dev/null; status=$?
check "health: ok again (exit 0)" test "$status" = 0
kill -TERM "$daemon_pid"
for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
wait "$daemon_pid"; daemon_pid=

# ---- 5. two requests, the second only for mail whose reply the model writes -----------------

ask() { # ADDRESS TEXT: a message from ADDRESS (its Message-ID too) that says TEXT
	printf 'From: Ann <%s>\nSubject: A question\nMessage-ID: <%s>\n\n%s\n' "$1" "$1" "$2"
}
ask_inline() { # NAME ADDRESS TEXT
	ask "$2" "$3" | "$pipe" -c "$tmp/$1.conf" -f "$2" --inline -- support@site.test 2>> "$tmp/$1.err"
}
mark() { wc -l < "$tmp/llm.log"; }
# since MARK EXPR: EXPR over the chat requests logged after line MARK: rs, their bodies, and
# props, the property names of each one's answer schema.
since() {
	tail -n +"$(($1 + 1))" "$tmp/llm.log" | python3 -c '
import json, sys
rs = [r["body"] for r in map(json.loads, sys.stdin) if r.get("path", "").endswith("/chat/completions")]
props = [list(b["response_format"]["json_schema"]["schema"]["properties"]) for b in rs]
sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"
}
pricing="What is the price of the basic plan?"
classify='["intent", "confidence", "summary"]'

conf steps "$base/v1"
m=$(mark)
ask_inline steps person@customer.test "I would like to speak to a person, please call me."
check "escalated (speak_to_human): one request, whose schema has no reply" since "$m" "props == [$classify]"
check "escalated (speak_to_human): it went to the person" test "$(sql steps "SELECT kind || ' ' || state FROM actions WHERE message = 1")" = "escalate sent"
m=$(mark)
ask_inline steps ann@customer.test "$pricing"
check "answered: two requests, the classification's schema, then the reply's" since "$m" "props == [$classify, [\"reply\"]]"
check "answered: the reply request begins with every message of the first" since "$m" \
	'rs[1]["messages"][:len(rs[0]["messages"])] == rs[0]["messages"] and [x["role"] for x in rs[1]["messages"][len(rs[0]["messages"]):]] == ["assistant", "user"]'
check "answered: the assistant message is the model's classification" since "$m" 'json.loads(rs[1]["messages"][-2]["content"])["intent"] == "send_info"'
check "answered: the reply, with the model's text, went out" test "$(sql steps "SELECT a.kind || ' ' || a.state || ' ' || (c.reply LIKE 'Thank you for asking about our pricing.%') FROM actions a JOIN classifications c USING (message) WHERE message = 2")" = "reply sent 1"
check "answered: both requests' tokens, in the classification's row and in the budget's" test \
	"$(sql steps "SELECT (prompt_tokens > 0) || (completion_tokens > 0) || (reply_prompt_tokens > prompt_tokens) || (reply_completion_tokens > 0) || ' ' || (SELECT count(*) || ' ' || (sum(tokens) = c.prompt_tokens + c.completion_tokens + c.reply_prompt_tokens + c.reply_completion_tokens) FROM llm_requests WHERE message = 2) FROM classifications c WHERE message = 2")" = "1111 2 1"

conf lowconf "$base/lowconf/v1"
m=$(mark)
ask_inline lowconf low@customer.test "$pricing"
check "low confidence: one request, then the person" test "$(since "$m" 'len(rs) == 1' && sql lowconf "SELECT kind FROM actions")" = escalate
conf off "$base/v1"
echo "mode = off" >> "$tmp/off.conf"
m=$(mark)
ask_inline off off@customer.test "$pricing"
check "mode off: no request at all" since "$m" 'rs == []'

# The reply request fails: each kind of failure as a classification's, the classification kept.
conf replyconfig "$base/reply-status-401/v1"
m=$(mark)
ask_inline replyconfig ann@customer.test "$pricing"
check "reply request refused (401): the message waits, its classification kept" test "$(state_of replyconfig 1)" = "queued 0 0 1 openai/send_info/1"
check "reply request refused (401): after the classification's request, the reply's" since "$m" "props == [$classify, [\"reply\"]]"
check "reply request refused (401): the reason, and nothing sent" test "$(last_error replyconfig 1 | grep -c 'HTTP 401: Incorrect API key')|$(sql replyconfig "SELECT count(*) FROM actions")" = "1|0"
conf replyrejected "$base/reply-status-400/v1"
ask_inline replyrejected ann@customer.test "I need an account, please."
check "reply request rejected (400): escalated" test "$(state_of replyrejected 1)|$(sql replyrejected "SELECT kind FROM actions")" = "done 1 0 0 openai/create_account/1|escalate"
check "reply request rejected (400): with the server's words" grep -qF \
	"no reply sent: the answer would carry no text (the LLM server rejected the request: $base/reply-status-400/v1/chat/completions: HTTP 400: Invalid schema" <<<"$(sql replyrejected "SELECT reason FROM actions")"
conf emptyreply "$base/emptyreply/v1"
ask_inline emptyreply ann@customer.test "I need an account, please."
check "empty reply: escalated, with why" test "$(sql emptyreply "SELECT kind || ': ' || reason FROM actions")" = \
	"escalate: intent create_account: no reply sent: the answer would carry no text (empty model reply, no template of the intent's own); escalated"

# A transient failure of the reply request: the retry reuses the classification and asks only
# for the reply (as after a crash between the two steps).
conf retry "$base/reply-flaky-1/v1" "max_attempts = 3"
sed -i 's/^retry_base = 1m$/retry_base = 1s\nretry_max = 2s/' "$tmp/retry.conf"
m=$(mark)
ask ann@customer.test "$pricing" | "$pipe" -c "$tmp/retry.conf" -f ann@customer.test -- support@site.test
"$daemon" -f -c "$tmp/retry.conf" 2> "$tmp/retry.log" &
daemon_pid=$!
for _ in $(seq 1 150); do [ "$(sql retry "SELECT state FROM messages")" = done ] && break; sleep 0.2; done
kill -TERM "$daemon_pid"
for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
wait "$daemon_pid"; daemon_pid=
check "reply request failing once (500): done at the second attempt, one LLM failure" test "$(sql retry "SELECT state || ' ' || attempts || ' ' || llm_failures FROM messages")" = "done 2 1"
check "reply request failing once (500): the retry asked only for the reply" since "$m" "props == [$classify, [\"reply\"], [\"reply\"]]"
check "reply request failing once (500): one classification, and the reply sent" test "$(sql retry "SELECT count(*) FROM classifications")|$(sql retry "SELECT kind || ' ' || state FROM actions")" = "1|reply sent"

# ---- 6. the workers share the kept-alive connections: at most max_concurrency --------------

conf pool "$base/slow-0.3/v1" "max_concurrency = 2"
for i in $(seq 1 12); do
	message "pool-$i@customer.test" | "$pipe" -c "$tmp/pool.conf" -f "pool-$i@customer.test" -- support@site.test
done
"$daemon" -f -c "$tmp/pool.conf" 2> "$tmp/pool.log" &
daemon_pid=$!
# The client ends of connections to the fake server, as ss sees them, while the 4 workers work
# and once they are done (the connections stay open, kept alive).
: > "$tmp/pool.ports"
client_ports() { ss -tnH state established "( dport = :$port )" 2>/dev/null | awk '{print $3}' >> "$tmp/pool.ports"; }
for _ in $(seq 1 300); do
	client_ports
	[ "$(sql pool "SELECT count(*) FROM messages WHERE state = 'done'")" = 12 ] && break
	sleep 0.1
done
client_ports
kill -TERM "$daemon_pid"
for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
wait "$daemon_pid"; daemon_pid=
connections=$(sort -u "$tmp/pool.ports" | grep -c .)
if command -v ss > /dev/null; then
	check "12 messages, 4 workers, max_concurrency 2: all done over 1 or 2 connections (saw $connections)" \
		test "$(sql pool "SELECT count(*) FROM messages WHERE state = 'done'")|$((connections >= 1 && connections <= 2))" = "12|1"
else
	ok "# SKIP ss is not installed: connections not counted"
fi

echo "1..$n"
[ "$failed" = 0 ]
