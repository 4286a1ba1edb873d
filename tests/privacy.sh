#!/bin/bash
# Data protection, without an MTA: messages recorded with mailtriage-pipe, processed by
# mailtriaged -f (log on stderr, every level) with mask_addresses on and an LLM URL that
# carries a user name and password to a server that quotes the API key back; then the whole
# log, the pipe's and mailtriagectl's stderr and the database hold no clear address and no
# secret. A world-readable key file keeps every program from starting. The daemon's
# housekeeping applies retention_days and metadata_retention_days to aged rows, and
# mailtriagectl forget deletes a correspondent.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe daemon=$build/milter/mailtriaged ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
daemon_pid= llm_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null && wait "$llm_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
unset SUDO_USER
wait_for() { # TRIES COMMAND...: poll every 0.2 s, at most TRIES times
	local tries=$1; shift
	for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 0.2; done
	return 1
}
sql() { sqlite3 -cmd ".timeout 5000" "$tmp/mt.db" "$@"; }

python3 "$src/tests/fake-llm/fake_llm.py" --port-file "$tmp/port" --log "$tmp/llm.log" &
llm_pid=$!
wait_for 50 test -s "$tmp/port" || not_ok "the fake LLM starts"
port=$(cat "$tmp/port")

# A sendmail that refuses refused@ naming the address, as some sendmails do, and keeps the rest.
cat > "$tmp/sendmail" <<EOF2
#!/bin/sh
for rcpt; do :; done
case "\$rcpt" in
refused@*) cat > /dev/null; echo "\$rcpt... User unknown" >&2; exit 1 ;;
esac
n=\$(ls "$tmp/sent" | grep -c '\.eml\$')
printf '%s\n' "\$@" > "$tmp/sent/\$n.argv"
cat > "$tmp/sent/\$n.eml"
EOF2
chmod +x "$tmp/sendmail"; mkdir "$tmp/sent"
printf 'sk-privacy-secret-42\n' > "$tmp/key"
chmod 600 "$tmp/key"
conf() { # URL [EXTRA POLICY KEYS]
	cat <<EOF2
[daemon]
database = $tmp/mt.db
socket =
workers = 1
poll_interval = 1s
retry_base = 1h
log_level = debug
mask_addresses = yes
[llm]
provider = openai
url = $1
model = m
api_key_file = $tmp/key
timeout = 5s
max_attempts = 1
[sendmail]
path = $tmp/sendmail
[policy]
trusted_authserv_ids = mx.site.test
${2:-}
[intent send_info]
template = $src/contrib/templates/send_info.txt
[mailbox support@site.test]
escalate_to = human@site.test
EOF2
}
conf "http://llmuser:s3cret-pw@127.0.0.1:$port/echokey/v1" > "$tmp/mt.conf"

# ---- the key file ----
chmod 644 "$tmp/key"
words="api_key_file: $tmp/key is readable by every user (chmod 600 or 640)"
"$daemon" -f -c "$tmp/mt.conf" > /dev/null 2> "$tmp/refused.err"; status=$?
check "world-readable key: mailtriaged does not start (78)" test "$status" = 78
check "world-readable key: mailtriaged says so in config check's words" grep -qF "$words" "$tmp/refused.err"
printf 'Subject: x\n\nx\n' | "$pipe" -c "$tmp/mt.conf" -f ann@customer.test -- support@site.test 2> "$tmp/refused.err"
check "world-readable key: mailtriage-pipe defers (75), saying why" test "$?:$(grep -cF "$words" "$tmp/refused.err")" = "75:1"
"$ctl" -c "$tmp/mt.conf" config show > /dev/null 2> "$tmp/refused.err"; status=$?
check "world-readable key: config show refuses it too (78)" test "$status:$(grep -cF "$words" "$tmp/refused.err")" = "78:1"
check "world-readable key: nothing was recorded" test ! -e "$tmp/mt.db"
chmod 600 "$tmp/key"

# ---- config show ----
show=$("$ctl" -c "$tmp/mt.conf" config show)
check "config show: the URL's user and password are ***" grep -qx "url = http://\*\*\*@127.0.0.1:$port/echokey/v1" <<<"$show"
check "config show: neither the password, the user nor the key" bash -c '! grep -qe s3cret-pw -e llmuser -e sk-privacy <<<"$1"' _ "$show"

