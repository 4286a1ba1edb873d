#!/bin/bash
# The log an administrator greps: one summary line per message from the worker, as Postfix logs
# a delivery, and an audit line for every retry and draft decision. Without an MTA: messages are
# recorded with mailtriage-pipe, processed by mailtriaged -f (which logs to stderr) with the
# builtin classifier, and sent to a sendmail stand-in that accepts, says try later (exit 75) or
# refuses (exit 1) by recipient. Then mailtriagectl retries one and approves a draft.
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
	rm -rf "$tmp"
}
trap cleanup EXIT
unset SUDO_USER
user=$(id -un)

cat > "$tmp/sendmail" <<EOF2
#!/bin/sh
for rcpt; do :; done
case "\$rcpt" in
later@*) cat > /dev/null; echo "queue file write error" >&2; exit 75 ;;
refused@*) cat > /dev/null; echo "User unknown" >&2; exit 1 ;;
esac
n=\$(ls "$tmp/sent" | grep -c '\.eml\$')
printf '%s\n' "\$@" > "$tmp/sent/\$n.argv"
cat > "$tmp/sent/\$n.eml"
EOF2
chmod +x "$tmp/sendmail"; mkdir "$tmp/sent"
conf() { # DATABASE [EXTRA DAEMON KEYS]
	cat <<EOF2
[daemon]
database = $1
socket =
workers = 1
poll_interval = 1s
retry_base = 1h
busy_timeout = 2s
${2:-}
[sendmail]
path = $tmp/sendmail
[intent send_info]
template = $src/contrib/templates/send_info.txt
[mailbox support@site.test]
escalate_to = human@site.test
[mailbox drafts@site.test]
mode = draft
escalate_to = human@site.test
EOF2
}
conf "$tmp/mt.db" > "$tmp/mt.conf"
record() { # MESSAGE-ID MAILBOX PIPE-ARGS...
	local id=$1 mailbox=$2; shift 2
	printf 'From: Ann <ann@customer.test>\nSubject: Prices\nMessage-ID: <%s>\n\nWhat is the price of the basic plan?\n' "$id" |
		"$pipe" -c "$tmp/mt.conf" "$@" -- "$mailbox"
}
record s1@customer.test support@site.test -q 4AbC12xYz -f ann@customer.test # 1: a reply
record s2@customer.test support@site.test -f ''                            # 2: a bounce
record s3@customer.test support@site.test -q 5DeF34 -f later@customer.test  # 3: sendmail 75
record s4@customer.test support@site.test -f refused@customer.test          # 4: sendmail 1
record s5@customer.test drafts@site.test -f dan@customer.test               # 5: a draft
check "five messages recorded" test "$(sqlite3 "$tmp/mt.db" "SELECT count(*) FROM messages WHERE state = 'queued'")" = 5

"$daemon" -f -c "$tmp/mt.conf" 2> "$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 1 150); do
	[ "$(grep -c ': id=[0-9]* from=' "$tmp/daemon.log")" -ge 5 ] && break
	sleep 0.2
done
kill -TERM "$daemon_pid"; wait "$daemon_pid"; daemon_pid=
# The summary line of message $1 without the program's name; level $1 its level word, if any.
line_of() { grep -E "^mailtriaged: (warning: |error: )?[A-Za-z0-9]+: id=$1 from=" "$tmp/daemon.log"; }
summary() { line_of "$1" | sed -E 's/^mailtriaged: (warning: |error: )?//'; }
level() { line_of "$1" | sed -E 's/^mailtriaged: (warning|error)?.*/\1/'; }
for id in 1 2 3 4 5; do
	check "message $id: exactly one summary line" test "$(summary $id | wc -l)" = 1
done
d='[0-9]+\.[0-9]{1,2}'
check "reply: queue id first, then every field; status=sent" grep -qE \
	"^4AbC12xYz: id=1 from=<ann@customer.test> mailbox=<support@site.test> intent=send_info confidence=0\.60 action=reply to=<ann@customer.test> msgid=<[^ ]+\.mailtriage@[^ ]+> status=sent delay=$d llm=$d send=$d reason=\"intent send_info: reply\"$" \
	<<<"$(summary 1)"
check "reply: msgid is the Message-ID of the mail sent" grep -qF \
	"$(summary 1 | sed -n 's/.* msgid=\(<[^>]*>\).*/\1/p')" <<<"$(grep -i '^Message-ID:' "$tmp/sent/0.eml")"
