#!/bin/bash
# The knowledge base through the real programs: mailtriagectl knowledge reindex, list and search
# (tables, --json, exit statuses), config check of the paths, and mailtriaged indexing at start
# and on SIGUSR1. The database is made by mailtriage-pipe; the documents are the example of
# contrib/knowledge and files written here. lib/core/knowledge.c's cases are in
# tests/unit/knowledge_test.c.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe ctl=$build/ctl/mailtriagectl daemon=$build/milter/mailtriaged
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
daemon_pid=
trap '[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
# wait_until SECONDS COMMAND...: a bounded wait for the command to succeed.
wait_until() {
	local end=$((SECONDS + $1)); shift
	while [ "$SECONDS" -lt "$end" ]; do "$@" && return 0; sleep 0.2; done
	"$@"
}
json_ok() { python3 -c 'import json, sys; json.load(sys.stdin)'; }
# json_get EXPRESSION: of the JSON object x on stdin; a tuple prints its items with spaces.
json_get() { python3 -c "import json, sys; x = json.load(sys.stdin); v = ($1); print(*(v if isinstance(v, tuple) else (v,)))"; }

mkdir "$tmp/kb" "$tmp/sales"
cp "$src/contrib/knowledge/faq.md" "$src/contrib/knowledge/prices.md" "$tmp/kb/"
cp "$src/contrib/knowledge/prices.md" "$tmp/sales/"
printf '%%PDF-1.4 not knowledge\n' > "$tmp/kb/manual.pdf"
printf '#!/bin/sh\ncat > /dev/null\n' > "$tmp/sendmail"
chmod +x "$tmp/sendmail"
conf() { # DATABASE MAX_KNOWLEDGE_CHARS [SUPPORT-KNOWLEDGE]
	cat <<EOF
[daemon]
database = $1
busy_timeout = 1s
socket =
workers = 1
[sendmail]
path = $tmp/sendmail
[llm]
max_knowledge_chars = $2
[mailbox support@site.test]
escalate_to = human@site.test
knowledge = ${3:-$tmp/kb}
[mailbox sales@site.test]
escalate_to = human@site.test
knowledge = $tmp/sales
[mailbox info@site.test]
escalate_to = human@site.test
EOF
}
conf "$tmp/mt.db" 1500 > "$tmp/mt.conf"
conf "$tmp/mt.db" 8000 > "$tmp/whole.conf"
conf "$tmp/missing.db" 1500 > "$tmp/missing.conf"
kctl() { "$ctl" -c "$tmp/mt.conf" knowledge "$@"; }

# ---- a missing database, then one made by the pipe ----
"$ctl" -c "$tmp/missing.conf" knowledge reindex >/dev/null 2>&1
check "reindex: a missing database exits 66" test $? = 66
check "reindex: and is not created" test ! -e "$tmp/missing.db"
"$ctl" -c "$tmp/missing.conf" knowledge list >/dev/null 2>&1
check "list: a missing database exits 66" test $? = 66
printf 'From: ann@customer.test\nSubject: hello\nMessage-ID: <k1@customer.test>\n\nhi\n' |
	"$pipe" -c "$tmp/mt.conf" -f ann@customer.test -- info@site.test
check "the pipe made the database" test -s "$tmp/mt.db"

out=$(kctl list 2>&1); status=$?
check "list before any indexing: exit 0, says so" test "$status" = 0 -a -n "$(grep 'no knowledge indexed' <<<"$out")"

# ---- reindex ----
out=$(kctl reindex 2>&1); status=$?
check "reindex: exit 0" test "$status" = 0
check "reindex: a line per file indexed" test "$(grep -c ': indexed, [0-9]* passages, [0-9]* characters$' <<<"$out")" = 3
check "reindex: the .pdf is left out" test -z "$(grep manual.pdf <<<"$out")"
check "reindex: the summary" grep -qx "knowledge: 3 file(s): 3 indexed, 0 unchanged, 0 unreadable, 0 removed" <<<"$out"
out=$(kctl reindex 2>&1)
check "reindex again: nothing changed" test "$out" = "knowledge: 3 file(s): 0 indexed, 3 unchanged, 0 unreadable, 0 removed"
out=$(kctl reindex --json); status=$?
check "reindex --json: valid JSON" json_ok <<<"$out"
check "reindex --json: the counts" test "$(json_get "x['files'], x['unchanged'], x['changes']" <<<"$out")" = "3 3 []"

