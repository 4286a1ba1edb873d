#!/bin/bash
# demo.sh: the mailtriage demo, run against installed programs (quickstart.sh demo builds and
# installs them first, then runs this). As root:
#
#   contrib/demo.sh [--bindir DIR] [--datadir DIR] [--dir DIR] [--port PORT]
#
# It starts a private Postfix on 127.0.0.1:PORT (default 2525) laid out as Debian ships it
# (smtpd and the other daemons chrooted in the queue directory), with
#   - smtpd_milters = unix:mailtriage/mailtriaged.sock: mailtriaged records the mail for
#     support@site.test during the SMTP session, and Postfix delivers it as usual;
#   - the master.cf pipe transport for sales@site.test: mailtriage-pipe records it.
# The milter socket, its directory and group, and the daemon's user are those of
# contrib/mailtriaged.service and contrib/mailtriage.conf.sample. It sends the messages of
# contrib/demo/ with swaks, waits for the workers, prints the queue, the mail that left and one
# reply, and exits 0 only if every message was recorded and processed and the expected replies
# and escalations left; otherwise it says what did not happen and exits 1.
#
# MAILTRIAGE_LLM_URL, MAILTRIAGE_LLM_MODEL and MAILTRIAGE_LLM_KEY_FILE select an
# OpenAI-compatible server; without them the builtin keyword classifier answers.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
bindir=/usr/local/sbin
datadir=/usr/local/share/mailtriage
dir=/var/tmp/mailtriage-demo
port=2525
while [ $# -gt 0 ]; do
	case "$1" in
	--bindir) bindir=${2:?}; shift 2 ;;
	--datadir) datadir=${2:?}; shift 2 ;;
	--dir) dir=${2:?}; shift 2 ;;
	--port) port=${2:?}; shift 2 ;;
	*) echo "usage: $0 [--bindir DIR] [--datadir DIR] [--dir DIR] [--port PORT]" >&2; exit 64 ;;
	esac
done

fail() {
	echo >&2
	echo "demo FAILED: $*" >&2
	if [ -s "$dir/mailtriaged.log" ]; then
		echo "--- the last lines of $dir/mailtriaged.log:" >&2
		tail -n 15 "$dir/mailtriaged.log" >&2
	fi
	echo "Everything is kept in $dir (configuration, database, logs, postfix/maillog)." >&2
	exit 1
}

[ "$(id -u)" = 0 ] || { echo "$0: run as root (it starts a private Postfix)" >&2; exit 1; }
for program in mailtriaged mailtriage-pipe mailtriagectl; do
	[ -x "$bindir/$program" ] || fail "$bindir/$program is not installed"
done
for tool in swaks setpriv sqlite3 /usr/sbin/postfix; do
	command -v "$tool" >/dev/null || fail "$tool is missing (quickstart.sh demo installs it)"
done

# shellcheck source=../tests/e2e/postfix-env.sh
. "$SRC/tests/e2e/postfix-env.sh"
PF_DIR=$dir/postfix PF_PORT=$port PF_PIPE_USER=mailtriage PF_MONITORED=sales@site.test
PF_CHROOT=debian PF_MILTER=unix:mailtriage/mailtriaged.sock
# shellcheck disable=SC2016 # Postfix expands these
PF_PIPE_ARGV="$bindir/mailtriage-pipe -c $dir/mailtriage.conf -q \${queue_id} -f \${sender} -- \${recipient}"
export PF_DIR PF_PORT PF_PIPE_USER PF_MONITORED PF_CHROOT PF_MILTER PF_PIPE_ARGV

# A demo left running by an earlier run.
if [ -s "$dir/mailtriaged.pid" ]; then kill -TERM "$(cat "$dir/mailtriaged.pid")" 2>/dev/null; fi
if [ -d "$PF_DIR/etc" ]; then pf_stop >/dev/null 2>&1; fi
rm -rf "$dir"
mkdir -p "$dir/db" "$PF_DIR" || fail "cannot create $dir"
chmod 755 "$dir"

# The setup README gives: the user, its database directory, and the user postfix in the
# socket's group.
id mailtriage >/dev/null 2>&1 ||
	useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mailtriage ||
	fail "cannot create the user mailtriage"
id -nG postfix | grep -qw mailtriage || usermod -a -G mailtriage postfix ||
	fail "cannot add the user postfix to the group mailtriage"
