-- The database is locked past busy_timeout: the reply follows on_error (the runner says which
-- reply it expects in `expected`: "continue" or "tempfail").
conn = open_connection()
start_message(conn, "QID0006", "<alice@customer.test>", {"<support@site.test>"}, "<locked@customer.test>")
mt.bodystring(conn, "the database is locked\r\n")
mt.eom(conn)
local reply = mt.getreply(conn)
if expected == "tempfail" then
	expect(reply == SMFIR_REPLYCODE or reply == SMFIR_TEMPFAIL, "a 4xx reply")
else
	expect(reply == SMFIR_CONTINUE or reply == SMFIR_ACCEPT, "accepted untriaged")
end
mt.disconnect(conn)
finish()
