#!/bin/bash
# The bottom layer (DESIGN.md section 8) knows nothing about triage: each of its modules
# includes, of our headers, only those of the bottom layer itself. A module that needs the
# configuration, the store or a policy belongs higher up.
set -u
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
bottom="log db http inject template text addr clock markers"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

for module in $bottom; do
	bad=""
	for file in "$src/lib/$module.c" "$src/lib/$module.h"; do
		for header in $(sed -n 's/^#include "\([^"]*\)\.h".*/\1/p' "$file"); do
			case " $bottom " in
			*" $header "*) ;;
			*) bad="$bad $(basename "$file"):$header.h" ;;
			esac
		done
	done
	if [ -z "$bad" ]; then ok "lib/$module includes only bottom-layer headers"; else
		not_ok "lib/$module includes headers above the bottom layer:$bad"; fi
done
echo "1..$n"
[ "$failed" = 0 ]
