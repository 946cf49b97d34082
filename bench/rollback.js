// rollback.js - how long from a health breach being ingested to OFREP serving the
// rollback, with the health monitor at 1 s.
//
//   node rollback.js URL ADMIN_TOKEN SWITCHYARD [ROUNDS]
//
// Each round: a fresh experiment at 60/40, 1,000 healthy requests of the winner (success
// 0.94), a step to 80/20, then healthy traffic after the step (batches of 100 requests
// every 100 ms for one to two seconds, so that the monitor has just judged the variant
// healthy, as in production), then a batch of 1,000 failing requests (success 0.5: the
// 1,000 outcomes a window needs; a drop of 44 points is beyond the 5-point threshold with
// far more than the 0.99 confidence the rollback asks). The clock starts when that batch is
// acknowledged (committed) and stops at the first OFREP answer that serves the old split
// again, for a unit whose bucket lies in the 20 points the step moved (found with
// `switchyard eval`, the same evaluator). OFREP is polled every 2 ms. Prints the median
// and the worst round against the 1 s goal; the worst case is a breach that lands just
// after a judgement, which waits one interval.
'use strict';
const http = require('http');
const { execFileSync } = require('child_process');
const [URL_, TOKEN, SY, ROUNDS = '10'] = process.argv.slice(2);
const { hostname, port } = new URL(URL_);
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function call(method, path, body) {
    return new Promise((resolve, reject) => {
        const data = body ? Buffer.from(JSON.stringify(body)) : null;
        const req = http.request({ host: hostname, port, path, method, agent, headers: {
            Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json',
            'Content-Length': data ? data.length : 0 } }, (res) => {
            let t = '';
            res.on('data', (d) => t += d);
            res.on('end', () => resolve({ status: res.statusCode, body: t ? JSON.parse(t) : null }));
        });
        req.on('error', reject);
        req.end(data);
    });
}

// A unit served variant_a at 80/20 and variant_b at 60/40.
function movedUnit(key) {
    const flag = (a) => JSON.stringify({ flags: { [key]: { state: 'ENABLED',
        variants: { variant_a: 'variant_a', variant_b: 'variant_b' }, defaultVariant: 'variant_b',
        targeting: { fractional: [['variant_a', a], ['variant_b', 100 - a]] } } } });
    const fs = require('fs'), os = require('os'), path = require('path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sy-rb-'));
    fs.writeFileSync(path.join(dir, '80.json'), flag(80));
    fs.writeFileSync(path.join(dir, '60.json'), flag(60));
    const variant = (file, u) => JSON.parse(execFileSync(SY, ['eval', '--flags', path.join(dir, file),
        '--flag', key, '--context', JSON.stringify({ targetingKey: u }), '--json'])).variant;
    for (let i = 0; i < 500; i++) {
        const u = `probe-${i}`;
        if (variant('80.json', u) === 'variant_a' && variant('60.json', u) === 'variant_b') {
            fs.rmSync(dir, { recursive: true });
            return u;
        }
    }
    throw new Error('no unit in the moved range');
}

function requests(key, first, n, successEvery) {
    const events = [];
    for (let i = 0; i < n; i++) {
        const unit = `${key}-u${first + i}`;
        events.push({ type: 'exposure', unit, experiment: key, variant: 'variant_a' });
        events.push({ type: 'outcome', unit, experiment: key, success: successEvery(i) });
    }
    return { events };
}

async function round(r) {
    const key = `rollback-${r}-${Date.now()}`;
    let res = await call('POST', '/v1/experiments', { key, variants: [
        { key: 'variant_a', weight: 60 }, { key: 'variant_b', weight: 40, control: true }],
        allocation: { cooldown_hours: 0, max_changes_per_day: 1000 } });
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    await call('POST', `/v1/experiments/${key}/start`);
    await call('POST', '/v1/events', requests(key, 0, 1000, (i) => i % 50 < 47));
    res = await call('POST', `/v1/experiments/${key}/allocation/apply`,
        { winning_variant: 'variant_a', confidence: 0.99, delta: 5 });
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
    const unit = movedUnit(key);
    const ofrep = () => call('POST', `/ofrep/v1/evaluate/flags/${key}`, { context: { targetingKey: unit } });
    if ((await ofrep()).body.variant !== 'variant_a') throw new Error('the step is not served');
    const batches = 10 + Math.floor(Math.random() * 10);
    for (let b = 0; b < batches; b++) {
        await call('POST', '/v1/events', requests(key, 2000 + 100 * b, 100, (i) => i % 50 < 47));
        await new Promise((s) => setTimeout(s, 100));
    }
    // the breach: acknowledged means committed
    res = await call('POST', '/v1/events', requests(key, 100000, 1000, (i) => i % 2 === 0));
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
    const t0 = process.hrtime.bigint();
    for (;;) {
        const v = (await ofrep()).body.variant;
        if (v === 'variant_b')
            return Number(process.hrtime.bigint() - t0) / 1e6;
        if (Number(process.hrtime.bigint() - t0) > 10e9) throw new Error('no rollback within 10 s');
        await new Promise((s) => setTimeout(s, 2));
    }
}

(async () => {
    const times = [];
    for (let r = 0; r < Number(ROUNDS); r++)
        times.push(await round(r));
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)], worst = times[times.length - 1];
    console.log(`rollback: breach ingested -> OFREP serves the rollback, monitor at 1 s, ${times.length} rounds`);
    console.log(`  median ${median.toFixed(0)} ms, best ${times[0].toFixed(0)} ms, worst ${worst.toFixed(0)} ms` +
                `  (goal <= 1000 ms: ${worst <= 1000 ? 'met' : 'NOT met'}; worst / goal ${(worst / 1000).toFixed(2)}x)`);
    agent.destroy();
})().catch((e) => { console.error('rollback.js:', e.message); process.exit(1); });
