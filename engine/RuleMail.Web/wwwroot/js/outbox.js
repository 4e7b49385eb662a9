// The outbox: what the accounts' send jobs have queued, are sending, sent, held and failed (GET /api/v1/outbox), most
// recently changed first, each with why (the hold reason, the server's error, or what was done when sent). Agents and
// admins get Release on a held or failed message (POST /api/v1/outbox/{id}/release): it is queued again and judged
// again with the rules and keys of now, and the page follows it until it is sent, held again or failed.

import { api } from './api.js';
import { h, replace, when, toast } from './dom.js';
import { filtersInAddress, keepFiltersInAddress, choice, table, badge, notice, loadFailed } from './listing.js';

const stateChoices = [['', 'Any'], ['queued', 'Queued'], ['sending', 'Sending'], ['held', 'Held'], ['failed', 'Failed'], ['sent', 'Sent']];
const settled = new Set(['sent', 'held', 'failed']);
const columns = ['State', 'Account', 'Changed', 'To', 'Subject', 'Why', ''];
const releaseTitle = {
  held: 'Try it again: it is judged again with the rules and keys of now, and held again if a required protection is still impossible (never sent without it).',
  failed: 'Try it again: it is handed to the server again.',
};

// A released or queued message is looked at again after these pauses (ms), then left to Refresh.
const followPauses = [...Array(10).fill(500), ...Array(30).fill(2000)];

export async function render(main, session) {
  const sending = session.accounts.filter((a) => a.sends);
  const mayRelease = session.role === 'agent' || session.role === 'admin';
  const address = filtersInAddress();
  const filters = { state: address.get('state') ?? '', account: address.get('account') ?? '' };
  const rows = new Map();
  const list = h('div', { class: 'outbox-list' });
  let generation = 0;

  const choices = [choice('state-filter', 'State', stateChoices, filters.state, (v) => { filters.state = v; load(); })];
  if (sending.length > 1) {
    choices.push(choice('account-filter', 'Account', [['', 'All'], ...sending.map((a) => [a.name, a.name])], filters.account,
      (v) => { filters.account = v; load(); }));
  }
  for (const { select } of choices) filters[select.id.replace('-filter', '')] = select.value;

  async function load() {
    const mine = ++generation;
    keepFiltersInAddress('outbox', filters);
    replace(list, h('p', { class: 'loading' }, 'Loading…'));
    const parameters = new URLSearchParams(Object.entries(filters).filter(([, value]) => value));
    let answer;
    try {
      answer = await api(`/api/v1/outbox?${parameters}`);
    } catch (e) {
      if (mine === generation) replace(list, loadFailed('outbox', e, load));
      return;
    }
    if (mine !== generation) return; // an answer for filters no longer chosen
    rows.clear();
    if (answer.outbox.length === 0) {
      replace(list, nothing());
    } else {
      replace(list, table('Outbox messages, most recently changed first', columns, h('tbody', {}, answer.outbox.map(row))));
      for (const entry of answer.outbox) follow(entry, mine);
    }
    main.dataset.loaded = String(mine);
  }

  function nothing() {
    if (filters.state || filters.account) {
      const state = stateChoices.find(([value]) => value === filters.state)?.[1].toLowerCase();
      return notice('', h('p', {}, `No message is ${state ?? 'in this outbox'}${filters.account ? ` for ${filters.account}` : ''}.`),
        h('button', { type: 'button', onclick: showEverything }, 'Show every message'));
    }
    if (sending.length === 0) {
      return notice('', h('p', {}, 'No account sends mail. Give an account a ', h('code', {}, 'send:'),
        ' section (its outbox folder and an SMTP server or a pickup folder) in rulemail.yaml; what it sends shows here.'));
    }
    return notice('', h('p', {}, 'The outbox is empty. Messages sent from the ', h('a', { href: '#/composer' }, 'Composer'),
      ', posted to the API or dropped in an account’s outbox folder show here.'));
  }

  function showEverything() {
    for (const { select } of choices) select.value = '';
    filters.state = filters.account = '';
    load();
  }

  const key = (entry) => `${entry.account}\u0000${entry.id}`;
  const path = (entry, action = '') =>
    `/api/v1/outbox/${encodeURIComponent(entry.id)}${action}?account=${encodeURIComponent(entry.account)}`;

  function row(entry) {
    const release = mayRelease && releaseTitle[entry.state]
      ? h('button', { type: 'button', class: 'release', title: releaseTitle[entry.state], onclick: () => releaseIt(entry) }, 'Release')
      : null;
    const to = entry.to?.length ? entry.to.join(', ') : null;
    const tr = h('tr', { dataset: { id: entry.id, state: entry.state } },
      h('td', {}, badge(entry.state)),
      h('td', {}, entry.account),
      h('td', {}, h('time', { datetime: entry.updated_at }, when(entry.updated_at))),
      h('td', {}, to ?? h('span', { class: 'muted' }, 'not known')),
      h('td', {}, entry.subject ?? h('span', { class: 'muted' }, 'not known')),
      h('td', { class: 'reason' }, reasonOf(entry)),
      h('td', {}, release));
    rows.set(key(entry), tr);
    return tr;
  }

  /** Draws the message anew where it is in the list (it stays even when it no longer matches the filter). */
  function update(entry) {
    const old = rows.get(key(entry));
    if (!old) return;
    const focused = old.contains(document.activeElement);
    const fresh = row(entry);
    old.replaceWith(fresh);
    if (focused) fresh.querySelector('button')?.focus();
  }

  async function releaseIt(entry) {
    let released;
    try {
      released = await api(path(entry, '/release'), { method: 'POST' });
    } catch (e) {
      toast(e.message, 'error');
      return;
    }
    toast(`Released “${entry.subject ?? entry.id}”: queued to be sent again.`, 'ok');
    update(released);
    follow(released, generation);
  }

  /** Looks at a queued or sending message again until it is sent, held or failed (or the list is loaded anew). */
  async function follow(entry, mine) {
    for (const pause of followPauses) {
      if (settled.has(entry.state)) return;
      await new Promise((resolve) => setTimeout(resolve, pause));
      if (mine !== generation || !list.isConnected) return;
      try {
        entry = await api(path(entry));
      } catch {
        return; // gone, or the service is away: Refresh shows where things stand
      }
      if (mine !== generation) return;
      update(entry);
    }
  }

  replace(main, h('section', { class: 'card outbox' },
    h('div', { class: 'row toolbar' },
      h('h1', {}, 'Outbox'), h('span', { class: 'spacer' }),
      choices.map((c) => c.box),
      h('button', { type: 'button', onclick: () => load() }, 'Refresh')),
    h('p', { class: 'hint' }, 'A held message waits for what it needs — often the recipient’s certificate or key, which an administrator imports on the ',
      h('a', { href: '#/keys' }, 'Keys'), ' page. Release tries it again; it is never sent without a protection that is required.'),
    list));
  await load();
}

function reasonOf(entry) {
  const parts = [entry.reason ?? (entry.state === 'queued' ? 'waits for the send job' : '')];
  if (entry.attempts > 0 && entry.state !== 'sent') {
    parts.push(`${entry.attempts} failed attempt${entry.attempts === 1 ? '' : 's'}${entry.next_attempt ? `, next at ${when(entry.next_attempt)}` : ''}`);
  }
  return parts.filter(Boolean).join(' · ');
}
