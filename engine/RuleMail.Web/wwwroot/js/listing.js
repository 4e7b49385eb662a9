// What the inbox and the outbox pages share: filters kept in the page's address (so a filtered list can be bookmarked
// and reloaded), a table with a caption, state badges, and notices that say what to do.

import { h } from './dom.js';

/** The filter values in the address after the page's name (#/inbox?status=signed): a URLSearchParams. */
export function filtersInAddress() {
  const query = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(query);
}

/** Writes the filters into the address without loading the page again (empty values are left out). */
export function keepFiltersInAddress(page, values) {
  const query = new URLSearchParams(Object.entries(values).filter(([, value]) => value));
  const text = query.toString();
  history.replaceState(null, '', `#/${page}${text ? `?${text}` : ''}`);
}

/**
 * A labelled choice of a filter: `options` are [value, text] pairs; `value` is the one chosen at first (the first
 * option when it is none of them).
 */
export function choice(id, label, options, value, onchange) {
  const known = options.some(([v]) => v === value);
  const select = h('select', { id, name: id, onchange: () => onchange(select.value) },
    options.map(([v, text]) => h('option', { value: v, selected: known && v === value }, text)));
  return { select, box: h('span', { class: 'filter' }, h('label', { for: id }, label), select) };
}

/** A table with a caption (read by screen readers, hidden on screen) and its column headers. */
export function table(caption, headers, ...bodies) {
  return h('table', { class: 'list' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((header) => h('th', { scope: 'col' }, header)))),
    bodies);
}

/** A word of a state as a badge, coloured by the app's badge classes (sent, held, failed, ok, bad, warn). */
export function badge(text, kind = text) {
  return h('span', { class: `badge ${kind}` }, text);
}

/** A notice: what is (or is not) there, and what to do about it. */
export function notice(kind, ...children) {
  return h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, children);
}

/** The notice for a list that could not be loaded: the server's one line, and a button to try again. */
export function loadFailed(what, error, again) {
  return notice('error',
    h('p', {}, `The ${what} could not be loaded: ${error.message}`),
    h('button', { type: 'button', onclick: again }, 'Try again'));
}
