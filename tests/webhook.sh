#!/bin/bash
# The signed webhook, without an MTA: the builtin classifier picks an intent whose action is
# webhook, mailtriaged -f posts to the fake server's /signed-hook/2, which checks each POST's
# X-Mailtriage-Signature against the secret file it was started with and answers 500 to the
# first two that match. The daemon retries with back-off: three deliveries, each validly
# signed, with the same body and event id, one action recorded sent. A wrong secret is refused
# by the receiver (401) and the message stays queued; a secret file every user can read keeps
# the programs from starting. The signature is checked here as README's Python does it.
set -u
build=$(cd "${top_builddir:-$(dirname "$0")/..}" && pwd)
src=$(cd "${top_srcdir:-$(dirname "$0")/..}" && pwd)
pipe=$build/pipe/mailtriage-pipe daemon=$build/milter/mailtriaged ctl=$build/ctl/mailtriagectl
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
tmp=$(mktemp -d)
llm_pid= daemon_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
	[ -n "$llm_pid" ] && kill "$llm_pid" 2>/dev/null && wait "$llm_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
wait_for() { # TRIES COMMAND...: poll every 0.2 s, at most TRIES times
	local tries=$1; shift
	for _ in $(seq 1 "$tries"); do "$@" && return 0; sleep 0.2; done
	return 1
}
sql() { sqlite3 -cmd ".timeout 5000" "$1" "$2"; }

printf 'whsec-test-7f3a9c\n' > "$tmp/hook.secret"
printf 'whsec-someone-else\n' > "$tmp/wrong.secret"
chmod 600 "$tmp/hook.secret" "$tmp/wrong.secret"
python3 "$src/tests/fake-llm/fake_llm.py" --port-file "$tmp/port" --log "$tmp/hooks.log" \
	--hook-secret-file "$tmp/hook.secret" &
llm_pid=$!
wait_for 50 test -s "$tmp/port" || not_ok "the fake server starts"
port=$(cat "$tmp/port")
conf() { # DATABASE SECRET-FILE
	cat <<EOF2
[daemon]
database = $1
socket =
workers = 1
poll_interval = 1s
retry_base = 1s
retry_max = 1s
[sendmail]
path = /bin/false
[intent lead]
action = webhook
keywords = price
webhook_url = http://127.0.0.1:$port/signed-hook/2
webhook_secret_file = $2
[mailbox support@site.test]
escalate_to = human@site.test
intents = lead
EOF2
}
conf "$tmp/mt.db" "$tmp/hook.secret" > "$tmp/mt.conf"
message='From: Ann <ann@customer.test>\nSubject: Prices\nMessage-ID: <p1@customer.test>\n\nWhat is the price of the basic plan?\n'
printf "$message" | "$pipe" -c "$tmp/mt.conf" -f ann@customer.test -- support@site.test
"$daemon" -f -c "$tmp/mt.conf" 2> "$tmp/daemon.log" &
daemon_pid=$!
done_yet() { test "$(sql "$tmp/mt.db" "SELECT state FROM messages WHERE id = 1")" = done; }
wait_for 150 done_yet
kill -TERM "$daemon_pid"; wait "$daemon_pid"; daemon_pid=
check "the message is done once the receiver took it" done_yet
check "one webhook action sent, after two failed ones" test \
	"$(sql "$tmp/mt.db" "SELECT group_concat(state, ' ') FROM (SELECT state FROM actions WHERE kind = 'webhook' ORDER BY id)")" = "failed failed sent"
check "the failures are the receiver's 500" test \
	"$(sql "$tmp/mt.db" "SELECT count(*) FROM actions WHERE state = 'failed' AND error LIKE 'webhook http://127.0.0.1:$port/signed-hook/2: HTTP 500:%'")" = 2
