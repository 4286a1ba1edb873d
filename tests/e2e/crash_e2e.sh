#!/bin/bash
# Crashes through a real Postfix: mail arrives through the milter (support@site.test) and the
# pipe transport (sales@ and drafts@), the fake LLM is slow and so is sendmail (a wrapper that
# marks its start, sleeps, then runs Postfix's sendmail), and mailtriaged is SIGKILLed at 20
# points (before the LLM call, during it, after the decision, during sendmail, after sendmail),
# restarted after each; `mailtriagectl draft approve` is SIGKILLed while its sendmail sleeps;
# and the daemon gets SIGTERM with sendmail and an LLM request in flight. Then the daemon runs
# to quiescence and tests/e2e/crash_check.py compares the database with what Postfix
# delivered: every message done, failed with its reason or held with a reason that names its
# mail, nothing left queued or working, no recipient with the same mail twice, every mail
# recorded as sent delivered once. The counts are printed as TAP comments.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
MILTER_PORT=$(mt_free_port)
MT_SOCKET="inet:$MILTER_PORT@127.0.0.1"
MT_PF_MILTER="inet:127.0.0.1:$MILTER_PORT"
MT_MONITORED="sales@site.test drafts@site.test" # support@ is recorded by the milter
MT_BUSY_TIMEOUT=10s
MT_EXTRA_CONF="
[mailbox sales@site.test]
name = Site Sales
escalate_to = human@site.test
intake = pipe

[mailbox drafts@site.test]
name = Site Drafts
mode = draft
escalate_to = human@site.test
intake = pipe"
mt_setup || { echo "1..1"; echo "not ok 1 - setup"; exit 1; }

# The slow sendmail: it reads the message at once, as Postfix's does, writes a marker
# ("RECIPIENT MESSAGE-ID") when it starts and another when Postfix's sendmail has queued the
# mail, and sleeps in between. It outlives a killed parent, as a real one does, and finishes.
SENDMAIL_DELAY=1.5
mkdir -p "$MT_DIR/sendmail"
chown "$MT_USER" "$MT_DIR/sendmail"
cat > "$MT_DIR/bin/slow-sendmail" <<EOF
#!/bin/sh
for rcpt; do :; done
d='$MT_DIR/sendmail'
cat > "\$d/mail.\$\$"
id=\$(sed -n 's/^[Mm][Ee][Ss][Ss][Aa][Gg][Ee]-[Ii][Dd]: *<\(.*\)>.*/\1/p' "\$d/mail.\$\$" | head -n 1)
echo "\$rcpt \$id" > "\$d/started.\$\$"
sleep $SENDMAIL_DELAY
'$MT_SENDMAIL' "\$@" < "\$d/mail.\$\$"
rc=\$?
echo "\$rcpt \$id \$rc" > "\$d/done.\$\$"
exit \$rc
EOF
chmod 755 "$MT_DIR/bin/slow-sendmail"
mt_write_config "openai" "http://127.0.0.1:$MT_LLM_PORT/slow-1/v1" "$MT_DIR/bin/slow-sendmail"
# Three workers for one LLM slot: while one message is with the model, another waits before
# its LLM call, with its lease renewed.
sed -i -e 's/^workers = 2$/workers = 3/' -e '/^\[llm\]$/a max_concurrency = 1' "$MT_DIR/mailtriage.conf"

STARTS=0
start_daemon() {
	STARTS=$((STARTS + 1))
	mt_start_daemon
	wait_until 20 bash -c "[ \$(grep -c 'workers started' '$MT_DIR/daemon.log') -ge $STARTS ]" &&
		wait_until 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MILTER_PORT" 2>/dev/null
}
kill_daemon() { # SIGNAL: and wait (bounded) until it is gone
	kill "-$1" "$MT_DAEMON_PID"
	local status=0
	for _ in $(seq 1 150); do kill -0 "$MT_DAEMON_PID" 2>/dev/null || break; sleep 0.2; done
	if kill -0 "$MT_DAEMON_PID" 2>/dev/null; then kill -KILL "$MT_DAEMON_PID"; status=1; fi
	wait "$MT_DAEMON_PID" 2>/dev/null || [ "$1" = KILL ] || status=1
	MT_DAEMON_PID=
	return "$status"
}

