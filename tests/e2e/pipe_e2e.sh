#!/bin/bash
# End to end through a real Postfix: mail to support@site.test goes through the master.cf
# pipe transport into mailtriage-pipe, mailtriaged classifies it with the fake LLM and answers
# through Postfix's real sendmail; what leaves is captured per recipient.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
mt_setup || { echo "1..1"; echo "not ok 1 - setup"; exit 1; }
MAIL=$MT_DIR/msgs
mkdir -p "$MAIL"
header() { python3 "$MT_SRC/tests/e2e/mailcheck.py" "$1" header "$2"; }
mailtext() { python3 "$MT_SRC/tests/e2e/mailcheck.py" "$1" text; }
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }
none_captured() { [ -z "$(pf_captured "$1")" ]; }

cat > "$MAIL/pricing.eml" <<'EOF2'
From: Alice Martin <alice@customer.test>
To: support@site.test
Subject: Pricing for the pro plan
Message-ID: <pricing-1@customer.test>
References: <earlier-0@customer.test>
Date: Sat, 21 Nov 2026 09:00:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello, what does the pro plan cost per month for five users?

Alice
EOF2
cat > "$MAIL/person.eml" <<'EOF2'
From: Bob Stone <bob@customer.test>
To: support@site.test
Subject: Please have someone call me
Message-ID: <person-1@customer.test>
Date: Sat, 21 Nov 2026 09:01:00 +0000

I would like to speak to a person about my contract. Please call me tomorrow.
EOF2
cat > "$MAIL/bounce.eml" <<'EOF2'
From: Mail Delivery System <MAILER-DAEMON@customer.test>
To: support@site.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@customer.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

This is the mail system. What is the price of a plan? (a bounce must get nothing)
--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.customer.test
Final-Recipient: rfc822; nobody@customer.test
Action: failed
Status: 5.1.1
--b1--
EOF2

mt_start_daemon || not_ok "mailtriaged starts"

# 1. A pricing question gets a reply with the right form.
mt_send alice@customer.test support@site.test "$MAIL/pricing.eml"
if pf_wait_captured alice@customer.test 1 60; then
	ok "pricing question: a reply reaches the sender"
	reply=$(pf_captured alice@customer.test | head -n 1)
	check "reply: envelope sender is null (Return-Path <>)" test "$(header "$reply" Return-Path)" = "<>"
	check "reply: From is the mailbox with its name" test "$(header "$reply" From)" = "Site Support <support@site.test>"
	check "reply: To is the envelope sender alone" test "$(header "$reply" To)" = "alice@customer.test"
	check "reply: one Re: prefix" test "$(header "$reply" Subject)" = "Re: Pricing for the pro plan"
	check "reply: In-Reply-To is the original Message-ID" test "$(header "$reply" In-Reply-To)" = "<pricing-1@customer.test>"
	check "reply: References carry the thread" test "$(header "$reply" References)" = "<earlier-0@customer.test> <pricing-1@customer.test>"
	check "reply: Auto-Submitted: auto-replied" test "$(header "$reply" Auto-Submitted)" = "auto-replied"
	check "reply: loop marker" test "$(header "$reply" X-Mailtriage-Loop)" = "mt.site.test"
	check "reply: fresh Message-ID of ours" grep -qi '^Message-Id: <.*mailtriage@mt.site.test>' "$reply"
	body=$(mailtext "$reply")
	check "reply: the template greets the sender" grep -q "Hello Alice Martin," <<<"$body"
	check "reply: the model's reply is in the text, UTF-8 intact" grep -q "10 €" <<<"$body"
	check "reply: nothing escalated" none_captured human@site.test
else
	not_ok "pricing question: a reply reaches the sender"
fi
wait_until 20 mt_is_done pricing-1@customer.test
id=$(mt_id_of pricing-1@customer.test)
show=$(mtctl --json show "$id")
check "show --json: classification by the LLM" test "$(json_field "['classification']['provider']" <<<"$show")/$(json_field "['classification']['intent']" <<<"$show")/$(json_field "['classification']['model']" <<<"$show")" = "openai/send_info/fake-model"
check "show --json: action reply sent to the sender" test "$(json_field "['actions'][0]['kind']" <<<"$show") $(json_field "['actions'][0]['state']" <<<"$show") $(json_field "['actions'][0]['recipient']" <<<"$show")" = "reply sent alice@customer.test"
check "show --json: envelope, from, subject, message_id" test "$(json_field "['envelope_from']" <<<"$show")|$(json_field "['from']" <<<"$show")|$(json_field "['subject']" <<<"$show")|$(json_field "['message_id']" <<<"$show")" = "alice@customer.test|alice@customer.test|Pricing for the pro plan|pricing-1@customer.test"
check "show --json: the MTA queue id is Postfix's" grep -qE '^[0-9A-F]{6,}$' <<<"$(json_field "['mta_queue_id']" <<<"$show")"
qid=$(json_field "['mta_queue_id']" <<<"$show")
check "log: one summary line, starting with the queue id that Postfix logged" test \
	"$(grep -cE "^mailtriaged: $qid: id=$id from=<alice@customer.test> mailbox=<support@site.test> intent=send_info .* action=reply to=<alice@customer.test> .* status=sent " "$MT_DIR/daemon.log")/$(grep -c "$qid: to=<support@site.test>" "$PF_DIR/maillog")" = 1/1
