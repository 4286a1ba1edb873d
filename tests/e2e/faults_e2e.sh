#!/bin/bash
# When things fail, end to end: sendmail missing, exiting 75 or 1, killed by a signal, hanging
# past [sendmail] timeout; the database locked past busy_timeout, its file system full, the
# file made read-only (chmod, a read-only bind mount) or removed while mailtriaged runs, a
# schema from a newer version; and the modes of the database files, whoever creates them.
# mailtriaged runs as the unprivileged user with the builtin classifier (an unknown intent is
# escalated to human@site.test, so every message runs sendmail once), a fake sendmail whose
# behaviour a file chooses, and a database directory on a small tmpfs of its own. Messages come
# through a real Postfix (the umask pipe(8) gives), through mailtriage-pipe by hand (its exit
# status) and through miltertest (the milter's reply). Each case checks its end state: the
# row's state and reason, the pipe's exit status, the milter's reply, the log line, no zombie
# child of the daemon, and PRAGMA integrity_check.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
if ! command -v miltertest >/dev/null; then
	if [ "${MAILTRIAGE_E2E_REQUIRED:-0}" = 1 ]; then echo "1..1"; echo "not ok 1 - miltertest is not installed"; exit 1; fi
	echo "1..0 # SKIP miltertest is not installed"; exit 77
fi
mt_setup || { echo "1..1"; echo "not ok 1 - setup"; exit 1; }

DB=$MT_DIR/db/mailtriage.db
FAKE=$MT_DIR/fake # the fake sendmail's state, written by the mailtriage user
MOUNTS=()         # mounted by this test, unmounted at exit (last first)
faults_cleanup() {
	local status=$?
	[ -e "$FAKE/release" ] || touch "$FAKE/release" 2>/dev/null # a lock holder still waiting
	mt_stop_daemon >/dev/null 2>&1
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount "${MOUNTS[$i]}" 2>/dev/null; done
	(exit "$status")
	mt_cleanup
}
trap faults_cleanup EXIT

# The database directory on a tmpfs of 8 MiB, so that the disk can be filled.
mount -t tmpfs -o "size=8m,mode=0755,uid=$(id -u "$MT_USER"),gid=$(id -g "$MT_USER")" tmpfs "$MT_DIR/db" &&
	MOUNTS+=("$MT_DIR/db")
mkdir -p "$FAKE/sent" "$MT_DIR/msgs"
chown -R "$MT_USER" "$FAKE"
MILTER_PORT=$(mt_free_port)

cat > "$MT_DIR/bin/fake-sendmail" <<'EOF'
#!/bin/sh
# The fake sendmail of faults_e2e.sh: what it does is written in ../fake/mode.
fake=$(dirname "$0")/../fake
case $(cat "$fake/mode") in
ok) cat > "$fake/sent/$$.eml"; exit 0 ;;
tempfail) cat >/dev/null; echo 'postdrop: warning: unable to look up public/pickup: No such file or directory' >&2; exit 75 ;;
fail) cat >/dev/null; echo 'sendmail: fatal: human@site.test: User unknown in local recipient table' >&2; exit 1 ;;
kill) cat >/dev/null; kill -9 $$ ;;
hang) sleep 60 & echo $! > "$fake/hang.pid"; cat >/dev/null; wait ;;
esac
EOF
chmod 755 "$MT_DIR/bin/fake-sendmail"
echo ok > "$FAKE/mode"

# faults_conf ON_ERROR [DATABASE]: the configuration of this test.
faults_conf() {
	cat > "$MT_DIR/mailtriage.conf.new" <<CONF
[daemon]
database = ${2:-$DB}
socket = inet:$MILTER_PORT@127.0.0.1
on_error = $1
workers = 1
log_level = debug
hostname = mt.site.test
busy_timeout = 1s
max_message_size = 1M
retry_base = 1s
retry_max = 2s
max_attempts = 10
lease_time = 10s
poll_interval = 1s

[llm]
provider = builtin
timeout = 5s

[sendmail]
path = $MT_DIR/bin/fake-sendmail
timeout = 2s

[mailbox support@site.test]
name = Site Support
escalate_to = human@site.test
CONF
	mv "$MT_DIR/mailtriage.conf.new" "$MT_DIR/mailtriage.conf"
}
faults_conf tempfail

# reload ON_ERROR: another on_error, through SIGUSR1.
reload() {
	local before
	before=$(grep -c "configuration reloaded" "$MT_DIR/daemon.log")
	faults_conf "$1"
	kill -USR1 "$MT_DAEMON_PID"
	wait_until 10 test "$(grep -c "configuration reloaded" "$MT_DIR/daemon.log")" -gt "$before"
}

