# shellcheck shell=bash
# tests/e2e/mt-env.sh - the mailtriage end-to-end environment: a temp directory with
# copies of the built programs, a configuration, the fake LLM server, a private Postfix
# (tests/e2e/postfix-env.sh) routing the monitored mailboxes through the mailtriage pipe
# transport, and mailtriaged running as the unprivileged user. Source it from bash; it
# prints TAP through ok/not_ok and cleans everything up on exit.
#
# Needs root (Postfix, setpriv) and the Debian packages postfix, swaks, python3, sqlite3.
# Without them a test prints "1..0 # SKIP" and exits 77, unless MAILTRIAGE_E2E_REQUIRED=1
# (CI), which turns that into a failure.

set -u
MT_SRC=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MT_BUILD=${top_builddir:-$MT_SRC}
MT_USER=mailtriage
MT_TESTS=0
MT_FAILED=0

# shellcheck source=postfix-env.sh
. "$MT_SRC/tests/e2e/postfix-env.sh"

mt_skip_unless_ready() {
	local why=""
	if [ "$(id -u)" != 0 ]; then why="must run as root"
	elif [ ! -x /usr/sbin/postfix ]; then why="postfix is not installed"
	elif ! command -v swaks >/dev/null; then why="swaks is not installed"
	elif ! command -v python3 >/dev/null; then why="python3 is not installed"
	elif ! command -v sqlite3 >/dev/null; then why="sqlite3 is not installed"
	fi
	[ -z "$why" ] && return 0
	if [ "${MAILTRIAGE_E2E_REQUIRED:-0}" = 1 ]; then
		echo "1..1"; echo "not ok 1 - end-to-end test cannot run: $why"; exit 1
	fi
	echo "1..0 # SKIP $why"; exit 77
}

ok() { MT_TESTS=$((MT_TESTS + 1)); echo "ok $MT_TESTS - $*"; }
not_ok() { MT_TESTS=$((MT_TESTS + 1)); MT_FAILED=$((MT_FAILED + 1)); echo "not ok $MT_TESTS - $*"; }
# check NAME COMMAND...: one TAP line from a command's status.
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}
mt_done() {
	echo "1..$MT_TESTS"
	[ "$MT_FAILED" = 0 ]
}

# wait_until SECONDS COMMAND...: bounded wait for a command to succeed.
wait_until() {
	local limit=$1; shift
	local end=$((SECONDS + limit))
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

mt_free_port() {
	local port
	for _ in $(seq 1 50); do
		port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-), where bind can fail
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
	done
	return 1
}

# mt_setup: temp dir, programs, fake LLM, config, Postfix. MT_MONITORED may be set first.
mt_setup() {
	MT_DIR=$(mktemp -d /tmp/mt-e2e.XXXXXX)
	chmod 755 "$MT_DIR"
	trap mt_cleanup EXIT
	id "$MT_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$MT_USER"
	mkdir -p "$MT_DIR/bin" "$MT_DIR/db" "$MT_DIR/llm"
	cp "$MT_BUILD/pipe/mailtriage-pipe" "$MT_BUILD/milter/mailtriaged" "$MT_BUILD/ctl/mailtriagectl" "$MT_DIR/bin/"
	cp -r "$MT_SRC/contrib/templates" "$MT_DIR/templates"
	chown "$MT_USER" "$MT_DIR/db"
	echo "sk-test-e2e-secret" > "$MT_DIR/llm.key"
	chown "$MT_USER" "$MT_DIR/llm.key"; chmod 600 "$MT_DIR/llm.key"

	python3 "$MT_SRC/tests/fake-llm/fake_llm.py" --port-file "$MT_DIR/llm/port" \
		--log "$MT_DIR/llm/requests.log" --pid-file "$MT_DIR/llm/pid" 2>"$MT_DIR/llm/stderr" &
	wait_until 10 test -s "$MT_DIR/llm/port" || { echo "# fake LLM did not start"; return 1; }
	MT_LLM_PORT=$(cat "$MT_DIR/llm/port")

	PF_DIR=$MT_DIR/postfix
	PF_PORT=$(mt_free_port)
	PF_PIPE_USER=$MT_USER
	PF_MONITORED=${MT_MONITORED:-support@site.test}
	PF_MILTER=${MT_PF_MILTER:-}
	# shellcheck disable=SC2016 # Postfix expands these, not the shell
	PF_PIPE_ARGV="$MT_DIR/bin/mailtriage-pipe -c $MT_DIR/mailtriage.conf -q \${queue_id} -f \${sender} -- \${recipient}"
	mkdir -p "$PF_DIR"
	pf_setup || return 1
	MT_SENDMAIL=$(pf_sendmail_path)
	mt_write_config "openai" "http://127.0.0.1:$MT_LLM_PORT/v1" "$MT_SENDMAIL"
	pf_start || return 1
}

