// The composer: From, To, Cc, Bcc, Subject and text, with the seed's 🔒 Encrypt and ✅ Sign buttons. The buttons ask
// POST /api/v1/options as recipients are typed: present and toggled when possible, disabled with the reason and the
// seed's advice when not, and the "Security type" switch only when both S/MIME and PGP are usable. Send queues the
// message in the account's outbox (the send job protects it as chosen, or holds it); Download .eml returns the
// protected message as POST /api/v1/compose builds it.

import { api, download } from './api.js';
import { h, replace, icon, debounce, toast } from './dom.js';

// The seed's outgoing status texts (the hover text of an enabled button).
const texts = {
  encrypt: { on: 'This message will be encrypted.', off: 'This message will not be encrypted.' },
  sign: { on: 'This message will be signed.', off: 'This message will not be signed.' },
};
const iconNames = { encrypt: { on: 'lock', off: 'open-lock' }, sign: { on: 'signed', off: 'not-signed' } };
const typeKeys = { 'S/MIME': 'smime', PGP: 'pgp' };

/** Addresses typed into one field: split at commas and semicolons, blanks left out. */
export function addresses(text) {
  return text.split(/[,;]/).map((a) => a.trim()).filter((a) => a.length > 0);
}

export async function render(main, session) {
  const senders = session.accounts.filter((a) => a.address);
  const from = h('select', { id: 'from', name: 'from' },
    senders.map((a) => h('option', { value: a.address, dataset: { account: a.name } }, `${a.address} (${a.name})`)));
  const to = h('input', { id: 'to', name: 'to', type: 'text', autocomplete: 'off', spellcheck: false, placeholder: 'customer@example.com' });
  const cc = h('input', { id: 'cc', name: 'cc', type: 'text', autocomplete: 'off', spellcheck: false });
  const bcc = h('input', { id: 'bcc', name: 'bcc', type: 'text', autocomplete: 'off', spellcheck: false });
  const subject = h('input', { id: 'subject', name: 'subject', type: 'text' });
  const text = h('textarea', { id: 'text', name: 'text' });

  const state = { options: null, type: null, chosen: { encrypt: null, sign: null }, generation: 0 };
  const encrypt = button('encrypt', 'Encrypt');
  const sign = button('sign', 'Sign');
  const encryptRule = h('span', { class: 'rule', id: 'encrypt-rule' });
  const signRule = h('span', { class: 'rule', id: 'sign-rule' });
  const type = h('select', { id: 'security-type', 'aria-label': 'Security type' },
    h('option', { value: 'S/MIME' }, 'S/MIME'), h('option', { value: 'PGP' }, 'PGP'));
  const typeBox = h('span', { class: 'row', hidden: true }, h('label', { for: 'security-type' }, 'Security type'), type);
  const addressError = h('p', { class: 'error', role: 'alert', id: 'address-error' });
  const status = h('p', { class: 'security-status hint', id: 'security-status', 'aria-live': 'polite' });
  const bccList = h('ul', { class: 'bcc-copies hint', id: 'bcc-copies' });
  const result = h('div', { id: 'compose-result', role: 'status' });

  const may = ['agent', 'admin'].includes(session.role);
  const send = h('button', { type: 'submit', class: 'primary', disabled: !may }, 'Send');
  const eml = h('button', { type: 'button', disabled: !may, onclick: () => downloadEml() }, 'Download .eml');

  function button(kind, name) {
    return h('button', {
      type: 'button', id: `${kind}-button`, class: 'toggle', 'aria-pressed': 'false', disabled: true,
      onclick: () => toggle(kind),
    }, icon(iconNames[kind].off), ` ${name}`);
  }

  function decidedBy(kind) {
    const rule = state.options?.decided_by?.[kind];
    return rule && (rule.preference === 'required' || rule.preference === 'never') ? rule : null;
  }

  function toggle(kind) {
    const rule = decidedBy(kind);
    if (rule && rule.preference === 'required') {
      toast(`The rule ${rule.rule} requires this; it cannot be turned off.`, 'error');
      return;
    }
    const view = state.options?.[kind];
    if (!view?.enabled) return;
    state.chosen[kind] = !(state.chosen[kind] ?? view.active);
    paint();
  }

  /** Draws the buttons from the last options and the agent's own toggles. */
  function paint() {
    const options = state.options;
    for (const [kind, element, ruleBox] of [['encrypt', encrypt, encryptRule], ['sign', sign, signRule]]) {
      const view = options?.[kind] ?? { enabled: false, active: false, tooltip: '' };
      const rule = decidedBy(kind);
      const forbidden = rule?.preference === 'never';
      const enabled = view.enabled && !forbidden;
      const on = enabled && (rule?.preference === 'required' || (state.chosen[kind] ?? view.active));
      element.disabled = !enabled;
      element.setAttribute('aria-pressed', String(on));
      element.title = !enabled
        ? (forbidden && view.enabled ? `${texts[kind].off} The rule ${rule.rule} forbids it.` : view.tooltip)
        : (on ? texts[kind].on : texts[kind].off);
      element.querySelector('img').src = `/icons/${iconNames[kind][on ? 'on' : 'off']}.svg`;
      ruleBox.textContent = rule
        ? `${rule.preference === 'required' ? 'Required' : 'Forbidden'} by the rule ${rule.rule} (${rule.file})`
        : '';
    }
    // What the hover texts say, also in words beside the buttons (a title is not seen without a mouse).
    replace(status, [['encrypt', encrypt], ['sign', sign]].map(([kind, element]) =>
      h('span', { class: 'status-line' }, icon(iconNames[kind][element.getAttribute('aria-pressed') === 'true' ? 'on' : 'off']), ` ${element.title}`)));
    typeBox.hidden = !(options?.switch);
    if (options?.type) type.value = options.type;
    replace(bccList, (options?.bcc ?? []).map((copy) =>
      h('li', {}, icon(copy.possible ? 'lock' : 'open-lock'), ` Bcc ${copy.address}: ${copy.message}`)));
  }

  function draft() {
    return {
      from: from.value,
      to: addresses(to.value),
      cc: addresses(cc.value),
      bcc: addresses(bcc.value),
      account: from.selectedOptions[0]?.dataset.account ?? null,
    };
  }

  async function refresh() {
    const generation = ++state.generation;
    try {
      const options = await api('/api/v1/options', { method: 'POST', json: { ...draft(), type: state.type } });
      if (generation !== state.generation) return; // an answer to older recipients
      addressError.textContent = '';
      state.options = options;
    } catch (e) {
      if (generation !== state.generation) return;
      addressError.textContent = e.message;
      state.options = null;
    }
    paint();
    main.dataset.options = String(generation);
  }

  const later = debounce(refresh, 250);
  for (const field of [to, cc, bcc]) field.addEventListener('input', () => later());
  from.addEventListener('change', () => refresh());
  type.addEventListener('change', () => {
    state.type = type.value;
    state.chosen = { encrypt: null, sign: null };
    refresh();
  });

  function request() {
    const d = draft();
    const choice = {};
    for (const kind of ['encrypt', 'sign']) {
      const element = kind === 'encrypt' ? encrypt : sign;
      choice[kind] = !element.disabled && element.getAttribute('aria-pressed') === 'true';
    }
    return {
      ...d,
      subject: subject.value,
      text: text.value,
      sign: choice.sign,
      encrypt: choice.encrypt,
      type: typeKeys[state.options?.type] ?? null,
    };
  }

  async function downloadEml() {
    try {
      const response = await api('/api/v1/compose', { method: 'POST', json: request(), accept: 'message/rfc822' });
      const name = `${(subject.value || 'message').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60)}.eml`;
      await download(response, name);
      replace(result, h('p', { class: 'notice ok' }, `Downloaded ${name}: ${protection(request())}.`));
    } catch (e) {
      replace(result, h('p', { class: 'notice error', role: 'alert' }, e.message));
    }
  }

  const form = h('form', { class: 'card composer', novalidate: true },
    h('h1', {}, 'New message'),
    h('div', { class: 'grid' },
      h('label', { for: 'from' }, 'From'), from,
      h('label', { for: 'to' }, 'To'), to,
      h('label', { for: 'cc' }, 'Cc'), cc,
      h('label', { for: 'bcc' }, 'Bcc'), bcc,
      h('label', { for: 'subject' }, 'Subject'), subject),
    addressError,
    h('div', { class: 'security', role: 'group', 'aria-label': 'Security' },
      encrypt, encryptRule, sign, signRule, typeBox),
    status,
    bccList,
    h('label', { for: 'text', class: 'text-label' }, 'Text'),
    text,
    h('div', { class: 'row' }, send, eml, h('span', { class: 'spacer' }),
      h('span', { class: 'hint' }, 'Outgoing emails can only be encrypted for a single recipient.')),
    result);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = request();
    const account = draft().account;
    try {
      const queued = await api(`/api/v1/accounts/${encodeURIComponent(account)}/outbox`, { method: 'POST', json: body });
      replace(result, h('p', { class: 'notice ok' },
        `Queued in the outbox of ${account} as ${queued.id} (${queued.state}): ${protection(body)}. `,
        h('a', { href: '#/outbox' }, 'See the outbox')));
    } catch (e) {
      replace(result, h('p', { class: 'notice error', role: 'alert' }, e.message));
    }
  });

  if (senders.length === 0) {
    replace(main, h('p', { class: 'notice' }, 'No account is configured: add one to rulemail.yaml to compose from its address.'));
    return;
  }
  replace(main, form);
  paint();
  await refresh();
}

function protection(request) {
  const parts = [request.encrypt ? 'encrypted' : 'not encrypted', request.sign ? 'signed' : 'not signed'];
  return parts.join(', ');
}
