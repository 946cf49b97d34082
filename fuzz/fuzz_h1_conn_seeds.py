#!/usr/bin/env python3
"""fuzz_h1_conn_seeds.py - writes fuzz/seeds/fuzz-h1-conn/: inputs of fuzz-h1-conn.

The input format is the table atop fuzz/h1_conn_case.c; each seed below names the shape it
encodes. Run from anywhere: python3 fuzz/fuzz_h1_conn_seeds.py (it rewrites the folder).
"""
import os
import sys

# Descriptor byte 0: methods
GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, PROPFIND, TCHARS, ASTERISK = range(10)
# versions
V11, V11_KEEP, V11_CLOSE, V10 = range(4)
# targets
ROOT, HEALTHZ, EVENTS, FLAGS, ODD, QUERY, ABSOLUTE, LONG = range(8)
# optional fields (descriptor byte 2)
UA, ACCEPT, AUTH, COOKIE, EMPTY, ODD_VALUE, OBS, LONG_VALUE = (1 << i for i in range(8))
# framings
LENGTH, CHUNKED, LENGTH_ODD, CHUNKED_CASE = range(4)
# answers: when, and status (7 is a stream on the last request)
SYNC, ACTIVE, TIMER = range(3)
STREAM = 7
# copies index: 1 1 1 1 2 3 16 64
ONE, TWO, THREE, SIXTEEN, SIXTY_FOUR = 0, 4, 5, 6, 7


def desc(method=GET, version=V11, ends=0, target=ROOT, tvar=0, fields=0, order=0, case=0,
         ws=0, dup=0, size=0, fine=0, framing=LENGTH, expect=0, chunks=0, content=0,
         cseed=0, when=SYNC, status=0, copies=ONE):
    return bytes([
        method | version << 4 | ends << 6,
        target | tvar << 3,
        fields,
        order | case << 3 | ws << 5 | dup << 7,
        size | framing << 3 | expect << 5 | chunks << 6,
        fine,
        content | cseed << 2,
        when | status << 2 | copies << 5,
    ])


def case(reqs, ops=b"", first_buffer=(14, 0), read_room=(12, 0), max_head=0, max_body=0,
         raw=None, raw_seed=0):
    head = bytes([7 if raw is not None else 0, *first_buffer, *read_room, max_head, max_body])
    if raw is not None:
        return head + bytes([raw_seed]) + raw
    return head + bytes([len(reqs) - 1]) + b"".join(reqs) + bytes(ops)


# schedule ops
def to_mark(k=1, settle=True):
    return op(0, k - 1, settle)


def nbytes(n, settle=True):  # 1 .. 16
    return op(1, n - 1, settle)


def bytewise(n):  # 1 .. 16, one at a time
    return op(2, n - 1, True)


def pow2(e, settle=True):
    return op(3, e, settle)


def head_end(settle=True):
    return op(5, 0, settle)


def request_end(settle=True):
    return op(5, 8, settle)


def thousands(k, settle=True):  # 1000 k bytes, k 1 .. 16
    return op(6, k - 1, settle)


def pause():
    return op(7, 0, True)


def rest():
    return op(7, 8, True)


def op(kind, a, settle):
    return kind | a << 3 | (0 if settle else 0x80)