check "bounce: our id first, <> for the null sender, - for what does not apply; status=skipped" grep -qE \
	"^2: id=2 from=<> mailbox=<support@site.test> intent=- confidence=- action=none to=- msgid=- status=skipped delay=$d llm=- send=- reason=\"no reply: null envelope sender \(a bounce or a notification\)\"$" \
	<<<"$(summary 2)"
check "sendmail exit 75: status=deferred with sendmail's words" grep -qE \
	"^5DeF34: id=3 from=<later@customer.test> .* action=reply to=<later@customer.test> msgid=<[^ ]+> status=deferred delay=$d llm=$d send=$d reason=\"[^\"]*exited with status 75[^\"]*queue file write error\"$" \
	<<<"$(summary 3)"
check "sendmail exit 1: status=failed with sendmail's words" grep -qE \
	"^4: id=4 from=<refused@customer.test> .* action=reply to=<refused@customer.test> msgid=<[^ ]+> status=failed delay=$d llm=$d send=$d reason=\"[^\"]*exited with status 1[^\"]*User unknown\"$" \
	<<<"$(summary 4)"
check "levels: info for sent and skipped, warning for deferred, error for failed" test \
	"$(level 1)/$(level 2)/$(level 3)/$(level 4)" = "//warning/error"
check "draft: the proposal went to the person; status=sent" grep -qE \
	"^5: id=5 from=<dan@customer.test> mailbox=<drafts@site.test> intent=send_info confidence=0\.60 action=draft to=<human@site.test> msgid=<[^ ]+> status=sent .* reason=\"intent send_info: reply, mailbox mode draft\"$" \
	<<<"$(summary 5)"
check "the summary replaces the per-step lines at info level" test \
	"$(grep -cE ': (reply sent to|deferred \(attempt|failed: |classified |done: )' "$tmp/daemon.log")" = 0

# Masking applies to every address of the line (the pipe shows a deferred summary on stderr).
conf "$tmp/masked.db" "mask_addresses = yes" > "$tmp/masked.conf"
printf 'From: Ann <ann@customer.test>\nSubject: Prices\nMessage-ID: <m1@customer.test>\n\nThe price?\n' |
	"$pipe" -c "$tmp/masked.conf" -f later@customer.test --inline -- support@site.test 2> "$tmp/pipe.err"
check "mask_addresses: every address in the summary is masked" grep -qE \
	"^mailtriage-pipe: warning: 1: id=1 from=<l\*\*\*@customer.test> mailbox=<s\*\*\*@site.test> .* to=<l\*\*\*@customer.test> .* status=deferred " "$tmp/pipe.err"

# Operators' actions: an event on the message and an audit line with the operator.
events() { "$ctl" -c "$tmp/mt.conf" --json show "$1" | python3 -c '
import json, sys
print("\n".join(e["level"] + " " + e["text"] for e in json.load(sys.stdin)["events"]))'; }
"$ctl" -c "$tmp/mt.conf" retry 4 > /dev/null 2> "$tmp/retry.err"
check "retry: queued again" test "$(sqlite3 "$tmp/mt.db" "SELECT state FROM messages WHERE id = 4")" = queued
check "retry: an event names the operator and what the message was" grep -qE \
	"^info retry by $user: queued again \(it was failed: .*exited with status 1" <<<"$(events 4)"
check "retry: the audit line names the message and the operator" grep -qE \
	"^mailtriagectl: 4: retry by $user: queued again" "$tmp/retry.err"
draft=$(sqlite3 "$tmp/mt.db" "SELECT id FROM drafts WHERE message = 5")
"$ctl" -c "$tmp/mt.conf" draft approve "$draft" > /dev/null 2> "$tmp/approve.err"
check "draft approve: the reply went to the sender" test "$(grep -lx 'dan@customer.test' "$tmp"/sent/*.argv | wc -l)" = 1
check "draft approve: an event names the draft, the operator and the outcome" grep -qx \
	"info draft $draft approved by $user: reply sent to <dan@customer.test>" <<<"$(events 5)"
check "draft approve: the audit line says the same, with the message id" grep -qx \
	"mailtriagectl: 5: draft $draft approved by $user: reply sent to <dan@customer.test>" "$tmp/approve.err"
echo "1..$n"
[ "$failed" = 0 ]
