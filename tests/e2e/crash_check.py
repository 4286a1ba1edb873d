#!/usr/bin/env python3
"""Check a mailtriage database against the mail a Postfix capture received, after crashes.

Usage: crash_check.py DATABASE CAPTURE_DIR

Reads the messages, actions and drafts of DATABASE (read-only) and every captured message of
ours (those with an X-Mailtriage-Loop header) under CAPTURE_DIR/<recipient>/*.eml, and prints:

    # ...            counts, to be quoted (TAP comments)
    PASS name        a property that holds
    FAIL name: why   a property that does not

The properties: no message is left queued or working; a failed message says why; a held
message names, in its reason, the mail whose outcome is unknown (message-id=<...>) and how to
send it again; no recipient got the same mail twice (same In-Reply-To, or for mail to a person
the same attached original); every mail recorded as sent arrived exactly once; every mail that
arrived is one the database knows; a draft left in state sending says its outcome is unknown.
"""
import collections
import email
import email.policy
import os
import re
import sqlite3
import sys


def captured(capture_dir):
    """(recipient, message-id, key) of every captured mail of ours."""
    mails = []
    for rcpt in sorted(os.listdir(capture_dir)):
        folder = os.path.join(capture_dir, rcpt)
        for name in sorted(os.listdir(folder)):
            if name.startswith(".") or not name.endswith(".eml"):
                continue
            with open(os.path.join(folder, name), "rb") as f:
                msg = email.message_from_bytes(f.read(), policy=email.policy.default)
            if msg.get("X-Mailtriage-Loop") is None:
                continue  # the original delivered to a mailbox, not ours
            key = str(msg.get("In-Reply-To") or "")
            if not key:
                for part in msg.walk():
                    if part.get_content_type() == "message/rfc822":
                        key = "original " + str(part.get_payload()[0].get("Message-ID"))
                        break
            mails.append((rcpt, str(msg.get("Message-ID", "")).strip("<> "), key))
    return mails


def main():
    db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
    db.execute("PRAGMA busy_timeout = 5000")
    mails = captured(sys.argv[2])
    messages = db.execute("SELECT id, state, last_error FROM messages").fetchall()
    actions = db.execute("SELECT message, kind, state, outgoing_message_id, started_at"
                         " FROM actions WHERE kind != 'none' AND kind != 'webhook'").fetchall()
    drafts = db.execute("SELECT id, state, outgoing_message_id, error FROM drafts").fetchall()
    failures = []

    states = collections.Counter(state for _, state, _ in messages)
    print("# messages: %d (%s)" % (len(messages), ", ".join(
        "%s %d" % (s, states[s]) for s in ("done", "failed", "held", "queued", "working"))))
    per_rcpt = collections.Counter(rcpt for rcpt, _, _ in mails)
    people = {r: n for r, n in per_rcpt.items() if not r.endswith("@customer.test")}
    customers = [n for r, n in per_rcpt.items() if r.endswith("@customer.test")]
    print("# mails of ours delivered: %d, to %d recipients; customers with 1 mail: %d, with 2 or "
          "more: %d; %s" % (len(mails), len(per_rcpt), customers.count(1),
                            len([n for n in customers if n > 1]),
                            ", ".join("%s %d" % kv for kv in sorted(people.items()))))

    left = [str(i) for i, state, _ in messages if state in ("queued", "working")]
    if left:
        failures.append("no message left queued or working: " + " ".join(left))
    for i, state, why in messages:
        if state == "failed" and not why:
            failures.append("a failed message says why: message %d" % i)

    delivered = collections.Counter(mid for _, mid, _ in mails)
    unknown = {}
    for message, kind, state, mid, started in actions:
        if state == "sent" and delivered[mid] != 1:
            failures.append("every mail recorded as sent arrived once: the %s of message %d "
                            "<%s> arrived %d times" % (kind, message, mid, delivered[mid]))
        if state == "pending" and started is not None:
            unknown.setdefault(message, []).append(mid)
    held = 0
    for i, state, why in messages:
        if state != "held":
            continue
        held += 1
        named = re.search(r"message-id=<([^>]+)>", why or "")
        if (named is None or named.group(1) not in unknown.get(i, [])
                or "mailtriagectl retry %d" % i not in why):
            failures.append("a held message names its mail and the retry: message %d: %s"
                            % (i, why))
        elif delivered[named.group(1)] > 1:
            failures.append("a held mail arrived at most once: message %d" % i)
    print("# held messages: %d, their mail arrived: %d" % (held, sum(
        1 for ids in unknown.values() for mid in ids if delivered[mid] == 1)))

    for i, state, mid, why in drafts:
        if state == "sent" and delivered[mid] != 1:
            failures.append("an approved draft arrived once: draft %d arrived %d times"
                            % (i, delivered[mid]))
        if state == "sending" and "outcome unknown" not in (why or ""):
            failures.append("a draft left sending says its outcome is unknown: draft %d" % i)
    print("# drafts: %s" % ", ".join("%s %d" % kv for kv in sorted(
        collections.Counter(state for _, state, _, _ in drafts).items())))

    known = {mid for _, _, _, mid, _ in actions} | {mid for _, _, mid, _ in drafts}
    strangers = [mid for mid in delivered if mid not in known]
    if strangers:
        failures.append("every mail that arrived is one the database knows: " + " ".join(strangers))
    twice = [(r, k, n) for (r, k), n in collections.Counter((r, k) for r, _, k in mails).items()
             if n > 1]
    for rcpt, key, n in twice:
        failures.append("no recipient got a mail twice: %s got %d for %s" % (rcpt, n, key))

    names = ["no message left queued or working", "a failed message says why",
             "every mail recorded as sent arrived once", "a held message names its mail and the retry",
             "a held mail arrived at most once", "an approved draft arrived once",
             "a draft left sending says its outcome is unknown",
             "every mail that arrived is one the database knows", "no recipient got a mail twice"]
    for name in names:
        bad = [f for f in failures if f.startswith(name)]
        print("FAIL %s" % bad[0] if bad else "PASS %s" % name)
        for more in bad[1:5]:
            print("# also: %s" % more)


if __name__ == "__main__":
    main()
