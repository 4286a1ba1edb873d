#!/bin/bash
# [llm] redact = pii, seen from the LLM's side: a message with the sender's address, phone
# number, IBAN and card number in its From line, subject, text and a text attachment is
# classified through the fake LLM, whose request log shows exactly what left the site: the
# placeholders, and none of the values. The same message with redact = none goes as it is, so
# that the log is known to show them when they are sent. The model's reply comes back with the
# sender's own values in place of the placeholders it uses (fake mode echo-pii); a reply with a
# placeholder the message never had (invent-pii) is not sent but escalated, with why.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
llm_pid=
cleanup() {
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
printf '#!/bin/sh\nprintf "%%s\\n" "$@" > "%s/last.argv"\ncat > "%s/last.eml"\n' "$tmp" "$tmp" > "$tmp/sendmail"
chmod +x "$tmp/sendmail"
conf() { # REDACT DATABASE [MODE]
	cat <<EOF2
[daemon]
database = $2
socket =
[llm]
provider = openai
url = http://127.0.0.1:$port/${3:-ok}/v1
model = m
redact = $1
[sendmail]
path = $tmp/sendmail
[mailbox support@site.test]
escalate_to = human@site.test
EOF2
}
cat > "$tmp/message.eml" <<'EOF2'
From: Ann Example <ann.example@customer.test>
Subject: Prices for ann.example@customer.test
Message-ID: <r1@customer.test>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

What is the price of the basic plan? Call me on +49 30 1234567 or (030) 765 43 21.
My order 0301111111 arrived on 2024-01-15; version 10.0.19045.2965.
--b
Content-Type: text/csv
Content-Disposition: attachment; filename=billing.csv

name,iban,card
Ann,DE89 3704 0044 0532 0130 00,4111 1111 1111 1111
--b--
EOF2
# The request the fake LLM logged for the one message sent with REDACT, as one JSON text.
request() {
	conf "$1" "$tmp/$1.db" > "$tmp/$1.conf"
	"$pipe" -c "$tmp/$1.conf" -f ann.example@customer.test --inline -- support@site.test \
		< "$tmp/message.eml" 2> /dev/null
	python3 -c 'import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if "chat/completions" in l]
print(json.dumps(lines[-1]["body"]["messages"], ensure_ascii=False))' "$tmp/llm.log"
}
has() { grep -qF -- "$1" <<<"$sent"; }
hasnt() { ! grep -qF -- "$1" <<<"$sent"; }

sent=$(request none)
check "redact = none: the address goes" has "ann.example@customer.test"
check "redact = none: the phone number goes" has "+49 30 1234567"
check "redact = none: the attachment's IBAN goes" has "DE89 3704 0044 0532 0130 00"

sent=$(request pii)
check "redact = pii: a request went" test -n "$sent"
check "redact = pii: From and subject with the address's placeholder" \
	has 'From: Ann Example <[EMAIL_1]>\nSubject: Prices for [EMAIL_1]\n'
check "redact = pii: the phone numbers' placeholders" has 'Call me on [PHONE_1] or [PHONE_2].'
check "redact = pii: the attachment's text, its IBAN and card number as placeholders" \
	has 'Ann,[IBAN_1],[CARD_1]'
check "redact = pii: the attachment's text is marked as such" \
	has '----- text of the attachment billing.csv (text/csv) -----'
for value in ann.example@customer.test "30 1234567" 1234567 "765 43 21" "DE89" "3704 0044" "4111 1111"; do
	check "redact = pii: '$value' does not leave" hasnt "$value"
done
check "redact = pii: an order number, a date and a version stay" \
	has 'My order 0301111111 arrived on 2024-01-15; version 10.0.19045.2965.'
check "redact = pii: the mailbox's own address stays in the instructions" has "support@site.test"

# What the model wrote comes back with the sender's values, or goes to a person.
conf pii "$tmp/echo.db" echo-pii > "$tmp/echo.conf"
"$pipe" -c "$tmp/echo.conf" -f ann.example@customer.test --inline -- support@site.test \
	< "$tmp/message.eml" 2> /dev/null
check "echo-pii: the reply went to the sender" grep -qx "ann.example@customer.test" "$tmp/last.argv"
check "echo-pii: the placeholder is restored in the reply" \
	grep -q "We will write to you at ann.example@customer.test\." "$tmp/last.eml"
check "echo-pii: no placeholder left in the reply" test -z "$(grep -F '[EMAIL_' "$tmp/last.eml")"
conf pii "$tmp/invent.db" invent-pii > "$tmp/invent.conf"
"$pipe" -c "$tmp/invent.conf" -f ann.example@customer.test --inline -- support@site.test \
	< "$tmp/message.eml" 2> /dev/null
check "invent-pii: escalated to the person, not sent to the sender" grep -qx "human@site.test" "$tmp/last.argv"
check "invent-pii: the reason names the placeholder" \
	test "$("$build/ctl/mailtriagectl" -c "$tmp/invent.conf" --json show 1 | python3 -c 'import json,sys; a=json.load(sys.stdin)["actions"][-1]; print(a["kind"], "EMAIL_97" in a["reason"])')" = "escalate True"
echo "1..$n"
[ "$failed" = 0 ]
