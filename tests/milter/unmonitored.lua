-- A message with no monitored recipient is accepted at DATA: no headers, no body, no row.
conn = open_connection()
expect(not start_message(conn, "QID0002", "<bob@customer.test>", {"<other@site.test>", "<x@elsewhere.test>"}, "<u1@customer.test>"),
	"accepted at DATA")
expect(mt.getreply(conn) == SMFIR_ACCEPT, "the DATA reply is accept")
mt.disconnect(conn)
finish()
