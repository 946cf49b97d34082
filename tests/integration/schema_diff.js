// schema_diff.js - `switchyard flags validate --strict` against flagd's JSON schema as ajv
// validates it, on every document of the conformance data and on generated mutations of
// the valid ones; see schema_diff.sh.
//
//   node schema_diff.js SWITCHYARD CONFORMANCE_DIR WORK_DIR SEED RANDOM_COUNT
//
// Prints "# ..." lines, then one line per disagreement ("DISAGREE ..." with the document),
// then "compared N agreed M"; exits 1 on any disagreement or a broken harness.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const Ajv = require('ajv');

const [SY, CONF, WORK, SEED, RANDOM_COUNT] = process.argv.slice(2);
const SCHEMA = path.join(CONF, 'schema');

// ---- the schema, as flagd's own repository checks it: draft-07, targeting.json by its $id
const ajv = new Ajv({ strict: false, allErrors: false });
ajv.addSchema(JSON.parse(fs.readFileSync(path.join(SCHEMA, 'targeting.json'), 'utf8')));
const schemaValid = ajv.compile(JSON.parse(fs.readFileSync(path.join(SCHEMA, 'flags.json'), 'utf8')));

// ---- a deterministic generator (mulberry32), so that a failure replays from its seed
let rngState = Number(SEED) >>> 0;
function rnd() {
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const clone = (v) => JSON.parse(JSON.stringify(v));

// ---- the documents: [name, text]
const docs = [];
const add = (name, doc) => docs.push([name, typeof doc === 'string' ? doc : JSON.stringify(doc)]);

// 1. The test-bed's flag files, all of them.
for (const dir of ['testbed/flags', 'testbed/evaluator'])
  for (const f of fs.readdirSync(path.join(CONF, dir)).sort())
    if (f.endsWith('.json')) add(`${dir}/${f}`, fs.readFileSync(path.join(CONF, dir, f), 'utf8'));

// flagd-core's own refusal (a defaultVariant naming no variant) is the one thing the schema
// accepts that no loader can load: strict refuses it too, and the oracle records such a
// document as schema-invalid.
function coreRefuses(doc) {
  for (const f of Object.values((doc && doc.flags) || {}))
    if (f && typeof f === 'object' && f.variants && typeof f.variants === 'object' && !Array.isArray(f.variants) &&
        typeof f.defaultVariant === 'string' && f.defaultVariant !== '' &&
        !Object.prototype.hasOwnProperty.call(f.variants, f.defaultVariant))
      return true;
  return false;
}

// Where the oracle's recorded schema_valid is not what the schema says of the document as
// written (tests/conformance/suite_flagd.c lists the same).
const oracleDivergences = {
  'oracle/evaluators.json#evaluators': 'a {"$ref"} as fractional\'s bucketing value, which must be an anyRule',
};

// 2. The oracle's flag sets and load documents, whose schema verdicts its authors recorded:
//    ajv must give the same ones, or this harness is not the schema they used.
const oracleDir = path.join(CONF, 'oracle');
let harnessBroken = 0;
const seeds = [];
for (const f of fs.readdirSync(oracleDir).sort()) {
  const o = JSON.parse(fs.readFileSync(path.join(oracleDir, f), 'utf8'));
  const recorded = [];
  for (const [name, set] of Object.entries(o.flag_sets || {}))
    recorded.push([`oracle/${f}#${name}`, set, (o.schema_valid || {})[name]]);
  for (const c of o.kind === 'load' ? o.cases : [])
    recorded.push([`oracle/${f}#${c.name}`, c.document, c.expected.schema_valid]);
  for (const [name, doc, expected] of recorded) {
    add(name, doc);
    let parsed;
    try {
      parsed = typeof doc === 'string' ? JSON.parse(doc) : doc;
    } catch (e) {
      parsed = undefined;
    }
    const ok = parsed !== undefined && schemaValid(parsed);
    const got = ok && !coreRefuses(parsed);
    if (expected !== undefined && got !== expected) {
      if (oracleDivergences[name]) {
        console.log(`# known: the oracle records schema_valid ${expected} for ${name}; the schema as written says ${got}: ${oracleDivergences[name]}`);
      } else {
        console.log(`# HARNESS: ajv says ${got} where the oracle recorded schema_valid ${expected}: ${name}`);
        harnessBroken++;
      }
    }
    // Small valid documents seed the random mutations (the large ones would only slow the
    // run: a mutation of a 300 KB set tests what one of a 3 KB set does).
    if (ok && JSON.stringify(parsed).length < 8192) seeds.push(parsed);
  }
}
for (const f of fs.readdirSync(path.join(CONF, 'testbed/flags')).sort()) {
  const d = JSON.parse(fs.readFileSync(path.join(CONF, 'testbed/flags', f), 'utf8'));
  if (schemaValid(d) && JSON.stringify(d).length < 8192) seeds.push(d);
}

// 3. A document with every operator of targeting.json in a valid position.
const every = {
  $schema: 'https://flagd.dev/schema/v0/flags.json',
  metadata: { flagSetId: 'set-1', version: '7', team: 'growth', tier: 2, beta: true },
  $evaluators: {
    isAdmin: { in: [{ var: 'role' }, ['admin', 'root']] },
    internal: { ends_with: [{ var: 'email' }, '@example.com'] },
  },
  flags: {
    'bool-flag': {
      state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off',
      metadata: { owner: 'me', weight: 3, live: false },
      targeting: { if: [{ $ref: 'isAdmin' }, 'on', { and: [{ '==': [{ var: 'a' }, 1] }, { '!=': [1, 2] }] }, 'on', null] },
    },
    'string-flag': {
      state: 'ENABLED', variants: { a: 'A', b: 'B' }, defaultVariant: 'a',
      targeting: { if: [{ sem_ver: [{ var: 'version' }, '>=', '1.2.3-rc.1+build.5'] }, 'b', 'a'] },
    },
    'number-flag': {
      state: 'DISABLED', variants: { one: 1, two: 2.5 }, defaultVariant: null,
      targeting: { fractional: [{ cat: [{ var: '$flagd.flagKey' }, { var: 'targetingKey' }] }, ['one', 50], ['two', 50], [null, 0]] },
    },
    'object-flag': {
      state: 'ENABLED', variants: { x: { k: 1 }, y: { k: [1, 2] } }, defaultVariant: 'x',
      targeting: { fractional: [['x', 1], ['y', { var: 'w' }], [{ $ref: 'internal' }]] },
    },
    'static-flag': { state: 'ENABLED', variants: { only: 'one' } },
    'ops-flag': {
      state: 'ENABLED', variants: { t: true, f: false }, defaultVariant: 't',
      targeting: {
        or: [
          { '===': [{ var: ['a', 1] }, 1] }, { '!==': [1, '1'] }, { '>': [2, 1] }, { '>=': [2, 2] },
          { '<': [1, 2] }, { '<': [1, { var: 'x' }, 3] }, { '<=': [1, 2, 3] },
          { '%': [5, 2] }, { '/': [4, 2] }, { '*': [2, 3, 4] }, { '+': [1] }, { '-': [3, 1] },
          { max: [1, 2] }, { min: [1] }, { merge: [[1], [2]] }, { substr: ['abc', 1] },
          { substr: ['abc', 0, 2] }, { in: ['a', 'abc'] }, { missing: ['a', 'b'] },
          { missing_some: [1, ['a', 'b']] }, { map: [[1, 2], { '*': [{ var: '' }, 2] }] },
          { filter: [[1, 2], { '>': [{ var: '' }, 1] }] }, { all: [[1], { var: '' }] },
          { none: [[1], { var: '' }] }, { some: [[1], { var: '' }] },
          { reduce: [[1, 2], { '+': [{ var: 'current' }, { var: 'accumulator' }] }, 0] },
          { '!': [{ var: 'x' }] }, { '!': true }, { '!!': [1] }, { '!!': { var: 'y' } },
          { starts_with: [{ var: 'email' }, 'ann'] }, { ends_with: ['abc', { cat: ['b', 'c'] }] },
          { sem_ver: ['1.0.0', '~', { var: 'v' }] }, { sem_ver: [{ var: 'v' }, '^', '2.0.0'] },
          { '==': [{ var: '$flagd.timestamp' }, 0] }, { and: [true] }, { cat: ['a', 1, null] },
          {},
        ],
      },
    },
  },
};
add('generated/every-operator', every);
seeds.push(every);

// Raw texts JSON.stringify cannot write: numbers as written, escapes.
const raw = [
  '{"flags":{"a":{"state":"ENABLED","variants":{"x":1},"targeting":{"fractional":[{"var":"k"},["x",2.0]]}}}}',
  '{"flags":{"a":{"state":"ENABLED","variants":{"x":1},"targeting":{"fractional":[{"var":"k"},["x",1e2]]}}}}',
  '{"flags":{"a":{"state":"ENABLED","variants":{"x":1},"targeting":{"fractional":[{"var":"k"},["x",-0.0]]}}}}',
  '{"flags":{"a":{"state":"ENABLED","variants":{"x":1},"targeting":{"fractional":[{"var":"k"},["x",2.5e0]]}}}}',
  '{"flags":{"a\\u2028b":{"state":"ENABLED","variants":{"x":1}}}}',
  '{"flags":{"a":{"state":"ENABLED","variants":{"x\\u2029":1}}}}',
  '{"flags":{"a":{"state":"ENABLED","variants":{"x":1},"targeting":{"var":"$flagd.ts\\u2028"}}}}',
  '{"flags":{"a":{"state":"ENABLED","variants":{"x":1}}},"flags":{}}',
  '{"flags":{"a":{"state":"ENABLED","variants":{"x":1},"state":"OFF"}}}',
  '{"flags":{"a":{"state":"ENABLED","variants":{"x":1}}}',
  '',
  '[]',
  'null',
];
raw.forEach((t, i) => add(`generated/raw-${i}`, t));

// 4. Mutations. Values of every type, and the near misses each position invites.
const literals = [null, true, false, 0, -1, 1.5, 7, '', 's', '1.2.3', 'on', '$flagd.x', [], [1],
  ['on', 1], {}, { var: 'x' }, { $ref: 'isAdmin' }, { $ref: 7 }, { nope: [1] }, { '==': [1] },
  { var: '$flagd.flagKey' }, { '==': [1, 1], '!=': [1, 2] }, { '==': [1, 1], '<': [1, 2] }];
const semvers = ['1.2.3', '1.2', '1', 'v1.2.3', 'V1.2.3', '01.2.3', '1.02.3', '1.2.3-', '1.2.3-01',
  '1.2.3-0a', '1.2.3-rc.1', '1.2.3-rc..1', '1.2.3+', '1.2.3+01', '1.2.3+b.5', '1.2.3-a+b', ' 1.2.3',
  '1.2.3 ', '1.2.3\n', '1.2.3.4', '', '1.2.3-a_b', '1.2.3-ä', '0.0.0', '10.20.30-x-y-z.--'];
const weights = [-1, -0.5, 0, 1, 1.5, 100, 4294967296, 2147483647, '5', null, true, [], {}, { var: 'w' },
  { '-': [0, 5] }, { $ref: 'isAdmin' }];
const varNames = ['$flagd.timestamp', '$flagd.flagKey', '$flagd.foo', '$flagd.', '$flagd', '$flagd.foo\nbar',
  '$flagd.timestamp\n', '$flagd.flagKey ', 'user.id', '', ['$flagd.foo'], [5], ['a', {}], [], 5, null, {}];
const keys = ['', 'a\nb', 'a\rb', 'tab\t', ' ', 'ok-key', 'ü', 'a\u2028'];
const members = ['defaultVarient', 'targetting', 'varients', 'stat', 'metdata', 'key', 'enabled', '$ref',
  'var', 'if', '==', 'x'];
const states = ['ENABLED', 'DISABLED', 'enabled', 'ENABLED ', '', 'ON', null, true, 1];
const variantSets = [{ a: true }, { a: 'x', b: 'y' }, { a: 1, b: 2.5 }, { a: {}, b: { c: 1 } }, {},
  { a: true, b: 'x' }, { a: 1, b: '1' }, { a: null }, { a: [1] }, { a: {}, b: [] }, { '': true },
  { 'a\nb': 1 }];
const metas = [{}, { a: 'x', b: 1, c: true }, { a: null }, { a: [] }, { a: {} }, { version: 1 },
  { flagSetId: 2 }, { version: '1', flagSetId: 'x' }, [], 'x', null];

// Every node of `v` with its parent and key, in document order.
function nodes(v, out = [], parent = null, key = null, depth = 0) {
  out.push({ parent, key, v, depth });
  if (Array.isArray(v)) v.forEach((x, i) => nodes(x, out, v, i, depth + 1));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) nodes(v[k], out, v, k, depth + 1);
  return out;
}
function set(parent, key, value) {
  parent[key] = value;
}
// The rules of a document: every flag's targeting and every evaluator.
function rules(doc) {
  const out = [];
  for (const f of Object.values((doc && doc.flags) || {}))
    if (f && typeof f === 'object' && 'targeting' in f) out.push([f, 'targeting']);
  for (const k of Object.keys((doc && doc.$evaluators) || {})) out.push([doc.$evaluators, k]);
  return out;
}

