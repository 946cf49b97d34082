// scale.js - what one flag change and one experiment cost as a workspace grows; the
// client half of bench/scale.sh.
//
//   node scale.js load URL TOKEN N                 import N flags (one PUT /v1/flagset)
//   node scale.js puts PUTS URL,TOKEN,N ...        PUTS changes of one flag (PUT
//                                                  /v1/flags/{key}) to each server, in turns
//   node scale.js experiments URL TOKEN M          create and start M experiments, each on
//                                                  a flag of its own (which the creation adds)
//
// Prints one line of JSON: {"import_ms"}, {"N": median_ms, ...} or {"total_ms",
// "create_ms", "start_ms"}. Times are the client's, from the request to the whole answer,
// over one keep-alive connection per server on loopback. The servers of `puts` take turns
// (one change to each, round after round), so that a noisy moment of a shared machine
// falls on every size alike. Any answer but the expected status exits 1.
'use strict';
const http = require('http');
const [MODE, ...ARGS] = process.argv.slice(2);

function client(url, token) {
    const { hostname, port } = new URL(url);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const call = (method, path, body) => new Promise((resolve, reject) => {
        const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
        const req = http.request({ host: hostname, port, path, method, agent, headers: {
            Authorization: `Bearer ${token}`, 'Content-Type': 'application/json',
            'Content-Length': data ? data.length : 0 } }, (res) => {
            const parts = [];
            res.on('data', (d) => parts.push(d));
            res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString() }));
        });
        req.on('error', reject);
        req.end(data);
    });
    // The time of one request that must answer `status`, in ms.
    const expect = async (status, method, path, body) => {
        const t0 = process.hrtime.bigint();
        const r = await call(method, path, body);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r.status !== status) {
            process.stderr.write(`scale.js: ${method} ${path}: ${r.status} ${r.text.slice(0, 300)}\n`);
            process.exit(1);
        }
        return ms;
    };
    return { expect, close: () => agent.destroy() };
}

// Flag i: four shapes in turn, the way real sets mix them: a boolean toggle, a rule through
// a shared evaluator, a 3-way rollout split, a numeric rule with its own metadata.
function flag(i, w) {
    switch (i % 4) {
    case 0:
        return { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' };
    case 1:
        return { state: 'ENABLED', variants: { gold: 'gold', std: 'std' }, defaultVariant: 'std',
                 targeting: { if: [{ $ref: 'is-gold' }, 'gold', 'std'] } };
    case 2:
        return { state: 'ENABLED', variants: { a: 'a', b: 'b', c: 'c' }, defaultVariant: 'a',
                 targeting: { fractional: [['a', w], ['b', 50 - w], ['c', 50]] } };
    default:
        return { state: 'ENABLED', variants: { small: 1, large: 10 }, defaultVariant: 'small',
                 targeting: { if: [{ '>=': [{ var: 'age' }, 18 + (i % 50)] }, 'large', null] },
                 metadata: { owner: `team-${i % 20}` } };
    }
}

function median(a) {
    const s = [...a].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function load(url, token, n) {
    const doc = { metadata: { flagSetId: 'scale', version: '1' },
                  $evaluators: { 'is-gold': { '==': [{ var: 'tier' }, 'gold'] } }, flags: {} };
    for (let i = 0; i < n; i++)
        doc.flags[`flag-${i}`] = flag(i, 25);
    const c = client(url, token);
    const ms = await c.expect(200, 'PUT', '/v1/flagset', doc);
    c.close();
    return { import_ms: +ms.toFixed(1) };
}

async function puts(count, specs) {
    const servers = specs.map((s) => {
        const [url, token, n] = s.split(',');
        return { c: client(url, token), n: +n, times: [] };
    });
    for (let j = 0; j < count; j++)
        for (const s of servers) {
            // A rollout split changing: flags of shape 2, spread over the whole set.
            const i = 4 * ((j * 7919) % Math.max(1, Math.floor(s.n / 4))) + 2;
            s.times.push(await s.c.expect(200, 'PUT', `/v1/flags/flag-${i}`, flag(i, 1 + (j % 49))));
        }
    const out = {};
    for (const s of servers) {
        out[s.n] = +median(s.times).toFixed(3);
        s.c.close();
    }
    return out;
}

async function experiments(url, token, m) {
    const c = client(url, token);
    let create = 0, start = 0;
    for (let i = 0; i < m; i++) {
        const key = `exp-${i}`;
        create += await c.expect(201, 'POST', '/v1/experiments', {
            key, variants: [{ key: 'control', weight: 50, control: true },
                            { key: 'treatment', weight: 50 }], metric: 'conversion' });
        start += await c.expect(200, 'POST', `/v1/experiments/${key}/start`);
    }
    c.close();
    return { total_ms: +(create + start).toFixed(1), create_ms: +create.toFixed(1),
             start_ms: +start.toFixed(1) };
}

(async () => {
    const out = MODE === 'load' ? await load(ARGS[0], ARGS[1], +ARGS[2])
        : MODE === 'puts' ? await puts(+ARGS[0], ARGS.slice(1))
        : await experiments(ARGS[0], ARGS[1], +ARGS[2]);
    process.stdout.write(JSON.stringify(out) + '\n');
})().catch((e) => { process.stderr.write(`scale.js: ${e.stack}\n`); process.exit(1); });
