// audit.js - #/audit: the workspace's audit trail (GET /v1/audit), newest first, 25 a
// page: when (UTC, and how long ago), who, the action, the resource (a link to its console
// page where there is one) and the change, before against after as a list of the fields
// that were changed, added or removed (said in words, never by colour alone).
//
// Filters (resource: exact or a prefix ending in ":"; action: those docs/api.md lists;
// since: a UTC date and time) live in the hash's query (#/audit?resource=flag:&action=
// flag.update&since=2026-12-07T11:00:00), so a filtered view can be linked; "Older" adds
// the answer's next_cursor (cursor=ID), "Newest" drops it. Nothing is computed here that
// the API did not answer: the diff is the two JSON values the entry holds, compared.
//
// The notifications' page (#/audit/notifications, notifications.js) is reached from here.
import {api, errorBox} from './api.js';
import {h, fill} from './dom.js';
import {int} from './format.js';

export const PAGE_SIZE = 25;

// Every action docs/api.md's "Audit trail" lists (the browser test compares the two).
export const ACTIONS = ['flag.create', 'flag.update', 'flag.delete', 'flagset.import', 'token.create',
  'token.revoke', 'workspace.create', 'experiment.create', 'experiment.start', 'experiment.stop',
  'experiment.terminate', 'allocation.step', 'experiment.promote', 'experiment.rollback',
  'experiment.bandit_update',
  'guardrails.update', 'regression.policy.create', 'regression.policy.update', 'regression.trigger',
  'risk.policy.create', 'risk.policy.update', 'risk.policy.throttle', 'risk.policy.restore',
  'killswitch.engage', 'killswitch.disengage', 'notification.channel.create',
  'notification.channel.delete', 'route.create', 'route.update', 'route.delete', 'route.percentage',
  'route.enabled', 'route.breaker', 'route.plan.advance', 'route.plan.back', 'route.plan.abort'];

const enc = encodeURIComponent;

// 1796169051349 -> "2026-12-01 10:30:51 UTC"
export function utc(ms) {
  return `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

// How long before `now` (the browser's clock) `ms` was: "12 s ago", "5 min ago", "3 h ago",
// "4 days ago".
export function ago(ms, now = Date.now()) {
  const s = Math.floor((now - ms) / 1000);
  if (s < 0) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const hr = Math.floor(m / 60);
  if (hr < 48) return `${hr} h ago`;
  return `${Math.floor(hr / 24)} days ago`;
}

export function when(ms) {
  return [h('time', {datetime: new Date(ms).toISOString(), class: 'nowrap utc'}, utc(ms)),
    h('span', {class: 'sub ago'}, ago(ms))];
}

// The audit page's two views, as links under its title (the current one marked).
export function auditTabs(current) {
  const tab = (href, name, label) => h('li', null, h('a', {href, 'aria-current': current === name ? 'page' : null}, label));
  return h('nav', {class: 'subnav', 'aria-label': 'Audit views'},
    h('ul', null, tab('#/audit', 'audit', 'Audit trail'), tab('#/audit/notifications', 'notifications', 'Notifications')));
}

// Pages of the console a resource has: "experiment:KEY" -> #/experiments/KEY (detail.js),
// "flag:KEY" -> #/flags/KEY, "route:NAME" -> #/routes/NAME (the flags' and routes' pages).
const PAGES = {
  experiment: (key) => `#/experiments/${enc(key)}`,
  flag: (key) => `#/flags/${enc(key)}`,
  route: (name) => `#/routes/${enc(name)}`,
};

export function resourceLink(resource) {
  const i = resource.indexOf(':');
  const page = i > 0 && PAGES[resource.slice(0, i)];
  return page && i + 1 < resource.length ? h('a', {href: page(resource.slice(i + 1))}, resource) : resource;
}

// Every leaf of a JSON value by its path ("variants[1].weight"); an empty object or array
// is a leaf of its own.
export function flatten(v, path = '', out = new Map()) {
  if (v !== null && typeof v === 'object' && Object.keys(v).length) {
    const arr = Array.isArray(v);
    for (const [k, x] of Object.entries(v)) flatten(x, arr ? `${path}[${k}]` : path ? `${path}.${k}` : k, out);
  } else {
    out.set(path || '(the value)', v);
  }
  return out;
}

// before/after -> {rows: [{path, kind: "changed"|"added"|"removed", before, after}], same}
// in the order the fields come (after's, then those only before had). An empty object or
// array that gained (or lost) members is not itself listed: its members are.
export function diff(before, after) {
  const a = before === null || before === undefined ? new Map() : flatten(before);
  const b = after === null || after === undefined ? new Map() : flatten(after);
  const emptyWithin = (p, v, other) => v !== null && typeof v === 'object' &&
    [...other.keys()].some((k) => k.startsWith(`${p}.`) || k.startsWith(`${p}[`));
  const rows = [];
  let same = 0;
  for (const [p, v] of b) {
    if (!a.has(p)) {
      if (!emptyWithin(p, v, a)) rows.push({path: p, kind: 'added', after: v});
    } else if (JSON.stringify(a.get(p)) !== JSON.stringify(v)) {
      rows.push({path: p, kind: 'changed', before: a.get(p), after: v});
    } else {
      same++;
    }
  }
  for (const [p, v] of a) if (!b.has(p) && !emptyWithin(p, v, b)) rows.push({path: p, kind: 'removed', before: v});
  return {rows, same};
}

