#!/usr/bin/env python3
"""slow_scrapers.py - what scrapes that never read their answer cost a server (issue 23).

usage: slow_scrapers.py URL TOKEN PID CONNECTIONS [SECONDS]

Opens CONNECTIONS connections to URL's /metrics, each sending one GET (with TOKEN as its
bearer token unless TOKEN is "-") and never reading, as fast as it can; then waits until the
server's resident memory (/proc/PID/status VmRSS) has not grown for a second (at most
SECONDS, default 10). Meanwhile, and for as long again after, a normal scraper asks
/metrics over and over on a connection of its own and reads every answer. Prints one JSON
line: the answer's size, RSS before and after (KiB), the growth per connection, and the
normal scraper's latency (p50, max, ms); then reads every held connection's answer and
counts those that came whole (a 200 with as many bytes as its Content-Length). Any answer of the normal scraper other than 200,
or a connection refused, exits 1.
"""
import http.client
import json
import socket
import sys
import time
import urllib.parse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    sys.exit("slow_scrapers.py: no VmRSS")


def main():
    url, token, pid, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    limit = float(sys.argv[5]) if len(sys.argv) > 5 else 10.0
    u = urllib.parse.urlparse(url)
    auth = {} if token == "-" else {"Authorization": f"Bearer {token}"}
    normal = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    lat = []

    def scrape():
        t0 = time.perf_counter()
        normal.request("GET", "/metrics", headers=auth)
        r = normal.getresponse()
        body = r.read()
        lat.append((time.perf_counter() - t0) * 1000)
        if r.status != 200:
            sys.exit(f"slow_scrapers.py: GET /metrics: {r.status} {body[:200]!r}")
        return len(body)

    size = scrape()
    before = rss_kib(pid)
    head = f"GET /metrics HTTP/1.1\r\nHost: {u.hostname}\r\n"
    if token != "-":
        head += f"Authorization: Bearer {token}\r\n"
    head = (head + "\r\n").encode()
    held = []
    for _ in range(n):
        s = socket.socket()
        # the least receive buffer the kernel gives: the answer waits in the server
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((u.hostname, u.port))
        s.sendall(head)
        held.append(s)
    t_end = time.monotonic() + limit
    peak, still = rss_kib(pid), time.monotonic()
    while time.monotonic() < t_end and time.monotonic() - still < 1.0:
        scrape()
        now = rss_kib(pid)
        if now > peak:
            peak, still = now, time.monotonic()
    after = rss_kib(pid)
    # then every held connection reads its answer: each must be a whole 200
    whole = 0
    for s in held:
        s.settimeout(30)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = -1
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while 0 <= length and len(body) < length:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            body += chunk
        if head.startswith(b"HTTP/1.1 200 ") and len(body) == length and body.startswith(b"# HELP"):
            whole += 1
    lat.sort()
    print(json.dumps({
        "connections": n,
        "answer_bytes": size,
        "rss_before_kib": before,
        "rss_after_kib": max(after, peak),
        "growth_per_connection_kib": round((max(after, peak) - before) / n, 1),
        "answer_kib_times_connections": round(size * n / 1024),
        "whole_answers": whole,
        "normal_scrapes": len(lat),
        "normal_p50_ms": round(lat[len(lat) // 2], 2),
        "normal_max_ms": round(lat[-1], 2),
    }))
    for s in held:
        s.close()


main()
