#!/bin/bash
# The three programs' operator switches and exit statuses, without an MTA: a temp database,
# the builtin classifier, and a sendmail stand-in that records its argv and input.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe daemon=$build/milter/mailtriaged ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/sendmail" <<EOF2
#!/bin/sh
n=\$(ls "$tmp/sent" | wc -l)
printf '%s\n' "\$@" > "$tmp/sent/\$n.argv"
cat > "$tmp/sent/\$n.eml"
EOF2
chmod +x "$tmp/sendmail"; mkdir "$tmp/sent"
cat > "$tmp/mt.conf" <<EOF2
[daemon]
database = $tmp/mt.db
busy_timeout = 1s
[sendmail]
path = $tmp/sendmail
# The builtin classifier writes no reply text: the template of the intent's own answers.
[intent send_info]
template = $src/contrib/templates/send_info.txt
[mailbox support@site.test]
escalate_to = human@site.test
EOF2
printf 'From: Ann <ann@customer.test>\nSubject: Prices\nMessage-ID: <p1@customer.test>\n\nWhat is the price of the basic plan?\n' > "$tmp/pricing.eml"

out=$("$daemon" -V); check "mailtriaged -V prints the version" test "$out" = "mailtriaged $(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")"
out=$("$daemon" -n -c "$tmp/mt.conf" 2>&1); check "mailtriaged -n accepts a good file" test $? = 0
printf '[daemon]\nworkers = many\n' > "$tmp/bad.conf"
out=$("$daemon" -n -c "$tmp/bad.conf" 2>&1); status=$?
check "mailtriaged -n refuses a bad file with 78" test "$status" = 78
check "mailtriaged -n names file, line and key" grep -q "$tmp/bad.conf:2: \[daemon\] workers must be a whole number" <<<"$out"
"$daemon" --no-such-option >/dev/null 2>&1; check "mailtriaged: bad usage exits 64" test $? = 64

out=$("$daemon" -c "$tmp/mt.conf" -t "$tmp/pricing.eml" 2>&1)
check "mailtriaged -t: classification by the builtin provider" grep -q "^classification: intent=send_info provider=builtin" <<<"$out"
check "mailtriaged -t: the decision is a reply" grep -q "^action: reply (intent send_info: reply)" <<<"$out"
check "mailtriaged -t: the reply text is shown" grep -q "^Hello Ann," <<<"$out"
check "mailtriaged -t: nothing is sent" test -z "$(ls "$tmp/sent")"
out=$("$daemon" -c "$tmp/mt.conf" -t "$tmp/pricing.eml" --sender '' 2>&1)
check "mailtriaged -t --sender '': policy stops the reply" grep -q "^policy: null envelope sender" <<<"$out"
"$daemon" -c "$tmp/mt.conf" -t "$tmp/missing.eml" >/dev/null 2>&1; check "mailtriaged -t on a missing file exits 66" test $? = 66