let generated = 0;
const gen = (name, doc) => {
  add(name, doc);
  generated++;
};

// 4a. Every operand position of the every-operator document, every literal in turn.
{
  const base = every;
  const slots = [];
  for (const [holder, k] of rules(base))
    nodes(holder[k]).forEach((n, i) => { if (n.parent) slots.push([holder, k, i]); });
  for (const [holder, k, i] of slots)
    for (const lit of literals) {
      const doc = clone(base);
      const hs = rules(doc).find(([h, kk]) => kk === k && JSON.stringify(h[kk]) === JSON.stringify(holder[k]));
      const n = nodes(hs[0][hs[1]])[i];
      set(n.parent, n.key, clone(lit));
      gen(`generated/operand-${generated}`, doc);
    }
}

// 4b. Each targeted kind of value through its own list.
function everywhere(doc, test, values, tag) {
  for (const [holder, k] of rules(doc))
    nodes(holder[k]).forEach((n, i) => {
      if (!test(n)) return;
      for (const val of values) {
        const d = clone(doc);
        const r = rules(d).find(([h, kk]) => kk === k && JSON.stringify(h[kk]) === JSON.stringify(holder[k]));
        const m = nodes(r[0][r[1]])[i];
        set(m.parent, m.key, clone(val));
        gen(`generated/${tag}-${generated}`, d);
      }
    });
}
const isSemverOperand = (n) => Array.isArray(n.parent) && typeof n.v === 'string' && /^\d/.test(n.v);
everywhere(every, isSemverOperand, semvers, 'semver');
const isWeight = (n) => Array.isArray(n.parent) && n.key === 1 && n.parent.length === 2 && typeof n.v === 'number';
everywhere(every, isWeight, weights, 'weight');
const isVarName = (n) => n.parent && !Array.isArray(n.parent) && n.key === 'var';
everywhere(every, isVarName, varNames, 'var');

