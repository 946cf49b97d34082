// eval_flagd_core.js - the same three cases as bench_eval.c, through @openfeature/flagd-core
// (the reference evaluator) under node, printed in the same "name median_ns p90_ns evals"
// form, then "picks DIGEST": an FNV-1a digest of the variant every split3 key got, so
// eval.sh can check both evaluators bucket every key the same way.
//
//   node eval_flagd_core.js FLAGS_JSON [KEYS]
'use strict';
const fs = require('fs');
const { FlagdCore } = require('@openfeature/flagd-core');

const BATCH = 10000;
const file = process.argv[2];
let nkeys = Number(process.argv[3] || 1000000);
nkeys = Math.max(BATCH, Math.floor(nkeys / BATCH) * BATCH);
const core = new FlagdCore();
core.setConfigurations(fs.readFileSync(file, 'utf8'));
const keys = [];
for (let i = 0; i < nkeys; i++) keys.push('user-' + ((i * 7919) % 100000007));

function report(name, ns) {
  ns.sort((a, b) => a - b);
  console.log(`${name} ${(ns[ns.length >> 1] / BATCH).toFixed(1)} ` +
              `${(ns[Math.floor(ns.length * 0.9)] / BATCH).toFixed(1)} ${ns.length * BATCH}`);
}
const nb = nkeys / BATCH;
let sink = 0;
let ns = [];
for (let b = 0; b < nb; b++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < BATCH; i++) sink += core.resolveBooleanEvaluation('static', false, {}).value ? 1 : 0;
  ns.push(Number(process.hrtime.bigint() - t0));
}
report('static', ns);
ns = [];
for (let b = 0; b < nb; b++) {
  const ctx = { tier: 'gold', age: b % 40 };
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < BATCH; i++) sink += core.resolveStringEvaluation('rule', 'x', ctx).value.length;
  ns.push(Number(process.hrtime.bigint() - t0));
}
report('rule', ns);
ns = [];
const picks = Buffer.alloc(nkeys);
for (let b = 0; b < nb; b++) {
  const t0 = process.hrtime.bigint();
  for (let i = b * BATCH; i < (b + 1) * BATCH; i++) {
    picks[i] = core.resolveStringEvaluation('split3', '?', { targetingKey: keys[i] }).value.charCodeAt(0);
  }
  ns.push(Number(process.hrtime.bigint() - t0));
}
report('split3', ns);
// FNV-1a 32 of the variant letters in key order (bench_eval.c prints the same digest).
let h = 0x811c9dc5;
for (let i = 0; i < nkeys; i++) h = Math.imul(h ^ picks[i], 0x01000193) >>> 0;
console.log('picks ' + h.toString(16).padStart(8, '0'));
if (sink < 0) console.log(sink);
