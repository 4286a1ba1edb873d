#!/bin/bash
# mailtriagectl's command line, as admins know it from git, systemctl and postqueue: options
# before or after the command, --help per command, complete --json, bad values exit 64, and
# reading commands that never create or change the database. The database is made by
# mailtriage-pipe (61 messages of support@, one in mode = draft of drafts@), the builtin
# classifier and a sendmail stand-in that swallows what it is given.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
printf '#!/bin/sh\ncat > /dev/null\n' > "$tmp/sendmail"
chmod +x "$tmp/sendmail"
conf() { # DATABASE
	cat <<EOF2
[daemon]
database = $1
busy_timeout = 1s
[sendmail]
path = $tmp/sendmail
[mailbox support@site.test]
escalate_to = human@site.test
[mailbox drafts@site.test]
mode = draft
escalate_to = human@site.test
# The builtin classifier writes no reply text: the intent's own template carries the answer.
[intent send_info]
action = reply
template = $src/contrib/templates/send_info.txt
EOF2
}
conf "$tmp/mt.db" > "$tmp/mt.conf"
conf "$tmp/missing.db" > "$tmp/missing.conf"
conf "$tmp/no/such/dir/mt.db" > "$tmp/nodir.conf"
record() { # MAILBOX N [--inline]
	printf 'From: Ann <ann@customer.test>\nSubject: Question %s\nMessage-ID: <q%s@customer.test>\n\nWhat is the price of the basic plan?\n' "$2" "$2" |
		"$pipe" -c "$tmp/mt.conf" -f ann@customer.test ${3:-} -- "$1"
}
record support@site.test 1 --inline
record drafts@site.test 2 --inline
for i in $(seq 3 61); do record support@site.test "$i"; done
ctl() { "$ctl" -c "$tmp/mt.conf" "$@"; }
json_len() { python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }
# The rows of the human list: lines that start with a message id.
table_rows() { grep -c '^[0-9]'; }

# ---- options before or after the command ----
same() { # NAME, then two command lines separated by ::
	local name=$1; shift
	local a=() b=()
	while [ "$1" != :: ]; do a+=("$1"); shift; done
	shift; b=("$@")
	local out_a out_b
	out_a=$("$ctl" "${a[@]}" 2>&1) || { not_ok "$name (exit $?)"; return; }
	out_b=$("$ctl" "${b[@]}" 2>&1) || { not_ok "$name (exit $?)"; return; }
	check "$name" test -n "$out_a" -a "$out_a" = "$out_b"
}
c=$tmp/mt.conf
same "--json after list" -c "$c" --json list :: -c "$c" list --json
same "--json after show ID" -c "$c" --json show 12 :: -c "$c" show 12 --json
same "--json between show and ID" -c "$c" --json show 12 :: -c "$c" show --json 12
same "--json after draft list" -c "$c" --json draft list :: -c "$c" draft list --json
same "--json between draft and list" -c "$c" --json draft list :: -c "$c" draft --json list
same "-c after the command" -c "$c" list :: list -c "$c"
same "--config FILE after the command's options" -c "$c" list --state done :: list --state done --config "$c"
same "--config=FILE before the command" -c "$c" list :: --config="$c" list
same "-c between the command's words" -c "$c" draft list :: draft -c "$c" list
same "-c after the ID" -c "$c" show 12 :: show 12 -c "$c"
same "config show takes -c and --json after it" -c "$c" config show :: config show -c "$c" --json
check "--json after list prints JSON" test "$(ctl list --json | json_len)" = 61
check "-V after a command prints the version" test "$("$ctl" list -V)" = "mailtriagectl $(sed -n 's/^PACKAGE_VERSION = //p' "$build/Makefile")"