# ---- messages through the pipe and the daemon, mask_addresses on ----
record() { # ENVELOPE-SENDER MESSAGE-ID [EXTRA HEADER]
	printf '%sFrom: Someone <%s>\nSubject: Prices\nMessage-ID: <%s>\n\nWhat is the price of the basic plan?\n' \
		"${3:-}" "$1" "$2" | "$pipe" -c "$tmp/mt.conf" -f "$1" -- support@site.test 2>> "$tmp/pipe.err"
}
auth_pass() { printf 'Authentication-Results: mx.site.test; spf=pass smtp.mailfrom=%s\n' "${1#*@}"; }
record ann@customer.test m1@customer.test "$(auth_pass ann@customer.test)
"
record dora@customer.test m2@customer.test 'Authentication-Results: mx.site.test; dmarc=fail
'
record refused@customer.test m3@customer.test "$(auth_pass refused@customer.test)
"
printf 'Subject: x\n\nx\n' | "$pipe" -c "$tmp/mt.conf" -f eve@customer.test -- nobody@site.test other@site.test 2>> "$tmp/pipe.err"
check "the pipe, no monitored recipient: exits 75" test $? = 75
check "three messages recorded" test "$(sql "SELECT count(*) FROM messages")" = 3
processed() { [ "$(sql "SELECT count(*) FROM messages WHERE state IN ('done', 'failed')")" -ge "$1" ]; }
start_daemon() { # LOG
	"$daemon" -f -c "$tmp/mt.conf" 2>> "$1" &
	daemon_pid=$!
}
stop_daemon() { kill -TERM "$daemon_pid"; wait "$daemon_pid"; daemon_pid=; }
start_daemon "$tmp/daemon.log"
check "the daemon processed the three" wait_for 150 processed 3
# A delivery report of our reply to ann: the bounce note names the address.
ours=$(sed -n 's/^Message-I[dD]: *//p' "$tmp/sent/0.eml" | head -n 1)
printf 'From: MAILER-DAEMON@mx.customer.test\nSubject: Undelivered\nMessage-ID: <dsn1@mx.customer.test>\nAuto-Submitted: auto-replied\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.customer.test\n\nFinal-Recipient: rfc822; ann@customer.test\nAction: failed\nStatus: 5.1.1\n--b\nContent-Type: text/rfc822-headers\n\nMessage-Id: %s\n--b--\n' "$ours" |
	"$pipe" -c "$tmp/mt.conf" -f '' -- support@site.test 2>> "$tmp/pipe.err"
check "the daemon processed the report" wait_for 150 processed 4
stop_daemon
check "a reply went to ann, an escalation to the human, none to refused" test \
	"$(cat "$tmp"/sent/*.argv | grep -c -e '^ann@customer.test$' -e '^human@site.test$')" = 2
check "the bounce of the reply to ann is recorded" test "$(sql "SELECT count(*) FROM bounces")" = 1
check "the LLM was asked with the key and the URL's user" grep -q '"authorization": "Bearer sk-privacy-secret-42"' "$tmp/llm.log"

# forget: its argument is one plain address, never one of ours.
forget_usage() { # NAME EXPECTED-ON-STDERR ARGS...
	local name=$1 expected=$2; shift 2
	"$ctl" -c "$tmp/mt.conf" forget "$@" > /dev/null 2> "$tmp/usage.err"
	check "forget $name: exit 64, saying why" test "$?:$(grep -cF -- "$expected" "$tmp/usage.err")" = "64:1"
}
forget_usage "without an address" "missing ADDRESS"
forget_usage "with two" "unexpected argument 'b@customer.test'" a@customer.test b@customer.test
forget_usage "with a non-address" "ADDRESS must be a plain mail address, not 'ann at customer'" "ann at customer"
forget_usage "of a monitored mailbox" "<S***@Site.test> is a monitored mailbox or an escalate_to address" Support@Site.test
forget_usage "of an escalation address" "is a monitored mailbox or an escalate_to address" human@site.test
check "forget: refusals deleted nothing" test "$(sql "SELECT count(*) FROM messages")" = 4
check "mailtriagectl help lists forget" grep -q "^  forget ADDRESS" <<<"$("$ctl" help 2>&1)"
"$ctl" -c "$tmp/mt.conf" --json forget nobody@customer.test > "$tmp/forget.json" 2> /dev/null
check "forget --json: the address and a count per table" python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc == {"address": "nobody@customer.test", "deleted": {"messages": 0, "classifications": 0,
    "actions": 0, "drafts": 0, "events": 0, "bounces": 0, "conversations": 0,
    "conversation_messages": 0, "staff_messages": 0}}, doc' "$tmp/forget.json"

# The forget audit line goes to stderr too (and syslog).
"$ctl" -c "$tmp/mt.conf" forget refused@customer.test > "$tmp/forget.out" 2> "$tmp/ctl.err"
check "forget: exit 0, counts on stdout" grep -q "^every trace of <refused@customer.test> deleted: 1 messages, 1 classifications, 1 actions, 0 drafts, [0-9]* events, 0 bounces, [01] conversations, [01] conversation entries, 0 staff messages$" "$tmp/forget.out"
check "forget: the audit line masks the address" grep -q "^mailtriagectl: forget by [^ ]*: every trace of <r\*\*\*@customer.test> deleted (1 messages" "$tmp/ctl.err"
check "forget: each leaves an event with the counts, not the address" test \
	"$(sql "SELECT count(*) FROM events WHERE message IS NULL AND text LIKE 'forget by %' AND text NOT LIKE '%refused%' AND text NOT LIKE '%nobody%'")" = 2

