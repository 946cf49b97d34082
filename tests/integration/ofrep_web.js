// ofrep_web.js - the OpenFeature web SDK (@openfeature/web-sdk with
// @openfeature/ofrep-web-provider) run as a page on ORIGIN would run it, against a switchyard
// server on another origin; prints TAP for ofrep_web.sh.
//
//   node ofrep_web.js URL SDK_TOKEN ADMIN_TOKEN ORIGIN OTHER_ORIGIN
//
// Node is not a browser, so the page's two network doors are replaced before the SDK loads:
// - globalThis.fetch by browserFetch below, which keeps the CORS rules a browser enforces on
//   a cross-origin fetch from ORIGIN: every request carries `Origin`; a request that is not
//   simple (a method other than GET/HEAD/POST, or a header outside the CORS-safelisted ones:
//   Authorization, Content-Type: application/json, If-None-Match) is preceded by an OPTIONS
//   preflight and not sent unless the preflight is 2xx, allows this origin, the method and
//   every such header; an answer without a matching Access-Control-Allow-Origin is a network
//   error (TypeError), as the page would see; and the SDK sees only the CORS-safelisted
//   response headers and those in Access-Control-Expose-Headers (ETag only if exposed). The
//   preflight is not cached (Max-Age ignored): a browser with its cache disabled.
// - globalThis.EventSource, which node 20 lacks, by the `eventsource` package's (the WHATWG
//   EventSource over fetch): it fetches through browserFetch, so the event stream is a CORS
//   request too. Subclassed only to record what each stream saw.
// The provider runs with cacheMode 'disabled': its default caches in localStorage, which node
// lacks; a page's first load has an empty cache anyway, so nothing differs but that.
'use strict';
const { check, finish, sleep } = require('./wire.js');

const [url, sdkToken, adminToken, origin, otherOrigin] = process.argv.slice(2);
const rawFetch = globalThis.fetch;

// What browserFetch saw, one entry per request: {origin, method, path, preflight, inm,
// status, blocked}. `preflight` is the OPTIONS answer's status, `blocked` why the page got a
// TypeError instead of an answer.
const log = [];

const SIMPLE_METHODS = ['GET', 'HEAD', 'POST'];
const SIMPLE_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];
const SAFE_RESPONSE = ['cache-control', 'content-language', 'content-length', 'content-type',
    'expires', 'last-modified', 'pragma'];

// Whether a request header may be sent without a preflight (Fetch: CORS-safelisted).
function safelisted(name, value) {
    if (name === 'accept' || name === 'accept-language' || name === 'content-language')
        return true;
    if (name === 'content-type')
        return SIMPLE_TYPES.includes(value.split(';')[0].trim().toLowerCase());
    return false;
}

