// notifications.js - #/audit/notifications: the workspace's notification channels (GET
// /v1/notifications/channels) and their deliveries (GET /v1/notifications).
//
// A channel shows its type, name, target as the API gives it (a Slack URL, the credential,
// only as scheme and host; secrets never, only the names of those it holds), its levels and
// events, and two actions: "Send a test" (POST .../channels/{id}/test) and "Delete"
// (DELETE .../channels/{id}), each asked first in the confirmation dialog. "Add a channel"
// is a form posted as is to POST /v1/notifications/channels: the server judges it, and a
// refusal is shown at the field it names. Every action is disabled, with the reason, when
// the token's role is below the one GET /v1 names for its endpoint.
//
// Channels: by id, 25 a page (the API lists them all at once; cpage=N in the hash).
// Deliveries: newest first, 25 a page, filtered by status and channel (the two filters the
// API takes), in the hash's query (#/audit/notifications?status=failed&channel=2&cursor=9).
import {api, ApiError, errorBox} from './api.js';
import {h, fill} from './dom.js';
import {int} from './format.js';
import {actionItem, endpoints as endpointTable, roleBlock, section} from './actions.js';
import {auditTabs, when, showFieldError} from './audit.js';

export const PAGE_SIZE = 25;
const TYPES = ['webhook', 'slack', 'pagerduty', 'email'];
const LEVELS = ['info', 'warning', 'critical'];
// the events a channel may take (docs/api.md's channel fields)
const EVENTS = ['promotion', 'awaiting_approval', 'promotion_warning', 'rollback', 'tripwire', 'throttle',
  'kill_switch', 'health_warning', 'srm', 'breaker', 'bandit_update'];
const STATUSES = ['pending', 'delivered', 'failed'];
const STATUS_TONE = {pending: 'info', delivered: 'ok', failed: 'bad'};
const LEVEL_TONE = {info: 'info', warning: 'warn', critical: 'bad'};

// The form's fields: [API field, label, input type, the channel types that take it, help].
const FIELDS = [
  ['url', 'URL', 'text', ['webhook', 'slack', 'pagerduty'], 'http:// or https://; for Slack, the incoming webhook (its credential: shown afterwards as scheme and host only); for PagerDuty, optional (its Events API v2 by default)'],
  ['secret', 'Signing secret', 'password', ['webhook'], '16 to 256 characters: each delivery is signed with it (X-Switchyard-Signature); never shown again'],
  ['routing_key', 'Routing key', 'password', ['pagerduty'], 'never shown again'],
  ['to', 'To', 'text', ['email'], 'the address that receives the mail'],
  ['from', 'From', 'text', ['email'], 'the sender\'s address'],
  ['smtp_url', 'SMTP server', 'text', ['email'], 'smtp:// or smtps:// host and port'],
  ['username', 'SMTP user name', 'text', ['email'], 'optional: with it the connection must be TLS'],
  ['password', 'SMTP password', 'password', ['email'], 'optional; never shown again'],
];

// A channel's target as the API gives it, and the names of the secrets it holds.
export function target(c) {
  const parts = [];
  if (c.to) parts.push(`to ${c.to}`);
  if (c.from) parts.push(`from ${c.from}`);
  if (c.smtp_url) parts.push(`via ${c.smtp_url}`);
  if (c.username) parts.push(`as ${c.username}`);
  if (c.url) parts.push(c.url);
  return parts.join(' ');
}

const listOf = (have, all, what) => (have && all.every((x) => have.includes(x)) && have.length === all.length
  ? `all ${all.length} ${what}` : (have || []).join(', '));