# ---- --help per command ----
help_has() { # NAME PATTERN COMMAND...: exit 0 and PATTERN (ERE) in the help
	local name=$1 pattern=$2; shift 2
	local out
	out=$("$ctl" "$@" 2>&1) || { not_ok "$name (exit $?)"; return; }
	check "$name" grep -Eq -- "$pattern" <<<"$out"
}
help_has "list --help: its usage line" "mailtriagectl \[OPTION.\] list$" list --help
help_has "list --help: --state" "^ +--state=STATE +Only the messages in STATE" list --help
help_has "list --help: --limit" "^ +--limit=N " list --help
help_has "list --help: the global -c" "^ +-c, --config=FILE" list --help
help_has "list --help: the global --json" "^ +--json " list --help
help_has "show --help: its usage line with ID" "mailtriagectl \[OPTION.\] show ID$" show --help
help_has "retry --help: its usage line with ID" "mailtriagectl \[OPTION.\] retry ID$" retry --help
help_has "draft --help: its commands" "^  draft reject ID +Reject" draft --help
help_has "draft list --help: --all" "^ +--all +Every draft" draft list --help
help_has "draft show --help: --raw" "^ +--raw +Only the reply" draft show --help
help_has "draft reject --help: --reason" "^ +--reason=TEXT" draft reject --help
help_has "draft approve --help: its usage line" "mailtriagectl \[OPTION.\] draft approve ID$" draft approve --help
help_has "config --help: its commands" "^  config defaults +Print every key" config --help
help_has "config check --help: its usage line" "mailtriagectl \[OPTION.\] config check$" config check --help
help_has "help show: the same as show --help" "mailtriagectl \[OPTION.\] show ID$" help show
help_has "help draft approve: the same as draft approve --help" "draft approve ID$" help draft approve
check "show --help: no --state, that is list's" test -z "$("$ctl" show --help | grep -e --state)"
commands_in() { grep -Ec '^  (list|show ID|retry ID|draft (list|show ID|approve ID|reject ID)|config (check|show|defaults|man)|help \[COMMAND\]) ' <<<"$1"; }
check "--help lists every command" test "$(commands_in "$("$ctl" --help)")" = 12
check "help lists every command" test "$(commands_in "$("$ctl" help)")" = 12
out=$("$ctl" 2>&1 >/dev/null); status=$?
check "no command: exit 64 with the commands on stderr" test "$status" = 64 -a "$(commands_in "$out")" = 12

# ---- --json is complete, the table says what it left out ----
check "list --json: every message, beyond 50" test "$(ctl --json list | json_len)" = 61
check "list --json --state: every message in the state" test "$(ctl --json list --state queued | json_len)" = 59
check "list --json --limit 5: five" test "$(ctl --json list --limit 5 | json_len)" = 5
out=$(ctl list)
check "list: the table shows 50 by default" test "$(table_rows <<<"$out")" = 50
check "list: the table ends saying how many were left out and how to see them" test \
	"$(tail -n 1 <<<"$out")" = "... 11 more messages not shown; use --limit 0 for all, or --json"
check "list: the newest first" grep -q "^61 " <<<"$(sed -n 2p <<<"$out")"
out=$(ctl list --limit 0)
check "list --limit 0: every message" test "$(table_rows <<<"$out")" = 61
check "list --limit 0: nothing left out" test -z "$(grep -e 'not shown' <<<"$out")"
out=$(ctl list --limit 60)
check "list --limit 60: one left out, in the singular" test "$(tail -n 1 <<<"$out")" = \
	"... 1 more message not shown; use --limit 0 for all, or --json"
check "list --limit 61: nothing left out" test -z "$(ctl list --limit 61 | grep -e 'not shown')"
check "list --state done: the left-out count is of that state" test "$(ctl list --state done --limit 1 | tail -n 1)" = \
	"... 1 more message not shown; use --limit 0 for all, or --json"
check "show --json keeps its keys" python3 -c '
import json, sys
m = json.loads(sys.argv[1])
keys = ["id", "state", "intake", "mta_queue_id", "mailbox", "envelope_from", "rcpts", "client_addr",
        "helo", "from", "subject", "message_id", "in_reply_to", "received_at", "size", "truncated",
        "attempts", "llm_failures", "next_attempt_at", "lease_until", "last_error", "conversation",
        "classification", "actions", "events"]
assert list(m) == keys, list(m)
assert list(m["classification"]) == ["provider", "model", "intent", "confidence", "summary",
    "reply", "valid", "error", "latency_ms", "prompt_tokens", "completion_tokens", "reply_error",
    "reply_latency_ms", "reply_prompt_tokens", "reply_completion_tokens", "reply_sources",
    "reply_hold"], m["classification"]
