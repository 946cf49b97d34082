// console_lib.js - what the console's browser tests share (console.js and each page's
// console_*.js): Debian's chromium through playwright-core, every console error, page
// error and CSP violation collected, axe-core run in the page, screenshots, sign-in, and
// the /v1 API from node for the expected values.
//
//   const c = await require('./console_lib.js').open(URL, OUT_DIR);
//   ... c.page, c.api(path, token, {method, body}), c.check(name, cond, detail),
//       c.ready(name), c.at(hash, name), c.go(hash, name), c.signIn(token), c.shot(name), c.axe(name), c.allow(/re/) ...
//   await c.close();   // checks no CSP violation and no console error, then exits (TAP plan)
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');
const { check, finish } = require('./wire.js');

const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

async function open(url, out) {
    const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    // Every console error and page error, and every CSP violation the document reports.
    const errors = [];
    let allowed = null; // the one error the browser logs itself while a refusal is tested
    page.on('console', (m) => {
        if (m.type() !== 'error') return;
        if (allowed && allowed.test(m.text())) return;
        errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    await context.addInitScript(() => {
        window.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) =>
            window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const csp = [];
    const c = {
        url, out, browser, context, page, check,
        // the /v1 API from node: {status, body}
        api: async (p, token, opts = {}) => {
            const res = await fetch(url + p, {
                method: opts.method || 'GET',
                headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
                body: opts.body ? JSON.stringify(opts.body) : undefined,
            });
            const text = await res.text();
            return { status: res.status, body: text ? JSON.parse(text) : null };
        },
        // the page has shown `name` (main's data-ready)
        ready: (name, timeout = 10000) =>
            page.waitForSelector(`main[data-ready="${name}"]`, { timeout }).then(() => true, () => false),
        signIn: async (token) => {
            await page.fill('#token', token);
            await page.click('button[type="submit"]');
        },
        // goes to #/HASH (signed in) and waits for the page `name`
        go: async (hash, name, timeout) => {
            await page.goto(`${url}/ui/#/${hash}`);
            return c.at(`#/${hash}`, name, timeout);
        },
        // the page for `hash` (location.hash as the router saw it) has shown `name`: a
        // hash navigation changes the URL before the router runs, so `ready` alone may
        // still be the previous page's
        at: (hash, name, timeout = 10000) => page.waitForFunction(([h, n]) => {
            const m = document.getElementById('main');
            return location.hash === h && m.dataset.route === h && m.dataset.ready === n;
        }, [hash, name], { timeout }).then(() => true, () => false),
        shot: (name) => page.screenshot({ path: path.join(out, `${name}.png`), fullPage: true }),
        axe: async (name) => {
            await page.evaluate(axeSource);
            const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
            const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
            check(`axe-core: no serious or critical violation on ${name} (${res.violations.length} in all)`, bad.length === 0,
                bad.map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((x) => x.target.join(' ')).join(', ')}`).join('\n'));
        },
        // while a refusal is tested: the console error the browser logs itself for it
        // (/status of 409/); allow(null) when done (after a short wait for the log)
        allow: async (re) => {
            if (!re) await page.waitForTimeout(200);
            allowed = re;
        },
        // the CSP violations the page reported so far are kept (a navigation loses them)
        keepCsp: async () => csp.push(...(await page.evaluate(() => window.__csp || []))),
        // the dialog's change text after clicking `selector`, or '' when none opened
        dialog: async (selector) => {
            await page.click(selector);
            const open = await page.waitForSelector('dialog[open]', { timeout: 5000 }).then(() => true, () => false);
            return open ? page.textContent('dialog .change') : '';
        },
        close: async () => {
            await c.keepCsp().catch(() => {});
            check('no CSP violation was reported', csp.length === 0, csp);
            check('no console error, no page error', errors.length === 0, errors);
            await browser.close();
            finish();
        },
    };
    return c;
}

// Runs `body(c)` and ends the TAP output whatever happens.
function run(url, out, body) {
    let c = null;
    (async () => {
        c = await open(url, out);
        await body(c);
        await c.close();
    })().catch(async (e) => {
        check('the script ran to the end', false, e.stack || String(e));
        if (c) await c.browser.close().catch(() => {});
        finish();
    });
}

module.exports = { open, run, check };