// 4c. Flags: state, variants, defaultVariant, metadata, members, keys.
for (const fk of Object.keys(every.flags)) {
  for (const s of states) { const d = clone(every); d.flags[fk].state = s; gen(`generated/state-${generated}`, d); }
  { const d = clone(every); delete d.flags[fk].state; gen(`generated/nostate-${generated}`, d); }
  for (const v of variantSets) {
    const d = clone(every);
    d.flags[fk].variants = clone(v);
    d.flags[fk].defaultVariant = Object.keys(v)[0] === undefined ? null : Object.keys(v)[0];
    gen(`generated/variants-${generated}`, d);
  }
  for (const dv of [null, '', 'nope', 1, true, [], {}]) { const d = clone(every); d.flags[fk].defaultVariant = dv; gen(`generated/default-${generated}`, d); }
  for (const m of metas) { const d = clone(every); d.flags[fk].metadata = clone(m); gen(`generated/flagmeta-${generated}`, d); }
  for (const m of members) {
    const d = clone(every);
    d.flags[fk][m] = 'x';
    gen(`generated/member-${generated}`, d);
    const e = clone(every);
    const real = { defaultVarient: 'defaultVariant', targetting: 'targeting', varients: 'variants', stat: 'state', metdata: 'metadata' }[m];
    if (real && real in e.flags[fk]) {
      e.flags[fk][m] = e.flags[fk][real];
      delete e.flags[fk][real];
      gen(`generated/misspelt-${generated}`, e);
    }
  }
  for (const k of keys) { const d = clone(every); d.flags[k] = d.flags[fk]; gen(`generated/key-${generated}`, d); }
  for (const t of [null, 1, 'x', [], [{ var: 'x' }], {}, { $ref: 'isAdmin' }, { $ref: 'missing' }]) {
    const d = clone(every); d.flags[fk].targeting = clone(t); gen(`generated/targeting-${generated}`, d);
  }
}
// 4d. The document around the flags.
for (const m of metas) { const d = clone(every); d.metadata = clone(m); gen(`generated/setmeta-${generated}`, d); }
for (const ev of [null, [], 'x', {}, { '': { var: 'x' } }, { 'a\nb': { var: 'x' } }, { r: { $ref: 'isAdmin' } }, { r: [] }, { r: {} }, { r: { nope: 1 } }]) {
  const d = clone(every); d.$evaluators = clone(ev); gen(`generated/evaluators-${generated}`, d);
}
for (const fl of [null, [], 'x', {}, [every.flags['bool-flag']]]) { const d = clone(every); d.flags = clone(fl); gen(`generated/flags-${generated}`, d); }
{ const d = clone(every); delete d.flags; gen(`generated/noflags-${generated}`, d); }
{ const d = clone(every); d.flag = d.flags; delete d.flags; gen(`generated/flag-${generated}`, d); }
{ const d = clone(every); d.extra = { any: 'thing' }; gen(`generated/extra-${generated}`, d); }