install -d -o mailtriage -g mailtriage -m 0750 "$dir/db"
pf_setup || fail "cannot set up the demo Postfix"
# What the systemd unit's ExecStartPre does, in this instance's queue directory.
install -d -o mailtriage -g mailtriage -m 0750 "$PF_DIR/spool/mailtriage"

provider=builtin
[ -n "${MAILTRIAGE_LLM_URL:-}" ] && provider=openai
sed -e "s|^database = .*|database = $dir/db/mailtriage.db|" \
	-e "s|^socket = .*|socket = unix:$PF_DIR/spool/mailtriage/mailtriaged.sock|" \
	-e "s|^provider = builtin|provider = $provider|" \
	-e "s|^path = /usr/sbin/sendmail|path = $(pf_sendmail_path)|" \
	-e "s|/usr/local/share/mailtriage|$datadir|" \
	-e "s|support@example.org|support@site.test|; s|helpdesk@example.org|helpdesk@site.test|" \
	-e "s|^name = Example Support|name = Site Support|; s|^signature = Example Support|signature = Site Support|" \
	"$datadir/mailtriage.conf.sample" > "$dir/mailtriage.conf" || fail "cannot write the configuration"
cat >> "$dir/mailtriage.conf" <<EOF

# Added by the demo: a second mailbox, delivered through the master.cf pipe transport.
[mailbox sales@site.test]
name = Site Sales
intents = send_info, create_account, speak_to_human, unknown
escalate_to = sales-team@site.test
# Only the pipe transport records it; the milter, which sees it too, leaves it alone.
intake = pipe
EOF
if [ "$provider" = openai ]; then
	sed -i -e "/^provider = openai/a url = $MAILTRIAGE_LLM_URL" \
		-e "/^provider = openai/a model = ${MAILTRIAGE_LLM_MODEL:-llama3.1:8b}" "$dir/mailtriage.conf"
	if [ -n "${MAILTRIAGE_LLM_KEY_FILE:-}" ]; then
		sed -i "/^provider = openai/a api_key_file = $MAILTRIAGE_LLM_KEY_FILE" "$dir/mailtriage.conf"
	fi
fi
as_mailtriage() { setpriv --reuid=mailtriage --regid=mailtriage --init-groups -- "$@"; }
ctl() { as_mailtriage "$bindir/mailtriagectl" -c "$dir/mailtriage.conf" "$@"; }
sql() { as_mailtriage sqlite3 -cmd ".timeout 5000" "$dir/db/mailtriage.db" "$@"; }

echo "== checking the configuration as the unit does (mailtriaged -n, as mailtriage)"
as_mailtriage "$bindir/mailtriaged" -n -c "$dir/mailtriage.conf" || fail "mailtriaged -n refused the configuration"
pf_start || fail "the demo Postfix did not start"

echo "== starting mailtriaged as the user mailtriage (provider $provider)"
# As systemd starts it: its own user, that user's groups, the socket in the queue directory.
setpriv --reuid=mailtriage --regid=mailtriage --init-groups -- \
	"$bindir/mailtriaged" -f -c "$dir/mailtriage.conf" >"$dir/mailtriaged.log" 2>&1 &
daemon=$!
echo "$daemon" > "$dir/mailtriaged.pid"
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null; pf_stop >/dev/null 2>&1' EXIT
socket=$PF_DIR/spool/mailtriage/mailtriaged.sock
for _ in $(seq 1 50); do
	[ -S "$socket" ] && grep -q "workers started" "$dir/mailtriaged.log" && break
	kill -0 "$daemon" 2>/dev/null || break
	sleep 0.2
done
kill -0 "$daemon" 2>/dev/null || { wait "$daemon"; fail "mailtriaged is not running (it exited with status $?)"; }
[ -S "$socket" ] || fail "mailtriaged runs but its milter socket $socket is missing"

echo "== sending the sample messages through Postfix on 127.0.0.1:$port"
sent=0
for message in "$SRC"/contrib/demo/*.eml; do
	from=$(sed -n 's/^From: .*<\(.*\)>.*/\1/p' "$message" | head -n 1)
	to=$(sed -n 's/^To: *//p' "$message" | head -n 1)
	case "$message" in
	*bounce*) from="" ;;
	*newsletter*) from="bounces@shop.customer.test" ;;
	esac
	case "$to" in sales@*) path="pipe transport" ;; *) path="milter" ;; esac
	printf '   %-24s from <%s> to <%s> (%s)\n' "$(basename "$message")" "$from" "$to" "$path"
	pf_send "$from" "$to" "$message" || fail "Postfix did not accept $(basename "$message")"
	sent=$((sent + 1))
