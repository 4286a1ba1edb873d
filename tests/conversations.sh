#!/bin/bash
# Conversations without an MTA or root: mailtriage-pipe --inline with the builtin classifier
# (an intent template of its own, so that it answers), a temp database and a sendmail
# stand-in that keeps what it gets (sent/N.argv, sent/N.eml). A customer writes, is answered,
# answers our reply: one conversation, its history in order; a message that refers to nothing
# starts another; `conversation note` makes it a person's (no automatic reply, the reason
# names it), `resume` gives it back, `stop` stops it; list and show, as a table and as JSON;
# exit statuses 1, 64 and 66.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset SUDO_USER
user=$(id -un)

cat > "$tmp/sendmail" <<EOF2
#!/bin/sh
n=\$(ls "$tmp/sent" | grep -c '\.eml\$')
printf '%s\n' "\$@" > "$tmp/sent/\$n.argv"
cat > "$tmp/sent/\$n.eml"
EOF2
chmod +x "$tmp/sendmail"; mkdir "$tmp/sent"
sent() { ls "$tmp/sent" | grep -c '\.eml$'; }
# The Message-ID of the last mail sendmail got for RECIPIENT.
last_id_to() {
	local f
	f=$(grep -lx "$1" "$tmp"/sent/*.argv | sort -t/ -k2 -V | tail -n 1)
	sed -n 's/^Message-ID: *<\(.*\)>$/\1/Ip' "${f%.argv}.eml" | head -n 1
}
cat > "$tmp/mt.conf" <<EOF2
[daemon]
database = $tmp/mt.db
busy_timeout = 5s
[llm]
provider = builtin
[sendmail]
path = $tmp/sendmail
timeout = 20s
[intent send_info]
action = reply
template = $src/contrib/templates/send_info.txt
[mailbox support@site.test]
escalate_to = human@site.test
reply_interval = 0
[mailbox drafts@site.test]
mode = draft
escalate_to = human@site.test
EOF2
ctl() { "$ctl" -c "$tmp/mt.conf" "$@"; }
# deliver FROM FILE: one message through the pipe, processed at once.
deliver() { "$pipe" -c "$tmp/mt.conf" -f "$1" --inline -- support@site.test < "$2"; }
mail() { # ID SUBJECT IN-REPLY-TO TEXT
	printf 'From: Ann <ann@customer.test>\nTo: support@site.test\nSubject: %s\nMessage-ID: <%s>\n' "$2" "$1"
	[ -n "$3" ] && printf 'In-Reply-To: <%s>\nReferences: <p1@customer.test> <%s>\n' "$3" "$3"
	printf '\n%s\n\nOn Monday, Support wrote:\n> an old quote that is no news\n' "$4"
}
# The JSON of conversation show ID, through python: EXPR over c.
show_json() { ctl --json conversation show "$1" | python3 -c "import json, sys; c = json.load(sys.stdin); print($2)"; }

mail p1@customer.test "Prices" "" "What is the price of the basic plan?" > "$tmp/1.eml"
deliver ann@customer.test "$tmp/1.eml"
check "the first message is answered" test "$(sent)" = 1
reply1=$(last_id_to ann@customer.test)
check "our reply has a Message-ID" test -n "$reply1"
mail p2@customer.test "Re: Prices" "$reply1" "And the price of the pro plan?" > "$tmp/2.eml"
deliver ann@customer.test "$tmp/2.eml"
check "the answer to our reply is answered too (reply_interval = 0)" test "$(sent)" = 2
check "one conversation for both messages" test "$(ctl --json conversation list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1
check "both messages name conversation 1" test "$(ctl --json show 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversation"])') $(ctl --json show 2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversation"])')" = "1 1"
check "show names the message's conversation" grep -q "^conversation: *1$" <<<"$(ctl show 2)"
check "the history: user, assistant, user, assistant" test "$(show_json 1 '" ".join(e["role"] for e in c["entries"])')" = "user assistant user assistant"
check "the history: who said it" test "$(show_json 1 '" ".join(e["author"] for e in c["entries"])')" = \
	"ann@customer.test support@site.test ann@customer.test support@site.test"
check "the history: our reply's Message-ID" test "$(show_json 1 'c["entries"][1]["message_id"]')" = "$reply1"
check "the history: the new text only, the quote removed" test "$(show_json 1 'c["entries"][2]["text"]')" = "And the price of the pro plan?"
check "the history: our reply's text" grep -q "thank you for writing to us" <<<"$(show_json 1 'c["entries"][1]["text"]')"
check "the conversation: its counterpart, mailbox, subject and status" test \
	"$(show_json 1 '" ".join([c["counterpart"], c["mailbox"], c["subject"], c["status"]])')" = \
	"ann@customer.test support@site.test Prices active"
out=$(ctl conversation show 1)
check "conversation show: the status" grep -q "^status: *active$" <<<"$out"
check "conversation show: four entries" grep -q "^history (4):$" <<<"$out"
check "conversation show: who said what" test "$(grep -cE '^[0-9-]+ [0-9:]+  (user <ann@customer.test>|assistant <support@site.test>)' <<<"$out")" = 4
check "conversation show: the text, indented" grep -q "^    And the price of the pro plan?$" <<<"$out"
out=$(ctl conversation list)
check "conversation list: the table" grep -Eq "^1 +active +support@site.test +ann@customer.test +4 .* Prices$" <<<"$out"

# Nothing refers to the conversation, thread_by_subject is off: a new one.
mail p3@customer.test "Re: Prices" "" "Still there?" > "$tmp/3.eml"
deliver ann@customer.test "$tmp/3.eml"
check "a message that refers to no message of it starts a new conversation" test "$(ctl --json show 3 | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversation"])')" = 2
# Another sender who refers to our reply does not join Ann's conversation.
sed 's/ann@customer.test/eve@other.test/; s/p2@customer/e1@other/' "$tmp/2.eml" > "$tmp/eve.eml"
deliver eve@other.test "$tmp/eve.eml"
check "another sender referring to our reply gets a conversation of its own" test "$(ctl --json show 4 | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversation"])')" = 3

# A person takes conversation 1 over.
printf 'From: Bob <bob@site.test>\nTo: ann@customer.test\nSubject: Re: Prices\nMessage-ID: <staff1@site.test>\n\nHello Ann, I will call you today.\n' > "$tmp/note.eml"
out=$(ctl conversation note 1 --file "$tmp/note.eml" 2>"$tmp/err"); status=$?
check "conversation note exits 0" test "$status" = 0
check "conversation note: an audit line with the operator" grep -q "conversation 1: note by $user" "$tmp/err"
check "conversation note: the status is human" test "$(show_json 1 'c["status"]')" = human
check "conversation note: a human entry with the person's text" test "$(show_json 1 'c["entries"][-1]["role"] + "|" + c["entries"][-1]["author"] + "|" + c["entries"][-1]["text"]')" = \
	"human|bob@site.test|Hello Ann, I will call you today."
before=$(sent)
mail p4@customer.test "Re: Prices" "staff1@site.test" "Thanks, call me after 5." > "$tmp/4.eml"
deliver ann@customer.test "$tmp/4.eml"
check "a human conversation: no automatic reply to the customer" test -z "$(grep -lx ann@customer.test $(ls "$tmp"/sent/*.argv | sort -V | tail -n +$((before + 1))) /dev/null)"
check "a human conversation: the message joins it by the person's Message-ID" test "$(ctl --json show 5 | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversation"])')" = 1
check "a human conversation: the reason names it" grep -q "conversation 1 is handled by a person (mailtriagectl conversation resume 1)" <<<"$(ctl show 5)"
check "a human conversation: escalated to the human address" test "$(grep -lx human@site.test $(ls "$tmp"/sent/*.argv | sort -V | tail -n +$((before + 1))) /dev/null | wc -l)" = 1

out=$(ctl conversation resume 1 2>"$tmp/err"); status=$?
check "conversation resume exits 0 and says so" test "$status:$out" = "0:conversation 1 resumed: answered automatically again (it was human)"
check "conversation resume: an audit line with the operator" grep -q "conversation 1 resumed by $user" "$tmp/err"
check "conversation resume: an event of the conversation" grep -q "resumed by $user" <<<"$(ctl conversation show 1)"
before=$(sent)
mail p5@customer.test "Re: Prices" "p4@customer.test" "Is the pro plan monthly?" > "$tmp/5.eml"
deliver ann@customer.test "$tmp/5.eml"
check "resumed: the customer is answered again" test "$(grep -lx ann@customer.test $(ls "$tmp"/sent/*.argv | sort -V | tail -n +$((before + 1))) /dev/null | wc -l)" = 1

out=$(ctl conversation stop 1 2>"$tmp/err"); status=$?
check "conversation stop exits 0" test "$status:$out" = "0:conversation 1 stopped: no automatic reply (it was active)"
check "conversation stop: an audit line" grep -q "conversation 1 stopped by $user" "$tmp/err"
before=$(sent)
mail p6@customer.test "Re: Prices" "p5@customer.test" "Hello?" > "$tmp/6.eml"
deliver ann@customer.test "$tmp/6.eml"
check "stopped: no automatic reply" test -z "$(grep -lx ann@customer.test $(ls "$tmp"/sent/*.argv | sort -V | tail -n +$((before + 1))) /dev/null)"
check "stopped: the reason names it" grep -q "conversation 1 was stopped (mailtriagectl conversation resume 1)" <<<"$(ctl show 7)"
check "conversation list --status stopped" test "$(ctl --json conversation list --status stopped | python3 -c 'import json,sys; print([c["id"] for c in json.load(sys.stdin)])')" = "[1]"
check "conversation list --mailbox (any case)" test "$(ctl --json conversation list --mailbox SUPPORT@site.test | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3
check "conversation list --mailbox of another mailbox: none" test "$(ctl --json conversation list --mailbox other@site.test | tr -d ' \n')" = "[]"
check "conversation list --limit 1: one, and the rest counted" test "$(ctl conversation list --limit 1 | tail -n 1)" = "... 2 more conversations not shown; use --limit 0 for all, or --json"
check "conversation list --json: the keys" python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
assert list(rows[0]) == ["id", "status", "mailbox", "counterpart", "subject", "messages", "created_at", "updated_at"], list(rows[0])
' "$(ctl --json conversation list)"
check "conversation show --json: the keys" python3 -c '
import json, sys
c = json.loads(sys.argv[1])
assert list(c) == ["id", "status", "mailbox", "counterpart", "subject", "subject_key", "instructions",
                   "created_at", "updated_at", "entries", "messages", "events"], list(c)
assert list(c["entries"][0]) == ["id", "role", "author", "message", "message_id", "text", "sources",
                                 "created_at"], list(c["entries"][0])
assert c["subject_key"] == "prices"
' "$(ctl --json conversation show 1)"

# An approved draft is what we said; the proposal to the person is not.
mail d1@customer.test "Prices" "" "What is the price of the basic plan?" > "$tmp/d1.eml"
"$pipe" -c "$tmp/mt.conf" -f ann@customer.test --inline -- drafts@site.test < "$tmp/d1.eml"
cd=$(ctl --json show 8 | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversation"])')
check "a draft waiting for approval is no history" test "$(show_json "$cd" '" ".join(e["role"] for e in c["entries"])')" = "user"
draft=$(ctl --json draft list | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
ctl draft approve "$draft" >/dev/null 2>&1
check "an approved draft is the assistant's entry, with its Message-ID" test \
	"$(show_json "$cd" '" ".join(e["role"] for e in c["entries"]) + "|" + c["entries"][-1]["message_id"] + "|" + str("thank you for writing" in c["entries"][-1]["text"])')" = \
	"user assistant|$(ctl --json draft show "$draft" | python3 -c 'import json,sys; print(json.load(sys.stdin)["message_id"])')|True"

# Exit statuses.
ctl conversation show 99 >/dev/null 2>"$tmp/err"; status=$?
check "show of no conversation exits 1 and says so" test "$status:$(cat "$tmp/err")" = "1:mailtriagectl: error: no conversation 99"
ctl conversation stop 99 >/dev/null 2>&1; check "stop of no conversation exits 1" test $? = 1
ctl conversation note 99 --file "$tmp/note.eml" >/dev/null 2>&1; check "note to no conversation exits 1" test $? = 1
ctl conversation show x >/dev/null 2>&1; check "a bad ID exits 64" test $? = 64
ctl conversation show 0 >/dev/null 2>&1; check "ID 0 exits 64" test $? = 64
ctl conversation list --status open >/dev/null 2>&1; check "a bad status exits 64" test $? = 64
ctl conversation list --mailbox 'a b' >/dev/null 2>&1; check "a bad mailbox exits 64" test $? = 64
ctl conversation note 1 >/dev/null 2>&1; check "note without --file exits 64" test $? = 64
ctl conversation frob 1 >/dev/null 2>&1; check "an unknown sub-command exits 64" test $? = 64
ctl conversation note 1 --file "$tmp/none.eml" >/dev/null 2>&1; check "note of a missing file exits 66" test $? = 66
check "note from stdin" sh -c "'$ctl' -c '$tmp/mt.conf' conversation note 2 --file - < '$tmp/note.eml' >/dev/null 2>&1"
check "note from stdin: conversation 2 is human" test "$(show_json 2 'c["status"]')" = human
sed "s|$tmp/mt.db|$tmp/missing.db|" "$tmp/mt.conf" > "$tmp/missing.conf"
"$ctl" -c "$tmp/missing.conf" conversation list >/dev/null 2>&1; check "a missing database exits 66" test $? = 66
check "a missing database is not created" test ! -e "$tmp/missing.db"
echo "1..$n"
[ "$failed" = 0 ]