# A master.cf mistake never bounces the mail (pipe(8) bounces on any status but 0 and 75): the
# pipe exits 75 and says why on stderr, which becomes Postfix's delivery status text.
pipe_usage() { # NAME EXPECTED-ON-STDERR ARGS...
	local name=$1 expected=$2; shift 2
	"$pipe" "$@" < "$tmp/pricing.eml" > "$tmp/pipe.out" 2> "$tmp/pipe.err"
	check "mailtriage-pipe $name exits 75 (Postfix retries)" test $? = 75
	check "mailtriage-pipe $name says why on stderr" grep -qF "mailtriage-pipe: error: usage error: $expected" "$tmp/pipe.err"
}
pipe_usage "without recipients" "no recipient" -c "$tmp/mt.conf"
pipe_usage "without recipients after --" "no recipient" -c "$tmp/mt.conf" -f ann@customer.test --
pipe_usage "with an unknown option" "Unknown option -x" -c "$tmp/mt.conf" -x -f ann@customer.test -- support@site.test
pipe_usage "with -f missing its value" "Missing argument for -f" -c "$tmp/mt.conf" -f
pipe_usage "with -V beside recipients" "-V given with recipients" -c "$tmp/mt.conf" -V -- support@site.test
check "mailtriage-pipe -V beside recipients: nothing was recorded" test ! -e "$tmp/mt.db"
pipe_usage "with --help beside recipients" "--help given with recipients" --help -- support@site.test
"$pipe" -V > "$tmp/pipe.out" 2>&1; check "mailtriage-pipe -V alone prints the version, exit 0" test "$?|$(cat "$tmp/pipe.out")" = "0|mailtriage-pipe $(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")"
"$pipe" -c "$tmp/mt.conf" -f ann@customer.test -- support@site.test < /dev/null 2> "$tmp/pipe.err"
check "mailtriage-pipe on empty input exits 75, not a bounce" test $? = 75
check "mailtriage-pipe on empty input says so" grep -q "empty input" "$tmp/pipe.err"
"$pipe" -c "$tmp/bad.conf" -f a@b.test -- support@site.test < "$tmp/pricing.eml" 2>/dev/null
check "mailtriage-pipe with a bad configuration exits 75 (Postfix retries)" test $? = 75
# A mailbox left to the milter ([mailbox] intake = milter): the pipe defers, records nothing.
sed -e "s|^database = .*|database = $tmp/milteronly.db|" "$tmp/mt.conf" > "$tmp/milteronly.conf"
printf '[mailbox sales@site.test]\nescalate_to = human@site.test\nintake = milter\n' >> "$tmp/milteronly.conf"
"$pipe" -c "$tmp/milteronly.conf" -f ann@customer.test -- sales@site.test < "$tmp/pricing.eml" 2> "$tmp/pipe.err"
check "mailtriage-pipe for an intake = milter mailbox exits 75" test $? = 75
check "mailtriage-pipe for an intake = milter mailbox says why" grep -qF "recipient <sales@site.test>: [mailbox] intake = milter, so the pipe does not record it; ignored" "$tmp/pipe.err"
no_rows() { [ ! -e "$1" ] || [ "$(sqlite3 "$1" "SELECT count(*) FROM messages")" = 0 ]; }
check "mailtriage-pipe for an intake = milter mailbox records nothing" no_rows "$tmp/milteronly.db"
"$pipe" -c "$tmp/mt.conf" -f ann@customer.test --inline -- support@site.test < "$tmp/pricing.eml"
check "mailtriage-pipe --inline exits 0" test $? = 0
check "--inline: the message is processed at once" test "$("$ctl" -c "$tmp/mt.conf" --json show 1 | grep -c '"state": "done"')" = 1
check "--inline: the reply went to sendmail with the null sender" test "$(tr '\n' ' ' < "$tmp/sent/0.argv")" = "-i -f <> -- ann@customer.test "
check "--inline: the reply answers the message" grep -q "^In-Reply-To: <p1@customer.test>" "$tmp/sent/0.eml"

out=$("$ctl" -c "$tmp/mt.conf" list); check "mailtriagectl list shows the message" grep -q "^1 .*done .*send_info .*reply sent .*Prices" <<<"$out"
"$ctl" -c "$tmp/mt.conf" show 99 >/dev/null 2>&1; check "mailtriagectl show of no message exits 1" test $? = 1
"$ctl" -c "$tmp/mt.conf" retry 1 >/dev/null; check "mailtriagectl retry of a done message queues it" test "$("$ctl" -c "$tmp/mt.conf" list --state queued | grep -c '^1 ')" = 1
"$ctl" -c "$tmp/mt.conf" retry 1 >/dev/null 2>&1; check "mailtriagectl retry of a queued message exits 1" test $? = 1
"$pipe" -c "$tmp/mt.conf" -f ann@customer.test -- support@site.test < "$tmp/pricing.eml"
"$ctl" -c "$tmp/mt.conf" nosuchcommand >/dev/null 2>&1; check "mailtriagectl unknown command exits 64" test $? = 64
out=$("$ctl" -c "$tmp/mt.conf" --json list)
check "mailtriagectl --json list: the same message again is a duplicate, done at once" test \
	"$(python3 -c 'import json,sys; print(" ".join(r["state"] for r in json.load(sys.stdin)))' <<<"$out")" = "done queued"
