-- One message to support@site.test while tests/e2e/faults_e2e.sh breaks something: the reply
-- must follow on_error. The runner defines `qid` (the MTA queue id, also the Message-ID's
-- local part), `kb` (the body's size in kB) and `expected`: "continue" or "tempfail".
conn = open_connection()
start_message(conn, qid, "<alice@customer.test>", {"<support@site.test>"}, "<" .. qid .. "@customer.test>")
local chunk = string.rep(string.rep("x", 1022) .. "\r\n", 32) -- 32 kB per body call
for _ = 1, math.max(1, math.floor(tonumber(kb) / 32)) do mt.bodystring(conn, chunk) end
mt.eom(conn)
local reply = mt.getreply(conn)
if expected == "tempfail" then
	expect(reply == SMFIR_REPLYCODE or reply == SMFIR_TEMPFAIL, "a 4xx reply")
else
	expect(reply == SMFIR_CONTINUE or reply == SMFIR_ACCEPT, "accepted")
end
mt.disconnect(conn)
finish()
