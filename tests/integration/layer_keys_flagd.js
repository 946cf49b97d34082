// layer_keys_flagd.js - layer_keys's twin through @openfeature/flagd-core (the reference
// evaluator): the same document, keys and flags, the same lines
// "KEY<TAB>FLAG<TAB>VARIANT<TAB>REASON<TAB>VALUE", so layers_api.sh can compare them.
//
//   NODE_PATH=.../node_modules node layer_keys_flagd.js DOC.json PREFIX N FLAG...
'use strict';
const fs = require('fs');
const { FlagdCore } = require('@openfeature/flagd-core');

const [doc, prefix, n, ...flags] = process.argv.slice(2);
const core = new FlagdCore();
core.setConfigurations(fs.readFileSync(doc, 'utf8'));
const out = [];
for (let k = 0; k < Number(n); k++) {
  const key = prefix + k;
  for (const f of flags) {
    const r = core.resolveStringEvaluation(f, '(none)', { targetingKey: key });
    out.push(`${key}\t${f}\t${r.variant === undefined ? '-' : r.variant}\t${r.reason}\t${r.value}`);
  }
  if (out.length >= 30000) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
}
if (out.length)
  process.stdout.write(out.join('\n') + '\n');
