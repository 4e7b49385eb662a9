// The key store: every S/MIME certificate, OpenPGP key and CRL with its status, usages, private key and expiry, and
// its fingerprint in blocks of four for reading aloud. Admins add files (dropped on the drop zone or chosen, with a
// passphrase for encrypted ones) — the import is all or nothing, and its answer shows each fingerprint with the
// seed's warning to verify it with its owner — and remove an entry after a confirmation that names it. Everyone may
// download an entry's public part. The next message uses a change at once: the service's one key store takes it in.

import { api } from './api.js';
import { h, replace, toast } from './dom.js';

const kindNames = { smime: 'S/MIME certificate', pgp: 'OpenPGP key', crl: 'CRL' };
const kindShort = { smime: 'S/MIME', pgp: 'PGP', crl: 'CRL' };
const statusNames = { valid: 'valid', expired: 'expired', not_yet_valid: 'not yet valid', revoked: 'revoked' };

/** Entries valid now that expire within this many days get a warning. */
const soonDays = 30;
const dayMs = 24 * 60 * 60 * 1000;

/** A fingerprint in blocks of four hex digits, as it is read aloud over the phone. */
export function grouped(fingerprint) {
  return (fingerprint.match(/.{1,4}/g) ?? []).join(' ');
}

/** The fingerprint as the page shows it: grouped, one block of monospace text. */
export function fingerprintCode(fingerprint) {
  return h('code', { class: 'fingerprint', title: fingerprint }, grouped(fingerprint));
}

/** Who an entry is for: its addresses, or its name when it serves none (a CA, a CRL). */
function who(key) {
  return key.addresses.length > 0 ? key.addresses.join(', ') : key.name;
}

/** How an entry is named in a sentence: "the S/MIME certificate of alice@customer.test". */
function described(key) {
  const kind = key.kind === 'smime' && key.trust_anchor ? 'CA certificate' : kindNames[key.kind] ?? key.kind;
  return key.addresses.length > 0 ? `the ${kind} of ${who(key)}` : `the ${kind} ${key.name}`;
}

function day(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleDateString();
}

/** Whole days from now until `iso` (0 = later today), or null when it never comes. */
function daysUntil(iso, now) {
  return iso ? Math.floor((new Date(iso).getTime() - now) / dayMs) : null;
}

function statusBadge(key) {
  const title = key.status === 'revoked' && key.revoked_at ? `revoked on ${day(key.revoked_at)}` : undefined;
  return h('span', { class: `badge ${key.status.replace(/_/g, '-')}`, title }, statusNames[key.status] ?? key.status);
}

function expiry(key, now) {
  if (!key.not_after) return [h('span', { class: 'muted' }, 'never')];
  const parts = [h('span', {}, day(key.not_after))];
  const days = daysUntil(key.not_after, now);
  if (key.status === 'valid' && days !== null && days < soonDays) {
    const text = days <= 0 ? 'expires today' : `expires in ${days} day${days === 1 ? '' : 's'}`;
    parts.push(h('div', {}, h('span', { class: 'badge warn expiry-warning', title: 'Ask its owner for a new one before it runs out' }, text)));
  }
  if (key.status === 'not_yet_valid') parts.push(h('div', { class: 'hint' }, `valid from ${day(key.not_before)}`));
  return parts;
}

/** What only some kinds have: subject and issuer, user IDs and subkeys, a CRL's issuer and count. */
function details(key) {
  const facts = [];
  const fact = (name, ...value) => facts.push(h('dt', {}, name), h('dd', {}, ...value));
  if (key.kind === 'smime') {
    fact('Subject', key.subject);
    fact('Issuer', key.issuer);
    fact('Serial', h('code', {}, key.serial));
    fact('Valid from', day(key.not_before));
  } else if (key.kind === 'pgp') {
    fact('Key ID', h('code', {}, key.key_id));
    fact('User IDs', key.user_ids.join('; '));
    if (key.domain_alias) fact('Serves the domain', key.domain_alias);
    for (const sub of key.keys) {
      fact(sub.primary ? 'Primary key' : 'Subkey',
        `${sub.algorithm}, ${sub.usages.join(' and ') || 'no usage'}, ${sub.expires ? `until ${day(sub.expires)}` : 'no expiry'}`,
        sub.revoked_at ? ', revoked' : '', sub.has_secret_key ? ', secret key held' : '');
    }
  } else if (key.kind === 'crl') {
    fact('Issuer', key.issuer);
    fact('Revokes', `${key.revoked_count} certificate${key.revoked_count === 1 ? '' : 's'}`);
    fact('Next update', day(key.not_after));
  }
  return h('details', { class: 'key-details' }, h('summary', {}, 'Details'), h('dl', { class: 'facts' }, facts));
}