SEEDS = {
    # Bug 1: a head parsed, its body still arriving while the input buffer grows (16 KiB,
    # 4 KiB of room): head + 13,000 bytes, a pause, the rest. ASan: use after free.
    "uaf-length-14000": case(
        [desc(POST, target=EVENTS, fields=AUTH | UA, size=4, fine=250)],
        [head_end(False), thousands(13), rest()]),
    # The same with chunks (h1 never relocates a chunked request's head).
    "uaf-chunked": case(
        [desc(POST, target=EVENTS, fields=AUTH, size=4, fine=250, framing=CHUNKED)],
        [head_end(False), thousands(13), rest()], first_buffer=(10, 0), read_room=(9, 0)),
    # Bug 2: GET /healthz and POST /v1/events with part of its body in one write, the rest
    # after: compaction moves the POST's head under its pointers.
    "compaction-pipelined": case(
        [desc(GET, target=HEALTHZ), desc(POST, target=EVENTS, fields=AUTH, size=2, fine=40)],
        [request_end(False), head_end(False), nbytes(8), rest()]),
    # The same behind a pending answer (a zero timer answers the GET).
    "compaction-pending": case(
        [desc(GET, target=HEALTHZ, when=TIMER),
         desc(POST, target=EVENTS, fields=AUTH | COOKIE, size=2, fine=40, framing=CHUNKED,
              when=ACTIVE)],
        [request_end(False), head_end(False), nbytes(8), rest()]),
    # A chunked body split at every mark, with extensions and trailers; tiny buffers.
    "chunked-everywhere": case(
        [desc(POST, target=QUERY, tvar=1, size=3, fine=20, framing=CHUNKED, chunks=3,
              cseed=5, fields=ODD_VALUE)],
        [bytewise(16), bytewise(16)] + [to_mark()] * 200,
        first_buffer=(0, 0), read_room=(3, 0)),
    # Zero-padded upper-case sizes, LF-only head, odd fields, one byte at a time.
    "chunked-bytewise": case(
        [desc(PATCH, ends=2, target=FLAGS, tvar=9, size=2, fine=60, framing=CHUNKED_CASE,
              chunks=1, content=3, fields=EMPTY | OBS | COOKIE, case=3, ws=3, dup=1)],
        [bytewise(16)] * 40, first_buffer=(4, 0), read_room=(2, 0)),
    # Expect: 100-continue: the head alone, a pause (100 Continue), then the body; the
    # answer comes from the loop.
    "expect-continue": case(
        [desc(PUT, target=FLAGS, tvar=3, size=3, fine=30, expect=1, when=ACTIVE),
         desc(POST, target=EVENTS, size=2, fine=10, framing=CHUNKED, expect=1, when=TIMER)],
        [head_end(), thousands(1), rest()]),
    # A 1 MiB chunked body from a 1-byte first buffer and 1 byte of read room.
    "one-mib-chunked": case(
        [desc(PUT, target=EVENTS, size=6, fine=240, framing=CHUNKED, chunks=2)],
        [to_mark(4), pow2(15), rest()], first_buffer=(0, 0), read_room=(0, 0)),
    # A 1 MiB Content-Length body, then a GET behind it.
    "one-mib-length": case(
        [desc(POST, target=EVENTS, size=6, fine=240, fields=AUTH), desc(GET, target=HEALTHZ)],
        [head_end(), pow2(13), pow2(15), rest()], first_buffer=(6, 0), read_room=(13, 0)),
    # 64 small pipelined POSTs (answers from the loop) and 16 GETs, in pieces.
    "many-small": case(
        [desc(POST, target=EVENTS, size=1, fine=9, when=ACTIVE, copies=SIXTY_FOUR),
         desc(GET, target=QUERY, tvar=0, when=TIMER, status=3, copies=SIXTEEN)],
        [nbytes(16), pow2(9), pow2(10), nbytes(3)] * 8, first_buffer=(7, 0), read_room=(5, 0)),
    # HTTP/1.0 with keep-alive, the last one closing; HEAD and 204 answers.
    "http10": case(
        [desc(GET, version=V10, target=ROOT, status=5),
         desc(HEAD, version=V10, target=QUERY, tvar=2),
         desc(POST, version=V10, target=EVENTS, size=2, fine=3, when=TIMER)],
        [to_mark(3), pause(), request_end(), to_mark(2)]),
    # Odd targets (absolute-form, OPTIONS *, an all-tchar method), every optional field,
    # leading empty lines, a streamed answer to the last.
    "odd-and-stream": case(
        [desc(OPTIONS, target=ABSOLUTE, tvar=0, fields=0xff, dup=1, ends=3),
         desc(ASTERISK, fields=0x55, case=2, ws=2),
         desc(TCHARS, target=ABSOLUTE, tvar=1, version=V11_KEEP),
         desc(DELETE, target=ABSOLUTE, tvar=2, when=TIMER, status=STREAM)],
        [bytewise(12), to_mark(2), head_end(), rest()]),
    # Connection: close on the last request after a pending one.
    "close-last": case(
        [desc(GET, target=LONG, tvar=20, when=ACTIVE),
         desc(POST, version=V11_CLOSE, target=EVENTS, size=1, fine=4)],
        [to_mark(4)] * 6),
    # Refusals: a body over max_body (413) and a head over max_head (431).
    "too-large-body": case(
        [desc(GET), desc(POST, target=EVENTS, size=7, fine=255, expect=1)],
        [request_end(), head_end(), rest()], max_body=0),
    "too-large-head": case(
        [desc(GET), desc(GET, target=LONG, tvar=31, fields=LONG_VALUE | AUTH)],
        [to_mark(3), rest()], max_head=1),
    # Raw bytes: a good request, a pipelined one, then one that is not HTTP.
    "raw-mixed": case([], raw=(
        b"GET /a?b HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n"
        b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        first_buffer=(3, 0), read_room=(2, 0), raw_seed=3),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "fuzz-h1-conn")
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):
        os.remove(os.path.join(out, name))
    for name, data in sorted(SEEDS.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
