// pg_nodes.js - what pg_nodes.sh measures on three nodes of one database: a change made
// through one node, served by another. Prints one line per figure, for the script to check:
//   fanout N p50 P50 p99 P99 max MAX missed M within100 K p95 P95
//                                                 (ms from the answer to the change on the
//                                                  writing node to the same answer read on
//                                                  the other one; missed: not within 2 s;
//                                                  K of N within 100 ms)
//   revoked MS | revoked never                     (a token revoked on one node refused by
//                                                  another)
//   killswitch MS | killswitch never
//   ingest acked A sent S retried R moved M          (events sent by 6 clients, two per node,
//                                                  for MS ms; acked ids into OUT, one a line)
//
//   node pg_nodes.js fanout WRITER_URL READER_URL TOKEN COUNT
//   node pg_nodes.js revoke WRITER_URL READER_URL ADMIN_TOKEN
//   node pg_nodes.js killswitch WRITER_URL READER_URL ADMIN_TOKEN
//   node pg_nodes.js ingest URL1,URL2,URL3 MS SDK_TOKEN OUT
//
// ingest: experiment "spread" (variants a, b) gets batches of 40 events from 6 clients, two
// per node: exposures and outcomes of units drawn from one pool of 600 (so one unit's events
// reach several nodes, in orders only the log decides), 1 exposure in 20 to the other
// variant (crossovers: they depend on that order), ids unique. A batch whose answer is not
// 200 (its node killed, restarting) is sent again, same ids, to the next node; once 200 its
// ids are acknowledged. pg_nodes.sh kills a node meanwhile and checks the log afterwards.
'use strict';

const [mode, writer, reader, token, countText] = process.argv.slice(2);
const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

async function call(base, method, path, body, headers = auth) {
  const r = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

// Polls `probe` on the reader until it says true, at most 2 s; the ms it took, or null.
// PG_NODES_POLL_MS in the environment pauses that long between polls (bench/pg.sh's mixed
// phases: a poll as fast as the answers come would be a load of its own); none by default.
const pollMs = Number(process.env.PG_NODES_POLL_MS || 0);
async function until(probe) {
  const t0 = performance.now();
  while (performance.now() - t0 < 2000) {
    if (await probe()) return performance.now() - t0;
    if (pollMs > 0) await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  return null;
}

function flag(i) {
  return {
    state: 'ENABLED',
    defaultVariant: 'v',
    variants: { v: i, other: -1 },
  };
}

async function fanout() {
  const n = Number(countText);
  const took = [];
  let missed = 0;
  for (let i = 1; i <= n; i++) {
    const put = await call(writer, 'PUT', '/v1/flags/fanout', flag(i));
    if (put.status !== 200 && put.status !== 201) throw new Error(`PUT: ${put.status}`);
    const ms = await until(async () => {
      const r = await call(reader, 'POST', '/ofrep/v1/evaluate/flags/fanout', { context: {} });
      return r.status === 200 && r.body.value === i;
    });
    if (ms === null) missed++;
    else took.push(ms);
  }
  took.sort((a, b) => a - b);
  const at = (q) => (took.length ? took[Math.min(took.length - 1, Math.floor(q * took.length))] : NaN);
  const within = took.filter((ms) => ms <= 100).length;
  console.log(
    `fanout ${n} p50 ${at(0.5).toFixed(1)} p99 ${at(0.99).toFixed(1)} ` +
      `max ${(took.length ? took[took.length - 1] : NaN).toFixed(1)} missed ${missed} ` +
      `within100 ${within} p95 ${at(0.95).toFixed(1)}`,
  );
}

async function revoke() {
  const made = await call(writer, 'POST', '/v1/tokens', { role: 'viewer', name: 'short-lived' });
  const secret = made.body.token;
  const as = { authorization: `Bearer ${secret}` };
  // known to the reader first (it looks an unknown token up in the store)
  const before = await call(reader, 'GET', '/v1/flags', undefined, as);
  if (before.status !== 200) throw new Error(`the new token on the reader: ${before.status}`);
  const del = await call(writer, 'DELETE', `/v1/tokens/${made.body.id}`);
  if (del.status !== 200 && del.status !== 204) throw new Error(`DELETE: ${del.status}`);
  const ms = await until(async () => (await call(reader, 'GET', '/v1/flags', undefined, as)).status === 401);
  console.log(ms === null ? 'revoked never' : `revoked ${ms.toFixed(1)}`);
}

async function killswitch() {
  const put = await call(writer, 'POST', '/v1/go-live/kill-switch', {
    engaged: true,
    reason: 'pg_nodes: engaged on one node',
  });
  if (put.status !== 200) throw new Error(`kill switch: ${put.status}`);
  const ms = await until(async () => {
    const r = await call(reader, 'GET', '/v1/go-live/state');
    return r.status === 200 && r.body.kill_switch && r.body.kill_switch.engaged === true;
  });
  console.log(ms === null ? 'killswitch never' : `killswitch ${ms.toFixed(1)}`);
}

async function ingest() {
  const urls = writer.split(',');
  const ms = Number(reader);
  const out = countText;
  const acked = [];
  let sent = 0;
  let retried = 0;
  let moved = 0;
  let seed = 2026;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const t0 = performance.now();
  async function client(c) {
    let node = c % urls.length;
    for (let b = 0; performance.now() - t0 < ms; b++) {
      const events = [];
      for (let i = 0; i < 40; i++) {
        const k = Math.floor(random() * 600);
        const unit = `u${k}`;
        const id = `c${c}-b${b}-e${i}`;
        if (random() < 0.6) {
          const v = (k % 2 === 0) === random() < 0.95 ? 'a' : 'b';
          events.push({ type: 'exposure', unit, experiment: 'spread', variant: v, id });
        } else {
          events.push({ type: 'outcome', unit, experiment: 'spread', success: random() < 0.3, id });
        }
      }
      for (let attempt = 0; ; attempt++) {
        sent++;
        let status = 0;
        try {
          const r = await fetch(urls[node] + '/v1/events', {
            method: 'POST',
            headers: auth,
            body: JSON.stringify({ events }),
            signal: AbortSignal.timeout(5000),
          });
          status = r.status;
          await r.text();
        } catch (e) {
          status = 0;
        }
        if (status === 200) {
          events.forEach((e) => acked.push(e.id));
          break;
        }
        retried++;
        if (attempt > 300) throw new Error(`client ${c}: a batch not taken after 300 tries (${status})`);
        if (status === 0 || status >= 500) {
          node = (node + 1) % urls.length; // that node is down: the next one
          moved++;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
  const clients = [];
  for (let c = 0; c < 2 * urls.length; c++) clients.push(client(c));
  await Promise.all(clients);
  require('fs').writeFileSync(out, acked.join('\n') + '\n');
  console.log(`ingest acked ${acked.length} sent ${sent} retried ${retried} moved ${moved}`);
}

({ fanout, revoke, killswitch, ingest })[mode]().catch((e) => {
  console.error(String(e));
  process.exit(1);
});
