// tripwires.js - #/tripwires: what guards production, as the /v1 API says it.
//
// The kill switch (GET /v1/go-live/state): engaged or not, since when, by whom and why,
// with Engage and Release (POST /v1/go-live/kill-switch, admin), each asking for a reason
// in its confirmation dialog (the server refuses an empty one, and the page shows its
// refusal). The regression tripwires: each policy of GET /v1/regression/policies with its
// last evaluation from GET /v1/regression/state (joined on domain and metric): the window
// against the baseline, the drop against the policy's max_drop_fraction (a meter and the
// numbers in words), the state as a badge with its word, what a trip does, when it was
// last evaluated; "Evaluate now" (POST /v1/regression/evaluate, editor) evaluates every
// enabled one, and "Re-enable" beside a triggered one (POST /v1/regression/policies,
// admin, with a reason) resets it. The risk policies (GET /v1/risk/policies), a domain a
// THROTTLE tripwire disabled shown as throttled (its changed_by is "tripwire"), and the
// day's ledger (GET /v1/risk/ledger?day=, the day picked, today in UTC by default),
// newest first.
//
// Each list shows 25 a page (?tripwires_page=, ?policies_page=, ?ledger_page=): 1,000
// tripwires, policies or ledger entries are one answer each, and 25 rows of each drawn.
import {api, ApiError, errorBox} from './api.js';
import {h, fill} from './dom.js';
import {int, percent} from './format.js';
import {actionItem, endpoints as endpointTable, section} from './actions.js';

export const PAGE_SIZE = 25;

// "2026-12-07 11:40:12 UTC"
export const when = (ms) => (ms === null || ms === undefined ? '—'
  : `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`);

const money = new Intl.NumberFormat('en-US', {maximumFractionDigits: 2});
export const amount = (x) => (x === null || x === undefined ? 'no limit' : money.format(x));

// A tripwire's value as its measure reads: a rate as a percentage, a mean as a number.
export function measured(x, measure) {
  if (x === null || x === undefined) return '—';
  return measure === 'rate' ? percent(x) : Number(x).toFixed(4);
}

// Re-enabled after a trip and not evaluated since: its values are the evaluation's before
// the reset.
const resetSince = (st) => typeof st.reset_at === 'number' &&
  (typeof st.last_checked_at !== 'number' || st.reset_at > st.last_checked_at);

// The state a tripwire's last evaluation says, as a word and a tone.
export function tripState(st) {
  if (!st) return {word: 'no state', tone: 'muted'};
  if (st.triggered) return {word: 'triggered', tone: 'bad'};
  if (!st.enabled) return {word: 'disabled', tone: 'muted'};
  if (resetSince(st)) return {word: 're-enabled', tone: 'info'};
  if (st.last_checked_at === null || st.last_checked_at === undefined) return {word: 'never evaluated', tone: 'muted'};
  if (!st.enforced) return {word: 'not enforced', tone: 'warn'};
  return {word: 'ok', tone: 'ok'};
}

// The states in the order the page counts them.
const STATE_ORDER = ['triggered', 're-enabled', 'not enforced', 'ok', 'never evaluated', 'disabled', 'no state'];

// "drop 78.95 % against a threshold of 20.00 %: at or over it" (the trigger's rule:
// reaching the threshold within 1e-9 trips), or "a rise of 1.05 %: no drop (...)"
export function dropWords(drop, threshold) {
  if (drop === null || drop === undefined) return 'no drop measured: a window is empty';
  if (drop < 0) return `a rise of ${percent(-drop)}: no drop (threshold ${percent(threshold)})`;
  return `drop ${percent(drop)} against a threshold of ${percent(threshold)}: ${
    drop >= threshold - 1e-9 ? 'at or over it' : 'under it'}`;
}

// What a trip does, in words.
export function tripAction(p) {
  return p.action === 'KILL_SWITCH'
    ? 'engages the kill switch: every production execution of the workspace refused'
    : `throttles ${p.domain}: its risk policy disabled, production actions there refused`;
}

// A risk policy's state: throttled by a tripwire, disabled by a person, or enabled.
export function riskState(p) {
  if (p.enabled) return {word: 'enabled', tone: 'ok'};
  if (p.changed_by === 'tripwire') return {word: 'throttled', tone: 'bad'};
  return {word: 'disabled', tone: 'muted'};
}

const key = (x) => `${x.domain}\u0000${x.metric}`;

// The page asked for (1 when the query's is not a page of the list).
function pageOf(ctx, param, n) {
  const pages = Math.max(1, Math.ceil(n / PAGE_SIZE));
  const p = parseInt(ctx.query.get(param) || '1', 10);
  return {page: p >= 1 && p <= pages ? p : 1, pages};
}

