"""hostile.py - the hostile clients and the upstreams of proxy_hostile.sh, on loopback.

    python3 hostile.py slow-upstream                 reads a POST's body 1 KiB per 0.5 s (never
                                                     answers it); answers a GET /big/N with N
                                                     bytes at once, another GET with none
    python3 hostile.py strict-upstream LOG           frames requests by CR LF only, with
                                                     Content-Length or chunked (RFC 9112): one
                                                     line "METHOD PATH BODY_LEN" in LOG per
                                                     request it parsed whole, then a 200
    python3 hostile.py upload PORT N BYTES MODE      N clients each POSTing BYTES (MODE: length
                                                     or chunked) as fast as they are taken
    python3 hostile.py download PORT N PATH          N clients that GET PATH and never read
    python3 hostile.py dribble PORT N EVERY SECONDS  N heads sent one byte per EVERY seconds,
                                                     for SECONDS: how each one ended
    python3 hostile.py slow-body PORT LENGTH RATE S  a body at RATE bytes/s: status and when
    python3 hostile.py idle PORT SECONDS             a connection sending nothing: when closed
    python3 hostile.py smuggle PORT                  bare-LF chunked bodies hiding a request

The servers print their port, then serve until killed. Every wait is bounded.
"""
import re
import socket
import sys
import threading
import time


def listen(rcvbuf=None):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:  # before listen(): the accepted sockets inherit it
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("127.0.0.1", 0))
    s.listen(256)
    print(s.getsockname()[1], flush=True)
    return s


def serve(handler, *args, rcvbuf=None):
    s = listen(rcvbuf)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handler, args=(c,) + args, daemon=True).start()


def read_head(c, buf):
    """The head at the start of buf (more read from c as needed), and what follows it."""
    while b"\r\n\r\n" not in buf:
        got = c.recv(65536)
        if not got:
            return None, buf
        buf += got
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


# ---- the slow upstream ---------------------------------------------------------------------

def slow_conn(c):
    try:
        head, _ = read_head(c, b"")
        m = re.match(r"GET (/big/(\d+))?", head or "")
        if m:
            n = int(m.group(2) or 0)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n)
            block = b"x" * 65536
            while n > 0:
                k = min(n, len(block))
                c.sendall(block[:k])
                n -= k
            return
        while head is not None:
            time.sleep(0.5)
            if not c.recv(1024):
                return
    except OSError:  # the proxy gave up on it
        pass
    finally:
        c.close()


# ---- the CR LF-strict upstream -------------------------------------------------------------

class Strict:
    """Reads exactly what RFC 9112 frames, lines ending in CR LF only; chunk extensions are
    skipped up to the CR LF, as many servers do."""

    def __init__(self, c):
        self.c, self.buf = c, b""

    def fill(self):
        got = self.c.recv(65536)
        if not got:
            raise EOFError
        self.buf += got

    def line(self):
        while b"\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ValueError("line too long")
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def request(self):
        start = self.line().decode("latin-1")
        fields = {}
        while True:
            line = self.line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()
        method, path, _ = start.split(" ", 2)
        if fields.get("transfer-encoding", "").lower() == "chunked":
            body = 0
            while True:
                size = int(re.match(rb"[0-9a-fA-F]+", self.line()).group(0), 16)
                if size == 0:
                    while self.line():  # the trailers
                        pass
                    break
                body += len(self.take(size))
                if self.take(2) != b"\r\n":
                    raise ValueError("chunk not ended by CR LF")
            return method, path, body
        n = int(fields.get("content-length", "0"))
        self.take(n)
        return method, path, n


def strict_conn(c, log):
    r = Strict(c)
    try:
        while True:
            method, path, n = r.request()
            with open(log, "a") as f:
                f.write("%s %s %d\n" % (method, path, n))
            body = b'{"upstream":"strict"}'
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    except (EOFError, ValueError, AttributeError, OSError):
        pass
    finally:
        c.close()


# ---- the clients ---------------------------------------------------------------------------

def connect(port, rcvbuf=None):
    c = socket.socket()
    if rcvbuf:  # before connect(): the window follows it
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    c.settimeout(30)
    c.connect(("127.0.0.1", port))
    return c