assert list(m["actions"][0]) == ["kind", "state", "reason", "recipient", "envelope_sender",
    "message_id", "sendmail_status", "error", "created_at", "sent_at", "shadow_text"], m["actions"][0]
assert list(m["events"][0]) == ["time", "level", "text"], m["events"][0]
assert (m["state"], m["classification"]["intent"], m["actions"][0]["kind"]) == ("done", "send_info", "reply"), m
' "$(ctl --json show 1)"
check "list --json keeps its keys" python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
assert list(rows[0]) == ["id", "state", "attempts", "received_at", "mailbox", "envelope_from",
    "from_addr", "subject", "message_id", "last_error", "intent", "action"], list(rows[0])
assert (rows[-1]["id"], rows[-1]["intent"], rows[-1]["action"]) == (1, "send_info", "reply sent"), rows[-1]
' "$(ctl --json list)"

# ---- bad values are usage errors: a message on stderr, exit 64 ----
usage_error() { # NAME WORD-IN-MESSAGE COMMAND...
	local name=$1 word=$2; shift 2
	local err status
	err=$("$ctl" "$@" 2>&1 >/dev/null); status=$?
	if [ "$status" = 64 ] && grep -qF -- "$word" <<<"$err"; then ok "$name"; else
		not_ok "$name (exit $status: $err)"
	fi
}
usage_error "list --state bogus" "bogus" -c "$c" list --state bogus
usage_error "list --limit abc" "abc" -c "$c" list --limit abc
usage_error "list --limit -5" "-5" -c "$c" list --limit -5
usage_error "list --limit=-1" "-1" -c "$c" list --limit=-1
usage_error "list --limit 12x" "12x" -c "$c" list --limit 12x
usage_error "show abc" "abc" -c "$c" show abc
usage_error "show 12x" "12x" -c "$c" show 12x
usage_error "show 0" "'0'" -c "$c" show 0
usage_error "show -- -3" "-3" -c "$c" show -- -3
usage_error "retry -3" "-3" -c "$c" retry -3
usage_error "draft approve x" "'x'" -c "$c" draft approve x
usage_error "draft show 1x" "1x" -c "$c" draft show 1x
usage_error "draft reject abc" "abc" -c "$c" draft reject abc --reason why
usage_error "an unknown option" "--bogus" -c "$c" list --bogus
usage_error "an option of another command" "--raw" -c "$c" show 1 --raw
usage_error "show without an ID" "missing ID" -c "$c" show
usage_error "retry without an ID" "missing ID" -c "$c" retry
usage_error "show with two IDs" "'2'" -c "$c" show 1 2
usage_error "list with an argument" "'x'" -c "$c" list x
usage_error "config check with an argument" "'x'" -c "$c" config check x
usage_error "draft without a command" "missing command" -c "$c" draft
usage_error "config with an unknown command" "'frob'" -c "$c" config frob
usage_error "an unknown command" "'frob'" -c "$c" frob
usage_error "help of an unknown command" "'frob'" help frob
usage_error "-c without its file" "-c" list -c
usage_error "a usage error wins over a missing database" "abc" -c "$tmp/missing.conf" show abc

# ---- reading opens the database read-only and never creates it ----
no_files() { # PATH: neither it nor its -wal, -shm, -journal exist
	test ! -e "$1" -a ! -e "$1-wal" -a ! -e "$1-shm" -a ! -e "$1-journal"
}
missing_db() { # NAME CONF PATH COMMAND...
	local name=$1 conf=$2 path=$3; shift 3
	local err status
	err=$("$ctl" -c "$conf" "$@" 2>&1 >/dev/null); status=$?
	if [ "$status" = 66 ] && grep -qF "$path" <<<"$err" && no_files "$path"; then ok "$name"; else
		not_ok "$name (exit $status: $err)"
	fi
}
for command in "list" "show 1" "draft list" "draft show 1"; do
	# shellcheck disable=SC2086 # the words of the command
	missing_db "$command on a missing database: exit 66, the path named, no file created" \
		"$tmp/missing.conf" "$tmp/missing.db" $command
