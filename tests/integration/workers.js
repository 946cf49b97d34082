// workers.js - the data-plane workers under every kind of load at once (workers.sh).
//
//   node workers.js URL ADMIN_TOKEN SDK_TOKEN ROUNDS
//
// While one client replaces the flag document ROUNDS times (flags "a" and "b" always at the
// same version, in one PUT /v1/flagset), four clients evaluate all flags over OFREP in a
// loop, a fifth posts event batches and a sixth reads the API (handed to the engine's
// loop), and an SSE stream listens. Prints one JSON line: how many bulk answers there
// were, how many saw a and b at different versions (a torn snapshot), the last version
// seen, non-2xx answers by kind, and the refetch events the stream got.
'use strict';
const [url, admin, sdk, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg);

let driven; // the running experiment's flag: an import must keep it as it is
const doc = (n) => {
  const flag = {state: 'ENABLED', variants: {[`v${n}`]: n, w: -1}, defaultVariant: `v${n}`};
  return {flags: {a: flag, b: flag, c: {state: 'ENABLED', variants: {x: 1}, defaultVariant: 'x'},
                  exp: driven}};
};

async function call(method, path, token, body) {
  const r = await fetch(url + path, {
    method,
    headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  return {status: r.status, body: text ? JSON.parse(text) : null};
}

async function main() {
  const out = {bulk: 0, torn: 0, last: -1, bad: {ofrep: 0, change: 0, events: 0, api: 0},
               refetch: 0, api: 0, events: 0};
  let done = false;
  driven = (await call('GET', '/v1/flags/exp', admin)).body.definition;
  if ((await call('PUT', '/v1/flagset', admin, doc(0))).status !== 200) out.bad.change++;
  // the stream: its URL from a bulk answer
  const first = await call('POST', '/ofrep/v1/evaluate/flags', sdk, {context: {}});
  const streamUrl = first.body.eventStreams[0].url;
  const ac = new AbortController();
  const stream = fetch(streamUrl, {signal: ac.signal}).then(async (r) => {
    const dec = new TextDecoder();
    for await (const chunk of r.body)
      out.refetch += (dec.decode(chunk).match(/refetchEvaluation/g) || []).length;
  }).catch(() => {});

  const evaluator = async () => {
    while (!done) {
      const r = await call('POST', '/ofrep/v1/evaluate/flags', sdk, {context: {targetingKey: 'u1'}});
      if (r.status !== 200) { out.bad.ofrep++; continue; }
      const v = {};
      for (const f of r.body.flags) v[f.key] = f.value;
      out.bulk++;
      if (v.a !== v.b) out.torn++;
      if (v.a > out.last) out.last = v.a;
    }
  };
  const ingest = async () => {
    let i = 0;
    while (!done) {
      const events = [];
      for (let k = 0; k < 200; k++)
        events.push({type: 'exposure', unit: `u${i}-${k}`, experiment: 'exp', variant: k % 2 ? 'a' : 'b'});
      const r = await call('POST', '/v1/events', sdk, {events});
      if (r.status !== 200) out.bad.events++; else out.events += r.body.accepted;
      i++;
    }
  };
  const reader = async () => {
    while (!done) {
      const r = await call('GET', '/v1/flags/a', admin);
      if (r.status !== 200) out.bad.api++; else out.api++;
    }
  };
  const workers = [evaluator(), evaluator(), evaluator(), evaluator(), ingest(), reader()];
  for (let n = 1; n <= rounds; n++) {
    const r = await call('PUT', '/v1/flagset', admin, doc(n));
    if (r.status !== 200) out.bad.change++;
  }
  await new Promise((res) => setTimeout(res, 300)); // the stream's last refetches
  done = true;
  await Promise.all(workers);
  // the final state, evaluated once more
  const fin = await call('POST', '/ofrep/v1/evaluate/flags', sdk, {context: {}});
  out.final = fin.body.flags.find((f) => f.key === 'a').value;
  ac.abort();
  await stream;
  console.log(JSON.stringify(out));
}
main().catch((e) => { console.error(e); process.exit(1); });