const MAX_DIFF_ROWS = 100;
const KIND_TONE = {changed: 'warn', added: 'ok', removed: 'bad'};
const shown = (v) => {
  const s = JSON.stringify(v);
  return s.length > 160 ? `${s.slice(0, 159)}…` : s;
};

// "2 changed, 1 added" (or "created: 7 fields", "removed: 7 fields", "no change")
export function diffSummary(e, d) {
  const has = (x) => x !== null && x !== undefined;
  if (!has(e.before) && has(e.after)) return `created: ${d.rows.length} field${d.rows.length === 1 ? '' : 's'}`;
  if (has(e.before) && !has(e.after)) return `removed: ${d.rows.length} field${d.rows.length === 1 ? '' : 's'}`;
  const n = {changed: 0, added: 0, removed: 0};
  for (const r of d.rows) n[r.kind]++;
  const parts = Object.entries(n).filter(([, c]) => c).map(([k, c]) => `${c} ${k}`);
  return parts.length ? parts.join(', ') : 'no field changed';
}

function changeCell(e) {
  const d = diff(e.before, e.after);
  const rows = d.rows.slice(0, MAX_DIFF_ROWS);
  const table = rows.length && h('table', {class: 'diff'},
    h('caption', null, `Entry ${e.id}: each field that differs${d.same ? ` (${int(d.same)} unchanged not shown)` : ''}`),
    h('thead', null, h('tr', null, ['Field', 'Change', 'Before', 'After'].map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', null, rows.map((r) => h('tr', {'data-path': r.path, 'data-kind': r.kind},
      h('th', {scope: 'row'}, h('code', null, r.path)),
      h('td', null, h('span', {class: `badge ${KIND_TONE[r.kind]}`}, r.kind)),
      h('td', {class: 'json'}, r.kind === 'added' ? '—' : h('code', null, shown(r.before))),
      h('td', {class: 'json'}, r.kind === 'removed' ? '—' : h('code', null, shown(r.after)))))));
  return h('td', {class: 'change'},
    rows.length ? h('details', null, h('summary', null, diffSummary(e, d)), table,
      d.rows.length > rows.length && h('p', {class: 'sub'}, `and ${int(d.rows.length - rows.length)} more fields (GET /v1/audit has them all)`))
      : h('span', {class: 'sub'}, diffSummary(e, d)));
}

// The hash's filters: {resource, action, since (the text), sinceMs, cursor}; `bad` names a
// field whose value cannot be used, with why.
export function readFilters(q) {
  const f = {resource: q.get('resource') || '', action: q.get('action') || '', since: q.get('since') || '',
    cursor: q.get('cursor') || '', sinceMs: null, bad: null};
  if (f.since) {
    // a date that does not exist (February 30th) is refused, not moved to another day
    const full = f.since.length === 16 ? `${f.since}:00` : f.since;
    const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?$/.test(f.since) ? Date.parse(`${full}Z`) : NaN;
    if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== full) f.bad = {field: 'since', why: `"${f.since}" is not a date and time as YYYY-MM-DDTHH:MM[:SS] (UTC)`};
    else f.sinceMs = ms;
  }
  return f;
}

// The hash of a view: the filters given (empty ones left out) and a cursor.
export function auditHash(f, cursor) {
  const q = new URLSearchParams();
  for (const k of ['resource', 'action', 'since']) if (f[k]) q.set(k, f[k]);
  if (cursor) q.set('cursor', String(cursor));
  const s = q.toString();
  return s ? `#/audit?${s}` : '#/audit';
}

function filterForm(f, rerender) {
  const field = (id, label, input, help) => h('div', {class: 'field'},
    h('label', {for: id}, label), input, help && h('p', {class: 'sub', id: `${id}-help`}, help),
    h('p', {class: 'field-error', id: `${id}-err`, hidden: true}));
  const resource = h('input', {id: 'f-resource', name: 'resource', type: 'text', value: f.resource, spellcheck: 'false',
    'aria-describedby': 'f-resource-help f-resource-err', placeholder: 'flag:checkout or flag:'});
  const action = h('select', {id: 'f-action', name: 'action'},
    h('option', {value: ''}, 'any action'),
    ACTIONS.map((a) => h('option', {value: a, selected: a === f.action}, a)),
    f.action && !ACTIONS.includes(f.action) && h('option', {value: f.action, selected: true}, f.action));
  const since = h('input', {id: 'f-since', name: 'since', type: 'datetime-local', step: 1,
    value: f.bad && f.bad.field === 'since' ? null : f.since, 'aria-describedby': 'f-since-help f-since-err'});
  const form = h('form', {class: 'filters', id: 'audit-filters', 'aria-label': 'Filter the audit trail', novalidate: true},
    field('f-resource', 'Resource', resource, 'exact, such as flag:checkout, or a prefix ending in ":", such as flag:'),
    field('f-action', 'Action', action),
    field('f-since', 'Since (UTC)', since, 'entries at or after this time'),
    h('div', {class: 'buttons'}, h('button', {type: 'submit', class: 'primary'}, 'Apply filters'),
      h('a', {href: '#/audit', id: 'f-clear'}, 'Clear filters')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = auditHash({resource: resource.value.trim(), action: action.value, since: since.value});
    if (next === location.hash) rerender();
    else location.hash = next; // the router shows it (and a link to it shows the same)
  });
  return form;
}

