// placeholder.js - the pages still to be built (issue 24): each says what it will show,
// and shows nothing it does not have.
import {h} from './dom.js';

const PLANNED = {
  flags: {
    title: 'Flags',
    what: ['the flag list with search', 'viewing and editing a flag, validation problems shown at their path',
      'an "evaluate with this context" box'],
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
