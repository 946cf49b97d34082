// ingest_crash.js - kills the server with SIGKILL again and again while clients ingest,
// and checks after every restart that each event whose request was acknowledged is in
// the log, none of them twice, and that the rebuilt aggregates count what the log holds.
//
//   node ingest_crash.js SWITCHYARD DIR [ROUNDS [DB]]
//
// DIR is an empty scratch folder. DB is the store's --db (DIR/sy.db by default): a SQLite
// file, read with sqlite3, or a postgres:// URL (tap.sh's), read with psql as the superuser
// of pg.sh's cluster (PG_URL_SUPER), whom row-level security does not hold. Clients send batches of events with ids; a batch whose
// request fails (the server died under it) is sent again, same ids, once the server is
// back, as a careful client would. Prints TAP; every loop is bounded in time.
'use strict';
const { spawn, spawnSync, execFileSync } = require('child_process');
const http = require('http');
const path = require('path');

const [SY, DIR, ROUNDS = '6', DB_ARG = ''] = process.argv.slice(2);
const DB = DB_ARG || path.join(DIR, 'sy.db');
const CLIENTS = 4, BATCH = 50;
let n = 0, failed = 0;
const ok = (cond, name, detail) => {
    n++;
    if (cond) console.log(`ok ${n} - ${name}`);
    else {
        failed++;
        console.log(`not ok ${n} - ${name}`);
        if (detail) console.log(`# ${detail}`);
    }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cli(...args) {
    return execFileSync(SY, args, { encoding: 'utf8' }).trim();
}

let server = null, port = 0;
let reports = ''; // what a sanitizer said in any server's log (data races under TSan)
function start() {
    return new Promise((resolve, reject) => {
        const listen = `127.0.0.1:${port}`;
        server = spawn(SY, ['serve', '--listen', listen, '--db', DB, '--quiet'],
            { stdio: ['ignore', 'ignore', 'pipe'] });
        let log = '';
        const t = setTimeout(() => reject(new Error('no listening line: ' + log)), 10000);
        server.stderr.on('data', (d) => {
            log += d;
            if (/Sanitizer|runtime error:/.test(log) && !reports) reports = log.slice(-4000);
            const m = /event=listening.* port=(\d+)/.exec(log);
            if (m) {
                port = Number(m[1]);
                clearTimeout(t);
                resolve();
            }
        });
    });
}
function kill(signal) {
    return new Promise((resolve) => {
        if (!server || server.exitCode !== null) return resolve(server ? server.exitCode : 0);
        server.on('exit', (code, sig) => resolve(sig || code));
        server.kill(signal);
    });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
function post(p, token, body) {
    return new Promise((resolve) => {
        const data = Buffer.from(JSON.stringify(body));
        const req = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', agent,
            headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json',
                       'Content-Length': data.length } }, (res) => {
            let text = '';
            res.on('data', (d) => text += d);
            res.on('end', () => resolve({ status: res.statusCode, text }));
            res.on('error', () => resolve({ status: 0 }));
        });
        req.on('error', () => resolve({ status: 0 }));
        req.setTimeout(5000, () => req.destroy());
        req.end(data);
    });
}

