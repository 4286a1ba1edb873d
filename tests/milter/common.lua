-- Shared steps of the miltertest scenarios. The runner defines `port` (or `socketspec`) with -D
-- and loads this
-- file first; each scenario says what it checks and prints FAIL lines (a Lua error() exits 1
-- without a message).
failures = 0
function fail(what)
	print("FAIL " .. what)
	failures = failures + 1
end
function expect(condition, what)
	if not condition then fail(what) end
end
function open_connection()
	local spec = socketspec or ("inet:" .. port .. "@127.0.0.1")
	local conn = mt.connect(spec, 40, 0.25)
	if conn == nil then
		print("FAIL cannot connect to the filter on port " .. port)
		os.exit(1)
	end
	mt.conninfo(conn, "client.customer.test", "192.0.2.7")
	mt.helo(conn, "client.customer.test")
	return conn
end
-- Envelope and headers of one message, up to the end of headers.
function start_message(conn, queue_id, from, rcpts, message_id)
	mt.macro(conn, SMFIC_MAIL, "i", queue_id)
	mt.mailfrom(conn, from)
	for _, rcpt in ipairs(rcpts) do mt.rcptto(conn, rcpt) end
	mt.data(conn)
	if mt.getreply(conn) == SMFIR_ACCEPT then return false end
	mt.header(conn, "From", "Alice <alice@customer.test>")
	mt.header(conn, "To", "support@site.test")
	mt.header(conn, "Subject", "A question about prices")
	if message_id ~= nil then mt.header(conn, "Message-ID", message_id) end
	mt.eoh(conn)
	return true
end
function finish()
	if failures > 0 then os.exit(1) end
	print("PASS")
end
