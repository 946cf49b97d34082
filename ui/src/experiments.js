// experiments.js - #/experiments: every experiment of the workspace, those awaiting a
// person's approval first, then the active ones (running, promoting), the drafts, and
// the ended ones, each group in creation order; 25 a page (#/experiments?page=2), so
// that 1,000 experiments cost one list and 25 results.
//
// Per experiment: its state; the confidence of its leading treatment against control (a
// meter, with the gate `safety.min_confidence`); the units toward `sample_needed` (what
// each arm needs for 80 % power at the planned lift); the live split; the decision.
// "Awaiting approval": running or promoting, `safety.require_manual_approval`, and the
// results decide "promote" — the auto-promotion check will not move it without a person.
import {api, eachLimited, ApiError, errorBox} from './api.js';
import {h, fill} from './dom.js';
import {int, percent, split, hours} from './format.js';

export const PAGE_SIZE = 25;

const STATE_TONE = {
  draft: 'muted', running: 'info', promoting: 'info', promoted: 'ok', rolled_back: 'bad',
  stopped: 'muted', terminated: 'muted',
};
const ACTIVE = new Set(['running', 'promoting']);
const GROUP = (e, pending) => (pending ? 0 : ACTIVE.has(e.state) ? 1 : e.state === 'draft' ? 2 : 3);

// The treatment a row speaks for: the results' winner, else the compared treatment with
// the highest confidence, else the first treatment.
export function leading(results) {
  const treatments = (results.variants || []).filter((v) => !v.control);
  if (results.winner) {
    const w = treatments.find((v) => v.key === results.winner);
    if (w) return w;
  }
  let best = null;
  for (const v of treatments) {
    const c = v.vs_control && v.vs_control.compared ? v.vs_control.confidence : null;
    if (c !== null && c !== undefined && (!best || c > best.vs_control.confidence)) best = v;
  }
  return best || treatments[0] || null;
}

const awaitingApproval = (e, r) =>
  ACTIVE.has(e.state) && e.safety && e.safety.require_manual_approval && r && !(r instanceof Error) &&
  r.decision === 'promote';

// Results are read once per visit of the page, and never for drafts (nothing to read).
async function results(e, cache) {
  if (e.state === 'draft') return null;
  if (!cache.has(e.key)) cache.set(e.key, api(`/v1/experiments/${encodeURIComponent(e.key)}/results`));
  return cache.get(e.key);
}

function stateCell(e, pending) {
  return h('td', {class: 'state'},
    h('span', {class: `badge ${STATE_TONE[e.state] || 'muted'}`}, e.state.replace('_', ' ')),
    pending && h('span', {class: 'sub'}, h('span', {class: 'badge approval'}, 'awaiting approval')));
}

// Why a treatment is not compared (results' vs_control.reason, core/err.c's names), in words.
export const NOT_COMPARED = {
  no_trials: 'no units in both arms yet',
  too_few_samples: 'too few units to compare yet',
  zero_variance: 'no variation to compare yet',
};

function confidenceCell(e, r) {
  const v = r && leading(r);
  const vc = v && v.vs_control;
  if (!vc || !vc.compared) {
    const why = vc && vc.reason ? NOT_COMPARED[vc.reason] || `not compared (${vc.reason})` : 'not compared yet';
    return h('td', {class: 'confidence'}, h('span', {class: 'sub'}, why));
  }
  const control = r.variants.find((x) => x.control);
  const gate = e.safety && typeof e.safety.min_confidence === 'number' ? e.safety.min_confidence : null;
  const label = `confidence of ${v.key} over ${control ? control.key : 'control'}`;
  return h('td', {class: 'confidence'},
    h('meter', {min: 0, max: 1, value: vc.confidence, low: gate, high: gate, optimum: 1, 'aria-label': label}),
    ' ', h('span', {class: 'num value'}, percent(vc.confidence)),
    h('span', {class: 'sub'}, `${v.key} vs ${control ? control.key : 'control'}`, gate !== null && `; gate ${percent(gate, 0)}`));
}

// Units toward sample_needed: each arm counted up to what it needs.
export function sampleProgress(r) {
  const v = leading(r);
  const need = v && v.vs_control && v.vs_control.compared ? v.vs_control.sample_needed : null;
  if (!need) return null;
  const control = r.variants.find((x) => x.control);
  const have = Math.min(control.units, need.control) + Math.min(v.units, need.treatment);
  return {have, total: need.control + need.treatment, hoursLeft: need.hours_left};
}

function sampleCell(r) {
  if (!r) return h('td', {class: 'sample'}, h('span', {class: 'sub'}, 'no results before the start'));
  const p = sampleProgress(r);
  if (!p) {
    const v = leading(r);
    const why = v && v.vs_control && v.vs_control.compared ? 'no sample size reaches the planned lift' : 'not compared yet';
    return h('td', {class: 'sample'}, h('span', {class: 'num'}, `${int(r.units)} units`), h('span', {class: 'sub'}, why));
  }
  return h('td', {class: 'sample'},
    h('progress', {max: p.total, value: p.have, 'aria-label': 'units toward the sample needed'}),
    ' ', h('span', {class: 'num value'}, `${int(p.have)} of ${int(p.total)} units`),
    h('span', {class: 'sub'}, p.have >= p.total ? 'sample reached'
      : typeof p.hoursLeft === 'number' ? `about ${hours(p.hoursLeft)} left` : 'time left unknown'));
}

