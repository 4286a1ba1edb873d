#!/bin/bash
# End to end with [daemon] mask_addresses on: mail reaches mailtriaged through Postfix's
# smtpd_milters, is answered or escalated through Postfix's sendmail, and the daemon's whole log
# (every level, the milter's intake lines included) names no correspondent, mailbox or
# escalation address in clear; then mailtriagectl forget leaves no row about the sender.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
MILTER_PORT=$(mt_free_port)
MT_SOCKET="inet:$MILTER_PORT@127.0.0.1"
MT_PF_MILTER="inet:127.0.0.1:$MILTER_PORT"
MT_MONITORED="pipe-only@site.test" # support@site.test is delivered to its mailbox, via the milter
MT_BUSY_TIMEOUT=10s
MT_EXTRA_CONF="[policy]
trusted_authserv_ids = mx.site.test"
mt_setup || { echo "1..1"; echo "not ok 1 - setup"; exit 1; }
sed -i 's/^\[daemon\]$/[daemon]\nmask_addresses = yes/' "$MT_DIR/mailtriage.conf"
mt_start_daemon || not_ok "mailtriaged starts with the milter"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MILTER_PORT" 2>/dev/null

cat > "$MT_DIR/human.eml" <<'EOF'
From: Alice Martin <alice.martin@customer.test>
To: support@site.test
Cc: colleague@site.test
Subject: Pricing for the pro plan
Message-ID: <priv-1@customer.test>

Hello, what does the pro plan cost per month?
EOF
cat > "$MT_DIR/forged.eml" <<'EOF'
Authentication-Results: mx.site.test; spf=fail smtp.mailfrom=bank.customer.test; dmarc=fail
From: Bank <ceo@bank.customer.test>
To: support@site.test
Subject: Urgent
Message-ID: <priv-2@bank.customer.test>

Please send me the price list.
EOF
pf_send alice.martin@customer.test support@site.test,colleague@site.test "$MT_DIR/human.eml" ||
	not_ok "swaks human"
pf_send ceo@bank.customer.test support@site.test "$MT_DIR/forged.eml" || not_ok "swaks forged"
all_done() { [ "$(mt_sql "SELECT count(*) FROM messages WHERE state = 'done'")" = 2 ]; }
check "both recorded by the milter and processed" wait_until 60 all_done
check "alice got a reply" pf_wait_captured alice.martin@customer.test 1 30
check "the forged mail was escalated to the human address" pf_wait_captured human@site.test 1 30
check "mailtriagectl forget alice: exit 0" mtctl forget alice.martin@customer.test
check "mailtriaged stops cleanly" mt_stop_daemon

log=$MT_DIR/daemon.log
check "the log has the milter's intake lines and the summaries" test \
	"$(grep -c -e 'recorded: mta_queue_id=' -e ': id=[0-9]* from=' "$log")" -ge 4
for addr in alice.martin@customer.test ceo@bank.customer.test support@site.test \
	human@site.test colleague@site.test; do
	check "mask_addresses: $addr is nowhere in the daemon's log" bash -c '! grep -qi "$1" "$2"' _ "$addr" "$log"
done
check "mask_addresses: the masked forms are there" grep -q "from=<a\*\*\*@customer.test> mailbox=<s\*\*\*@site.test>" "$log"
check "forget: no row names alice any more" test "$(mt_sql "SELECT count(*) FROM messages WHERE envelope_from LIKE 'alice.martin@%' OR rcpts LIKE '%alice.martin@%'")|$(mt_sql "SELECT count(*) FROM actions WHERE recipient LIKE 'alice.martin@%'")" = "0|0"
check "forget: the forged message, someone else's, stays" test "$(mt_sql "SELECT count(*) FROM messages")" = 1
check "no sanitizer report in the daemon's log" bash -c "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' '$log'"
mt_done
