// chart.js - line charts over time, drawn by uPlot (canvas), for every page that has a
// series to show. A chart is a <figure>: its title, the canvas with uPlot's legend (each
// line's name and value under the cursor), and the same figures as a table in a
// <details> below it, so a screen reader or a keyboard reads what the canvas draws. Lines
// differ by dash as well as colour; time is UTC.
//
//   lineChart({id, title, times, series, bands, rules, format, min, max, stepped})
//     times:  [ms, ...]                       the x values, oldest first
//     series: [{label, values: [y or null]}]  one line each (null: no value at that time)
//     bands:  [{label, lo: [..], hi: [..], of: i}]  a shaded interval around series i
//     rules:  [{label, values: [..]}]         thresholds: dashed lines, in the table too
//     format: (y) => text                     the y axis, legend and table
//     min, max: the y range's ends when fixed (0 and 1 for a probability)
//     stepped: true for a quantity that jumps (the split): drawn as steps
import uPlot from './uplot.esm.js';
import {h} from './dom.js';

const COLOURS = ['#0550ae', '#bc4c00', '#116329', '#8250df', '#a40e26', '#4d2d00', '#1b7c83', '#6e7781'];
const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3], [4, 4], [1, 2], [12, 6], [6, 2, 2, 2]];
const RULE = '#a40e26';

// uPlot's stylesheet, linked once (the CSP allows the console's own stylesheets only)
function linkStyles() {
  if (document.getElementById('uplot-css')) return;
  document.head.append(h('link', {rel: 'stylesheet', href: '/ui/uplot.css', id: 'uplot-css'}));
}

const utc = (ms) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16);

function widthFor(el) {
  const main = document.getElementById('main');
  const w = (el && el.clientWidth) || (main ? main.clientWidth - 40 : 800);
  return Math.max(320, Math.min(w, 1100));
}

function figuresTable(opts, columns) {
  const {times, format} = opts;
  const body = h('tbody');
  const table = h('table', {class: 'figures'},
    h('caption', null, `${opts.title}: the figures drawn, oldest first (UTC)`),
    h('thead', null, h('tr', null, h('th', {scope: 'col'}, 'Time'), columns.map((c) => h('th', {scope: 'col'}, c.label)))),
    body);
  // the rows are made when the table is first opened: a long series costs nothing before
  const details = h('details', {class: 'figures'}, h('summary', null, 'The figures as a table'), table);
  details.addEventListener('toggle', () => {
    if (!details.open || body.childElementCount) return;
    const rows = times.map((t, i) => h('tr', null, h('th', {scope: 'row', class: 'nowrap'}, utc(t)),
      columns.map((c) => h('td', {class: 'num'}, c.values[i] === null || c.values[i] === undefined ? '—' : format(c.values[i])))));
    body.append(...rows);
  });
  return details;
}

export function lineChart(opts) {
  linkStyles();
  const {id, title, times, series, bands = [], rules = [], format = String, stepped = false} = opts;
  const data = [times.map((t) => t)];
  const defs = [{}];
  const lineOf = stepped ? uPlot.paths.stepped({align: 1}) : undefined;
  series.forEach((s, i) => {
    data.push(s.values);
    defs.push({label: s.label, stroke: COLOURS[i % COLOURS.length], dash: DASHES[i % DASHES.length], width: 2,
      paths: lineOf, spanGaps: false, value: (u, v) => (v === null || v === undefined ? '—' : format(v))});
  });
  const bandDefs = [];
  for (const b of bands) {
    const colour = COLOURS[b.of % COLOURS.length];
    const lo = data.length;
    data.push(b.lo);
    defs.push({label: `${b.label} (low)`, stroke: colour, width: 0.5, dash: [1, 3], value: (u, v) => (v === null || v === undefined ? '—' : format(v))});
    data.push(b.hi);
    defs.push({label: `${b.label} (high)`, stroke: colour, width: 0.5, dash: [1, 3], value: (u, v) => (v === null || v === undefined ? '—' : format(v))});
    bandDefs.push({series: [lo + 1, lo], fill: `${colour}22`});
  }
  rules.forEach((r) => {
    data.push(r.values);
    defs.push({label: r.label, stroke: RULE, dash: [3, 3], width: 1.5, paths: stepped ? lineOf : undefined,
      value: (u, v) => (v === null || v === undefined ? '—' : format(v))});
  });
  const plotBox = h('div', {class: 'chart', 'aria-hidden': 'true'});
  const fig = h('figure', {class: 'chart-figure', id, 'aria-labelledby': `${id}-t`},
    h('figcaption', {id: `${id}-t`}, title), plotBox,
    figuresTable(opts, [...series, ...bands.flatMap((b) => [{label: `${b.label} (low)`, values: b.lo}, {label: `${b.label} (high)`, values: b.hi}]), ...rules]));
  const scale = {};
  if (opts.min !== undefined || opts.max !== undefined) {
    scale.range = (u, lo, hi) => [opts.min !== undefined ? opts.min : lo, opts.max !== undefined ? opts.max : hi];
  }
  const make = () => new uPlot({
    width: widthFor(plotBox), height: 220, ms: 1,
    tzDate: (ts) => uPlot.tzDate(new Date(ts), 'Etc/UTC'),
    series: defs, bands: bandDefs,
    scales: {x: {time: true}, y: scale},
    axes: [{}, {values: (u, vals) => vals.map((v) => format(v)), size: 70}],
    legend: {live: true},
    cursor: {drag: {x: false, y: false}},
  }, data, plotBox);
  // drawn once the figure is in the page (its width is known then); redrawn to fit when
  // the window's width changes, until the figure leaves the page
  let plot = null;
  requestAnimationFrame(() => {
    if (!fig.isConnected) return;
    plot = make();
    const onResize = () => {
      if (!fig.isConnected) {
        window.removeEventListener('resize', onResize);
        plot.destroy();
        return;
      }
      plot.setSize({width: widthFor(plotBox), height: 220});
    };
    window.addEventListener('resize', onResize);
    fig.dataset.drawn = 'true';
  });
  return fig;
}
