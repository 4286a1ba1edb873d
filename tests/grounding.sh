#!/bin/bash
# Grounded answers, seen from the LLM's side (the fake server's request log) and from the mail
# that left: mailtriage-pipe --inline with the openai provider against tests/fake-llm, a temp
# database and a sendmail stand-in that keeps what it gets. Two mailboxes with their own
# persona, intents and knowledge; support@'s knowledge is larger than max_knowledge_chars, so
# that retrieval chooses. A question gets the fact it asks about and not an unrelated one; the
# answer names its source (show, conversation show); a follow-up's request carries the earlier
# exchange in order, the new message last; an answer that names no source, or one it was not
# given, is held back as [mailbox] ungrounded says (escalate, draft).
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe ctl=$build/ctl/mailtriagectl
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
# The mode of every request from now on (the url names switch-g).
mode() { curl -s -d "" "http://127.0.0.1:$port/switch/g/$1" | grep -q "\"mode\""; }

cat > "$tmp/sendmail" <<EOF2
#!/bin/sh
n=\$(ls "$tmp/sent" | grep -c '\.eml\$')
printf '%s\n' "\$@" > "$tmp/sent/\$n.argv"
cat > "$tmp/sent/\$n.eml"
EOF2
chmod +x "$tmp/sendmail"; mkdir "$tmp/sent" "$tmp/kb-support" "$tmp/kb-sales"
sent() { ls "$tmp/sent" | grep -c '\.eml$'; }
last_mail_to() { # RECIPIENT: the file of the last mail sendmail got for it
	local f
	f=$(grep -lx "$1" "$tmp"/sent/*.argv | sort -t/ -k2 -V | tail -n 1)
	echo "${f%.argv}.eml"
}

# support@'s knowledge: three topics, each padded past max_knowledge_chars together.
filler=$(printf 'Further details are given on request by our team. %.0s' $(seq 1 4))
cat > "$tmp/kb-support/prices.md" <<EOF2
# Prices

## Pro plan

The Pro plan costs 20 EUR a month. $filler

## Yearly plan

The yearly plan costs 200 EUR a year, two months free. $filler
EOF2
cat > "$tmp/kb-support/shipping.md" <<EOF2
# Shipping

## Countries

We ship to Norway and Iceland within five days. $filler
EOF2
cat > "$tmp/kb-sales/discounts.md" <<'EOF2'
# Volume discounts

Teams of fifty seats or more get 15 percent off.
EOF2
cat > "$tmp/mt.conf" <<EOF2
[daemon]
database = $tmp/mt.db
busy_timeout = 5s
[llm]
provider = openai
url = http://127.0.0.1:$port/switch-g/v1
model = m
max_knowledge_chars = 700
[sendmail]
path = $tmp/sendmail
timeout = 20s
[intent send_info]
action = reply
[intent book_demo]
description = Wants a demonstration of the product.
action = escalate
[mailbox support@site.test]
persona = You are Sam of the support desk.
escalate_to = human@site.test
reply_interval = 0
knowledge = $tmp/kb-support
[mailbox sales@site.test]
persona = You are Riley of the sales team.
intents = send_info, book_demo
escalate_to = human@site.test
reply_interval = 0
knowledge = $tmp/kb-sales
ungrounded = draft
[mailbox off@site.test]
mode = off
EOF2
ctl() { "$ctl" -c "$tmp/mt.conf" "$@"; }
deliver() { # FROM MAILBOX FILE
	"$pipe" -c "$tmp/mt.conf" -f "$1" --inline -- "$2" < "$3"
}
mail() { # TO ID SUBJECT IN-REPLY-TO TEXT
	printf 'From: Ann <ann@customer.test>\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n' "$1" "$3" "$2"
	[ -n "$4" ] && printf 'In-Reply-To: <%s>\nReferences: <%s>\n' "$4" "$4"
	printf '\n%s\n' "$5"
}
# EXPR (python) over the logged chat requests: rs (all bodies, oldest first), r (the last), and
# m (the last one's messages as (role, content)).
llm() {
	python3 - "$tmp/llm.log" "$1" <<'PY'
import json, sys
rs = [json.loads(line)["body"] for line in open(sys.argv[1]) if '"body"' in line]
rs = [b for b in rs if isinstance(b, dict) and "messages" in b]
r = rs[-1] if rs else {"messages": []}
m = [(x["role"], x["content"]) for x in r["messages"]]
print(eval(sys.argv[2]))
PY
}
requests() { llm 'len(rs)'; }

check "the fake LLM takes a mode" mode ok
# The pipe makes the database: message 1 (conversation 1), to a mailbox in mode off, asks
# nothing. Then the knowledge is indexed, as mailtriaged does when it starts.
printf 'From: x@customer.test\nSubject: hi\nMessage-ID: <x@customer.test>\n\nhi\n' |
	"$pipe" -c "$tmp/mt.conf" -f x@customer.test --inline -- off@site.test
ctl knowledge reindex > "$tmp/reindex.out"
check "knowledge reindex: three files indexed" grep -q "3 file(s): 3 indexed" "$tmp/reindex.out"
check "no request for mail of a mailbox in mode off" test "$(requests)" = 0

# A question about prices: the fact about prices goes, the one about shipping does not.
mail support@site.test q1@customer.test "Pro plan" "" "How much does the Pro plan cost per month?" > "$tmp/1.eml"
deliver ann@customer.test support@site.test "$tmp/1.eml"
check "a question with knowledge: classification and reply requests" test "$(requests)" = 2
check "the request carries the fact asked about" test "$(llm '"The Pro plan costs 20 EUR" in m[-4][1]')" = True
check "and not the unrelated one (retrieval chose)" test "$(llm 'any("Norway" in c for _, c in m)')" = False
check "the sources come numbered, before the new message" test "$(llm 'm[-4][0] == "user" and m[-4][1].count("<<<SOURCES") == 1 and "[1] " in m[-4][1]')" = True
check "the reply schema asks for sources" test "$(llm 'sorted(r["response_format"]["json_schema"]["schema"]["properties"])')" = "['reply', 'sources']"
check "the reply went out" test "$(sent)" = 1
reply1=$(last_mail_to ann@customer.test)
check "the reply states the source's fact" grep -q "From our documentation: The Pro plan costs 20 EUR a month." "$reply1"
reply1_id=$(sed -n 's/^Message-ID: *<\(.*\)>$/\1/Ip' "$reply1" | head -n 1)
out=$(ctl show 2)
check "show: the reply's sources, with heading and file" grep -qE "^    \[1\] Prices > Pro plan \(.*/prices.md\)$" <<<"$out"
check "show --json: reply_sources as an array" test "$(ctl --json show 2 | python3 -c 'import json,sys; s=json.load(sys.stdin)["classification"]["reply_sources"]; print(s[0]["number"], s[0]["path"].endswith("prices.md"))')" = "1 True"

# An unrelated question gets the shipping fact and not the price.
mail support@site.test q2@customer.test "Shipping" "" "Do you ship to Norway?" > "$tmp/2.eml"
deliver bob@customer.test support@site.test "$tmp/2.eml"
check "an unrelated question gets the other fact" test "$(llm 'any("We ship to Norway" in c for _, c in m)')" = True
check "and not the price" test "$(llm 'any("20 EUR" in c for _, c in m)')" = False

# The follow-up, in reply to our answer: the earlier exchange, in order, then the new message.
mail support@site.test q3@customer.test "Re: Pro plan" "$reply1_id" "And the yearly plan?" > "$tmp/3.eml"
deliver ann@customer.test support@site.test "$tmp/3.eml"
check "follow-up: the roles are user, assistant, then sources and the new message" \
	test "$(llm '" ".join(role for role, _ in m[1:5])')" = "user assistant user user"
check "follow-up: the first entry is the question" test "$(llm '"How much does the Pro plan cost" in m[1][1]')" = True
check "follow-up: the second is our answer" test "$(llm '"The Pro plan costs 20 EUR" in m[2][1] and m[2][1].startswith("<<<MESSAGE")')" = True
check "follow-up: the new message is the last before the reply step" test "$(llm '"And the yearly plan?" in m[4][1] and m[5][0] == "assistant"')" = True
check "follow-up: the knowledge found the yearly plan through the question before" test "$(llm '"yearly plan costs 200 EUR" in m[3][1]')" = True
out=$(ctl conversation show 2)
check "conversation show: user, assistant, user, assistant" test "$(grep -cE '^[0-9-]+ [0-9:]+  (user|assistant) <' <<<"$out")" = 4
check "conversation show: each answer's sources" test "$(grep -c '^    \[1\] Prices > ' <<<"$out")" = 2

# Two mailboxes: each request has its own persona, intents and knowledge.
mail sales@site.test s1@customer.test "Seats" "" "What is the price for fifty seats?" > "$tmp/4.eml"
deliver ann@customer.test sales@site.test "$tmp/4.eml"
check "sales: its persona, not support's" test "$(llm '"Riley" in r["messages"][0]["content"] and "Sam of" not in r["messages"][0]["content"]')" = True
check "sales: its intents" test "$(llm 'rs[-2]["response_format"]["json_schema"]["schema"]["properties"]["intent"]["enum"]')" = "['send_info', 'book_demo', 'unknown']"
check "sales: its knowledge, not support's" test "$(llm 'any("15 percent off" in c for _, c in m) and not any("EUR" in c for _, c in m)')" = True
check "support: not sales' knowledge" test "$(python3 -c "import json; print(any('15 percent' in json.dumps(json.loads(l)) and 'Sam of' in json.dumps(json.loads(l)) for l in open('$tmp/llm.log')))")" = False

# An answer that names no source, or one it was not given.
before=$(sent)
check "mode nosources" mode nosources
mail support@site.test q5@customer.test "Pro plan" "" "What does the Pro plan cost?" > "$tmp/5.eml"
deliver carl@customer.test support@site.test "$tmp/5.eml"
check "no source named, ungrounded = escalate: escalated" test "$(ctl --json show 6 | python3 -c 'import json,sys; a=json.load(sys.stdin)["actions"][-1]; print(a["kind"], "the answer names no source" in a["reason"])')" = "escalate True"
check "no source named: nothing went to the customer" test -z "$(grep -lx carl@customer.test "$tmp"/sent/*.argv)"
mail sales@site.test s2@customer.test "Seats" "" "What is the price for fifty seats?" > "$tmp/6.eml"
deliver dana@customer.test sales@site.test "$tmp/6.eml"
check "no source named, ungrounded = draft: a draft" test "$(ctl --json show 7 | python3 -c 'import json,sys; a=json.load(sys.stdin)["actions"][-1]; print(a["kind"], "ungrounded = draft" in a["reason"])')" = "draft True"
check "mode badsource" mode badsource
mail support@site.test q7@customer.test "Pro plan" "" "What does the Pro plan cost?" > "$tmp/7.eml"
deliver erin@customer.test support@site.test "$tmp/7.eml"
check "a source it was not given: escalated with the reason" test "$(ctl --json show 8 | python3 -c 'import json,sys; a=json.load(sys.stdin)["actions"][-1]; print(a["kind"], "the answer cites source 99, which it was not given" in a["reason"])')" = "escalate True"
check "show: the source not given is said" grep -q "^    \[99\] (not given to the model)$" <<<"$(ctl show 8)"
check "held back: only escalations and the draft went" test "$(sent)" = $((before + 3))

echo "1..$n"
[ "$failed" -eq 0 ]