function downloadLink(key) {
  const pgp = key.kind === 'pgp';
  const name = `${key.fingerprint}.${pgp ? 'asc' : key.kind === 'crl' ? 'crl' : 'crt'}`;
  return h('a', {
    class: 'button',
    href: `/api/v1/keys/${key.fingerprint}?format=${pgp ? 'armored' : 'pem'}`,
    download: name,
    title: `Download the public part of ${described(key)} (${pgp ? 'ASCII-armored' : 'PEM'}). Your public key can be safely shared with anyone.`,
  }, 'Download');
}

export async function render(main, session) {
  const admin = session.role === 'admin';
  const listBox = h('div', { id: 'key-list' });
  const state = { imported: new Set() };

  async function refresh() {
    let listing;
    try {
      listing = await api('/api/v1/keys');
    } catch (e) {
      replace(listBox, h('p', { class: 'notice error', role: 'alert' }, e.message));
      return;
    }
    replace(listBox, table(listing));
  }

  function table(listing) {
    const now = Date.now();
    const rows = listing.keys.map((key) => h('tr', {
      class: state.imported.has(key.fingerprint) ? 'just-imported' : undefined,
      dataset: { fingerprint: key.fingerprint },
    },
      h('td', {}, h('span', { class: 'badge kind' }, kindShort[key.kind] ?? key.kind),
        key.trust_anchor ? [' ', h('span', { class: 'badge', title: 'A trust anchor: certificates it issued are trusted' }, 'CA')] : null),
      h('td', {}, h('div', { class: 'who' }, who(key)),
        key.addresses.length > 0 ? h('div', { class: 'hint' }, key.name) : null,
        details(key)),
      h('td', {}, statusBadge(key)),
      h('td', {}, key.usages.length > 0 ? key.usages.map((u, i) => [i > 0 ? ' ' : null, h('span', { class: 'badge usage' }, u)]) : h('span', { class: 'muted' }, '—')),
      h('td', {}, key.has_private_key
        ? h('span', { class: 'badge ok', title: 'RuleMail holds the private key (encrypted at rest): it signs and decrypts with it' }, 'held')
        : h('span', { class: 'muted' }, 'no')),
      h('td', {}, expiry(key, now)),
      h('td', {}, fingerprintCode(key.fingerprint)),
      h('td', {}, h('div', { class: 'actions' }, downloadLink(key),
        admin ? h('button', { type: 'button', class: 'danger', onclick: () => confirmRemoval(key) }, 'Remove') : null))));
    return [
      h('p', { class: 'hint' }, `${listing.keys.length} entr${listing.keys.length === 1 ? 'y' : 'ies'} in the key store `, h('code', {}, listing.keystore)),
      h('table', { class: 'keys' },
        h('thead', {}, h('tr', {}, ['Kind', 'Addresses / name', 'Status', 'Usages', 'Private key', 'Expires', 'Fingerprint'].map((t) => h('th', { scope: 'col' }, t)),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))),
        h('tbody', {}, rows)),
    ];
  }

  // Removal asks first, in a dialog that names the entry and says when its private key goes with it.
  const dialogText = h('div', {});
  const dialogError = h('p', { class: 'error', role: 'alert' });
  const confirmButton = h('button', { type: 'button', class: 'danger' }, 'Remove');
  const cancelButton = h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel');
  const dialog = h('dialog', { class: 'confirm', id: 'remove-dialog', 'aria-labelledby': 'remove-title' },
    h('h2', { id: 'remove-title' }, 'Remove this key?'), dialogText, dialogError,
    h('div', { class: 'row' }, h('span', { class: 'spacer' }), cancelButton, confirmButton));
  let removing = null;

  function confirmRemoval(key) {
    removing = key;
    dialogError.textContent = '';
    replace(dialogText,
      h('p', {}, `Remove ${described(key)} from the key store?`),
      h('p', {}, fingerprintCode(key.fingerprint)),
      key.has_private_key
        ? h('p', { class: 'notice error' }, `Its private key is removed too: RuleMail can then no longer sign as ${who(key)} or decrypt mail sent to it with this ${kindShort[key.kind]} key. Keep a copy if you may need it again.`)
        : null,
      key.trust_anchor ? h('p', {}, 'It is a trust anchor: certificates it issued are no longer trusted.') : null,
      h('p', { class: 'hint' }, 'The next message no longer finds it.'));
    dialog.showModal();
    cancelButton.focus();
  }

  confirmButton.addEventListener('click', async () => {
    const key = removing;
    confirmButton.disabled = true;
    try {
      await api(`/api/v1/keys/${key.fingerprint}`, { method: 'DELETE' });
      dialog.close();
      toast(`Removed ${described(key)}.`, 'ok');
      state.imported.delete(key.fingerprint);
      await refresh();
    } catch (e) {
      dialogError.textContent = e.message;
    } finally {
      confirmButton.disabled = false;
    }
  });

  replace(main,
    h('h1', {}, 'Keys'),
    admin ? uploadCard(async (imported) => {
      state.imported = new Set(imported);
      await refresh();
    }, session) : h('p', { class: 'hint' }, 'Only an administrator adds or removes certificates and keys.'),
    h('section', { class: 'card' }, h('h2', {}, 'Certificates and keys'), listBox),
    dialog);
  await refresh();
}

