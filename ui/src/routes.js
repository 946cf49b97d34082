// routes.js - #/routes: every route of the workspace, 25 a page (#/routes?page=2), with its
// split, breaker and health in words and its rollout plan's position; #/routes/NAME: one
// route as the API says it, and its actions.
//
// Every number comes from the /v1 API: the route's definition (GET /v1/routes/{name}), its
// counters now (GET .../stats: since the server started, per domain and upstream, as the
// API gives them: the page merges no quantiles), over time (GET .../series: per upstream,
// in aligned buckets, drawn by chart.js with each chart's figures as a table), its health and breaker (GET .../health), its recent failures (GET
// .../requests?errors_only=true) and its audit entries (GET /v1/audit). A rollout plan's
// progress is kept by the server in memory and not served: the page says where the
// percentage stands among the plan's steps, and when the step began by the audit trail.
//
// Actions go through the same endpoints as curl would: set the percentage, enable or
// disable, roll the route back (0 %), and the workspace's emergency rollback. Each needs
// a reason (the API requires one; it goes into the audit trail), is disabled with the
// reason in words when the token's role may not call it (GET /v1's table) or the route's
// state makes it pointless, and asks first in a modal dialog that says what will change.
import {api, eachLimited, ApiError, errorBox} from './api.js';
import {h, fill} from './dom.js';
import {int, percent} from './format.js';
import {actionItem, endpoints as endpointTable, section} from './actions.js';
import {lineChart} from './chart.js';

export const PAGE_SIZE = 25;
const enc = encodeURIComponent;

// 25.5 -> "25.5 %"; the legacy share of a route at `p` % to new (two decimals at most)
export const pct = (p) => `${Number(Number(p).toFixed(2))} %`;
export const legacyShare = (p) => Number((100 - p).toFixed(2));
// a latency in ms, three significant digits; '—' for none (a bucket without requests)
export const ms = (x) => (x === null || x === undefined ? '—' : `${Number(Number(x).toPrecision(3))} ms`);
const rate = (x) => (x === null || x === undefined ? '—' : percent(x));
const when = (t) => new Date(t).toISOString().replace('T', ' ').slice(0, 19);

export function splitText(r) {
  return r.enabled ? `legacy ${pct(legacyShare(r.percentage))} · new ${pct(r.percentage)}`
    : `legacy 100 % (disabled; new ${pct(r.percentage)} when enabled)`;
}

const BREAKER = {
  closed: ['ok', 'closed'],
  half_open: ['warn', 'half open: probing new'],
  open: ['bad', 'open: new gets no traffic'],
};

function breakerBadge(state) {
  const [tone, words] = BREAKER[state] || ['muted', state || 'unknown'];
  return h('span', {class: `badge ${tone} breaker`, 'data-breaker': state}, `breaker ${words}`);
}

// Why an upstream fails its gates, in words (the rule of GET .../health: a value equal to
// a gate fails it).
function failing(hl) {
  const out = [];
  for (const u of ['legacy', 'new']) {
    const x = hl.upstreams && hl.upstreams[u];
    if (!x || x.healthy) continue;
    const why = [];
    if (x.error_rate >= hl.gates.max_error_rate) why.push(`error rate ${percent(x.error_rate)} ≥ ${percent(hl.gates.max_error_rate)}`);
    if (x.p95_ms >= hl.gates.max_p95_ms) why.push(`p95 ${ms(x.p95_ms)} ≥ ${ms(hl.gates.max_p95_ms)}`);
    out.push(`${u}: ${why.join(', ') || 'fails its gates'}`);
  }
  return out;
}

function healthBadge(hl) {
  if (hl instanceof Error) return h('span', {class: 'sub'}, `health could not be read (${hl.describe ? hl.describe() : hl.message})`);
  const bad = failing(hl);
  return [h('span', {class: `badge ${hl.healthy ? 'ok' : 'bad'} health`}, hl.healthy ? 'healthy' : 'unhealthy'),
    bad.length ? h('span', {class: 'sub'}, bad.join('; ')) : null];
}

