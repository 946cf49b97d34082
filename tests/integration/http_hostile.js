// http_hostile.js - the HTTP layer against clients that mean harm, each shape of the
// defects it once had and of the limits that hold them (docs/security.md):
//
//   node http_hostile.js PORT ADMIN_TOKEN EXPERIMENT MAX_CONNECTIONS HEADER_TIMEOUT_S
//
// The server runs with --max-connections MAX_CONNECTIONS --header-timeout HEADER_TIMEOUT_S
// --min-body-rate 1000, and EXPERIMENT is running with variants a and b. Prints TAP.
'use strict';
const net = require('net');

const [port, admin, experiment] = process.argv.slice(2, 5);
const maxConns = Number(process.argv[5]);
const headerS = Number(process.argv[6]);
const wire = require('./wire');
const { check, finish, sleep, responses, json } = wire;
const exchange = (parts, opts) => wire.exchange(Number(port), parts, opts);

const auth = `Authorization: Bearer ${admin}\r\n`;
const get = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: t\r\n${extra}\r\n`;

// A /v1/events body of exactly `size` bytes (padded with spaces inside the object).
function eventsBody(size) {
    const ev = { type: 'exposure', unit: 'u-hostile', experiment, variant: 'a' };
    const core = JSON.stringify({ events: [ev] });
    return core.slice(0, -1) + ' '.repeat(size - core.length) + '}';
}
const eventsHead = (len, extra = auth) =>
    `POST /v1/events HTTP/1.1\r\nHost: t\r\n${extra}Content-Type: application/json\r\n` +
    `Content-Length: ${len}\r\n\r\n`;

async function main() {
    // 1. A parsed head whose body is still arriving while the input buffer grows: the head
    //    must move with the buffer (it was read from freed memory: 404 "no such endpoint: ",
    //    an ASan abort, or another connection's token echoed back).
    const body = eventsBody(14000);
    const noise = Array.from({ length: 8 }, () => exchange(
        Array.from({ length: 20 }, () => get('/v1/flags', auth)), { gap: 5, ms: 3000 }));
    let r = await exchange([eventsHead(body.length) + body.slice(0, 13000), body.slice(13000)],
        { gap: 200, done: (t) => responses(t).length === 1 });
    let rs = responses(r.text);
    check('a body that arrives after its buffer grew: the head is still the one sent',
        rs.length === 1 && rs[0].status === 200 && json(rs[0].body).accepted === 1, r.text);
    r = await exchange([eventsHead(body.length, '') + body.slice(0, 13000), body.slice(13000)],
        { gap: 200, done: (t) => responses(t).length === 1 });
    rs = responses(r.text);
    check('the same without a token: 401, and no other connection\'s token in the answer',
        rs.length === 1 && rs[0].status === 401 && !r.text.includes(admin), r.text);
    await Promise.all(noise);

    // 2. A pipelined request behind an answered one, its body split: the input is compacted
    //    under a parsed head, which must move with it ("no such endpoint: orization").
    const small = eventsBody(600);
    r = await exchange([get('/healthz') + eventsHead(small.length) + small.slice(0, 100),
        small.slice(100)], { gap: 200, done: (t) => responses(t).length === 2 });
    rs = responses(r.text);
    check('a pipelined head survives the compaction of the answered request before it',
        rs.length === 2 && rs[0].status === 200 && rs[1].status === 200 &&
        json(rs[1].body).accepted === 1, r.text);

    // 3. A bare LF in chunked framing is refused (it would smuggle a request past a proxy
    //    in front of an upstream that frames by CR LF).
    r = await exchange([`POST /v1/events HTTP/1.1\r\nHost: t\r\n${auth}` +
        'Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n'],
    { ms: 3000 });
    rs = responses(r.text);
    check('a bare LF ending a chunk-size line: 400 and the connection closed',
        rs.length === 1 && rs[0].status === 400 && r.closed && r.ms < 2500 &&
        /chunked/.test(json(rs[0].body).error.message), r.text);

    // 4. A body slower than --min-body-rate (1000 bytes/s) after the header timeout's grace:
    //    408 (the deadline keeps moving with what arrives, so it comes a little later).
    const t0 = Date.now();
    const dribble = Array.from({ length: 60 }, () => ' '.repeat(25)); // 250 bytes/s
    r = await exchange([eventsHead(100000), ...dribble], { gap: 100,
        done: (t) => responses(t).length === 1, ms: (headerS + 6) * 1000 });
    rs = responses(r.text);
    const took = Date.now() - t0;
    check('a body at 250 bytes/s gets 408 once under --min-body-rate',
        rs.length === 1 && rs[0].status === 408 && took >= headerS * 1000 &&
        took < (headerS + 5) * 1000 && json(rs[0].body).error.code === 'request_timeout',
        `${took} ms ${r.text}`);

    // 5. A client that pipelines more than the server will answer ahead and then reads
    //    nothing for longer than the header timeout: the server stopped reading, so the
    //    client owed nothing meanwhile, and every request is answered once it reads.
    const total = 30000;
    const got = await new Promise((resolve) => {
        const s = net.connect(Number(port), '127.0.0.1');
        let text = '';
        const timer = setTimeout(() => { s.destroy(); resolve(text); }, 20000);
        s.pause();
        s.on('connect', () => {
            s.write(get('/healthz').repeat(total));
            setTimeout(() => s.resume(), (headerS + 1) * 1000);
        });
        s.on('data', (d) => {
            text += d.toString('latin1');
            if ((text.match(/HTTP\/1\.1 200/g) || []).length >= total && text.endsWith('}')) {
                clearTimeout(timer);
                s.destroy();
                resolve(text);
            }
        });
        s.on('error', () => { clearTimeout(timer); resolve(text); });
    });
    const answered = (got.match(/HTTP\/1\.1 200/g) || []).length;
    check(`${total} pipelined requests, unread past the header timeout, are all answered`,
        answered === total && !/HTTP\/1\.1 408/.test(got), `${answered} answered`);

    // 6. The same, but the client half-closes after its last request: it has sent all it
    //    will, not read all it asked for; every answer still reaches it.
    const halfGot = await new Promise((resolve) => {
        const s = net.connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true });
        let text = '';
        const timer = setTimeout(() => { s.destroy(); resolve(text); }, 20000);
        s.pause();
        s.on('connect', () => {
            s.end(get('/healthz').repeat(total));
            setTimeout(() => s.resume(), 1000);
        });
        s.on('data', (d) => { text += d.toString('latin1'); });
        s.on('end', () => { clearTimeout(timer); s.destroy(); resolve(text); });
        s.on('error', () => { clearTimeout(timer); resolve(text); });
    });
    const halfAnswered = (halfGot.match(/HTTP\/1\.1 200/g) || []).length;
    check(`${total} pipelined requests then a half-close: all answered before the close`,
        halfAnswered === total, `${halfAnswered} answered`);

    // 7. A client without a token announcing a big body: answered (401) without its body
    //    being waited for or kept, and the connection closed at once.
    r = await exchange([eventsHead(16 << 20, '') + 'x'.repeat(1 << 20)], { ms: 3000 });
    rs = responses(r.text);
    check('a 16 MiB body from a client without a token: 401 at once, connection closed',
        rs.length === 1 && rs[0].status === 401 && r.closed && r.ms < 1500, `${r.ms} ms ${r.text}`);

    // 8. A chunked body whose trailer section never ends (with a token): 400 once it passes
    //    16 KiB, not a connection held for as long as the trailers come.
    r = await exchange([`POST /v1/events HTTP/1.1\r\nHost: t\r\n${auth}` +
        'Transfer-Encoding: chunked\r\n\r\n0\r\n',
    ...Array.from({ length: 40 }, () => `X-Pad: ${'p'.repeat(1000)}\r\n`)], { gap: 10, ms: 4000 });
    rs = responses(r.text);
    check('a trailer section past 16 KiB: 400', rs.length === 1 && rs[0].status === 400 &&
        r.closed, r.text);

    // 9. Event streams may hold half of --max-connections at most: the next is 503.
    r = await exchange([`POST /ofrep/v1/evaluate/flags HTTP/1.1\r\nHost: t\r\n${auth}` +
        'Content-Type: application/json\r\nContent-Length: 14\r\n\r\n{"context":{}}'],
    { done: (t) => responses(t).length === 1 });
    const bulk = json(responses(r.text)[0].body) || {};
    const streamPath = ((bulk.eventStreams || [])[0] || { url: '' }).url.replace(/^http:\/\/[^/]+/, '');
    const streams = [];
    for (let i = 0; i < maxConns / 2; i++)
        streams.push(exchange([get(streamPath)], { ms: 2500 }));
    await sleep(500);
    r = await exchange([get(streamPath)], { done: (t) => /\r\n\r\n/.test(t), ms: 2000 });
    check(`a stream past ${maxConns / 2} (half the cap): 503 busy with Retry-After`,
        /^HTTP\/1\.1 503/.test(r.text) && /Retry-After: 5/i.test(r.text) &&
        /"busy"/.test(r.text), r.text.slice(0, 400));
    const opened = await Promise.all(streams);
    check('... while the first ones stream', streamPath !== '' &&
        opened.every((o) => /^HTTP\/1\.1 200/.test(o.text)), opened.map((o) => o.text.slice(0, 15)));

    // 10. Connections lingering after a Connection: close answer make room for a newcomer.
    const lingerers = [];
    for (let i = 0; i < maxConns; i++)
        lingerers.push(exchange([get('/healthz', 'Connection: close\r\n')], { ms: 2500 }));
    await sleep(300);
    const l0 = Date.now();
    r = await exchange([get('/healthz', 'Connection: close\r\n')],
        { done: (t) => responses(t).length === 1, ms: 3000 });
    check('a newcomer at the cap, all others lingering: served at once',
        responses(r.text).length === 1 && responses(r.text)[0].status === 200 &&
        Date.now() - l0 < 1000, `${Date.now() - l0} ms ${r.text}`);
    await Promise.all(lingerers);

    // 11. Slowloris: twice --max-connections connections dribbling heads; a new client is
    //    served within the header timeout + 1 s all the same, and no dribbler lasts past
    //    the header timeout.
    const dribblers = [];
    const line = `GET /healthz HTTP/1.1\r\nHost: t\r\nX-Pad: ${'p'.repeat(200)}\r\n\r\n`;
    for (let i = 0; i < 2 * maxConns; i++) {
        dribblers.push(exchange([...line], { gap: 300, ms: (headerS + 4) * 1000 }));
        await sleep(10);
    }
    await sleep(500);
    const f0 = Date.now();
    r = await exchange([get('/healthz', 'Connection: close\r\n')],
        { done: (t) => responses(t).length === 1, ms: (headerS + 3) * 1000 });
    const fresh = Date.now() - f0;
    rs = responses(r.text);
    check(`a fresh client among ${2 * maxConns} dribblers is served within the header ` +
        'timeout + 1 s', rs.length === 1 && rs[0].status === 200 &&
        fresh < (headerS + 1) * 1000, `${fresh} ms ${r.text}`);
    const ds = await Promise.all(dribblers);
    const outlived = ds.filter((d) => !d.closed || d.ms > (headerS + 1) * 1000 + 500);
    check('every dribbling connection was closed by the header timeout or for a newcomer',
        outlived.length === 0, outlived.map((d) => `${d.ms} ms closed=${d.closed}`).join(', '));
    check('a dribbler past its deadline got 408', ds.some((d) => /^HTTP\/1\.1 408/.test(d.text)),
        ds.map((d) => d.text.slice(0, 20)).join('|'));

    finish();
}

main();
