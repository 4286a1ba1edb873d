-- A message over max_message_size (64k here) is recorded cut, marked truncated.
conn = open_connection()
start_message(conn, "QID0003", "<alice@customer.test>", {"<support@site.test>"}, "<big@customer.test>")
local line = string.rep("x", 98) .. "\r\n"
local chunk = string.rep(line, 400) -- 40,000 bytes
for i = 1, 5 do
	mt.bodystring(conn, chunk)
	local reply = mt.getreply(conn)
	expect(reply == SMFIR_CONTINUE or reply == SMFIR_SKIP, "body chunk " .. i .. " continues or skips")
end
mt.eom(conn)
expect(mt.getreply(conn) == SMFIR_CONTINUE or mt.getreply(conn) == SMFIR_ACCEPT, "end of message continues")
mt.disconnect(conn)
finish()
