#!/bin/bash
# End to end, every reply rule on: a mix of real-looking automated and human mail goes through
# Postfix into mailtriage; exactly the expected replies leave, each non-reply says why, two
# auto-responders facing each other exchange at most one message each, and a hard bounce of a
# reply blocks the address.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
MT_MONITORED="support@site.test sales@site.test"
MT_EXTRA_CONF="[policy]
trusted_authserv_ids = mx.site.test
require_auth = spf_or_dkim
block_senders = @blocked.test
[mailbox sales@site.test]
name = Site Sales
escalate_to = human@site.test"
mt_setup || { echo "1..1"; echo "not ok 1 - setup"; exit 1; }
MAIL=$MT_SRC/tests/e2e/policy
header() { python3 "$MT_SRC/tests/e2e/mailcheck.py" "$1" header "$2"; }
reason_of() { mt_sql "SELECT a.reason FROM actions a JOIN messages m ON m.id = a.message WHERE m.message_id = '$1' ORDER BY a.id DESC LIMIT 1"; }
action_of() { mt_sql "SELECT a.kind || ' ' || a.state FROM actions a JOIN messages m ON m.id = a.message WHERE m.message_id = '$1' ORDER BY a.id DESC LIMIT 1"; }
all_done() { [ "$(mt_sql "SELECT count(*) FROM messages WHERE state != 'done'")" = 0 ] && [ "$(mt_sql "SELECT count(*) FROM messages")" -ge "$1" ]; }
replies_to() { local n=0 f; for f in $(pf_captured "$1"); do grep -qi '^Auto-Submitted: auto-replied' "$f" && n=$((n + 1)); done; echo "$n"; }
mt_start_daemon || not_ok "mailtriaged starts"

send() { pf_send "$1" support@site.test "$MAIL/$2" || not_ok "swaks $2"; }
send alice@customer.test 01-human.eml
send "" 02-bounce.eml
send bob@customer.test 03-exchange-oof.eml
send carol@customer.test 04-yahoo-vacation.eml
send news@lists.customer.test 05-list.eml # a bounces- sender would be caught first, as a role
send winner@customer.test 06-spam.eml
send ceo@bank.customer.test 07-forged.eml
send noreply@shop.customer.test 08-noreply.eml
send gone@customer.test 10-gone.eml
# Backscatter: mail the attacker signed for its own domain (DKIM and DMARC pass for From:) with
# a forged envelope sender, which the reply would go to.
send victim@victim.test 11-forged-envelope.eml
send victim2@victim.test 12-forged-envelope-softfail.eml
check "all eleven first messages processed" wait_until 60 all_done 11

check "human, authenticated: one reply" test "$(replies_to alice@customer.test)" = 1
reply=$(pf_captured alice@customer.test | head -n 1)
check "reply: null envelope sender" test "$(header "$reply" Return-Path)" = "<>"
check "reply: Auto-Submitted: auto-replied" test "$(header "$reply" Auto-Submitted)" = auto-replied
check "reply: one Re: prefix, In-Reply-To the original" test "$(header "$reply" Subject)|$(header "$reply" In-Reply-To)" = "Re: Pricing for the pro plan|<p-human@customer.test>"
check "reply: From the mailbox with its name, To the sender alone" test "$(header "$reply" From)|$(header "$reply" To)" = "Site Support <support@site.test>|alice@customer.test"
check "reply: text and HTML alternatives" test "$(python3 "$MT_SRC/tests/e2e/mailcheck.py" "$reply" types | head -n 3 | tr '\n' ' ')" = "multipart/alternative text/plain text/html "