check "mailtriagectl show: the duplicate says of what" grep -q "^last error: *duplicate of message 1" <<<"$("$ctl" -c "$tmp/mt.conf" show 2)"
# action webhook: a JSON record POSTed to the intent's webhook_url; a failure defers.
python3 "$src/tests/fake-llm/fake_llm.py" --port-file "$tmp/port" --log "$tmp/hooks.log" \
	--pid-file "$tmp/llm.pid" &
for _ in $(seq 1 50); do [ -s "$tmp/port" ] && break; sleep 0.2; done
port=$(cat "$tmp/port")
trap 'kill "$(cat "$tmp/llm.pid")" 2>/dev/null; rm -rf "$tmp"' EXIT
hook_conf() {
	sed -e "s|^database = .*|database = $tmp/hook.db|" "$tmp/mt.conf"
	printf 'intents = lead\n[intent lead]\naction = webhook\nkeywords = price\nwebhook_url = %s\n' "$1"
}
hook_conf "http://127.0.0.1:$port/hook" > "$tmp/hook.conf"
"$pipe" -c "$tmp/hook.conf" -f ann@customer.test --inline -- support@site.test < "$tmp/pricing.eml"
show=$("$ctl" -c "$tmp/hook.conf" --json show 1)
check "webhook: the action is recorded as sent" grep -q '"kind": "webhook"' <<<"$show"
check "webhook: the receiver got the message's record" python3 -c '
import json, sys
hooks = [json.loads(l) for l in open(sys.argv[1]) if "\"hook\"" in l]
body = hooks[0]["body"]
assert (body["classification"]["intent"], body["sender"]["from"], body["message"]["subject"],
        body["message"]["id"]) == ("lead", "ann@customer.test", "Prices", 1), body
