// actions.js - what every page's actions share: whether the signed-in token's role may
// call an endpoint (the table GET /v1 gives), a modal confirmation that says what will
// change, and an action item: a button, disabled with the reason in words when the role
// or the page's own rule forbids it, that asks first, calls the API and says what the
// server answered.
import {api, errorBox} from './api.js';
import {h, fill} from './dom.js';

const RANK = {sdk: 0, viewer: 1, editor: 2, admin: 3}; // sdk: evaluate (OFREP) and send events

// May a token of role `mine` call an endpoint that needs `need` (GET /v1's table)?
export function roleAllows(mine, need) {
  if (!need) return false;
  if (need === mine) return true;
  return RANK[mine] !== undefined && RANK[need] !== undefined && RANK[mine] >= RANK[need];
}

// GET /v1's endpoint table ([{method, path, role}]), read once per page load; [] when it
// cannot be read (every action is then disabled, saying so).
let table = null;
export function endpoints() {
  if (!table) table = api('/v1').then((t) => t.endpoints || [], () => { table = null; return []; });
  return table;
}

// The role the table names for `method` on the path template `tpl` (`/v1/routes/{name}`).
export function roleNeeded(list, method, tpl) {
  const x = list.find((ep) => ep.method === method && ep.path === tpl);
  return x ? x.role : null;
}

// Why a token of `role` may not call it, or null.
export function roleBlock(role, list, method, tpl) {
  const need = roleNeeded(list, method, tpl);
  return roleAllows(role, need) ? null : `your token's role (${role}) may not: it needs ${need || 'a role the API does not list'}`;
}

export function section(id, title, ...children) {
  return h('section', {id, 'aria-labelledby': `${id}-h`}, h('h2', {id: `${id}-h`}, title), ...children);
}

// A modal dialog: labelled by its title, focus kept inside by the browser (showModal), Esc
// closes it (the dialog's own cancel). `extra` (optional) is more content, such as a
// reason field, placed before the buttons. Resolves true on confirm.
export function confirmDialog(title, change, confirmText, extra) {
  return new Promise((resolve) => {
    const id = `dlg-${Date.now()}`;
    const ok = h('button', {type: 'button', class: 'primary', id: 'dialog-confirm'}, confirmText);
    const cancel = h('button', {type: 'button', id: 'dialog-cancel'}, 'Cancel');
    const dlg = h('dialog', {'aria-labelledby': `${id}-t`, 'aria-describedby': `${id}-d`, id: 'confirm'},
      h('h2', {id: `${id}-t`}, title), h('p', {id: `${id}-d`, class: 'change'}, change), extra,
      h('div', {class: 'buttons'}, cancel, ok));
    const done = (v) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      done(false);
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

// One action as a list item (data-action=id, its button #act-ID, the reason .why):
//   a = {id, label, method, path, tpl (GET /v1's template for path), body (a value, or a
//        function called after the confirmation), blocked (a reason, or falsy), change
//        (what the dialog says will change), extra (optional dialog content), title,
//        danger (styled as a destructive action), and optionally:
//        prepare() -> {error, focus} (shown, nothing sent) or {change, body}: a form's
//          values read and checked before the dialog (they replace change and body);
//        said(answer) -> the notice once done (default "LABEL: done.");
//        partly(err) -> a notice when the refusal means done in part (the page is shown
//          again as it is now), else falsy}
//   opts = {role, endpoints, status (the element that says what happened), ready (the
//           page's data-ready name), done (async (notice) => the page shown again)}
export function actionItem(a, {role, endpoints: list, status, ready, done}) {
  const why = roleBlock(role, list, a.method, a.tpl) || a.blocked;
  const reasonId = `why-${a.id}`;
  const btn = h('button', {type: 'button', id: `act-${a.id}`, disabled: !!why, class: a.danger ? 'danger' : null,
    'aria-describedby': why ? reasonId : null}, a.label);
  btn.addEventListener('click', async () => {
    const p = a.prepare ? a.prepare() : {change: a.change, body: a.body};
    if (p.error) {
      fill(status, errorBox(p.error, `${a.label}: nothing was sent.`));
      (p.focus || btn).focus();
      return;
    }
    if (!(await confirmDialog(a.title || `${a.label}?`, p.change || 'the server decides what changes', a.label, a.extra))) {
      btn.focus();
      return;
    }
    fill(status, `${a.label}…`);
    const main = document.getElementById('main');
    delete main.dataset.ready; // not ready until the page shows what the action did
    try {
      const answer = await api(a.path, {method: a.method, body: typeof p.body === 'function' ? p.body() : p.body});
      await done(a.said ? a.said(answer) : `${a.label}: done.`);
    } catch (err) {
      const part = a.partly && a.partly(err);
      if (part) {
        await done(part);
        return;
      }
      fill(status, errorBox(err, `${a.label} was refused.`));
      main.dataset.ready = ready;
      btn.focus();
    }
  });
  return h('li', {'data-action': a.id}, btn, why && h('span', {class: 'sub why', id: reasonId}, why));
}
