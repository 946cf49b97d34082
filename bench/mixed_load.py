#!/usr/bin/env python3
"""mixed_load.py - the control-plane load of bench/mixed.sh, open-loop at fixed rates.

usage: mixed_load.py URL TOKEN SECONDS [--events-per-s N] [--batch N] [--events-url URL]...
                     [--changes-per-s N] [--flags N] [--experiment KEY]
                     [--scrape-every S [--scrape-url URL]]

Posts batches of `--batch` events to /v1/events at a fixed offered rate (events per
second; a batch goes every batch/rate seconds, whether or not the last one was answered:
open loop, so a slow server is not let off with less work) and PUTs one of `--flags`
flags (flag-0 ... flag-N-1) `--changes-per-s` times a second (events go to each
`--events-url`, several nodes of one database, the rate shared among them; to URL when
none is given), and GETs /metrics every
`--scrape-every` seconds (with TOKEN, or on `--scrape-url`, a --metrics-listen address,
without), each on its own thread and connection. Prints one JSON line: what was sent and answered, and how far behind the
schedule the senders fell.
"""
import argparse
import http.client
import json
import threading
import time
import urllib.parse


def connect(url):
    u = urllib.parse.urlparse(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def paced(rate, seconds, send, out):
    """Calls send() `rate` times a second for `seconds`, open loop."""
    start = time.monotonic()
    i, late = 0, 0.0
    while True:
        due = start + i / rate
        now = time.monotonic()
        if due - start >= seconds:
            break
        if now < due:
            time.sleep(due - now)
        else:
            late = max(late, now - due)
        send(i)
        i += 1
    out["late_s"] = round(late, 3)


def events(url, token, exp, rate, batch, seconds, out):
    conn = connect(url)
    bodies = []
    for b in range(16):  # different units per body; repeats are counted again, as outcomes
        evs = []
        for k in range(batch // 2):
            unit = f"u{b}-{k}"
            evs.append({"type": "exposure", "unit": unit, "experiment": exp,
                        "variant": "a" if k % 2 else "b"})
            evs.append({"type": "outcome", "unit": unit, "experiment": exp,
                        "success": k % 3 == 0})
        bodies.append(json.dumps({"events": evs}).encode())
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    out.update(batches=0, ok=0, events=0)

    def send(i):
        conn.request("POST", "/v1/events", bodies[i % len(bodies)], head)
        r = conn.getresponse()
        r.read()
        out["batches"] += 1
        if r.status == 200:
            out["ok"] += 1
            out["events"] += batch
    paced(rate / batch, seconds, send, out)


def changes(url, token, rate, n_flags, seconds, out):
    conn = connect(url)
    head = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    out.update(sent=0, ok=0)

    def send(i):
        flag = {"state": "ENABLED", "variants": {"on": True, "off": False},
                "defaultVariant": "on" if i % 2 else "off"}
        conn.request("PUT", f"/v1/flags/flag-{(i * 7919) % n_flags}", json.dumps(flag), head)
        r = conn.getresponse()
        r.read()
        out["sent"] += 1
        out["ok"] += r.status in (200, 201)
    paced(rate, seconds, send, out)


def scrapes(url, token, every, seconds, out):
    conn = connect(url)
    head = {"Authorization": f"Bearer {token}"} if token else {}
    times, size = [], 0
    out.update(sent=0, ok=0)

    def send(i):
        nonlocal size
        t = time.perf_counter()
        conn.request("GET", "/metrics", headers=head)
        r = conn.getresponse()
        body = r.read()
        times.append(time.perf_counter() - t)
        size = max(size, len(body))
        out["sent"] += 1
        out["ok"] += r.status == 200
    paced(1 / every, seconds, send, out)
    times.sort()
    if times:
        out.update(p50_ms=round(times[len(times) // 2] * 1e3, 1),
                   max_ms=round(times[-1] * 1e3, 1), bytes=size)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("token")
    p.add_argument("seconds", type=float)
    p.add_argument("--events-per-s", type=float, default=0)
    p.add_argument("--batch", type=int, default=2000)
    p.add_argument("--events-url", action="append", default=[])
    p.add_argument("--changes-per-s", type=float, default=0)
    p.add_argument("--flags", type=int, default=10000)
    p.add_argument("--experiment", default="bench")
    p.add_argument("--scrape-every", type=float, default=0)
    p.add_argument("--scrape-url")
    a = p.parse_args()
    res, threads = {}, []
    urls = a.events_url or [a.url]
    ingest = [{} for _ in urls] if a.events_per_s else []
    for url, out in zip(urls, ingest):
        threads.append(threading.Thread(target=events, args=(
            url, a.token, a.experiment, a.events_per_s / len(urls), a.batch, a.seconds, out)))
    if a.changes_per_s:
        res["changes"] = {}
        threads.append(threading.Thread(target=changes, args=(
            a.url, a.token, a.changes_per_s, a.flags, a.seconds, res["changes"])))
    if a.scrape_every:
        res["scrapes"] = {}
        threads.append(threading.Thread(target=scrapes, args=(
            a.scrape_url or a.url, "" if a.scrape_url else a.token, a.scrape_every, a.seconds,
            res["scrapes"])))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if ingest:  # the senders' counts summed, the latest of them
        res["ingest"] = {k: sum(o[k] for o in ingest) for k in ("batches", "ok", "events")}
        res["ingest"]["late_s"] = max(o["late_s"] for o in ingest)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
