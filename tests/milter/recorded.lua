-- A message to a monitored mailbox is recorded at end of message and let through.
conn = open_connection()
expect(start_message(conn, "QID0001", "<alice@customer.test>", {"<Support@Site.Test>"}, "<m1@customer.test>"),
	"a monitored recipient must not be accepted at DATA")
mt.bodystring(conn, "What does the pro plan cost?\r\nAlice\r\n")
mt.eom(conn)
expect(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT, "end of message continues")
expect(not mt.eom_check(conn, MT_HDRADD, "X-Mailtriage-Id"), "no header unless add_header is set")
mt.disconnect(conn)
finish()