// 4e. Random mutations of random seeds: one to three edits anywhere.
const anyValue = () => clone(pick([pick(literals), pick(semvers), pick(weights), pick(varNames), pick(variantSets), pick(metas), pick(states)]));
for (let i = 0; i < Number(RANDOM_COUNT); i++) {
  const d = clone(pick(seeds));
  const edits = 1 + Math.floor(rnd() * 3);
  for (let e = 0; e < edits; e++) {
    const all = nodes(d).filter((n) => n.parent);
    if (!all.length) break;
    const n = pick(all);
    const what = rnd();
    if (what < 0.45) set(n.parent, n.key, anyValue());
    else if (what < 0.6) {
      if (Array.isArray(n.parent)) n.parent.splice(n.key, 1);
      else delete n.parent[n.key];
    } else if (what < 0.75) {
      if (Array.isArray(n.parent)) n.parent.push(anyValue());
      else n.parent[pick(members.concat(keys, ['state', 'variants', 'if', 'fractional', 'sem_ver']))] = anyValue();
    } else if (what < 0.85 && Array.isArray(n.v)) n.v.splice(Math.floor(rnd() * (n.v.length + 1)), 0, anyValue());
    else if (n.v && typeof n.v === 'object' && !Array.isArray(n.v)) {
      const ks = Object.keys(n.v);
      if (ks.length) {
        const k = pick(ks), nk = pick(members.concat(keys, ['==', 'in', 'var', 'starts_with', '$ref', 'cat']));
        const val = n.v[k];
        delete n.v[k];
        n.v[nk] = val;
      }
    } else set(n.parent, n.key, anyValue());
  }
  gen(`generated/random-${i}`, d);
}

