#!/bin/bash
# Drafts from the operator's side, without an MTA or root: a mailbox in mode = draft, the
# builtin classifier, a temp database, and a sendmail stand-in that records its argv and input
# (sent/N.argv, sent/N.eml), fails with the status in the file "exit" when it exists, and, when
# the file "nested" names a draft, first runs a second `draft approve` of it, as a second
# operator would while the first approval's sendmail runs. mailtriagectl draft
# list/show/approve/reject are checked for their output, exit status and what reaches sendmail.
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
# Approvals name the operator, and under sudo the invoking user too: test both on purpose.
unset SUDO_USER
user=$(id -un)

cat > "$tmp/sendmail" <<EOF2
#!/bin/sh
if [ -s "$tmp/nested" ]; then
	id=\$(cat "$tmp/nested"); rm -f "$tmp/nested"
	"$ctl" -c "$tmp/mt.conf" draft approve "\$id" > "$tmp/nested.out" 2>&1
	echo \$? > "$tmp/nested.rc"
fi
if [ -s "$tmp/exit" ]; then
	cat > /dev/null
	echo "simulated refusal" >&2
	exit \$(cat "$tmp/exit")
fi
n=\$(ls "$tmp/sent" | grep -c '\.eml\$')
printf '%s\n' "\$@" > "$tmp/sent/\$n.argv"
cat > "$tmp/sent/\$n.eml"
EOF2
chmod +x "$tmp/sendmail"; mkdir "$tmp/sent"
sent() { ls "$tmp/sent" | grep -c '\.eml$'; }
cat > "$tmp/mt.conf" <<EOF2
[daemon]
database = $tmp/mt.db
busy_timeout = 1s
[llm]
provider = builtin
[sendmail]
path = $tmp/sendmail
timeout = 20s
# The builtin classifier writes no reply text: without a template of the intent's own there
# would be no draft, only an escalation.
[intent send_info]
template = $src/contrib/templates/send_info.txt
[mailbox support@site.test]
mode = draft
escalate_to = human@site.test
EOF2
ctl() { "$ctl" -c "$tmp/mt.conf" "$@"; }
printf 'From: Ann <ann@customer.test>\nSubject: Prices\nMessage-ID: <p1@customer.test>\n\nWhat is the price of the basic plan?\n' > "$tmp/pricing.eml"
# A reply as compose would make it: 7-bit, quoted-printable, an encoded word in the subject.
printf '%s\n' 'From: Support <support@site.test>' 'To: ann@customer.test' \
	'Subject: =?UTF-8?Q?Re:_Prices_=E2=82=AC?=' 'Message-ID: <r1@site.test>' \
	'In-Reply-To: <p1@customer.test>' 'Auto-Submitted: auto-replied' 'MIME-Version: 1.0' \
	'Content-Type: text/plain; charset=utf-8' 'Content-Transfer-Encoding: quoted-printable' '' \
	'Hello Ann,' '' 'The basic plan costs 10 =E2=82=AC a month.' > "$tmp/reply.eml"

"$pipe" -c "$tmp/mt.conf" -f ann@customer.test --inline -- support@site.test < "$tmp/pricing.eml"
check "mailtriage-pipe --inline in mode = draft exits 0" test $? = 0
from_pipe=$(ctl --json draft list | python3 -c 'import json,sys; print(" ".join(str(d["id"]) for d in json.load(sys.stdin) if d["recipient"] == "ann@customer.test" and d["message"] == 1))')
if [ -n "$from_pipe" ]; then
	check "mode = draft: the pipe records one pending draft to the sender" test "$(wc -w <<<"$from_pipe")" = 1
	check "mode = draft: nothing is sent to the sender before approval" test "$(grep -lx 'ann@customer.test' "$tmp"/sent/*.argv 2>/dev/null | wc -l)" = 0
else
	ok "mode = draft: the pipe records one pending draft to the sender # SKIP process.c does not create drafts yet"
	ok "mode = draft: nothing is sent to the sender before approval # SKIP process.c does not create drafts yet"
fi

