#!/bin/bash
# `mailtriaged -n` and `mailtriagectl config check` check the file and what it points at, and
# say every problem on a line of its own (lib/core/config_check.c has the cases of each check; this
# is how the two programs report them): exit 78 on an error, 0 with warnings only, and
# `config check --syntax` looks at the file alone.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
daemon=$build/milter/mailtriaged ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
skip() { n=$((n + 1)); echo "ok $n - $* # SKIP"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"

mkdir "$tmp/db" "$tmp/run"
printf '#!/bin/sh\ncat >/dev/null\n' > "$tmp/sendmail"
chmod 755 "$tmp/sendmail"
printf 'sk-test\n' > "$tmp/key"
chmod 600 "$tmp/key"
conf() { # DATABASE-DIRECTORY SOCKET-LINE
	cat <<EOF
[daemon]
database = $1/mt.db
$2
[llm]
api_key_file = $tmp/key
[sendmail]
path = $tmp/sendmail
[mailbox support@site.test]
escalate_to = human@site.test
EOF
}
conf "$tmp/db" "socket = unix:$tmp/run/mt.sock" > "$tmp/good.conf"
conf "$tmp/nodb" "socket = unix:$tmp/run/mt.sock" > "$tmp/bad.conf"
conf "$tmp/db" "socket = unix:$tmp/norun/mt.sock" > "$tmp/warn.conf"

out=$("$daemon" -n -c "$tmp/good.conf" 2>&1); status=$?
check "mailtriaged -n: a good file and environment exit 0" test "$status" = 0
check "mailtriaged -n: says OK" test "$out" = "$tmp/good.conf: configuration OK (1 mailboxes, 4 intents)"
out=$("$ctl" -c "$tmp/good.conf" config check 2>&1); status=$?
check "config check: a good file exits 0 and says OK" test "$status:$out" = "0:$tmp/good.conf: configuration OK"

chmod 644 "$tmp/key" "$tmp/sendmail"
out=$("$daemon" -n -c "$tmp/bad.conf" 2>&1); status=$?
check "mailtriaged -n: an error exits 78" test "$status" = 78
check "mailtriaged -n: every problem on a line of its own, naming the key" test "$out" = \
"mailtriaged: error: [daemon] database: directory $tmp/nodb does not exist
mailtriaged: error: [llm] api_key_file: $tmp/key is readable by every user (chmod 600 or 640)
mailtriaged: error: [sendmail] path: $tmp/sendmail is not executable by $(id -un)"
out=$("$ctl" -c "$tmp/bad.conf" config check 2>&1); status=$?
check "config check: an error exits 78" test "$status" = 78
check "config check: the same problems" test "$(grep -c '^mailtriagectl: error: \[' <<<"$out")" = 3
out=$("$ctl" -c "$tmp/bad.conf" config check --syntax 2>&1); status=$?
check "config check --syntax: only the file, which is good" test "$status:$out" = "0:$tmp/bad.conf: configuration OK"
chmod 600 "$tmp/key"
chmod 755 "$tmp/sendmail"

out=$("$daemon" -n -c "$tmp/warn.conf" 2>&1); status=$?
check "mailtriaged -n: a warning alone exits 0" test "$status" = 0
check "mailtriaged -n: the warning, then OK with the count" test "$out" = \
"mailtriaged: warning: [daemon] socket: directory $tmp/norun does not exist (it must exist when the daemon starts)
$tmp/warn.conf: configuration OK (1 mailboxes, 4 intents, 1 warning)"

printf '[daemon]\nworkers = 4  # threads\n[mailbox support@site.test]\nescalate_to = human@site.test\n' > "$tmp/syntax.conf"
out=$("$ctl" -c "$tmp/syntax.conf" config check 2>&1); status=$?
check "config check: a syntax error exits 78 with file, line and key" test "$status:$out" = \
"78:mailtriagectl: error: $tmp/syntax.conf:2: [daemon] workers: a comment must be on a line of its own (# is not part of any value of this key)"

out=$("$daemon" -n -u mt-no-such-user -c "$tmp/good.conf" 2>&1); status=$?
check "mailtriaged -n -u: an unknown user is an error" test "$status:$out" = "78:mailtriaged: error: -u: no such user mt-no-such-user"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	out=$("$daemon" -n -u nobody -c "$tmp/good.conf" 2>&1); status=$?
	check "mailtriaged -n -u nobody: checked for nobody, not for root" test "$status:$out" = \
"78:mailtriaged: error: [daemon] database: directory $tmp/db is not writable by nobody
mailtriaged: warning: [daemon] socket: directory $tmp/run is not writable by nobody (fine when the daemon is started as root: it binds the socket before it becomes the user)
mailtriaged: error: [llm] api_key_file: $tmp/key is not readable by nobody"
	sed "s|^\[daemon\]|[daemon]\nuser = nobody|" "$tmp/good.conf" > "$tmp/nobody.conf"
	out=$("$ctl" -c "$tmp/nobody.conf" config check 2>&1)
	check "config check: for [daemon] user" grep -q "error: \[daemon\] database: directory $tmp/db is not writable by nobody" <<<"$out"
else
	skip "mailtriaged -n -u nobody: needs root"
	skip "config check for [daemon] user: needs root"
fi

"$ctl" -c "$tmp/good.conf" config check --bogus >/dev/null 2>&1
check "config check with an unknown option exits 64" test $? = 64
echo "1..$n"
[ "$failed" = 0 ]
