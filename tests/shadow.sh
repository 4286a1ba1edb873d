#!/bin/bash
# Mailbox mode shadow, without an MTA: mailtriage-pipe records, mailtriaged -f processes (its
# log on stderr), the fake LLM classifies, and a sendmail stand-in keeps whatever it is given. A shadow mailbox
# sends nothing (no mail to sendmail, no webhook POST) and records everything: the reply, the
# escalation and the webhook auto would have made, each with what would have left, which
# mailtriagectl list and show print; the daemon's summary line says status=shadow. Shadow replies do
# not count for reply_interval: the same mailbox switched to auto answers the same sender.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe daemon=$build/milter/mailtriaged ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
llm_pid= daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null && wait "$llm_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
wait_for() { # TRIES COMMAND...: poll every 0.2 s, at most TRIES times
	local tries=$1; shift
	for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 0.2; done
	return 1
}

python3 "$src/tests/fake-llm/fake_llm.py" --port-file "$tmp/port" --log "$tmp/llm.log" &
llm_pid=$!
wait_for 50 test -s "$tmp/port" || not_ok "the fake LLM starts"
port=$(cat "$tmp/port")

cat > "$tmp/sendmail" <<EOF2
#!/bin/sh
n=\$(ls "$tmp/sent" | grep -c '\.eml\$')
printf '%s\n' "\$@" > "$tmp/sent/\$n.argv"
cat > "$tmp/sent/\$n.eml"
EOF2
chmod +x "$tmp/sendmail"; mkdir "$tmp/sent"
sent() { ls "$tmp/sent" | grep -c '\.eml$'; }
conf() { # MODE
	cat <<EOF2
[daemon]
database = $tmp/mt.db
socket =
[llm]
provider = openai
url = http://127.0.0.1:$port/v1
model = m
[sendmail]
path = $tmp/sendmail
[intent create_account]
action = webhook
webhook_url = http://127.0.0.1:$port/hook
[mailbox support@site.test]
mode = $1
escalate_to = human@site.test
intents = send_info, create_account, speak_to_human
EOF2
}
conf shadow > "$tmp/mt.conf"
ctl() { "$ctl" -c "$tmp/mt.conf" "$@"; }
deliver() { # SENDER MESSAGE-ID SUBJECT TEXT [PIPE OPTIONS]
	printf 'From: %s\nSubject: %s\nMessage-ID: <%s>\n\n%s\n' "$1" "$3" "$2" "$4" |
		"$pipe" -c "$tmp/mt.conf" -f "$1" ${5:-} -- support@site.test
}
deliver ann@customer.test a1@customer.test Prices "What is the price of the basic plan?"
deliver ann@customer.test a2@customer.test "Prices again" "And the price of the pro plan?"
deliver bob@customer.test b1@customer.test Help "I want to speak to a human, please."
deliver cat@customer.test c1@customer.test Account "Please register an account for me."
"$daemon" -f -c "$tmp/mt.conf" 2> "$tmp/daemon.log" &
daemon_pid=$!
summaries() { test "$(grep -c ': id=[0-9]* from=' "$tmp/daemon.log")" -ge 4; }
wait_for 150 summaries
kill -TERM "$daemon_pid"; wait "$daemon_pid"; daemon_pid=
check "mode shadow: the four messages are done" \
	test "$(sqlite3 "$tmp/mt.db" "SELECT count(*) FROM messages WHERE state = 'done'")" = 4
check "mode shadow: sendmail was never run" test "$(sent)" = 0
check "mode shadow: no webhook was posted" test "$(grep -c '"mode": "hook"' "$tmp/llm.log")" = 0
check "mode shadow: the model classified each message" \
	test "$(grep '"path": "/v1/chat/completions"' "$tmp/llm.log" | grep -c '"name": "triage"')" = 4

out=$(ctl list)
row() { awk -v id="$1" '$1 == id' <<<"$out"; }
check "list: a reply shadow" grep -Eq ' send_info +reply shadow +Prices$' <<<"$(row 1)"
check "list: the sender's second message gets a reply shadow too (not held by reply_interval)" \
	grep -Eq ' send_info +reply shadow +Prices again$' <<<"$(row 2)"
check "list: an escalate shadow" grep -Eq ' speak_to_human +escalate shadow +Help$' <<<"$(row 3)"
check "list: a webhook shadow" grep -Eq ' create_account +webhook shadow +Account$' <<<"$(row 4)"

out=$(ctl show 1)
check "show: the action, its recipient and Message-ID" \
	grep -Eq '^  reply shadow to <ann@customer.test> message-id <[^>]+@[^>]+>$' <<<"$out"
check "show: what would have left" grep -qx '    would have sent (mode shadow):' <<<"$out"
check "show: its recipient" grep -qx 'To: ann@customer.test' <<<"$out"
check "show: its subject" grep -qx 'Subject: Re: Prices' <<<"$out"
check "show: its text, the model's reply" grep -qx 'Thank you for asking about our pricing.' <<<"$out"
id=$(sed -n 's/^  reply shadow .* message-id <\(.*\)>$/\1/p' <<<"$out")
check "show --json: the mail kept is the one of that Message-ID" test "$(ctl --json show 1 |
	python3 -c 'import json, sys; a = json.load(sys.stdin)["actions"][0]
print(a["state"], "<" + sys.argv[1] + ">" in a["shadow_text"])' "$id")" = "shadow True"
out=$(ctl show 3)
check "show: an escalation's recipient" grep -Eq '^  escalate shadow to <human@site.test> ' <<<"$out"
check "show: the escalation as the person would have read it" grep -q '^Subject: .*Help' <<<"$out"
out=$(ctl show 4)
check "show: the webhook's URL" grep -q "^  webhook shadow to <http://127.0.0.1:$port/hook>" <<<"$out"
check "show: the webhook's body" grep -q '"intent":"create_account"' <<<"$out"

check "summary line: status=shadow with the recipient" grep -Eq \
	'^mailtriaged: 1: id=1 from=<ann@customer.test> .* action=reply to=<ann@customer.test> msgid=<[^ ]+> status=shadow ' \
	"$tmp/daemon.log"
check "summary line: the escalation, status=shadow" grep -Eq \
	' id=3 .* action=escalate to=<human@site.test> .* status=shadow ' "$tmp/daemon.log"

# The same mailbox in mode auto: the shadow replies did not count, so ann is answered.
conf auto > "$tmp/mt.conf"
deliver ann@customer.test a3@customer.test "Prices, third" "The price of the team plan?" --inline
check "mode auto after shadow: the sender gets a reply" test "$(sent)" = 1
check "mode auto after shadow: to the sender" grep -qx 'ann@customer.test' "$tmp/sent/0.argv"
check "list: that one is sent" grep -Eq ' reply sent +Prices, third$' <<<"$(ctl list | awk '$1 == 5')"
echo "1..$n"
[ "$failed" = 0 ]
