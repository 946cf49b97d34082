// app.js - the console's shell: sign-in with a token, who is signed in, the sections'
// navigation and the hash router (#/experiments, #/experiments/KEY, #/routes,
// #/tripwires, #/flags, #/audit). Every page is a function (main, ctx) that fills `main`
// from the /v1 API and sets main.dataset.ready to its name once it shows what it has.
import {api, token, setToken, clearToken, ApiError, errorBox} from './api.js';
import {h, fill} from './dom.js';
import {experimentsPage} from './experiments.js';

const SECTIONS = [
  ['experiments', 'Experiments'], ['routes', 'Routes'], ['tripwires', 'Tripwires'],
  ['flags', 'Flags'], ['audit', 'Audit'],
];

const ROUTES = [
  [/^\/experiments$/, (main, ctx) => experimentsPage(main, ctx)],
  // a key that names no experiment is the API's 404, said in the page
  // (its module is loaded when first asked for: the list's first render does not wait for it)
  [/^\/experiments\/([^/]+)$/, async (main, ctx, key) => (await import('./detail.js')).detailPage(main, ctx, key)],
  [/^\/routes$/, async (main, ctx) => (await import('./routes.js')).routesPage(main, ctx)],
  [/^\/routes\/([^/]+)$/, async (main, ctx, name) => (await import('./routes.js')).routePage(main, ctx, name)],
  [/^\/tripwires$/, async (main, ctx) => (await import('./tripwires.js')).tripwiresPage(main, ctx)],
  // the flags page and a flag (flags.js, loaded when first asked for)
  [/^\/flags$/, async (main, ctx) => (await import('./flags.js')).flagsPage(main, ctx)],
  [/^\/flags\/([^/]+)$/, async (main, ctx, key) => (await import('./flags.js')).flagPage(main, ctx, key)],
  // the audit trail, and the notifications' channels and deliveries (loaded when first asked for)
  [/^\/audit$/, async (main, ctx) => (await import('./audit.js')).auditPage(main, ctx)],
  [/^\/audit\/notifications$/, async (main, ctx) => (await import('./notifications.js')).notificationsPage(main, ctx)],
];

let who = null; // GET /v1/whoami's answer for the signed-in token
let shown = 0;  // the navigation being rendered: a page from an older one is dropped

const $ = (id) => document.getElementById(id);

function signInView(message) {
  $('nav').hidden = true;
  $('who').hidden = true;
  const input = h('input', {id: 'token', name: 'token', type: 'password', autocomplete: 'off',
    spellcheck: 'false', required: true, 'aria-describedby': 'token-help'});
  const status = h('div', {id: 'signin-status', 'aria-live': 'polite'});
  if (message) status.append(message);
  const form = h('form', {class: 'signin', 'aria-labelledby': 'signin-title', novalidate: true},
    h('h1', {id: 'signin-title'}, 'Sign in'),
    h('div', {class: 'field'},
      h('label', {for: 'token'}, 'API token'), input,
      h('p', {id: 'token-help'}, 'A token of this server (',
        h('code', null, 'switchyard token create'), ' or ', h('code', null, 'POST /v1/tokens'),
        '). It stays in this tab only and is sent with each request; signing out forgets it.')),
    status,
    h('button', {type: 'submit', class: 'primary'}, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = input.value.trim();
    if (!t) {
      fill(status, errorBox('Enter a token.'));
      input.focus();
      return;
    }
    fill(status, 'Checking the token…');
    try {
      who = await api('/v1/whoami', {as: t});
    } catch (e) {
      fill(status, errorBox(e, e.status === 401 ? 'This token is not accepted.' : 'Sign-in failed.'));
      input.focus();
      return;
    }
    setToken(t);
    showShell();
    if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/experiments'; // routes on hashchange
    else route();
  });
  fill($('main'), form);
  $('main').dataset.ready = 'signin';
  input.focus();
}

function showShell() {
  const nav = $('nav');
  fill(nav, h('ul', null, SECTIONS.map(([k, label]) => h('li', null, h('a', {href: `#/${k}`, 'data-section': k}, label)))));
  nav.hidden = false;
  const out = h('button', {type: 'button', id: 'signout'}, 'Sign out');
  out.addEventListener('click', () => {
    clearToken();
    who = null;
    history.replaceState(null, '', location.pathname);
    signInView('Signed out.');
  });
  fill($('who'),
    h('span', null, 'Workspace ', h('strong', {id: 'who-workspace'}, who.workspace.name)),
    h('span', null, 'Token ', h('strong', {id: 'who-name'}, who.token.name)),
    h('span', {class: 'badge info', id: 'who-role', title: 'what this token may do'}, `role: ${who.token.role}`),
    out);
  $('who').hidden = false;
}

async function route() {
  if (!who) return;
  const hash = location.hash.replace(/^#/, '') || '/experiments';
  const [path, query] = hash.split('?');
  const main = $('main');
  const n = ++shown;
  delete main.dataset.ready;
  main.dataset.route = location.hash; // the page being shown (ready names it once it shows)
  const section = path.split('/')[1];
  for (const a of $('nav').querySelectorAll('a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  fill(main);
  const ctx = {who, query: new URLSearchParams(query || ''), current: () => n === shown};
  for (const [re, render] of ROUTES) {
    const m = path.match(re);
    if (!m) continue;
    document.title = `${SECTIONS.find(([k]) => k === section)?.[1] || 'Console'} · switchyard`;
    const args = m.slice(1).map(decodeURIComponent);
    // "." and ".." are dot segments: a browser removes them from an API path
    // (/v1/flags/./x is /v1/flags/x), so such a key would read another resource
    if (args.some((a) => a === '.' || a === '..')) {
      main.append(errorBox(`"${args.find((a) => a === '.' || a === '..')}" cannot be read through a URL path: a browser removes it as a dot segment. Use the API with a client that keeps the path as written (curl --path-as-is).`,
        'This page cannot be shown.'));
      main.dataset.ready = 'error';
      return;
    }
    try {
      await render(main, ctx, ...args);
    } catch (e) {
      if (!ctx.current()) return;
      if (e instanceof ApiError && e.status === 401) {
        clearToken();
        who = null;
        signInView(errorBox(e, 'The token is no longer accepted; sign in again.'));
        return;
      }
      main.append(errorBox(e, 'This page could not be loaded.'));
      main.dataset.ready = 'error';
    }
    return;
  }
  main.append(h('h1', null, 'No such page'), h('p', null, `The console has no page "${path}". `,
    h('a', {href: '#/experiments'}, 'Go to the experiments.')));
  main.dataset.ready = 'none';
}

async function start() {
  window.addEventListener('hashchange', () => {
    route();
    $('main').focus();
  });
  const t = token();
  if (!t) {
    signInView();
    return;
  }
  try {
    who = await api('/v1/whoami');
  } catch (e) {
    if (e.status === 401) clearToken();
    signInView(errorBox(e, e.status === 401 ? 'The saved token is no longer accepted.' : 'The server did not answer.'));
    return;
  }
  showShell();
  route();
}

start();