// The pager of one list: links to #/tripwires with the same query, `param` changed.
function pager(ctx, param, {page, pages}, label) {
  if (pages <= 1) return null;
  const link = (p, text, rel) => {
    if (p < 1 || p > pages) return h('span', {class: 'sub', 'aria-disabled': 'true'}, text);
    const q = new URLSearchParams(ctx.query);
    q.set(param, String(p));
    return h('a', {href: `#/tripwires?${q}`, rel, 'data-pager': param}, text);
  };
  return h('nav', {class: 'pager', 'aria-label': label},
    link(page - 1, '← Previous page', 'prev'), h('span', null, `Page ${page} of ${pages}`),
    link(page + 1, 'Next page →', 'next'));
}

const slice = (list, {page}) => list.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
const rangeCaption = (what, {page, pages}, shown) =>
  `Page ${page} of ${pages}: ${what} ${int((page - 1) * PAGE_SIZE + 1)} to ${int((page - 1) * PAGE_SIZE + shown)}`;

// ---- the kill switch ---------------------------------------------------------------------

export const KILL_EFFECT = 'every production execution of the workspace is refused (403 kill_switch: requests ' +
  'marked X-Execution-Class: PROD_EXEC, GET /v1/go-live/check?class=PROD_EXEC), risk reservations are ' +
  'denied, auto-promotion steps nothing, and every active experiment\'s flag serves its control variant ' +
  'over OFREP; events and KPIs keep flowing, and the experiments\' stored splits do not change';

function killWords(k) {
  if (!k.changed_ms) return 'Never engaged in this workspace.';
  return k.engaged
    ? `Engaged at ${when(k.changed_ms)} by ${k.actor}: ${k.reason}`
    : `Released at ${when(k.changed_ms)} by ${k.actor}: ${k.reason}`;
}

// The reason field a dialog holds (the kill switch's, Re-enable's): required, and the
// server refuses none, which the page then shows as the server said it.
function reasonField(id, help) {
  const input = h('input', {type: 'text', id, name: 'reason', maxlength: 512, autocomplete: 'off',
    required: true, 'aria-required': 'true', 'aria-describedby': `${id}-help`});
  return {input, el: h('div', {class: 'field reason'},
    h('label', {for: id}, 'Reason (required)'), input, h('p', {class: 'sub', id: `${id}-help`}, help))};
}

function killSection(k, ws, base) {
  if (k instanceof Error) return section('kill-switch', 'Kill switch', errorBox(k, 'The kill switch could not be read.'));
  const status = h('div', {id: 'kill-status', 'aria-live': 'polite'});
  const opts = {...base, status};
  const s = k.kill_switch;
  const engage = reasonField('engage-reason', 'Why: written to the audit trail, and given to every refused production execution.');
  const release = reasonField('release-reason', 'What was fixed: written to the audit trail.');
  const path = '/v1/go-live/kill-switch';
  const items = [
    actionItem({id: 'engage', label: 'Engage the kill switch', method: 'POST', path, tpl: path,
      title: `Engage the kill switch of ${ws}?`,
      body: () => ({engaged: true, reason: engage.input.value.trim()}),
      blocked: s.engaged && 'the kill switch is engaged already',
      change: `kill switch not engaged → engaged: ${KILL_EFFECT}, until a person releases it.`,
      extra: engage.el}, opts),
    actionItem({id: 'release', label: 'Release the kill switch', method: 'POST', path, tpl: path,
      title: `Release the kill switch of ${ws}?`,
      body: () => ({engaged: false, reason: release.input.value.trim()}),
      blocked: !s.engaged && 'the kill switch is not engaged',
      change: 'kill switch engaged → not engaged: production executions and risk reservations are allowed again, ' +
        'and the experiments serve their splits again.',
      extra: release.el}, opts),
  ];
  return section('kill-switch', 'Kill switch',
    h('p', {id: 'kill-state'},
      h('span', {class: `badge ${s.engaged ? 'bad' : 'ok'}`, id: 'kill-badge'}, s.engaged ? 'engaged' : 'not engaged'),
      ' ', h('span', {id: 'kill-words'}, killWords(s))),
    h('p', {class: 'sub'}, `While it is engaged, ${KILL_EFFECT}.`),
    h('ul', {class: 'actions'}, items), status);
}

// ---- the tripwires -------------------------------------------------------------------------

