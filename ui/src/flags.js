// flags.js - #/flags: the workspace's flags (GET /v1/flags), searched by key and
// description as one types, 25 a page (#/flags?q=TEXT&page=2), and a new flag made there;
// #/flags/KEY: one flag (GET /v1/flags/KEY) shown readably, its JSON edited and saved with
// PUT /v1/flags/KEY, deleted after a confirmation, and evaluated for a context over OFREP
// (POST /ofrep/v1/evaluate/flags/KEY) with the signed-in token.
//
// A flag's description is its metadata's `description` (flagd has no member of its own for
// one). The experiment that drives a flag is the API's: GET /v1/experiments names each
// one's `flag`; while it is running, promoting, promoted or rolled back the flag API
// refuses changes (409), so editing and deleting are disabled saying so. No route names a
// flag, so no route is shown as one's owner.
//
// A refused save shows every problem the API lists (`problems`, else the error's own
// `field`) at its path: the path named, the line of the JSON sent where that path is
// written (worked out here from the path, by `locate` below), marked beside the editor,
// with aria-invalid on the editor and aria-describedby to the problems. Text that is not
// JSON is said, with its line and column, before anything is sent; so is a context.
import {api, ApiError, errorBox} from './api.js';
import {h, fill} from './dom.js';
import {int} from './format.js';
import {actionItem, confirmDialog, endpoints as endpointTable, roleBlock, section} from './actions.js';

export const PAGE_SIZE = 25;

const enc = encodeURIComponent;
// the experiment states in which it drives its flag (the API refuses the flag's changes)
const DRIVES = new Set(['running', 'promoting', 'promoted', 'rolled_back']);

// ---- JSON with the line of every path ------------------------------------------------------

