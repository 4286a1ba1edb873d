#!/bin/bash
# Conversations end to end through a real Postfix with smtpd_milters and the fake LLM: a
# customer writes, is answered, answers our reply (one conversation: user, assistant, user);
# with watch_outbound = yes a person's mail to the customer, through the milter, makes the
# conversation human and the customer's next message gets no automatic reply; `conversation
# resume` makes it answered again; the same by `conversation note`, and by `conversation stop`;
# `conversation list` and `show` --json are valid JSON.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/e2e/mt-env.sh"
mt_skip_unless_ready
MILTER_PORT=$(mt_free_port)
MT_SOCKET="inet:$MILTER_PORT@127.0.0.1"
MT_PF_MILTER="inet:127.0.0.1:$MILTER_PORT"
MT_MONITORED="pipe-only@site.test" # the milter records help@site.test; Postfix delivers it
MT_DAEMON_EXTRA="watch_outbound = yes"
MT_EXTRA_CONF="[policy]
staff_addresses = agent@site.test
[mailbox help@site.test]
name = Site Help
escalate_to = human@site.test
intents = send_info, unknown
reply_interval = 0"
mt_setup || { echo "1..1"; echo "not ok 1 - setup"; exit 1; }
mt_start_daemon || not_ok "mailtriaged starts with the milter"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$MILTER_PORT" 2>/dev/null

# write FILE FROM TO MESSAGE-ID IN-REPLY-TO TEXT: a message, answering IN-REPLY-TO when set,
# with the subject $SUBJECT (Re: Prices, which the fake LLM takes for a price question).
write() {
	{
		printf 'From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s>\n' "$2" "$3" "${SUBJECT:-Re: Prices}" "$4"
		[ -n "$5" ] && printf 'In-Reply-To: <%s>\nReferences: <%s>\n' "$5" "$5"
		printf '\n%s\n\n> an old quote\n' "$6"
	} > "$MT_DIR/$1"
}
# the Message-ID of the last mail Postfix delivered to RCPT
last_id_to() { sed -n 's/^Message-ID: *<\(.*\)>$/\1/Ip' "$(pf_captured "$1" | tail -n 1)" | head -n 1; }
conversation_of() { mt_sql "SELECT conversation FROM messages WHERE message_id = '$1'"; }
roles() { mt_sql "SELECT group_concat(role, ' ') FROM (SELECT role FROM conversation_messages WHERE conversation = $1 ORDER BY created_at, id)"; }
status_of() { mt_sql "SELECT status FROM conversations WHERE id = $1"; }
replies_to() { mt_sql "SELECT count(*) FROM actions a JOIN messages m ON m.id = a.message WHERE m.message_id = '$1' AND a.kind = 'reply' AND a.state = 'sent'"; }
reason_of() { mt_sql "SELECT reason FROM actions a JOIN messages m ON m.id = a.message WHERE m.message_id = '$1' ORDER BY a.id DESC LIMIT 1"; }
# deliver FILE FROM: through Postfix to help@site.test, then wait for its processing.
deliver() {
	local id
	id=$(sed -n 's/^Message-ID: *<\(.*\)>$/\1/p' "$MT_DIR/$1")
	mt_send "$2" help@site.test "$MT_DIR/$1" && wait_until 60 mt_is_done "$id"
}
ANN=ann@customer.test

# 1. Ann writes and is answered; she answers our reply: one conversation, three entries.
write a1.eml "Ann <$ANN>" help@site.test a1@customer.test "" "What is the price of the basic plan?"
check "Ann's first message is processed" deliver a1.eml "$ANN"
check "Ann gets an automatic reply" pf_wait_captured "$ANN" 1 60
reply1=$(last_id_to "$ANN")
SUBJECT="Re: Thank you" write a2.eml "$ANN" help@site.test a2@customer.test "$reply1" "Thanks, that helps a lot."
check "Ann's answer to our reply is processed" deliver a2.eml "$ANN"
c=$(conversation_of a1@customer.test)
check "both of Ann's messages are in one conversation" test -n "$c" -a "$(conversation_of a2@customer.test)" = "$c"
out=$(mtctl conversation show "$c")
check "conversation show: three entries" grep -q "^history (3):$" <<<"$out"
check "conversation show: user, assistant, user, who said what" test \
	"$(grep -oE '^[0-9-]+ [0-9:]+  [a-z]+ <[^>]*>' <<<"$out" | cut -d' ' -f4-)" = \
	"$(printf 'user <%s>\nassistant <help@site.test>\nuser <%s>' "$ANN" "$ANN")"
check "conversation show: our reply with its Message-ID" grep -q "message-id <$reply1>" <<<"$out"
check "conversation show: Ann's new text, not the quote" grep -q "^    Thanks, that helps a lot.$" <<<"$out"
check "conversation show: the quote is left out" test -z "$(grep 'an old quote' <<<"$out")"

