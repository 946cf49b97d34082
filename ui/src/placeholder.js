// placeholder.js - the pages still to be built (issue 24): each says what it will show,
// and shows nothing it does not have.
import {h} from './dom.js';

const PLANNED = {
  routes: {
    title: 'Routes',
    what: ['each route\'s split and its P50/P95/P99 and error rate per backend over time',
      'the breaker\'s state and the rollout plan\'s position, next step and hold',
      'the percentage control and the emergency rollback'],
  },
  tripwires: {
    title: 'Tripwires and risk',
    what: ['each policy\'s window against its baseline, the drop against its threshold, its state',
      'the risk ledger', 'the kill switch, with engage and disengage'],
  },
  audit: {
    title: 'Audit log',
    what: ['the audit trail with filters by resource, action and time', 'notification channels and their deliveries'],
  },
};

export function placeholderPage(main, page, arg) {
  const p = PLANNED[page];
  main.append(
    h('h1', null, arg ? `${p.title}: ${arg}` : p.title),
    h('div', {class: 'placeholder'},
      h('p', {class: 'lead'}, 'This page is not built yet. It will show:'),
      h('ul', null, p.what.map((w) => h('li', null, w)))));
  main.dataset.ready = page;
}
