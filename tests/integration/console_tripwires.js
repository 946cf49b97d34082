// console_tripwires.js - the console's tripwires and risk page (#/tripwires) in Debian's
// chromium, driven by playwright-core; prints TAP for console_tripwires.sh.
//
//   node console_tripwires.js URL ADMIN EDITOR VIEWER SDK BIG_ADMIN OUT_DIR
//
// The default workspace holds two enabled tripwires whose KPI events will trip one
// (WHOLESALE/contract_rate) and leave the other ok (BUYER_MATCH/match_success), a risk
// policy for each domain and a running experiment; nothing is evaluated yet. Every figure
// the page shows is compared with what the page must make of the API's own answers
// (GET /v1/regression/state and /policies, /v1/risk/policies, /v1/risk/ledger,
// /v1/go-live/state), read from node at the same moment; every action is driven through
// its confirmation dialog and its effect read back from the API. BIG_ADMIN's workspace
// gets 1,000 tripwires, risk policies and ledger entries from this script: 25 a page.
'use strict';
const { run, check } = require('./console_lib.js');

const [url, admin, editor, viewer, sdk, big, out] = process.argv.slice(2);

// ---- what the page must say, from the API's answers alone (tripwires.js's rules) ---------------
const pc = (x) => `${(x * 100).toFixed(2)} %`;
const measured = (x, measure) => (x === null || x === undefined ? '—' : measure === 'rate' ? pc(x) : Number(x).toFixed(4));
const at = (ms) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
const two = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
function stateWord(st) {
    if (st.triggered) return 'triggered';
    if (!st.enabled) return 'disabled';
    if (typeof st.reset_at === 'number' && (st.last_checked_at === null || st.reset_at > st.last_checked_at)) return 're-enabled';
    if (st.last_checked_at === null) return 'never evaluated';
    return st.enforced ? 'ok' : 'not enforced';
}
function expectedTripwire(p, st) {
    const row = { id: `${p.domain}/${p.metric}`, state: stateWord(st), note: st.note, action: p.action,
        checked: st.last_checked_at === null ? 'never' : at(st.last_checked_at) };
    const d = st.drop_fraction;
    if (d === null || d === undefined) {
        row.drop = `threshold ${pc(p.max_drop_fraction)}`;
        return row;
    }
    row.window = `${measured(st.current, p.measure)} against ${measured(st.baseline, p.measure)}`;
    row.counts = `window ${whole.format(st.window_events)} events, baseline ${whole.format(st.baseline_events)}`;
    row.drop = d < 0 ? `a rise of ${pc(-d)}: no drop (threshold ${pc(p.max_drop_fraction)})`
        : `drop ${pc(d)} against a threshold of ${pc(p.max_drop_fraction)}: ${d >= p.max_drop_fraction - 1e-9 ? 'at or over it' : 'under it'}`;
    row.meter = Math.max(0, d);
    row.high = p.max_drop_fraction;
    return row;
}
const expectedEntry = (e) => ({ id: `#${e.id}`, when: at(e.at_ms), domain: e.domain, amount: two.format(e.amount),
    outcome: e.outcome, reason: e.reason ? e.reason.replace(/_/g, ' ') : undefined,
    released: e.released_ms ? `released ${at(e.released_ms)}` : undefined });

