#!/bin/bash
# tests/e2e/postfix-selftest.sh - exercise tests/e2e/postfix-env.sh with a
# dummy pipe command.  Prints TAP; exit 0 on success, 1 on failure, 77 = skip.

if [ "$(id -u)" -ne 0 ]; then echo "1..0 # SKIP must run as root"; exit 77; fi
if [ ! -x /usr/sbin/postfix ]; then echo "1..0 # SKIP /usr/sbin/postfix not installed"; exit 77; fi
if ! command -v swaks >/dev/null 2>&1; then echo "1..0 # SKIP swaks not installed"; exit 77; fi

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=postfix-env.sh
. "$here/postfix-env.sh"

PF_DIR=$(mktemp -d /tmp/pftest.XXXXXX) || exit 1
chmod 755 "$PF_DIR"
# A free port, so that a Postfix left running elsewhere (the demo uses 2525) does not collide.
PF_PORT=${PF_SELFTEST_PORT:-}
for _ in $(seq 1 50); do
	[ -n "$PF_PORT" ] && break
	candidate=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-), where bind can fail
	(exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null || PF_PORT=$candidate
done
PF_PIPE_USER=${PF_PIPE_USER:-mailtriage}
PF_MONITORED="support@site.test sales@site.test"
# shellcheck disable=SC2016  # Postfix macros, expanded by pipe(8)
PF_PIPE_ARGV="$PF_DIR/bin/fakepipe -f \${sender} -- \${recipient}"
unset PF_MILTER

# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
	pf_stop
	[ -n "${PF_KEEP:-}" ] || rm -rf "$PF_DIR"
}
trap cleanup EXIT

