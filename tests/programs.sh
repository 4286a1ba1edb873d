#!/bin/bash
# The three programs' operator switches and exit statuses, without an MTA: a temp database,
# the builtin classifier, and a sendmail stand-in that records its argv and input.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
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

"$pipe" -c "$tmp/mt.conf" </dev/null >/dev/null 2>&1; check "mailtriage-pipe without recipients exits 64" test $? = 64
"$pipe" -c "$tmp/bad.conf" -f a@b.test -- support@site.test < "$tmp/pricing.eml" 2>/dev/null
check "mailtriage-pipe with a bad configuration exits 75 (Postfix retries)" test $? = 75
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
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
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
assert (body["intent"], body["from"], body["subject"], body["id"]) == ("lead", "ann@customer.test", "Prices", 1), body
' "$tmp/hooks.log"
hook_conf "http://127.0.0.1:$port/hook/503" > "$tmp/hook.conf"
rm -f "$tmp/hook.db"*
"$pipe" -c "$tmp/hook.conf" -f ann@customer.test --inline -- support@site.test < "$tmp/pricing.eml"
check "webhook failing: the message stays queued with the reason" grep -q "last error: webhook http://127.0.0.1:$port/hook/503: HTTP 503" <<<"$("$ctl" -c "$tmp/hook.conf" list --state queued)"
# The LLM client against the fake server's behaviours, through mailtriaged -t.
llm_try() {
	sed -e "s|^database = .*|database = $tmp/llm.db|" "$tmp/mt.conf" > "$tmp/llm.conf"
	printf '[llm]\nprovider = openai\nurl = http://127.0.0.1:%s/%s/v1\nmodel = m\ntimeout = 1s\nmax_response_size = 64k\n' "$port" "$1" >> "$tmp/llm.conf"
	"$daemon" -c "$tmp/llm.conf" -t "$tmp/pricing.eml" 2>&1
}
check "llm ok: the model's intent" grep -q "^classification: intent=send_info provider=openai confidence=0.92$" <<<"$(llm_try ok)"
check "llm hang: the request times out" grep -q "^llm: failed: .*Timeout was reached" <<<"$(llm_try hang)"
check "llm huge: the response is capped" grep -q "^llm: failed: .*larger than max_response_size (65536 bytes)" <<<"$(llm_try huge)"
check "llm 429: the failure names the status" grep -q "^llm: failed: .*HTTP 429" <<<"$(llm_try error429)"
check "llm 500: the failure names the status" grep -q "^llm: failed: .*HTTP 500" <<<"$(llm_try error500)"
check "llm HTML instead of JSON: a failure" grep -q "^llm: failed: .*not a chat completion" <<<"$(llm_try badenvelope)"
check "llm malformed content: unknown, with why" grep -q "intent=unknown provider=openai .*error=the answer is not a JSON object" <<<"$(llm_try malformed)"
check "llm intent outside the list: unknown" grep -q "intent=unknown .*error=the answer's intent \"buy_crypto\" is not in the mailbox's list" <<<"$(llm_try badintent)"
check "llm truncated: unknown" grep -q "intent=unknown .*cut at max_tokens" <<<"$(llm_try truncated)"
check "llm refusal: unknown" grep -q "intent=unknown .*the model refused" <<<"$(llm_try refusal)"
check "llm low confidence: unknown" grep -q "intent=unknown .*below min_confidence" <<<"$(llm_try lowconf)"
check "llm <think> block: stripped" grep -q "^classification: intent=send_info provider=openai" <<<"$(llm_try think)"
check "llm fenced JSON: read" grep -q "^classification: intent=send_info provider=openai" <<<"$(llm_try fenced)"
check "llm unusable answer: escalated" grep -q "^action: escalate" <<<"$(llm_try malformed)"
echo "1..$n"
[ "$failed" = 0 ]