check "three deliveries, each validly signed, one body, one event id" python3 - "$tmp/hooks.log" "$tmp/hook.secret" <<'EOF2'
import hashlib, hmac, json, sys
hooks = [json.loads(line) for line in open(sys.argv[1]) if '"signed-hook"' in line]
secret = open(sys.argv[2], "rb").read().strip()
assert len(hooks) == 3, hooks
assert all(h["signature_ok"] for h in hooks), hooks
assert len({json.dumps(h["body"], sort_keys=True) for h in hooks}) == 1, hooks
assert len({h["body"]["event_id"] for h in hooks}) == 1, hooks
assert len(hooks[0]["body"]["event_id"]) == 32, hooks[0]
EOF2
check "the body: message, sender, classification, conversation" python3 - "$tmp/hooks.log" <<'EOF2'
import json, sys
body = [json.loads(line) for line in open(sys.argv[1]) if '"signed-hook"' in line][0]["body"]
m, s, c = body["message"], body["sender"], body["classification"]
assert (m["id"], m["message_id"], m["mailbox"], m["subject"]) == (1, "p1@customer.test", "support@site.test", "Prices"), m
assert isinstance(m["received_at"], int) and "basic plan" in m["text"], m
assert (s["envelope_from"], s["from"], s["from_name"]) == ("ann@customer.test", "ann@customer.test", "Ann"), s
assert (c["intent"], c["provider"]) == ("lead", "builtin") and c["confidence"] > 0, c
# Message 1 started conversation 1.
assert body["conversation_id"] == 1, body
EOF2

# The receiver's side, as README shows it: the signature over "T.BODY" of the bytes received.
cat > "$tmp/receiver.py" <<'EOF2'
import hashlib, hmac, http.server, sys, time
secret = open(sys.argv[1], "rb").read().strip()
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        fields = dict(p.split("=", 1) for p in self.headers.get("X-Mailtriage-Signature", "").split(","))
        expected = hmac.new(secret, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(fields["t"])) < 300
        good = hmac.compare_digest(expected, fields.get("v1", "")) and fresh
        self.send_response(204 if good else 401)
        self.end_headers()
        print("good" if good else "bad", flush=True)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
open(sys.argv[2], "w").write(str(server.server_address[1]))
server.handle_request()
EOF2
verify() { # SECRET-FILE OF THE SENDER: the verdict of README's receiver, which knows hook.secret
	rm -f "$tmp/rport" "$tmp/verdict"
	python3 "$tmp/receiver.py" "$tmp/hook.secret" "$tmp/rport" > "$tmp/verdict" &
	local receiver=$!
	wait_for 50 test -s "$tmp/rport"
	rm -f "$tmp/r.db"*
	conf "$tmp/r.db" "$1" | sed "s|^webhook_url = .*|webhook_url = http://127.0.0.1:$(cat "$tmp/rport")/|" > "$tmp/r.conf"
	printf "$message" | "$pipe" -c "$tmp/r.conf" -f ann@customer.test --inline -- support@site.test 2> /dev/null
	wait "$receiver"
	cat "$tmp/verdict"
}
check "README's receiver accepts what the right secret signed (204: a 2xx is success)" \
	test "$(verify "$tmp/hook.secret"):$(sql "$tmp/r.db" "SELECT state FROM actions")" = "good:sent"
check "README's receiver refuses a wrong secret" \
	test "$(verify "$tmp/wrong.secret"):$(sql "$tmp/r.db" "SELECT state FROM messages")" = "bad:queued"

# A wrong secret at the fake receiver: refused, nothing recorded as sent, the message waits.
conf "$tmp/wrong.db" "$tmp/wrong.secret" > "$tmp/wrong.conf"
printf "$message" | "$pipe" -c "$tmp/wrong.conf" -f ann@customer.test --inline -- support@site.test 2> "$tmp/wrong.err"
check "wrong secret: the receiver says 401" grep -q "signed-hook/2: HTTP 401" "$tmp/wrong.err"
check "wrong secret: the receiver logged a bad signature" \
	test "$(grep '"signed-hook"' "$tmp/hooks.log" | grep -c '"signature_ok": false')" = 1
check "wrong secret: queued again, nothing sent" test \
	"$(sql "$tmp/wrong.db" "SELECT m.state || ' ' || a.state FROM messages m JOIN actions a ON a.message = m.id")" = "queued failed"

chmod 644 "$tmp/wrong.secret"
"$ctl" -c "$tmp/wrong.conf" config check > /dev/null 2> "$tmp/check.err"; status=$?
check "a secret file every user can read: config check fails" test "$status" != 0
check "config check names the key and the fix" grep -q "\[intent lead\] webhook_secret_file: $tmp/wrong.secret is readable by every user (chmod 600 or 640)" "$tmp/check.err"
printf "$message" | "$pipe" -c "$tmp/wrong.conf" -f ann@customer.test -- support@site.test 2> "$tmp/pipe.err"; status=$?
check "a secret file every user can read: the pipe does not start (75)" test "$status" = 75
check "the pipe says why" grep -q "webhook_secret_file: $tmp/wrong.secret is readable by every user" "$tmp/pipe.err"
echo "1..$n"
[ "$failed" = 0 ]