# message NAME: a small message with Message-ID <NAME@customer.test>, as a file.
message() {
	printf 'From: Alice <alice@customer.test>\nTo: support@site.test\nSubject: %s\nMessage-ID: <%s@customer.test>\n\nSomething nobody has a rule for.\n' "$1" "$1" > "$MT_DIR/msgs/$1.eml"
	echo "$MT_DIR/msgs/$1.eml"
}
# pipe NAME: mailtriage-pipe by hand, as Postfix runs it; its stderr in $MT_DIR/pipe.err.
pipe() {
	as_user "$MT_DIR/bin/mailtriage-pipe" -c "$MT_DIR/mailtriage.conf" -q "Q$1" -f alice@customer.test -- support@site.test < "$(message "$1")" 2>"$MT_DIR/pipe.err"
}
# milter QID KB EXPECTED: one message through miltertest; its status.
milter() {
	cat "$MT_SRC/tests/milter/common.lua" "$MT_SRC/tests/e2e/faults.lua" > "$MT_DIR/faults.lua"
	miltertest -D port="$MILTER_PORT" -D qid="$1" -D kb="$2" -D expected="$3" -s "$MT_DIR/faults.lua" > "$MT_DIR/miltertest.out" 2>&1
	local status=$?
	[ "$status" = 0 ] || sed 's/^/# /' "$MT_DIR/miltertest.out"
	return "$status"
}
field() { mt_sql "SELECT $1 FROM messages WHERE message_id = '$2@customer.test' ORDER BY id LIMIT 1"; }
action() { mt_sql "SELECT $1 FROM actions WHERE message = (SELECT id FROM messages WHERE message_id = '$2@customer.test' ORDER BY id LIMIT 1) ORDER BY id DESC LIMIT 1"; }
state_is() { [ "$(field state "$2")" = "$1" ]; }
# error_has NAME TEXT: the row's last_error contains TEXT.
error_has() { case "$(field last_error "$1")" in *"$2"*) return 0 ;; esac; return 1; }
deferred_with() { state_is queued "$1" && [ "$(field attempts "$1")" -ge 1 ] && error_has "$1" "$2"; }
integrity_ok() { [ "$(mt_sql "PRAGMA integrity_check")" = ok ]; }
logged() { grep -q -e "$1" "$MT_DIR/daemon.log"; }
log_count() { grep -c -e "$1" "$MT_DIR/daemon.log"; }
mode_of() { stat -c %a "$1" 2>/dev/null; }
# zombies_of PID: how many children of PID are zombies (state Z in /proc/*/stat).
zombies_of() {
	local n=0 f line state ppid
	for f in /proc/[0-9]*/stat; do
		read -r line < "$f" 2>/dev/null || continue
		read -r state ppid _ <<<"${line##*) }" # after "PID (COMM) ", which may hold spaces
		[ "$state" = Z ] && [ "$ppid" = "$1" ] && n=$((n + 1))
	done
	echo "$n"
}
no_zombie() { [ -n "$MT_DAEMON_PID" ] && [ "$(zombies_of "$MT_DAEMON_PID")" = 0 ]; }
# hold_lock: another connection holds BEGIN EXCLUSIVE until $FAKE/release appears (at most 30 s).
hold_lock() {
	rm -f "$FAKE/locked" "$FAKE/release"
	as_user /usr/bin/python3 -c 'import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2] + "/locked", "w").close()
for _ in range(300):
    if os.path.exists(sys.argv[2] + "/release"):
        break
    time.sleep(0.1)
db.execute("COMMIT")' "$DB" "$FAKE" &
	LOCKER=$!
	wait_until 10 test -e "$FAKE/locked"
}
release_lock() { touch "$FAKE/release"; wait "$LOCKER"; }

# ---- 1. Permissions: whoever creates the database, under whatever umask ----

# Through Postfix, before mailtriaged ever ran: mailtriage-pipe creates the file.
mt_send alice@customer.test support@site.test "$(message postfix-1)"
wait_until 30 test -s "$DB"
wait_until 30 state_is queued postfix-1
check "created by mailtriage-pipe under pipe(8): mode 0600" test "$(mode_of "$DB")" = 600
check "created by mailtriage-pipe under pipe(8): owned by $MT_USER" test "$(stat -c %U "$DB")" = "$MT_USER"
# The daemon under umask 000 opens it: SQLite gives -wal and -shm the file's mode.
umask 000
mt_start_daemon
umask 022
wait_until 30 state_is "done" postfix-1
check "the daemon under umask 000: -wal and -shm are 0600 too" test "$(mode_of "$DB-wal") $(mode_of "$DB-shm")" = "600 600"
check "the first message was escalated through the fake sendmail" test "$(action state postfix-1)" = sent