// ---- switchyard's verdicts, a thousand files a run
fs.mkdirSync(WORK, { recursive: true });
const files = docs.map(([, text], i) => {
  const f = path.join(WORK, `d${String(i).padStart(6, '0')}.json`);
  fs.writeFileSync(f, text);
  return f;
});
const verdict = new Map();
for (let i = 0; i < files.length; i += 1000) {
  const batch = files.slice(i, i + 1000);
  const r = spawnSync(SY, ['flags', 'validate', ...batch, '--strict'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) {
    console.log(`# HARNESS: cannot run ${SY}: ${r.error.message}`);
    process.exit(1);
  }
  for (const line of (r.stdout + r.stderr).split('\n')) {
    const m = /^(.*): (valid|invalid): \d+ (flags?|errors?), \d+ warnings?$/.exec(line);
    if (m) verdict.set(m[1], m[2] === 'valid');
  }
}

// ---- compare
let agreed = 0, disagreed = 0, valid = 0, coreOnly = 0;
docs.forEach(([name, text], i) => {
  let parsed, ok;
  try {
    parsed = JSON.parse(text);
    ok = schemaValid(parsed);
  } catch (e) {
    ok = false;
  }
  let want = ok;
  if (ok && coreRefuses(parsed)) {
    want = false;
    coreOnly++;
  }
  const got = verdict.get(files[i]);
  if (got === want) {
    agreed++;
    valid += want ? 1 : 0;
    return;
  }
  disagreed++;
  const why = ok ? '' : ' ajv: ' + JSON.stringify((schemaValid.errors || []).slice(0, 2).map((e) => `${e.instancePath} ${e.message}`));
  console.log(`DISAGREE ${name} (${files[i]}): schema ${want ? 'valid' : 'invalid'}, switchyard --strict ${got === undefined ? 'no verdict' : got ? 'valid' : 'invalid'}.${why}`);
  console.log(`  document: ${text.length > 4000 ? text.slice(0, 4000) + '...' : text}`);
});
console.log(`# ${docs.length - generated} documents of the conformance data, ${generated} generated (seed ${SEED})`);
console.log(`# schema-valid: ${valid}; schema-valid but refused by flagd-core too (defaultVariant naming no variant): ${coreOnly}`);
console.log(`compared ${docs.length} agreed ${agreed} disagreed ${disagreed}`);
process.exit(disagreed || harnessBroken ? 1 : 0);
