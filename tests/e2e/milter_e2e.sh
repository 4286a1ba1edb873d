#!/bin/bash
# End to end through a real Postfix with smtpd_milters: mailtriaged records mail for the
# monitored mailbox from inside the SMTP session, Postfix still delivers every message to its
# mailbox, unmonitored mail costs no row, and a milter killed mid-stream loses nothing.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
command -v smtp-source >/dev/null || PATH=$PATH:/usr/sbin
MILTER_PORT=$(mt_free_port)
MT_SOCKET="inet:$MILTER_PORT@127.0.0.1"
MT_PF_MILTER="inet:127.0.0.1:$MILTER_PORT"
MT_MONITORED="pipe-only@site.test" # support@site.test is delivered to its mailbox (the capture)
MT_ADD_HEADER=yes
# The product's default: ten milter threads and the workers share the write lock, and on a
# loaded two-core machine 2 s was seen to run out (on_error = accept let those through).
MT_BUSY_TIMEOUT=10s
mt_setup || { echo "1..1"; echo "not ok 1 - setup"; exit 1; }
mt_start_daemon || not_ok "mailtriaged starts with the milter"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MILTER_PORT" 2>/dev/null

rows() { mt_sql "SELECT count(*) FROM messages"; }
rows_done() { mt_sql "SELECT count(*) FROM messages WHERE state = 'done'"; }
captured() { pf_captured "$1" | wc -l; }
all_done() { [ "$(rows)" = "$1" ] && [ "$(rows_done)" = "$1" ]; }
rows_at_least() { [ "$(rows)" -ge "$1" ]; }

# 1. 200 messages to the monitored mailbox: 200 rows, all processed, all delivered.
smtp-source -s 10 -m 200 -f alice@customer.test -t support@site.test "127.0.0.1:$PF_PORT" 2>"$MT_DIR/source1.err"
check "smtp-source: 200 messages accepted by Postfix" test $? = 0
check "200 messages delivered by Postfix to the mailbox" pf_wait_captured support@site.test 200 120
check "200 rows recorded by the milter, every one processed" wait_until 120 all_done 200
check "every row has the Postfix queue id, client and HELO" test \
	"$(mt_sql "SELECT count(*) FROM messages WHERE intake = 'milter' AND mta_queue_id != 'NOQUEUE' AND client_addr = '127.0.0.1' AND helo IS NOT NULL")" = 200
first=$(pf_captured support@site.test | head -n 1)
check "the delivered copy carries X-Mailtriage-Id" grep -q '^X-Mailtriage-Id: [0-9]*$' "$first"
queue_id=$(mt_sql 'SELECT mta_queue_id FROM messages WHERE id = 1')
check "the recorded queue id is Postfix's ($queue_id)" grep -q "$queue_id: to=<support@site.test>" "$PF_DIR/maillog"

check "every recorded line says how long the recording took (store_ms)" \
	test "$(grep -c 'recorded: mta_queue_id=.* store_ms=[0-9]*\.[0-9]\{3\}' "$MT_DIR/daemon.log")" = 200
# thread_nices NAME: the nice values of the daemon's threads called NAME, sorted, unique.
thread_nices() {
	local task
	for task in /proc/"$MT_DAEMON_PID"/task/*; do
		[ "$(cat "$task/comm" 2>/dev/null)" = "$1" ] && awk '{ print $19 }' "$task/stat"
	done | sort -u | tr '\n' ' '
}
check "the workers run at worker_nice (10) below the daemon: $(thread_nices worker)" test "$(thread_nices worker)" = "10 "
check "the milter's recorder keeps the daemon's priority: $(thread_nices recorder)" test "$(thread_nices recorder)" = "0 "

# 2. 200 messages to an address nobody monitors: delivered, no row.
smtp-source -s 10 -m 200 -f bob@customer.test -t other@site.test "127.0.0.1:$PF_PORT" 2>"$MT_DIR/source2.err"
check "unmonitored: 200 delivered" pf_wait_captured other@site.test 200 120
check "unmonitored: no row recorded" test "$(rows)" = 200

# 3. The milter is killed while Postfix receives: Postfix keeps accepting and delivering; after
#    a restart every recorded message is processed.
mt_sql "PRAGMA foreign_keys = ON; DELETE FROM messages" >/dev/null
# A slow LLM, so that messages are still queued or in a worker's hands at the kill.
mt_write_config "openai" "http://127.0.0.1:$MT_LLM_PORT/slow-3/v1" "$MT_SENDMAIL"
kill -USR1 "$MT_DAEMON_PID"
wait_until 10 grep -q "configuration reloaded" "$MT_DIR/daemon.log"
smtp-source -s 5 -m 100 -f carol@customer.test -t support@site.test "127.0.0.1:$PF_PORT" 2>"$MT_DIR/source3.err" &
source_pid=$!
wait_until 60 rows_at_least 10
kill -KILL "$MT_DAEMON_PID"; wait "$MT_DAEMON_PID" 2>/dev/null; MT_DAEMON_PID=
killed_at=$(rows)
pending=$(mt_sql "SELECT count(*) FROM messages WHERE state != 'done'")
wait "$source_pid"
check "killed milter: smtp-source saw every message accepted" test $? = 0
check "killed milter: Postfix delivered all 100 (milter_default_action = accept)" pf_wait_captured support@site.test 300 120
check "killed milter: Postfix logged the milter as unavailable" grep -qi "milter.* inet:127.0.0.1:$MILTER_PORT.*\(refused\|reset\|read error\|timeout\|can't\|lost\)" "$PF_DIR/maillog"
recorded=$(rows)
check "killed milter: the rows recorded before the kill are kept ($killed_at at the kill, $recorded in all)" test "$recorded" -ge "$killed_at"
check "killed milter: messages were left unprocessed by the kill ($pending)" test "$pending" -gt 0
mt_start_daemon || not_ok "mailtriaged restarts"
check "killed milter: after the restart every recorded row is processed" wait_until 90 all_done "$recorded"
check "no message left working or queued" test "$(mt_sql "SELECT count(*) FROM messages WHERE state IN ('working', 'queued')")" = 0
check "mailtriaged stops cleanly on SIGTERM" mt_stop_daemon
check "no sanitizer report in the daemon's log" bash -c "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' '$MT_DIR/daemon.log'"
mt_done