// Re-enabling a triggered tripwire (POST /v1/regression/policies, admin), with the reason
// the server requires: it resets the tripwire and restores what its THROTTLE disabled.
function reenableItem(p, n, opts) {
  const name = `${p.domain}/${p.metric}`;
  const reason = reasonField(`reenable-${n}-reason`, 'What was fixed: written to the audit trail and the tripwire\'s note.');
  return actionItem({id: `reenable-${n}`, label: 'Re-enable', method: 'POST', path: '/v1/regression/policies',
    tpl: '/v1/regression/policies', title: `Re-enable ${name}?`,
    body: () => ({domain: p.domain, metric: p.metric, enabled: true, reason: reason.input.value.trim()}),
    change: `${name} triggered → re-enabled: its window starts again after the events that tripped it (left out), ` +
      'judged against the baseline from before the trip; ' + (p.action === 'THROTTLE'
      ? `${p.domain}'s risk policy, if this trip disabled it, is enabled again (one a person disabled stays disabled).`
      : 'the kill switch stays as it is (release it above).'),
    extra: reason.el}, opts);
}

function tripRow(p, st, n, opts) {
  const s = tripState(st);
  const has = st && st.drop_fraction !== null && st.drop_fraction !== undefined;
  const drop = has ? st.drop_fraction : null;
  const name = `${p.domain} / ${p.metric}`;
  const windowCell = has
    ? [h('span', {class: 'num value'}, `${measured(st.current, p.measure)} against ${measured(st.baseline, p.measure)}`),
      h('span', {class: 'sub counts'}, `window ${int(st.window_events)} events, baseline ${int(st.baseline_events)}`),
      resetSince(st) && h('span', {class: 'sub'}, 'as evaluated before the reset')]
    : h('span', {class: 'sub'}, st && st.last_checked_at
      ? `no value yet: window ${int(st.window_events)} events, baseline ${int(st.baseline_events)}`
      : 'not evaluated yet');
  return h('tr', {'data-tripwire': `${p.domain}/${p.metric}`},
    h('th', {scope: 'row'}, h('strong', null, name),
      h('span', {class: 'sub'}, `${p.measure === 'rate' ? 'success rate' : 'mean value'}; window ${int(p.window_events)}, ` +
        `baseline ${int(p.baseline_events)}, enforced from ${int(p.min_events_to_enforce)} events`)),
    h('td', {class: 'state'}, h('span', {class: `badge ${s.tone}`}, s.word),
      st && st.note && h('span', {class: 'sub note'}, st.note),
      st && st.triggered && h('ul', {class: 'actions compact'}, reenableItem(p, n, opts))),
    h('td', {class: 'window'}, windowCell),
    h('td', {class: 'drop'},
      has && h('meter', {min: 0, max: Math.max(1, p.max_drop_fraction, drop), value: Math.max(0, drop),
        low: p.max_drop_fraction, high: p.max_drop_fraction, optimum: 0, 'aria-label': `drop of ${name} against its threshold`}),
      has && ' ',
      h('span', {class: 'value'}, has ? dropWords(drop, p.max_drop_fraction) : `threshold ${percent(p.max_drop_fraction)}`)),
    h('td', {class: 'action'}, h('span', {class: 'badge info'}, p.action), h('span', {class: 'sub'}, tripAction(p))),
    h('td', {class: 'checked nowrap'}, st && st.last_checked_at ? when(st.last_checked_at) : 'never',
      st && st.last_triggered_at && h('span', {class: 'sub'}, `last triggered ${when(st.last_triggered_at)}`),
      st && typeof st.reset_at === 'number' && h('span', {class: 'sub'}, `re-enabled ${when(st.reset_at)}`)));
}

