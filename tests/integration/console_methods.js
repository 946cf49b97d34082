// console_methods.js - the experiment page's CUPED, bandit and layer sections in Debian's
// chromium, driven by playwright-core; prints TAP for console_methods.sh.
//
//   node console_methods.js URL ADMIN OUT_DIR
//
// What each section shows is compared with what detail.js must make of the API's own
// answers (GET /v1/experiments/KEY and .../results), read from node at the same moment.
'use strict';
const { run, check } = require('./console_lib.js');

const [url, admin, out] = process.argv.slice(2);

// ---- what the page must say, from the API's answers alone (detail.js's rules) ----------------
const none = (x) => x === null || x === undefined;
const signed = (x) => (none(x) ? '—' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)} %`);
const interval = (ci) => (Array.isArray(ci) && ci.length === 2 ? `${signed(ci[0])} to ${signed(ci[1])}` : '—');
const num = (x, d = 4) => (none(x) ? '—' : Number(x).toFixed(d));
const pct = (x) => (none(x) ? '—' : `${(x * 100).toFixed(2)} %`);
const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const prec = (x) => (none(x) ? '—' : Number(x).toPrecision(3));

// the rows of table `id`, each {cell class: text}, by data-variant
const readTable = (page, id) => page.evaluate((tid) => {
    const rows = {};
    for (const tr of document.querySelectorAll(`#${tid} tbody tr`)) {
        const cells = {};
        for (const td of tr.querySelectorAll('td')) cells[td.className.replace(/^num /, '')] = td.textContent.trim();
        rows[tr.dataset.variant] = cells;
    }
    return rows;
}, id);

function same(name, want, got) {
    const bad = [];
    for (const [v, cells] of Object.entries(want))
        for (const [k, x] of Object.entries(cells))
            if (!got[v] || got[v][k] !== x) bad.push({ variant: v, cell: k, want: x, got: got[v] && got[v][k] });
    check(name, bad.length === 0 && Object.keys(got).length === Object.keys(want).length, bad.length ? bad : got);
}

run(url, out, async (c) => {
    const { page, api, ready, shot, axe } = c;
    await page.goto(`${url}/ui/`);
    await page.waitForSelector('#token');
    await c.signIn(admin);
    check('the admin signs in', await ready('experiments'));

    // ---- CUPED ---------------------------------------------------------------------------------
    check('#/experiments/basket: the detail page', await c.go('experiments/basket', 'experiment'));
    {
        const r = (await api('/v1/experiments/basket/results', admin)).body;
        const want = {};
        for (const v of r.variants.filter((x) => !x.control)) {
            const vc = v.vs_control, a = vc.cuped;
            want[v.key] = { 'lift-raw': signed(vc.lift), 'lift-cuped': signed(a.lift), 'ci-raw': interval(vc.lift_ci),
                'ci-cuped': interval(a.lift_ci), 'p-raw': num(r.sequential ? vc.always_valid_p : vc.p_value),
                'p-cuped': num(r.sequential ? a.always_valid_p : a.p_value), se: `${prec(a.se_raw)} → ${prec(a.se)}`,
                reduction: pct(a.variance_reduction) };
        }
        same('CUPED: each treatment\'s raw and adjusted lift, interval, p, standard errors and variance reduction as /results says',
            want, await readTable(page, 'cuped'));
        const summary = await page.textContent('#cuped-summary');
        check('... θ and the units with a covariate, and that the decision reads the adjusted figures',
            summary.includes(`θ = ${Number(r.cuped.theta).toPrecision(4)}`) &&
            summary.includes(`${r.cuped.units_with_covariate} units carried a covariate`) && /reads the CUPED-adjusted/.test(summary), summary);
        const on = r.variants.find((v) => v.key === 'on').vs_control.cuped;
        check(`... the covariate removed variance (${pct(on.variance_reduction)})`, on.variance_reduction > 0.3, on);
        await shot('cuped');
        await axe('a CUPED experiment');
    }

    // ---- a layer and its holdout ---------------------------------------------------------------
    check('#/experiments/banner: the detail page', await c.go('experiments/banner', 'experiment'));
    {
        const e = (await api('/v1/experiments/banner', admin)).body;
        const r = (await api('/v1/experiments/banner/results', admin)).body;
        const range = await page.textContent('#layer-range');
        check('the layer, its share and its range as the experiment says', range ===
            `In layer ${e.layer.name}: ${e.layer.pct} % of its hash space, [${e.layer.range[0]}, ${e.layer.range[1]}) %.`, range);
        const hold = await page.textContent('#layer-holdout');
        const h = r.holdout, vh = h.vs_holdout;
        const want = `Holdout: ${whole.format(h.conversions)} of ${whole.format(h.units)} converted. Served traffic against it: ` +
            `difference ${signed(vh.diff)}, lift ${signed(vh.lift)} (95 % interval ${interval(vh.lift_ci)}), p ${num(vh.p_value)}.`;
        check('... the holdout, and the served traffic against it, as /results says', hold === want, { hold, want });
        await shot('layer');
        await axe('an experiment in a layer');
    }

    // ---- a bandit ------------------------------------------------------------------------------
    check('#/experiments/hero: the detail page', await c.go('experiments/hero', 'experiment'));
    {
        const e = (await api('/v1/experiments/hero', admin)).body;
        const r = (await api('/v1/experiments/hero/results', admin)).body;
        const b = r.bandit;
        const want = {};
        for (const v of r.variants) want[v.key] = { weight: `${e.weights[v.key]} %`, prob: pct(b.probability_best[v.key]) };
        same('bandit: each variant\'s weight now and chance of being the best as /results says', want, await readTable(page, 'bandit'));
        const best = await page.textContent('#bandit tbody tr[data-variant="' + b.best + '"] th');
        check(`... the best (${b.best}) marked`, /most likely the best/.test(best), best);
        const summary = await page.textContent('#bandit-summary');
        const when = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);
        check('... its cadence, floor, re-weightings, next look, burn-in and regret', summary.includes(`a look every ${b.update_minutes} min`) &&
            summary.includes(`at least ${b.min_weight_pct} % for each variant`) && summary.includes(`${b.updates} re-weightings`) &&
            summary.includes(`next look ${when(b.next_update_ms)} UTC`) && summary.includes(`equal weights until ${when(b.burn_in_until_ms)} UTC`) &&
            summary.includes(`Regret so far (estimated): ${Number(b.regret).toFixed(1)} conversions`), { summary, b });
        await shot('bandit');
        await axe('a bandit');
    }
});