# ---- list ----
out=$(kctl list)
check "list: a header and a row per file" test "$(grep -c "^support@site.test \|^sales@site.test " <<<"$out")" = 3
check "list: passages and the path" grep -q "^support@site.test  *[1-9][0-9]*  *[1-9][0-9]* 20[0-9-]* [0-9:]* $tmp/kb/faq.md$" <<<"$out"
out=$(kctl list --mailbox SALES@site.test)
check "list --mailbox: only that mailbox (any case)" test "$(grep -c '^sales@site.test ' <<<"$out"):$(grep -c '^support' <<<"$out")" = "1:0"
out=$(kctl list --json)
check "list --json: valid JSON" json_ok <<<"$out"
columns() { python3 -c '
import json, sys
rows = json.load(sys.stdin)
keys = {"mailbox", "path", "position", "passages", "chars", "size", "mtime_ns", "sha256", "indexed_at", "warning", "error"}
print(len(rows), all(set(r) == keys and r["passages"] > 0 and len(r["sha256"]) == 64 for r in rows))'; }
check "list --json: every file with its columns" test "$(columns <<<"$out")" = "3 True"

# ---- search ----
out=$(kctl search --mailbox support@site.test what does the pro plan cost for a team of five 2>&1); status=$?
check "search: exit 0" test "$status" = 0
check "search: the totals against max_knowledge_chars" grep -q "^support@site.test: [0-9]* passages, [0-9]* characters; max_knowledge_chars 1500$" <<<"$out"
check "search: the best matches go, within the maximum" grep -q "^the best matches go: [0-9]* sources, [0-9]* of 1500 characters$" <<<"$out"
check "search: the first source is the Pro plan, with its score" grep -q "^\[1\] [0-9]*\.[0-9][0-9] *$tmp/kb/prices.md  Site Test: plans and prices > Plans > Pro plan$" <<<"$out"
check "search: the first line of its text" grep -qx "    29 EUR per user and month. Up to five shops, unlimited products, phone and" <<<"$out"
out=$("$ctl" -c "$tmp/whole.conf" knowledge search --mailbox support@site.test Сколько стоит 2>&1)
check "search: a small knowledge base goes whole, whatever the language" grep -q "^the whole knowledge base goes, in document order: [0-9]* sources, [0-9]* of 8000 characters$" <<<"$out"
check "search: whole, without scores, FAQ first" grep -q "^\[1\] -  *$tmp/kb/faq.md  Site Test: frequently asked questions$" <<<"$out"
out=$(kctl search quantum chromodynamics 2>"$tmp/err")
check "search without --mailbox: the first mailbox with knowledge" grep -q "^support@site.test: " <<<"$out"
check "search without --mailbox: says which, and to choose" grep -q "support@site.test, the first of 2 mailboxes with knowledge (choose one with --mailbox)" "$tmp/err"
check "search: nothing matches" grep -qx "no passage matches the text: the model gets no knowledge" <<<"$out"
out=$(kctl search --mailbox support@site.test --json 'Rabatt für Schulen? "*:^()- AND OR NEAR(' education)
check "search --json: valid JSON even for FTS5 syntax" json_ok <<<"$out"
check "search --json: sources with number, score and heading" test "$(json_get "x['sources'][0]['number'], x['sources'][0]['score'] > 0, x['sources'][0]['heading'], x['whole']" <<<"$out")" = "1 True Site Test: plans and prices > Discounts > Education and non-profit False"
out=$("$ctl" -c "$tmp/mt.conf" --json knowledge search --mailbox info@site.test prices)
check "search: a mailbox without knowledge gets none" test "$(json_get "x['total_passages'], x['sources']" <<<"$out")" = "0 []"

# ---- bad usage ----
kctl search >/dev/null 2>&1; check "search without TEXT exits 64" test $? = 64
kctl search --mailbox nobody@site.test price >/dev/null 2>"$tmp/err"; status=$?
check "search --mailbox of no mailbox exits 64, saying why" test "$status:$(grep -c 'nobody@site.test is not a mailbox' "$tmp/err")" = "64:1"
kctl list extra >/dev/null 2>&1; check "list with an argument exits 64" test $? = 64
kctl reindex --mailbox x >/dev/null 2>&1; check "reindex takes no --mailbox: 64" test $? = 64
kctl bogus >/dev/null 2>&1; check "an unknown knowledge command exits 64" test $? = 64
"$ctl" -c "$tmp/mt.conf" knowledge >/dev/null 2>&1; check "knowledge without a command exits 64" test $? = 64
out=$("$ctl" knowledge --help)
check "knowledge --help lists list, search and reindex" test "$(grep -cE '^  knowledge (list|search TEXT...|reindex) ' <<<"$out")" = 3
out=$("$ctl" help knowledge search)
check "help knowledge search: its --mailbox" grep -q -- "--mailbox=ADDRESS" <<<"$out"
printf '[mailbox a@site.test]\nescalate_to = h@site.test\n[daemon]\ndatabase = %s\n' "$tmp/mt.db" > "$tmp/none.conf"
"$ctl" -c "$tmp/none.conf" knowledge search price >/dev/null 2>"$tmp/err"; status=$?
check "search with no mailbox that has knowledge: exit 1, saying so" test "$status:$(grep -c 'no mailbox of .* has knowledge' "$tmp/err")" = "1:1"

# ---- an unreadable file keeps its passages; a removed one goes ----
before=$(kctl list --json --mailbox support@site.test | json_get "x[1]['passages']")
printf 'bin\0ary' > "$tmp/kb/prices.md"
out=$(kctl reindex); status=$?
check "reindex with an unreadable file exits 1" test "$status" = 1
check "reindex: says why, and that its passages stay" grep -qx "support@site.test $tmp/kb/prices.md: cannot be read: not a text file: it holds NUL bytes (binary, or UTF-16); $before passages of its last version stay" <<<"$out"
out=$(kctl list --mailbox support@site.test)
check "list: the error under the file" grep -q "^    error: not a text file: it holds NUL bytes" <<<"$out"
check "list: the passages stay" test "$(kctl list --json --mailbox support@site.test | json_get "x[1]['passages']")" = "$before"
rm "$tmp/kb/prices.md"
out=$(kctl reindex)
check "reindex: a file gone from the directory is removed" grep -qx "support@site.test $tmp/kb/prices.md: no longer configured; its $before passages are removed" <<<"$out"

# ---- config check ----
conf "$tmp/mt.db" 1500 "$tmp/kb, $tmp/nothere.md" > "$tmp/check.conf"
out=$("$ctl" -c "$tmp/check.conf" config check 2>&1); status=$?
check "config check: a missing knowledge path is a warning (exit 0)" test "$status" = 0
check "config check: naming the mailbox and the key" grep -q "warning: \[mailbox support@site.test\] knowledge: $tmp/nothere.md does not exist" <<<"$out"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 755 "$tmp"
	chmod 700 "$tmp/sales"
	sed 's/^\[daemon\]/[daemon]\nuser = nobody/' "$tmp/check.conf" > "$tmp/nobody.conf"
	out=$("$ctl" -c "$tmp/nobody.conf" config check 2>&1)
	check "config check: a directory the user cannot read" grep -q "warning: \[mailbox sales@site.test\] knowledge: directory $tmp/sales is not readable by nobody" <<<"$out"
	chmod 755 "$tmp/sales"
else
	ok "config check for another user # SKIP needs root"
fi

# ---- mailtriaged indexes at start and on reload ----
cp "$src/contrib/knowledge/prices.md" "$tmp/kb/prices.md"
"$daemon" -f -c "$tmp/mt.conf" 2> "$tmp/daemon.log" &
daemon_pid=$!
check "mailtriaged: indexes at start, a line per file and the summary" wait_until 20 grep -q "knowledge: 3 file(s): 1 indexed, 2 unchanged, 0 unreadable, 0 removed" "$tmp/daemon.log"
check "mailtriaged: the file indexed is logged" grep -q "support@site.test $tmp/kb/prices.md: indexed, " "$tmp/daemon.log"
printf '# Opening hours\n\nWe now open on Saturdays, 9:00 to 12:00.\n' > "$tmp/kb/hours.md"
kill -USR1 "$daemon_pid"
check "mailtriaged: on SIGUSR1, the new file is indexed" wait_until 20 grep -q "support@site.test $tmp/kb/hours.md: indexed, 1 passages" "$tmp/daemon.log"
out=$(kctl search --mailbox support@site.test are you open on saturdays)
check "search: the new fact is found" grep -q "^\[1\] .*$tmp/kb/hours.md  Opening hours$" <<<"$out"
kill "$daemon_pid"
wait "$daemon_pid"
check "mailtriaged: stopped cleanly" test $? = 0
daemon_pid=
echo "1..$n"
[ "$failed" = 0 ]
