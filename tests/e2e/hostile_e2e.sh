#!/bin/bash
# Hostile mail end to end through a real Postfix, by both ways in: support@site.test is
# recorded by the milter (smtpd_milters) and delivered to its mailbox, sales@site.test goes
# through the pipe transport; the fake LLM writes forged lines (its forge mode) and sales@ is
# in draft mode, so that every message to it becomes an escalation with the model's proposal.
# For each message (NUL bytes, encoded CR LF in headers, 50 levels of MIME, a prompt
# injection, IDN and SMTPUTF8 senders): both rows settle (done, or failed with a reason);
# every mail Postfix delivered from us has our headers and the one recipient it was for, and
# an escalation's message/rfc822 part is the recorded original byte for byte; the original
# body reached the record unchanged; `mailtriagectl show` prints clean lines; no mail went to
# a third party; no sanitizer report in the daemon's or Postfix's log.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
MILTER_PORT=$(mt_free_port)
MT_SOCKET="inet:$MILTER_PORT@127.0.0.1"
MT_PF_MILTER="inet:127.0.0.1:$MILTER_PORT"
MT_MONITORED="sales@site.test" # through the pipe; support@ is delivered to its mailbox
MT_EXTRA_CONF="[mailbox sales@site.test]
escalate_to = human@site.test
mode = draft
intake = pipe"
mt_setup || { echo "1..1"; echo "not ok 1 - setup"; exit 1; }
mt_write_config "openai" "http://127.0.0.1:$MT_LLM_PORT/forge/v1" "$MT_SENDMAIL"
# The test instance has SMTPUTF8 off; this test sends from an internationalized address.
"$PF_POSTFIX_BIN/postconf" -c "$PF_DIR/etc" -e smtputf8_enable=yes &&
	"$PF_POSTFIX_BIN/postfix" -c "$PF_DIR/etc" reload >/dev/null 2>&1 ||
	not_ok "SMTPUTF8 turned on in the test Postfix"
# The milter must leave sales@ to the pipe: its [mailbox] says intake = pipe.
mt_start_daemon || not_ok "mailtriaged starts with the milter"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MILTER_PORT" 2>/dev/null
hostile="python3 $MT_SRC/tests/hostile.py"
chmod 755 "$MT_DIR"
mkdir -p "$MT_DIR/raw" && chmod 777 "$MT_DIR/raw"

settled() { # MESSAGE-ID: both rows are done, or failed with a reason
	[ "$(mt_sql "SELECT count(*) FROM messages WHERE message_id = '$1' AND (state = 'done' OR (state = 'failed' AND coalesce(last_error, '') != ''))")" = 2 ]
}
delivered_count() { find "$PF_DIR/capture" -type f -name '*.eml' | wc -l; }

# check_hostile NAME SENDER MESSAGE-ID
check_hostile() {
	local name=$1 sender=$2 mid=$3 file=$MT_SRC/tests/data/hostile/$1.eml before
	before=$(find "$PF_DIR/capture" -type f -name '*.eml' | LC_ALL=C sort)
	$hostile send "$PF_PORT" "$sender" "support@site.test,sales@site.test" "$file" > "$MT_DIR/send.out" 2>&1 ||
		{ not_ok "$name: Postfix took the message: $(tail -n 3 "$MT_DIR/send.out")"; return; }
	if wait_until 60 settled "$mid"; then
		ok "$name: recorded by the milter and the pipe, both settled: $(mt_sql "SELECT group_concat(intake || ' ' || state, ', ') FROM messages WHERE message_id = '$mid'")"
	else
		not_ok "$name: not settled: $(mt_sql "SELECT group_concat(intake || ' ' || state || ' ' || coalesce(last_error, ''), '; ') FROM messages WHERE message_id = '$mid'")"
		return
	fi
	# What we send is delivered in a moment; wait for the escalations (at least sales@'s).
	wait_until 30 test "$(delivered_count)" -gt "$(wc -l <<<"$before")"
	sleep 1
	local ids id problems=0 mail rcpt attached
	ids=$(mt_sql "SELECT id FROM messages WHERE message_id = '$mid'")
	for id in $ids; do
		mt_sql "SELECT writefile('$MT_DIR/raw/$id.eml', raw) FROM messages WHERE id = $id" >/dev/null
	done
	for mail in $(comm -13 <(echo "$before") <(find "$PF_DIR/capture" -type f -name '*.eml' | LC_ALL=C sort)); do
		rcpt=$(basename "$(dirname "$mail")")
		case $rcpt in
		human@site.test)
			attached=$MT_DIR/attached.eml
			$hostile attached "$mail" "$attached" || { echo "# $mail: no attachment"; problems=1; continue; }
			local matched=
			for id in $ids; do cmp -s "$attached" "$MT_DIR/raw/$id.eml" && matched=$id; done
			[ -n "$matched" ] || { echo "# $mail: the attachment is no recorded original"; problems=1; }
			$hostile check-mail "$mail" "$rcpt" "$MT_DIR/raw/${matched:-none}.eml" | sed 's/^/# /'
			[ "${PIPESTATUS[0]}" = 0 ] || problems=1 ;;
		support@site.test | sales@site.test) ;; # the inbound copy, delivered
		"$sender") $hostile check-mail "$mail" "$rcpt" | sed 's/^/# /'; [ "${PIPESTATUS[0]}" = 0 ] || problems=1 ;;
		*) echo "# a mail went to $rcpt"; problems=1 ;;
		esac
	done
	if [ "$problems" = 0 ]; then ok "$name: every mail we sent has our headers, one recipient, the original attached byte for byte"
	else not_ok "$name: a mail we sent is not as it must be"; fi
	# The body as sent is the end of what was recorded (Postfix and the milter add headers).
	local body=$MT_DIR/body.eml
	python3 -c 'import sys; d=open(sys.argv[1],"rb").read().replace(b"\r\n", b"\n"); sys.stdout.buffer.write(d.split(b"\n\n",1)[1])' "$file" > "$body"
	local kept=0
	for id in $ids; do
		tail -c "$(stat -c %s "$body")" "$MT_DIR/raw/$id.eml" | cmp -s - "$body" && kept=$((kept + 1))
	done
	check "$name: both records end with the body as sent, byte for byte" test "$kept" = 2
	local out clean=1
	for id in $ids; do
		out=$(mtctl show "$id" 2>&1)
		if grep -q $'\e' <<<"$out" || grep -Eq '^(To|Bcc|Cc): ' <<<"$out"; then clean=0; fi
	done
	check "$name: mailtriagectl show prints clean lines" test "$clean" = 1
}

check_hostile nul_bytes ann@customer.test nul@customer.test
check_hostile encoded_crlf_headers ann@customer.test crlf@customer.test
check_hostile nested_50 ann@customer.test nested50@customer.test
check_hostile prompt_injection_third_party ann@customer.test inject1@customer.test
check_hostile idn_sender juergen@xn--bcher-kva.example idn@xn--bcher-kva.example
check_hostile smtputf8_sender 'jürgen@bücher.example' 'smtputf8@bücher.example'
check "no mail to a third party the message or the model asked for" test -z "$(find "$PF_DIR/capture" -ipath '*evil.test*')"
check "mailtriaged stops cleanly on SIGTERM" mt_stop_daemon
check "no sanitizer report in the daemon's or Postfix's log" bash -c "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' '$MT_DIR/daemon.log' '$PF_DIR/maillog'"
mt_done
