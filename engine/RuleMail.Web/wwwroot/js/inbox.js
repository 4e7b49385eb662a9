// The inbox: every message the accounts' fetch jobs processed (GET /api/v1/messages), newest first, with the seed's
// incoming icons, each titled with the seed's hover text and the result's own comment. A message's subject is a
// disclosure button that opens its details (GET /api/v1/messages/{id}): signer and certificate or key, decryption,
// the decision, each action and its outcome, and every analysis over time. Admins also get Retry, which judges the
// message again with today's keys and rules (POST /api/v1/messages/{id}/retry; the server refuses anyone else).

import { api } from './api.js';
import { h, replace, when, toast } from './dom.js';
import { securityIcons } from './security.js';
import { filtersInAddress, keepFiltersInAddress, choice, table, badge, notice, loadFailed } from './listing.js';

// The seed's troubleshooting, for the two failures whose comments it fixes.
const advice = {
  'Unable to find certificate for validation':
    'Without the sender’s certificate, the signature cannot be verified. Ask your administrator to add the sender’s certificate to the certificate store.',
  'Unable to find private key to decrypt':
    'This message was encrypted with a certificate that does not match any on file. Ask your administrator to verify your organization’s private key in the certificate store, and ask the sender to double-check the public key they used to encrypt the message.',
};
const verifyWarning = '🕵️ ALWAYS verify certificates in-person or over the phone!';

// The ledger's status words (LedgerFilter.cs): one security outcome and one state may be chosen; both must hold.
const securityChoices = [
  ['', 'Any'],
  ['security-failed', 'Signature or decryption failed'],
  ['encrypted', 'Encrypted for you'],
  ['decrypt-failed', 'Can not be decrypted'],
  ['signed', 'Signature verified'],
  ['signature-failed', 'Signature verification failed'],
  ['plain', 'Neither signed nor encrypted'],
];
const stateChoices = [
  ['', 'Any'],
  ['done', 'Done'],
  ['retry', 'Waiting for another attempt'],
  ['processing', 'Being processed'],
  ['failed', 'Failed'],
];

const actionNames = { keyword: 'Set the keyword', remove_keyword: 'Remove the keyword', move: 'Move to', webhook: 'Webhook to', notify: 'Notify' };
const actionBadges = { done: 'ok', pending: 'warn', failed: 'bad', skipped: 'skipped' };
const columns = ['Security', 'Account', 'Received', 'From', 'Subject', 'Status'];