# Drafts of our own, so that the commands are tested whatever process.c does.
add_draft() {
	python3 - "$tmp/mt.db" "$tmp/reply.eml" "$1" <<'EOF2'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
text = open(sys.argv[2], encoding="ascii").read()
cur = db.execute("INSERT INTO drafts (message, recipient, outgoing_message_id, text, created_at)"
                 " VALUES (1, 'ann@customer.test', ?, ?, ?)", (sys.argv[3], text, int(time.time())))
db.commit()
print(cur.lastrowid)
EOF2
}
d1=$(add_draft r1@site.test) d2=$(add_draft r2@site.test) d3=$(add_draft r3@site.test)
d4=$(add_draft r4@site.test) d5=$(add_draft r5@site.test) d6=$(add_draft r6@site.test)

out=$(ctl draft list)
check "draft list: a pending draft with its recipient and subject" grep -Eq "^$d1 +pending .* ann@customer.test +Prices\$" <<<"$out"
ids=$(ctl --json draft list | python3 -c 'import json,sys; print(" ".join(str(d["id"]) for d in json.load(sys.stdin) if d["state"] == "pending"))')
check "draft list --json: every draft pending, newest first" test "$ids" = "$d6 $d5 $d4 $d3 $d2 $d1${from_pipe:+ $from_pipe}"
out=$(ctl draft show "$d1")
check "draft show: the state" grep -q "^state: *pending" <<<"$out"
check "draft show: our Message-ID" grep -q "^message-id: *r1@site.test\$" <<<"$out"
check "draft show: the recipient" grep -q "^to: *ann@customer.test\$" <<<"$out"
check "draft show: the message's envelope sender and subject" test "$(grep -cE '^(envelope from: *ann@customer.test|subject: *Prices)$' <<<"$out")" = 2
check "draft show: the reply's subject, decoded" grep -q "^Subject: Re: Prices €\$" <<<"$out"
check "draft show: the reply's text, decoded" grep -q "^The basic plan costs 10 € a month.\$" <<<"$out"
ctl draft show --raw "$d1" > "$tmp/raw.eml"
check "draft show --raw: the reply byte for byte" cmp -s "$tmp/raw.eml" "$tmp/reply.eml"
check "draft show --json: the text is included" test "$(ctl --json draft show "$d1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["text"] == open(sys.argv[1]).read())' "$tmp/reply.eml")" = True
ctl draft show 999 >/dev/null 2>"$tmp/err"; status=$?
check "draft show of no draft exits 1" test "$status" = 1
check "draft show of no draft says so" grep -q "no draft 999" "$tmp/err"

before=$(sent)
out=$(ctl draft approve "$d1" 2>&1); status=$?
check "draft approve exits 0" test "$status" = 0
check "draft approve says where it went" grep -q "^draft $d1 sent to <ann@customer.test>, message-id <r1@site.test>\$" <<<"$out"
check "draft approve: sendmail got exactly one message" test "$(sent)" = $((before + 1))
check "draft approve: to the sender, with the null envelope sender" test "$(tr '\n' ' ' < "$tmp/sent/$before.argv")" = "-i -f <> -- ann@customer.test "
check "draft approve: the reply as it was stored" cmp -s "$tmp/sent/$before.eml" "$tmp/reply.eml"
check "draft list: a sent draft is no longer listed" test -z "$(ctl draft list | grep "^$d1 ")"
check "draft list --all: it is listed as sent" grep -Eq "^$d1 +sent " <<<"$(ctl draft list --all)"
check "draft show: who approved it" grep -q "^decided by: *$user\$" <<<"$(ctl draft show "$d1")"
out=$(ctl show 1)
check "show: the reply action is recorded as sent" grep -q "^  reply sent to <ann@customer.test> message-id <r1@site.test>\$" <<<"$out"
check "show: the action says which draft and who" grep -q "reason: draft $d1 approved by $user\$" <<<"$out"
before=$(sent)
ctl draft approve "$d1" >/dev/null 2>"$tmp/err"; status=$?
check "draft approve twice: exits 1" test "$status" = 1
check "draft approve twice: not pending" grep -q "draft $d1 is sent, not pending" "$tmp/err"
check "draft approve twice: nothing more is sent" test "$(sent)" = "$before"

