#!/bin/sh
# run.sh SRCDIR TARGET:RUNS...: `make fuzz`. Run each libFuzzer target (fuzz/TARGET_fuzz,
# built by configure CC=clang --enable-fuzz) for RUNS inputs (FUZZ_RUNS, when set, for every
# target), starting from its seeds (fuzz/corpus/TARGET, and the mail test data for the mail
# parsers). What libFuzzer adds to the corpus goes to fuzz-work/TARGET, never into the source
# tree; a crash or a broken contract leaves its input in fuzz-work/TARGET-crash-* and fails the
# run. Copy such an input into fuzz/corpus/TARGET (under a name that says what it broke) once
# it is fixed: fuzz/replay.sh then runs it in every `make check`.
set -u
srcdir=$1
shift
failed=0
mkdir -p fuzz-work
for spec in "$@"; do
	target=${spec%%:*}
	runs=${FUZZ_RUNS:-${spec#*:}}
	seeds="$srcdir/fuzz/corpus/$target"
	case $target in
	mime | compose) seeds="$seeds $srcdir/data/mime $srcdir/data/hostile" ;;
	esac
	mkdir -p "fuzz-work/$target"
	log=fuzz-work/$target.log
	start=$(date +%s)
	# shellcheck disable=SC2086 # the seed directories are separate words
	./fuzz/"$target"_fuzz -runs="$runs" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="fuzz-work/$target-" "fuzz-work/$target" $seeds > "$log" 2>&1
	status=$?
	seconds=$(($(date +%s) - start))
	corpus=$(find "fuzz-work/$target" -type f | wc -l)
	if [ "$status" = 0 ]; then
		echo "fuzz $target: $runs runs in $seconds s, no crash ($corpus new inputs in fuzz-work/$target)"
	else
		echo "fuzz $target: FAILED (exit $status after $seconds s); the end of $log:"
		tail -n 40 "$log"
		failed=$((failed + 1))
	fi
done
[ "$failed" = 0 ]