# A set-group-ID directory: the file takes its group and mode 0640, even under umask 000.
mkdir -p "$MT_DIR/gdb"
chown "$MT_USER:mail" "$MT_DIR/gdb"
chmod 2770 "$MT_DIR/gdb"
faults_conf tempfail "$MT_DIR/gdb/mailtriage.db"
cp "$MT_DIR/mailtriage.conf" "$MT_DIR/g.conf"
faults_conf tempfail
(umask 000; as_user "$MT_DIR/bin/mailtriage-pipe" -c "$MT_DIR/g.conf" -f alice@customer.test -- support@site.test < "$(message setgid-1)")
check "created in a set-group-ID directory under umask 000: 0640, the directory's group" \
	test "$(stat -c '%a %G' "$MT_DIR/gdb/mailtriage.db")" = "640 mail"
rm -f "$FAKE/locked" "$FAKE/release"
(umask 000; DB=$MT_DIR/gdb/mailtriage.db hold_lock; wait_until 10 test -e "$MT_DIR/gdb/mailtriage.db-shm"
 stat -c '%a %G' "$MT_DIR/gdb/mailtriage.db-wal" "$MT_DIR/gdb/mailtriage.db-shm" > "$FAKE/gmodes"
 setpriv --reuid=nobody --regid=nogroup --groups=mail -- "$MT_DIR/bin/mailtriagectl" -c "$MT_DIR/g.conf" list > "$FAKE/glist" 2>&1
 release_lock)
check "... and its -wal and -shm: 0640, the directory's group" test "$(tr '\n' ' ' < "$FAKE/gmodes")" = "640 mail 640 mail "
check "... which a member of the group can read while they exist" grep -q setgid-1 "$FAKE/glist"

# ---- 2. sendmail failing ----

# sendmail_case MODE NAME: one message through the pipe while the fake sendmail does MODE.
sendmail_case() {
	echo "$1" > "$FAKE/mode"
	pipe "$2"
}

mv "$MT_DIR/bin/fake-sendmail" "$MT_DIR/bin/fake-sendmail.away"
sendmail_case ok missing-1
check "sendmail missing: deferred with the reason" wait_until 30 deferred_with missing-1 "cannot run $MT_DIR/bin/fake-sendmail"
mv "$MT_DIR/bin/fake-sendmail.away" "$MT_DIR/bin/fake-sendmail"
wait_until 30 state_is "done" missing-1
check "sendmail missing: sent once it is back" test "$(field state missing-1) $(action state missing-1)" = "done sent"
check "sendmail missing: no zombie" no_zombie

sendmail_case tempfail tempfail-1
check "sendmail exits 75: deferred with its words" wait_until 30 deferred_with tempfail-1 "exited with status 75: postdrop: warning: unable to look up public/pickup"
echo ok > "$FAKE/mode"
wait_until 30 state_is "done" tempfail-1
check "sendmail exits 75: sent on a later attempt" test "$(field state tempfail-1) $(action state tempfail-1)" = "done sent"
check "sendmail exits 75: no zombie" no_zombie

sendmail_case fail fail-1
wait_until 30 state_is failed fail-1
check "sendmail exits 1: failed with its words" error_has fail-1 "exited with status 1: sendmail: fatal: human@site.test: User unknown in local recipient table"
check "sendmail exits 1: the action records status 1" test "$(action "state || ' ' || sendmail_status" fail-1)" = "failed 1"
check "sendmail exits 1: no zombie" no_zombie

sendmail_case kill kill-1
wait_until 30 state_is failed kill-1
check "sendmail killed after it had the message: failed, not sent again (it may have queued it)" \
	error_has kill-1 "was killed by signal 9 after it had the whole message: it may have queued it, so it is not sent again automatically"
check "sendmail killed: no zombie" no_zombie

# Hanging: the next message waits for the one worker, then goes through.
rm -f "$FAKE/hang.pid"
sendmail_case hang hang-1
wait_until 30 test -s "$FAKE/hang.pid"
echo ok > "$FAKE/mode"
pipe after-hang-1
wait_until 30 state_is failed hang-1
check "sendmail hanging past its timeout: failed with the reason" \
	error_has hang-1 "did not finish within 2s and was killed after it had the whole message: it may have queued it"
