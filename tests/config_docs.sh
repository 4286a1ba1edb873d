#!/bin/bash
# The key table, mailtriage.conf(5) and contrib/mailtriage.conf.sample must agree: the man
# page's KEYS block is exactly what `mailtriagectl config man` prints, every key of the table
# appears in the sample (set or commented) and the sample has no key the table lacks, and
# the sample (with its template paths pointed at the source tree) loads.
set -u
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
build=${top_builddir:-$src}
ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$ctl" config man > "$tmp/keys.roff"
sed -n '/^\.\\" BEGIN KEYS/,/^\.\\" END KEYS/p' "$src/lib/mailtriage.conf.5" | sed '1d;$d' > "$tmp/man.roff"
if [ -s "$tmp/keys.roff" ] && cmp -s "$tmp/keys.roff" "$tmp/man.roff"; then
	ok "mailtriage.conf.5 KEYS block equals the key table (make update-man regenerates it)"
else
	not_ok "mailtriage.conf.5 KEYS block differs from the key table: run make update-man"
	diff "$tmp/keys.roff" "$tmp/man.roff" | head -20 | sed 's/^/# /'
fi

# group/key pairs: of the table (from config defaults) and of the sample.
pairs() {
	awk '/^\[/ { g = $1; sub(/^\[/, "", g); sub(/\]$/, "", g); next }
	     /^#?[a-z_]+ =( |$)/ { k = $1; sub(/^#/, "", k); print g "/" k }' "$1" | sort -u
}
"$ctl" config defaults > "$tmp/defaults.conf"
pairs "$tmp/defaults.conf" > "$tmp/table.keys"
pairs "$src/contrib/mailtriage.conf.sample" > "$tmp/sample.keys"
missing=$(comm -23 "$tmp/table.keys" "$tmp/sample.keys")
extra=$(comm -13 "$tmp/table.keys" "$tmp/sample.keys")
if [ -z "$missing" ]; then ok "every key of the table is in the sample config"; else
	not_ok "keys missing from contrib/mailtriage.conf.sample: $(echo $missing)"; fi
if [ -z "$extra" ]; then ok "the sample config has no key the table lacks"; else
	not_ok "keys in the sample that the table does not know: $(echo $extra)"; fi
if [ "$(wc -l < "$tmp/table.keys")" -ge 30 ]; then ok "the table lists the keys ($(wc -l < "$tmp/table.keys"))"; else
	not_ok "the key table looks empty"; fi

sed "s|/usr/local/share/mailtriage/templates|$src/contrib/templates|" "$src/contrib/mailtriage.conf.sample" > "$tmp/sample.conf"
# config show loads the file and its templates; config check would also want this machine to
# have the sample's database directory and users.
if out=$("$ctl" -c "$tmp/sample.conf" config show 2>&1 >/dev/null); then ok "the sample config loads, templates too"; else
	not_ok "the sample config does not load: $out"; fi
if "$ctl" -c "$tmp/defaults.conf" config check >/dev/null 2>&1; then
	not_ok "config defaults alone (no mailbox) should not pass check"
else ok "a file without any mailbox is refused"; fi
echo "1..$n"
[ "$failed" = 0 ]