// The problem with a filter, shown at its field (and the field marked invalid).
export function showFieldError(form, id, message) {
  const input = form.querySelector(`#${id}`);
  const err = form.querySelector(`#${id}-err`);
  if (!input || !err) return false;
  input.setAttribute('aria-invalid', 'true');
  fill(err, message);
  err.hidden = false;
  return true;
}

export async function auditPage(main, ctx) {
  const f = readFilters(ctx.query);
  const rerender = async () => {
    if (!ctx.current()) return;
    delete main.dataset.ready;
    fill(main);
    await auditPage(main, ctx);
  };
  const form = filterForm(f, rerender);
  const status = h('p', {class: 'lead', id: 'audit-status', 'aria-live': 'polite'}, 'Loading…');
  main.append(h('h1', null, 'Audit log'), auditTabs('audit'), form, status);
  if (f.bad) {
    showFieldError(form, `f-${f.bad.field}`, f.bad.why);
    fill(status, errorBox(`The filter ${f.bad.field} cannot be used: ${f.bad.why}.`, 'Nothing was read.'));
    main.dataset.ready = 'audit';
    return;
  }
  const q = new URLSearchParams({limit: String(PAGE_SIZE)});
  if (f.resource) q.set('resource', f.resource);
  if (f.action) q.set('action', f.action);
  if (f.sinceMs !== null) q.set('since', String(f.sinceMs));
  if (f.cursor) q.set('cursor', f.cursor);
  const t0 = performance.now();
  let ans;
  try {
    ans = await api(`/v1/audit?${q}`);
  } catch (e) {
    if (e.status === 401) throw e;
    if (!ctx.current()) return;
    // the API's refusal of a filter is shown at that filter
    if (e.field) showFieldError(form, `f-${e.field}`, e.describe());
    fill(status, errorBox(e, 'The audit trail could not be read.'));
    main.dataset.ready = 'audit';
    return;
  }
  if (!ctx.current()) return;
  main.dataset.readMs = String(Math.round(performance.now() - t0));
  const events = ans.events || [];
  const filtered = f.resource || f.action || f.since;
  const n = `${int(events.length)} entr${events.length === 1 ? 'y' : 'ies'}${filtered ? ' that match the filters' : ''}`;
  fill(status, events.length
    ? f.cursor ? `${n}, older than entry ${f.cursor}.` : `The newest ${n}.`
    : f.cursor ? 'No older entries.' : filtered ? 'No entry matches the filters.' : 'The audit trail is empty.');
  if (events.length) {
    const desc = [f.resource && `resource ${f.resource}`, f.action && `action ${f.action}`, f.since && `since ${f.since.replace('T', ' ')} UTC`]
      .filter(Boolean).join(', ');
    main.append(h('table', {id: 'audit'},
      h('caption', null, `Audit entries ${events[0].id} to ${events[events.length - 1].id}, newest first${desc ? ` (${desc})` : ''}`),
      h('thead', null, h('tr', null, ['When', 'Who', 'Action', 'Resource', 'Change'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, events.map((e) => h('tr', {'data-id': e.id},
        h('td', {class: 'when'}, when(e.at_ms)),
        h('td', {class: 'actor'}, e.actor || '—'),
        h('th', {scope: 'row', class: 'action'}, e.action),
        h('td', {class: 'resource'}, resourceLink(e.resource)),
        changeCell(e))))));
  }
  if (f.cursor || ans.next_cursor !== undefined) {
    main.append(h('nav', {class: 'pager', 'aria-label': 'Audit pages'},
      f.cursor ? h('a', {href: auditHash(f), rel: 'first', id: 'audit-newest'}, '← Newest')
        : h('span', {class: 'sub', 'aria-disabled': 'true'}, '← Newest'),
      ans.next_cursor !== undefined ? h('a', {href: auditHash(f, ans.next_cursor), rel: 'next', id: 'audit-older'}, 'Older →')
        : h('span', {class: 'sub', 'aria-disabled': 'true'}, 'Older →')));
  }
  main.dataset.renderMs = String(Math.round(performance.now() - t0));
  main.dataset.ready = 'audit';
}