// ---- what the page shows ---------------------------------------------------------------------------
const readPage = (page) => page.evaluate(() => {
    const t = (el, sel) => { const x = el && el.querySelector(sel); return x ? x.textContent.trim() : undefined; };
    const tripwires = [...document.querySelectorAll('#tripwires-table tbody tr')].map((tr) => {
        const m = tr.querySelector('meter');
        return { id: tr.dataset.tripwire, state: t(tr, 'td.state .badge'), note: t(tr, 'td.state .note'),
            window: t(tr, 'td.window .value'), counts: t(tr, 'td.window .counts'), drop: t(tr, 'td.drop .value'),
            meter: m ? Number(m.value) : undefined, high: m ? Number(m.high) : undefined,
            action: t(tr, 'td.action .badge'), checked: tr.querySelector('td.checked').firstChild.textContent };
    });
    const risk = [...document.querySelectorAll('#risk-table tbody tr')].map((tr) => ({
        domain: tr.dataset.domain, state: t(tr, 'td.state .badge'), perAction: t(tr, '.per-action'), perDay: t(tr, '.per-day'),
        reserved: tr.querySelector('td.reserved').firstChild.textContent }));
    const ledger = [...document.querySelectorAll('#ledger-table tbody tr')].map((tr) => {
        const cells = tr.querySelectorAll('th, td');
        return { id: cells[0].textContent, when: cells[1].textContent, domain: cells[2].textContent,
            amount: cells[3].textContent, outcome: t(tr, '.outcome .badge'), reason: t(tr, '.outcome .reason'),
            released: t(tr, '.outcome .released') };
    });
    const acts = {};
    for (const li of document.querySelectorAll('[data-action]'))
        acts[li.dataset.action] = { disabled: li.querySelector('button').disabled, why: t(li, '.why'),
            describedBy: li.querySelector('button').getAttribute('aria-describedby') };
    return { kill: t(document, '#kill-badge'), killWords: t(document, '#kill-words'), banner: t(document, '#kill-banner'),
        tripwireCounts: t(document, '#tripwire-counts'), riskCounts: t(document, '#risk-counts'),
        ledgerCounts: t(document, '#ledger-counts'), ledgerCaption: t(document, '#ledger-table caption'),
        tripwires, risk, ledger, acts, notice: t(document, '#notice') };
});