' "$tmp/hooks.log"
hook_conf "http://127.0.0.1:$port/hook/503" > "$tmp/hook.conf"
rm -f "$tmp/hook.db"*
"$pipe" -c "$tmp/hook.conf" -f ann@customer.test --inline -- support@site.test < "$tmp/pricing.eml"
check "webhook failing: the message stays queued with the reason" grep -q "last error: webhook http://127.0.0.1:$port/hook/503: HTTP 503" <<<"$("$ctl" -c "$tmp/hook.conf" list --state queued)"
# The rules that need the database, through mailtriage-pipe --inline and the builtin provider.
rules_conf() {
	cat <<EOF2
[daemon]
database = $tmp/rules.db
[sendmail]
path = $tmp/sendmail
[policy]
loop_limit_mailbox = 2
loop_limit_total = 3
$1
[mailbox support@site.test]
escalate_to = human@site.test
reply_interval = 0
$2
[mailbox sales@site.test]
escalate_to = human@site.test
reply_interval = 0
[intent send_info]
template = $src/contrib/templates/send_info.txt
EOF2
}
question() { # FROM MESSAGE-ID [EXTRA HEADER]
	printf '%sFrom: %s\nSubject: Prices\nMessage-ID: <%s>\n\nWhat is the price of the basic plan?\n' "${3:-}" "$1" "$2"
}
inline() { # CONF FROM MAILBOX MESSAGE-ID [EXTRA HEADER]
	question "$2" "$4" "${5:-}" | "$pipe" -c "$1" -f "$2" --inline -- "$3"
}
reason_of() { sqlite3 "$tmp/rules.db" "SELECT a.kind || ': ' || a.reason FROM actions a JOIN messages m ON m.id = a.message WHERE m.message_id = '$1' ORDER BY a.id DESC LIMIT 1"; }
rm -rf "$tmp/sent"/*
rules_conf "" "" > "$tmp/rules.conf"
for i in 1 2 3; do inline "$tmp/rules.conf" loop@customer.test support@site.test "loop-$i@customer.test"; done
check "loop cap per mailbox: two replies within loop_window, then none" test "$(reason_of loop-2@customer.test)|$(reason_of loop-3@customer.test)" = \
	"reply: intent send_info: reply|escalate: no automatic reply (loop cap: 2 automatic replies to this address from this mailbox within loop_window); escalated for a person (escalate_suppressed)"
inline "$tmp/rules.conf" loop@customer.test sales@site.test loop-4@customer.test
inline "$tmp/rules.conf" loop@customer.test sales@site.test loop-5@customer.test
check "loop cap across mailboxes: the third reply in all is the last" test "$(reason_of loop-4@customer.test)|$(reason_of loop-5@customer.test)" = \
	"reply: intent send_info: reply|escalate: no automatic reply (loop cap: 3 automatic replies to this address within loop_window); escalated for a person (escalate_suppressed)"
check "loop caps: exactly three replies went to the counterpart" test "$(grep -lx 'loop@customer.test' "$tmp"/sent/*.argv | wc -l)" = 3

rm -f "$tmp/rules.db"*
rules_conf "trusted_authserv_ids = mx.site.test" "escalate_suppressed = no" > "$tmp/rules.conf"
inline "$tmp/rules.conf" forged@customer.test support@site.test forged-1@customer.test "Authentication-Results: mx.site.test; dmarc=fail
"
check "escalate_suppressed = no: a held-back message is only recorded, with why" test "$(reason_of forged-1@customer.test)" = \
	"none: no reply: sender authentication: dmarc=fail (a reply would be backscatter to a forged address)"
check "classify_suppressed = no: the held-back message was not classified" test "$(sqlite3 "$tmp/rules.db" "SELECT count(*) FROM classifications")" = 0
rm -f "$tmp/rules.db"*
rules_conf "trusted_authserv_ids = mx.site.test
classify_suppressed = yes" "" > "$tmp/rules.conf"
inline "$tmp/rules.conf" forged@customer.test support@site.test forged-2@customer.test "Authentication-Results: mx.site.test; dmarc=fail
"
check "classify_suppressed = yes: classified and recorded" test "$(sqlite3 "$tmp/rules.db" "SELECT intent FROM classifications")" = send_info
check "classify_suppressed = yes: still not answered, escalated" grep -q "^escalate: no automatic reply (sender authentication: dmarc=fail" <<<"$(reason_of forged-2@customer.test)"

# The LLM client against the fake server's behaviours, through mailtriaged -t.
llm_try() {
	sed -e "s|^database = .*|database = $tmp/llm.db|" "$tmp/mt.conf" > "$tmp/llm.conf"
	printf '[llm]\nprovider = openai\nurl = http://127.0.0.1:%s/%s/v1\nmodel = m\ntimeout = 1s\nmax_response_size = 64k\n' "$port" "$1" >> "$tmp/llm.conf"
	"$daemon" -c "$tmp/llm.conf" -t "$tmp/pricing.eml" 2>&1
}
check "llm ok: the model's intent" grep -q "^classification: intent=send_info provider=openai confidence=0.92$" <<<"$(llm_try ok)"
check "llm hang: the request times out" grep -q "^llm: failed: .*Timeout was reached" <<<"$(llm_try hang)"
check "llm huge: the response is capped, and counts as unknown" grep -q "intent=unknown provider=openai .*error=the response is larger than max_response_size (65536 bytes)" <<<"$(llm_try huge)"
check "llm 429: the failure names the status" grep -q "^llm: failed: .*HTTP 429" <<<"$(llm_try error429)"
check "llm 500: the failure names the status" grep -q "^llm: failed: .*HTTP 500" <<<"$(llm_try error500)"
check "llm HTML instead of JSON: unknown, with why" grep -q "intent=unknown provider=openai .*error=the server's response is not a chat completion" <<<"$(llm_try badenvelope)"
check "llm malformed content: unknown, with why" grep -q "intent=unknown provider=openai .*error=the answer is not a JSON object" <<<"$(llm_try malformed)"
check "llm intent outside the list: unknown" grep -q "intent=unknown .*error=the answer's intent \"buy_crypto\" is not in the mailbox's list" <<<"$(llm_try badintent)"
check "llm truncated: unknown" grep -q "intent=unknown .*cut at max_tokens" <<<"$(llm_try truncated)"
check "llm refusal: unknown" grep -q "intent=unknown .*the model refused" <<<"$(llm_try refusal)"
check "llm low confidence: unknown" grep -q "intent=unknown .*below min_confidence" <<<"$(llm_try lowconf)"
check "llm <think> block: stripped" grep -q "^classification: intent=send_info provider=openai" <<<"$(llm_try think)"
check "llm fenced JSON: read" grep -q "^classification: intent=send_info provider=openai" <<<"$(llm_try fenced)"
check "llm unusable answer: escalated" grep -q "^action: escalate" <<<"$(llm_try malformed)"
check "llm answer with the intent alone: the intent stands, the defaults are noted" grep -q \
	"^classification: intent=send_info provider=openai confidence=0.50 error=confidence missing, taken as min_confidence 0.50; summary missing$" <<<"$(llm_try intentonly)"
check "llm reply answer without the reply: no text, and why" grep -q \
	"^reply request: answered (.*): the reply answer has no reply$" <<<"$(llm_try intentonly)"
# -t shows both steps: the reply is asked for only when the plan sends it.
check "-t: an answered message shows the reply request" grep -q \
	"^reply request: answered ([0-9]* ms, [0-9]* prompt and [0-9]* completion tokens)$" <<<"$(llm_try ok)"
check "-t: the reply text is the model's" grep -q "^Thank you for asking about our pricing.$" <<<"$(llm_try ok)"
check "-t: an escalated message makes no reply request" grep -q \
	"^reply request: none (the plan sends no text of the model's)$" <<<"$(llm_try lowconf)"
check "-t: a failed reply request: no text, escalated" grep -q \
	"^reply request: failed: .*HTTP 400.* (the reply gets no text)$" <<<"$(llm_try reply-status-400)"

# No reply that carries no text: an empty model reply, or the builtin classifier, and no
# template of the intent's own make an escalation, with why.
empty_conf() { # [LLM GROUP]
	printf '[daemon]\ndatabase = %s\n[sendmail]\npath = %s\n%s\n[mailbox support@site.test]\nescalate_to = human@site.test\n' \
		"$tmp/empty.db" "$tmp/sendmail" "${1:-}"
}
empty_reason='no reply sent: the answer would carry no text (empty model reply, no template of the intent'"'"'s own); escalated'
empty_conf "[llm]
provider = openai
url = http://127.0.0.1:$port/emptyreply/v1
model = m
timeout = 5s" > "$tmp/empty.conf"
check "empty model reply, no template: -t decides an escalation" grep -qF "action: escalate (intent send_info: $empty_reason)" \
	<<<"$("$daemon" -c "$tmp/empty.conf" -t "$tmp/pricing.eml" 2>&1)"
rm -rf "$tmp/sent"/*
"$pipe" -c "$tmp/empty.conf" -f ann@customer.test --inline -- support@site.test < "$tmp/pricing.eml"
check "empty model reply, no template: nothing went to the sender" test "$(grep -lx 'ann@customer.test' "$tmp"/sent/*.argv 2>/dev/null | wc -l)" = 0
check "empty model reply, no template: the message went to the person" test "$(grep -lx 'human@site.test' "$tmp"/sent/*.argv 2>/dev/null | wc -l)" = 1
check "empty model reply, no template: the action says why" test \
	"$(sqlite3 "$tmp/empty.db" "SELECT kind || ': ' || reason || ' (' || state || ')' FROM actions")" = "escalate: intent send_info: $empty_reason (sent)"
empty_conf > "$tmp/empty.conf"
check "builtin classifier, no template: escalated, with why" grep -qF \
	"action: escalate (intent send_info: no reply sent: the answer would carry no text (the builtin classifier writes no reply text, no template of the intent's own); escalated)" \
	<<<"$("$daemon" -c "$tmp/empty.conf" -t "$tmp/pricing.eml" 2>&1)"
echo "1..$n"
[ "$failed" = 0 ]
