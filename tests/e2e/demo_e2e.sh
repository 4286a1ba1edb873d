#!/bin/bash
# The demo (contrib/demo.sh, what `quickstart.sh demo` runs after installing) with the
# programs of this build: it passes only when mail really was recorded by the milter and the
# pipe transport and the replies and escalations left; it fails, saying why, when the daemon
# cannot start or runs without its milter socket.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
tmp=$(mktemp -d /tmp/mt-demo.XXXXXX)
chmod 755 "$tmp"
mkdir -p "$tmp/bin" "$tmp/data" "$tmp/broken" "$tmp/silent"
cp "$MT_BUILD/milter/mailtriaged" "$MT_BUILD/pipe/mailtriage-pipe" "$MT_BUILD/ctl/mailtriagectl" "$tmp/bin/"
cp -r "$MT_SRC/contrib/templates" "$MT_SRC/contrib/mailtriage.conf.sample" "$tmp/data/"
chmod -R a+rX "$tmp"
# The demo makes the user postfix a member of the group mailtriage, which the setup test
# takes away for a while: one at a time, also under make -j.
exec {group_lock}>/run/lock/mailtriage-e2e-postfix-group.lock
flock -w 300 "$group_lock"
demo() { "$MT_SRC/contrib/demo.sh" --datadir "$tmp/data" --port "$(mt_free_port)" "$@"; }

demo --bindir "$tmp/bin" --dir "$tmp/run" >"$tmp/demo.out" 2>&1
status=$?
check "the demo exits 0 with the programs of this build" test "$status" = 0
check "it says it passed" grep -q "^demo passed" "$tmp/demo.out"
check "the milter recorded the support mail and the pipe the sales mail" \
	grep -q "sent 8 messages: 6 recorded by the milter, 2 by the pipe transport; 8 processed; 3 replies and 3 escalations left" "$tmp/demo.out"
check "it prints the queue" grep -q "^ID  *STATE" "$tmp/demo.out"
check "it prints the text of a reply" grep -q "| Subject: Re: Pricing for the pro plan" "$tmp/demo.out"
check "it prints a summary line per message" test "$(grep -c 'status=' "$tmp/demo.out")" -ge 8
check "it leaves no daemon behind" bash -c "! kill -0 \$(cat '$tmp/run/mailtriaged.pid') 2>/dev/null"
[ "$status" = 0 ] || sed 's/^/# /' "$tmp/demo.out" | tail -40

# A daemon that cannot start: the demo must fail and say so.
cp "$tmp/bin/mailtriage-pipe" "$tmp/bin/mailtriagectl" "$tmp/broken/"
printf '#!/bin/sh\ncase "$*" in *-n*) exec %s "$@" ;; esac\necho "mailtriaged: error: milter: cannot listen" >&2\nexit 69\n' \
	"$tmp/bin/mailtriaged" > "$tmp/broken/mailtriaged"
chmod 755 "$tmp/broken/mailtriaged"
demo --bindir "$tmp/broken" --dir "$tmp/run-broken" >"$tmp/broken.out" 2>&1
check "with a daemon that cannot start, the demo exits non-zero" test $? != 0
check "and says that mailtriaged is not running" grep -q "demo FAILED: mailtriaged is not running" "$tmp/broken.out"

# A daemon that runs but never opens its socket (nothing can be recorded).
cp "$tmp/bin/mailtriage-pipe" "$tmp/bin/mailtriagectl" "$tmp/silent/"
printf '#!/bin/sh\ncase "$*" in *-n*) exec %s "$@" ;; esac\necho "workers started" >&2\nexec sleep 30\n' \
	"$tmp/bin/mailtriaged" > "$tmp/silent/mailtriaged"
chmod 755 "$tmp/silent/mailtriaged"
demo --bindir "$tmp/silent" --dir "$tmp/run-silent" >"$tmp/silent.out" 2>&1
check "with a daemon that opens no milter socket, the demo exits non-zero" test $? != 0
check "and says the socket is missing" grep -q "demo FAILED: mailtriaged runs but its milter socket" "$tmp/silent.out"
pkill -f "$tmp/silent/mailtriaged" 2>/dev/null
if [ "$MT_FAILED" = 0 ]; then rm -rf "$tmp"; else echo "# kept: $tmp"; fi
mt_done
