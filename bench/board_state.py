#!/usr/bin/env python3
"""board_state.py - the experiments a /metrics scrape has to show, for bench/metrics.sh and
bench/mixed.sh's scrape mode.

usage: board_state.py URL TOKEN EXPERIMENTS [UNITS]

Creates and starts EXPERIMENTS experiments (exp-0 ... exp-N-1, two variants, each on a flag
of its own that the creation adds), then posts UNITS units (default 20) of each as events:
an exposure to either variant and an outcome, in batches of 2,000 events, so that every
experiment has counts, a comparison and a sequential test to export. One keep-alive
connection, one request at a time. Prints one JSON line: what it made and how long it took.
Any unexpected answer exits 1.
"""
import http.client
import json
import sys
import time
import urllib.parse


def main():
    url, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    units = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(method, path, body, want):
        conn.request(method, path, json.dumps(body) if body is not None else None, head)
        r = conn.getresponse()
        text = r.read()
        if r.status != want:
            sys.exit(f"board_state.py: {method} {path}: {r.status} {text[:300]!r}")

    t0 = time.perf_counter()
    for i in range(n):
        key = f"exp-{i}"
        call("POST", "/v1/experiments", {
            "key": key, "variants": [{"key": "control", "weight": 50, "control": True},
                                     {"key": "treatment", "weight": 50}]}, 201)
        call("POST", f"/v1/experiments/{key}/start", None, 200)
    t1 = time.perf_counter()
    events, sent = [], 0
    for i in range(n):
        for k in range(units):
            unit = f"u{k}"
            events.append({"type": "exposure", "unit": unit, "experiment": f"exp-{i}",
                           "variant": "treatment" if k % 2 else "control"})
            events.append({"type": "outcome", "unit": unit, "experiment": f"exp-{i}",
                           "success": (k + i) % 3 == 0})
            if len(events) >= 2000:
                call("POST", "/v1/events", {"events": events}, 200)
                sent += len(events)
                events = []
    if events:
        call("POST", "/v1/events", {"events": events}, 200)
        sent += len(events)
    t2 = time.perf_counter()
    print(json.dumps({"experiments": n, "events": sent,
                      "create_start_s": round(t1 - t0, 1), "events_s": round(t2 - t1, 1)}))


if __name__ == "__main__":
    main()