// sql(SQL): the program and arguments that run SQL on the store, one row a line.
function sql(text) {
    if (!/^postgres(ql)?:\/\//.test(DB)) return ['sqlite3', [DB, text]];
    const psql = (process.env.PG_BIN || '/usr/lib/postgresql/15/bin') + '/psql';
    const url = process.env.PG_URL_SUPER.replace(/[^/]*$/, DB.replace(/^.*\//, ''));
    return [psql, ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', text]];
}
function logIds() {
    const [prog, args] = sql('SELECT event_id FROM events');
    const out = spawnSync(prog, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (out.status !== 0) throw new Error(prog + ': ' + (out.stderr || out.error));
    return out.stdout.split('\n').filter(Boolean);
}
function query(text) {
    const [prog, args] = sql(text);
    return execFileSync(prog, args, { encoding: 'utf8' }).trim();
}

async function main() {
    cli('workspace', 'create', 'default', '--db', DB);
    const token = cli('token', 'create', '--db', DB, '--role', 'admin');
    await start();
    let r = await post('/v1/experiments', token, { key: 'crash', variants: [
        { key: 'a', weight: 1, control: true }, { key: 'b', weight: 1 }] });
    ok(r.status === 201, 'experiment created', r.text);
    r = await post('/v1/experiments/crash/start', token, {});
    ok(r.status === 200, 'experiment started', r.text);

    const acked = new Set();
    let sent = 0, retried = 0, stop = false;
    async function client(c) {
        for (let b = 0; !stop; b++) {
            const events = [];
            for (let i = 0; i < BATCH; i++) {
                const unit = `c${c}-u${b}-${i}`;
                events.push({ type: 'exposure', unit, experiment: 'crash',
                              variant: i % 2 ? 'b' : 'a', id: `${unit}-x` });
                if (i % 3 === 0)
                    events.push({ type: 'outcome', unit, experiment: 'crash', success: true,
                                  id: `${unit}-o` });
            }
            for (let attempt = 0; !stop || attempt === 0; attempt++) {
                sent++;
                const res = await post('/v1/events', token, { events });
                if (res.status === 200) {
                    events.forEach((e) => acked.add(e.id));
                    break;
                }
                retried++;
                await sleep(20);
                if (attempt > 500) return; // bounded: ~10 s of retries
            }
        }
    }
    const clients = [];
    for (let c = 0; c < CLIENTS; c++) clients.push(client(c));

    const rounds = Number(ROUNDS);
    let allPresent = true, noneTwice = true, detail = '';
    for (let k = 0; k < rounds; k++) {
        await sleep(250 + Math.floor(Math.random() * 400));
        const sig = await kill('SIGKILL');
        const snapshot = new Set(acked); // every ack given before the kill
        await start();
        const ids = logIds();
        const seen = new Set(ids);
        if (seen.size !== ids.length) {
            noneTwice = false;
            detail += `round ${k}: ${ids.length - seen.size} ids twice; `;
        }
        let missing = 0;
        for (const id of snapshot) if (!seen.has(id)) missing++;
        if (missing) {
            allPresent = false;
            detail += `round ${k}: ${missing} of ${snapshot.size} acknowledged ids missing; `;
        }
        ok(sig === 'SIGKILL' && snapshot.size > 0,
           `round ${k + 1}: killed with ${snapshot.size} events acknowledged, restarted`);
    }
    stop = true;
    await Promise.all(clients);
    ok(allPresent, `every acknowledged event was in the log after each of ${rounds} restarts`,
       detail);
    ok(noneTwice, 'no event id is in the log twice', detail);

    // The aggregates rebuilt after the last kill count exactly what the log holds.
    const res = await new Promise((resolve) => {
        http.get({ host: '127.0.0.1', port, path: '/v1/experiments/crash/results',
                   headers: { Authorization: `Bearer ${token}` } }, (rs) => {
            let t = '';
            rs.on('data', (d) => t += d);
            rs.on('end', () => resolve(JSON.parse(t)));
        });
    });
    const units = Number(query("SELECT count(DISTINCT unit) FROM events WHERE kind = 'exposure'"));
    const conv = Number(query("SELECT count(DISTINCT unit) FROM events WHERE kind = 'outcome'"));
    const got = res.variants.reduce((s, v) => s + v.units, 0);
    const gotConv = res.variants.reduce((s, v) => s + v.conversions, 0);
    ok(got === units && gotConv === conv && units > 0,
       `rebuilt aggregates equal the log (${units} units, ${conv} conversions)`,
       `results ${got} units, ${gotConv} conversions`);
    const logged = Number(query('SELECT count(*) FROM events'));
    ok(logged >= acked.size, `the log holds all ${acked.size} acknowledged events (${logged} rows, ` +
       `${sent} requests, ${retried} retried)`);
    const code = await kill('SIGTERM');
    ok(code === 0, 'the last server stops cleanly on SIGTERM', `exit ${code}`);
    ok(!reports, 'no sanitizer reported anything in the servers\' logs', reports);
    agent.destroy();
    console.log(`1..${n}`);
    process.exit(failed ? 1 : 0);
}

const deadline = setTimeout(() => {
    console.log(`not ok ${n + 1} - the crash test ran out of time`);
    console.log(`1..${n + 1}`);
    if (server) server.kill('SIGKILL');
    process.exit(1);
}, 120000);
deadline.unref();
main().catch((e) => {
    console.log(`not ok ${n + 1} - ${e.message}`);
    console.log(`1..${n + 1}`);
    if (server) server.kill('SIGKILL');
    process.exit(1);
});