// Where the percentage stands among the plan's steps, and the step after it (the engine
// moves to the first step above the percentage: proxy.md, "Rollout plans").
export function planPosition(r) {
  const plan = r.plan;
  if (!plan) return {text: 'no plan', next: null};
  const steps = plan.steps || [];
  const i = steps.indexOf(r.percentage);
  const next = steps.find((s) => s > r.percentage);
  const text = i >= 0 ? `step ${i + 1} of ${steps.length} (${pct(r.percentage)})`
    : r.percentage === 0 ? `before step 1 of ${steps.length} (0 %)`
      : `between steps (${pct(r.percentage)}, set by a person)`;
  return {text, next: next === undefined ? null : next};
}

// ---- the list ---------------------------------------------------------------------------

function listRow(r, hl) {
  const pos = planPosition(r);
  return h('tr', {'data-route': r.name},
    h('th', {scope: 'row'}, h('a', {href: `#/routes/${enc(r.name)}`}, r.name)),
    h('td', {class: 'listen'}, h('code', null, r.listen), r.path_prefix && h('span', {class: 'sub'}, `prefix ${r.path_prefix}`)),
    h('td', {class: 'enabled'}, h('span', {class: `badge ${r.enabled ? 'ok' : 'muted'}`}, r.enabled ? 'enabled' : 'disabled')),
    h('td', {class: 'split num'}, splitText(r)),
    h('td', {class: 'breaker-cell'}, hl instanceof Error ? '—' : breakerBadge(hl.breaker)),
    h('td', {class: 'health-cell'}, healthBadge(hl)),
    h('td', {class: 'plan'}, pos.text, r.plan && h('span', {class: 'sub'},
      pos.next === null ? 'no step after it' : `next ${pct(pos.next)}`)));
}

