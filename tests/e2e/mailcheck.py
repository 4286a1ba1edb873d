#!/usr/bin/env python3
"""Read one captured message and print a part of it, for the end-to-end tests.

    mailcheck.py FILE header NAME     every value of header NAME, decoded, one per line
    mailcheck.py FILE text            the decoded text of the first text/plain part
    mailcheck.py FILE types           the content types of all parts, one per line
    mailcheck.py FILE attached NAME   header NAME of the attached message/rfc822
    mailcheck.py FILE raw-headers     the header block as sent, undecoded
"""
import email
import email.policy
import sys


def main():
    path, what = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        data = f.read()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    if what == "header":
        for value in msg.get_all(sys.argv[3], []):
            print(str(value))
    elif what == "text":
        for part in msg.walk():
            if part.get_content_type() == "text/plain" and not part.is_attachment():
                sys.stdout.write(part.get_content())
                return
        sys.exit(1)
    elif what == "types":
        for part in msg.walk():
            print(part.get_content_type())
    elif what == "attached":
        for part in msg.walk():
            if part.get_content_type() == "message/rfc822":
                inner = part.get_payload()[0]
                for value in inner.get_all(sys.argv[3], []):
                    print(str(value))
                return
        sys.exit(1)
    elif what == "raw-headers":
        sys.stdout.write(data.split(b"\n\n", 1)[0].decode("ascii", "replace") + "\n")
    else:
        sys.exit(2)


if __name__ == "__main__":
    main()