out=$(SUDO_USER=alice ctl draft reject "$d2" --reason "wrong price" 2>&1); status=$?
check "draft reject exits 0" test "$status" = 0
out=$(ctl draft show "$d2")
check "draft reject: the draft is rejected" grep -q "^state: *rejected" <<<"$out"
check "draft reject: with the reason" grep -q "^reason: *wrong price\$" <<<"$out"
check "draft reject: by whom, under sudo" grep -q "^decided by: *$user (sudo alice)\$" <<<"$out"
ctl draft approve "$d2" >/dev/null 2>"$tmp/err"; status=$?
check "draft approve of a rejected draft exits 1" test "$status" = 1
check "draft approve of a rejected draft: not pending" grep -q "draft $d2 is rejected, not pending" "$tmp/err"
ctl draft reject "$d2" >/dev/null 2>&1; check "draft reject twice exits 1" test $? = 1
ctl draft reject 999 >/dev/null 2>&1; check "draft reject of no draft exits 1" test $? = 1
check "draft approve, reject: nothing sent" test "$(sent)" = "$before"

echo 75 > "$tmp/exit"
ctl draft approve "$d3" >/dev/null 2>"$tmp/err"; status=$?
check "sendmail says try later: exit 75" test "$status" = 75
check "sendmail says try later: the operator is told it stays pending" grep -q "exited with status 75: simulated refusal; the draft stays pending: approve it again later" "$tmp/err"
out=$(ctl draft list)
# The line under the pending draft's row.
under=$(awk -v id="$d3" '$1 == id && $2 == "pending" { getline; print }' <<<"$out")
check "sendmail said try later: listed as pending with the reason" grep -q "^ *last error: .*status 75: simulated refusal" <<<"$under"
rm "$tmp/exit"
ctl draft approve "$d3" >/dev/null 2>&1; status=$?
check "approved again once sendmail works: exit 0" test "$status" = 0
check "approved again: sent once" test "$(sent)" = $((before + 1))

echo 67 > "$tmp/exit"
ctl draft approve "$d4" >/dev/null 2>"$tmp/err"; status=$?
rm "$tmp/exit"
check "sendmail fails: exit 1" test "$status" = 1
check "sendmail fails: the operator is told why" grep -q "draft $d4 failed: .*exited with status 67: simulated refusal" "$tmp/err"
out=$(ctl draft show "$d4")
check "sendmail fails: the draft is failed with the status" test "$(grep -cE '^(state: *failed|sendmail status: *67)$' <<<"$out")" = 2
ctl draft approve "$d4" >/dev/null 2>&1; check "a failed draft is not approved again" test $? = 1

before=$(sent)
echo "$d5" > "$tmp/nested"
ctl draft approve "$d5" >/dev/null 2>&1; status=$?
check "concurrent approvals: the first one sends" test "$status" = 0
check "concurrent approvals: the second, while sendmail runs, exits 1" test "$(cat "$tmp/nested.rc" 2>/dev/null)" = 1
check "concurrent approvals: the second is told the draft is sending" grep -q "draft $d5 is sending, not pending" "$tmp/nested.out"
check "concurrent approvals: sendmail got exactly one message" test "$(sent)" = $((before + 1))

# Another process holds the write lock past busy_timeout (1s).
python3 -c 'import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(4)' "$tmp/mt.db" "$tmp/locked" &
locker=$!
for _ in $(seq 1 50); do [ -e "$tmp/locked" ] && break; sleep 0.1; done
ctl draft approve "$d6" >/dev/null 2>"$tmp/err"; status=$?
wait "$locker"
check "database busy: exit 75" test "$status" = 75
check "database busy: the draft is unchanged" grep -q "the draft unchanged" "$tmp/err"
check "database busy: nothing sent" test "$(sent)" = $((before + 1))
check "draft approve --json: the draft, sent" test "$(ctl --json draft approve "$d6" | python3 -c 'import json,sys; d = json.load(sys.stdin); print(d["state"], d["sendmail_status"], d["recipient"])')" = "sent 0 ann@customer.test"

ctl draft approve >/dev/null 2>&1; check "draft approve without an id exits 64" test $? = 64
ctl draft frobnicate 1 >/dev/null 2>&1; check "draft with an unknown subcommand exits 64" test $? = 64
ctl draft >/dev/null 2>&1; check "draft without a subcommand exits 64" test $? = 64
printf '[daemon]\nworkers = many\n' > "$tmp/bad.conf"
"$ctl" -c "$tmp/bad.conf" draft list >/dev/null 2>&1; check "draft list with a bad configuration exits 78" test $? = 78
echo "1..$n"
[ "$failed" = 0 ]
