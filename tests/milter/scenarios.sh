#!/bin/bash
# The milter, one behaviour per miltertest scenario, each with its own configuration and
# database: mailtriaged listens on a loopback port, miltertest plays the MTA, and the rows in
# the database are checked afterwards. TAP: one line per check.
set -u
src=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=$(cd "${top_builddir:-$src}" && pwd)
here=$src/tests/milter
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
if ! command -v miltertest >/dev/null || ! command -v sqlite3 >/dev/null; then
	if [ "${MAILTRIAGE_E2E_REQUIRED:-0}" = 1 ]; then echo "1..1"; echo "not ok 1 - miltertest or sqlite3 missing"; exit 1; fi
	echo "1..0 # SKIP miltertest or sqlite3 is not installed"; exit 77
fi
tmp=$(mktemp -d)
daemon_pid=
cleanup() { [ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

free_port() {
	for _ in $(seq 1 50); do
		local port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-), where bind can fail
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
	done
}

# scenario NAME [CONFIG LINES for daemon] -- [miltertest -D definitions]
scenario() {
	local name=$1; shift
	local extra=""
	while [ $# -gt 0 ] && [ "$1" != -- ]; do extra="$extra$1"$'\n'; shift; done
	[ "${1:-}" = -- ] && shift
	dir=$(mktemp -d "$tmp/$name.XXXX")
	[ -n "${MT_CHOWN:-}" ] && chown "$MT_CHOWN" "$dir"
	port=$(free_port)
	cat > "$dir/mt.conf" <<CONF
[daemon]
database = $dir/mt.db
socket = ${MT_SOCKET_SPEC:-inet:$port@127.0.0.1}
busy_timeout = 1s
workers = 1
poll_interval = 1s
${extra}
[sendmail]
path = /bin/true
[mailbox support@site.test]
escalate_to = human@site.test
mode = off
${MT_SUPPORT_EXTRA:-}
[mailbox sales@site.test]
escalate_to = human@site.test
mode = off
CONF
	"$build/milter/mailtriaged" -f -c "$dir/mt.conf" > "$dir/daemon.log" 2>&1 &
	daemon_pid=$!
	# Started: bound, permissions set, privileges dropped, workers running.
	for _ in $(seq 1 100); do grep -q "workers started" "$dir/daemon.log" && break; sleep 0.1; done
	cat "$here/common.lua" "$here/$name.lua" > "$dir/script.lua"
	"$@" # a hook run once the daemon is started (e.g. to lock the database)
	miltertest -D port="$port" ${MT_DEFINE:+-D "$MT_DEFINE"} -s "$dir/script.lua" > "$dir/miltertest.out" 2>&1
	mt_status=$?
	kill -TERM "$daemon_pid"
	for _ in $(seq 1 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
	wait "$daemon_pid"; daemon_status=$?
	daemon_pid=
	check "$name: miltertest scenario passes" test "$mt_status" = 0
	[ "$mt_status" = 0 ] || sed 's/^/# /' "$dir/miltertest.out" "$dir/daemon.log"
	check "$name: mailtriaged stops cleanly" test "$daemon_status" = 0
}
sql() { sqlite3 -cmd ".timeout 3000" "$dir/mt.db" "$@"; }
none() { :; }
check_unix_socket() {
	check "unix: the socket has socket_mode" test "$(stat -c %a "$usock")" = 620
	if [ -n "$as_root_lines" ]; then
		check "unix: the socket has socket_group" test "$(stat -c %G "$usock")" = mailtriage
		check "unix: the daemon runs as user after binding" test "$(ps -o user= -p "$daemon_pid")" = mailtriage
	fi
}

scenario recorded -- none
check "recorded: one row with the envelope, the MTA queue id and the message" test \
	"$(sql "SELECT intake, mta_queue_id, mailbox, envelope_from, rcpts, client_addr, helo, message_id, truncated FROM messages")" = \
	"milter|QID0001|support@site.test|alice@customer.test|Support@Site.Test|192.0.2.7|client.customer.test|m1@customer.test|0"
check "recorded: the raw message has the headers and the body" grep -q "What does the pro plan cost" <<<"$(sql "SELECT raw FROM messages")"
check "recorded: the worker picked it up" test "$(sql "SELECT state FROM messages")" = done

scenario crlf -- none
check "crlf: CRLF across chunks is LF, a lone CR is kept" test \
	"$(sql "SELECT hex(substr(raw, instr(raw, 'one'))) FROM messages")" = \
	"$(printf 'one\ntwo\nthree\rfour\rfive\r\n' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"

scenario unmonitored -- none
check "unmonitored: no row" test "$(sql "SELECT count(*) FROM messages")" = 0

MT_SUPPORT_EXTRA="intake = pipe" scenario intake -- none
check "intake = pipe: the milter records nothing for that mailbox" test "$(sql "SELECT count(*) FROM messages")" = 0

scenario oversized "max_message_size = 64k" -- none
check "oversized: recorded cut at max_message_size and marked truncated" test \
	"$(sql "SELECT truncated, length(raw), size > 190000 FROM messages")" = "1|65536|1"

scenario abort -- none
check "abort: no row for the aborted message, the next one recorded" test \
	"$(sql "SELECT group_concat(message_id) FROM messages")" = "after-abort@customer.test"

lock_database() {
	# Create the schema, then hold the write lock longer than busy_timeout.
	for _ in $(seq 1 50); do [ -s "$dir/mt.db" ] && break; sleep 0.1; done
	python3 -c 'import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(4)
db.execute("COMMIT")' "$dir/mt.db" "$dir/locked" &
	for _ in $(seq 1 50); do [ -e "$dir/locked" ] && break; sleep 0.1; done
}
MT_DEFINE=expected=continue scenario dbdown "on_error = accept" -- lock_database
check "database locked, on_error accept: logged with the queue id" grep -q "QID0006: cannot record the message: .*accepted untriaged" "$dir/daemon.log"
wait
check "database locked, on_error accept: no half-recorded row" test "$(sql "SELECT count(*) FROM messages")" = 0
MT_DEFINE=expected=tempfail scenario dbdown "on_error = tempfail" -- lock_database
check "database locked, on_error tempfail: logged, 451" grep -q "QID0006: cannot record the message: .*answered 451" "$dir/daemon.log"
wait

scenario header "add_header = yes" -- none
check "header: one row per monitored mailbox, in one message" test \
	"$(sql "SELECT group_concat(mailbox, ' ') FROM (SELECT mailbox FROM messages ORDER BY id)")" = "support@site.test sales@site.test"

scenario duplicate -- none
check "duplicate: the second copy points at the first and is done at once" test \
	"$(sql "SELECT id, duplicate_of, state FROM messages ORDER BY id" | tr '\n' ' ')" = "1||done 2|1|done "
check "duplicate: it says so" test "$(sql "SELECT last_error FROM messages WHERE id = 2")" = "duplicate of message 1"
scenario staff "watch_outbound = yes" "[policy]" "staff_addresses = bob@site.test" -- none
check "staff: the two staff messages are recorded as staff, with their envelope and text" test \
	"$(sql "SELECT group_concat(mta_queue_id || ' ' || envelope_from || ' ' || rcpts || ' ' || message_id, ', ') FROM (SELECT * FROM staff_messages ORDER BY id)")" = \
	"QID0101 support@site.test alice@customer.test s1@site.test, QID0102 Bob@Site.Test human@site.test Alice@Customer.Test s2@site.test"
check "staff: the raw staff message has its body" grep -q "see the attached offer" <<<"$(sql "SELECT raw FROM staff_messages WHERE id = 2")"
check "staff: neither is a queued inbound message; staff writing to a mailbox is" test \
	"$(sql "SELECT group_concat(message_id) FROM messages")" = "s3@site.test"
check "staff: the daemon folded them; with no conversation to join, each says so" test \
	"$(sql "SELECT count(*) FROM staff_messages WHERE processed_at IS NOT NULL AND conversation IS NULL AND error LIKE 'it matches no conversation%'")" = 2
check "staff: logged once each" test "$(grep -c "staff message [12] from .*matches no conversation" "$dir/daemon.log")" = 2
MT_DEFINE=watch=no scenario staff -- none
check "staff, watch_outbound = no: no staff message, the inbound one recorded" test \
	"$(sql "SELECT count(*) FROM staff_messages") $(sql "SELECT group_concat(message_id) FROM messages")" = "0 s3@site.test"

# A unix socket: a stale one left by a crash is replaced, and the new one gets socket_mode
# (and, as root, socket_group, and the daemon drops to user once it is bound).
usock=$tmp/run/mt.sock
mkdir -p "$tmp/run"
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$usock"
check "unix: a stale socket file is there before the start" test -S "$usock"
as_root_lines=""
if [ "$(id -u)" = 0 ] && id mailtriage >/dev/null 2>&1; then
	chmod 755 "$tmp"
	chmod 777 "$tmp/run"
	export MT_CHOWN=mailtriage
	as_root_lines="user = mailtriage"$'\n'"socket_group = mailtriage"
fi
MT_SOCKET_SPEC="unix:$usock" MT_DEFINE="socketspec=unix:$usock" \
	scenario recorded "socket_mode = 0620" "$as_root_lines" -- check_unix_socket
check "unix: recorded through the socket" test "$(sql "SELECT count(*) FROM messages")" = 1
echo "1..$n"
[ "$failed" = 0 ]