done
missing_db "list in a missing directory: exit 66, nothing created" "$tmp/nodir.conf" "$tmp/no/such/dir/mt.db" list
check "list in a missing directory: not even the directory" test ! -e "$tmp/no"
for command in "retry 1" "forget ann@customer.test" "draft approve 1" "draft reject 1"; do
	# shellcheck disable=SC2086
	missing_db "$command refuses to create a missing database: exit 66, no file created" \
		"$tmp/missing.conf" "$tmp/missing.db" $command
done

cp "$tmp/mt.db" "$tmp/before.db"
for command in "list" "list --json" "show 1" "draft list" "draft show 1" "draft list --all"; do
	# shellcheck disable=SC2086
	ctl $command >/dev/null 2>&1
done
check "reading commands leave the database file as it was" cmp -s "$tmp/mt.db" "$tmp/before.db"

# A database in rollback-journal mode stays so: a reader switches nothing to WAL.
cp "$tmp/mt.db" "$tmp/rollback.db"
sqlite3 "$tmp/rollback.db" "PRAGMA journal_mode = DELETE" >/dev/null
conf "$tmp/rollback.db" > "$tmp/rollback.conf"
out=$("$ctl" -c "$tmp/rollback.conf" --json list 2>&1)
check "a rollback-journal database is read" test "$(json_len <<<"$out")" = 61
check "reading does not switch it to WAL" test "$(sqlite3 "$tmp/rollback.db" "PRAGMA journal_mode")" = delete -a ! -e "$tmp/rollback.db-wal"

# A schema older than the program (migrations 001 and 002 only): a reader does not migrate it,
# it says why.
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
cat "$src/sql/001-initial.sql" "$src/sql/002-duplicates.sql" - <<<"PRAGMA user_version = 2;" |
	sqlite3 "$tmp/old.db"
conf "$tmp/old.db" > "$tmp/old.conf"
err=$("$ctl" -c "$tmp/old.conf" list 2>&1 >/dev/null); status=$?
check "an older schema: list exits 1 and says so" test "$status" = 1 -a -n "$(grep -F "$tmp/old.db: database schema version 2" <<<"$err")"
check "an older schema: list does not migrate it" test "$(sqlite3 "$tmp/old.db" "PRAGMA user_version")" = 2

if [ "$(id -u)" = 0 ]; then
	cp "$tmp/mt.db" "$tmp/owned.db"
	chown nobody "$tmp/owned.db"
	conf "$tmp/owned.db" > "$tmp/owned.conf"
	"$ctl" -c "$tmp/owned.conf" list >/dev/null 2>&1
	check "run as root, the -wal and -shm a reader needs belong to the database's owner" test \
		"$(stat -c %U "$tmp/owned.db-wal" "$tmp/owned.db-shm" 2>/dev/null | sort -u)" = nobody
else
	skip "run as root, the -wal and -shm a reader needs belong to the database's owner" "not root"
fi

# ---- reading while another connection writes (WAL: the daemon keeps the file open) ----
python3 - "$tmp/mt.db" "$tmp" <<'EOF2' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA wal_autocheckpoint = 0")  # the change stays in the -wal file
db.execute("UPDATE messages SET subject = 'Changed in the WAL' WHERE id = 12")
db.execute("BEGIN IMMEDIATE")  # and a write transaction stays open
db.execute("UPDATE messages SET subject = 'Not committed' WHERE id = 13")
open(os.path.join(sys.argv[2], "writing"), "w").close()
for _ in range(300):
    if os.path.exists(os.path.join(sys.argv[2], "stop")):
        break
    time.sleep(0.1)
db.rollback()
EOF2
writer=$!
for _ in $(seq 1 100); do [ -e "$tmp/writing" ] && break; sleep 0.1; done
check "while another connection writes, the -wal and -shm exist" test -s "$tmp/mt.db-wal" -a -e "$tmp/mt.db-shm"
out=$(ctl show 12 2>&1); status=$?
check "show reads a change that is only in the WAL" test "$status" = 0 -a -n "$(grep '^subject: *Changed in the WAL$' <<<"$out")"
out=$(ctl --json list 2>&1); status=$?
check "list is not blocked by another connection's open write transaction" test "$status" = 0 -a "$(json_len <<<"$out")" = 61
check "list does not see what is not committed" test -z "$(grep -F 'Not committed' <<<"$out")"
touch "$tmp/stop"
wait "$writer"

echo "1..$n"
[ "$failed" = 0 ]