const list = (h) => (h || '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);

// Whether an answer's Access-Control-Allow-Origin lets `from` read it (no credentials: the
// token is a header, not a cookie, so `*` would do too).
const allows = (res, from) => {
    const acao = res.headers.get('access-control-allow-origin');
    return acao === from || acao === '*';
};

// fetch() as a page on `from` has it (see the header).
function browserFetch(from) {
    return async (input, init) => {
        const req = new Request(input, init);
        const u = new URL(req.url);
        const entry = { origin: from, method: req.method, path: u.pathname, preflight: null,
            inm: req.headers.get('if-none-match'), status: null, blocked: null };
        log.push(entry);
        const block = (why) => {
            entry.blocked = why;
            throw new TypeError(`Failed to fetch (CORS: ${why})`);
        };
        const unsafe = [...req.headers].filter(([k, v]) => !safelisted(k, v)).map(([k]) => k)
            .sort();
        if (u.origin !== from && (!SIMPLE_METHODS.includes(req.method) || unsafe.length)) {
            const pre = { Origin: from, 'Access-Control-Request-Method': req.method };
            if (unsafe.length)
                pre['Access-Control-Request-Headers'] = unsafe.join(',');
            const p = await rawFetch(req.url,
                { method: 'OPTIONS', headers: pre, signal: req.signal });
            await p.arrayBuffer();
            entry.preflight = p.status;
            if (p.status < 200 || p.status > 299)
                block(`preflight answered ${p.status}`);
            if (!allows(p, from))
                block('preflight without a matching Access-Control-Allow-Origin');
            const methods = list(p.headers.get('access-control-allow-methods'));
            const method = req.method.toLowerCase();
            if (!SIMPLE_METHODS.includes(req.method) && !methods.includes(method) &&
                !methods.includes('*'))
                block(`preflight does not allow ${req.method}`);
            const headers = list(p.headers.get('access-control-allow-headers'));
            for (const h of unsafe)
                if (!headers.includes(h) && !(headers.includes('*') && h !== 'authorization'))
                    block(`preflight does not allow the header ${h}`);
        }
        const headers = new Headers(req.headers);
        headers.set('Origin', from);
        const body = ['GET', 'HEAD'].includes(req.method) ? undefined : await req.arrayBuffer();
        const res = await rawFetch(req.url,
            { method: req.method, headers, body, signal: req.signal });
        entry.status = res.status;
        if (u.origin !== from && !allows(res, from)) {
            await res.arrayBuffer();
            block(`answer ${res.status} without a matching Access-Control-Allow-Origin`);
        }
        const expose = list(res.headers.get('access-control-expose-headers'));
        const exposed = SAFE_RESPONSE.concat(expose);
        const seen = new Headers();
        for (const [k, v] of res.headers)
            if (exposed.includes(k) || exposed.includes('*'))
                seen.append(k, v);
        const nobody = [101, 204, 205, 304].includes(res.status);
        return new Response(nobody ? null : res.body,
            { status: res.status, statusText: res.statusText, headers: seen });
    };
}

// Both doors replaced before the SDK is loaded (the OFREP client binds fetch when made).
globalThis.fetch = browserFetch(origin);
const { EventSource: WhatwgEventSource } = require('eventsource');
const streams = []; // every EventSource the page opened: {url, opens, messages, errors}
globalThis.EventSource = class extends WhatwgEventSource {
    constructor(u, init) {
        super(u, init);
        const s = { url: String(u), opens: 0, messages: [], errors: 0 };
        streams.push(s);
        this.addEventListener('open', () => s.opens++);
        this.addEventListener('message', (e) => s.messages.push(e.data));
        this.addEventListener('error', () => s.errors++);
    }
};
const { OpenFeature, ProviderEvents } = require('@openfeature/web-sdk');
const { OFREPWebProvider } = require('@openfeature/ofrep-web-provider');

// Polls `cond` every 20 ms for at most `ms`; its last value.
async function until(cond, ms) {
    const t0 = Date.now();
    while (!cond() && Date.now() - t0 < ms)
        await sleep(20);
    return cond();
}

const provider = (token) => new OFREPWebProvider({
    baseUrl: url, headers: [['Authorization', `Bearer ${token}`]], cacheMode: 'disabled',
});

async function main() {
    const context = { targetingKey: 'user-1', color: 'blue', age: 30 };
    await OpenFeature.setContext(context);
    const changes = [];
    OpenFeature.addHandler(ProviderEvents.ConfigurationChanged, (d) => changes.push(d));
    let initError = null;
    await OpenFeature.setProviderAndWait(provider(sdkToken)).catch((e) => { initError = e; });
    const client = OpenFeature.getClient();
    const bulk = log.filter((e) => e.path === '/ofrep/v1/evaluate/flags');
    check(`the SDK's bulk evaluation from ${origin} is preflighted (204) and answered (200)`,
        !initError && bulk.length >= 1 && bulk[0].preflight === 204 && bulk[0].status === 200 &&
        !bulk[0].blocked, { initError: String(initError), log });

    const b = client.getBooleanDetails('bool-flag', false);
    const s = client.getStringDetails('string-flag', '?');
    const i = client.getNumberDetails('int-flag', -1);
    check('the SDK evaluates from the page: bool-flag true (on), string-flag #00f (blue), ' +
        'int-flag 1000 (big)',
        b.value === true && b.variant === 'on' && s.value === '#00f' && s.variant === 'blue' &&
        i.value === 1000 && i.variant === 'big', { b, s, i });

    // The stream the answer advertised, opened by the provider itself (through browserFetch).
    const streamsSeen = await until(() => streams.some((x) => x.opens > 0), 5000);
    const sse = log.find((e) => e.path.startsWith('/ofrep/v1/events/'));
    check('the provider opens the advertised event stream as a CORS GET, no preflight',
        streamsSeen && sse && sse.status === 200 && sse.preflight === null && !sse.blocked &&
        streams[0].url.startsWith(`${url}/ofrep/v1/events/`), { streams, log });

    // A change over the API (an admin tool, not the page) must reach the page by the stream.
    const before = log.length;
    const t0 = Date.now();
    const put = await rawFetch(`${url}/v1/flags/bool-flag`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(
            { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' }),
    });
    check('PUT /v1/flags/bool-flag with the admin token', put.status === 200, put.status);
    const changed = await until(
        () => changes.some((c) => (c.flagsChanged || []).includes('bool-flag')), 10000);
    const ms = Date.now() - t0;
    check(`the change reaches the SDK over SSE within 10 s (${ms} ms): a refetchEvaluation ` +
        'event, then a ConfigurationChanged naming bool-flag',
        changed && streams[0].messages.some((m) => JSON.parse(m).type === 'refetchEvaluation'),
        { changes, streams });
    const b2 = client.getBooleanDetails('bool-flag', true);
    check("the SDK's next evaluation has the new value: bool-flag false (off)",
        b2.value === false && b2.variant === 'off', b2);
    // The refetch sent back the first answer's ETag: the SDK could read it, so it is exposed.
    const refetch = log.slice(before).find((e) => e.path === '/ofrep/v1/evaluate/flags');
    check('the refetch carries If-None-Match with the exposed ETag, preflighted and answered 200',
        refetch && refetch.inm && /^"[0-9]+-[0-9]+-[0-9a-f]{16}"$/.test(refetch.inm) &&
        refetch.preflight === 204 && refetch.status === 200, log.slice(before));
    await OpenFeature.close();

    // The same page served from an origin not on the list gets nothing: the preflight is
    // refused, so the SDK never reaches the flags and serves the caller's defaults.
    globalThis.fetch = browserFetch(otherOrigin);
    const mark = log.length;
    let otherError = null;
    await OpenFeature.setProviderAndWait('other', provider(sdkToken))
        .catch((e) => { otherError = e; });
    const other = OpenFeature.getClient('other').getBooleanDetails('bool-flag', true);
    const tried = log.slice(mark).find((e) => e.path === '/ofrep/v1/evaluate/flags');
    check(`from ${otherOrigin} the preflight is refused (403) and the SDK serves the default`,
        tried && tried.preflight === 403 && tried.status === null && other.value === true &&
        other.errorCode !== undefined, { otherError: String(otherError), other, tried });
    // A simple GET needs no preflight; its answer is sent but the page may not read it.
    let simple = null;
    await fetch(`${url}/healthz`).catch((e) => { simple = e; });
    const h = log[log.length - 1];
    check(`from ${otherOrigin} a simple GET is answered (200) without ` +
        'Access-Control-Allow-Origin, so the page gets a TypeError',
        simple instanceof TypeError && h.status === 200 && h.blocked,
        { simple: String(simple), h });
    await OpenFeature.close();
}

setTimeout(() => {
    check('ofrep_web.js finishes within 40 s', false, { log, streams });
    finish();
}, 40000).unref();
main().then(finish, (e) => {
    check('ofrep_web.js runs to the end', false, e && e.stack);
    finish();
});