export async function render(main, session) {
  const fetching = session.accounts.filter((a) => a.fetches);
  const admin = session.role === 'admin';
  const address = filtersInAddress();
  const filters = { security: address.get('security') ?? '', state: address.get('state') ?? '', account: address.get('account') ?? '' };
  const items = new Map();
  const list = h('div', { class: 'inbox-list' });
  const more = h('button', { type: 'button', hidden: true, onclick: () => load(true) }, 'Show older messages');
  let next = null;
  let generation = 0;
  let tableElement = null;

  const choices = [
    choice('security-filter', 'Security', securityChoices, filters.security, (v) => { filters.security = v; load(); }),
    choice('state-filter', 'State', stateChoices, filters.state, (v) => { filters.state = v; load(); }),
  ];
  if (fetching.length > 1) {
    choices.push(choice('account-filter', 'Account', [['', 'All'], ...fetching.map((a) => [a.name, a.name])], filters.account,
      (v) => { filters.account = v; load(); }));
  }
  for (const { select } of choices) filters[select.id.replace('-filter', '')] = select.value;

  function query() {
    const parameters = new URLSearchParams();
    const status = [filters.security, filters.state].filter(Boolean).join(',');
    if (status) parameters.set('status', status);
    if (filters.account) parameters.set('account', filters.account);
    if (next) parameters.set('after', next);
    return parameters.toString();
  }

  /** Loads the first page for the filters (or, with `older`, the page after the last one shown). */
  async function load(older = false) {
    const mine = ++generation;
    if (!older) {
      keepFiltersInAddress('inbox', filters);
      next = null;
      more.hidden = true;
      replace(list, h('p', { class: 'loading' }, 'Loading…'));
    }
    let page;
    try {
      page = await api(`/api/v1/messages?${query()}`);
    } catch (e) {
      // The messages shown stay; an older page that did not come says so and Show older messages tries again.
      if (mine === generation && older) toast(`The older messages could not be loaded: ${e.message}`, 'error');
      else if (mine === generation) replace(list, loadFailed('inbox', e, () => load()));
      return;
    }
    if (mine !== generation) return; // an answer for filters no longer chosen
    if (!older) {
      items.clear();
      tableElement = null;
    }
    if (!older && page.messages.length === 0) {
      replace(list, nothing());
    } else {
      tableElement ??= replace(list, table('Processed messages, newest first', columns)).firstChild;
      for (const message of page.messages) tableElement.append(entry(message));
    }
    next = page.next;
    more.hidden = next === null;
    main.dataset.loaded = String(mine);
  }

  function nothing() {
    if (filters.security || filters.state || filters.account) {
      return notice('', h('p', {}, 'No message matches these filters.'),
        h('button', { type: 'button', onclick: showEverything }, 'Show every message'));
    }
    if (fetching.length === 0) {
      return notice('', h('p', {}, 'No account fetches mail, so nothing comes in. Give an account a ', h('code', {}, 'fetch:'),
        ' section (IMAP, POP3 or Maildir) in rulemail.yaml; what it fetches shows here.'));
    }
    return notice('', h('p', {}, `No message has been processed yet. The fetch jobs of ${fetching.map((a) => a.name).join(', ')} bring new mail here as `,
      h('code', {}, 'rulemail run'), ' finds it; press Refresh to look again.'));
  }

  function showEverything() {
    for (const { select } of choices) select.value = '';
    filters.security = filters.state = filters.account = '';
    load();
  }

  function entry(message) {
    const item = { message, analyses: null, open: false, failure: null, retried: '', body: h('tbody', { class: 'message', dataset: { id: message.id } }) };
    items.set(message.id, item);
    paint(item);
    return item.body;
  }

  /** Draws a message's row and its details row (hidden until its disclosure button opens it). */
  function paint(item) {
    const { message } = item;
    const detailsId = `details-${message.id}`;
    const toggle = h('button', {
      type: 'button', class: 'disclosure', 'aria-expanded': String(item.open), 'aria-controls': detailsId,
      onclick: () => flip(item),
    }, message.subject || '(no subject)');
    // The row is drawn anew: the button that had the focus (disclosure or retry) gets it back.
    const focused = item.body.contains(document.activeElement) ? document.activeElement.className : null;
    replace(item.body,
      h('tr', { class: 'summary' },
        h('td', { class: 'security-icons' }, securityIcons(message.security)),
        h('td', {}, message.account),
        h('td', {}, h('time', { datetime: message.first_seen }, when(message.first_seen))),
        h('td', { class: 'from' }, message.from ?? '(no sender)'),
        h('td', {}, toggle),
        h('td', { class: 'status' }, statusOf(message))),
      h('tr', { class: 'details', id: detailsId, hidden: !item.open },
        h('td', { colspan: columns.length }, item.open ? details(item) : null)));
    if (focused) item.body.querySelector(`button.${focused}`)?.focus();
  }

  async function flip(item) {
    item.open = !item.open;
    paint(item);
    if (item.open && item.analyses === null) await open(item);
  }

  async function open(item) {
    item.failure = null;
    try {
      const found = await api(`/api/v1/messages/${encodeURIComponent(item.message.id)}`);
      item.message = found.message;
      item.analyses = found.analyses;
    } catch (e) {
      item.failure = e.message;
    }
    paint(item);
  }

  function details(item) {
    if (item.failure !== null) {
      return notice('error', h('p', {}, `The details could not be loaded: ${item.failure}`),
        h('button', { type: 'button', onclick: () => open(item) }, 'Try again'));
    }
    if (item.analyses === null) return h('p', { class: 'loading' }, 'Loading the details…');
    const { message } = item;
    return h('div', { class: 'message-details' },
      h('dl', { class: 'facts' }, facts(message)),
      troubleshooting(message.security),
      h('h3', {}, message.analysis ? `What was done (analysis ${message.analysis})` : 'What was done'),
      actionList(message.actions),
      h('h3', {}, 'Analyses over time'),
      item.analyses.length === 0
        ? h('p', { class: 'muted' }, 'Not analysed yet.')
        : h('ol', { class: 'analyses' }, item.analyses.map(analysis)),
      admin ? retry(item) : null);
  }

  function retry(item) {
    const id = item.message.id;
    const result = h('p', { class: 'retry-result', role: 'status' }, item.retried);
    const button = h('button', {
      type: 'button', class: 'retry', title: 'Judge this message again with today’s keys and rules',
      onclick: async () => {
        // Busy rather than disabled: a disabled button would drop the keyboard focus.
        if (button.getAttribute('aria-busy') === 'true') return;
        button.setAttribute('aria-busy', 'true');
        result.textContent = 'Judging it again…';
        try {
          const answer = await api(`/api/v1/messages/${encodeURIComponent(id)}/retry`, { method: 'POST' });
          item.retried = retried(answer.messages.find((m) => m.id === id));
        } catch (e) {
          item.retried = `Not judged again: ${e.message}`;
        }
        await open(item);
      },
    }, 'Retry');
    return h('div', { class: 'row retry-box' }, button, result);
  }

  replace(main, h('section', { class: 'card inbox' },
    h('div', { class: 'row toolbar' },
      h('h1', {}, 'Inbox'), h('span', { class: 'spacer' }),
      choices.map((c) => c.box),
      h('button', { type: 'button', onclick: () => load() }, 'Refresh')),
    list,
    more));
  await load();
}

