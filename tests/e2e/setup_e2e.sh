#!/bin/bash
# The shipped setup, followed to the letter on a stock Debian layout: the systemd unit, the
# sample configuration and the main.cf snippet agree on the milter socket, its directory, its
# group and the daemon's user; systemd-analyze accepts the unit and scores its sandboxing; and
# a Postfix whose smtpd runs chrooted (Debian's default) reaches the socket that the unit's
# ExecStartPre prepares, as the unprivileged daemon creates it, only while the user postfix is
# a member of the group mailtriage.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
command -v systemd-analyze >/dev/null || {
	if [ "${MAILTRIAGE_E2E_REQUIRED:-0}" = 1 ]; then echo "1..1"; echo "not ok 1 - systemd-analyze is not installed"; exit 1; fi
	echo "1..0 # SKIP systemd-analyze is not installed"; exit 77
}
unit_in=$MT_SRC/contrib/mailtriaged.service.in
sample=$MT_SRC/contrib/mailtriage.conf.sample
snippet=$MT_SRC/contrib/postfix/main.cf.snippet

# --- 1. The unit, the sample and the snippet agree -----------------------------------------
unit_value() { sed -n "s/^$1=//p" "$unit_in"; }
sample_value() { awk -v g="[$1]" -v k="$2" '/^\[/ { in_g = ($0 == g); next }
	in_g && $1 == k && $2 == "=" { sub(/^[^=]*= */, ""); print; exit }' "$sample"; }
socket=$(sample_value daemon socket)
socket_path=${socket#unix:}
socket_dir=$(dirname "$socket_path")
prepare=$(unit_value ExecStartPre | grep '^+/usr/bin/install ')
check "the sample's socket is a unix socket in Postfix's queue directory ($socket)" \
	bash -c "[[ '$socket' == unix:/var/spool/postfix/* ]]"
check "the unit's ExecStartPre creates the socket's directory as mailtriage:mailtriage 0750" \
	test "$prepare" = "+/usr/bin/install -d -o mailtriage -g mailtriage -m 0750 $socket_dir"
check "the unit's ReadWritePaths include the socket's directory" \
	bash -c "unit_rw=\$(sed -n 's/^ReadWritePaths=//p' '$unit_in'); [[ \" \$unit_rw \" == *' $socket_dir '* ]]"
check "the unit runs as the sample's [daemon] user ($(sample_value daemon user))" \
	test "$(unit_value User)" = "$(sample_value daemon user)" -a "$(unit_value Group)" = mailtriage
check "the sample leaves socket_group to the daemon's group (the user postfix joins it)" \
	bash -c "! grep -q '^socket_group = .' '$sample'"
check "the snippet's smtpd_milters is the socket relative to the queue directory" \
	grep -qx "smtpd_milters = unix:${socket_path#/var/spool/postfix/}" "$snippet"
db_dir=$(dirname "$(sample_value daemon database)")
check "the unit's StateDirectory is the sample database's directory ($db_dir)" \
	test "/var/lib/$(unit_value StateDirectory)" = "$db_dir"

# --- 2. systemd-analyze ------------------------------------------------------------------
tmp=$(mktemp -d /tmp/mt-unit.XXXXXX)
sed -e "s|@sbindir@|$MT_BUILD/milter|g" -e "s|@sysconfdir@|/etc|g" \
	-e "s|@systemdsystemunitdir@|$tmp|g" "$unit_in" > "$tmp/mailtriaged.service"
if out=$(systemd-analyze verify --man=no "$tmp/mailtriaged.service" 2>&1) && [ -z "$out" ]; then
	ok "systemd-analyze verify accepts the unit"
else
	not_ok "systemd-analyze verify: $out"
fi
security=$(systemd-analyze security --offline=true "$tmp/mailtriaged.service" 2>&1)
score=$(printf '%s\n' "$security" | sed -n 's/.*Overall exposure level for mailtriaged.service: \([0-9.]*\).*/\1/p')
echo "# systemd-analyze security --offline=true: exposure ${score:-?} (0 safest, 10 most exposed)"
check "systemd-analyze security scores the unit at 2.5 or better (${score:-none})" \
	awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.5) }'
rm -rf "$tmp"