recorded() { [ -n "$(mt_id_of "$1")" ]; }
N=0
# send_pair: one message through the pipe (sales@), then, once it is recorded, one through the
# milter (support@), whose record wakes the workers: both are claimed together, and one of them
# waits for the LLM slot. Each from a sender of its own, so that every reply has a recipient of
# its own.
send_pair() {
	N=$((N + 1))
	local ask="What is the price of the pro plan?"
	[ $((N % 3)) = 0 ] && ask="Please have someone call me about my contract."
	for side in p m; do
		local to=support@site.test
		[ "$side" = p ] && to=sales@site.test
		printf 'From: Customer %s <c%s%s@customer.test>\nTo: %s\nSubject: Question %s%s\nMessage-ID: <crash-%s%s@customer.test>\n\n%s\nReference crash-%s%s.\n' \
			"$N$side" "$N" "$side" "$to" "$N" "$side" "$N" "$side" "$ask" "$N" "$side" |
			mt_send "c$N$side@customer.test" "$to" - || echo "# could not send message $N$side"
		[ "$side" = p ] && wait_until 20 recorded "crash-${N}p@customer.test"
	done
}

markers() { find "$MT_DIR/sendmail" -name "$1.*" | wc -l; }
requests() { grep -c '/slow-1/v1/chat/completions' "$MT_DIR/llm/requests.log" || true; }
classified() { mt_sql "SELECT count(*) FROM classifications"; }
# A message claimed and waiting for its LLM call: working, not classified, not yet asked.
waiting_for_llm() {
	local mid
	for mid in $(mt_sql "SELECT message_id FROM messages m WHERE state = 'working' AND NOT EXISTS (SELECT 1 FROM classifications c WHERE c.message = m.id)"); do
		grep -q "Reference ${mid%@*}\." "$MT_DIR/llm/requests.log" || return 0
	done
	return 1
}
more_than() { [ "$("$1")" -gt "$2" ]; }
more_markers() { [ "$(markers "$1")" -gt "$2" ]; }
sendmail_started_for() { grep -qs "^$1 " "$MT_DIR"/sendmail/started.*; }

# kill_at PHASE: send two messages, wait for PHASE, SIGKILL the daemon, start it again.
KILLS=0
declare -A PHASES
kill_at() {
	local phase=$1 seen=0
	local r0 c0 s0 d0
	r0=$(requests); c0=$(classified); s0=$(markers started); d0=$(markers done)
	send_pair
	case $phase in
	before-llm) # A message waits for the LLM slot while another is with the model; when the
		# queue is short that may not happen at once: more work makes it.
		if wait_until 8 waiting_for_llm; then seen=1; else send_pair; wait_until 40 waiting_for_llm && seen=1; fi ;;
	during-llm) wait_until 40 more_than requests "$r0" && seen=1 ;;
	after-decision) wait_until 40 more_than classified "$c0" && seen=1 ;;
	during-sendmail) wait_until 40 more_markers started "$s0" && seen=1 ;;
	after-sendmail) wait_until 40 more_markers done "$d0" && seen=1 ;;
	esac
	kill_daemon KILL
	KILLS=$((KILLS + 1))
	[ "$seen" = 1 ] && PHASES[$phase]=$((${PHASES[$phase]:-0} + 1)) || echo "# kill $KILLS: $phase not seen in time; killed anyway"
	start_daemon || not_ok "mailtriaged starts again after kill $KILLS"
}

start_daemon || not_ok "mailtriaged starts"
for _ in 1 2 3 4; do
	for phase in before-llm during-llm after-decision during-sendmail after-sendmail; do
		kill_at "$phase"
	done
done
echo "# SIGKILLs of mailtriaged: $KILLS ($(for p in before-llm during-llm after-decision during-sendmail after-sendmail; do printf '%s %s, ' "$p" "${PHASES[$p]:-0}"; done | sed 's/, $//'))"
check "the daemon was SIGKILLed at 20 points, each one reached" test "$KILLS/$(( ${PHASES[before-llm]:-0} + ${PHASES[during-llm]:-0} + ${PHASES[after-decision]:-0} + ${PHASES[during-sendmail]:-0} + ${PHASES[after-sendmail]:-0} ))" = 20/20

# SIGTERM while a mail is in sendmail: the daemon waits for it, records it, and stops.
s0=$(markers started)
send_pair
wait_until 40 more_markers started "$s0"
read -r rcpt mid < "$(ls -t "$MT_DIR"/sendmail/started.* | head -n 1)"
check "SIGTERM with sendmail running: the daemon stops cleanly" kill_daemon TERM
check "SIGTERM with sendmail running: that mail (to $rcpt) is recorded sent, not left unknown" test \
	"$(mt_sql "SELECT state FROM actions WHERE outgoing_message_id = '$mid'")" = sent