// node's own request, with headers of its own (X-Execution-Class) and OFREP's paths
async function raw(p, token, { method = 'GET', body, headers = {} } = {}) {
    const res = await fetch(url + p, { method, body: body && JSON.stringify(body),
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...headers } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
}

run(url, out, async (c) => {
    const { page, api, ready, go, shot, axe, signIn } = c;
    const today = new Date().toISOString().slice(0, 10);
    // the page shown again after an action, saying what was done
    const done = (label) => page.waitForFunction((l) => document.getElementById('main').dataset.ready === 'tripwires' &&
        (document.getElementById('notice') || {}).textContent === `${l}: done.`, label, { timeout: 10000 }).then(() => true, () => false);
    // every tripwire row against the API's answers now
    const compareTripwires = async (shown, name) => {
        const pol = (await api('/v1/regression/policies', admin)).body.policies;
        const st = (await api('/v1/regression/state', admin)).body.tripwires;
        const bad = [];
        for (const p of pol) {
            const want = expectedTripwire(p, st.find((s) => s.domain === p.domain && s.metric === p.metric));
            const got = shown.tripwires.find((r) => r.id === want.id) || {};
            for (const k of Object.keys(want))
                if (typeof want[k] === 'number' ? Math.abs(want[k] - got[k]) > 1e-9 : want[k] !== got[k])
                    bad.push({ tripwire: want.id, field: k, want: want[k], got: got[k] });
        }
        check(`${name}: every tripwire's state, window against baseline, drop against threshold (meter and words), action and time as the API says`,
            bad.length === 0 && shown.tripwires.length === pol.length && pol.length === 4, bad.length ? bad : shown.tripwires.length);
        return st;
    };

    await page.goto(`${url}/ui/`);
    await ready('signin');
    await signIn(admin);
    await ready('experiments');
    check('#/tripwires: the page', await go('tripwires', 'tripwires'));
    check('... titled, its section current in the navigation', (await page.textContent('main h1')) === 'Tripwires and risk' &&
        (await page.$eval('nav a[aria-current="page"]', (a) => a.textContent)) === 'Tripwires');
    let d = await readPage(page);
    await compareTripwires(d, 'before any evaluation');
    check('... the two enabled ones "never evaluated", the two seed ones "disabled", counted in words',
        d.tripwires.filter((r) => r.state === 'never evaluated').length === 2 &&
        d.tripwires.filter((r) => r.state === 'disabled').length === 2 &&
        d.tripwireCounts === '4 tripwires: 2 never evaluated, 2 disabled.', d.tripwireCounts);
    check('... the kill switch: "not engaged", never engaged, in words', d.kill === 'not engaged' &&
        d.killWords === 'Never engaged in this workspace.' && !d.banner, d);
    check('... an admin: Evaluate now and Engage enabled, Release disabled (not engaged) with the reason tied to it',
        !d.acts.evaluate.disabled && !d.acts.engage.disabled && d.acts.release.disabled &&
        d.acts.release.why === 'the kill switch is not engaged' && d.acts.release.describedBy === 'why-release', d.acts);
    await shot('tripwires');
    await axe('the tripwires page');

    // ---- Evaluate now ---------------------------------------------------------------------------
    let text = await c.dialog('#act-evaluate');
    check('Evaluate now asks first, saying what it does', /the 2 enabled tripwires are evaluated/.test(text) &&
        /THROTTLE: its domain's risk policy is disabled/.test(text), text);
    await page.keyboard.press('Escape');
    check('... Esc closes it and nothing is evaluated', !(await page.$('dialog[open]')) &&
        (await api('/v1/regression/state', admin)).body.tripwires.every((s) => s.last_checked_at === null));
    await c.dialog('#act-evaluate');
    await page.click('#dialog-confirm');
    check('... confirmed: the page is shown again, saying so', await done('Evaluate now'));
    d = await readPage(page);
    const st = await compareTripwires(d, 'evaluated');
    const wh = st.find((s) => s.domain === 'WHOLESALE' && s.metric === 'contract_rate');
    const bm = st.find((s) => s.domain === 'BUYER_MATCH');
    check('... the API: WHOLESALE/contract_rate triggered (95 % → 20 %), BUYER_MATCH ok (95 % → 94 %)',
        wh.triggered && wh.action === 'THROTTLE' && Math.abs(wh.drop_fraction - 0.75 / 0.95) < 1e-9 &&
        !bm.triggered && bm.enforced && Math.abs(bm.current - 0.94) < 1e-9, st);
    const whRow = d.tripwires.find((r) => r.id === 'WHOLESALE/contract_rate');
    check('... shown: "triggered", 20.00 % against 95.00 %, the drop at or over its 20 % threshold', whRow.state === 'triggered' &&
        whRow.window === '20.00 % against 95.00 %' && /^drop 78\.95 % against a threshold of 20\.00 %: at or over it$/.test(whRow.drop), whRow);
    check('... and "ok", under its threshold', d.tripwires.find((r) => r.id === 'BUYER_MATCH/match_success').state === 'ok');
    const riskApi = (await api('/v1/risk/policies', admin)).body.policies;
    const whRisk = riskApi.find((p) => p.domain === 'WHOLESALE');
    check('... the trip throttled WHOLESALE (the API: its risk policy disabled by "tripwire")',
        !whRisk.enabled && whRisk.changed_by === 'tripwire', whRisk);
    check('... shown as "throttled"; BUYER_MATCH "enabled"; counted', d.risk.length === 2 &&
        d.risk.find((r) => r.domain === 'WHOLESALE').state === 'throttled' && d.risk.find((r) => r.domain === 'BUYER_MATCH').state === 'enabled' &&
        d.riskCounts.startsWith('2 domains with a policy; 1 throttled by a tripwire.'), d.risk);
    check('... focus on what was done', await page.evaluate(() => document.activeElement.id === 'notice'));
    await shot('tripwires-evaluated');
    await axe('the tripwires page, evaluated');

    // ---- the ledger after check-and-reserve calls -------------------------------------------------
    const reserve = (domain, amount, extra = {}) => api('/v1/risk/check-and-reserve', sdk,
        { method: 'POST', body: { domain, amount, actor: 'deal-svc', ...extra } }).then((r) => r.body);
    const answers = [await reserve('BUYER_MATCH', 250, { correlation_id: 'match-1' }), await reserve('BUYER_MATCH', 120.5),
        await reserve('WHOLESALE', 100), await reserve('NOWHERE', 1), await reserve('BUYER_MATCH', 40)];
    const rel = await api('/v1/risk/release', sdk, { method: 'POST', body: { reservation_id: answers[4].reservation_id } });
    check('check-and-reserve: BUYER_MATCH reserved thrice (one released), WHOLESALE denied (throttled), NOWHERE denied (no policy)',
        answers[0].ok && answers[1].ok && answers[2].reason === 'policy_disabled' && answers[3].reason === 'no_policy' &&
        answers[4].ok && rel.status === 200, answers);
    await go(`tripwires?day=${today}`, 'tripwires');
    d = await readPage(page);
    let ledger = (await api(`/v1/risk/ledger?day=${today}`, admin)).body;
    const wantLedger = ledger.entries.slice().reverse().map(expectedEntry);
    const ledgerDiff = wantLedger.map((w, i) => Object.keys(w).filter((k) => w[k] !== (d.ledger[i] || {})[k])
        .map((k) => ({ entry: w.id, field: k, want: w[k], got: (d.ledger[i] || {})[k] }))).flat();
    check('the ledger: every entry of the day, newest first, as /v1/risk/ledger says (when, domain, amount, outcome, reason, release)',
        ledgerDiff.length === 0 && d.ledger.length === 5 && ledger.entries.length === 5 && !!wantLedger[0].released, ledgerDiff);
    const sum = (o) => ledger.entries.filter((e) => e.outcome === o).reduce((s, e) => s + e.amount, 0);
    const cnt = (o) => ledger.entries.filter((e) => e.outcome === o).length;
    check('... counted by outcome with their amounts', d.ledgerCounts === `5 entries on ${today}: ${cnt('reserved')} reserved (${two.format(sum('reserved'))}), ` +
        `${cnt('released')} released (${two.format(sum('released'))}), ${cnt('denied')} denied (${two.format(sum('denied'))}).`, d.ledgerCounts);
    const reservedBy = (dom) => ledger.entries.filter((e) => e.domain === dom && e.outcome === 'reserved').reduce((s, e) => s + e.amount, 0);
    check('... each policy\'s amount reserved that day and its limits', d.risk.every((r) => r.reserved === two.format(reservedBy(r.domain))) &&
        d.risk.find((r) => r.domain === 'BUYER_MATCH').reserved === '370.5' &&
        d.risk.find((r) => r.domain === 'WHOLESALE').perAction === two.format(whRisk.max_per_action) &&
        d.risk.find((r) => r.domain === 'BUYER_MATCH').perDay === 'no limit', d.risk);
    check('... the day picker holds the day', (await page.inputValue('#ledger-day')) === today &&
        (await page.$eval('#ledger-day', (i) => i.labels[0].textContent)) === 'Day (UTC)');
    await shot('tripwires-ledger');
    await axe('the tripwires page with its ledger');
    // another day, picked: the API's (empty) answer for it
    await page.fill('#ledger-day', '2026-01-02');
    await page.click('#ledger-form button[type="submit"]');
    await page.waitForURL(/day=2026-01-02/);
    await ready('tripwires');
    const other = (await api('/v1/risk/ledger?day=2026-01-02', admin)).body;
    d = await readPage(page);
    check('a day picked: its ledger, as the API says (none)', other.entries.length === 0 && d.ledger.length === 0 &&
        d.ledgerCounts === 'No entry on 2026-01-02.' && d.risk.find((r) => r.domain === 'BUYER_MATCH').reserved === '0', d.ledgerCounts);
    // a day that does not exist, typed in the URL: the API's 400, in the ledger's section only
    await c.allow(/status of 400/);
    await go('tripwires?day=2026-02-30', 'tripwires');
    const badDay = await page.textContent('#ledger [role="alert"]').catch(() => '');
    check('a day the calendar does not have: the API\'s 400 in the ledger\'s section, the rest of the page shown',
        /400 invalid_input: day is YYYY-MM-DD \(field: day\)/.test(badDay) && (await readPage(page)).tripwires.length === 4, badDay);
    await c.allow(null);
    await c.keepCsp();

    // ---- the kill switch --------------------------------------------------------------------------
    await go('tripwires', 'tripwires');
    text = await c.dialog('#act-engage');
    check('Engage asks first, saying what engaging does', /not engaged → engaged/.test(text) && /refused \(403 kill_switch/.test(text) &&
        /control variant/.test(text) && /risk reservations are denied/.test(text), text);
    check('... with a labelled, required reason field, and focus in the dialog',
        (await page.$eval('dialog[open] #engage-reason', (i) => i.labels[0].textContent + '|' + i.required)) === 'Reason (required)|true' &&
        await page.evaluate(() => document.querySelector('dialog[open]').contains(document.activeElement)));
    await c.allow(/status of 400/);
    await page.click('#dialog-confirm');
    const refused = await page.waitForSelector('#kill-status [role="alert"]', { timeout: 5000 }).then((e) => e.textContent(), () => '');
    check('an empty reason: refused, the server\'s problem shown with its field', /Engage the kill switch was refused\./.test(refused) &&
        /400 invalid_input: .*\(field: reason\)/.test(refused), refused);
    await c.allow(null);
    check('... and nothing changed (/v1/go-live/state)', (await api('/v1/go-live/state', viewer)).body.kill_switch.engaged === false);
    await c.dialog('#act-engage');
    await page.fill('dialog[open] #engage-reason', 'console drill: ROI collapsing');
    await shot('tripwires-engage-dialog');
    await page.click('#dialog-confirm');
    check('a reason given: engaged, the page shown again', await done('Engage the kill switch'));
    const ks = (await api('/v1/go-live/state', viewer)).body.kill_switch;
    check('... /v1/go-live/state: engaged, with the reason and the admin\'s name', ks.engaged && ks.reason === 'console drill: ROI collapsing' &&
        ks.actor === 'alice', ks);
    d = await readPage(page);
    check('... the page: "engaged", since when, by whom and why, a banner; Engage now disabled, Release enabled',
        d.kill === 'engaged' && d.killWords === `Engaged at ${at(ks.changed_ms)} by alice: console drill: ROI collapsing` &&
        /kill switch is engaged/.test(d.banner || '') && d.acts.engage.disabled && d.acts.engage.why === 'the kill switch is engaged already' &&
        !d.acts.release.disabled, d);
    const goLive = await raw('/v1/go-live/check?class=PROD_EXEC', sdk);
    check('... a production execution is refused as the API says: 403 kill_switch with the reason', goLive.status === 403 &&
        goLive.body.error.code === 'kill_switch' && /console drill/.test(goLive.body.error.message), goLive);
    const marked = await raw('/v1/experiments/checkout-button/stop', admin, { method: 'POST', headers: { 'X-Execution-Class': 'PROD_EXEC' } });
    check('... a change marked PROD_EXEC: 403 kill_switch (X-Execution-Class), and the experiment still runs', marked.status === 403 &&
        marked.body.error.field === 'X-Execution-Class' && (await api('/v1/experiments/checkout-button', admin)).body.state === 'running', marked);
    const reservation = await reserve('BUYER_MATCH', 1);
    check('... a risk reservation: denied kill_switch', reservation.ok === false && reservation.reason === 'kill_switch', reservation);
    const served = await Promise.all(['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((u) => raw('/ofrep/v1/evaluate/flags/checkout-button', sdk,
        { method: 'POST', body: { context: { targetingKey: u } } })));
    check('... OFREP serves the experiment\'s control to everyone (STATIC, the reason in killSwitch)', served.every((r) => r.status === 200 &&
        r.body.variant === 'blue' && r.body.reason === 'STATIC' && r.body.metadata.killSwitch === 'console drill: ROI collapsing'),
        served.map((r) => r.body));
    await go(`tripwires?day=${today}`, 'tripwires');
    d = await readPage(page);
    check('... the ledger shows the denial, newest first', d.ledger[0] && d.ledger[0].outcome === 'denied' && d.ledger[0].reason === 'kill switch' &&
        d.ledger.length === 6, d.ledger[0]);
    await shot('tripwires-engaged');
    await axe('the tripwires page, kill switch engaged');
    // Release from the keyboard alone: Enter on the button, Shift+Tab from Cancel (focused
    // first) to the reason, typed, then Tab to Cancel and to the confirmation, Enter
    await page.focus('#act-release');
    await page.keyboard.press('Enter');
    await page.waitForSelector('dialog[open]', { timeout: 5000 }).catch(() => {});
    text = await page.textContent('dialog[open] .change').catch(() => '');
    check('Release asks first, saying what it does', /engaged → not engaged/.test(text), text);
    await page.keyboard.press('Shift+Tab');
    const focused = await page.evaluate(() => document.activeElement.id);
    await page.keyboard.type('drill over');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    const onConfirm = await page.evaluate(() => document.activeElement.id);
    check('... from the keyboard: Shift+Tab from Cancel reaches the reason, Tab the confirmation', focused === 'release-reason' &&
        onConfirm === 'dialog-confirm', { focused, onConfirm });
    await page.keyboard.press('Enter');
    check('... released: the page shown again', await done('Release the kill switch'));
    const ks2 = (await api('/v1/go-live/state', viewer)).body.kill_switch;
    d = await readPage(page);
    check('... /v1/go-live/state not engaged, and the page says who released it, when and why', !ks2.engaged && ks2.reason === 'drill over' &&
        d.kill === 'not engaged' && d.killWords === `Released at ${at(ks2.changed_ms)} by alice: drill over` && !d.banner, { ks2, d: d.killWords });
    const allowed = await raw('/v1/go-live/check?class=PROD_EXEC', sdk);
    const ofrep = await raw('/ofrep/v1/evaluate/flags/checkout-button', sdk, { method: 'POST', body: { context: { targetingKey: 'u2' } } });
    check('... production executions allowed again, OFREP serves the split again', allowed.status === 200 && allowed.body.allowed === true &&
        ofrep.body.reason !== 'STATIC', { allowed, ofrep: ofrep.body });
    await shot('tripwires-released');
    await c.keepCsp();

    // ---- an editor, a viewer ----------------------------------------------------------------------
    const acts = async () => (await readPage(page)).acts;
    await page.click('#signout');
    await ready('signin');
    await signIn(editor);
    await ready('experiments');
    await go('tripwires', 'tripwires');
    let a = await acts();
    check('an editor: Evaluate now enabled; Engage and Re-enable disabled, the role the reason (they need admin)', !a.evaluate.disabled &&
        a.engage.disabled && a.engage.why === 'your token\'s role (editor) may not: it needs admin' &&
        a['reenable-2'] && a['reenable-2'].disabled && a['reenable-2'].why === a.engage.why, a);
    await shot('tripwires-editor');
    await page.click('#signout');
    await ready('signin');
    await signIn(viewer);
    await ready('experiments');
    await go('tripwires', 'tripwires');
    a = await acts();
    check('a viewer: every action disabled (Re-enable of the triggered one too), the role the reason', Object.keys(a).length === 4 && !!a['reenable-2'] &&
        Object.values(a).every((x) => x.disabled && /^your token's role \(viewer\) may not: it needs (editor|admin)$/.test(x.why)), a);
    d = await readPage(page);
    check('... and reads what the admin reads', d.tripwires.length === 4 && d.risk.length === 2 && d.kill === 'not engaged');
    await shot('tripwires-viewer');
    await axe('the tripwires page as a viewer');
    await page.click('#signout');
    await ready('signin');
    await c.keepCsp();

    // ---- re-enabling the triggered tripwire, and evaluating it again ----------------------------------
    await signIn(admin);
    await ready('experiments');
    await go('tripwires', 'tripwires');
    const reenable = '[data-tripwire="WHOLESALE/contract_rate"] [data-action^="reenable"] button';
    text = await c.dialog(reenable);
    check('Re-enable (the triggered one) asks first, with a reason, saying what it restores',
        /WHOLESALE\/contract_rate triggered → re-enabled/.test(text) && /WHOLESALE's risk policy, if this trip disabled it, is enabled again/.test(text) &&
        !!(await page.$('dialog[open] input[required]')), text);
    await page.fill('dialog[open] input[required]', 'fixed the deal service');
    await page.click('#dialog-confirm');
    check('... confirmed: the page shown again', await done('Re-enable'));
    const reset = (await api('/v1/regression/state', admin)).body.tripwires.find((x) => x.metric === 'contract_rate');
    const restored = (await api('/v1/risk/policies', admin)).body.policies.find((p) => p.domain === 'WHOLESALE');
    check('... the API: reset with the reason, WHOLESALE\'s risk policy enabled again', !reset.triggered && reset.note === 'RE-ENABLED: fixed the deal service' &&
        typeof reset.reset_at === 'number' && restored.enabled && restored.changed_by === 'alice', { reset, restored });
    d = await readPage(page);
    await compareTripwires(d, 're-enabled');
    check('... the page: "re-enabled" with its note, no Re-enable left; WHOLESALE "enabled" again',
        d.tripwires.find((r) => r.id === 'WHOLESALE/contract_rate').state === 're-enabled' && !Object.keys(d.acts).some((k) => k.startsWith('reenable')) &&
        d.risk.find((r) => r.domain === 'WHOLESALE').state === 'enabled', d.tripwires[2]);
    await c.dialog('#act-evaluate');
    await page.click('#dialog-confirm');
    await done('Evaluate now');
    d = await readPage(page);
    const again = await compareTripwires(d, 'evaluated after the reset');
    const wr = d.tripwires.find((r) => r.id === 'WHOLESALE/contract_rate');
    check('... evaluated again: "not enforced", no value (the window starts after the reset), as the API says',
        again.find((x) => x.metric === 'contract_rate').note === 'NOT_ENFORCED window=0 baseline=200 min_events_to_enforce=50' &&
        wr.state === 'not enforced' && wr.window === undefined, wr);
    await shot('tripwires-reenabled');
    await axe('the tripwires page, re-enabled');

    // a KILL_SWITCH tripwire on a mean (CAPITAL/roi_event, 30 %): ROI 100 → 10 trips it
    const roi = [...Array(200).fill(100), ...Array(50).fill(10)].map((value) => ({ domain: 'CAPITAL', metric: 'roi_event', value, actor: 'capital-svc' }));
    const sent = await api('/v1/kpi', sdk, { method: 'POST', body: { events: roi } });
    const on = await api('/v1/regression/policies', admin, { method: 'POST', body: { domain: 'CAPITAL', metric: 'roi_event', enabled: true, reason: 'watch ROI' } });
    check('CAPITAL/roi_event (KILL_SWITCH, mean) enabled, 250 ROI events sent', sent.status === 200 && on.status === 200 && on.body.action === 'KILL_SWITCH');
    await go('tripwires?day=2026-01-02', 'tripwires'); // read again (a new hash)
    await c.dialog('#act-evaluate');
    await page.click('#dialog-confirm');
    check('... Evaluate now', await done('Evaluate now'));
    d = await readPage(page);
    const cap = (await compareTripwires(d, 'a mean tripped')).find((x) => x.domain === 'CAPITAL');
    const ks3 = (await api('/v1/go-live/state', viewer)).body.kill_switch;
    const capRow = d.tripwires.find((r) => r.id === 'CAPITAL/roi_event');
    check('... the API: triggered, the kill switch engaged by the tripwire', cap.triggered && cap.action === 'KILL_SWITCH' &&
        ks3.engaged && ks3.actor === 'tripwire', { cap, ks3 });
    check('... the page: the mean to 4 decimals, the drop in words, the kill switch engaged by "tripwire" and why', capRow.state === 'triggered' &&
        capRow.window === '10.0000 against 100.0000' && capRow.drop === 'drop 90.00 % against a threshold of 30.00 %: at or over it' &&
        d.kill === 'engaged' && d.killWords === `Engaged at ${at(ks3.changed_ms)} by tripwire: ${ks3.reason}`, { capRow, kill: d.killWords });
    await shot('tripwires-killed-by-tripwire');
    await c.dialog('#act-release');
    await page.fill('dialog[open] #release-reason', 'ROI back');
    await page.click('#dialog-confirm');
    check('... released in the console', await done('Release the kill switch') &&
        (await api('/v1/go-live/state', viewer)).body.kill_switch.engaged === false);
    await page.click('#signout');
    await ready('signin');
    await c.keepCsp();

    // ---- 1,000 of each, 25 a page ------------------------------------------------------------------
    const t0 = Date.now();
    const fails = [];
    const ids = Array.from({ length: 1000 }, (_, i) => String(i).padStart(4, '0'));
    const each = async (fn) => {
        for (let i = 0; i < ids.length; i += 8)
            await Promise.all(ids.slice(i, i + 8).map(async (x) => { const r = await fn(x); if (r.status !== 200) fails.push(r); }));
    };
    await each((x) => api('/v1/regression/policies', big, { method: 'POST', body: { domain: `D${x}`, metric: 'rate', reason: 'load' } }));
    await each((x) => api(`/v1/risk/policies/D${x}`, big, { method: 'PUT', body: { enabled: true, max_per_day: 1000, reason: 'load' } }));
    await each((x) => api('/v1/risk/check-and-reserve', big, { method: 'POST', body: { domain: `D${x}`, amount: 1 + Number(x) % 7, actor: 'load' } }));
    check(`1,000 tripwires, risk policies and reservations made (${((Date.now() - t0) / 1000).toFixed(1)} s)`, fails.length === 0, fails.slice(0, 3));
    await signIn(big);
    await ready('experiments');
    const s = Date.now();
    const shownBig = await go('tripwires', 'tripwires', 30000);
    console.log(`# #/tripwires with 1,000 tripwires, risk policies and ledger entries shown in ${Date.now() - s} ms`);
    d = await readPage(page);
    const bigPol = (await api('/v1/regression/policies', big)).body.policies;
    const bigLedger = (await api('/v1/risk/ledger', big)).body.entries;
    check('... each list: 25 rows, the first of the API\'s order (the ledger newest first), and the count of all', shownBig &&
        d.tripwires.length === 25 && d.risk.length === 25 && d.ledger.length === 25 &&
        d.tripwires.map((r) => r.id).join() === bigPol.slice(0, 25).map((p) => `${p.domain}/${p.metric}`).join() &&
        d.ledger.map((r) => r.id).join() === bigLedger.slice(-25).reverse().map((e) => `#${e.id}`).join() &&
        d.tripwireCounts === `${whole.format(bigPol.length)} tripwires: 1,000 never evaluated, 4 disabled.` && /^1,000 entries on /.test(d.ledgerCounts) &&
        /^Page 1 of 40: entries 1 to 25/.test(d.ledgerCaption), { t: d.tripwireCounts, l: d.ledgerCounts, c: d.ledgerCaption });
    await shot('tripwires-1000');
    await axe('the tripwires page with 1,000 of each');
    await page.click('#ledger a[rel="next"]');
    await page.waitForURL(/ledger_page=2/);
    await page.waitForFunction(() => /^Page 2 of 40/.test((document.querySelector('#ledger-table caption') || {}).textContent || ''),
        null, { timeout: 10000 }).catch(() => {});
    d = await readPage(page);
    check('the ledger\'s next page: entries 26 to 50, the other lists still on their first', await ready('tripwires') &&
        d.ledger.map((r) => r.id).join() === bigLedger.slice(-50, -25).reverse().map((e) => `#${e.id}`).join() &&
        d.tripwires[0].id === `${bigPol[0].domain}/${bigPol[0].metric}` && page.url().endsWith('#/tripwires?ledger_page=2'), page.url());
    await page.click('#tripwires a[rel="next"]');
    await page.waitForURL(/tripwires_page=2/);
    await page.waitForFunction(() => /^Page 2 of 40/.test((document.querySelector('#tripwires-table caption') || {}).textContent || ''),
        null, { timeout: 10000 }).catch(() => {});
    d = await readPage(page);
    check('... the tripwires\' next page, the ledger kept on its own', await ready('tripwires') &&
        d.tripwires.map((r) => r.id).join() === bigPol.slice(25, 50).map((p) => `${p.domain}/${p.metric}`).join() &&
        d.ledger[0].id === `#${bigLedger[bigLedger.length - 26].id}`, d.tripwires.slice(0, 2));
    await c.keepCsp();
});
