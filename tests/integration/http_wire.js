// http_wire.js - switchyard's HTTP/1.1 layer on the wire: raw bytes in, raw bytes out.
//
//   node http_wire.js PORT ADMIN_TOKEN SERVER_PID
//
// The server runs with --max-body 65536 --idle-timeout 1 --header-timeout 2. Prints TAP. The last check
// sends SIGTERM to SERVER_PID while a request is half-sent.
'use strict';
const net = require('net');

const [port, admin, pid] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4])];
const wire = require('./wire');
const { check, finish, sleep, responses, json } = wire;
const exchange = (parts, opts) => wire.exchange(Number(port), parts, opts);

const get = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;
const auth = `Authorization: Bearer ${admin}\r\n`;
const count = (text, re) => (text.match(re) || []).length;

async function main() {
    // Pipelining: three requests in one write, three answers in order, connection open.
    let r = await exchange([get('/healthz') + get('/readyz') + get('/nope')],
        { done: (t) => count(t, /HTTP\/1\.1 /g) >= 3 && t.includes('no such endpoint') });
    let rs = responses(r.text);
    check('pipelined requests are answered in order',
        rs.length === 3 && rs[0].status === 200 && rs[1].status === 200 && rs[2].status === 404 &&
        json(rs[1].body).status === 'ready' && !r.closed, r.text);

    // One request sent a byte at a time.
    const slow = get('/healthz', 'Connection: close\r\n');
    r = await exchange([...slow], { gap: 2, ms: 5000 });
    rs = responses(r.text);
    check('a request sent one byte at a time', rs.length === 1 && rs[0].status === 200 && r.closed,
        r.text);

    // A chunked body, with an extension and a trailer, split in awkward places.
    const def = JSON.stringify({ state: 'ENABLED', variants: { on: true, off: false },
        defaultVariant: 'on' });
    const chunked = `${(10).toString(16)};ext=1\r\n${def.slice(0, 10)}\r\n` +
        `${(def.length - 10).toString(16)}\r\n${def.slice(10)}\r\n0\r\nX-Trailer: yes\r\n\r\n`;
    const put = `PUT /v1/flags/wire-chunked HTTP/1.1\r\nHost: t\r\n${auth}` +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    r = await exchange([put, chunked.slice(0, 7), chunked.slice(7, 30), chunked.slice(30)],
        { gap: 20, done: (t) => responses(t).length === 1 });
    rs = responses(r.text);
    check('a chunked request body is decoded', rs.length === 1 && rs[0].status === 201 &&
        json(rs[0].body).definition.defaultVariant === 'on', r.text);    // A body larger than the input buffer (16 KiB) makes it grow while the head, parsed
    // first, points into it: the path and headers must move with it (the server runs
    // under ASan in make test, which would catch a stale pointer).
    const bigDef = JSON.stringify({ state: 'ENABLED', variants: { a: 'x'.repeat(50000), b: 'y' },
        defaultVariant: 'b' });
    const bigHead = `PUT /v1/flags/wire-big HTTP/1.1\r\nHost: t\r\n${auth}` +
        `Content-Type: application/json\r\nContent-Length: ${bigDef.length}\r\n\r\n`;
    r = await exchange([bigHead, bigDef.slice(0, 8000), bigDef.slice(8000)],
        { gap: 20, done: (t) => responses(t).length === 1 });
    rs = responses(r.text);
    check('a 50 KB body arriving after its head is routed and read whole',
        rs.length === 1 && rs[0].status === 201 && json(rs[0].body).key === 'wire-big' &&
        json(rs[0].body).definition.variants.a.length === 50000, r.text.slice(0, 300));

    // Expect: 100-continue: the interim answer comes before the body is sent.
    const body = JSON.stringify({ state: 'ENABLED', variants: { a: 'x'.repeat(3000), b: 'y' },
        defaultVariant: 'b' });
    let sentBody = false;
    r = await exchange([`PUT /v1/flags/wire-expect HTTP/1.1\r\nHost: t\r\n${auth}` +
        `Expect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`], {
        onData: (t, s) => {
            if (!sentBody && t.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
                sentBody = true;
                s.write(body);
            }
        },
        done: (t) => responses(t).length === 2,
    });
    rs = responses(r.text);
    check('Expect: 100-continue gets 100 before the body, then the answer',
        sentBody && rs.length === 2 && rs[0].status === 100 && rs[1].status === 201, r.text);

    // Over --max-body by Content-Length: 413 at once, without sending the body.
    r = await exchange([`POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: t\r\n${auth}` +
        'Content-Length: 100000000\r\n\r\n'], { ms: 3000 });
    rs = responses(r.text);
    check('a Content-Length over the limit: 413 JSON, before any body, then close',
        rs.length === 1 && rs[0].status === 413 && json(rs[0].body).error.code === 'too_large' &&
        rs[0].headers.connection === 'close' && r.closed && r.ms < 2500, r.text);

    // Over the limit by chunks.
    const big = 'a'.repeat(40000);
    r = await exchange([`POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: t\r\n${auth}` +
        `Transfer-Encoding: chunked\r\n\r\n${big.length.toString(16)}\r\n${big}\r\n`,
    `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`], { gap: 50 });
    rs = responses(r.text);
    check('a chunked body over the limit: 413 JSON',
        rs.length === 1 && rs[0].status === 413 && json(rs[0].body).error.code === 'too_large',
        r.text);

    // Broken requests: each gets its JSON error and the connection closes.
    const broken = [
        ['garbage', 'HELLO\r\n\r\n', 400, 'bad_request'],
        ['no Host in HTTP/1.1', 'GET /healthz HTTP/1.1\r\n\r\n', 400, 'bad_request'],
        ['space before a colon', 'GET /healthz HTTP/1.1\r\nHost : t\r\n\r\n', 400, 'bad_request'],
        ['a folded header line', 'GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n  2\r\n\r\n', 400,
            'bad_request'],
        ['Content-Length beside Transfer-Encoding',
            'POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n' +
            'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'bad_request'],
        ['two different Content-Lengths',
            'POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
            400, 'bad_request'],
        ['a transfer coding other than chunked',
            'POST /healthz HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n', 501,
            'not_implemented'],
        ['HTTP/2.0 on this port', 'GET /healthz HTTP/2.0\r\nHost: t\r\n\r\n', 505, 'http_version'],
        ['a bad chunk size (with a token: a body is read only from a client that has one)',
            `POST /v1/events HTTP/1.1\r\nHost: t\r\n${auth}Transfer-Encoding: chunked\r\n\r\nzz\r\n`,
            400, 'bad_request'],
        ['a body from a client without a token: answered without reading it',
            'POST /v1/events HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 401,
            'unauthorized'],
        ['a 70 KiB header', `GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ${'b'.repeat(70000)}\r\n\r\n`,
            431, 'headers_too_large'],
    ];
    for (const [name, req, status, code] of broken) {
        r = await exchange([req]);
        rs = responses(r.text);
        const b = rs.length ? json(rs[0].body) : null;
        check(`${name}: ${status} ${code}, then close`, rs.length === 1 && rs[0].status === status &&
            b && b.error && b.error.code === code && r.closed, r.text);
    }

    // HTTP/1.0: closes unless asked to keep alive.
    r = await exchange(['GET /healthz HTTP/1.0\r\n\r\n']);
    rs = responses(r.text);
    check('HTTP/1.0 is answered and closed', rs.length === 1 && rs[0].status === 200 && r.closed,
        r.text);
    r = await exchange(['GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'],
        { done: (t) => responses(t).length === 1, ms: 800 });
    rs = responses(r.text);
    check('HTTP/1.0 with keep-alive stays open', rs.length === 1 &&
        rs[0].headers.connection === 'keep-alive' && !r.closed, r.text);

    // HEAD: the length of what GET would send, no body; the next answer follows directly.
    r = await exchange(['HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n' + get('/healthz')],
        { done: (t) => count(t, /HTTP\/1\.1 200/g) === 2 && t.endsWith('}') });
    const head = r.text.slice(0, r.text.indexOf('\r\n\r\n') + 4);
    const rest = r.text.slice(head.length);
    check('HEAD: headers with Content-Length, no body', /Content-Length: [1-9]/.test(head) &&
        rest.startsWith('HTTP/1.1 200'), r.text);

    // A method no endpoint takes: 405 with Allow; an unknown method too.
    r = await exchange([`PATCH /v1/flags/x HTTP/1.1\r\nHost: t\r\n${auth}\r\n`],
        { done: (t) => responses(t).length === 1 });
    rs = responses(r.text);
    check('PATCH on a flag: 405 with Allow', rs.length === 1 && rs[0].status === 405 &&
        /PUT/.test(rs[0].headers.allow || ''), r.text);

    // Idle connections are closed after --idle-timeout (1 s); a half-sent head too.
    r = await exchange([get('/healthz')], { ms: 4000 });
    check('an idle keep-alive connection is closed after the idle timeout',
        r.closed && r.ms >= 900 && r.ms < 3500, `${r.ms} ms, closed=${r.closed}`);
    // A head is owed whole within --header-timeout (2 s), however it trickles in.
    r = await exchange(['GET /healthz HTTP/1.1\r\nHo'], { ms: 4000 });
    rs = responses(r.text);
    check('a stalled request head gets 408 after the header timeout',
        r.closed && r.ms >= 1800 && r.ms < 3500 && rs.length === 1 && rs[0].status === 408 &&
        json(rs[0].body).error.code === 'request_timeout', `${r.ms} ms ${r.text}`);
    r = await exchange([...'GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ' + 'z'.repeat(40)],
        { gap: 100, ms: 6000 });
    rs = responses(r.text);
    check('a head dribbled a byte per 100 ms gets 408 after the header timeout',
        r.closed && r.ms >= 1800 && r.ms < 3500 && rs.length === 1 && rs[0].status === 408,
        `${r.ms} ms ${r.text}`);
    r = await exchange([], { ms: 4000 });
    check('a connection that sends nothing is closed after the header timeout',
        r.closed && r.text === '' && r.ms >= 1800 && r.ms < 3500, `${r.ms} ms`);

    // A client that pipelines 40,000 requests without reading for a while: the server
    // stops reading once a megabyte of answers waits, and resumes as they are read.
    const total = 40000;
    const got = await new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        let text = '';
        const timer = setTimeout(() => { s.destroy(); resolve(text); }, 20000);
        s.pause();
        s.on('connect', () => {
            s.write(get('/healthz').repeat(total));
            setTimeout(() => s.resume(), 700);
        });
        s.on('data', (d) => {
            text += d.toString('latin1');
            if (count(text, /HTTP\/1\.1 200/g) >= total && text.endsWith('}')) {
                clearTimeout(timer);
                s.destroy();
                resolve(text);
            }
        });
        s.on('error', () => { clearTimeout(timer); resolve(text); });
    });
    check(`${total} pipelined requests from a slow reader are all answered`,
        count(got, /HTTP\/1\.1 200/g) === total, `${count(got, /HTTP\/1\.1 200/g)} answers`);

    // Many connections at once.
    const many = await Promise.all(Array.from({ length: 200 }, () =>
        exchange([get('/healthz', 'Connection: close\r\n')], { ms: 5000 })));
    check('200 concurrent connections are all answered',
        many.every((x) => responses(x.text).length === 1 && responses(x.text)[0].status === 200),
        many.filter((x) => !x.text.startsWith('HTTP/1.1 200')).length + ' failed');

    // SIGTERM with a request half-sent: it is still answered (and closed), then the server
    // exits.
    const pending = exchange([`PUT /v1/flags/wire-drain HTTP/1.1\r\nHost: t\r\n${auth}` +
        `Content-Length: ${def.length}\r\n\r\n${def.slice(0, 5)}`, def.slice(5)], {
        gap: 700, done: (t) => responses(t).length === 1, ms: 5000,
    });
    await sleep(200);
    process.kill(pid, 'SIGTERM');
    await sleep(300);
    const late = net.connect(port, '127.0.0.1');
    const refused = await new Promise((res) => {
        late.on('connect', () => { late.destroy(); res(false); });
        late.on('error', () => res(true));
    });
    check('draining: new connections are refused', refused);
    r = await pending;
    rs = responses(r.text);
    check('draining: a half-sent request is answered with Connection: close',
        rs.length === 1 && rs[0].status === 201 && rs[0].headers.connection === 'close', r.text);

    finish();
}

main();
