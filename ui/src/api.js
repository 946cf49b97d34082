// api.js - the one way the console talks to the server: the /v1 API with the signed-in
// token as `Authorization: Bearer` (kept in sessionStorage: gone with the tab, never a
// cookie, so no request is made on anyone's behalf but the page's own).
import {h} from './dom.js';

const KEY = 'switchyard.token';

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(t) {
  sessionStorage.setItem(KEY, t);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}

// An answer that is not 2xx: the API's {"error": {code, message, field}}, or what the
// network said (status 0).
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || '';
  }

  // "401 unauthorized: unknown token" (and " (field: x)" when one is named)
  describe() {
    const where = this.field ? ` (field: ${this.field})` : '';
    return this.status ? `${this.status} ${this.code}: ${this.message}${where}` : this.message;
  }
}

// GET (or `method`) `path` with the token (or `as`, a token being tried); the parsed JSON
// answer, or an ApiError.
export async function api(path, {method = 'GET', body, as} = {}) {
  const headers = {Accept: 'application/json'};
  const t = as || token();
  if (t) headers.Authorization = `Bearer ${t}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, credentials: 'omit', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'network', `the server cannot be reached (${e.message})`, '');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    if (res.ok) throw new ApiError(res.status, 'bad_answer', 'the server answered something that is not JSON', '');
  }
  if (!res.ok) {
    const e = data && data.error;
    const err = new ApiError(res.status, (e && e.code) || `http_${res.status}`,
      (e && e.message) || res.statusText || 'the request failed', e && e.field);
    err.body = data; // the whole answer: a flag's `problems`, OFREP's {errorCode, errorDetails}
    throw err;
  }
  return data;
}

// Runs `fn` over `items` with at most `n` at a time; the results in order (an item whose
// call threw gets its error).
export async function eachLimited(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        out[i] = e;
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(n, items.length)}, worker));
  return out;
}

// An error as a page shows it: what the API said (status, code, message, field), in an
// alert that screen readers announce.
export function errorBox(err, title) {
  const text = err instanceof ApiError ? err.describe() : String((err && err.message) || err);
  return h('div', {class: 'error', role: 'alert'}, title && h('strong', null, title), text);
}
