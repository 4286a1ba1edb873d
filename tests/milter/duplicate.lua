-- The same message twice (a client retrying after a 4xx): the second copy is a duplicate.
conn = open_connection()
for attempt = 1, 2 do
	start_message(conn, "QID001" .. attempt, "<alice@customer.test>", {"<support@site.test>"}, "<twice@customer.test>")
	mt.bodystring(conn, "sent twice\r\n")
	mt.eom(conn)
end
mt.disconnect(conn)
finish()