function channelsSection(all, cpage, link, opts) {
  const pages = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
  const page = cpage >= 1 && cpage <= pages ? cpage : 1;
  const channels = all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  if (!channels.length) {
    return section('channels', 'Channels', h('p', {class: 'sub', id: 'no-channels'},
      'No channel yet: notifications of promotions, rollbacks, tripwires and the kill switch go nowhere.'));
  }
  const rows = channels.map((c) => {
    const name = `#${c.id} "${c.name}"`;
    const what = `${c.type} → ${target(c)}`;
    const acts = [
      {id: `test-${c.id}`, label: 'Send a test', method: 'POST', path: `/v1/notifications/channels/${c.id}/test`,
        tpl: '/v1/notifications/channels/{id}/test', title: `Send a test to ${c.name}?`,
        change: `a test message (event test, level info) is queued for channel ${name} (${what}), whatever its filters; its delivery is listed under Deliveries`},
      {id: `delete-${c.id}`, label: 'Delete', method: 'DELETE', path: `/v1/notifications/channels/${c.id}`,
        tpl: '/v1/notifications/channels/{id}', title: `Delete channel ${c.name}?`,
        change: `channel ${name} (${what}) is deleted: it receives no more notifications; its deliveries stay listed`},
    ].map((a) => {
      const li = actionItem(a, opts);
      li.querySelector('button').setAttribute('aria-label', `${a.label}: channel ${name}`);
      return li;
    });
    return h('tr', {'data-channel': c.id},
      h('th', {scope: 'row'}, c.name, h('span', {class: 'sub'}, `#${c.id}`)),
      h('td', {class: 'type'}, c.type),
      h('td', {class: 'target'}, h('span', {class: 'num'}, target(c)),
        c.secrets_set && c.secrets_set.length ? h('span', {class: 'sub secrets'}, `secrets held: ${c.secrets_set.join(', ')}`) : null),
      h('td', {class: 'levels'}, listOf(c.levels, LEVELS, 'levels')),
      h('td', {class: 'events'}, listOf(c.events, EVENTS, 'events')),
      h('td', {class: 'enabled'}, h('span', {class: `badge ${c.enabled ? 'ok' : 'muted'}`}, c.enabled ? 'enabled' : 'disabled')),
      h('td', {class: 'created'}, when(c.created_ms)),
      h('td', null, h('ul', {class: 'actions row-actions'}, acts)));
  });
  const pager = pages > 1 && h('nav', {class: 'pager', 'aria-label': 'Channel pages'},
    page > 1 ? h('a', {href: link({cpage: page - 1}), rel: 'prev', id: 'channels-prev'}, '← Previous channels')
      : h('span', {class: 'sub', 'aria-disabled': 'true'}, '← Previous channels'),
    h('span', null, `Page ${page} of ${pages}`),
    page < pages ? h('a', {href: link({cpage: page + 1}), rel: 'next', id: 'channels-next'}, 'Next channels →')
      : h('span', {class: 'sub', 'aria-disabled': 'true'}, 'Next channels →'));
  return section('channels', 'Channels', h('table', {id: 'channels-table'},
    h('caption', null, pages > 1
      ? `Channels ${int((page - 1) * PAGE_SIZE + 1)} to ${int((page - 1) * PAGE_SIZE + channels.length)} of ${int(all.length)}, by id`
      : `${int(channels.length)} channel${channels.length === 1 ? '' : 's'}, by id`),
    h('thead', null, h('tr', null, ['Name', 'Type', 'Target', 'Levels', 'Events', 'State', 'Created', 'Actions']
      .map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', null, rows)), pager, opts.status);
}

function createSection(who, list, reload) {
  const why = roleBlock(who.token.role, list, 'POST', '/v1/notifications/channels');
  const field = (id, label, input, help, types) => h('div', {class: 'field', 'data-types': types ? types.join(' ') : null},
    h('label', {for: id}, label), input, help && h('p', {class: 'sub', id: `${id}-help`}, help),
    h('p', {class: 'field-error', id: `${id}-err`, hidden: true}));
  const type = h('select', {id: 'ch-type', name: 'type', 'aria-describedby': 'ch-type-err'},
    TYPES.map((t) => h('option', {value: t}, t)));
  const name = h('input', {id: 'ch-name', name: 'name', type: 'text', 'aria-describedby': 'ch-name-help ch-name-err'});
  const inputs = {};
  const typed = FIELDS.map(([k, label, kind, types, help]) => {
    inputs[k] = h('input', {id: `ch-${k}`, name: k, type: kind, autocomplete: kind === 'password' ? 'new-password' : 'off',
      spellcheck: 'false', 'aria-describedby': `ch-${k}-help ch-${k}-err`});
    return field(`ch-${k}`, label, inputs[k], help, types);
  });
  const boxes = (k, names, legend) => h('fieldset', {id: `ch-${k}`, 'aria-describedby': `ch-${k}-err`},
    h('legend', null, legend),
    names.map((x) => h('label', {class: 'check'}, h('input', {type: 'checkbox', name: k, value: x, checked: true}), ` ${x}`)),
    h('p', {class: 'field-error', id: `ch-${k}-err`, hidden: true}));
  const enabled = h('input', {type: 'checkbox', id: 'ch-enabled', name: 'enabled', checked: true});
  const status = h('div', {id: 'create-status', 'aria-live': 'polite'});
  const submit = h('button', {type: 'submit', class: 'primary', id: 'ch-submit', disabled: !!why, 'aria-describedby': why ? 'ch-why' : null}, 'Add the channel');
  const form = h('form', {id: 'channel-form', 'aria-labelledby': 'add-channel-h', novalidate: true},
    h('fieldset', {class: 'plain', disabled: !!why},
      h('legend', {class: 'visually-hidden'}, 'The new channel'),
      field('ch-type', 'Type', type),
      field('ch-name', 'Name', name, 'optional: the type by default'),
      typed,
      boxes('levels', LEVELS, 'Levels it takes'),
      boxes('events', EVENTS, 'Events it takes'),
      h('label', {class: 'check'}, enabled, ' Enabled'),
      h('p', {class: 'sub'}, 'The server checks every field: a refusal is shown at the field it names, and nothing is added.')),
    h('div', {class: 'buttons'}, submit, why && h('span', {class: 'sub why', id: 'ch-why'}, why)),
    status);
  const showType = () => {
    for (const div of form.querySelectorAll('[data-types]')) div.hidden = !div.dataset.types.split(' ').includes(type.value);
  };
  type.addEventListener('change', showType);
  showType();
  const clear = () => {
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const el of form.querySelectorAll('.field-error')) {
      fill(el);
      el.hidden = true;
    }
    fill(status);
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (why) return;
    clear();
    const body = {type: type.value};
    if (name.value.trim()) body.name = name.value.trim();
    for (const [k, , , types] of FIELDS) if (types.includes(type.value) && inputs[k].value !== '') body[k] = inputs[k].value;
    body.levels = [...form.querySelectorAll('input[name="levels"]:checked')].map((x) => x.value);
    body.events = [...form.querySelectorAll('input[name="events"]:checked')].map((x) => x.value);
    body.enabled = enabled.checked;
    submit.disabled = true;
    const main = document.getElementById('main');
    delete main.dataset.ready;
    let made;
    try {
      made = await api('/v1/notifications/channels', {method: 'POST', body});
    } catch (err) {
      submit.disabled = false;
      const at = err instanceof ApiError && err.field ? err.field.replace(/[.[].*$/, '') : '';
      const placed = at && showFieldError(form, `ch-${at}`, err.describe());
      fill(status, errorBox(err, placed ? `The channel was refused: see the field ${at}.` : 'The channel was refused.'));
      main.dataset.ready = 'notifications';
      if (placed) {
        const el = form.querySelector(`#ch-${at}`);
        (el.tagName === 'FIELDSET' ? el.querySelector('input') : el).focus();
      }
      return;
    }
    await reload(`Channel #${made.id} "${made.name}" added (${made.type}).`);
  });
  return section('add-channel', 'Add a channel', form);
}

function deliveriesSection(f, ans, channels, link, rerender) {
  const byId = new Map(channels.map((c) => [c.id, c]));
  const statusSel = h('select', {id: 'd-status', name: 'status'}, h('option', {value: ''}, 'any status'),
    STATUSES.map((s) => h('option', {value: s, selected: s === f.status}, s)));
  const chanSel = h('select', {id: 'd-channel', name: 'channel'}, h('option', {value: ''}, 'any channel'),
    channels.map((c) => h('option', {value: c.id, selected: String(c.id) === f.channel}, `${c.name} (#${c.id})`)),
    f.channel && !byId.has(Number(f.channel)) && h('option', {value: f.channel, selected: true}, `#${f.channel}`));
  const form = h('form', {class: 'filters', id: 'delivery-filters', 'aria-label': 'Filter the deliveries', novalidate: true},
    h('div', {class: 'field'}, h('label', {for: 'd-status'}, 'Status'), statusSel,
      h('p', {class: 'field-error', id: 'd-status-err', hidden: true})),
    h('div', {class: 'field'}, h('label', {for: 'd-channel'}, 'Channel'), chanSel,
      h('p', {class: 'field-error', id: 'd-channel-err', hidden: true})),
    h('div', {class: 'buttons'}, h('button', {type: 'submit', class: 'primary'}, 'Apply filters'),
      h('button', {type: 'button', id: 'd-refresh'}, 'Refresh')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const next = link({status: statusSel.value, channel: chanSel.value, cursor: ''});
    if (next === location.hash) rerender();
    else location.hash = next;
  });
  form.querySelector('#d-refresh').addEventListener('click', () => rerender());
  if (ans instanceof Error) {
    if (ans.field) showFieldError(form, `d-${ans.field}`, ans.describe());
    return section('deliveries', 'Deliveries', form, errorBox(ans, 'The deliveries could not be read.'));
  }
  const list = ans.notifications || [];
  const counts = ans.counts || {};
  const countLine = h('p', {id: 'delivery-counts'}, 'In all: ',
    STATUSES.map((s, i) => [i ? ' · ' : '', h('span', {'data-status': s}, `${int(counts[s] || 0)} ${s}`)]), '.');
  const chanName = (id) => (byId.has(id) ? [byId.get(id).name, h('span', {class: 'sub'}, `#${id}`)]
    : [`#${id}`, h('span', {class: 'sub'}, 'deleted')]);
  const table = list.length ? h('table', {id: 'deliveries-table'},
    h('caption', null, `Deliveries ${list[0].id} to ${list[list.length - 1].id}, newest first${f.status ? `, ${f.status}` : ''}${f.channel ? `, channel #${f.channel}` : ''}`),
    h('thead', null, h('tr', null, ['When', 'Channel', 'Event', 'Status', 'Attempts', 'Error'].map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', null, list.map((d) => h('tr', {'data-delivery': d.id},
      h('td', {class: 'when'}, when(d.created_ms)),
      h('td', {class: 'channel'}, chanName(d.channel)),
      h('th', {scope: 'row', class: 'event'}, d.event, ' ', h('span', {class: `badge ${LEVEL_TONE[d.level] || 'muted'}`}, d.level),
        d.action === 'resolve' && ' (resolve)', h('span', {class: 'sub'}, d.title)),
      h('td', {class: 'status'}, h('span', {class: `badge ${STATUS_TONE[d.status] || 'muted'}`}, d.status),
        h('span', {class: 'sub'}, d.done_ms ? `at ${when(d.done_ms)[0].textContent}`
          : d.status === 'pending' && d.next_attempt_ms ? `next attempt ${when(d.next_attempt_ms)[0].textContent}` : '')),
      h('td', {class: 'attempts num'}, int(d.attempts)),
      h('td', {class: 'error-text'}, d.last_error || '—')))))
    : h('p', {class: 'sub', id: 'no-deliveries'}, f.cursor ? 'No older deliveries.' : f.status || f.channel ? 'No delivery matches the filters.' : 'No delivery yet.');
  const pager = (f.cursor || ans.next_cursor !== undefined) && h('nav', {class: 'pager', 'aria-label': 'Delivery pages'},
    f.cursor ? h('a', {href: link({cursor: ''}), rel: 'first', id: 'deliveries-newest'}, '← Newest')
      : h('span', {class: 'sub', 'aria-disabled': 'true'}, '← Newest'),
    ans.next_cursor !== undefined ? h('a', {href: link({cursor: ans.next_cursor}), rel: 'next', id: 'deliveries-older'}, 'Older →')
      : h('span', {class: 'sub', 'aria-disabled': 'true'}, 'Older →'));
  return section('deliveries', 'Deliveries', form, countLine, table, pager);
}

export async function notificationsPage(main, ctx, notice) {
  const f = {status: ctx.query.get('status') || '', channel: ctx.query.get('channel') || '', cursor: ctx.query.get('cursor') || ''};
  const q = new URLSearchParams({limit: String(PAGE_SIZE)});
  for (const k of ['status', 'channel', 'cursor']) if (f[k]) q.set(k, f[k]);
  const soft = (p) => api(p).catch((err) => {
    if (err instanceof ApiError && err.status === 401) throw err;
    return err;
  });
  const t0 = performance.now();
  const [chans, deliveries, list] = await Promise.all([
    api('/v1/notifications/channels'), soft(`/v1/notifications?${q}`), endpointTable()]);
  if (!ctx.current()) return;
  main.dataset.readMs = String(Math.round(performance.now() - t0));
  const rerender = async (msg) => {
    if (!ctx.current()) return;
    delete main.dataset.ready;
    try {
      await notificationsPage(main, ctx, typeof msg === 'string' ? msg : undefined);
    } catch (err) {
      if (!ctx.current()) return;
      main.append(errorBox(err, 'The notifications could not be read again.'));
      main.dataset.ready = 'error';
    }
  };
  const channels = chans.channels || [];
  // this view's hash with some of its query changed (an empty value drops it)
  const link = (changes) => {
    const q = new URLSearchParams(ctx.query);
    for (const [k, v] of Object.entries(changes)) if (v === '' || v === null || v === undefined) q.delete(k); else q.set(k, String(v));
    const str = q.toString();
    return str ? `#/audit/notifications?${str}` : '#/audit/notifications';
  };
  const status = h('div', {id: 'action-status', 'aria-live': 'polite'});
  const opts = {role: ctx.who.token.role, endpoints: list, status, ready: 'notifications', done: rerender};
  fill(main,
    h('h1', null, 'Notifications'),
    auditTabs('notifications'),
    notice && h('p', {class: 'notice', role: 'status', tabindex: '-1', id: 'notice'}, notice),
    h('p', {class: 'lead'}, 'Where the workspace\'s promotions, rollbacks, tripwires and kill switch are told, and what was sent.'),
    channelsSection(channels, Number(ctx.query.get('cpage') || '1'), link, opts),
    createSection(ctx.who, list, rerender),
    deliveriesSection(f, deliveries, channels, link, rerender));
  if (notice) document.getElementById('notice').focus();
  main.dataset.renderMs = String(Math.round(performance.now() - t0));
  main.dataset.ready = 'notifications';
}
