"""smtp_receiver.py - a loopback SMTP server (Debian's python3-aiosmtpd) for the
notification tests: writes every message as one JSON line {mail_from, rcpt_tos, data}.

    /usr/bin/python3 smtp_receiver.py PORT LOG
"""
import json
import signal
import sys
import time

from aiosmtpd.controller import Controller


class Record:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"mail_from": envelope.mail_from,
                                "rcpt_tos": envelope.rcpt_tos,
                                "data": envelope.content.decode("utf-8", "replace")}) + "\n")
        return "250 OK"


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    c = Controller(Record(log), hostname="127.0.0.1", port=port)
    c.start()
    print(c.port if hasattr(c, "port") else port, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (c.stop(), sys.exit(0)))
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
