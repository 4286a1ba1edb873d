-- Body chunks in CRLF become LF in the record, also when a CR ends one chunk and its LF starts
-- the next; a CR that is not before an LF is kept.
conn = open_connection()
expect(start_message(conn, "QID0001", "<alice@customer.test>", {"<support@site.test>"}, "<crlf@customer.test>"),
	"a monitored recipient must not be accepted at DATA")
mt.bodystring(conn, "one\r\ntwo\r")
mt.bodystring(conn, "\nthree\r")
mt.bodystring(conn, "four\rfive\r\r\n")
mt.eom(conn)
expect(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT, "end of message continues")
mt.disconnect(conn)
finish()
