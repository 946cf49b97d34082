#!/usr/bin/env python3
"""ui-embed.py - writes the console's assets into a C file (src/http/ui.h's table).

Each asset NAME=PATH becomes its bytes, its gzip'ed bytes (level 9, no name or time in
the header, so the same input always gives the same output), its Content-Type (by
extension) and a strong ETag made of the SHA-256 of its bytes. The list file says, a line
per asset: name, bytes, gzip'ed bytes, and at the end the totals (the size test reads it).

    ui-embed.py OUT_C OUT_LIST NAME=PATH...
"""
import gzip
import hashlib
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
}

# A name is what follows /ui/ in a URL: one path segment, ASCII, no escapes needed.
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def c_bytes(data):
    lines = []
    for i in range(0, len(data), 20):
        lines.append("    " + ",".join("0x%02x" % b for b in data[i:i + 20]) + ",")
    return "\n".join(lines) if lines else "    0,"


def main():
    out_c, out_list, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    assets = []
    for spec in sorted(specs):
        name, _, path = spec.partition("=")
        ext = name[name.rfind("."):] if "." in name else ""
        if not name or not set(name) <= NAME_CHARS or ext not in TYPES:
            sys.exit("ui-embed: %s: not a name the console serves (or no type for %r)" % (spec, ext))
        with open(path, "rb") as f:
            data = f.read()
        gz = gzip.compress(data, compresslevel=9, mtime=0)
        etag = hashlib.sha256(data).hexdigest()[:32]
        assets.append((name, TYPES[ext], data, gz, etag))

    with open(out_c, "w") as c:
        c.write("/* ui_assets.c - written by scripts/ui-embed.py from ui/; do not edit. */\n")
        c.write('#include "http/ui.h"\n\n')
        for i, (name, _, data, gz, _) in enumerate(assets):
            c.write("/* %s */\nstatic const unsigned char a%d[] = {\n%s\n};\n" % (name, i, c_bytes(data)))
            c.write("static const unsigned char z%d[] = {\n%s\n};\n\n" % (i, c_bytes(gz)))
        c.write("const struct sy_ui_asset sy_ui_assets[] = {\n")
        for i, (name, ctype, data, gz, etag) in enumerate(assets):
            c.write('    {"%s", "%s", a%d, %d, z%d, %d, "\\"%s\\"", "\\"%s-gz\\""},\n'
                    % (name, ctype, i, len(data), i, len(gz), etag, etag))
        c.write("};\n\nconst size_t sy_ui_n_assets = %d;\n" % len(assets))

    with open(out_list, "w") as f:
        for name, _, data, gz, _ in assets:
            f.write("%s %d %d\n" % (name, len(data), len(gz)))
        f.write("total %d %d\n" % (sum(len(a[2]) for a in assets), sum(len(a[3]) for a in assets)))


if __name__ == "__main__":
    main()