# mt_write_config PROVIDER URL SENDMAIL: (re)write the configuration.
mt_write_config() {
	cat > "$MT_DIR/mailtriage.conf.new" <<CONF
[daemon]
database = $MT_DIR/db/mailtriage.db
workers = 2
log_level = debug
hostname = mt.site.test
socket = ${MT_SOCKET:-}
add_header = ${MT_ADD_HEADER:-no}
max_message_size = 64k
busy_timeout = ${MT_BUSY_TIMEOUT:-2s}
retry_base = 1s
retry_max = 2s
max_attempts = 5
lease_time = 1m
poll_interval = 1s
${MT_DAEMON_EXTRA:-}

[llm]
provider = $1
url = $2
model = fake-model
api_key_file = $MT_DIR/llm.key
timeout = 10s
max_attempts = 2

[sendmail]
path = $3
timeout = 30s

[mailbox support@site.test]
name = Site Support
escalate_to = human@site.test
intents = send_info, create_account, speak_to_human, unknown

[intent send_info]
action = reply
template = $MT_DIR/templates/send_info.txt
template_html = $MT_DIR/templates/send_info.html

[intent create_account]
action = reply
template = $MT_DIR/templates/create_account.txt
${MT_EXTRA_CONF:-}
CONF
	mv "$MT_DIR/mailtriage.conf.new" "$MT_DIR/mailtriage.conf"
}

# as_user COMMAND...: run as the unprivileged user. setpriv execs the command itself (runuser
# would stay in between, swallow SIGHUP and kill the child 2 s after SIGTERM).
as_user() { setpriv --reuid="$MT_USER" --regid="$MT_USER" --clear-groups -- "$@"; }

mt_start_daemon() {
	: >>"$MT_DIR/daemon.log"
	# Not through the as_user function: $! must be the daemon itself, to signal it.
	setpriv --reuid="$MT_USER" --regid="$MT_USER" --clear-groups -- "$MT_DIR/bin/mailtriaged" -f -c "$MT_DIR/mailtriage.conf" \
		>>"$MT_DIR/daemon.log" 2>&1 &
	MT_DAEMON_PID=$!
	wait_until 10 grep -q "workers started" "$MT_DIR/daemon.log"
}

# mt_stop_daemon: SIGTERM and a bounded wait; its exit status is returned.
mt_stop_daemon() {
	[ -n "${MT_DAEMON_PID:-}" ] || return 0
	kill -TERM "$MT_DAEMON_PID" 2>/dev/null
	local status=0
	for _ in $(seq 1 150); do
		kill -0 "$MT_DAEMON_PID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$MT_DAEMON_PID" 2>/dev/null; then
		kill -KILL "$MT_DAEMON_PID"; status=1
	fi
	wait "$MT_DAEMON_PID" || status=$?
	MT_DAEMON_PID=
	return "$status"
}

mtctl() { as_user "$MT_DIR/bin/mailtriagectl" -c "$MT_DIR/mailtriage.conf" "$@"; }
mt_sql() { as_user sqlite3 -cmd ".timeout 5000" "$MT_DIR/db/mailtriage.db" "$@"; }

# mt_state ID: the queue state of message ID.
mt_state() { mt_sql "SELECT state FROM messages WHERE id = '${1:-0}'"; }
# mt_id_of MESSAGE_ID: the row id of the message with that Message-ID.
mt_id_of() { mt_sql "SELECT id FROM messages WHERE message_id = '$1' ORDER BY id LIMIT 1"; }
mt_is_done() { [ "$(mt_state "$(mt_id_of "$1")")" = done ]; }

# mt_send FROM RCPT FILE through Postfix.
mt_send() { pf_send "$1" "$2" "$3"; }

mt_cleanup() {
	local status=$?
	mt_stop_daemon >/dev/null 2>&1
	pf_stop >/dev/null 2>&1
	if [ -s "$MT_DIR/llm/pid" ]; then kill "$(cat "$MT_DIR/llm/pid")" 2>/dev/null; fi
	wait 2>/dev/null
	if [ "$MT_FAILED" != 0 ] || [ "$status" != 0 ]; then
		echo "# kept for inspection: $MT_DIR"
		echo "# --- daemon log (tail) ---"; tail -n 40 "$MT_DIR/daemon.log" 2>/dev/null | sed 's/^/# /'
		echo "# --- postfix log (tail) ---"; tail -n 20 "$PF_DIR/maillog" 2>/dev/null | sed 's/^/# /'
	else
		rm -rf "$MT_DIR"
	fi
}