check "bounce: no reply, reason recorded" test "$(reason_of p-bounce@mx.customer.test)" = "no reply: null envelope sender (a bounce or a notification)"
check "Exchange out-of-office: no reply, reason" grep -q "^no reply: Auto-Submitted: auto-replied" <<<"$(reason_of p-oof-exchange@customer.test)"
check "vacation auto-reply (X-Autoreply): no reply, reason" test "$(reason_of p-vacation@customer.test)" = "no reply: automatic mail marker X-Autoreply"
check "list mail: no reply, reason" test "$(reason_of p-list@lists.customer.test)" = "no reply: mailing list mail (List-Id)"
check "spam flagged upstream: no reply, reason" test "$(reason_of p-spam@customer.test)" = "no reply: spam: X-Spam-Flag: YES"
check "no-reply sender: no reply, reason" grep -q "^no reply: role or machine sender (noreply)" <<<"$(reason_of p-noreply@shop.customer.test)"
check "forged sender (dmarc=fail): escalated, not answered" grep -q "^no automatic reply (sender authentication: dmarc=fail" <<<"$(reason_of p-forged@spoofer.test)"
check "forged sender: the escalation went to the human address" test "$(action_of p-forged@spoofer.test)" = "escalate sent"
check "LLM not asked for the mail policy stopped" test "$(grep -c -e 'Undelivered' -e 'out of the office' -e 'on vacation' -e 'price drops' -e 'You won' -e 'order is confirmed' -e 'Bank' -e 'account is suspended' "$MT_DIR/llm/requests.log")" = 0
check "forged envelope, spf=fail under the attacker's signature: held back, escalated" grep -q "^no automatic reply (sender authentication: spf=fail for the envelope sender's domain" <<<"$(reason_of p-forged-envelope@attacker.test)"
check "forged envelope, spf=softfail under the attacker's signature: held back by require_auth" grep -q "^no automatic reply (sender authentication: no SPF pass or aligned DKIM pass for the envelope sender's domain.*require_auth = spf_or_dkim" <<<"$(reason_of p-forged-envelope-2@attacker.test)"
check "forged envelopes: escalated to the human address, not answered" test "$(action_of p-forged-envelope@attacker.test)|$(action_of p-forged-envelope-2@attacker.test)" = "escalate sent|escalate sent"
check "forged envelopes: nothing sent to the forged envelope senders nor to the attacker" test -z "$(pf_captured victim@victim.test)$(pf_captured victim2@victim.test)$(pf_captured mallory@attacker.test)"
for who in bob carol winner noreply ceo mailer-daemon; do
	check "nothing sent to $who" test -z "$(pf_captured "$who@customer.test")$(pf_captured "$who@bank.customer.test")$(pf_captured "$who@shop.customer.test")$(pf_captured "$who@lists.customer.test")"
done

# A hard bounce of one of our replies blocks the address for bounce_block.
check "gone: replied to once" pf_wait_captured gone@customer.test 1 30
ours=$(header "$(pf_captured gone@customer.test | head -n 1)" Message-Id)
cat > "$MT_DIR/dsn.eml" <<EOF2
From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>
To: support@site.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <p-dsn-gone@mx.customer.test>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b2"

--b2
Content-Type: text/plain

The mail system: <gone@customer.test>: user unknown
--b2
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.customer.test

Final-Recipient: rfc822; gone@customer.test
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown
--b2
Content-Type: text/rfc822-headers

From: Site Support <support@site.test>
To: gone@customer.test
Subject: Re: Prices please
Message-Id: $ours
--b2--
EOF2
pf_send "" support@site.test "$MT_DIR/dsn.eml"
bounce_recorded() { [ "$(mt_sql "SELECT address || ' ' || status FROM bounces")" = "gone@customer.test 5.1.1" ]; }
check "the DSN for our reply is recorded as a hard bounce" wait_until 30 bounce_recorded
sed -e 's/support@site.test/sales@site.test/; s/p-gone@/p-gone-2@/' "$MAIL/10-gone.eml" > "$MT_DIR/gone2.eml"
pf_send gone@customer.test sales@site.test "$MT_DIR/gone2.eml"
bounce_held() { grep -q "hard-bounced within bounce_block" <<<"$(reason_of p-gone-2@customer.test)"; }
check "bounced address: another mailbox does not answer it" wait_until 30 bounce_held
check "bounced address: still one reply only" test "$(replies_to gone@customer.test)" = 1

# Two auto-responders facing each other: the bot answers everything it gets, without any
# marker (the worst case). Bounded: at most five rounds.
send bot@customer.test 09-bot.eml
bot_sent=1
for round in 1 2 3 4 5; do
	pf_wait_captured bot@customer.test "$round" 20 || break
	last=$(pf_captured bot@customer.test | tail -n 1)
	printf 'Authentication-Results: mx.site.test; dkim=pass header.d=customer.test; dmarc=pass\nFrom: Helpdesk Bot <bot@customer.test>\nTo: support@site.test\nSubject: Re: %s\nIn-Reply-To: %s\nMessage-ID: <p-bot-%d@customer.test>\n\nThank you for your message about prices! We will get back to you.\n' \
		"$(header "$last" Subject)" "$(header "$last" Message-Id)" "$round" > "$MT_DIR/bot-$round.eml"
	pf_send bot@customer.test support@site.test "$MT_DIR/bot-$round.eml"
	bot_sent=$((bot_sent + 1))
	wait_until 30 all_done 14
done
check "loop: we sent the bot exactly one message" test "$(pf_captured bot@customer.test | wc -l)" = 1
check "loop: the bot sent one answer to it, no more" test "$bot_sent" = 2
check "loop: the bot's answer was held back by the reply interval and escalated" grep -q "reply_interval" <<<"$(reason_of p-bot-1@customer.test)"

check "exactly three replies left: alice, gone, bot" test "$(for r in alice gone bot; do replies_to "$r@customer.test"; done | tr '\n' ' ')" = "1 1 1 "
check "mailtriaged stops cleanly" mt_stop_daemon
check "no sanitizer report in the daemon's log" bash -c "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' '$MT_DIR/daemon.log'"
mt_done