function decisionCell(r) {
  if (!r) return h('td', {class: 'decision'}, h('span', {class: 'sub'}, '—'));
  const tone = r.decision === 'promote' ? 'ok' : r.decision === 'terminate' ? 'bad' : 'muted';
  return h('td', {class: 'decision'},
    h('span', {class: `badge ${tone}`}, r.winner && r.decision === 'promote' ? `promote ${r.winner}` : r.decision),
    r.srm && r.srm.mismatch && h('span', {class: 'sub'}, h('span', {class: 'badge bad'}, 'sample ratio mismatch')));
}

function row(e, r, pending) {
  const res = r instanceof Error ? null : r;
  const tr = h('tr', {'data-key': e.key, class: pending ? 'pending' : null},
    h('th', {scope: 'row'}, h('a', {href: `#/experiments/${encodeURIComponent(e.key)}`}, e.key),
      e.description && h('span', {class: 'sub'}, e.description)),
    stateCell(e, pending));
  if (r instanceof Error) {
    tr.append(h('td', {colspan: 3}, errorBox(r, 'Results could not be read.')));
  } else {
    tr.append(confidenceCell(e, res), sampleCell(res));
  }
  const parts = split(e.weights, (e.variants || []).map((v) => v.key));
  tr.append(h('td', {class: 'split num'}, parts.map((p, i) => [i ? ' · ' : '', h('span', {class: 'nowrap'}, p)])));
  if (!(r instanceof Error)) tr.append(decisionCell(res));
  return tr;
}

export async function experimentsPage(main, ctx) {
  main.append(h('h1', null, 'Experiments'));
  const status = h('p', {class: 'lead', 'aria-live': 'polite'}, 'Loading…');
  main.append(status);
  const t0 = performance.now();
  const list = (await api('/v1/experiments')).experiments || [];
  if (!ctx.current()) return;
  main.dataset.startMs = String(Math.round(t0));
  main.dataset.listMs = String(Math.round(performance.now() - t0));
  const cache = new Map();

  // Only an experiment that may await approval needs its results before the order is known.
  const maybe = list.filter((e) => ACTIVE.has(e.state) && e.safety && e.safety.require_manual_approval);
  const early = await eachLimited(maybe, 6, (e) => results(e, cache));
  if (!ctx.current()) return;
  const pending = new Set(maybe.filter((e, i) => awaitingApproval(e, early[i])).map((e) => e.key));
  const order = list.map((e, i) => ({e, i, g: GROUP(e, pending.has(e.key))}))
    .sort((a, b) => a.g - b.g || a.i - b.i).map((x) => x.e);

  const pages = Math.max(1, Math.ceil(order.length / PAGE_SIZE));
  let page = parseInt(ctx.query.get('page') || '1', 10);
  if (!(page >= 1 && page <= pages)) page = 1;
  const slice = order.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const got = await eachLimited(slice, 6, (e) => results(e, cache));
  if (!ctx.current()) return;
  for (const r of got) if (r instanceof ApiError && r.status === 401) throw r;

  fill(status, order.length ? `${int(order.length)} experiments` : 'No experiments yet.',
    pending.size ? `; ${int(pending.size)} awaiting approval, listed first` : '', '.');
  if (!order.length) {
    main.append(h('p', null, 'Create one with ', h('code', null, 'POST /v1/experiments'), ' or ',
      h('code', null, 'switchyard experiment create'), '.'));
    main.dataset.ready = 'experiments';
    return;
  }
  const table = h('table', {id: 'experiments'},
    h('caption', null, `Page ${page} of ${pages}: experiments ${int((page - 1) * PAGE_SIZE + 1)} to ${int((page - 1) * PAGE_SIZE + slice.length)}`),
    h('thead', null, h('tr', null, ['Experiment', 'State', 'Confidence', 'Sample toward plan', 'Current split', 'Decision']
      .map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', null, slice.map((e, i) => row(e, got[i], pending.has(e.key)))));
  main.append(table);
  if (pages > 1) {
    const link = (p, text, rel) => (p >= 1 && p <= pages
      ? h('a', {href: `#/experiments?page=${p}`, rel}, text)
      : h('span', {class: 'sub', 'aria-disabled': 'true'}, text));
    main.append(h('nav', {class: 'pager', 'aria-label': 'Experiment pages'},
      link(page - 1, '← Previous page', 'prev'), h('span', null, `Page ${page} of ${pages}`),
      link(page + 1, 'Next page →', 'next')));
  }
  main.dataset.renderMs = String(Math.round(performance.now() - t0));
  main.dataset.ready = 'experiments';
}