/** The message's tags, its state when it is not done, and where it is now when a move took it elsewhere. */
function statusOf(message) {
  return [
    message.tags.map((tag) => badge(tag, tag === 'security-failed' ? 'bad' : '')),
    message.state === 'done' ? null : h('span', { title: message.error ?? '' }, badge(message.state, message.state === 'failed' ? 'bad' : 'warn')),
    message.location.folder === message.folder ? null : h('span', { class: 'muted' }, ` in ${message.location.folder}`),
  ];
}

function facts(message) {
  const security = message.security ?? {};
  const { sign, encryption } = security;
  const pairs = [
    ['Account', `${message.account}, folder ${message.folder}`],
    ['Now in', message.location.folder],
    ['From', message.from],
    ['Message-ID', message.message_id],
    ['State', stateText(message)],
    ['Security type', message.analysis ? (security.type ?? 'none') : null],
  ];
  if (sign) {
    const kind = security.type === 'PGP' ? 'key' : 'certificate';
    pairs.push(
      ['Signature', `${sign.success ? 'verified' : 'failed'}: ${sign.comment}`],
      ['Signer', sign.signer?.address ?? `not known: no ${kind} in the store names this signature’s key`],
      [`Signer’s ${kind}`, sign.signer?.fingerprint ? h('span', { class: 'fingerprint' }, sign.signer.fingerprint) : null],
      ['Signing key', sign.key ? `${sign.key.algorithm.toUpperCase()} ${sign.key.bits} bits` : null],
      ['Digest', sign.digest]);
  }
  if (encryption) {
    pairs.push(
      ['Decryption', `${encryption.success ? 'decrypted' : 'not decrypted'}: ${encryption.comment}`],
      ['Cipher', [encryption.cipher, encryption.integrity ? `integrity ${encryption.integrity}` : null].filter(Boolean).join(', ') || null]);
  }
  pairs.push(
    ['Decision', message.decision ? decisionText(message.decision) : null],
    ['Tags', message.tags.length ? message.tags.join(', ') : null]);
  return pairs.filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]);
}