start_daemon || not_ok "mailtriaged starts after SIGTERM"
# SIGTERM while a request is with the model: the message is released to the queue.
r0=$(requests)
send_pair
wait_until 40 more_than requests "$r0"
check "SIGTERM with an LLM request in flight: the daemon stops cleanly" kill_daemon TERM
check "SIGTERM with an LLM request in flight: the message was released, not lost" \
	grep -q "released at shutdown; it stays queued" "$MT_DIR/daemon.log"
start_daemon || not_ok "mailtriaged starts after the second SIGTERM"

# Draft approvals killed while their sendmail sleeps: the wrapper finishes the mail; the draft
# stays in sending, saying that its outcome is unknown, and is never sent again.
APPROVALS=0
for k in 1 2; do
	mt_send "d$k@customer.test" drafts@site.test - <<EOF || echo "# could not send draft request $k"
From: Drafter $k <d$k@customer.test>
To: drafts@site.test
Subject: Draft question $k
Message-ID: <crash-d$k@customer.test>

What is the price of the pro plan? Reference crash-d$k.
EOF
	wait_until 60 mt_is_done "crash-d$k@customer.test"
	draft=$(mt_sql "SELECT d.id FROM drafts d JOIN messages m ON m.id = d.message WHERE m.message_id = 'crash-d$k@customer.test'")
	setpriv --reuid="$MT_USER" --regid="$MT_USER" --clear-groups -- "$MT_DIR/bin/mailtriagectl" \
		-c "$MT_DIR/mailtriage.conf" draft approve "$draft" >/dev/null 2>>"$MT_DIR/approve.log" &
	approver=$!
	wait_until 20 sendmail_started_for "d$k@customer.test" &&
		kill -KILL "$approver" && APPROVALS=$((APPROVALS + 1))
	wait "$approver" 2>/dev/null
	check "draft $draft: the approval killed while sendmail ran leaves it sending" test \
		"$(mt_sql "SELECT state FROM drafts WHERE id = '$draft'")" = sending
	again=$(mtctl draft approve "$draft" 2>&1)
	check "draft $draft: approving it again is refused (it may have gone out)" grep -q "is sending, not pending" <<<"$again"
	check "draft $draft: mailtriagectl draft list shows why" grep -q "outcome unknown until sendmail answers: approved by" <<<"$(mtctl draft list)"
done
echo "# SIGKILLs of mailtriagectl draft approve: $APPROVALS"

# Quiescence: everything recorded is processed, everything sent delivered.
settled() { [ "$(mt_sql "SELECT count(*) FROM messages WHERE state IN ('queued', 'working')")" = 0 ]; }
check "after the last kill the daemon runs to quiescence (nothing queued or working)" wait_until 120 settled
kill_daemon TERM
check "Postfix delivered everything it was given" pf_wait_queue_empty 60
check "no message left queued or working" settled
echo "# kill points: $KILLS SIGKILLs of the daemon, 2 SIGTERMs, $APPROVALS SIGKILLs of draft approve; messages sent in: $((N * 2 + 2))"
while read -r verdict rest; do
	case $verdict in
	PASS) ok "$rest" ;;
	FAIL) not_ok "$rest" ;;
	*) echo "$verdict $rest" ;;
	esac
done < <(python3 "$MT_SRC/tests/e2e/crash_check.py" "$MT_DIR/db/mailtriage.db" "$PF_DIR/capture" 2>&1)
held=$(mt_sql "SELECT id FROM messages WHERE state = 'held' LIMIT 1")
if [ -n "$held" ]; then
	check "a held message is in mailtriagectl list with its reason" grep -q "last error: outcome unknown: the" <<<"$(mtctl list --state held)"
	check "a held message's show names the mail and the retry" grep -q "mailtriagectl retry $held sends it again" <<<"$(mtctl show "$held")"
	check "the hold was logged with the message-id" grep -q "status=held .*message-id=<" "$MT_DIR/daemon.log"
fi
check "no sanitizer report in the daemon's log" bash -c "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' '$MT_DIR/daemon.log' '$MT_DIR/approve.log'"
mt_done
