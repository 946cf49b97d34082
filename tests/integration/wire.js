// wire.js - what the raw-bytes HTTP tests share (http_wire.js, http_hostile.js): TAP
// checks, one exchange on a fresh connection, and answers split out of what was read.
'use strict';
const net = require('net');

let n = 0;
let failed = 0;

// One TAP line; a failure shows `detail` as comments.
function check(name, cond, detail) {
    n++;
    if (cond) {
        console.log(`ok ${n} - ${name}`);
    } else {
        failed++;
        console.log(`not ok ${n} - ${name}`);
        if (detail !== undefined)
            console.log(String(typeof detail === 'string' ? detail : JSON.stringify(detail))
                .slice(0, 1500).split('\n').map((l) => '# ' + l).join('\n'));
    }
}

// The plan line, and the exit status: 1 when a check failed.
function finish() {
    console.log(`1..${n}`);
    process.exit(failed ? 1 : 0);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Opens a connection to `port`; `parts` are written in order, `gaps[i]` (or `gap`) ms
// after each; resolves with everything read (latin1) once `done(text)` holds, the server
// closes, or `ms` pass. `onData(text, socket)` sees each read.
function exchange(port, parts, { gap = 0, gaps = [], done = () => false, ms = 3000, onData } = {}) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        let buf = Buffer.alloc(0);
        let closed = false;
        let finished = false;
        const t0 = Date.now();
        const end = () => {
            if (finished) return;
            finished = true;
            clearTimeout(timer);
            s.destroy();
            resolve({ text: buf.toString('latin1'), closed, ms: Date.now() - t0 });
        };
        const timer = setTimeout(end, ms);
        s.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            if (onData) onData(buf.toString('latin1'), s);
            if (done(buf.toString('latin1'))) end();
        });
        s.on('end', () => { closed = true; end(); });
        s.on('error', () => { closed = true; end(); });
        s.on('connect', async () => {
            for (let i = 0; i < parts.length; i++) {
                if (finished) return;
                s.write(parts[i]);
                const g = gaps[i] !== undefined ? gaps[i] : gap;
                if (g) await sleep(g);
            }
        });
    });
}

// Splits concatenated responses (Content-Length or chunked bodies; 100 Continue apart).
function responses(text) {
    const out = [];
    let i = 0;
    while (i < text.length) {
        const end = text.indexOf('\r\n\r\n', i);
        if (end < 0) break;
        const head = text.slice(i, end);
        const lines = head.split('\r\n');
        const status = Number(lines[0].split(' ')[1]);
        const headers = {};
        for (const l of lines.slice(1)) {
            const c = l.indexOf(':');
            headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
        }
        let j = end + 4;
        let body = '';
        if (status === 100) {
            out.push({ status, headers, body });
            i = j;
            continue;
        }
        if (headers['transfer-encoding'] === 'chunked') {
            for (;;) {
                const le = text.indexOf('\r\n', j);
                if (le < 0) { j = text.length; break; }
                const size = parseInt(text.slice(j, le), 16);
                j = le + 2;
                if (size === 0) { j += 2; break; }
                body += text.slice(j, j + size);
                j += size + 2;
            }
        } else if (headers['content-length'] !== undefined && !headers.__head) {
            const len = Number(headers['content-length']);
            body = text.slice(j, j + len);
            j += len;
        }
        out.push({ status, headers, body });
        i = j;
    }
    return out;
}

const json = (s) => { try { return JSON.parse(s); } catch (e) { return null; } };

module.exports = { check, finish, sleep, exchange, responses, json };
