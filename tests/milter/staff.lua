-- Mail that staff send to a correspondent: with watch_outbound = yes it is kept past DATA and
-- recorded as a staff message (staff_messages), never as a queued inbound message; staff writing
-- to a monitored mailbox is inbound mail as always; a stranger writing to a stranger is accepted
-- at DATA. With watch_outbound = no (-D watch=no) the staff message is accepted at DATA too.
conn = open_connection()
local watching = watch ~= "no"
local kept = start_message(conn, "QID0101", "<support@site.test>", {"<alice@customer.test>"}, "<s1@site.test>")
expect(kept == watching, watching and "a mailbox writing outside is kept past DATA"
	or "without watch_outbound a mailbox writing outside is accepted at DATA")
if kept then
	mt.bodystring(conn, "Hello Alice, I am looking into it.\r\n")
	mt.eom(conn)
	expect(mt.getreply(conn) == SMFIR_CONTINUE, "the staff message continues at end of message")
end
kept = start_message(conn, "QID0102", "<Bob@Site.Test>", {"<human@site.test>", "<Alice@Customer.Test>"}, "<s2@site.test>")
expect(kept == watching, "a staff_addresses sender writing outside is kept past DATA when watching")
if kept then
	mt.bodystring(conn, "Alice, see the attached offer.\r\n")
	mt.eom(conn)
	expect(mt.getreply(conn) == SMFIR_CONTINUE, "the second staff message continues")
end
expect(start_message(conn, "QID0103", "<bob@site.test>", {"<support@site.test>"}, "<s3@site.test>"),
	"staff writing to a monitored mailbox is inbound mail")
mt.bodystring(conn, "Internal question.\r\n")
mt.eom(conn)
expect(mt.getreply(conn) == SMFIR_CONTINUE, "the inbound message continues")
expect(not start_message(conn, "QID0104", "<carol@elsewhere.test>", {"<dave@customer.test>"}, "<s4@elsewhere.test>"),
	"a stranger writing to a stranger is accepted at DATA")
mt.disconnect(conn)
finish()