cat "$tmp/daemon.log" "$tmp/pipe.err" "$tmp/ctl.err" > "$tmp/all.log"
check "the log is not empty: summary lines of the four" test "$(grep -c ': id=[0-9]* from=' "$tmp/all.log")" -ge 4
for addr in ann@customer.test dora@customer.test refused@customer.test eve@customer.test \
	nobody@site.test other@site.test human@site.test support@site.test mailer-daemon@mx.customer.test; do
	check "mask_addresses: $addr is nowhere in the log" bash -c '! grep -qi "$1" "$2"' _ "$addr" "$tmp/all.log"
done
check "mask_addresses: the masked forms are there (from, mailbox, to)" grep -q "from=<a\*\*\*@customer.test> mailbox=<s\*\*\*@site.test> .* to=<a\*\*\*@customer.test>" "$tmp/all.log"
check "mask_addresses: the escalation's address masked" grep -q "to=<h\*\*\*@site.test>" "$tmp/all.log"
check "mask_addresses: sendmail's words masked" grep -q "r\*\*\*@customer.test... User unknown" "$tmp/all.log"
check "mask_addresses: the bounce note masked" grep -q "to <a\*\*\*@customer.test> hard-bounced" "$tmp/all.log"
check "mask_addresses: the pipe's recipients masked" grep -q "no recipient is a monitored mailbox (n\*\*\*@site.test o\*\*\*@site.test)" "$tmp/all.log"
check "secrets: the LLM failure is logged with the URL masked" grep -q "http://\*\*\*@127.0.0.1:$port/echokey/v1/chat/completions: HTTP 500: .*Bearer \*\*\*" "$tmp/all.log"
sql .dump > "$tmp/dump.sql"
for secret in s3cret-pw llmuser sk-privacy-secret-42; do
	check "secrets: $secret is in no log line" bash -c '! grep -q "$1" "$2"' _ "$secret" "$tmp/all.log"
	check "secrets: $secret is in no event, error or classification" bash -c '! grep -q "$1" "$2"' _ "$secret" "$tmp/dump.sql"
done

# ---- retention, by the daemon's housekeeping ----
conf "http://127.0.0.1:$port/v1" "retention_days = 30
metadata_retention_days = 365" > "$tmp/mt.conf"
ann=$(sql "SELECT id FROM messages WHERE message_id = 'm1@customer.test'")
dora=$(sql "SELECT id FROM messages WHERE message_id = 'm2@customer.test'")
dsn=$(sql "SELECT id FROM messages WHERE message_id = 'dsn1@mx.customer.test'")
# ann's answer came from the builtin classifier (the LLM refused the key), which writes no reply
# text: give it the text an LLM would have written.
sql "UPDATE classifications SET reply = 'Dear Ann, the basic plan costs', raw_answer = '{}' WHERE message = $ann;
     UPDATE messages SET received_at = received_at - 40 * 86400 WHERE id = $ann;
     UPDATE messages SET received_at = received_at - 400 * 86400 WHERE id = $dsn;
     UPDATE messages SET state = 'failed', received_at = received_at - 40 * 86400 WHERE id = $dora"
record fresh@customer.test m5@customer.test
start_daemon "$tmp/daemon2.log"
emptied() { [ "$(sql "SELECT count(*) FROM messages WHERE raw IS NULL")" = 2 ]; }
check "retention: the two messages older than 30 days lose their content" wait_for 150 emptied
check "retention: the report older than 365 days is deleted" test "$(sql "SELECT count(*) FROM messages WHERE id = $dsn")" = 0
check "retention: the fresh message keeps its content" test "$(sql "SELECT count(*) FROM messages WHERE message_id = 'm5@customer.test' AND raw IS NOT NULL")" = 1
check "retention: their rows stay (the reply interval counts them)" test "$(sql "SELECT count(*) FROM actions WHERE message = $ann")" = 1
check "retention: the classifier's reply text is gone too, its summary stays" test \
	"$(sql "SELECT count(*) FROM classifications WHERE message = $ann AND reply IS NULL AND raw_answer IS NULL AND intent = 'send_info'")" = 1
check "retention: one log line says what went" grep -q "retention: the content of 2 message(s) older than 30 days removed .* 1 message(s) older than 365 days deleted" "$tmp/daemon2.log"
check "retention: kept as an event of the daemon" test "$(sql "SELECT count(*) FROM events WHERE message IS NULL AND text LIKE 'retention: %'")" = 1
"$ctl" -c "$tmp/mt.conf" retry "$dora" > /dev/null 2>&1
failed_again() { sql "SELECT last_error FROM messages WHERE id = $dora AND state = 'failed'" | grep -q "content was removed by \[policy\] retention_days"; }
check "retention: a retried message without content fails, unanswered" wait_for 150 failed_again
stop_daemon
check "retention: nothing more was sent (reply, escalation, and the fresh one's)" test "$(ls "$tmp/sent" | grep -c '\.eml$')" = 3
check "no sanitizer report in the daemon's logs" bash -c '! cat "$1" "$2" | grep -q -e "ERROR: AddressSanitizer" -e "runtime error:" -e LeakSanitizer' _ "$tmp/daemon.log" "$tmp/daemon2.log"

echo "1..$n"
[ "$failed" = 0 ]
