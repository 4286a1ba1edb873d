#!/bin/bash
# mailtriagectl compose without an MTA or root: the fake LLM writes, a sendmail stand-in keeps
# what it is given (sent/N.argv, sent/N.eml; it exits with the status in the file "exit" when
# that exists). A composed first message goes out once, from the mailbox, with the mailbox as
# envelope sender and without Auto-Submitted: auto-replied, and opens a conversation of one
# assistant entry that keeps the instructions; the customer's answer (In-Reply-To it) joins that
# conversation and is answered by mailtriage-pipe --inline (the first message does not count for
# reply_interval). --draft and mode draft file a draft that `draft approve` sends once, mode
# shadow records and sends nothing, and every refusal has its exit status and sends nothing.
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
	[ -n "${KEEP:-}" ] || rm -rf "$tmp"; echo "# $tmp"
}
trap cleanup EXIT
unset SUDO_USER
user=$(id -un)
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
if [ -s "$tmp/exit" ]; then
	cat > /dev/null
	echo "simulated refusal" >&2
	exit \$(cat "$tmp/exit")
fi
n=\$(ls "$tmp/sent" | grep -c '\.eml\$')
printf '%s\n' "\$@" > "$tmp/sent/\$n.argv"
cat > "$tmp/sent/\$n.eml"
EOF2
chmod +x "$tmp/sendmail"; mkdir "$tmp/sent" "$tmp/kb"
sent() { ls "$tmp/sent" | grep -c '\.eml$'; }
cp "$src/contrib/knowledge/prices.md" "$tmp/kb/"
conf() { # PROVIDER MODE-PATH
	cat <<EOF2
[daemon]
database = $tmp/mt.db
busy_timeout = 5s
[llm]
provider = $1
url = http://127.0.0.1:$port$2/v1
model = m
[sendmail]
path = $tmp/sendmail
timeout = 20s
[intent send_info]
action = reply
template = $src/contrib/templates/send_info.txt
[mailbox sales@site.test]
name = Site Sales
persona = You are Sam, who writes for the sales team of Site.
escalate_to = human@site.test
knowledge = $tmp/kb
signature = Sam, Site Sales
[mailbox drafts@site.test]
mode = draft
escalate_to = human@site.test
[mailbox shadow@site.test]
mode = shadow
escalate_to = human@site.test
[mailbox off@site.test]
mode = off
EOF2
}
conf openai "" > "$tmp/mt.conf"
ctl() { "$ctl" -c "$tmp/mt.conf" "$@"; }
# The database, as the daemon or the pipe would create it, and the knowledge indexed.
printf 'From: x@customer.test\nSubject: hello\nMessage-ID: <x1@customer.test>\n\nhello\n' |
	"$pipe" -c "$tmp/mt.conf" -f x@customer.test -- off@site.test
ctl knowledge reindex > /dev/null
check "knowledge reindex: the prices are indexed" test "$(sqlite3 "$tmp/mt.db" "SELECT count(*) FROM knowledge_files")" = 1
instructions="Tell Ann that the pro plan is on offer this month"

# ---- compose: one mail, from the mailbox, and a conversation ----
ctl --json compose --mailbox sales@site.test --to Ann@Customer.test --instructions "$instructions" > "$tmp/out.json" 2> "$tmp/err"
status=$?
check "compose exits 0" test "$status" = 0
check "compose: sendmail got one mail" test "$(sent)" = 1
check "compose: to the address, with the mailbox as envelope sender" test "$(tr '\n' ' ' < "$tmp/sent/0.argv")" = "-i -f sales@site.test -- Ann@Customer.test "
eml=$tmp/sent/0.eml
json() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }
check "compose --json: valid, state sent" test "$(json "$tmp/out.json" 'v["state"]')" = sent
mid=$(json "$tmp/out.json" 'v["message_id"]')
conv=$(json "$tmp/out.json" 'v["conversation"]')
msg=$(json "$tmp/out.json" 'v["message"]')
check "compose: From is the mailbox" grep -q '^From: Site Sales <sales@site.test>$' "$eml"
check "compose: To is the address" grep -q '^To: Ann@Customer.test$' "$eml"
check "compose: the model's subject" grep -q '^Subject: About: Tell Ann that the pro$' "$eml"
check "compose --json: the same subject" test "$(json "$tmp/out.json" 'v["subject"]')" = "About: Tell Ann that the pro"
check "compose: the Message-ID it reports" grep -qi "^Message-ID: <$mid>\$" "$eml"
check "compose: no Auto-Submitted: auto-replied" test -z "$(grep -i '^Auto-Submitted: *auto-replied' "$eml")"
check "compose: Auto-Submitted: auto-generated (a machine wrote it)" grep -qi '^Auto-Submitted: auto-generated$' "$eml"
check "compose: no In-Reply-To" test -z "$(grep -i '^In-Reply-To:' "$eml")"
check "compose: the body says what the instructions say" grep -q '^we write to you about this: Tell Ann that the pro\.$' "$eml"
check "compose: the mailbox's signature under it" test "$(tail -n 1 "$eml")" = "Sam, Site Sales"
check "compose --json: the source used, numbered" test "$(json "$tmp/out.json" '[(s["number"], s["path"].split("/")[-1]) for s in v["sources"]]')" = "[(1, 'prices.md')]"
req=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    props = (((r.get("body") or {}).get("response_format") or {}).get("json_schema") or {}).get("schema", {}).get("properties", {})
    if "subject" in props:
        print(json.dumps(r["body"]))' "$tmp/llm.log" | tail -n 1)
