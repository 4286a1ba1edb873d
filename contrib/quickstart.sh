#!/bin/bash
# quickstart.sh: install what mailtriage needs on Debian 12, build it, and run either the demo
# or the whole test suite. Run as root from the source tree:
#
#   sudo ./contrib/quickstart.sh demo    build, install, and run contrib/demo.sh: sample mail
#                                         through a private Postfix on 127.0.0.1 (the milter
#                                         and the pipe transport); shows the queue, the replies
#                                         and the escalations, and exits non-zero when they did
#                                         not happen. MAILTRIAGE_LLM_URL and MAILTRIAGE_LLM_MODEL
#                                         (and MAILTRIAGE_LLM_KEY_FILE) select an
#                                         OpenAI-compatible LLM; without them the builtin
#                                         keyword classifier answers.
#   sudo ./contrib/quickstart.sh check   build with warnings as errors and with AddressSanitizer
#                                         and UndefinedBehaviorSanitizer, run `make check`
#                                         (unit tests, miltertest and Postfix end-to-end tests)
#                                         and `make distcheck`; ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 1
SRC=$(pwd)
mode=${1:-}
case "$mode" in
demo | check) ;;
*) echo "usage: $0 demo|check" >&2; exit 64 ;;
esac
if [ "$(id -u)" != 0 ]; then
	echo "$0: run as root (it installs packages and starts a private Postfix)" >&2
	exit 1
fi

PACKAGES="autoconf automake make gcc pkg-config libgmime-3.0-dev libglib2.0-dev
libcurl4-openssl-dev libjson-c-dev libsqlite3-dev sqlite3 libmilter-dev miltertest
postfix swaks python3 ca-certificates util-linux passwd systemd"

install_packages() {
	echo "== installing Debian packages"
	export DEBIAN_FRONTEND=noninteractive
	echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections 2>/dev/null
	echo "postfix postfix/mailname string localhost" | debconf-set-selections 2>/dev/null
	apt-get update -q >/dev/null || { echo "apt-get update failed" >&2; exit 1; }
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $PACKAGES >/tmp/mailtriage-apt.log 2>&1 || {
		tail -20 /tmp/mailtriage-apt.log >&2; echo "apt-get install failed" >&2; exit 1; }
	# The demo and the tests run their own Postfix instances; the default one stays off.
	[ -f /etc/postfix/main.cf ] || cp /usr/share/postfix/main.cf.debian /etc/postfix/main.cf
}

build() {
	echo "== building ($*)"
	autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 1; }
	./configure -q --prefix=/usr/local --sysconfdir=/etc --localstatedir=/var "$@" || exit 1
	make -s -j"$(nproc)" >/dev/null || { make; exit 1; }
}

# The counts of an automake test-suite.log.
count() { sed -n "s/^# $1: *//p" "$2" | head -n 1; }

run_check() {
	install_packages
	build --enable-werror --enable-asan
	echo "== make check (unit, miltertest and Postfix end-to-end tests; sanitizers on)"
	export MAILTRIAGE_E2E_REQUIRED=1
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:print_summary=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	make -s check
	local check_status=$?
	local log=tests/test-suite.log
	local passed failed skipped errors
	passed=$(count PASS "$log"); failed=$(count FAIL "$log"); skipped=$(count SKIP "$log")
	errors=$(count ERROR "$log")
	failed=$(( ${failed:-0} + ${errors:-0} ))
	if [ "$check_status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
	if [ "$check_status" != 0 ]; then
		sed -n '/^FAIL\|^ERROR/,+0p' "$log" | head -40
	fi
	echo "== make distcheck"
	local distcheck_status=0
	if ! make -s distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-werror" >/tmp/mailtriage-distcheck.log 2>&1; then
		tail -40 /tmp/mailtriage-distcheck.log
		echo "make distcheck failed (log: /tmp/mailtriage-distcheck.log)"
		distcheck_status=1
		failed=$((failed + 1))
	else
		passed=$((${passed:-0} + 1))
		echo "make distcheck passed"
	fi
	echo "${passed:-0} passed, $failed failed, ${skipped:-0} skipped"
	[ "$check_status" = 0 ] && [ "$distcheck_status" = 0 ]
}

run_demo() {
	install_packages
	build
	make -s install >/dev/null || { echo "make install failed" >&2; exit 1; }
	exec "$SRC/contrib/demo.sh"
}

if [ "$mode" = check ]; then run_check; else run_demo; fi