def upload(port, n, size, mode):
    """Prints every 0.5 s "SENT ENDED": the bytes the clients got rid of, and how many of
    them the proxy answered or closed."""
    sent, ended = [0] * n, [False] * n

    def one(i):
        try:
            c = connect(port)
            c.settimeout(None)
            if mode == "chunked":
                c.sendall(b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
                block = b"%x\r\n%s\r\n" % (65536, b"y" * 65536)
            else:
                c.sendall(b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size)
                block = b"y" * 65536
            while sent[i] < size:
                c.sendall(block)
                sent[i] += 65536
            c.recv(1)
        except OSError:
            pass
        ended[i] = True

    for i in range(n):
        threading.Thread(target=one, args=(i,), daemon=True).start()
    while True:  # until killed
        time.sleep(0.5)
        print(sum(sent), sum(ended), flush=True)


def download(port, n, path):
    conns = []
    for _ in range(n):
        c = connect(port, rcvbuf=4096)
        c.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
        conns.append(c)
    print("started", flush=True)
    while True:
        time.sleep(1)


def dribble(port, n, every, seconds):
    """Each connection sends a head that never ends, a byte at a time; prints per connection
    "closed AT STATUS" (what it got and after how long) or "open"."""
    t0 = time.monotonic()
    conns, ends = [], {}
    for _ in range(n):
        c = connect(port)
        c.setblocking(False)
        conns.append(c)
    head = b"GET /dribble HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"z" * 100000
    k = 0
    while time.monotonic() - t0 < seconds and len(ends) < n:
        for i, c in enumerate(conns):
            if i in ends:
                continue
            got = b""
            try:
                got = c.recv(4096)
                closed = True
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            if not closed:
                try:
                    c.send(head[k:k + 1])
                except BlockingIOError:
                    pass
                except OSError:
                    closed = True
            if closed:
                status = got.split(b" ")[1].decode() if got.startswith(b"HTTP/") else "closed"
                ends[i] = (time.monotonic() - t0, status)
        k += 1
        time.sleep(every)
    for i in range(n):
        if i in ends:
            print("closed %.2f %s" % ends[i])
        else:
            print("open")


def slow_body(port, length, rate, seconds):
    """A POST of `length` bytes whose body comes at `rate` bytes/s; prints "STATUS AFTER_S
    SENT CODE" for the answer, CODE its JSON error's (or "closed", or "none" after
    `seconds`)."""
    t0 = time.monotonic()
    c = connect(port)
    c.sendall(b"POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % length)
    c.setblocking(False)
    sent, step = 0, max(1, rate // 10)
    while time.monotonic() - t0 < seconds:
        try:
            got = c.recv(4096)
            status = got.split(b" ")[1].decode() if got.startswith(b"HTTP/") else "closed"
            code = re.search(rb'"error":\{"code":"(\w+)"', got)
            print("%s %.2f %d %s" % (status, time.monotonic() - t0, sent,
                                     code.group(1).decode() if code else "-"))
            return
        except BlockingIOError:
            pass
        except OSError:
            print("closed %.2f %d" % (time.monotonic() - t0, sent))
            return
        try:
            if sent < length:
                sent += c.send(b"b" * min(step, length - sent))
        except (BlockingIOError, OSError):
            pass
        time.sleep(0.1)
    print("none %.2f %d" % (time.monotonic() - t0, sent))


def idle(port, seconds):
    """A connection that sends nothing: prints "closed AFTER_S BYTES_GOT" or "open"."""
    t0 = time.monotonic()
    c = connect(port)
    c.settimeout(seconds)
    try:
        got = c.recv(4096)
        print("closed %.2f %d" % (time.monotonic() - t0, len(got)))
    except socket.timeout:
        print("open")
    except OSError:
        print("closed %.2f 0" % (time.monotonic() - t0))


def exchange(port, data):
    """Sends data on a new connection; the status lines of what comes back until the end."""
    c = connect(port)
    c.settimeout(5)
    c.sendall(data)
    got = b""
    try:
        while True:
            k = c.recv(65536)
            if not k:
                break
            got += k
    except OSError:
        pass
    return [m.decode() for m in re.findall(rb"HTTP/1\.1 (\d\d\d)", got)]


def smuggle(port):
    """Chunked bodies with a bare LF where RFC 9112 wants CR LF. To a reader that takes a bare
    LF as a line's end the first two are one request whose chunk of 0x45 bytes holds the rest;
    to a CR LF reader "2;\nAB" (or "2\nAB") is one size line, its chunk is "45", and the
    0x45 bytes hold the last chunk and a whole request, POST /smuggled. The last two are only
    malformed. The proxy must refuse each before the upstream can read it whole. Prints the
    statuses got, one line per try."""
    head = b"POST /hook HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    tail = b"\r\n0\r\n\r\n"  # after the 0x45 bytes: the hidden request's body to a CR LF reader
    for cl in range(10, 100):
        hidden = b"POST /smuggled HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % cl
        pad = 0x45 - len(b"0\r\n\r\n") - len(hidden)
        if pad + len(tail) == cl:
            break
    chunk = b"0\r\n\r\n" + hidden + b"P" * pad
    assert len(chunk) == 0x45
    tries = [head + b"2;\nAB\r\n45\r\n" + chunk + tail,
             head + b"2\nAB\r\n45\r\n" + chunk + tail,
             head + b"3\r\nabc\n0\r\n\r\n",
             head + b"3\r\nabc\r\n0\n\r\n"]
    for t in tries:
        print(" ".join(exchange(port, t)) or "none", flush=True)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "slow-upstream":
        # a small receive buffer: the clients stall sooner (the kernel's buffers are not
        # what is measured)
        serve(slow_conn, rcvbuf=16384)
    elif cmd == "strict-upstream":
        serve(strict_conn, args[0])
    elif cmd == "upload":
        upload(int(args[0]), int(args[1]), int(args[2]), args[3])
    elif cmd == "download":
        download(int(args[0]), int(args[1]), args[2])
    elif cmd == "dribble":
        dribble(int(args[0]), int(args[1]), float(args[2]), float(args[3]))
    elif cmd == "slow-body":
        slow_body(int(args[0]), int(args[1]), int(args[2]), float(args[3]))
    elif cmd == "idle":
        idle(int(args[0]), float(args[1]))
    elif cmd == "smuggle":
        smuggle(int(args[0]))
    else:
        sys.exit("hostile.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