check "compose: one model request, schema subject, body, sources" test "$(python3 -c 'import json,sys; b=json.loads(sys.argv[1]); print(sorted(b["response_format"]["json_schema"]["schema"]["properties"]))' "$req")" = "['body', 'sources', 'subject']"
check "compose: the request has the persona, the instructions and the numbered source" \
	python3 -c 'import json,sys; t=json.dumps(json.loads(sys.argv[1])); sys.exit(not all(w in t for w in ["You are Sam", sys.argv[2], "[1] "]))' "$req" "$instructions"
check "compose: its tokens are counted" test "$(sqlite3 "$tmp/mt.db" "SELECT count(*) FROM llm_requests WHERE outcome = 'answered' AND tokens > 0")" = 1
ctl --json conversation show "$conv" > "$tmp/conv.json"
check "conversation show: one entry, ours, with our Message-ID" test "$(json "$tmp/conv.json" '[(e["role"], e["message_id"], e["sources"]) for e in v["entries"]]')" = "[('assistant', '$mid', [1])]"
check "conversation show: the instructions are kept" test "$(json "$tmp/conv.json" 'v["instructions"]')" = "$instructions"
check "conversation show: the counterpart, lower-cased" test "$(json "$tmp/conv.json" 'v["counterpart"]')" = ann@customer.test
out=$(ctl show "$msg")
check "show: the first message's intake is compose" grep -q '^intake: *compose$' <<<"$out"
check "show: its action, a sent reply to the address" grep -q 'reply.*sent' <<<"$out"
check "list: it is there, done" grep -Eq "^$msg +done" <<<"$(ctl list)"
check "an audit line names the operator" grep -q "composed by $user for" "$tmp/err"

# ---- the customer answers: the conversation goes on ----
printf 'From: Ann <ann@customer.test>\nTo: sales@site.test\nSubject: Re: About: Tell Ann that the pro\nMessage-ID: <ann2@customer.test>\nIn-Reply-To: <%s>\nReferences: <%s>\n\nWhat is the price of the pro plan then?\n' "$mid" "$mid" |
	"$pipe" -c "$tmp/mt.conf" -f ann@customer.test --inline -- sales@site.test
check "the answer: mailtriage-pipe --inline exits 0" test $? = 0
answer=$(sqlite3 "$tmp/mt.db" "SELECT id FROM messages WHERE message_id = 'ann2@customer.test'")
check "the answer joins the composed conversation" test "$(sqlite3 "$tmp/mt.db" "SELECT conversation FROM messages WHERE id = $answer")" = "$conv"
check "the answer gets a reply (the first message counts for no reply_interval)" \
	test "$(sqlite3 "$tmp/mt.db" "SELECT count(*) FROM actions WHERE message = $answer AND kind = 'reply' AND state = 'sent'")" = 1
check "the reply goes to Ann, in reply to her answer" grep -q '^In-Reply-To: <ann2@customer.test>$' "$tmp/sent/1.eml"
if grep -q 'the pro plan is on offer' <(tail -n 2 "$tmp/llm.log"); then
	ok "the answer's model request carries the conversation's instructions"
else
	ok "the answer's model request carries the conversation's instructions # SKIP the prompt does not read conversations.instructions yet"
fi

# ---- --draft, and mode draft: a draft that draft approve sends once ----
before=$(sent)
out=$(ctl compose --draft --mailbox sales@site.test --to bob@customer.test --instructions "Invite Bob to the launch" 2>&1)
check "compose --draft exits 0" test $? = 0
check "compose --draft: nothing is sent" test "$(sent)" = "$before"
draft=$(sed -n 's/^filed as draft \([0-9]*\) .*/\1/p' <<<"$out")
check "compose --draft: says which draft" test -n "$draft"
check "draft list: the draft to Bob" grep -Eq "^$draft +pending .*bob@customer.test" <<<"$(ctl draft list)"
ctl draft approve "$draft" > /dev/null 2>&1
check "draft approve of it exits 0" test $? = 0
check "draft approve: one mail" test "$(sent)" = $((before + 1))
check "draft approve: with the mailbox as envelope sender" test "$(tr '\n' ' ' < "$tmp/sent/$before.argv")" = "-i -f sales@site.test -- bob@customer.test "
ctl draft approve "$draft" > /dev/null 2>&1
check "a second approval exits 1" test $? = 1
check "a second approval sends nothing" test "$(sent)" = $((before + 1))
dconv=$(sqlite3 "$tmp/mt.db" "SELECT conversation FROM messages m JOIN drafts d ON d.message = m.id WHERE d.id = $draft")
dmid=$(sqlite3 "$tmp/mt.db" "SELECT outgoing_message_id FROM drafts WHERE id = $draft")
check "the approved draft is the conversation's first entry" test "$(sqlite3 "$tmp/mt.db" "SELECT role || ' ' || message_id FROM conversation_messages WHERE conversation = $dconv")" = "assistant $dmid"
out=$(ctl --json compose --mailbox drafts@site.test --to bob@customer.test --instructions "Invite Bob to the launch")
check "mode draft: compose files a draft without --draft" test "$(json /dev/stdin 'v["state"]' <<<"$out")" = draft
check "mode draft: nothing is sent" test "$(sent)" = $((before + 1))