# 2. A person answers Ann from their own client, through the milter: the conversation is theirs.
write s1.eml "Agent <agent@site.test>" "$ANN" s1@site.test a2@customer.test "Hello Ann, I will look after you myself."
mt_send agent@site.test "$ANN" "$MT_DIR/s1.eml"
check "the person's mail reaches Ann (the milter lets it through)" pf_wait_captured "$ANN" 2 60
check "the milter recorded it as a staff message, not as inbound" wait_until 30 test \
	"$(mt_sql "SELECT count(*) FROM staff_messages WHERE message_id = 's1@site.test'")$(mt_sql "SELECT count(*) FROM messages WHERE message_id = 's1@site.test'")" = 10
check "the daemon folded it into Ann's conversation" wait_until 30 test \
	"$(mt_sql "SELECT conversation FROM staff_messages WHERE message_id = 's1@site.test' AND processed_at IS NOT NULL")" = "$c"
check "the conversation is now human" test "$(status_of "$c")" = human
check "its history ends with the person's words" test "$(roles "$c")" = "user assistant user human"
write a3.eml "$ANN" help@site.test a3@customer.test s1@site.test "Great, and what is the price of the pro plan?"
check "Ann's next message is processed" deliver a3.eml "$ANN"
check "it joins the conversation (it answers the person)" test "$(conversation_of a3@customer.test)" = "$c"
check "a human conversation: no automatic reply" test "$(replies_to a3@customer.test)" = 0
check "a human conversation: the reason says so" grep -q "conversation $c is handled by a person (mailtriagectl conversation resume $c)" <<<"$(reason_of a3@customer.test)"

# 3. Resume: answered again; stop: not; resume again.
check "conversation resume exits 0" mtctl conversation resume "$c"
write a4.eml "$ANN" help@site.test a4@customer.test a3@customer.test "One more: the price of the team plan?"
check "after resume, Ann's message is processed" deliver a4.eml "$ANN"
check "after resume, Ann is answered automatically again" test "$(replies_to a4@customer.test)" = 1
check "conversation stop exits 0" mtctl conversation stop "$c"
write a5.eml "$ANN" help@site.test a5@customer.test a4@customer.test "And the price for schools?"
check "after stop, Ann's message is processed" deliver a5.eml "$ANN"
check "after stop, no automatic reply" test "$(replies_to a5@customer.test)" = 0
check "after stop, the reason names it" grep -q "conversation $c was stopped (mailtriagectl conversation resume $c)" <<<"$(reason_of a5@customer.test)"

# 4. The same takeover by a note.
write b1.eml "Bea <bea@customer.test>" help@site.test b1@customer.test "" "What is the price of the basic plan?"
check "Bea's first message is processed and answered" deliver b1.eml bea@customer.test
check "Bea gets an automatic reply" pf_wait_captured bea@customer.test 1 60
reply_b=$(last_id_to bea@customer.test)
cb=$(conversation_of b1@customer.test)
check "Bea's conversation is another one" test -n "$cb" -a "$cb" != "$c"
printf 'From: agent@site.test\nSubject: phone call\n\nCalled Bea: she wants an offer by post.\n' > "$MT_DIR/note.eml"
chmod 644 "$MT_DIR/note.eml"
check "conversation note exits 0" mtctl conversation note "$cb" --file "$MT_DIR/note.eml"
check "after the note the conversation is human" test "$(status_of "$cb")" = human
write b2.eml bea@customer.test help@site.test b2@customer.test "$reply_b" "Fine, and the price of the pro plan?"
check "Bea's answer is processed" deliver b2.eml bea@customer.test
check "after a note: no automatic reply" test "$(replies_to b2@customer.test)" = 0
check "conversation resume after a note exits 0" mtctl conversation resume "$cb"
write b3.eml bea@customer.test help@site.test b3@customer.test b2@customer.test "The price of the team plan?"
check "Bea's next message is processed" deliver b3.eml bea@customer.test
check "resumed after a note: answered" test "$(replies_to b3@customer.test)" = 1

# 5. JSON for scripts.
check "conversation list --json is valid JSON with both conversations" python3 -c '
import json, sys
rows = json.loads(sys.argv[1])
assert sorted(r["id"] for r in rows) == sorted([int(sys.argv[2]), int(sys.argv[3])]), rows
' "$(mtctl --json conversation list)" "$c" "$cb"
check "conversation show --json is valid JSON with the whole history" python3 -c '
import json, sys
c = json.loads(sys.argv[1])
roles = [e["role"] for e in c["entries"]]
assert roles == ["user", "assistant", "user", "human", "user", "user", "assistant", "user"], roles
assert c["status"] == "stopped", c["status"]
' "$(mtctl --json conversation show "$c")"
check "mailtriaged stops cleanly on SIGTERM" mt_stop_daemon
check "no sanitizer report in the daemon's log" bash -c "! grep -q -e 'ERROR: AddressSanitizer' -e 'runtime error:' -e 'LeakSanitizer' '$MT_DIR/daemon.log'"
mt_done
