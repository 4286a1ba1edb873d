-- A mailbox with intake = pipe is left to the pipe transport: the milter accepts its mail at
-- DATA as if it were not monitored, and records nothing.
conn = open_connection()
expect(not start_message(conn, "QID0009", "<bob@customer.test>", {"<support@site.test>"}, "<i1@customer.test>"),
	"accepted at DATA")
expect(mt.getreply(conn) == SMFIR_ACCEPT, "the DATA reply is accept")
mt.disconnect(conn)
finish()