/** The admin's upload: files dropped or chosen gather in a list; Import sends them all at once (all or nothing). */
function uploadCard(onImported, session) {
  const files = [];
  const input = h('input', { type: 'file', id: 'key-files', multiple: true, class: 'visually-hidden' });
  const pending = h('ul', { class: 'pending', id: 'pending-files', 'aria-label': 'Files to import' });
  const passphrase = h('input', { type: 'password', id: 'key-passphrase', name: 'passphrase', autocomplete: 'off', spellcheck: false });
  const importButton = h('button', { type: 'submit', class: 'primary', disabled: true }, 'Import');
  const result = h('div', { id: 'upload-result' });
  const zone = h('div', { class: 'dropzone', id: 'dropzone' },
    h('p', {}, 'Drop certificates, private keys, PKCS#12, CRLs or OpenPGP keys here, or ',
      h('label', { for: 'key-files', class: 'link' }, 'choose files'), '.'),
    input);

  function add(list) {
    for (const file of list) {
      if (!files.some((f) => f.name === file.name && f.size === file.size)) files.push(file);
    }
    paint();
  }

  function paint() {
    replace(pending, files.map((file, i) => h('li', {},
      h('span', { class: 'mono' }, file.name), ' ', h('span', { class: 'hint' }, size(file.size)), ' ',
      h('button', { type: 'button', class: 'link', 'aria-label': `Leave out ${file.name}`, onclick: () => { files.splice(i, 1); paint(); } }, 'leave out'))));
    importButton.disabled = files.length === 0;
    importButton.textContent = files.length > 1 ? `Import ${files.length} files` : 'Import';
  }

  input.addEventListener('change', () => {
    add(input.files);
    input.value = '';
  });
  zone.addEventListener('dragenter', (event) => { event.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove('over'); // not when it moves onto the zone's own text
  });
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    add(event.dataTransfer?.files ?? []);
  });

  const form = h('form', { class: 'card upload', novalidate: true },
    h('h2', {}, 'Add certificates and keys'),
    zone,
    pending,
    h('div', { class: 'grid' },
      h('label', { for: 'key-passphrase' }, 'Passphrase'), passphrase),
    h('p', { class: 'hint' }, 'Only for encrypted files (PKCS#12, an encrypted private key, a protected OpenPGP secret key). ',
      `It opens them for the import and is never stored or logged. A CA certificate becomes a trust anchor. At most ${session.max_message_mb} MB.`),
    h('div', { class: 'row' }, importButton),
    result);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (files.length === 0) return;
    const body = new FormData();
    for (const file of files) body.append('file', file, file.name);
    if (passphrase.value) body.append('passphrase', passphrase.value);
    importButton.disabled = true;
    try {
      const answer = await api('/api/v1/keys', { method: 'POST', body });
      files.length = 0;
      passphrase.value = '';
      replace(result, imported(answer));
      await onImported(answer.imported.map((i) => i.key.fingerprint));
    } catch (e) {
      replace(result, h('p', { class: 'notice error', role: 'alert' }, e.message, h('br'),
        h('span', { class: 'hint' }, 'Nothing was imported.')));
    }
    paint();
  });
  return form;
}

/** The import's answer: the seed's warning first, then every entry touched with its fingerprint to read to its owner. */
function imported(answer) {
  return h('div', { class: 'imported', role: 'status' },
    h('p', { class: 'notice warning' }, h('strong', {}, answer.warning), h('br'),
      'Read each fingerprint to its owner over the phone or in person; it must be the one they have.'),
    h('ul', { class: 'imported-list' }, answer.imported.map((item) => h('li', {},
      h('span', { class: `badge ${item.change === 'added' ? 'ok' : item.change}` }, item.change), ' ',
      `${kindShort[item.key.kind] ?? item.key.kind} ${who(item.key)} `, h('span', { class: 'hint' }, `from ${item.file}`),
      item.note ? h('span', { class: 'hint' }, ` · ${item.note}`) : null,
      h('div', {}, fingerprintCode(item.key.fingerprint))))));
}

function size(bytes) {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1)} KB`;
}