check "LLM request carried the API key" grep -q '"authorization": "Bearer sk-test-e2e-secret"' "$MT_DIR/llm/requests.log"
check "LLM request used json_schema structured output" grep -q '"json_schema": {"name": "triage"' "$MT_DIR/llm/requests.log"

# 2. A request for a person is escalated with the original attached.
mt_send bob@customer.test support@site.test "$MAIL/person.eml"
if pf_wait_captured human@site.test 1 60; then
	ok "request for a person: escalated to the human address"
	esc=$(pf_captured human@site.test | head -n 1)
	check "escalation: Subject names the intent" test "$(header "$esc" Subject)" = "[speak_to_human] Please have someone call me"
	check "escalation: Reply-To is the customer" test "$(header "$esc" Reply-To)" = "Bob Stone <bob@customer.test>"
	check "escalation: Auto-Submitted: auto-generated" test "$(header "$esc" Auto-Submitted)" = "auto-generated"
	check "escalation: envelope sender is the mailbox" test "$(header "$esc" Return-Path)" = "<support@site.test>"
	check "escalation: the original is attached as message/rfc822" test "$(python3 "$MT_SRC/tests/e2e/mailcheck.py" "$esc" attached Message-ID)" = "<person-1@customer.test>"
	check "escalation: the summary is on top" grep -q "^Intent:     speak_to_human (openai fake-model" <<<"$(mailtext "$esc")"
else
	not_ok "request for a person: escalated to the human address"
fi
wait_until 20 mt_is_done person-1@customer.test
check "request for a person: no automatic reply to the customer" none_captured bob@customer.test

# 3. A bounce (null sender) gets nothing, and says why.
mt_send "" support@site.test "$MAIL/bounce.eml"
wait_until 30 mt_is_done bounce-1@customer.test
id=$(mt_id_of bounce-1@customer.test)
check "bounce: recorded and done" test "$(mt_state "$id")" = done
show=$(mtctl --json show "$id")
check "bounce: action none with the reason" test "$(json_field "['actions'][0]['kind']" <<<"$show"): $(json_field "['actions'][0]['reason']" <<<"$show")" = "none: no reply: null envelope sender (a bounce or a notification)"
check "bounce: the LLM was not asked" test "$(grep -c 'bounce' "$MT_DIR/llm/requests.log")" = 0
check "bounce: nothing sent to MAILER-DAEMON" none_captured mailer-daemon@customer.test

# 4. The LLM fails every time: after llm.max_attempts the builtin classifier answers.
mt_write_config "openai" "http://127.0.0.1:$MT_LLM_PORT/error500/v1" "$MT_SENDMAIL"
kill -USR1 "$MT_DAEMON_PID"
wait_until 10 grep -q "configuration reloaded" "$MT_DIR/daemon.log"
sed -e 's/alice@customer.test/carol@customer.test/; s/Alice Martin/Carol King/; s/pricing-1@/pricing-2@/' "$MAIL/pricing.eml" > "$MAIL/pricing2.eml"
mt_send carol@customer.test support@site.test "$MAIL/pricing2.eml"
if pf_wait_captured carol@customer.test 1 60; then
	ok "LLM down: the sender still gets a reply (builtin fallback)"
else
	not_ok "LLM down: the sender still gets a reply (builtin fallback)"
fi
wait_until 20 mt_is_done pricing-2@customer.test
show=$(mtctl --json show "$(mt_id_of pricing-2@customer.test)")
check "LLM down: classification by builtin, send_info" test "$(json_field "['classification']['provider']" <<<"$show")/$(json_field "['classification']['intent']" <<<"$show")" = "builtin/send_info"
check "LLM down: the fallback says why" grep -q "fallback after 2 LLM failures: .*HTTP 500" <<<"$(json_field "['classification']['error']" <<<"$show")"
check "LLM down: two requests were made" test "$(grep -c '"mode": "error500"' "$MT_DIR/llm/requests.log")" = 2

