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
#                                         and `make distcheck`; then build again with clang
#                                         (whose UBSan checks more) and run them all there,
#                                         run the libFuzzer targets (`make fuzz`), and run the
#                                         unit tests under valgrind in a build without the
#                                         sanitizers; each build in its own directory (_build-*);
#                                         ends with "N passed, N failed, N skipped" over all.
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

# time (GNU time) measures the peak memory of mailtriage-pipe in `make bench`.
PACKAGES="autoconf automake make gcc pkg-config libgmime-3.0-dev libglib2.0-dev
libcurl4-openssl-dev libjson-c-dev libsqlite3-dev sqlite3 libmilter-dev miltertest
postfix swaks python3 ca-certificates util-linux passwd systemd time"
# check also builds with clang (its sanitizers and libFuzzer) and runs valgrind.
CHECK_PACKAGES="clang libclang-rt-14-dev valgrind"
# What the clang build runs: everything but the suites that start a Postfix.
CLANG_TESTS='$(UNIT_TESTS) fuzz/replay.sh config_docs.sh doc_snippets.sh config_check.sh layers.sh programs.sh llm_failures.sh drafts.sh ctl.sh summary.sh privacy.sh hostile.sh fake-llm/selftest.sh milter/scenarios.sh conversations.sh knowledge.sh shadow.sh webhook.sh redact.sh grounding.sh compose.sh'

install_packages() {
	echo "== installing Debian packages"
	export DEBIAN_FRONTEND=noninteractive
	echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections 2>/dev/null
	echo "postfix postfix/mailname string localhost" | debconf-set-selections 2>/dev/null
	apt-get update -q >/dev/null || { echo "apt-get update failed" >&2; exit 1; }
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $PACKAGES ${1:-} >/tmp/mailtriage-apt.log 2>&1 || {
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

# The totals over every step of check, and how long each step took.
passed=0 failed=0 skipped=0 check_failed=0
step_start() { echo "== $*"; step_began=$SECONDS; }
step_end() { echo "== took $((SECONDS - step_began)) s"; }
# tally LOG STATUS: add an automake test-suite.log's counts; a failed make with no failed test
# counts as one failure.
tally() {
	local p f e s
	p=$(count PASS "$1"); f=$(count FAIL "$1"); e=$(count ERROR "$1"); s=$(count SKIP "$1")
	f=$(( ${f:-0} + ${e:-0} ))
	if [ "$2" != 0 ] && [ "$f" = 0 ]; then f=1; fi
	if [ "$2" != 0 ]; then sed -n '/^FAIL\|^ERROR/,+0p' "$1" 2>/dev/null | head -40; check_failed=1; fi
	passed=$((passed + ${p:-0})); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
}
# one NAME STATUS: a step that is one test.
one() {
	if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "$1 passed"
	else failed=$((failed + 1)); check_failed=1; echo "$1 failed"; fi
}

# configure_in DIR ARGS...: configure the source tree into DIR and build there. Out-of-tree
# builds need a source tree that is not configured itself.
configure_in() {
	local dir=$1; shift
	rm -rf "$dir" && mkdir -p "$dir" || exit 1
	(cd "$dir" && "$SRC/configure" -q --prefix=/usr/local --sysconfdir=/etc --localstatedir=/var "$@" &&
		make -s -j"$(nproc)" >/dev/null) || { echo "the build in $dir failed"; return 1; }
}

run_check() {
	install_packages "$CHECK_PACKAGES"
	export MAILTRIAGE_E2E_REQUIRED=1
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:print_summary=1
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 1; }
	[ ! -f config.status ] || make -s distclean >/dev/null 2>&1

	step_start "gcc build with the sanitizers (_build-gcc), make check: unit, miltertest and Postfix end-to-end tests"
	if configure_in _build-gcc --enable-werror --enable-asan; then
		make -s -C _build-gcc check
		tally _build-gcc/tests/test-suite.log $?
	else one "the gcc build" 1; fi
	step_end

	step_start "make distcheck"
	make -s -C _build-gcc distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-werror" >/tmp/mailtriage-distcheck.log 2>&1
	local status=$?
	[ "$status" = 0 ] || { tail -40 /tmp/mailtriage-distcheck.log; echo "log: /tmp/mailtriage-distcheck.log"; }
	one "make distcheck" "$status"
	step_end

	# clang's UBSan checks what gcc's does not (arithmetic on a null pointer): the unit tests,
	# the fuzz replays and the tests without Postfix again (the Postfix suites ran under gcc's
	# sanitizers above; running them twice would double CI's time).
	step_start "clang build with the sanitizers and the fuzz targets (_build-clang), make check without Postfix"
	if configure_in _build-clang CC=clang --enable-werror --enable-asan --enable-fuzz; then
		make -s -C _build-clang check TESTS="$CLANG_TESTS"
		tally _build-clang/tests/test-suite.log $?
	else one "the clang build" 1; fi
	step_end

	step_start "make fuzz (libFuzzer, clang)"
	make -s -C _build-clang fuzz >/tmp/mailtriage-fuzz.log 2>&1
	status=$?
	grep '^fuzz ' /tmp/mailtriage-fuzz.log
	passed=$((passed + $(grep -c '^fuzz .*no crash' /tmp/mailtriage-fuzz.log)))
	failed=$((failed + $(grep -c '^fuzz .*FAILED' /tmp/mailtriage-fuzz.log)))
	if [ "$status" != 0 ]; then
		check_failed=1
		grep -q '^fuzz .*FAILED' /tmp/mailtriage-fuzz.log || { tail -20 /tmp/mailtriage-fuzz.log; failed=$((failed + 1)); }
	fi
	step_end

	step_start "valgrind: the unit tests and the fuzz replays in a build without the sanitizers (_build-valgrind)"
	if configure_in _build-valgrind --enable-werror; then
		make -s -C _build-valgrind check-valgrind >/dev/null 2>&1
		tally _build-valgrind/tests/test-suite.log $?
	else one "the valgrind build" 1; fi
	step_end

	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$check_failed" = 0 ]
}

run_demo() {
	install_packages
	build
	make -s install >/dev/null || { echo "make install failed" >&2; exit 1; }
	exec "$SRC/contrib/demo.sh"
}

if [ "$mode" = check ]; then run_check; else run_demo; fi