// Parses JSON text as the server will (JSON.parse), and finds the line each path starts on:
// {value, lines: Map(path -> line)} with paths written as the API writes them (".variants.on",
// ".targeting.if[1]"; "" is the whole value; a member's line is its name's). Text that is
// not JSON throws an Error with `line` and `col` and a message saying both.
export function locate(text) {
  let i = 0, line = 1, col = 1;
  const lines = new Map();
  const fail = (what) => {
    const e = new Error(`${what} at line ${line}, column ${col}`);
    e.line = line;
    e.col = col;
    throw e;
  };
  const step = (n = 1) => {
    for (let k = 0; k < n; k++, i++) {
      if (text[i] === '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) step();
  };
  const token = (re, what) => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) fail(what);
    step(m[0].length);
    return m[0];
  };
  const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const string = () => JSON.parse(token(STRING, text[i] === '"' ? 'a string is not closed or holds a bad escape' : 'a string in double quotes is expected'));
  function value(path, depth) {
    if (depth > 200) fail('the JSON nests too deep');
    space();
    if (i >= text.length) fail('the JSON ends early');
    if (!lines.has(path)) lines.set(path, line);
    const c = text[i];
    if (c === '{') {
      step();
      space();
      if (text[i] === '}') return step();
      for (;;) {
        space();
        if (text[i] !== '"') fail('a member name in double quotes is expected');
        const at = line;
        const p = `${path}.${string()}`;
        lines.set(p, at);
        space();
        if (text[i] !== ':') fail('":" is expected after a member name');
        step();
        value(p, depth + 1);
        space();
        if (text[i] === ',') {
          step();
          continue;
        }
        if (text[i] === '}') return step();
        fail('"," or "}" is expected');
      }
    }
    if (c === '[') {
      step();
      space();
      if (text[i] === ']') return step();
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`, depth + 1);
        space();
        if (text[i] === ',') {
          step();
          continue;
        }
        if (text[i] === ']') return step();
        fail('"," or "]" is expected');
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) return token(NUMBER, 'a number is malformed');
    for (const w of ['true', 'false', 'null']) if (text.startsWith(w, i)) return step(w.length);
    return fail(`unexpected ${JSON.stringify(c)}`);
  }
  value('', 0);
  space();
  if (i < text.length) fail('nothing may follow the JSON value');
  return {value: JSON.parse(text), lines};
}

// The line of `path` in `lines` (locate's): the path's own, else that of the longest path
// written that contains it (a member that is missing is marked where its object is).
// {line, at (the path found), exact}.
export function lineOf(lines, path) {
  let best = '';
  for (const p of lines.keys()) {
    if (p.length > best.length && path.startsWith(p) &&
      (p.length === path.length || path[p.length] === '.' || path[p.length] === '[')) best = p;
  }
  return {line: lines.get(best) || 1, at: best, exact: best === path};
}

// A field the API names ("flags.KEY.variants.on") as a path inside the flag (".variants.on"),
// or null when it is not one of the flag's (a bad key: "key").
export function flagPath(field, key) {
  const prefix = `flags.${key}`;
  if (field === prefix) return '';
  if (field && field.startsWith(prefix) && (field[prefix.length] === '.' || field[prefix.length] === '[')) return field.slice(prefix.length);
  return null;
}

// A path as the page names it: "variants.on", "targeting.if[1]", or "the flag" for "".
export const pathName = (p) => (p === '' ? 'the flag' : p.replace(/^\./, ''));

const json = (v) => JSON.stringify(v);
const hasTargeting = (d) => d.targeting !== undefined && d.targeting !== null &&
  !(typeof d.targeting === 'object' && !Array.isArray(d.targeting) && Object.keys(d.targeting).length === 0);
const description = (d) => (d.metadata && typeof d.metadata.description === 'string' ? d.metadata.description : '');
const stamp = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

// The experiment that drives flag `key` (running, promoting, promoted, rolled back), else a
// draft that will, else null; from GET /v1/experiments.
function ownerOf(experiments, key) {
  const on = experiments.filter((e) => (e.flag || e.key) === key);
  return on.find((e) => DRIVES.has(e.state)) || on.find((e) => e.state === 'draft') || null;
}

function ownerText(e) {
  return e ? `${e.key} (${e.state.replace('_', ' ')})` : null;
}

function drivenBlock(e) {
  return e && DRIVES.has(e.state)
    ? `experiment ${e.key} (${e.state.replace('_', ' ')}) drives this flag: the API refuses its changes until the experiment is stopped or terminated`
    : null;
}

// ---- the editor ----------------------------------------------------------------------------

// A labelled JSON editor: a <textarea> with a gutter of line numbers (problem lines marked
// with "▶"), and its problems beside it. `blocked`: the reason it may not be saved (the
// textarea is then read-only, described by the reason).
function jsonEditor({id, label, help, text, rows, blocked}) {
  const helpId = `${id}-help`, whyId = `${id}-why`, listId = `${id}-problems`;
  const ta = h('textarea', {id, class: 'code', spellcheck: 'false', autocomplete: 'off', wrap: 'off',
    rows: rows || Math.min(30, Math.max(8, text.split('\n').length + 1)), readonly: !!blocked,
    'aria-describedby': [helpId, blocked && whyId].filter(Boolean).join(' ')});
  ta.value = text;
  const gutter = h('div', {class: 'gutter', 'aria-hidden': 'true'});
  const problems = h('div', {id: listId, class: 'problems', 'aria-live': 'polite'});
  let marked = new Set();
  let drawn = ''; // the line count and marks the gutter shows: a keystroke that changes neither redraws nothing
  // The unmarked lines' numbers as runs of text (the gutter is white-space: pre), a marked
  // line as its own element: a flag of 100,000 lines is a few nodes, not 100,000.
  const drawGutter = () => {
    let n = 1;
    for (let i = ta.value.indexOf('\n'); i !== -1; i = ta.value.indexOf('\n', i + 1)) n++;
    const now = `${n}:${[...marked].join(',')}`;
    if (now !== drawn) {
      drawn = now;
      const parts = [];
      let run = [];
      for (let k = 1; k <= n; k++) {
        if (!marked.has(k)) {
          run.push(k);
          continue;
        }
        if (run.length) parts.push(run.join('\n'));
        run = [];
        parts.push(h('div', {class: 'bad'}, `▶ ${k}`));
      }
      if (run.length) parts.push(run.join('\n'));
      fill(gutter, parts);
    }
    gutter.scrollTop = ta.scrollTop;
  };
  ta.addEventListener('scroll', () => {
    gutter.scrollTop = ta.scrollTop;
  });
  ta.addEventListener('input', () => {
    marked = new Set(); // the lines marked were the text sent's
    drawGutter();
  });
  drawGutter();
  // puts the caret on line `n` and selects it
  const goTo = (n) => {
    const all = ta.value.split('\n');
    let start = 0;
    for (let k = 0; k < n - 1 && k < all.length; k++) start += all[k].length + 1;
    const lh = parseFloat(getComputedStyle(ta).lineHeight) || 20;
    ta.focus();
    ta.setSelectionRange(start, start + (all[n - 1] || '').length);
    ta.scrollTop = Math.max(0, (n - 3) * lh);
  };
  const ed = {
    el: h('div', {class: 'json-editor'},
      h('label', {for: id}, label), h('p', {class: 'sub', id: helpId}, help),
      h('div', {class: 'editor-wrap'}, gutter, ta), problems),
    textarea: ta,
    clear() {
      marked = new Set();
      drawGutter();
      fill(problems);
      ta.removeAttribute('aria-invalid');
      ta.setAttribute('aria-describedby', [helpId, blocked && whyId].filter(Boolean).join(' '));
    },
    // items [{path (inside the flag, or null), field (as the API named it), message, line (to
    // mark a line that is no path's: where the text stopped being JSON)}] found in
    // `text` (what was sent); kind 'error' (refused) or 'warning' (saved, flagd's schema warns)
    show(items, lines, kind, title) {
      marked = new Set();
      const lis = items.map((p, k) => {
        const where = p.line ? {line: p.line, exact: true} : p.path === null ? null : lineOf(lines, p.path);
        if (where) marked.add(where.line);
        const go = where && h('button', {type: 'button', class: 'link'}, `Go to line ${where.line}`);
        if (go) go.addEventListener('click', () => goTo(where.line));
        return h('li', {'data-path': p.path === null ? null : pathName(p.path), 'data-line': where ? where.line : null,
          id: `${listId}-${k}`},
          where ? h('strong', {class: 'where'}, `Line ${where.line}`) : h('strong', {class: 'where'}, p.field ? `Field ${p.field}` : 'The request'),
          p.path !== null && [' · ', h('code', {class: 'path'}, pathName(p.path))],
          where && !where.exact && h('span', {class: 'sub'}, `${pathName(p.path)} is not written: the line of ${pathName(where.at)} is marked`),
          h('span', {class: 'message'}, `: ${p.message}`), ' ', go);
      });
      fill(problems, h('div', {class: kind === 'error' ? 'error' : 'warning', role: kind === 'error' ? 'alert' : 'status'},
        h('strong', null, title), h('ul', null, lis)));
      drawGutter();
      if (kind === 'error') ta.setAttribute('aria-invalid', 'true');
      else ta.removeAttribute('aria-invalid');
      ta.setAttribute('aria-describedby', [helpId, listId, blocked && whyId].filter(Boolean).join(' '));
    },
    // the text as JSON ({value, lines}), or null with the syntax problem shown at its line
    parse(what) {
      try {
        const r = locate(ta.value);
        if (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value)) {
          ed.show([{path: '', field: '', message: `${what} must be a JSON object`}], r.lines, 'error', 'Nothing was sent.');
          return null;
        }
        return r;
      } catch (e) {
        if (!e.line) throw e;
        ed.show([{path: null, line: e.line, field: '', message: `not JSON: ${e.message}`}], new Map(), 'error', 'Nothing was sent.');
        return null;
      }
    },
    // an API refusal: every problem it lists at its path (of a flag keyed `key`)
    refused(err, lines, key, title) {
      const list = err instanceof ApiError && err.body && Array.isArray(err.body.problems) && err.body.problems.length
        ? err.body.problems : [{field: err.field || '', message: err.message}];
      const items = list.map((p) => ({path: flagPath(p.field, key), field: p.field, message: p.message}));
      ed.show(items, lines, 'error', `${title} ${err instanceof ApiError ? `${err.status} ${err.code}` : ''}`.trim());
    },
  };
  if (blocked) ed.el.append(h('p', {class: 'sub why', id: whyId}, blocked));
  return ed;
}

// ---- the list ------------------------------------------------------------------------------

function listRow(f, owner) {
  const d = f.definition || {};
  const variants = d.variants && typeof d.variants === 'object' ? Object.keys(d.variants) : [];
  const dflt = typeof d.defaultVariant === 'string' ? d.defaultVariant : null;
  const desc = description(d);
  return h('tr', {'data-key': f.key},
    h('th', {scope: 'row'}, h('a', {href: `#/flags/${enc(f.key)}`}, f.key), desc && h('span', {class: 'sub'}, desc)),
    h('td', {class: 'state'}, h('span', {class: `badge ${d.state === 'ENABLED' ? 'ok' : 'muted'}`}, String(d.state))),
    h('td', {class: 'variants'}, variants.join(', '), h('span', {class: 'sub'}, `${int(variants.length)} variant${variants.length === 1 ? '' : 's'}`)),
    h('td', {class: 'default'}, dflt === null ? h('span', {class: 'sub'}, "none (the client's default)") : dflt,
      dflt !== null && d.variants && dflt in d.variants && h('span', {class: 'sub'}, json(d.variants[dflt]))),
    h('td', {class: 'targeting'}, hasTargeting(d) ? 'yes' : 'no',
      h('span', {class: 'sub'}, hasTargeting(d) ? (d.targeting.fractional ? 'a fractional split' : 'rules') : 'everyone gets the default')),
    h('td', {class: 'owner'}, owner
      ? h('a', {href: `#/experiments/${enc(owner.key)}`}, ownerText(owner))
      : h('span', {class: 'sub'}, 'none')));
}

export async function flagsPage(main, ctx) {
  main.append(h('h1', null, 'Flags'));
  const deleted = ctx.query.get('deleted');
  if (deleted) main.append(h('p', {class: 'notice', role: 'status', id: 'notice'}, `Flag ${deleted} was deleted.`));
  const status = h('p', {class: 'lead'}, 'Loading…');
  main.append(status);
  const t0 = performance.now();
  const soft = (p) => api(p).catch((e) => {
    if (e instanceof ApiError && e.status === 401) throw e;
    return e;
  });
  const [got, exps, table] = await Promise.all([api('/v1/flags'), soft('/v1/experiments'), endpointTable()]);
  if (!ctx.current()) return;
  main.dataset.listMs = String(Math.round(performance.now() - t0));
  const flags = got.flags || [];
  const experiments = exps instanceof Error ? [] : exps.experiments || [];
  fill(status, flags.length ? `${int(flags.length)} flags in this workspace.` : 'No flags yet.');
  if (exps instanceof Error) main.append(errorBox(exps, 'The experiments could not be read, so no flag shows the experiment that drives it.'));

  const search = h('input', {type: 'search', id: 'flag-search', name: 'q', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': 'flag-count', 'aria-controls': 'flag-list'});
  search.value = ctx.query.get('q') || '';
  const count = h('p', {id: 'flag-count', 'aria-live': 'polite', class: 'sub'});
  const wrap = h('div', {id: 'flag-list'});
  main.append(h('form', {role: 'search', class: 'flag-search', 'aria-label': 'Flags'},
    h('label', {for: 'flag-search'}, 'Search flags by key or description'), search, count), wrap);
  search.form.addEventListener('submit', (ev) => ev.preventDefault());

  const render = (q, page) => {
    const needle = q.trim().toLowerCase();
    const match = needle
      ? flags.filter((f) => f.key.toLowerCase().includes(needle) || description(f.definition || {}).toLowerCase().includes(needle))
      : flags;
    const pages = Math.max(1, Math.ceil(match.length / PAGE_SIZE));
    if (!(page >= 1 && page <= pages)) page = 1;
    const slice = match.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
    fill(count, needle ? `${int(match.length)} of ${int(flags.length)} flags match "${q.trim()}".` : `${int(flags.length)} flags.`);
    if (!slice.length) {
      fill(wrap, h('p', null, needle ? 'No flag matches.' : 'Create one below, with PUT /v1/flags/KEY, or with switchyard flag.'));
      return;
    }
    const qs = (p) => `#/flags?${needle ? `q=${enc(q.trim())}&` : ''}page=${p}`;
    const link = (p, text, rel) => (p >= 1 && p <= pages
      ? h('a', {href: qs(p), rel}, text) : h('span', {class: 'sub', 'aria-disabled': 'true'}, text));
    fill(wrap, h('table', {id: 'flags'},
      h('caption', null, `Page ${page} of ${pages}: flags ${int((page - 1) * PAGE_SIZE + 1)} to ${int((page - 1) * PAGE_SIZE + slice.length)} of ${int(match.length)}${needle ? ' matching' : ''}`),
      h('thead', null, h('tr', null, ['Flag', 'State', 'Variants', 'Default variant', 'Targeting', 'Driven by experiment']
        .map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, slice.map((f) => listRow(f, ownerOf(experiments, f.key))))),
    pages > 1 && h('nav', {class: 'pager', 'aria-label': 'Flag pages'},
      link(page - 1, '← Previous page', 'prev'), h('span', null, `Page ${page} of ${pages}`), link(page + 1, 'Next page →', 'next')));
  };
  search.addEventListener('input', () => {
    render(search.value, 1);
    const q = search.value.trim();
    // kept in the address (a reload or a link keeps the search) without a navigation
    history.replaceState(null, '', q ? `#/flags?q=${enc(q)}` : '#/flags');
  });
  render(search.value, parseInt(ctx.query.get('page') || '1', 10));
  main.dataset.renderMs = String(Math.round(performance.now() - t0));

  main.append(createSection(main, ctx, table));
  main.dataset.ready = 'flags';
}

const TEMPLATE = {state: 'ENABLED', variants: {on: true, off: false}, defaultVariant: 'off'};

// A new flag: a key and its definition, PUT /v1/flags/KEY once the key is checked to be
// free (PUT replaces a flag that exists: creating must not).
function createSection(main, ctx, table) {
  const why = roleBlock(ctx.who.token.role, table, 'PUT', '/v1/flags/{key}');
  const keyIn = h('input', {type: 'text', id: 'new-key', name: 'key', autocomplete: 'off', spellcheck: 'false',
    readonly: !!why, 'aria-describedby': 'new-key-help'});
  const ed = jsonEditor({id: 'new-json', label: 'Its definition (JSON)', text: JSON.stringify(TEMPLATE, null, 2),
    help: 'A flagd flag: state, variants, defaultVariant, and targeting (JSONLogic) if some get another variant.', blocked: why});
  const btn = h('button', {type: 'button', id: 'new-create', class: 'primary', disabled: !!why,
    'aria-describedby': why ? 'new-json-why' : null}, 'Create the flag');
  const out = h('div', {id: 'new-status', 'aria-live': 'polite'});
  btn.addEventListener('click', async () => {
    ed.clear();
    fill(out);
    const key = keyIn.value;
    if (!key.trim()) {
      fill(out, errorBox('Enter the new flag\'s key.'));
      keyIn.setAttribute('aria-invalid', 'true');
      keyIn.focus();
      return;
    }
    keyIn.removeAttribute('aria-invalid');
    const parsed = ed.parse('A flag');
    if (!parsed) return;
    delete main.dataset.ready;
    fill(out, 'Creating…');
    try {
      const now = await api('/v1/flags');
      if ((now.flags || []).some((f) => f.key === key)) {
        fill(out, errorBox(`A flag "${key}" exists already: open it to change it.`, 'Nothing was created.'),
          h('a', {href: `#/flags/${enc(key)}`}, `Open ${key}`));
        keyIn.setAttribute('aria-invalid', 'true');
        main.dataset.ready = 'flags';
        return;
      }
      await api(`/v1/flags/${enc(key)}`, {method: 'PUT', body: parsed.value});
      location.hash = `#/flags/${enc(key)}?created=1`;
    } catch (e) {
      if (!ctx.current()) return;
      fill(out);
      if (e instanceof ApiError && e.field === 'key') {
        fill(out, errorBox(e, 'The key is refused.'));
        keyIn.setAttribute('aria-invalid', 'true');
      } else {
        ed.refused(e, parsed.lines, key, 'The flag was refused, nothing was created:');
      }
      main.dataset.ready = 'flags';
    }
  });
  return section('create', 'Create a flag',
    h('div', {class: 'field'}, h('label', {for: 'new-key'}, 'Key'), keyIn,
      h('p', {class: 'sub', id: 'new-key-help'}, '1 to 256 bytes, unique in the workspace.')),
    ed.el, h('p', null, btn), out);
}

// ---- one flag --------------------------------------------------------------------------------

function definitionSection(key, d) {
  const variants = d.variants && typeof d.variants === 'object' ? Object.entries(d.variants) : [];
  const dflt = typeof d.defaultVariant === 'string' ? d.defaultVariant : null;
  const md = d.metadata && typeof d.metadata === 'object' ? d.metadata : null;
  return section('definition', 'Definition',
    h('dl', {class: 'facts'},
      h('dt', null, 'State'), h('dd', {id: 'flag-state'}, h('span', {class: `badge ${d.state === 'ENABLED' ? 'ok' : 'muted'}`}, String(d.state)),
        h('span', {class: 'sub'}, d.state === 'DISABLED' ? 'OFREP answers DISABLED with no value: the client\'s default applies' : 'served by its targeting and default')),
      h('dt', null, 'Default variant'), h('dd', {id: 'flag-default'}, dflt === null ? "none (the client's default applies)" : dflt),
      md && [h('dt', null, 'Metadata'), h('dd', {id: 'flag-metadata'}, h('pre', {class: 'json'}, JSON.stringify(md, null, 2)))]),
    h('table', {id: 'variants'},
      h('caption', null, `The ${int(variants.length)} variants of ${key}`),
      h('thead', null, h('tr', null, ['Variant', 'Value (JSON)', 'Default'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', null, variants.map(([k, v]) => h('tr', {'data-variant': k},
        h('th', {scope: 'row'}, k), h('td', {class: 'value'}, h('code', null, json(v))),
        h('td', {class: 'is-default'}, k === dflt ? 'default' : '—'))))),
    h('h3', null, 'Targeting'),
    hasTargeting(d)
      ? h('pre', {class: 'json', id: 'flag-targeting', tabindex: '0', 'aria-label': 'Targeting, as JSON'}, JSON.stringify(d.targeting, null, 2))
      : h('p', {id: 'flag-targeting', class: 'sub'}, 'None: every evaluation gets the default variant (reason STATIC).'));
}

function evaluateSection(key, ctx, table, owner) {
  const why = roleBlock(ctx.who.token.role, table, 'POST', '/ofrep/v1/evaluate/flags/{key}');
  // an experiment that records OFREP exposures counts this evaluation as one of its units'
  const records = owner && DRIVES.has(owner.state) && owner.record_exposures;
  const ta = h('textarea', {id: 'eval-context', class: 'code', rows: 6, spellcheck: 'false', autocomplete: 'off',
    'aria-describedby': 'eval-help'});
  ta.value = JSON.stringify({targetingKey: 'user-1'}, null, 2);
  const btn = h('button', {type: 'button', id: 'eval-run', disabled: !!why, 'aria-describedby': why ? 'eval-why' : null}, 'Evaluate');
  const out = h('div', {id: 'eval-result', 'aria-live': 'polite'});
  const row = (label, id, v) => [h('dt', null, label), h('dd', {id}, v)];
  let asked = 0; // answers shown (data-n: a test waits for the next one)
  btn.addEventListener('click', async () => {
    let parsed;
    try {
      parsed = locate(ta.value).value;
    } catch (e) {
      ta.setAttribute('aria-invalid', 'true');
      fill(out, errorBox(`The context is not JSON: ${e.message}.`, 'Nothing was sent.'));
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      ta.setAttribute('aria-invalid', 'true');
      fill(out, errorBox('The context must be a JSON object: {"targetingKey": "user-1", "country": "DE"}.', 'Nothing was sent.'));
      return;
    }
    ta.removeAttribute('aria-invalid');
    if (records && !(await confirmDialog(`Evaluate ${key} and record an exposure?`,
      `experiment ${owner.key} records OFREP exposures: this evaluation counts targetingKey ${JSON.stringify(parsed.targetingKey === undefined ? null : parsed.targetingKey)} as a unit of the variant it gets, in its results`, 'Evaluate'))) {
      btn.focus();
      return;
    }
    fill(out, 'Evaluating…');
    let r;
    try {
      r = await api(`/ofrep/v1/evaluate/flags/${enc(key)}`, {method: 'POST', body: {context: parsed}});
    } catch (e) {
      // OFREP's own error shape ({key, errorCode, errorDetails}) is an answer to show
      if (!(e instanceof ApiError && e.body && e.body.errorCode)) {
        fill(out, errorBox(e, 'The evaluation failed.'));
        return;
      }
      r = e.body;
    }
    fill(out, h('dl', {class: 'facts', id: 'eval-answer'},
      row('Value', 'eval-value', 'value' in r ? h('code', null, json(r.value)) : "none (the client's default applies)"),
      row('Variant', 'eval-variant', 'variant' in r ? r.variant : 'none'),
      row('Reason', 'eval-reason', r.reason || 'none (an error)'),
      row('Error code', 'eval-error', r.errorCode ? [r.errorCode, r.errorDetails && h('span', {class: 'sub'}, r.errorDetails)] : 'none')));
    out.dataset.n = String(++asked);
  });
  return section('evaluate', 'Evaluate with this context',
    h('label', {for: 'eval-context'}, 'Evaluation context (JSON)'),
    h('p', {class: 'sub', id: 'eval-help'}, 'As an OpenFeature SDK sends it: targetingKey and the attributes the targeting reads. ',
      'Evaluated over OFREP with your token (POST ', h('code', null, `/ofrep/v1/evaluate/flags/${key}`), '), as an application would be answered.'),
    records && h('p', {class: 'warn-note', id: 'eval-records'}, `Experiment ${owner.key} records OFREP exposures: an evaluation here counts its targetingKey as a unit in the results (the button asks first).`),
    ta, h('p', null, btn, why && h('span', {class: 'sub why', id: 'eval-why'}, why)), out);
}

function auditSection(audit) {
  if (audit instanceof Error) return section('flag-audit', 'Audit entries', errorBox(audit, 'The audit trail could not be read.'));
  const ev = audit.events || [];
  return section('flag-audit', 'Audit entries',
    ev.length ? h('ul', {id: 'flag-audit-list', class: 'plain'}, ev.map((x) => h('li', null,
      h('span', {class: 'nowrap'}, stamp(x.at_ms)), ' ', h('strong', null, x.action), ` by ${x.actor || '—'}`)))
      : h('p', {class: 'sub'}, 'No audit entry.'),
    audit.next_cursor !== undefined && h('p', {class: 'sub'}, 'The newest 20 are shown; GET /v1/audit has the rest.'));
}

export async function flagPage(main, ctx, key, notice, warnings) {
  const soft = (p) => api(p).catch((e) => {
    if (e instanceof ApiError && e.status === 401) throw e;
    return e;
  });
  const [f, exps, audit, table] = await Promise.all([api(`/v1/flags/${enc(key)}`), soft('/v1/experiments'),
    soft(`/v1/audit?resource=${enc(`flag:${key}`)}&limit=20`), endpointTable()]);
  if (!ctx.current()) return;
  const d = f.definition || {};
  const owner = exps instanceof Error ? null : ownerOf(exps.experiments || [], key);
  const driven = drivenBlock(owner);
  const role = ctx.who.token.role;
  const reload = async (msg, warn) => {
    if (!ctx.current()) return;
    delete main.dataset.ready;
    try {
      fill(main);
      await flagPage(main, ctx, key, msg, warn);
    } catch (err) {
      if (!ctx.current()) return;
      main.append(errorBox(err, 'The flag could not be read again.'));
      main.dataset.ready = 'error';
    }
  };
  if (!notice && ctx.query.get('created')) notice = `Flag ${key} was created.`;

  // the editor
  const saveWhy = roleBlock(role, table, 'PUT', '/v1/flags/{key}') || driven;
  const text = JSON.stringify(d, null, 2);
  const ed = jsonEditor({id: 'flag-json', label: 'Flag definition (JSON)', text, blocked: saveWhy,
    help: 'The flagd flag as stored. Saving sends it whole (PUT /v1/flags/KEY); the server checks it as flagd loads it, and a refusal changes nothing.'});
  const save = h('button', {type: 'button', id: 'flag-save', class: 'primary', disabled: !!saveWhy,
    'aria-describedby': saveWhy ? 'flag-json-why' : null}, 'Save');
  const reset = h('button', {type: 'button', id: 'flag-reset', disabled: !!saveWhy,
    'aria-describedby': saveWhy ? 'flag-json-why' : null}, 'Discard changes');
  const out = h('div', {id: 'save-status', 'aria-live': 'polite'});
  reset.addEventListener('click', () => {
    ed.textarea.value = text;
    ed.clear();
    fill(out);
  });
  save.addEventListener('click', async () => {
    ed.clear();
    fill(out);
    const parsed = ed.parse('A flag');
    if (!parsed) {
      ed.textarea.focus();
      return;
    }
    delete main.dataset.ready;
    fill(out, 'Saving…');
    try {
      const r = await api(`/v1/flags/${enc(key)}`, {method: 'PUT', body: parsed.value});
      await reload(`Saved ${key}.`, r.warnings || []);
    } catch (e) {
      if (!ctx.current()) return;
      fill(out);
      if (e instanceof ApiError && e.status === 400) ed.refused(e, parsed.lines, key, 'Not saved, nothing changed:');
      else fill(out, errorBox(e, 'Not saved.'));
      main.dataset.ready = 'flag';
    }
  });
  // a save's warnings (stored and served; flagd's schema would warn), at their paths in the text shown
  if (warnings && warnings.length) {
    ed.show(warnings.map((w) => ({path: flagPath(w.field, key), field: w.field, message: w.message})),
      locate(text).lines, 'warning', 'Saved with warnings (flagd loads it, but its schema objects):');
  }

  const delStatus = h('div', {id: 'delete-status', 'aria-live': 'polite'});
  const del = actionItem({id: 'delete', label: 'Delete the flag', method: 'DELETE', path: `/v1/flags/${enc(key)}`,
    tpl: '/v1/flags/{key}', blocked: driven, title: `Delete ${key}?`,
    change: `flag ${key} is deleted: OFREP answers FLAG_NOT_FOUND for it, and applications fall back to their own defaults; the audit trail keeps its last definition`},
  {role, endpoints: table, status: delStatus, ready: 'flag', done: async () => {
    location.hash = `#/flags?deleted=${enc(key)}`;
  }});

  fill(main,
    h('h1', null, `Flag: ${key}`),
    description(d) && h('p', {class: 'lead'}, description(d)),
    notice && h('p', {class: 'notice', role: 'status', tabindex: '-1', id: 'notice'}, notice),
    h('p', {id: 'flag-owner'}, owner
      ? ['Driven by experiment ', h('a', {href: `#/experiments/${enc(owner.key)}`}, owner.key),
        ` (${owner.state.replace('_', ' ')})`, DRIVES.has(owner.state) ? '.' : ': a draft; starting it will replace the targeting by its split.']
      : h('span', {class: 'sub'}, 'No experiment drives this flag.')),
    exps instanceof Error && errorBox(exps, 'The experiments could not be read: whether one drives this flag is not known.'),
    definitionSection(key, d),
    section('edit', 'Edit', ed.el, h('p', {class: 'buttons'}, save, ' ', reset), out),
    evaluateSection(key, ctx, table, owner),
    section('delete', 'Delete', h('ul', {class: 'actions'}, del), delStatus),
    auditSection(audit));
  if (notice) document.getElementById('notice').focus();
  main.dataset.ready = 'flag';
}
