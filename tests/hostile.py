#!/usr/bin/env python3
"""Helpers of the hostile mail tests (tests/hostile.sh, tests/e2e/hostile_e2e.sh).

    hostile.py generate DIR
        Write the hostile messages too big to keep in the tree into DIR:
        many_headers.eml (2,000 header fields), long_header_line.eml (a 1 MB header
        line), long_body_line.eml (a 2 MB body line) and huge_body.eml (a 30 MB body).

    hostile.py check-mail FILE TO [ORIGINAL]
        FILE is a mail mailtriage sent (as sendmail got it, or as delivered, with the
        Return-Path and Delivered-To lines an MTA adds): its header names are ours only,
        To holds TO and no one else, there is no Cc or Bcc, and no decoded header value
        holds a line break or another control character. With ORIGINAL (an escalation),
        its message/rfc822 part, taken from the text as written, is ORIGINAL byte for
        byte; the lines above the proposed reply are our labels, each once; every line of
        the proposal is indented. Prints what is wrong and exits 1.

    hostile.py attached FILE OUT
        Write the message/rfc822 part of FILE, as written, to OUT.

    hostile.py send PORT FROM RCPT[,RCPT...] FILE
        Send FILE as it is over SMTP to 127.0.0.1:PORT (LF becomes CRLF on the wire and
        nothing is added, unlike swaks), with SMTPUTF8 when an address is not ASCII.
"""
import email
import email.policy
import os
import re
import smtplib
import sys

OUR_HEADERS = {
    "from", "to", "reply-to", "subject", "date", "message-id", "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding",
    "auto-submitted", "x-mailtriage-loop",
}
# What an MTA adds on the way (Postfix's sendmail and local delivery, the capture).
MTA_HEADERS = {"return-path", "delivered-to", "received", "x-original-to"}
LABELS = ["Mailbox:", "From:", "Envelope:", "Subject:", "Intent:", "Summary:", "Note:",
          "Why:", "Queue id:"]
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def generate(directory):
    os.makedirs(directory, exist_ok=True)
    start = (b"From: Ann <ann@customer.test>\nTo: support@site.test\n"
             b"Message-ID: <%s@customer.test>\n")

    def write(name, data):
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)

    fields = b"".join(b"X-Field-%d: value %d\n" % (i, i) for i in range(1997))
    write("many_headers.eml", start % b"many" + b"Subject: 2000 header fields\n" + fields
          + b"\nWhat is the price of the basic plan?\n")
    write("long_header_line.eml", start % b"longheader" + b"Subject: Prices "
          + b"x" * (1024 * 1024) + b"\n\nWhat is the price of the basic plan?\n")
    write("long_body_line.eml", start % b"longline" + b"Subject: one long line\n\n"
          + b"price " * (2 * 1024 * 1024 // 6) + b"\n")
    line = b"What is the price of the basic plan? " * 2 + b"\n"
    write("huge_body.eml", start % b"huge" + b"Subject: Prices, 30 MB\n\n"
          + line * (30 * 1024 * 1024 // len(line)))


def split_mta_lines(data):
    """DATA without the Return-Path and Delivered-To lines an MTA puts first."""
    while re.match(rb"(Return-Path|Delivered-To|X-Original-To):[^\n]*\n", data, re.I):
        data = data.split(b"\n", 1)[1]
    return data


def attached_bytes(data):
    """The message/rfc822 part of DATA as written, or None."""
    msg = email.message_from_bytes(data.split(b"\n\n", 1)[0] + b"\n\n",
                                   policy=email.policy.compat32)
    boundary = msg.get_boundary()
    if boundary is None:
        return None
    delimiter = b"\n--" + boundary.encode("ascii")
    pieces = data.split(delimiter)
    # pieces: preamble, part 1 (our text), part 2 (the original), the closing "--" and after.
    if len(pieces) < 4:
        return None
    part = pieces[2]
    head, sep, body = part.partition(b"\n\n")
    if not sep or b"message/rfc822" not in head.lower():
        return None
    return body


def check_text(msg, problems):
    """The escalation's text part: our labels above, the proposal indented."""
    text = None
    for part in msg.walk():
        if part.get_content_type() == "text/plain" and not part.is_attachment():
            text = part.get_content()
            break
    if text is None:
        problems.append("no text part")
        return
    lines = text.split("\n")
    i, label = 2, 0
    while i < len(lines) and lines[i] != "":
        while label < len(LABELS) and not lines[i].startswith(LABELS[label]):
            label += 1
        if label == len(LABELS):
            problems.append("a line above the proposal is not ours: %r" % lines[i])
            return
        label += 1
        i += 1
    for separator in ("----- Proposed reply -----", "----- Message text -----"):
        if lines.count(separator) > 1:
            problems.append("%r is there %d times" % (separator, lines.count(separator)))
    if "----- Proposed reply -----" in lines:
        j = lines.index("----- Proposed reply -----") + 1
        while j < len(lines) and lines[j] != "----- Message text -----":
            if lines[j] and not lines[j].startswith("    "):
                problems.append("a line of the proposal is not indented: %r" % lines[j])
            j += 1


def check_mail(path, to, original=None):
    with open(path, "rb") as f:
        data = split_mta_lines(f.read())
    msg = email.message_from_bytes(data, policy=email.policy.default)
    problems = []
    for name, value in msg.items():
        if name.lower() not in OUR_HEADERS | MTA_HEADERS:
            problems.append("header %r is not ours" % name)
        if CONTROL.search(str(value).replace("\t", " ")):
            problems.append("header %s holds a control character: %r" % (name, str(value)))
    if msg.get_all("cc") or msg.get_all("bcc"):
        problems.append("a Cc or Bcc header")
    addresses = [a.addr_spec for h in msg.get_all("to", []) for a in h.addresses]
    if addresses != [to]:
        problems.append("To is %r, not [%r]" % (addresses, to))
    if original is not None:
        with open(original, "rb") as f:
            expected = f.read()
        attached = attached_bytes(data)
        if attached is None:
            problems.append("no message/rfc822 part")
        elif attached != expected:
            problems.append("the attached original differs from %s (%d bytes, %d attached)"
                            % (original, len(expected), len(attached)))
        check_text(msg, problems)
    for problem in problems:
        print("%s: %s" % (path, problem))
    return not problems


def send(port, sender, rcpts, path):
    with open(path, "rb") as f:
        data = re.sub(rb"\r?\n", b"\r\n", f.read())  # as on the wire; a bare CR stays
    recipients = rcpts.split(",")
    options = [] if (sender + rcpts).isascii() else ["SMTPUTF8", "BODY=8BITMIME"]
    with smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.customer.test",
                      timeout=60) as smtp:
        refused = smtp.sendmail(sender, recipients, data, mail_options=options)
    if refused:
        print("refused: %r" % refused)
        sys.exit(1)


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "generate" and len(sys.argv) == 3:
        generate(sys.argv[2])
    elif what == "check-mail" and len(sys.argv) in (4, 5):
        sys.exit(0 if check_mail(*sys.argv[2:]) else 1)
    elif what == "attached" and len(sys.argv) == 4:
        with open(sys.argv[2], "rb") as f:
            attached = attached_bytes(split_mta_lines(f.read()))
        if attached is None:
            sys.exit(1)
        with open(sys.argv[3], "wb") as f:
            f.write(attached)
    elif what == "send" and len(sys.argv) == 6:
        send(*sys.argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(64)


if __name__ == "__main__":
    main()