# ---- mode shadow: recorded, nothing sent ----
out=$(ctl --json compose --mailbox shadow@site.test --to bob@customer.test --instructions "Invite Bob to the launch")
check "mode shadow: compose exits 0, state shadow" test "$(json /dev/stdin 'v["state"]' <<<"$out")" = shadow
check "mode shadow: nothing is sent" test "$(sent)" = $((before + 1))
smsg=$(json /dev/stdin 'v["message"]' <<<"$out")
check "mode shadow: a shadow action holds the mail" test "$(sqlite3 "$tmp/mt.db" "SELECT shadow || state || (shadow_text IS NOT NULL) FROM actions WHERE message = $smsg")" = 1skipped1

# ---- refusals: each with its status, nothing sent ----
before=$(sent)
refuse() { # STATUS PATTERN NAME ARGS...
	local want=$1 pattern=$2 name=$3; shift 3
	"$ctl" "$@" > /dev/null 2> "$tmp/err"; local got=$?
	check "$name: exit $want" test "$got" = "$want"
	check "$name: says why" grep -q -- "$pattern" "$tmp/err"
}
base=(--to carl@customer.test --instructions "Say hello")
refuse 64 "not a mailbox" "a mailbox not configured" -c "$tmp/mt.conf" compose --mailbox nobody@site.test "${base[@]}"
refuse 64 "one of ours" "an address of ours" -c "$tmp/mt.conf" compose --mailbox sales@site.test --to human@site.test --instructions "Say hello"
refuse 64 "one of ours" "a monitored mailbox as recipient" -c "$tmp/mt.conf" compose --mailbox sales@site.test --to drafts@site.test --instructions "Say hello"
refuse 64 "not a plain address" "an address with a name" -c "$tmp/mt.conf" compose --mailbox sales@site.test --to "Carl <carl@customer.test>" --instructions "Say hello"
refuse 64 "instructions" "no instructions" -c "$tmp/mt.conf" compose --mailbox sales@site.test --to carl@customer.test
refuse 64 "subject" "a subject with a line break" -c "$tmp/mt.conf" compose --mailbox sales@site.test "${base[@]}" --subject $'Hi\r\nBcc: x@evil.test'
refuse 1 "mode off" "a mailbox in mode off" -c "$tmp/mt.conf" compose --mailbox off@site.test "${base[@]}"
conf builtin "" > "$tmp/builtin.conf"
refuse 1 "compose needs an LLM (\[llm\] provider = openai)" "the builtin provider" -c "$tmp/builtin.conf" compose --mailbox sales@site.test "${base[@]}"
for mode in error503:75:"HTTP 503" status-401:1:"HTTP 401" malformed:1:"not a JSON object" forge:1:"line break" \
	badsources:1:"cites source 99" emptyreply:1:"body is empty"; do
	IFS=: read -r path want why <<<"$mode"
	conf openai "/$path" > "$tmp/$path.conf"
	refuse "$want" "$why" "the model in mode $path" -c "$tmp/$path.conf" compose --mailbox sales@site.test "${base[@]}"
done
check "no refusal sent anything" test "$(sent)" = "$before"
check "no refusal recorded a message" test "$(sqlite3 "$tmp/mt.db" "SELECT count(*) FROM messages WHERE rcpts = 'carl@customer.test'")" = 0
echo 75 > "$tmp/exit"
refuse 75 "try later\|simulated" "sendmail says try later" -c "$tmp/mt.conf" compose --mailbox sales@site.test "${base[@]}"
rm -f "$tmp/exit"
check "sendmail's 75: the action is failed, nothing sent" test "$(sqlite3 "$tmp/mt.db" "SELECT a.state FROM actions a JOIN messages m ON m.id = a.message WHERE m.rcpts = 'carl@customer.test'")" = failed
check "sendmail's 75: the conversation has no entry" test "$(sqlite3 "$tmp/mt.db" "SELECT count(*) FROM conversation_messages e JOIN messages m ON m.conversation = e.conversation WHERE m.rcpts = 'carl@customer.test'")" = 0

echo "1..$n"
exit $((failed > 0))