done

echo "== waiting for the workers"
recorded=0 processed=0
for _ in $(seq 1 300); do
	recorded=$(sql "SELECT count(*) FROM messages" 2>/dev/null || echo 0)
	processed=$(sql "SELECT count(*) FROM messages WHERE state IN ('done', 'failed')" 2>/dev/null || echo 0)
	[ "$recorded" -ge "$sent" ] && [ "$processed" -ge "$recorded" ] && break
	kill -0 "$daemon" 2>/dev/null || break
	sleep 0.3
done
pf_wait_queue_empty 30 >/dev/null 2>&1

echo; echo "== mailtriagectl list"
ctl list
echo; echo "== mail that left (delivered by the demo Postfix)"
replies=0 escalations=0 reply=""
for file in "$PF_DIR"/capture/*/*.eml; do
	[ -e "$file" ] || continue
	# Ours carry the loop marker; the rest is the mail Postfix delivered to the mailbox itself.
	grep -qi '^X-Mailtriage-Loop:' "$file" || continue
	auto=$(grep -m1 -i '^Auto-Submitted:' "$file")
	case "$auto" in
	*auto-replied*) kind=reply; replies=$((replies + 1)); [ -n "$reply" ] || reply=$file ;;
	*auto-generated*) kind=escalation; escalations=$((escalations + 1)) ;;
	*) continue ;;
	esac
	printf '   %-10s to %-30s %s\n' "$kind" "$(basename "$(dirname "$file")")" "$(grep -m1 '^Subject:' "$file")"
done
if [ -n "$reply" ]; then
	echo; echo "== the first automatic reply, as it was delivered (its header, and its text part decoded)"
	python3 - "$reply" <<'PY' | sed 's/^/   | /'
import email, email.policy, sys
with open(sys.argv[1], "rb") as f:
    message = email.message_from_binary_file(f, policy=email.policy.default)
for name, value in message.items():
    print(f"{name}: {value}")
print()
part = message.get_body(preferencelist=("plain",))
print(part.get_content() if part is not None else "(no text/plain part)")
PY
fi
echo; echo "== one summary line per message, from the daemon's log"
grep -E 'status=(sent|skipped|deferred|failed)' "$dir/mailtriaged.log" | sed 's/^/   /'

milter_rows=$(sql "SELECT count(*) FROM messages WHERE intake = 'milter'" 2>/dev/null || echo 0)
pipe_rows=$(sql "SELECT count(*) FROM messages WHERE intake = 'pipe'" 2>/dev/null || echo 0)
done_rows=$(sql "SELECT count(*) FROM messages WHERE state = 'done'" 2>/dev/null || echo 0)
echo
echo "sent $sent messages: $milter_rows recorded by the milter, $pipe_rows by the pipe transport;" \
	"$done_rows processed; $replies replies and $escalations escalations left"
kill -0 "$daemon" 2>/dev/null || fail "mailtriaged stopped during the demo"
[ "$milter_rows" -ge 1 ] || fail "the milter recorded nothing (is Postfix reaching $socket? see $PF_DIR/maillog)"
[ "$pipe_rows" -ge 1 ] || fail "the pipe transport recorded nothing (see $PF_DIR/maillog)"
[ "$recorded" -ge "$sent" ] || fail "only $recorded of the $sent messages were recorded"
[ "$done_rows" -ge "$sent" ] || fail "only $done_rows of the $sent messages were processed (mailtriagectl list says why)"
# With the keyword classifier the outcome is known; a real model may sort the mail otherwise,
# but every message from a person must still get a reply or an escalation.
if [ "$provider" = builtin ]; then want_replies=3 want_escalations=3; else want_replies=1 want_escalations=1; fi
[ "$replies" -ge "$want_replies" ] || fail "$replies replies left, $want_replies expected"
[ "$escalations" -ge "$want_escalations" ] || fail "$escalations escalations left, $want_escalations expected"
[ $((replies + escalations)) -ge 6 ] || fail "only $((replies + escalations)) of the 6 messages from people were answered or escalated"
echo "demo passed. Everything is in $dir: the configuration, the database, mailtriaged.log, postfix/maillog."
echo "Look closer with: setpriv --reuid=mailtriage --regid=mailtriage --init-groups -- $bindir/mailtriagectl -c $dir/mailtriage.conf show ID"