# --- 3. Debian's chrooted smtpd reaches the socket ----------------------------------------
export PF_CHROOT=debian
MT_PF_MILTER="unix:${socket_path#/var/spool/postfix/}"
MT_MONITORED="pipe-only@site.test" # support@site.test is delivered to its mailbox (the capture)
# Start with the user postfix outside the group, to see that the group is what lets it in.
# (The membership is restored below: it is the documented setup.) The demo test changes the
# same membership: one at a time, also under make -j.
exec {group_lock}>/run/lock/mailtriage-e2e-postfix-group.lock
flock -w 300 "$group_lock"
gpasswd -d postfix mailtriage >/dev/null 2>&1
mt_setup || { echo "1..$MT_TESTS"; not_ok "setup"; exit 1; }
spool=$PF_DIR/spool
check "smtpd runs chrooted in this instance (master.cf chroot column y)" \
	grep -Eq '^127\.0\.0\.1:[0-9]+ +inet +n +- +y ' "$PF_DIR/etc/master.cf"
# The unit's ExecStartPre, in this instance's queue directory.
prepare_here=${prepare#+}
prepare_here=${prepare_here/$socket_dir/$spool/mailtriage}
check "the unit's ExecStartPre runs ($prepare_here)" $prepare_here
MT_SOCKET="unix:$spool/mailtriage/mailtriaged.sock"
mt_write_config "openai" "http://127.0.0.1:$MT_LLM_PORT/v1" "$MT_SENDMAIL"
check "mailtriaged -n accepts the configuration as the user mailtriage" \
	bash -c "setpriv --reuid=mailtriage --regid=mailtriage --clear-groups -- '$MT_DIR/bin/mailtriaged' -n -c '$MT_DIR/mailtriage.conf' >/dev/null"
mt_start_daemon || not_ok "mailtriaged starts as mailtriage with the unix socket"
sock=$spool/mailtriage/mailtriaged.sock
wait_until 10 test -S "$sock"
check "the socket is mailtriage:mailtriage, mode 0660" \
	test "$(stat -c '%U:%G %a' "$sock" 2>/dev/null)" = "mailtriage:mailtriage 660"
check "the daemon runs as mailtriage, not root" \
	test "$(awk '/^Uid:/ { print $3 }' "/proc/$MT_DAEMON_PID/status" 2>/dev/null)" = "$(id -u mailtriage)"
check "the daemon does not warn about running as root" bash -c "! grep -q 'running as root' '$MT_DIR/daemon.log'"

rows() { mt_sql "SELECT count(*) FROM messages WHERE intake = 'milter'"; }
message() {
	printf 'From: Ann <ann@customer.test>\nTo: support@site.test\nSubject: %s\nMessage-ID: <%s@customer.test>\n\nWhat do your plans cost?\n' "$1" "$1"
}
message setup-denied | pf_send ann@customer.test support@site.test -
wait_until 20 grep -q "connect to Milter service unix:mailtriage/mailtriaged.sock: Permission denied" "$PF_DIR/maillog"
check "without the group, the chrooted smtpd is refused by the socket (Permission denied)" \
	grep -q "connect to Milter service unix:mailtriage/mailtriaged.sock: Permission denied" "$PF_DIR/maillog"
check "without the group, nothing is recorded" test "$(rows)" = 0

usermod -a -G mailtriage postfix
postfix -c "$PF_DIR/etc" reload >/dev/null 2>&1 # new smtpd processes, with the new group
sleep 1
message setup-allowed | pf_send ann@customer.test support@site.test -
wait_until 20 test "$(rows)" -ge 1
check "as a member of the group mailtriage, the chrooted smtpd reaches the milter: recorded" test "$(rows)" = 1
done_rows() { mt_sql "SELECT count(*) FROM messages WHERE state = 'done'"; }
wait_until 20 test "$(done_rows)" = 1
check "the recorded message is processed by the unprivileged workers" test "$(done_rows)" = 1
check "and answered through Postfix's sendmail" pf_wait_captured ann@customer.test 1 20
mt_stop_daemon
check "the daemon stops cleanly on SIGTERM" test $? = 0
flock -u "$group_lock"

# --- 4. Started as root with no user, the daemon says so loudly -------------------------
sed -i -e 's/^socket = .*/socket =/' "$MT_DIR/mailtriage.conf"
timeout 20 "$MT_DIR/bin/mailtriaged" -f -c "$MT_DIR/mailtriage.conf" >"$MT_DIR/root.log" 2>&1 &
root_pid=$!
wait_until 10 grep -q "workers started" "$MT_DIR/root.log"
kill -TERM "$root_pid" 2>/dev/null
wait "$root_pid" 2>/dev/null
check "started as root without [daemon] user, the daemon warns that it runs as root" \
	grep -q "warning: running as root" "$MT_DIR/root.log"
mt_done