function stateText(message) {
  switch (message.state) {
    case 'retry':
      return `waiting for another attempt (${message.attempts} so far${message.next_attempt ? `, next at ${when(message.next_attempt)}` : ''})${message.error ? `: ${message.error}` : ''}`;
    case 'failed':
      return `failed for good: ${message.error ?? 'no reason was recorded'}`;
    default:
      return message.state;
  }
}

/** A decision as its keys and values (move: Quarantine · flag: security-failed), or that there was nothing to do. */
function decisionText(decision) {
  const parts = Object.entries(decision).map(([key, value]) => {
    if (value === true) return key;
    if (Array.isArray(value)) return `${key}: ${value.join(', ')}`;
    if (value && typeof value === 'object') {
      return `${key}: ${value.url ?? Object.entries(value).map(([k, v]) => `${k}=${v}`).join(', ')}`;
    }
    return `${key}: ${value}`;
  });
  return parts.length ? parts.join(' · ') : 'nothing: no rule decided anything for it';
}

function troubleshooting(security) {
  const lines = [security?.sign, security?.encryption]
    .filter((part) => part && !part.success && advice[part.comment])
    .map((part) => h('p', {}, `“${part.comment}”: ${advice[part.comment]}`));
  if (lines.length === 0) return null;
  if (security.sign && !security.sign.success && advice[security.sign.comment]) lines.push(h('p', { class: 'warning' }, verifyWarning));
  return h('div', { class: 'notice advice' }, lines);
}

function actionList(actions) {
  if (actions.length === 0) return h('p', { class: 'muted' }, 'Nothing to do.');
  return h('ul', { class: 'actions' }, actions.map((action) => h('li', {},
    `${actionNames[action.kind] ?? action.kind} `, h('code', {}, action.target), ' ',
    badge(action.state, actionBadges[action.state] ?? ''),
    action.attempts > 1 ? ` after ${action.attempts} attempts` : null,
    action.detail ? ` — ${action.detail}` : null,
    h('span', { class: 'muted' }, ` ${when(action.updated_at)}`))));
}

function analysis(one) {
  const { sign, encryption } = one.security ?? {};
  const lines = [];
  if (encryption) lines.push(`Encryption ${encryption.success ? 'succeeded' : 'failed'}: ${encryption.comment}`);
  if (sign) lines.push(`Signature ${sign.success ? 'verified' : 'failed'}: ${sign.comment}`);
  if (lines.length === 0) lines.push('Neither signed nor encrypted.');
  return h('li', { class: 'analysis' },
    h('p', {}, h('strong', {}, `Analysis ${one.version}`), ` · ${one.trigger === 'fetch' ? 'at fetch' : 'judged again'} · ${when(one.analysed_at)}`,
      one.security_failed ? [' ', badge('security failed', 'bad')] : null),
    lines.map((line) => h('p', { class: 'muted' }, line)),
    h('p', {}, `Decision: ${decisionText(one.decision)}`),
    actionList(one.actions));
}

/** What a retry did to the message, in a sentence. */
function retried(judged) {
  if (!judged) return 'The retry did not come to this message: it is no longer where it was fetched.';
  switch (judged.outcome) {
    case 'changed':
      return `Judged again: analysis ${judged.analysis.after} (was ${judged.analysis.before})${judged.actions.length ? `; ${judged.actions.join('; ')}` : ''}.`;
    case 'unchanged':
      return `Judged again: the same result as analysis ${judged.analysis.after}, so nothing was done.`;
    default:
      return `Not judged again: ${judged.reason ?? judged.outcome}`;
  }
}
