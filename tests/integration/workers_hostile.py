#!/usr/bin/env python3
"""workers_hostile.py - what an outside attack on the workers found, kept as checks.

usage: workers_hostile.py PORT WHAT [ARGS...]
  pipelined CONNS PER      CONNS connections at once, each pipelining PER requests the
                           workers hand to the engine (GET /v1/flags, no token): prints how
                           many answers came back within 20 s, of CONNS*PER
  busy CONNS SECONDS TOKEN CONNS connections, each pipelining flag changes (PUT, which
                           the engine commits) five at a time, until SECONDS pass or
                           the server closes it: prints how many answers came
  fakebody                 a made-up token shaped like ours, a body announced and never
                           sent: prints the status line that came (or "none" after 3 s)
Loopback only, bounded time.
"""
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])


def pipelined(conns, per):
    req = b"GET /v1/flags HTTP/1.1\r\nHost: t\r\n\r\n" * per
    got = [0] * conns

    def one(i):
        s = socket.create_connection(("127.0.0.1", PORT))
        s.settimeout(20)
        buf = b""
        try:
            s.sendall(req)
            while buf.count(b"HTTP/1.1 ") < per:
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        except OSError:
            pass
        got[i] = buf.count(b"HTTP/1.1 ")
        s.close()
    ts = [threading.Thread(target=one, args=(i,)) for i in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(sum(got))


def busy(conns, seconds, token):
    flag = b'{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on"}'
    req = b"".join(b"PUT /v1/flags/busy-%d HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer %s\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (k, token.encode(), len(flag), flag)
                   for k in range(5))
    got = [0] * conns
    end = time.monotonic() + seconds

    def one(i):
        try:
            s = socket.create_connection(("127.0.0.1", PORT))
            s.settimeout(5)
            while time.monotonic() < end:
                s.sendall(req)
                buf = b""
                while buf.count(b"HTTP/1.1 ") < 5 or not buf.endswith(b"}"):
                    d = s.recv(65536)
                    if not d:
                        return
                    buf += d
                got[i] += 5
        except OSError:
            pass
    ts = [threading.Thread(target=one, args=(i,)) for i in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(sum(got))


def fakebody():
    s = socket.create_connection(("127.0.0.1", PORT))
    s.settimeout(3)
    tok = "sy_" + "ab" * 24
    s.sendall(f"PUT /v1/flags/x HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {tok}\r\n"
              f"Content-Length: 100000\r\n\r\n{{".encode())
    try:
        d = s.recv(4096)
        print(d.split(b"\r\n")[0].decode() if d else "closed")
    except socket.timeout:
        print("none")


if sys.argv[2] == "pipelined":
    pipelined(int(sys.argv[3]), int(sys.argv[4]))
elif sys.argv[2] == "busy":
    busy(int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
elif sys.argv[2] == "fakebody":
    fakebody()