N=13
echo "1..$N"
k=0 failed=0
ok()  { k=$((k + 1)); echo "ok $k - $1"; }
nok() { k=$((k + 1)); echo "not ok $k - $1"; failed=$((failed + 1)); shift; for l in "$@"; do printf '# %s\n' "$l"; done; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
bail() {
	echo "# maillog:"; pf_log | tail -n 40 | sed 's/^/#   /'
	echo "Bail out! $1"; exit 1
}

# fake mailtriage-pipe: records argv and stdin in $PF_DIR/fakepipe/<unique>.msg
mkdir -p "$PF_DIR/bin" "$PF_DIR/fakepipe"
cat >"$PF_DIR/bin/fakepipe" <<EOF
#!/bin/sh
umask 022
d='$PF_DIR/fakepipe'
tmp=\$(mktemp "\$d/.tmp.XXXXXX") || exit 75
{ echo "argc=\$#"; for a in "\$@"; do printf 'arg=[%s]\n' "\$a"; done; echo; cat; } >"\$tmp" || exit 75
chmod 644 "\$tmp"
mv "\$tmp" "\$d/\$(date +%s%N).\$\$.msg" || exit 75
EOF
chmod 755 "$PF_DIR/bin/fakepipe"

mkmsg() { # FROM TO SUBJECT
	printf 'From: %s\nTo: %s\nSubject: %s\nDate: %s\nMessage-ID: <%s.%s@customer.test>\n\nHello,\nthis is %s.\n.dot line\n' \
		"$1" "$2" "$3" "$(date -R)" "$RANDOM$RANDOM" "$$" "$3" >"$PF_DIR/msg.$3"
	printf '%s\n' "$PF_DIR/msg.$3"
}
fakepipe_files() { find "$PF_DIR/fakepipe" -maxdepth 1 -name '*.msg' | LC_ALL=C sort; }
wait_fakepipe() { # N
	for _ in $(seq 1 200); do
		[ "$(fakepipe_files | wc -l)" -ge "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
# the fakepipe record whose body has Subject: $1
fakepipe_for() { fakepipe_files | xargs -r grep -l "^Subject: $1\$" 2>/dev/null | head -n 1; }

t0=$SECONDS

# 1-2: setup and start
if pf_setup; then ok "pf_setup"; else nok "pf_setup"; bail "setup failed"; fi
chown "$PF_PIPE_USER:" "$PF_DIR/fakepipe"
if pf_start; then ok "pf_start (220 banner on 127.0.0.1:$PF_PORT)"; else nok "pf_start"; bail "start failed"; fi

# 3: monitored address -> fake pipe, argv = -f SENDER -- ONE-RECIPIENT
m=$(mkmsg alice@customer.test support@site.test t-monitored)
pf_send alice@customer.test support@site.test "$m" || nok "swaks to monitored failed"
if wait_fakepipe 1 && f=$(fakepipe_for t-monitored) && [ -n "$f" ] &&
	[ "$(sed -n '1,5p' "$f")" = "$(printf 'argc=4\narg=[-f]\narg=[alice@customer.test]\narg=[--]\narg=[support@site.test]')" ] &&
	grep -q '^Return-Path: <alice@customer.test>' "$f" && grep -q '^\.dot line$' "$f"; then
	ok "monitored address reaches the mailtriage pipe with -f sender -- recipient"
else
	nok "monitored address reaches the mailtriage pipe" "$(head -n 8 "$(fakepipe_files | head -n1)" 2>/dev/null)"
fi

# 4-5: other site.test address and the outside world -> capture
m=$(mkmsg alice@customer.test human@site.test t-human)
pf_send alice@customer.test human@site.test "$m"
m=$(mkmsg support@site.test bob@customer.test t-bob)
pf_send support@site.test bob@customer.test "$m"
if pf_wait_captured human@site.test 1 20 && c=$(pf_captured human@site.test) &&
	[ "$(echo "$c" | wc -l)" -eq 1 ] && head -n 1 "$c" | grep -q '^Return-Path: <alice@customer.test>' &&
	grep -q '^Subject: t-human$' "$c"; then
	ok "human@site.test captured, with Return-Path"
else nok "human@site.test captured"; fi
if pf_wait_captured BOB@customer.test 1 20 && c=$(pf_captured bob@customer.test) &&
	head -n 1 "$c" | grep -q '^Return-Path: <support@site.test>' && grep -q '^Subject: t-bob$' "$c"; then
	ok "bob@customer.test captured, with Return-Path"
else nok "bob@customer.test captured"; fi

# 6: null sender -> empty sender argument
m=$(mkmsg MAILER-DAEMON@customer.test support@site.test t-null)
pf_send "" support@site.test "$m"
if wait_fakepipe 2 && f=$(fakepipe_for t-null) && [ -n "$f" ] &&
	[ "$(sed -n '1,5p' "$f")" = "$(printf 'argc=4\narg=[-f]\narg=[]\narg=[--]\narg=[support@site.test]')" ] &&
	grep -q '^Return-Path: <>' "$f"; then
	ok "null sender arrives as an empty -f argument"
else nok "null sender arrives as an empty -f argument" "$(head -n 8 "$f" 2>/dev/null)"; fi

# 7: two monitored recipients in one transaction -> two pipe runs, one recipient each
m=$(mkmsg alice@customer.test support@site.test t-two)
timeout 60 swaks --silent 2 --server 127.0.0.1 --port "$PF_PORT" --helo client.customer.test \
	--from alice@customer.test --to support@site.test,sales@site.test --data "@$m" --timeout 30
if wait_fakepipe 4 && files=$(fakepipe_files | xargs -r grep -l '^Subject: t-two$') &&
	[ "$(echo "$files" | wc -l)" -eq 2 ] &&
	[ "$(for f in $files; do sed -n 5p "$f"; done | sort | tr '\n' ' ')" = "arg=[sales@site.test] arg=[support@site.test] " ] &&
	! echo "$files" | xargs grep -l '^argc=[^4]' >/dev/null; then
	ok "two recipients -> two pipe runs with exactly one recipient each"
else nok "two recipients -> two pipe runs with one recipient each"; fi

# 8-9: sendmail wrapper run by the pipe user, null sender as '' and '<>'
sm=$(pf_sendmail_path)
m=$(mkmsg support@site.test carol@customer.test t-carol)
if [ -x "$sm" ] && (cd / && runuser -u "$PF_PIPE_USER" -- "$sm" -i -f '' -- carol@customer.test <"$m") &&
	pf_wait_captured carol@customer.test 1 20 && c=$(pf_captured carol@customer.test) &&
	head -n 1 "$c" | grep -q '^Return-Path: <>' && grep -q '^Subject: t-carol$' "$c" && grep -q '^\.dot line$' "$c"; then
	ok "sendmail wrapper as $PF_PIPE_USER with -f '' delivers to the capture"
else nok "sendmail wrapper as $PF_PIPE_USER with -f ''"; fi
m=$(mkmsg support@site.test dave@customer.test t-dave)
if (cd / && runuser -u "$PF_PIPE_USER" -- "$sm" -i -f '<>' -- dave@customer.test <"$m") &&
	pf_wait_captured dave@customer.test 1 20 && c=$(pf_captured dave@customer.test) &&
	head -n 1 "$c" | grep -q '^Return-Path: <>'; then
	ok "sendmail wrapper with -f '<>' gives the null sender"
else nok "sendmail wrapper with -f '<>'"; fi

# 10: queue drains
check "pf_wait_queue_empty" pf_wait_queue_empty 20

# 11: config dir registered exactly once in the default main.cf
n=$(postconf -c /etc/postfix -h alternate_config_directories | tr -s ', ' '\n' | grep -cxF "$PF_DIR/etc")
if [ "$n" -eq 1 ]; then ok "alternate_config_directories lists $PF_DIR/etc once"
else nok "alternate_config_directories lists $PF_DIR/etc once (found $n)"; fi

# 12-13: stop; nothing of this instance remains; second stop is harmless
mpid=$(_pf_master_pid)
pf_stop
left=""
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/exe" 2>/dev/null)" = /usr/lib/postfix/sbin/master ] || continue
	tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -qxF "MAIL_CONFIG=$PF_DIR/etc" && left="$left ${p#/proc/}"
done
if [ -n "$mpid" ] && ! kill -0 "$mpid" 2>/dev/null && [ -z "$left" ] && [ -z "$(_pf_master_pid)" ]; then
	ok "pf_stop stops master (was pid $mpid)"
else nok "pf_stop stops master" "master pid '$mpid', left:$left"; fi
check "pf_stop again is a no-op" pf_stop

[ "$k" -eq "$N" ] || { echo "# ran $k tests, planned $N"; failed=$((failed + 1)); }
echo "# elapsed $((SECONDS - t0))s"
if [ "$failed" -ne 0 ]; then
	echo "# maillog tail:"; pf_log | tail -n 40 | sed 's/^/#   /'
	exit 1
fi
exit 0