function tripwiresSection(ctx, pol, state, base) {
  if (pol instanceof Error) return section('tripwires', 'Regression tripwires', errorBox(pol, 'The tripwires could not be read.'));
  const status = h('div', {id: 'evaluate-status', 'aria-live': 'polite'});
  const opts = {...base, status};
  const list = pol.policies || [];
  const states = new Map(state instanceof Error ? [] : (state.tripwires || []).map((s) => [key(s), s]));
  const enabled = list.filter((p) => p.enabled).length;
  const evaluate = actionItem({id: 'evaluate', label: 'Evaluate now', method: 'POST', path: '/v1/regression/evaluate',
    tpl: '/v1/regression/evaluate', title: 'Evaluate every enabled tripwire now?',
    blocked: !enabled && 'no tripwire is enabled',
    change: `the ${int(enabled)} enabled tripwire${enabled === 1 ? '' : 's'} are evaluated against their events now; ` +
      'one that trips does what its policy says (THROTTLE: its domain\'s risk policy is disabled; KILL_SWITCH: ' +
      'the kill switch is engaged)'}, opts);
  const pg = pageOf(ctx, 'tripwires_page', list.length);
  const rows = slice(list, pg);
  const counts = Object.fromEntries(STATE_ORDER.map((w) => [w, 0]));
  for (const p of list) counts[tripState(states.get(key(p))).word]++;
  return section('tripwires', 'Regression tripwires',
    h('p', {id: 'tripwire-counts'}, list.length
      ? `${int(list.length)} tripwire${list.length === 1 ? '' : 's'}: ${STATE_ORDER.filter((w) => counts[w]).map((w) => `${int(counts[w])} ${w}`).join(', ')}.`
      : 'No tripwire yet: POST /v1/regression/policies makes one.'),
    state instanceof Error && errorBox(state, 'The tripwires\' state could not be read.'),
    list.length > 0 && h('table', {id: 'tripwires-table'},
      h('caption', null, rangeCaption('tripwires', pg, rows.length), ', by domain and metric. ',
        'The window is the newest events, the baseline those before it; the drop is (baseline − window) / |baseline|.'),
      h('thead', null, h('tr', null, ['Tripwire', 'State', 'Window against baseline', 'Drop against threshold',
        'When tripped', 'Last evaluated'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, rows.map((p, i) => tripRow(p, states.get(key(p)), (pg.page - 1) * PAGE_SIZE + i, opts)))),
    pager(ctx, 'tripwires_page', pg, 'Tripwire pages'),
    h('ul', {class: 'actions'}, evaluate), status);
}

// ---- risk ------------------------------------------------------------------------------------

function riskSection(ctx, pol, ledger) {
  if (pol instanceof Error) return section('risk', 'Risk policies', errorBox(pol, 'The risk policies could not be read.'));
  const list = pol.policies || [];
  const day = ledger instanceof Error ? null : ledger.day;
  const reserved = new Map();
  if (day)
    for (const e of ledger.entries || [])
      if (e.outcome === 'reserved') reserved.set(e.domain, (reserved.get(e.domain) || 0) + e.amount);
  const pg = pageOf(ctx, 'policies_page', list.length);
  const rows = slice(list, pg);
  const throttled = list.filter((p) => riskState(p).word === 'throttled').length;
  return section('risk', 'Risk policies',
    h('p', {id: 'risk-counts'}, list.length
      ? `${int(list.length)} domain${list.length === 1 ? '' : 's'} with a policy; ${int(throttled)} throttled by a tripwire. ` +
        'A domain without one is refused (no_policy).'
      : 'No risk policy yet: every reservation is refused (no_policy) until PUT /v1/risk/policies/{domain} makes one.'),
    list.length > 0 && h('table', {id: 'risk-table'},
      h('caption', null, rangeCaption('domains', pg, rows.length), ', by domain'),
      h('thead', null, h('tr', null, ['Domain', 'State', 'Limit per action', 'Limit per day',
        day ? `Reserved on ${day}` : 'Reserved', 'Changed'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, rows.map((p) => {
        const s = riskState(p);
        const r = reserved.get(p.domain) || 0;
        return h('tr', {'data-domain': p.domain, class: s.word === 'throttled' ? 'throttled' : null},
          h('th', {scope: 'row'}, h('strong', null, p.domain)),
          h('td', {class: 'state'}, h('span', {class: `badge ${s.tone}`}, s.word),
            s.word === 'throttled' && h('span', {class: 'sub'}, 'production actions here are refused until the tripwire is re-enabled with a reason')),
          h('td', {class: 'num per-action'}, amount(p.max_per_action)),
          h('td', {class: 'num per-day'}, amount(p.max_per_day)),
          h('td', {class: 'num reserved'}, day ? money.format(r) : '—',
            day && p.max_per_day !== null && h('span', {class: 'sub'}, `of ${money.format(p.max_per_day)}`)),
          h('td', {class: 'changed'}, `${when(p.updated_ms)} by ${p.changed_by}`, p.reason && h('span', {class: 'sub'}, p.reason)));
      }))),
    pager(ctx, 'policies_page', pg, 'Risk policy pages'));
}

const OUTCOME_TONE = {reserved: 'ok', released: 'muted', denied: 'bad'};

function ledgerSection(ctx, ledger, day) {
  const input = h('input', {type: 'date', id: 'ledger-day', name: 'day', value: day, 'aria-describedby': 'ledger-day-help'});
  const form = h('form', {class: 'day-picker', id: 'ledger-form', 'aria-label': 'The ledger\'s day'},
    h('label', {for: 'ledger-day'}, 'Day (UTC)'), input,
    h('button', {type: 'submit'}, 'Show the day'),
    h('span', {class: 'sub', id: 'ledger-day-help'}, 'Entries are filed by their day in UTC; an empty day shows today\'s.'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams(ctx.query);
    q.delete('ledger_page');
    if (input.value) q.set('day', input.value);
    else q.delete('day');
    location.hash = `#/tripwires?${q}`;
  });
  if (ledger instanceof Error)
    return section('ledger', 'Risk ledger', form, errorBox(ledger, 'The ledger could not be read.'));
  // newest first: the API's order (oldest first) reversed
  const entries = [...(ledger.entries || [])].reverse();
  const by = {reserved: [0, 0], released: [0, 0], denied: [0, 0]};
  for (const e of entries) {
    const b = by[e.outcome] || (by[e.outcome] = [0, 0]);
    b[0]++;
    b[1] += e.amount;
  }
  const pg = pageOf(ctx, 'ledger_page', entries.length);
  const rows = slice(entries, pg);
  return section('ledger', 'Risk ledger', form,
    h('p', {id: 'ledger-counts'}, entries.length
      ? `${int(entries.length)} entr${entries.length === 1 ? 'y' : 'ies'} on ${ledger.day}: ` +
        Object.entries(by).map(([o, [n, a]]) => `${int(n)} ${o} (${money.format(a)})`).join(', ') + '.'
      : `No entry on ${ledger.day}.`),
    entries.length > 0 && h('table', {id: 'ledger-table'},
      h('caption', null, rangeCaption('entries', pg, rows.length), `, newest first, of ${ledger.day} (UTC)`),
      h('thead', null, h('tr', null, ['Entry', 'When', 'Domain', 'Amount', 'Outcome', 'Actor', 'Correlation id']
        .map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, rows.map((e) => h('tr', {'data-entry': e.id},
        h('th', {scope: 'row', class: 'num'}, `#${e.id}`),
        h('td', {class: 'nowrap'}, when(e.at_ms)),
        h('td', {class: 'domain'}, e.domain),
        h('td', {class: 'num amount'}, money.format(e.amount)),
        h('td', {class: 'outcome'}, h('span', {class: `badge ${OUTCOME_TONE[e.outcome] || 'muted'}`}, e.outcome),
          e.reason && h('span', {class: 'sub reason'}, e.reason.replace(/_/g, ' ')),
          e.released_ms && h('span', {class: 'sub released'}, `released ${when(e.released_ms)}`)),
        h('td', null, e.actor),
        h('td', null, e.correlation_id || '—'))))),
    pager(ctx, 'ledger_page', pg, 'Ledger pages'));
}

// ---- the page ----------------------------------------------------------------------------------

export async function tripwiresPage(main, ctx, notice) {
  const day = ctx.query.get('day') || new Date().toISOString().slice(0, 10);
  const soft = (p) => api(p).catch((err) => {
    if (err instanceof ApiError && err.status === 401) throw err;
    return err;
  });
  const [kill, pol, state, risk, ledger, table] = await Promise.all([
    soft('/v1/go-live/state'), soft('/v1/regression/policies'), soft('/v1/regression/state'),
    soft('/v1/risk/policies'), soft(`/v1/risk/ledger?day=${encodeURIComponent(day)}`), endpointTable(),
  ]);
  if (!ctx.current()) return;
  const reload = async (msg) => {
    if (!ctx.current()) return;
    delete main.dataset.ready;
    try {
      await tripwiresPage(main, ctx, msg);
    } catch (err) {
      if (!ctx.current()) return;
      main.append(errorBox(err, 'The page could not be read again.'));
      main.dataset.ready = 'error';
    }
  };
  const opts = {role: ctx.who.token.role, endpoints: table, ready: 'tripwires', done: reload};
  const engaged = !(kill instanceof Error) && kill.kill_switch.engaged;
  fill(main,
    h('h1', null, 'Tripwires and risk'),
    h('p', {class: 'lead'}, 'What guards production in workspace ', h('strong', null, ctx.who.workspace.name),
      ': the kill switch, the regression tripwires on business KPIs, and the risk guard\'s policies and ledger.'),
    engaged && h('p', {class: 'error', id: 'kill-banner'}, h('strong', null, 'The kill switch is engaged.'),
      'Production executions are refused until it is released.'),
    notice && h('p', {class: 'notice', role: 'status', tabindex: '-1', id: 'notice'}, notice),
    killSection(kill, ctx.who.workspace.name, opts),
    tripwiresSection(ctx, pol, state, opts),
    riskSection(ctx, risk, ledger),
    ledgerSection(ctx, ledger, day));
  if (notice) document.getElementById('notice').focus();
  main.dataset.ready = 'tripwires';
}