# 5. sendmail fails with EX_TEMPFAIL: the message stays queued with the reason, then goes out.
printf '#!/bin/sh\necho "postdrop: warning: queue file write error" >&2\nexit 75\n' > "$MT_DIR/bin/sendmail-fail"
chmod 755 "$MT_DIR/bin/sendmail-fail"
mt_write_config "openai" "http://127.0.0.1:$MT_LLM_PORT/v1" "$MT_DIR/bin/sendmail-fail"
kill -USR1 "$MT_DAEMON_PID"
reloaded_twice() { [ "$(grep -c "configuration reloaded" "$MT_DIR/daemon.log")" = 2 ]; }
wait_until 10 reloaded_twice
sed -e 's/alice@customer.test/dave@customer.test/; s/Alice Martin/Dave Lee/; s/pricing-1@/pricing-3@/' "$MAIL/pricing.eml" > "$MAIL/pricing3.eml"
mt_send dave@customer.test support@site.test "$MAIL/pricing3.eml"
deferred() { mt_sql "SELECT last_error FROM messages WHERE message_id = 'pricing-3@customer.test' AND state = 'queued'" | grep -q "status 75: postdrop: warning: queue file write error"; }
check "sendmail tempfail: message deferred with sendmail's reason" wait_until 30 deferred
check "sendmail tempfail: list shows the last error" grep -q "last error: .*exited with status 75" <<<"$(mtctl list --state queued)"
mt_write_config "openai" "http://127.0.0.1:$MT_LLM_PORT/v1" "$MT_SENDMAIL"
kill -USR1 "$MT_DAEMON_PID"
check "sendmail back: the deferred reply goes out" pf_wait_captured dave@customer.test 1 60
wait_until 20 mt_is_done pricing-3@customer.test
check "sendmail back: neither the classification nor the reply was asked again" test \
	"$(grep -c 'Dave Lee.*"name": "triage"' "$MT_DIR/llm/requests.log") $(grep -c 'Dave Lee.*"name": "triage_reply"' "$MT_DIR/llm/requests.log")" = "1 1"

# 6. An oversized message is recorded truncated, never lost, and still handled.
{
	printf 'From: Erin <erin@customer.test>\nTo: support@site.test\nSubject: Big attachment, please call me\nMessage-ID: <big-1@customer.test>\n\nPlease call me.\n'
	for _ in $(seq 1 3000); do echo "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; done
} > "$MAIL/big.eml"
mt_send erin@customer.test support@site.test "$MAIL/big.eml"
wait_until 30 mt_is_done big-1@customer.test
check "oversized: recorded truncated at max_message_size" test "$(mt_sql "SELECT truncated, length(raw), size > 65536 FROM messages WHERE message_id = 'big-1@customer.test'")" = "1|65536|1"
check "oversized: processed all the same" test "$(mt_state "$(mt_id_of big-1@customer.test)")" = done

# 7. The database is locked past busy_timeout: the pipe exits 75, so Postfix keeps the mail.
as_user /usr/bin/python3 -c 'import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(6)
db.execute("COMMIT")' "$MT_DIR/db/mailtriage.db" "$MT_DIR/db/locked" &
locker=$!
wait_until 10 test -e "$MT_DIR/db/locked"
as_user "$MT_DIR/bin/mailtriage-pipe" -c "$MT_DIR/mailtriage.conf" -f frank@customer.test -- support@site.test < "$MAIL/pricing.eml" 2>"$MT_DIR/pipe.err"
status=$?
check "database locked: the pipe exits 75 (EX_TEMPFAIL)" test "$status" = 75
check "database locked: the pipe says why" grep -q "cannot record the message" "$MT_DIR/pipe.err"
wait "$locker"
printf 'Subject: x\n\ny\n' | as_user "$MT_DIR/bin/mailtriage-pipe" -c "$MT_DIR/mailtriage.conf" -f frank@customer.test -- nobody@site.test 2>/dev/null
check "unmonitored recipient: the pipe exits 75 rather than lose the mail" test $? = 75
as_user "$MT_DIR/bin/mailtriage-pipe" -c "$MT_DIR/mailtriage.conf" -f frank@customer.test -- support@site.test </dev/null 2>/dev/null
check "empty input: the pipe exits 75 (our mistake, never a bounce)" test $? = 75

# 8. Clean stop.
check "mailtriaged stops cleanly on SIGTERM" mt_stop_daemon
check "no sanitizer report in the daemon's log" bash -c "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' '$MT_DIR/daemon.log'"
check "every recorded message is done" test "$(mt_sql "SELECT count(*) FROM messages WHERE state != 'done'")" = 0
mt_done
