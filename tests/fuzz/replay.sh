#!/bin/bash
# The fuzz targets' stored inputs in every build: each target's replay program (fuzz.h) runs
# its seed corpus and every input that once crashed (tests/fuzz/corpus/TARGET), and the mail
# parsers also the mail test data (tests/data/mime, tests/data/hostile), through the same code
# libFuzzer drives, under this build's sanitizers. One TAP line per target. FUZZ_REPLAY_WRAPPER
# (make check-valgrind sets it to valgrind and its options) runs each replay under a tool.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/../..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
n=0 failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for target in mime compose llm_answer config addr template dsn; do
	dirs=("$src/tests/fuzz/corpus/$target")
	case $target in
	mime | compose) dirs+=("$src/tests/data/mime" "$src/tests/data/hostile") ;;
	esac
	n=$((n + 1))
	# shellcheck disable=SC2086 # the wrapper is a command and its options
	if ${FUZZ_REPLAY_WRAPPER:-} "$build/tests/fuzz/${target}_replay" "${dirs[@]}" > "$tmp/$target.out" 2> "$tmp/$target.err"; then
		echo "ok $n - fuzz target $target: $(wc -l < "$tmp/$target.out") stored inputs"
	else
		failed=$((failed + 1))
		echo "not ok $n - fuzz target $target: an input broke it: $(tail -n 1 "$tmp/$target.out")"
		tail -n 30 "$tmp/$target.err" | sed 's/^/# /'
	fi
done
echo "1..$n"
[ "$failed" = 0 ]
