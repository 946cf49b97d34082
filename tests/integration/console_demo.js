// console_demo.js - make run's demo experiment run from the console alone (console_demo.sh):
// sign in with the demo's token, open checkout-button (a draft), Start it, reload its page
// until the results decide "promote green" (the demo's users arrive meanwhile), then
// Approve and promote; each step checked against the API.
//
//   node console_demo.js URL TOKEN OUT_DIR
'use strict';
const { run } = require('./console_lib.js');

const [url, token, out] = process.argv.slice(2);

run(url, out, async (c) => {
    const { page, api, check, ready, shot } = c;
    await page.goto(url + '/ui/');
    await ready('signin');
    await c.signIn(token);
    check('signed in with the token make run printed: the experiments list', await ready('experiments'));
    const rowState = await page.textContent('#experiments tbody tr[data-key="checkout-button"] td.state .badge').catch(() => '');
    check('... checkout-button is there, a draft', rowState === 'draft', rowState);
    await page.click('#experiments tbody tr[data-key="checkout-button"] a');
    check('its page opens', await ready('experiment'));
    await shot('demo-draft');
    const text = await c.dialog('#act-start');
    check('Start asks first, saying the state goes to running', /draft → running/.test(text), text);
    await page.click('#dialog-confirm');
    await page.waitForFunction(() => (document.getElementById('notice') || {}).textContent === 'Start: done.', null, { timeout: 10000 })
        .catch(() => {});
    const started = (await api('/v1/experiments/checkout-button', token)).body;
    check('... started: the API says running', started.state === 'running', started.state);
    await shot('demo-running');
    // a person waits and looks again: the page reloaded every 5 s, for at most 4 minutes
    const t0 = Date.now();
    let decided = '';
    while (Date.now() - t0 < 240000) {
        await page.waitForTimeout(5000);
        await page.reload();
        if (!(await ready('experiment', 30000))) continue;
        decided = (await page.textContent('#decision-badge').catch(() => '')) || '';
        if (decided === 'promote green') break;
    }
    const r = (await api('/v1/experiments/checkout-button/results', token)).body;
    console.log(`# the results decided "${decided}" ${((Date.now() - t0) / 1000).toFixed(0)} s after the start, at ${r.units} units`);
    check('the demo\'s users arrive and the page comes to "promote green", as /results says', decided === 'promote green' &&
        r.decision === 'promote' && r.winner === 'green', { decided, decision: r.decision, winner: r.winner, units: r.units });
    const label = await page.textContent('#act-promote');
    check('... the promotion awaits a person: "Approve and promote"', label === 'Approve and promote', label);
    await shot('demo-decided');
    const ptext = await c.dialog('#act-promote');
    check('... its dialog says green goes to 100 %', /green 50 % → 100 %/.test(ptext), ptext);
    await page.click('#dialog-confirm');
    await page.waitForFunction(() => (document.getElementById('notice') || {}).textContent === 'Approve and promote: done.',
        null, { timeout: 10000 }).catch(() => {});
    const promoted = (await api('/v1/experiments/checkout-button', token)).body;
    check('promoted: green at 100 %, as the page and the API say', promoted.state === 'promoted' && promoted.weights.green === 100 &&
        (await page.textContent('#state')) === 'promoted', promoted);
    const ev = (await api('/ofrep/v1/evaluate/flags/checkout-button', token, { method: 'POST',
        body: { context: { targetingKey: 'someone-new' } } })).body;
    check('... and OFREP now serves green to a new user', ev && ev.variant === 'green', ev);
    await shot('demo-promoted');
    await c.axe('the demo experiment, promoted');
});