hang_child=$(cat "$FAKE/hang.pid")
gone() { [ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" = Z ]; }
check "sendmail hanging: the child it forked was killed with it (its process group)" wait_until 10 gone "$hang_child"
wait_until 30 state_is "done" after-hang-1
check "sendmail hanging: the worker went on with the next message" test "$(field state after-hang-1) $(action state after-hang-1)" = "done sent"
check "sendmail hanging: no zombie" no_zombie
check "sendmail cases: integrity_check ok" integrity_ok

# ---- 3. The database locked past busy_timeout ----

hold_lock
pipe locked-1
status=$?
check "locked: the pipe exits 75" test "$status" = 75
check "locked: the pipe names the file and the lock" grep -q "cannot record the message Qlocked-1: .*database is locked ($DB: another process held its lock longer than busy_timeout; fuser -v $DB .*); deferred (exit 75)" "$MT_DIR/pipe.err"
check "locked, on_error tempfail: the milter answers 451" milter QLOCK1 1 tempfail
check "locked: logged with the queue id" logged "QLOCK1: cannot record the message: .*database is locked.*answered 451"
check "locked: the worker says why it cannot claim" wait_until 10 logged "worker 1: cannot claim a message: .*database is locked"
release_lock
pipe locked-1
check "lock released: the pipe records it (exit 0)" test $? = 0
wait_until 30 state_is "done" locked-1
check "lock released: the worker processes it" state_is "done" locked-1
check "locked: integrity_check ok" integrity_ok

# ---- 4. The file system full ----

{ printf 'From: Alice <alice@customer.test>\nTo: support@site.test\nSubject: big\nMessage-ID: <full-1@customer.test>\n\n'
  for _ in $(seq 1 8000); do echo "a line of about seventy characters to make a message of half a megabyte"; done
} > "$MT_DIR/msgs/full-1.eml"
dd if=/dev/zero of="$MT_DIR/db/filler" bs=64k 2>/dev/null
as_user "$MT_DIR/bin/mailtriage-pipe" -c "$MT_DIR/mailtriage.conf" -q Qfull-1 -f alice@customer.test -- support@site.test < "$MT_DIR/msgs/full-1.eml" 2>"$MT_DIR/pipe.err"
status=$?
check "disk full: the pipe exits 75" test "$status" = 75
check "disk full: the pipe says so, with the file" grep -q "cannot record the message Qfull-1: .*full ($DB: its file system is full: free space there); deferred (exit 75)" "$MT_DIR/pipe.err"
check "disk full, on_error tempfail: the milter answers 451" milter QFULL1 512 tempfail
check "disk full: logged with the queue id" logged "QFULL1: cannot record the message: .*full.*answered 451"
check "disk full: nothing half-recorded" test "$(mt_sql "SELECT count(*) FROM messages WHERE message_id IN ('full-1@customer.test', 'QFULL1@customer.test')")" = 0
check "disk full: integrity_check ok" integrity_ok
rm -f "$MT_DIR/db/filler"
as_user "$MT_DIR/bin/mailtriage-pipe" -c "$MT_DIR/mailtriage.conf" -q Qfull-1 -f alice@customer.test -- support@site.test < "$MT_DIR/msgs/full-1.eml"
check "space freed: the pipe records it (exit 0)" test $? = 0
wait_until 30 state_is "done" full-1
check "space freed: the worker processes it" state_is "done" full-1

# ---- 5. Made read-only while mailtriaged runs ----

# milter_idle QID: a message the milter records, which leaves it an idle connection.
milter_idle() {
	check "$1: the milter records a message" milter "$1" 1 continue
	check "$1: ... for the worker" wait_until 30 state_is "done" "$1"
}
# read_only_case HOW NAME QID: the database is read-only (the caller made it so) until undone.
read_only_case() {
	local how=$1 name=$2 qid=$3 closed
	closed=$(log_count "the milter's database connection was closed")
	pipe "$name"
	check "$how: the pipe exits 75" test $? = 75
	check "$how: the pipe says what must be writable" grep -q "cannot record the message Q$name: .*$DB.*must be writable by uid $(id -u "$MT_USER").*deferred (exit 75)" "$MT_DIR/pipe.err"
	check "$how, on_error tempfail: the milter answers 451" milter "$qid" 1 tempfail
	check "$how: the milter closed its connection" test "$(log_count "$DB is no longer writable.*the milter's database connection was closed")" -gt "$closed"
	check "$how: logged with the queue id" logged "$qid: cannot record the message: .*must be writable.*answered 451"
	check "$how: the worker stops writing and retries" wait_until 30 logged "worker 1: cannot open the database, retrying in 1s: .*must be writable"
}
milter_idle QIDLE1
chmod 0444 "$DB"
read_only_case "chmod 0444" ro-1 QRO1
chmod 0600 "$DB"
pipe ro-1
check "chmod 0600 again: the pipe records it (exit 0)" test $? = 0
wait_until 30 state_is "done" ro-1
check "chmod 0600 again: the worker processes it" state_is "done" ro-1

milter_idle QIDLE2
before=$(log_count "is no longer writable")
mount --bind -o ro "$MT_DIR/db" "$MT_DIR/db" && MOUNTS+=("$MT_DIR/db")
wait_until 10 test "$(log_count "is no longer writable")" -gt "$before"
read_only_case "read-only bind mount" ro-2 QRO2
umount "$MT_DIR/db" && unset 'MOUNTS[${#MOUNTS[@]}-1]'
pipe ro-2
check "mount removed: the pipe records it (exit 0)" test $? = 0
wait_until 30 state_is "done" ro-2
check "mount removed: the worker processes it" state_is "done" ro-2
check "read-only: integrity_check ok" integrity_ok

# ---- 6. Removed while mailtriaged runs ----

reload accept
milter_idle QIDLE3
rm -f "$DB"
check "removed, on_error accept: the milter lets the mail through" milter QGONE1 1 continue
check "removed: logged with the queue id, saying what to do" logged "QGONE1: cannot record the message: open $DB: No such file or directory (mailtriaged created it at start, so it was removed since: restore it, or restart mailtriaged, which creates a new one); accepted untriaged"
check "removed: the milter closed its connection" logged "$DB was removed or replaced since this connection opened it.*the milter's database connection was closed"
check "removed: the worker says so and retries" wait_until 30 logged "worker 1: cannot open the database, retrying in 1s: open $DB: No such file or directory"
check "removed: the daemon does not make an empty one" test ! -e "$DB"
pipe gone-1
check "removed: the pipe makes a new one (exit 0), mode 0600" test "$? $(mode_of "$DB")" = "0 600"
wait_until 30 state_is "done" gone-1
check "removed: the daemon goes on with the new file" state_is "done" gone-1
check "removed: integrity_check of the new file ok" integrity_ok

# ---- 7. A schema from a newer version ----

reload tempfail
newer=$(( $(mt_sql "PRAGMA user_version") + 1 ))
mt_sql "PRAGMA user_version = $newer"
pipe newer-1
check "newer schema: the pipe exits 75" test $? = 75
check "newer schema: the pipe says what to do" grep -q "database schema version $newer is newer than this program's ($((newer - 1))): a newer mailtriage upgraded it; run that version" "$MT_DIR/pipe.err"
check "newer schema, on_error tempfail: the milter answers 451" milter QNEW1 1 tempfail
check "newer schema: logged with the queue id" logged "QNEW1: cannot record the message: $DB: database schema version $newer is newer.*answered 451"
check "newer schema: the worker stops and retries" wait_until 30 logged "worker 1: cannot open the database, retrying in 1s: $DB: database schema version $newer is newer"
check "newer schema: no zombie" no_zombie
check "mailtriaged stops cleanly" mt_stop_daemon
as_user "$MT_DIR/bin/mailtriaged" -f -c "$MT_DIR/mailtriage.conf" > "$MT_DIR/start.log" 2>&1
check "newer schema: mailtriaged refuses to start (exit 78)" test $? = 78
check "newer schema: ... and says why" grep -q "database: $DB: database schema version $newer is newer" "$MT_DIR/start.log"
check "newer schema: integrity_check ok" integrity_ok

# Made anew by the daemon under umask 000: 0600 for the file, its -wal and -shm.
rm -f "$DB" "$DB-wal" "$DB-shm"
umask 000
mt_start_daemon
umask 022
wait_until 10 test -e "$DB-shm"
check "created by mailtriaged under umask 000: 0600 for the file, -wal and -shm" \
	test "$(mode_of "$DB") $(mode_of "$DB-wal") $(mode_of "$DB-shm")" = "600 600 600"
pipe fresh-1
wait_until 30 state_is "done" fresh-1
check "the new database works" state_is "done" fresh-1
check "mailtriaged stops cleanly at the end" mt_stop_daemon
check "no sanitizer report in the daemon's log" bash -c "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' '$MT_DIR/daemon.log'"
mt_done
