#!/usr/bin/env python3
"""demo-traffic.py - the `make run` demo's users: an application that asks switchyard which
variant each new user sees and reports what they did, as a real one would.

While the experiment runs (running, promoting or promoted), each second RATE new users
(demo-user-RUN-0, demo-user-RUN-1, ...: RUN is this process's start time, so that a restarted
demo brings new users rather than ones the experiment counted already, whose events would be
duplicates) are evaluated over OFREP (POST /ofrep/v1/evaluate/flags/FLAG, the experiment's
flag, with the user as targetingKey), and each one's exposure to the
variant OFREP answered, and a conversion for some of them, are sent to POST /v1/events:
the control converts 10 % of its users, every other variant 12.5 % (a user converts by a
hash of its name, so the same run gives the same numbers). Before the start and after the
end it waits, asking once a second. It stops when the server has been gone for 10 s, or on
SIGTERM. Each event has an id, so a batch retried after a lost answer counts once.

    demo-traffic.py URL TOKEN_FILE [EXPERIMENT] [RATE]
"""
import hashlib
import http.client
import json
import signal
import sys
import time
import urllib.parse

SERVING = {"running", "promoting", "promoted"}


class Server:
    def __init__(self, url, token):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port or 80
        self.token = token
        self.conn = None

    def call(self, method, path, body=None):
        """(status, parsed answer); status 0 when the server cannot be reached."""
        for attempt in (1, 2):  # a kept-alive connection the server closed: once more
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                data = json.dumps(body).encode() if body is not None else None
                self.conn.request(method, path, body=data, headers={
                    "Authorization": "Bearer " + self.token, "Content-Type": "application/json"})
                res = self.conn.getresponse()
                text = res.read()
                return res.status, json.loads(text) if text else None
            except (OSError, http.client.HTTPException, ValueError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
        return 0, None


def converts(unit, rate):
    h = int.from_bytes(hashlib.sha256(unit.encode()).digest()[:8], "big")
    return h / 2**64 < rate


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    url, token_file = sys.argv[1], sys.argv[2]
    key = sys.argv[3] if len(sys.argv) > 3 else "checkout-button"
    rate = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    with open(token_file) as f:
        token = f.read().strip()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = Server(url, token)
    path = "/v1/experiments/" + urllib.parse.quote(key, safe="")
    next_user, gone_since, control = 0, None, None
    run = "%x" % int(time.time())
    while True:
        tick = time.monotonic()
        status, exp = srv.call("GET", path)
        if status == 0:
            gone_since = gone_since or tick
            if tick - gone_since > 10:
                return
            time.sleep(1)
            continue
        gone_since = None
        if status != 200 or exp.get("state") not in SERVING:
            time.sleep(1)
            continue
        control = next(v["key"] for v in exp["variants"] if v.get("control"))
        events = []
        for _ in range(rate):
            unit = "demo-user-%s-%d" % (run, next_user)
            next_user += 1
            flag = exp.get("flag") or key
            st, ans = srv.call("POST", "/ofrep/v1/evaluate/flags/" + urllib.parse.quote(flag, safe=""),
                               {"context": {"targetingKey": unit}})
            variant = ans.get("variant") if st == 200 and ans else None
            if not variant:
                continue
            events.append({"type": "exposure", "unit": unit, "experiment": key, "variant": variant, "id": "x-" + unit})
            if converts(unit, 0.10 if variant == control else 0.125):
                events.append({"type": "outcome", "unit": unit, "experiment": key, "success": True, "id": "o-" + unit})
        if events:
            for _ in range(3):
                st, ans = srv.call("POST", "/v1/events", {"events": events})
                if st != 0:
                    break
            if st not in (0, 200):
                print("demo-traffic: events refused: %s %s" % (st, ans), file=sys.stderr)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
