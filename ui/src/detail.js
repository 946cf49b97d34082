// detail.js - #/experiments/KEY: one experiment as its results, allocation, health,
// history and audit entries say it, and its actions.
//
// Every number comes from the /v1 API: the variant comparison from GET .../results (the
// interval is the one the results name in `interval`: always-valid when the test is
// sequential), the live split from the experiment's `weights`, the step's guardrails and
// rate limit from GET .../allocation, health from GET .../health, the charts over time
// from GET .../timeline (chart.js).
//
// Actions go through the same /v1 endpoints as curl would. An action is disabled, with the
// reason in words, when the token's role is below the role GET /v1 names for its endpoint,
// when the experiment's state does not allow it (the transitions docs/api.md states), or
// when the API's own answers say a guardrail refuses a step; anything else the server
// decides, and a refusal is shown as the server's error. Each action asks first, in a
// modal <dialog> (focus stays in it, Esc closes it) that says what will change.
import {api, ApiError, errorBox} from './api.js';
import {h, fill} from './dom.js';
import {int, percent, split} from './format.js';
import {NOT_COMPARED} from './experiments.js';
import {actionItem, endpoints as endpointTable, section} from './actions.js';
import {lineChart} from './chart.js';

const enc = encodeURIComponent;

const pct = (x) => (x === null || x === undefined ? '—' : percent(x));
const signed = (x) => (x === null || x === undefined ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} %`);
const interval = (ci) => (Array.isArray(ci) && ci.length === 2 ? `${signed(ci[0])} to ${signed(ci[1])}` : '—');
const num = (x, d = 4) => (x === null || x === undefined ? '—' : Number(x).toFixed(d));

const CHECKS = [
  ['min_sample', 'Sample: at least the minimum units per variant'],
  ['min_confidence', 'Confidence: at or above the gate'],
  ['min_improvement', 'Improvement: the lift reaches the minimum'],
  ['min_runtime', 'Runtime: the minimum hours have passed'],
  ['max_error_rate', 'Errors: the error rate stays under its maximum'],
];

// What a step would do (the rule docs/api.md states for POST .../allocation/apply):
// min(max_step_pct, 100 - winner) points to the winner, taken from the others in
// proportion to their weights, odd points from the largest remainders. Shown as the
// expected change; the server's answer is what then shows.
export function stepPreview(weights, order, winner, maxStep) {
  const move = Math.min(maxStep, 100 - weights[winner]);
  const others = order.filter((k) => k !== winner);
  const total = others.reduce((s, k) => s + weights[k], 0);
  const after = {...weights, [winner]: weights[winner] + move};
  if (total > 0) {
    const shares = others.map((k) => ({k, exact: (move * weights[k]) / total}));
    let taken = 0;
    for (const s of shares) {
      s.floor = Math.floor(s.exact);
      taken += s.floor;
    }
    shares.sort((a, b) => (b.exact - b.floor) - (a.exact - a.floor));
    for (const s of shares) {
      const extra = taken < move ? 1 : 0;
      taken += extra;
      after[s.k] = weights[s.k] - s.floor - extra;
    }
  }
  return after;
}

// "green 50 % → 80 %, blue 50 % → 20 %": every variant whose weight changes.
export function describeChange(before, after, order) {
  const moved = order.filter((k) => before[k] !== after[k]).map((k) => `${k} ${before[k]} % → ${after[k]} %`);
  return moved.length ? moved.join(', ') : 'no weight changes';
}

function comparisonTable(e, r) {
  const seq = !!r.sequential;
  const head = ['Variant', 'Weight now', 'Units', 'Conversions', 'Rate', 'Errors', 'Lift',
    seq ? 'Always-valid 95 % interval' : '95 % interval', seq ? 'Always-valid p' : 'p-value',
    'Confidence', 'Sample toward plan', 'Verdict'];
  const rows = r.variants.map((v) => {
    const vc = v.vs_control;
    const cells = [
      h('th', {scope: 'row'}, v.key, v.control && h('span', {class: 'sub'}, 'control')),
      h('td', {class: 'num weight'}, `${e.weights[v.key]} %`),
      h('td', {class: 'num units'}, int(v.units)),
      h('td', {class: 'num conversions'}, v.conversions === undefined ? '—' : int(v.conversions)),
      h('td', {class: 'num rate'}, v.rate === undefined ? (v.mean === undefined ? '—' : num(v.mean)) : pct(v.rate)),
      h('td', {class: 'num errors'}, `${int(v.errors)} (${pct(v.error_rate)})`),
    ];
    if (v.control) {
      cells.push(h('td', {colspan: 6, class: 'note'}, 'the baseline the treatments are compared with'));
    } else if (!vc || !vc.compared) {
      cells.push(h('td', {colspan: 6, class: 'note'}, vc && vc.reason ? NOT_COMPARED[vc.reason] || `not compared (${vc.reason})` : 'not compared yet'));
    } else {
      const need = vc.sample_needed;
      const control = r.variants.find((x) => x.control);
      const sample = need
        ? `${int(Math.min(control.units, need.control) + Math.min(v.units, need.treatment))} of ${int(need.control + need.treatment)} units`
        : 'no sample size reaches the planned lift';
      cells.push(
        h('td', {class: 'num lift'}, signed(vc.lift)),
        h('td', {class: 'num ci'}, interval(vc.lift_ci), h('span', {class: 'sub'}, vc.interval)),
        h('td', {class: 'num p'}, num(seq ? vc.always_valid_p : vc.p_value)),
        h('td', {class: 'num confidence'}, pct(vc.confidence)),
        h('td', {class: 'num sample'}, sample),
        h('td', {class: 'verdict'}, h('span', {class: `badge ${vc.verdict === 'winner' ? 'ok' : vc.verdict === 'pending' ? 'muted' : 'bad'}`}, vc.verdict)));
    }
    return h('tr', {'data-variant': v.key}, cells);
  });
  return h('table', {id: 'comparison'},
    h('caption', null, `${r.metric} · ${seq ? 'sequential test: always-valid intervals and p-values' : 'fixed-horizon test'} · ${int(r.units)} units · ${num(r.runtime_hours, 1)} h running`),
    h('thead', null, h('tr', null, head.map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', null, rows));
}

// CUPED (results' cuped members): each treatment's adjusted figures beside the raw ones,
// with the variance the covariate removed. The decision reads the adjusted ones where
// they exist (docs/api.md).
function cupedSection(r) {
  const c = r.cuped;
  const seq = !!r.sequential;
  const head = ['Variant', 'Lift, raw', 'Lift, CUPED', seq ? 'Always-valid 95 % interval, raw' : '95 % interval, raw',
    seq ? 'Always-valid 95 % interval, CUPED' : '95 % interval, CUPED', seq ? 'Always-valid p, raw' : 'p-value, raw',
    seq ? 'Always-valid p, CUPED' : 'p-value, CUPED', 'Standard error, raw → CUPED', 'Variance reduction'];
  const se = (x) => (x === null || x === undefined ? '—' : Number(x).toPrecision(3));
  const rows = r.variants.filter((v) => !v.control).map((v) => {
    const vc = v.vs_control;
    const a = vc && vc.cuped;
    const cells = [h('th', {scope: 'row'}, v.key, h('span', {class: 'sub'}, `${int(v.units_with_covariate || 0)} of ${int(v.units)} units with a covariate`))];
    if (!vc || !vc.compared) {
      cells.push(h('td', {colspan: head.length - 1, class: 'note'}, 'not compared yet'));
    } else if (!a || a.diff === null || a.diff === undefined) {
      cells.push(h('td', {class: 'num lift-raw'}, signed(vc.lift)),
        h('td', {colspan: head.length - 2, class: 'note cuped-reason'}, `no adjusted figures: ${(a && a.reason || 'not computable').replaceAll('_', ' ')}; the decision reads the raw ones`));
    } else {
      cells.push(
        h('td', {class: 'num lift-raw'}, signed(vc.lift)),
        h('td', {class: 'num lift-cuped'}, signed(a.lift)),
        h('td', {class: 'num ci-raw'}, interval(vc.lift_ci)),
        h('td', {class: 'num ci-cuped'}, interval(a.lift_ci)),
        h('td', {class: 'num p-raw'}, num(seq ? vc.always_valid_p : vc.p_value)),
        h('td', {class: 'num p-cuped'}, num(seq ? a.always_valid_p : a.p_value)),
        h('td', {class: 'num se'}, `${se(a.se_raw)} → ${se(a.se)}`),
        h('td', {class: 'num reduction'}, pct(a.variance_reduction)));
    }
    return h('tr', {'data-variant': v.key}, cells);
  });
  return section('cuped-section', 'CUPED: adjusted beside raw',
    h('p', {id: 'cuped-summary'}, c.theta === null || c.theta === undefined
      ? 'θ cannot be estimated yet (no covariate varies): the decision reads the raw figures.'
      : `θ = ${Number(c.theta).toPrecision(4)}, pooled over the variants; ${int(c.units_with_covariate)} units carried a covariate (the others count 0). The decision reads the CUPED-adjusted figures.`),
    h('table', {id: 'cuped'},
      h('caption', null, 'Each treatment against control: lift with its interval and p-value, raw and CUPED-adjusted'),
      h('thead', null, h('tr', null, head.map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', null, rows)));
}

// A bandit (results' bandit): each variant's chance of being the best, the weights its
// looks give, the regret so far and when it looks next.
function banditSection(e, r) {
  const b = r.bandit;
  const when = (ms) => (ms === null || ms === undefined ? '—' : new Date(ms).toISOString().replace('T', ' ').slice(0, 16));
  const rows = r.variants.map((v) => h('tr', {'data-variant': v.key},
    h('th', {scope: 'row'}, v.key, v.key === b.best && h('span', {class: 'sub'}, 'most likely the best')),
    h('td', {class: 'num weight'}, `${e.weights[v.key]} %`),
    h('td', {class: 'num prob'}, pct((b.probability_best || {})[v.key]))));
  return section('bandit-section', 'Bandit',
    h('p', {id: 'bandit-summary'}, `Thompson sampling: a look every ${int(b.update_minutes)} min, at least ${b.min_weight_pct} % for each variant; `,
      `${int(b.updates)} re-weightings so far; next look ${when(b.next_update_ms)} UTC` + (b.burn_in_until_ms ? `; equal weights until ${when(b.burn_in_until_ms)} UTC` : '') + '. ',
      `Regret so far (estimated): ${Number(b.regret).toFixed(1)} ${r.metric === 'conversion' ? 'conversions' : 'value units'}.`),
    h('table', {id: 'bandit'},
      h('caption', null, 'Probability of being the best, from the posteriors the looks use'),
      h('thead', null, h('tr', null, ['Variant', 'Weight now', 'Probability best'].map((x) => h('th', {scope: 'col'}, x)))),
      h('tbody', null, rows)));
}

// An experiment in a layer: its range, and its served traffic against the layer's holdout.
function layerSection(e, r) {
  const l = e.layer;
  const hold = r && r.holdout;
  const vh = hold && hold.vs_holdout;
  const lvl = (units, conv, mean) => (conv !== undefined ? `${int(conv)} of ${int(units)} converted` : `mean ${num(mean)} over ${int(units)} units`);
  return section('layer-section', 'Layer',
    h('p', {id: 'layer-range'}, 'In layer ', h('strong', null, l.name), `: ${l.pct} % of its hash space, [${l.range[0]}, ${l.range[1]}) %.`),
    hold && h('p', {id: 'layer-holdout'}, `Holdout: ${lvl(hold.units, hold.conversions, hold.mean)}. `,
      vh && vh.compared !== false
        ? `Served traffic against it: difference ${signed(vh.diff)}, lift ${signed(vh.lift)} (95 % interval ${interval(vh.lift_ci)}), p ${num(vh.p_value)}.`
        : 'Not compared yet: both sides need units.'));
}

function decisionSection(r) {
  const tone = r.decision === 'promote' ? 'ok' : r.decision === 'terminate' ? 'bad' : 'muted';
  const lead = r.variants.find((v) => v.key === r.winner) || r.variants.find((v) => !v.control && v.vs_control && v.vs_control.compared);
  const checks = lead && lead.vs_control && lead.vs_control.checks;
  return section('decision', 'Decision',
    h('p', null, h('span', {class: `badge ${tone}`, id: 'decision-badge'}, r.winner && r.decision === 'promote' ? `promote ${r.winner}` : r.decision)),
    h('ul', {id: 'reasons'}, (r.reasons || []).map((s) => h('li', null, s))),
    h('h3', null, checks ? `The five safety checks of ${lead.key}` : 'The five safety checks'),
    checks
      ? h('ul', {id: 'checks', class: 'checks'}, CHECKS.map(([k, label]) => h('li', {'data-check': k},
        h('span', {class: `badge ${checks[k] ? 'ok' : 'bad'}`}, checks[k] ? 'pass' : 'fail'), ' ', label)))
      : h('p', {class: 'sub'}, 'No treatment is compared yet.'),
    h('h3', null, 'Sample ratio'),
    h('p', {id: 'srm'}, r.srm
      ? [h('span', {class: `badge ${r.srm.mismatch ? 'bad' : 'ok'}`}, r.srm.mismatch ? 'mismatch' : 'no mismatch'),
        ` sequential p ${num(r.srm.sequential_p_value)}; chi-square p ${num(r.srm.p_value)} (information)`,
        r.srm.mismatch && ': assignment or logging is broken, and no promotion may happen']
      : 'not tested'));
}

function healthSection(e, hl) {
  if (hl instanceof Error) return section('health', 'Health', errorBox(hl, 'Health could not be read.'));
  const t = e.health || {};
  const th = h('p', {class: 'sub'}, 'Rollback thresholds: success rate drop ',
    t.success_rate_drop === undefined ? 'server default' : percent(t.success_rate_drop), ', error rate rise ',
    t.error_rate_increase === undefined ? 'server default' : percent(t.error_rate_increase), ', p95 ',
    t.max_p95_ms === undefined || t.max_p95_ms === null ? 'no limit' : `${t.max_p95_ms} ms`, '.');
  const x = hl && hl.health;
  if (!x || !x.watched) return section('health', 'Health', h('p', {id: 'health-state'}, 'Nothing is watched yet: the monitor watches a winner once a step or a promotion has moved traffic to it.'), th);
  const fmt = (m) => (m ? `success ${pct(m.success_rate)}, errors ${pct(m.error_rate)}${m.p95_ms !== undefined ? `, p95 ${m.p95_ms} ms` : ''}` : 'not measured yet');
  return section('health', 'Health',
    h('p', {id: 'health-state'}, h('span', {class: `badge ${x.rollback_due ? 'bad' : 'ok'}`}, x.rollback_due ? 'rollback due' : 'healthy'),
      ` watching ${x.watched}: baseline ${fmt(x.baseline)}; now ${fmt(x.current)}`,
      x.reasons && x.reasons.length ? ` (${x.reasons.join(', ')})` : ''), th);
}

// The charts over time, from GET .../timeline's points (each the numbers /results gave
// then): the cumulative rate per variant with its interval band, the lift with its
// interval (always-valid when sequential), p-value and confidence against the gate, the
// split, and the watched variant's health against its rollback thresholds.
function overTimeSection(e, tl, order) {
  const title = 'Over time';
  if (tl === null) return section('over-time', title, h('p', {class: 'sub'}, 'A draft has no timeline: its first point is taken when it starts.'));
  if (tl instanceof Error) return section('over-time', title, errorBox(tl, 'The timeline could not be read.'));
  const pts = tl.points || [];
  if (!pts.length) return section('over-time', title, h('p', {class: 'sub'}, 'No point yet.'));
  const times = pts.map((p) => p.at_ms);
  const of = (p, k) => p.variants.find((v) => v.key === k) || {};
  const cmp = (p, k) => p.comparisons.find((c) => c.variant === k) || {};
  const val = (x) => (x === undefined ? null : x);
  const treatments = order.filter((k) => !e.variants.find((v) => v.key === k).control);
  const mean = e.metric === 'mean';
  const rateFmt = mean ? (x) => Number(x).toFixed(3) : (x) => percent(x);
  const kind = tl.sequential ? 'always-valid' : 'fixed-horizon';
  const charts = [
    lineChart({id: 'chart-rate', title: `${mean ? 'Mean value per unit' : 'Conversion rate'} per variant, cumulative, with its 95 % ${kind} interval`,
      times, format: rateFmt,
      series: order.map((k) => ({label: k, values: pts.map((p) => val(of(p, k).rate))})),
      bands: order.map((k, i) => ({label: `${k} interval`, of: i,
        lo: pts.map((p) => (of(p, k).interval ? of(p, k).interval[0] : null)),
        hi: pts.map((p) => (of(p, k).interval ? of(p, k).interval[1] : null))}))}),
    lineChart({id: 'chart-lift', title: `Lift against the control, with its 95 % ${kind} interval`, times, format: signed,
      series: treatments.map((k) => ({label: `${k} lift`, values: pts.map((p) => val(cmp(p, k).lift))})),
      bands: treatments.map((k, i) => ({label: `${k} lift interval`, of: i,
        lo: pts.map((p) => (cmp(p, k).interval ? cmp(p, k).interval[0] : null)),
        hi: pts.map((p) => (cmp(p, k).interval ? cmp(p, k).interval[1] : null))})),
      rules: [{label: 'no change', values: pts.map(() => 0)}]}),
    lineChart({id: 'chart-p', title: `p-value${tl.sequential ? ' (always-valid)' : ''} and confidence`, times, format: (x) => Number(x).toFixed(4),
      min: 0, max: 1,
      series: treatments.flatMap((k) => [{label: `${k} p-value`, values: pts.map((p) => val(cmp(p, k).p_value))},
        {label: `${k} confidence`, values: pts.map((p) => val(cmp(p, k).confidence))}]),
      rules: e.safety && typeof e.safety.min_confidence === 'number'
        ? [{label: 'confidence gate', values: pts.map(() => e.safety.min_confidence)}] : []}),
    lineChart({id: 'chart-split', title: 'The split: each variant\'s weight', times, format: (x) => `${x} %`, min: 0, max: 100, stepped: true,
      series: order.map((k) => ({label: k, values: pts.map((p) => val(p.weights[k]))}))}),
  ];
  // health: the watched variant's, where one is watched (a gap elsewhere); a threshold is
  // the baseline moved by the experiment's limit, as the monitor judges it
  const watched = pts.filter((p) => p.health);
  if (watched.length) {
    const t = e.health || {};
    const cur = (p, m) => (p.health && p.health.current ? val(p.health.current[m]) : null);
    const base = (p, m, d) => (p.health && p.health.baseline && typeof d === 'number' ? p.health.baseline[m] + d : null);
    const rules = [];
    if (typeof t.success_rate_drop === 'number') rules.push({label: 'success rate: rollback below', values: pts.map((p) => base(p, 'success_rate', -t.success_rate_drop))});
    if (typeof t.error_rate_increase === 'number') rules.push({label: 'error rate: rollback above', values: pts.map((p) => base(p, 'error_rate', t.error_rate_increase))});
    charts.push(lineChart({id: 'chart-health', title: 'Health of the watched variant against its rollback thresholds', times,
      format: (x) => percent(x), min: 0, max: 1,
      series: [{label: 'success rate', values: pts.map((p) => cur(p, 'success_rate'))},
        {label: 'error rate', values: pts.map((p) => cur(p, 'error_rate'))}], rules}));
    if (watched.some((p) => p.health.current && p.health.current.p95_ms !== undefined)) {
      charts.push(lineChart({id: 'chart-p95', title: 'p95 latency of the watched variant', times, format: (x) => `${Number(x).toFixed(1)} ms`,
        series: [{label: 'p95', values: pts.map((p) => cur(p, 'p95_ms'))}],
        rules: typeof t.max_p95_ms === 'number' ? [{label: 'rollback above', values: pts.map(() => t.max_p95_ms)}] : []}));
    }
  }
  const hourly = pts.filter((p) => p.cause === 'hourly').length;
  return section('over-time', title,
    h('p', {class: 'sub', id: 'over-time-lead'}, `${int(pts.length)} ${pts.length === 1 ? 'point' : 'points'}: ${int(hourly)} taken on the hour, ${int(pts.length - hourly)} at the start and at allocation changes (GET `,
      h('code', null, `/v1/experiments/${e.key}/timeline`), ').',
      tl.next_since_ms ? ' More points follow than are drawn here.' : ''),
    h('div', {class: 'charts'}, charts));
}

function historySection(hist) {
  if (hist instanceof Error) return section('history', 'History', errorBox(hist, 'History could not be read.'));
  const items = hist.history || [];
  return section('history', 'History',
    items.length ? h('table', {id: 'history-table'},
      h('caption', null, 'Every allocation change, oldest first'),
      h('thead', null, h('tr', null, ['When', 'Action', 'By', 'Split before', 'Split after', 'Detail'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, items.map((x) => h('tr', null,
        h('td', {class: 'nowrap'}, new Date(x.at_ms).toISOString().replace('T', ' ').slice(0, 19)),
        h('td', null, x.action), h('td', null, x.actor || '—'),
        h('td', {class: 'num'}, split(x.before).join(' · ')), h('td', {class: 'num'}, split(x.after).join(' · ')),
        h('td', {class: 'note'}, (x.detail && (x.detail.reason || x.detail.variant || x.detail.winner)) || '')))))
      : h('p', {class: 'sub'}, 'No allocation change yet.'));
}

function auditSection(audit) {
  if (audit instanceof Error) return section('audit-entries', 'Audit entries', errorBox(audit, 'The audit trail could not be read.'));
  const ev = audit.events || [];
  return section('audit-entries', 'Audit entries',
    ev.length ? h('ul', {id: 'audit-list'}, ev.map((x) => h('li', null,
      h('span', {class: 'nowrap'}, new Date(x.at_ms).toISOString().replace('T', ' ').slice(0, 19)), ' ',
      h('strong', null, x.action), ` by ${x.actor || '—'}`)))
      : h('p', {class: 'sub'}, 'No audit entry.'),
    audit.next_cursor !== undefined && h('p', {class: 'sub'}, 'The newest 50 are shown; GET /v1/audit has the rest.'));
}

// The actions: each {id, label, method, path, body, need (role), state reason, change}.
function actions(e, r, alloc) {
  const order = e.variants.map((v) => v.key);
  const ACT = new Set(['running', 'promoting']);
  const lead = r && (r.variants.find((v) => v.key === r.winner) ||
    r.variants.filter((v) => !v.control && v.vs_control && v.vs_control.compared)
      .sort((a, b) => b.vs_control.confidence - a.vs_control.confidence)[0]);
  const control = order.find((k) => e.variants.find((v) => v.key === k).control);
  const list = [];
  const base = `/v1/experiments/${enc(e.key)}`;
  list.push({id: 'start', label: 'Start', path: `${base}/start`, method: 'POST',
    blocked: e.state !== 'draft' && `only a draft starts; this one is ${e.state}`,
    change: `state ${e.state} → running; the flag serves ${split(e.weights, order).join(', ')}`});
  const ended = ['draft', 'stopped', 'terminated'].includes(e.state);
  list.push({id: 'stop', label: 'Stop', path: `${base}/stop`, method: 'POST',
    blocked: ended && `a ${e.state} experiment cannot be stopped`,
    change: `state ${e.state} → stopped; the flag goes back as it was before the start${e.state === 'promoted' ? ' (the winner becomes its default)' : ''}`});
  list.push({id: 'terminate', label: 'Terminate', path: `${base}/terminate`, method: 'POST',
    blocked: ended && `a ${e.state} experiment cannot be terminated`,
    change: `state ${e.state} → terminated; the flag goes back as it was before the start`});
  // a step: the leading treatment, with the results' confidence and improvement
  let stepBlock = !ACT.has(e.state) && `a step needs a running or promoting experiment; this one is ${e.state}`;
  let after = null;
  if (!stepBlock && !lead) stepBlock = 'no treatment is compared yet, so there is no winner to step toward';
  if (!stepBlock && alloc instanceof Error) stepBlock = `the allocation could not be read (${alloc.message})`;
  if (!stepBlock) {
    const g = alloc.guardrails || {};
    const rl = alloc.rate_limit || {};
    if (typeof g.min_confidence === 'number' && lead.vs_control.confidence < g.min_confidence)
      stepBlock = `guardrail min_confidence: ${lead.key}'s confidence ${percent(lead.vs_control.confidence)} is below ${percent(g.min_confidence)}`;
    else if (!(lead.vs_control.improvement_pct > 0))
      stepBlock = `guardrail delta: ${lead.key}'s improvement is not above 0`;
    else if (rl.next_allowed_ms && rl.next_allowed_ms > Date.now())
      stepBlock = `guardrail cooldown or daily limit: the next step is allowed at ${new Date(rl.next_allowed_ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    else if ((alloc.weights || e.weights)[lead.key] >= 100)
      stepBlock = `${lead.key} already has all the traffic`;
    else if (typeof g.max_step_pct === 'number')
      after = stepPreview(alloc.weights || e.weights, order, lead.key, g.max_step_pct);
  }
  list.push({id: 'step', label: 'Apply a step', path: `${base}/allocation/apply`, method: 'POST',
    body: lead && {winning_variant: lead.key, confidence: lead.vs_control.confidence, delta: lead.vs_control.improvement_pct},
    blocked: stepBlock,
    change: after ? `expected: ${describeChange(alloc.weights || e.weights, after, order)}`
      : `a step toward ${lead ? lead.key : 'the winner'}; the allocation names no max_step_pct, so the server decides its size`});
  const winner = r && r.winner;
  const awaiting = ACT.has(e.state) && e.safety && e.safety.require_manual_approval && r && r.decision === 'promote';
  const promoBlock = !ACT.has(e.state) ? `only a running or promoting experiment is promoted; this one is ${e.state}`
    : !winner ? 'the results name no winner' : null;
  const toAll = (k) => Object.fromEntries(order.map((x) => [x, x === k ? 100 : 0]));
  list.push({id: 'promote', label: awaiting ? 'Approve and promote' : 'Promote', path: `${base}/promote`, method: 'POST',
    body: winner ? {variant: winner} : undefined, blocked: promoBlock,
    change: winner && `${describeChange(e.weights, toAll(winner), order)}; state ${e.state} → promoted`});
  list.push({id: 'rollback', label: 'Roll back', path: `${base}/promote`, method: 'DELETE',
    body: {reason: 'rolled back from the console'},
    blocked: !['running', 'promoting', 'promoted'].includes(e.state) && `only a running, promoting or promoted experiment rolls back; this one is ${e.state}`,
    change: `${describeChange(e.weights, toAll(control), order)}; state ${e.state} → rolled_back`});
  return list;
}

function actionsSection(e, r, alloc, endpoints, who, reload) {
  const status = h('div', {id: 'action-status', 'aria-live': 'polite'});
  const tpl = (p) => p.replace(`/${enc(e.key)}`, '/{key}');
  const items = actions(e, r, alloc).map((a) => actionItem({...a, tpl: tpl(a.path), title: `${a.label}: ${e.key}?`},
    {role: who.token.role, endpoints, status, ready: 'experiment', done: reload}));
  return section('actions', 'Actions', h('ul', {class: 'actions'}, items), status);
}

export async function detailPage(main, ctx, key, notice) {
  const base = `/v1/experiments/${enc(key)}`;
  const e = await api(base);
  if (!ctx.current()) return;
  const started = e.state !== 'draft';
  const soft = (p) => api(p).catch((err) => {
    if (err instanceof ApiError && err.status === 401) throw err;
    return err;
  });
  const [r, alloc, hl, hist, audit, table, tl] = await Promise.all([
    started ? soft(`${base}/results`) : null,
    soft(`${base}/allocation`), started ? soft(`${base}/health`) : null, soft(`${base}/history`),
    soft(`/v1/audit?resource=${enc(`experiment:${key}`)}&limit=50`), endpointTable(),
    started ? soft(`${base}/timeline?limit=10000`) : null,
  ]);
  if (!ctx.current()) return;
  const endpoints = table;
  const order = e.variants.map((v) => v.key);
  const reload = async (msg) => {
    if (!ctx.current()) return;
    delete main.dataset.ready;
    try {
      await detailPage(main, ctx, key, msg);
    } catch (err) {
      if (!ctx.current()) return;
      main.append(errorBox(err, 'The experiment could not be read again.'));
      main.dataset.ready = 'error';
    }
  };
  const res = r instanceof Error ? null : r;
  fill(main,
    h('h1', null, `Experiment: ${e.key}`),
    e.description && h('p', {class: 'lead'}, e.description),
    notice && h('p', {class: 'notice', role: 'status', tabindex: '-1', id: 'notice'}, notice),
    h('p', null, h('span', {class: 'badge info', id: 'state'}, e.state.replace('_', ' ')), ' · live split ',
      h('strong', {id: 'split', class: 'num'}, split(e.weights, order).join(' · '))),
    section('comparison-section', 'Variant comparison',
      r instanceof Error ? errorBox(r, 'Results could not be read.')
        : res ? comparisonTable(e, res) : h('p', {class: 'sub'}, 'A draft has no results: start it first.')),
    res && res.cuped && res.cuped.enabled && cupedSection(res),
    res && res.bandit && banditSection(e, res),
    e.layer && layerSection(e, res),
    res && decisionSection(res),
    started && healthSection(e, hl),
    overTimeSection(e, tl, order),
    actionsSection(e, res, alloc, endpoints, ctx.who, reload),
    historySection(hist), auditSection(audit));
  // after an action, focus goes to what it did (the button that had it is gone)
  if (notice) document.getElementById('notice').focus();
  main.dataset.ready = 'experiment';
}
