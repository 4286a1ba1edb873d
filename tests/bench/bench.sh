#!/bin/bash
# tests/bench/bench.sh BUILDDIR SRCDIR: the benchmark behind `make bench` (tests/bench/README).
#
# Sets up what bench.py measures with, in a fresh directory under /tmp: copies of the built
# programs and of the bench tools, a private Postfix on 127.0.0.1 (tests/e2e/postfix-env.sh)
# with four SMTP listeners (no milter; the accept-only milter; mailtriaged with the LLM at 1 s;
# mailtriaged with the LLM at 0 ms), the mailtriage pipe(8) transport, and the fake LLM server
# without its request log. Then runs bench.py, which prints the table and writes
# BUILDDIR/bench-results.json. Everything it started is stopped on exit, whatever happens;
# the directory is removed after a run that measured everything, kept (and named) otherwise.
#
# Exit status: 0 when every figure was measured (whether or not it met its target: the bench
# never asserts timings), 1 when something could not be measured, 64 for bad usage.
set -u
if [ $# -ne 2 ]; then
	echo "usage: bench.sh BUILDDIR SRCDIR" >&2
	exit 64
fi
BENCH_BUILD=$(cd "$1" && pwd) || exit 64
BENCH_SRC=$(cd "$2" && pwd) || exit 64
export BENCH_BUILD BENCH_SRC

fail() {
	echo "bench: FAILED: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || fail "run as root: it starts a private Postfix and runs mailtriage as the user mailtriage"
for tool in /usr/sbin/postfix /usr/sbin/smtp-source /usr/bin/time python3 sqlite3 setpriv; do
	command -v "$tool" >/dev/null || fail "$tool is missing (contrib/quickstart.sh installs it)"
done
# A sanitizer build runs several times slower: its figures would say nothing.
sanitized=
if grep -q '^SANITIZE_CFLAGS = .*-fsanitize' "$BENCH_BUILD/Makefile" 2>/dev/null ||
	ldd "$BENCH_BUILD/milter/mailtriaged" 2>/dev/null | grep -q -e libasan -e libubsan; then
	sanitized=yes
fi
if [ -n "$sanitized" ] && [ "${MAILTRIAGE_BENCH_SANITIZED:-0}" != 1 ]; then
	fail "the programs were built with sanitizers (--enable-asan or --enable-fuzz), which make them several times slower; configure without them (./configure --enable-werror, the default CFLAGS -O2) and make bench again (MAILTRIAGE_BENCH_SANITIZED=1 measures anyway)"
fi
export BENCH_SANITIZED=${sanitized:-no}
for program in milter/mailtriaged pipe/mailtriage-pipe ctl/mailtriagectl tests/bench/accept_milter \
	tests/bench/sink_sendmail tests/bench/fill_queue tests/bench/llm_load; do
	[ -x "$BENCH_BUILD/$program" ] || fail "$BENCH_BUILD/$program is not built"
done


# shellcheck source=../e2e/postfix-env.sh
. "$BENCH_SRC/tests/e2e/postfix-env.sh"

BENCH_DIR=$(mktemp -d /tmp/mt-bench.XXXXXX) || fail "mktemp"
chmod 755 "$BENCH_DIR"
export BENCH_DIR
LLM_PID=
BENCH_OK=0

cleanup() {
	# bench.py stops its own processes; these are the ones it may have left behind if killed.
	local pid
	for pid in $(cat "$BENCH_DIR"/pids/* 2>/dev/null); do
		kill -TERM "$pid" 2>/dev/null
	done
	pf_stop >/dev/null 2>&1
	[ -n "$LLM_PID" ] && kill "$LLM_PID" 2>/dev/null
	sleep 1
	for pid in $(cat "$BENCH_DIR"/pids/* 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$BENCH_OK" = 1 ]; then
		rm -rf "$BENCH_DIR"
	else
		echo "bench: kept for inspection: $BENCH_DIR" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port VAR: set VAR to a free TCP port on 127.0.0.1 below the ephemeral range (as
# tests/e2e/mt-env.sh), one not handed out before (nothing listens on them yet).
BENCH_PORTS=
free_port() {
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 12000))
		case " $BENCH_PORTS " in *" $port "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			BENCH_PORTS="$BENCH_PORTS $port"
			printf -v "$1" '%s' "$port"
			return 0
		fi
	done
	fail "no free port"
}

id mailtriage >/dev/null 2>&1 ||
	useradd --system --no-create-home --shell /usr/sbin/nologin mailtriage ||
	fail "cannot create the user mailtriage"
mkdir -p "$BENCH_DIR/bin" "$BENCH_DIR/db" "$BENCH_DIR/pids" "$BENCH_DIR/llm" "$BENCH_DIR/work" || fail "mkdir"
for program in milter/mailtriaged pipe/mailtriage-pipe ctl/mailtriagectl tests/bench/accept_milter \
	tests/bench/sink_sendmail tests/bench/fill_queue tests/bench/llm_load; do
	cp "$BENCH_BUILD/$program" "$BENCH_DIR/bin/" || fail "cannot copy $program"
done
chown mailtriage: "$BENCH_DIR/db" "$BENCH_DIR/work" || fail "chown"

python3 "$BENCH_SRC/tests/fake-llm/fake_llm.py" --port-file "$BENCH_DIR/llm/port" \
	--pid-file "$BENCH_DIR/llm/pid" 2>"$BENCH_DIR/llm/stderr" &
LLM_PID=$!
for _ in $(seq 1 100); do
	[ -s "$BENCH_DIR/llm/port" ] && break
	sleep 0.1
done
[ -s "$BENCH_DIR/llm/port" ] || fail "the fake LLM server did not start: $(cat "$BENCH_DIR/llm/stderr")"
BENCH_LLM_PORT=$(cat "$BENCH_DIR/llm/port")

# Postfix: the default listener has no milter; three more have one each. The monitored
# mailbox support@site.test is delivered to discard: (cheap: Postfix's delivery side must not
# dominate); pipe@site.test goes to the mailtriage pipe transport (maxproc 10).
PF_DIR=$BENCH_DIR/postfix
free_port PF_PORT
PF_PIPE_USER=mailtriage
PF_MONITORED=pipe@site.test
# shellcheck disable=SC2016 # Postfix expands these, not the shell
PF_PIPE_ARGV="$BENCH_DIR/bin/mailtriage-pipe -c $BENCH_DIR/pipe.conf -q \${queue_id} -f \${sender} -- \${recipient}"
mkdir -p "$PF_DIR"
BENCH_SMTP_PLAIN=$PF_PORT
for var in BENCH_SMTP_ACCEPT BENCH_SMTP_SLOW BENCH_SMTP_FAST BENCH_MILTER_ACCEPT \
	BENCH_MILTER_SLOW BENCH_MILTER_FAST; do
	free_port "$var"
done
export BENCH_LLM_PORT BENCH_SMTP_PLAIN BENCH_SMTP_ACCEPT BENCH_SMTP_SLOW BENCH_SMTP_FAST \
	BENCH_MILTER_ACCEPT BENCH_MILTER_SLOW BENCH_MILTER_FAST PF_DIR

pf_setup || fail "Postfix setup (tests/e2e/postfix-env.sh) failed"
{
	printf 'support@site.test\tdiscard:bench\n'
	cat "$PF_DIR/etc/transport"
} >"$PF_DIR/etc/transport.new" && mv "$PF_DIR/etc/transport.new" "$PF_DIR/etc/transport" || fail "transport"
postconf -c "$PF_DIR/etc" -e "milter_default_action = accept" "milter_protocol = 6" \
	"message_size_limit = 40000000" "smtpd_client_connection_count_limit = 0" \
	"smtpd_client_message_rate_limit = 0" || fail "postconf"
for pair in "$BENCH_SMTP_ACCEPT:$BENCH_MILTER_ACCEPT" "$BENCH_SMTP_SLOW:$BENCH_MILTER_SLOW" \
	"$BENCH_SMTP_FAST:$BENCH_MILTER_FAST"; do
	printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_milters=inet:127.0.0.1:%s\n' \
		"${pair%%:*}" "${pair##*:}" >>"$PF_DIR/etc/master.cf"
done
postfix -c "$PF_DIR/etc" check || fail "postfix check"
pf_start || fail "Postfix did not start"

# -B: no __pycache__ in the source tree (bench.py imports benchlib.py).
python3 -B "$BENCH_SRC/tests/bench/bench.py"
status=$?
[ "$status" = 0 ] && BENCH_OK=1
exit "$status"