export async function routesPage(main, ctx, note) {
  main.append(h('h1', null, 'Routes'));
  const shown = note && h('p', {class: 'notice', role: 'status', tabindex: '-1', id: 'notice'}, note);
  if (shown) main.append(shown);
  const status = h('p', {class: 'lead', 'aria-live': 'polite'}, 'Loading…');
  main.append(status);
  const t0 = performance.now();
  const [list, table] = await Promise.all([api('/v1/routes').then((x) => x.routes || []), endpointTable()]);
  if (!ctx.current()) return;
  main.dataset.startMs = String(Math.round(t0));
  main.dataset.listMs = String(Math.round(performance.now() - t0));
  const pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
  let page = parseInt(ctx.query.get('page') || '1', 10);
  if (!(page >= 1 && page <= pages)) page = 1;
  const slice = list.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const health = await eachLimited(slice, 6, (r) => api(`/v1/routes/${enc(r.name)}/health`));
  if (!ctx.current()) return;
  for (const x of health) if (x instanceof ApiError && x.status === 401) throw x;
  fill(status, list.length ? `${int(list.length)} routes.` : 'No routes yet.');
  if (!list.length) {
    main.append(h('p', null, 'Create one with ', h('code', null, 'POST /v1/routes'), ' or ',
      h('code', null, 'switchyard route create'), ' (docs/proxy.md).'));
  } else {
    main.append(h('table', {id: 'routes'},
      h('caption', null, `Page ${page} of ${pages}: routes ${int((page - 1) * PAGE_SIZE + 1)} to ${int((page - 1) * PAGE_SIZE + slice.length)}`),
      h('thead', null, h('tr', null, ['Route', 'Listen', 'Enabled', 'Split', 'Breaker', 'Health', 'Rollout plan']
        .map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, slice.map((r, i) => listRow(r, health[i])))));
    if (pages > 1) {
      const link = (p, text, rel) => (p >= 1 && p <= pages
        ? h('a', {href: `#/routes?page=${p}`, rel}, text)
        : h('span', {class: 'sub', 'aria-disabled': 'true'}, text));
      main.append(h('nav', {class: 'pager', 'aria-label': 'Route pages'},
        link(page - 1, '← Previous page', 'prev'), h('span', null, `Page ${page} of ${pages}`),
        link(page + 1, 'Next page →', 'next')));
    }
  }
  const reason = reasonField();
  const actStatus = h('div', {id: 'action-status', 'aria-live': 'polite'});
  const reload = async (msg) => {
    if (!ctx.current()) return;
    fill(main);
    try {
      await routesPage(main, ctx, msg);
    } catch (err) {
      if (!ctx.current()) return;
      main.append(errorBox(err, 'The routes could not be read again.'));
      main.dataset.ready = 'error';
    }
  };
  main.append(section('actions', 'Workspace actions', reason.el,
    h('ul', {class: 'actions'}, emergencyAction(ctx.who, table, reason, actStatus, 'routes', reload)), actStatus));
  main.dataset.renderMs = String(Math.round(performance.now() - t0));
  if (shown) shown.focus(); // after an action, focus goes to what it did
  main.dataset.ready = 'routes';
}

// ---- actions ----------------------------------------------------------------------------

// The reason every route action sends (the API requires one and audits it).
function reasonField() {
  const input = h('input', {id: 'reason', name: 'reason', type: 'text', maxlength: 400, autocomplete: 'off',
    'aria-describedby': 'reason-help'});
  return {
    input,
    el: h('div', {class: 'field'}, h('label', {for: 'reason'}, 'Reason'), input,
      h('p', {class: 'sub', id: 'reason-help'}, 'Required by every action below; it is written into the audit trail.')),
  };
}

const needReason = (reason) => (reason.input.value.trim()
  ? null : {error: 'Write a reason first: the API requires one, and it goes into the audit trail.', focus: reason.input});

function emergencyAction(who, endpoints, reason, status, ready, done) {
  const ws = who.workspace.name;
  return actionItem({
    id: 'emergency', label: 'Emergency rollback', method: 'POST', path: '/v1/emergency-rollback',
    tpl: '/v1/emergency-rollback', danger: true,
    title: `Emergency rollback of workspace ${ws}?`,
    prepare: () => needReason(reason) || {
      change: `Every experiment of workspace ${ws} that is running, promoting or promoted goes back to its control (rolled back), and every enabled route of the workspace is disabled: all its traffic to legacy, its rollout plan stopped. Each is its own audited change with the reason "emergency rollback: ${reason.input.value.trim()}".`,
      body: {reason: reason.input.value.trim(), workspace: ws},
    },
    partly: (err) => err instanceof ApiError && err.code === 'partial' &&
      `Emergency rollback: done in part; what failed stays as it was (${err.describe()}).`,
    said: (x) => `Emergency rollback: ${int(x.experiments_rolled_back)} experiments rolled back, ${int(x.routes_disabled)} routes disabled (${int(x.experiments_failed + x.routes_failed)} failed), in ${x.took_ms} ms.`,
  }, {role: who.token.role, endpoints, status, ready, done});
}

function routeActions(r, who, endpoints, done) {
  const base = `/v1/routes/${enc(r.name)}`;
  const status = h('div', {id: 'action-status', 'aria-live': 'polite'});
  const reason = reasonField();
  const input = h('input', {id: 'new-percentage', name: 'percentage', type: 'number', min: 0, max: 100, step: 0.01,
    value: r.percentage, inputmode: 'decimal', 'aria-describedby': 'percentage-help'});
  const opts = {role: who.token.role, endpoints, status, ready: 'route', done};
  const change = (to) => `new ${pct(r.percentage)} → ${pct(to)}, legacy ${pct(legacyShare(r.percentage))} → ${pct(legacyShare(to))}` +
    (r.enabled ? '' : ' (the route is disabled: legacy keeps all its traffic until it is enabled)') +
    (r.plan ? '; the rollout plan starts a new step from there' : '');
  const setPct = actionItem({
    id: 'percentage', label: 'Set percentage', method: 'POST', path: `${base}/percentage`,
    tpl: '/v1/routes/{name}/percentage', title: `Set the percentage of ${r.name}?`,
    prepare: () => {
      const raw = input.value.trim();
      const v = Number(raw);
      if (raw === '' || !Number.isFinite(v) || v < 0 || v > 100 || Math.round(v * 100) !== v * 100)
        return {error: 'The percentage is a number from 0 to 100 with at most two decimals.', focus: input};
      if (v === r.percentage) return {error: `The route is at ${pct(v)} already.`, focus: input};
      return needReason(reason) || {change: change(v), body: {percentage: v, reason: reason.input.value.trim()}};
    },
  }, opts);
  const toggle = actionItem({
    id: 'enabled', label: r.enabled ? 'Disable' : 'Enable', method: 'POST', path: `${base}/enabled`,
    tpl: '/v1/routes/{name}/enabled', title: `${r.enabled ? 'Disable' : 'Enable'} ${r.name}?`,
    prepare: () => needReason(reason) || {
      change: r.enabled ? `enabled → disabled: every request goes to legacy (new ${pct(r.percentage)} → 0 % in effect)${r.plan ? ', the rollout plan stops' : ''}`
        : `disabled → enabled: new gets ${pct(r.percentage)} again, legacy ${pct(legacyShare(r.percentage))}`,
      body: {enabled: !r.enabled, reason: reason.input.value.trim()},
    },
  }, opts);
  const rollback = actionItem({
    id: 'rollback', label: 'Roll back the route', method: 'POST', path: `${base}/percentage`,
    tpl: '/v1/routes/{name}/percentage', danger: true, title: `Roll ${r.name} back to legacy?`,
    blocked: r.percentage === 0 && 'the route is at 0 % already: legacy has all its traffic',
    prepare: () => needReason(reason) || {change: change(0), body: {percentage: 0, reason: reason.input.value.trim()}},
  }, opts);
  return section('actions', 'Actions', reason.el,
    h('div', {class: 'field'}, h('label', {for: 'new-percentage'}, 'New percentage to new (0 to 100)'), input,
      h('p', {class: 'sub', id: 'percentage-help'}, `Now ${pct(r.percentage)}. Two decimals at most.`)),
    h('ul', {class: 'actions'}, setPct, toggle, rollback, emergencyAction(who, endpoints, reason, status, 'route', done)),
    status);
}

// ---- one route --------------------------------------------------------------------------

function nowSection(stats) {
  if (stats instanceof Error) return section('now', 'Now', errorBox(stats, 'The counters could not be read.'));
  const rows = stats.by || [];
  return section('now', 'Now',
    rows.length ? h('table', {id: 'now-table'},
      h('caption', null, `Since the server started (its own proxy's counters): ${int(stats.requests)} requests, per domain and upstream`),
      h('thead', null, h('tr', null, ['Domain', 'Upstream', 'Requests', 'Share', 'Errors', 'Error rate', 'P50', 'P95', 'P99']
        .map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, rows.map((x) => h('tr', {'data-upstream': x.upstream, 'data-domain': x.domain || ''},
        h('th', {scope: 'row'}, x.domain || 'no domain'),
        h('td', {class: 'upstream'}, x.upstream === 'error' ? `error (meant for ${x.tried})` : x.upstream),
        h('td', {class: 'num requests'}, int(x.requests)),
        h('td', {class: 'num share'}, percent(x.share)),
        h('td', {class: 'num errors'}, int(x.errors)),
        h('td', {class: 'num error-rate'}, percent(x.error_rate)),
        h('td', {class: 'num p50'}, ms(x.p50_ms)),
        h('td', {class: 'num p95'}, ms(x.p95_ms)),
        h('td', {class: 'num p99'}, ms(x.p99_ms))))))
      : h('p', {class: 'sub'}, stats.proxy ? 'No request through this server\'s proxy since it started.'
        : 'This server runs no proxy (--proxy-workers 0): see the counters over time, which proxy-only processes report.'));
}

function healthSection(hl) {
  if (hl instanceof Error) return section('health', 'Health and breaker', errorBox(hl, 'Health could not be read.'));
  return section('health', 'Health and breaker',
    h('p', null, breakerBadge(hl.breaker), ' ', healthBadge(hl)),
    h('table', {id: 'health-table'},
      h('caption', null, `Each upstream against the route's gates: error rate under ${percent(hl.gates.max_error_rate)}, p95 under ${ms(hl.gates.max_p95_ms)} (counts since the server started, with what proxy-only processes reported)`),
      h('thead', null, h('tr', null, ['Upstream', 'Requests', 'Errors', 'Error rate', 'P95', 'Gates'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, ['legacy', 'new'].map((u) => {
        const x = hl.upstreams[u];
        return h('tr', {'data-upstream': u},
          h('th', {scope: 'row'}, u),
          h('td', {class: 'num requests'}, int(x.requests)),
          h('td', {class: 'num errors'}, int(x.errors)),
          h('td', {class: 'num error-rate'}, percent(x.error_rate)),
          h('td', {class: 'num p95'}, ms(x.p95_ms)),
          h('td', null, h('span', {class: `badge ${x.healthy ? 'ok' : 'bad'}`}, x.healthy ? 'pass' : 'fail')));
      }))));
}

const STEP_ACTIONS = new Set(['route.create', 'route.percentage', 'route.plan.advance', 'route.plan.back', 'route.plan.abort']);

function planSection(r, hl, audit) {
  if (!r.plan) {
    return section('plan', 'Rollout plan', h('p', {class: 'sub'},
      'This route has no rollout plan: its percentage moves only when a person moves it.'));
  }
  const pos = planPosition(r);
  const p = r.plan;
  const last = audit instanceof Error ? null : (audit.events || []).find((e) => STEP_ACTIONS.has(e.action));
  const stops = [];
  if (!r.enabled) stops.push('the route is disabled');
  if (!(hl instanceof Error) && hl.breaker === 'open') stops.push('the breaker is open (the plan went to 0 % and starts over once it closes)');
  return section('plan', 'Rollout plan',
    h('dl', {class: 'facts', id: 'plan-facts'},
      h('dt', null, 'Steps'), h('dd', null, p.steps.map((s) => (s === r.percentage ? h('strong', null, pct(s)) : pct(s)))
        .map((x, i) => [i ? ' → ' : '', x])),
      h('dt', null, 'Position'), h('dd', {id: 'plan-position'}, pos.text),
      h('dt', null, 'Next step'), h('dd', {id: 'plan-next'}, pos.next === null ? 'none: the last step is reached' : pct(pos.next)),
      h('dt', null, 'Hold'), h('dd', {id: 'plan-hold'}, `${int(p.hold_s)} s a step, and at least ${int(p.min_requests)} requests to new in it with new under the health gates`,
        last && h('span', {class: 'sub'}, `This step began at ${when(last.at_ms)} UTC (${last.action} by ${last.actor || '—'}, per the audit trail), so the plan moves no sooner than ${when(last.at_ms + p.hold_s * 1000)} UTC.`),
        h('span', {class: 'sub'}, 'The server keeps a step\'s progress in memory: after a restart the step is held again from the start.')),
      stops.length ? [h('dt', null, 'Stopped'), h('dd', null, `The plan does not move while ${stops.join(' and ')}.`)] : null));
}

// The figures over time as a table (the charts' accessible equivalent): one row a bucket
// with requests, error rate and P50/P95/P99 of legacy and new, and the proxy's own errors.
function seriesTable(s) {
  const U = ['legacy', 'new'];
  const head1 = h('tr', null, h('td', null), U.map((u) => h('th', {scope: 'colgroup', colspan: 5}, u)), h('th', {scope: 'col', rowspan: 2}, 'Proxy errors'));
  const head2 = h('tr', null, h('th', {scope: 'col'}, 'Bucket start (UTC)'),
    U.map(() => ['Requests', 'Error rate', 'P50', 'P95', 'P99'].map((c) => h('th', {scope: 'col'}, c))));
  const rows = s.start_ms.map((t, i) => h('tr', {'data-i': i},
    h('th', {scope: 'row', class: 'nowrap'}, when(t).slice(0, 16)),
    U.map((u) => {
      const x = s.upstreams[u];
      return [h('td', {class: `num ${u}-requests`}, int(x.requests[i])), h('td', {class: `num ${u}-error-rate`}, rate(x.error_rate[i])),
        h('td', {class: `num ${u}-p50`}, ms(x.p50_ms[i])), h('td', {class: `num ${u}-p95`}, ms(x.p95_ms[i])),
        h('td', {class: `num ${u}-p99`}, ms(x.p99_ms[i]))];
    }),
    h('td', {class: 'num error-requests'}, int(s.upstreams.error.requests[i]))));
  return h('table', {id: 'series-table'},
    h('caption', null, `${int(s.points)} buckets of ${s.step} over ${s.window}, newest first`),
    h('thead', null, head1, head2), h('tbody', null, rows.reverse()));
}

export const WINDOWS = ['1h', '6h', '24h', '7d'];

function overTimeSection(r, series, window) {
  const select = h('select', {id: 'series-window', name: 'window'},
    WINDOWS.map((w) => h('option', {value: w, selected: w === window}, w)));
  select.addEventListener('change', () => {
    location.hash = `#/routes/${enc(r.name)}?window=${select.value}`;
  });
  const pick = h('div', {class: 'field inline'}, h('label', {for: 'series-window'}, 'Window'), select);
  if (series instanceof Error) return section('over-time', 'Over time', pick, errorBox(series, 'The counters over time could not be read.'));
  const total = (u) => series.upstreams[u].requests.reduce((a, b) => a + b, 0);
  return section('over-time', 'Over time', pick,
    h('p', {class: 'sub', id: 'series-summary'}, `Stored per minute and kept by the server's retention: in the last ${series.window}, legacy ${int(total('legacy'))}, new ${int(total('new'))} requests, and ${int(total('error'))} the proxy answered with an error. The current minute is counted once flushed.`),
    h('div', {class: 'charts'}, charts(r, series)),
    h('details', {class: 'figures', id: 'series-details'}, h('summary', null, 'Every figure in one table, newest first'),
      h('div', {class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'The figures over time, as a table'}, seriesTable(series))));
}

// Requests, error rate against the gate, and each upstream's P50/P95/P99, a point a bucket
// (a bucket without requests has no rate or latency: a gap in the line).
function charts(r, s) {
  const times = s.start_ms;
  const U = s.upstreams;
  const gate = r.health && typeof r.health.max_error_rate === 'number' ? r.health.max_error_rate : null;
  const latency = (u) => lineChart({id: `chart-latency-${u}`, times, format: ms, min: 0,
    title: `${u}: P50, P95 and P99 latency per ${s.step} bucket${r.health ? ` (its gate: P95 under ${ms(r.health.max_p95_ms)})` : ''}`,
    series: [{label: 'P50', values: U[u].p50_ms}, {label: 'P95', values: U[u].p95_ms}, {label: 'P99', values: U[u].p99_ms}]});
  return [
    lineChart({id: 'chart-requests', times, format: int, min: 0, title: `Requests per ${s.step} bucket`,
      series: [{label: 'legacy', values: U.legacy.requests}, {label: 'new', values: U.new.requests},
        {label: 'proxy errors', values: U.error.requests}]}),
    lineChart({id: 'chart-error-rate', times, format: (x) => percent(x), min: 0,
      title: `Error rate per ${s.step} bucket${gate === null ? '' : `, against the gate (under ${percent(gate)})`}`,
      series: [{label: 'legacy', values: U.legacy.error_rate}, {label: 'new', values: U.new.error_rate}],
      rules: gate === null ? [] : [{label: 'gate: max_error_rate', values: times.map(() => gate)}]}),
    latency('legacy'), latency('new'),
  ];
}

function failuresSection(reqs) {
  if (reqs instanceof Error) return section('failures', 'Recent failures', errorBox(reqs, 'The recent requests could not be read.'));
  const list = reqs.requests || [];
  return section('failures', 'Recent failures',
    list.length ? h('table', {id: 'failures-table'},
      h('caption', null, `The newest ${int(list.length)} failures and fallbacks among the recent requests this server's proxy keeps (its newest 256 a worker), newest first`),
      h('thead', null, h('tr', null, ['When (UTC)', 'Request', 'Domain', 'Served by', 'Status', 'Latency', 'What failed']
        .map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, list.map((x) => h('tr', null,
        h('td', {class: 'nowrap'}, when(x.at_ms)),
        h('td', null, h('code', null, `${x.method} ${x.path}`)),
        h('td', null, x.domain || '—'),
        h('td', null, x.upstream, x.fallback ? h('span', {class: 'sub'}, 'fallback: new failed first') : null,
          x.probe ? h('span', {class: 'sub'}, 'a breaker probe') : null),
        h('td', {class: 'num'}, String(x.status)),
        h('td', {class: 'num'}, ms(x.latency_ms)),
        h('td', {class: 'note'}, x.error_message || '')))))
      : h('p', {class: 'sub'}, reqs.proxy ? 'No failure or fallback among the recent requests the proxy keeps (its newest 256 a worker).'
        : 'This server runs no proxy: it keeps no request log.'));
}

function auditSection(audit) {
  if (audit instanceof Error) return section('audit-entries', 'Audit entries', errorBox(audit, 'The audit trail could not be read.'));
  const ev = audit.events || [];
  return section('audit-entries', 'Audit entries',
    ev.length ? h('ul', {id: 'audit-list'}, ev.map((x) => h('li', {'data-action': x.action},
      h('span', {class: 'nowrap'}, when(x.at_ms)), ' ', h('strong', null, x.action), ` by ${x.actor || '—'}`,
      x.after && x.after.reason ? `: ${x.after.reason}` : '')))
      : h('p', {class: 'sub'}, 'No audit entry.'));
}

export async function routePage(main, ctx, name, note) {
  const base = `/v1/routes/${enc(name)}`;
  const r = await api(base);
  if (!ctx.current()) return;
  const window = WINDOWS.includes(ctx.query.get('window')) ? ctx.query.get('window') : '1h';
  const soft = (p) => api(p).catch((err) => {
    if (err instanceof ApiError && err.status === 401) throw err;
    return err;
  });
  const [stats, hl, series, reqs, audit, table] = await Promise.all([
    soft(`${base}/stats`), soft(`${base}/health`), soft(`${base}/series?window=${window}`),
    soft(`${base}/requests?errors_only=true&limit=25`), soft(`/v1/audit?resource=${enc(`route:${name}`)}&limit=50`),
    endpointTable(),
  ]);
  if (!ctx.current()) return;
  const reload = async (msg) => {
    if (!ctx.current()) return;
    delete main.dataset.ready;
    try {
      await routePage(main, ctx, name, msg);
    } catch (err) {
      if (!ctx.current()) return;
      main.append(errorBox(err, 'The route could not be read again.'));
      main.dataset.ready = 'error';
    }
  };
  fill(main,
    h('h1', null, `Route: ${r.name}`),
    note && h('p', {class: 'notice', role: 'status', tabindex: '-1', id: 'notice'}, note),
    h('p', {class: 'lead'}, 'Listens on ', h('code', null, r.listen), r.path_prefix ? [' under ', h('code', null, r.path_prefix)] : '',
      '; legacy ', h('code', null, r.upstreams.legacy.address), ', new ', h('code', null, r.upstreams.new.address), '.'),
    h('p', null, h('span', {class: `badge ${r.enabled ? 'ok' : 'muted'}`, id: 'enabled'}, r.enabled ? 'enabled' : 'disabled'),
      ' · split ', h('strong', {id: 'split', class: 'num'}, splitText(r)), ' · ',
      hl instanceof Error ? '' : breakerBadge(hl.breaker)),
    nowSection(stats),
    healthSection(hl),
    overTimeSection(r, series, window),
    planSection(r, hl, audit),
    routeActions(r, ctx.who, table, reload),
    failuresSection(reqs),
    auditSection(audit));
  if (note) document.getElementById('notice').focus();
  main.dataset.ready = 'route';
}
