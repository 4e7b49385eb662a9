// The rules: the rule set in force (GET /api/v1/rules) file by file, each with its lint state as the folder holds it
// now (POST /api/v1/rules/lint: ok, or every error at file:line:col), and a dry run (POST /api/v1/rules/test): a
// message pasted or an .eml chosen goes through the incoming or outgoing rules in force, and the trace shows every
// rule — matched or not, on which conditions, what it decided, or why it did not run — and the merged decision.
// Nothing is flagged, moved or sent by a dry run.

import { api } from './api.js';
import { h, replace } from './dom.js';
import { securityIcons } from './security.js';

const decisionNames = {
  sign: 'Sign', encrypt: 'Encrypt', security_type: 'Security type', flag: 'Flag', move: 'Move to', tag: 'Tag',
  header: 'Add headers', webhook: 'Webhook', notify: 'Notify', hold: 'Hold', stop: 'Stop',
};
const typeNames = { smime: 'S/MIME', pgp: 'PGP' };

/** Where a lint error is, as rulemail rules lint prints it: file:line:col (just the file when it has no place). */
export function place(error) {
  return error.line > 0 ? `${error.file}:${error.line}:${error.column}` : error.file;
}

export async function render(main, session) {
  const mayTest = session.role === 'agent' || session.role === 'admin';
  const [inForce, lint] = await Promise.all([api('/api/v1/rules'), api('/api/v1/rules/lint', { method: 'POST' })]);

  replace(main,
    h('h1', {}, 'Rules'),
    h('section', { class: 'card', id: 'rules-in-force' }, h('h2', {}, 'In force'), summary(inForce, lint), filesTable(inForce, lint)),
    h('section', { class: 'card', id: 'dry-run' }, h('h2', {}, 'Dry run'),
      mayTest ? dryRun(session, inForce) : h('p', { class: 'notice' }, `A dry run needs the role agent or admin; you are signed in as ${session.role}.`)));
}

/** The folder's lint state in one notice, and what it means for the rules in force. */
function summary(inForce, lint) {
  const files = new Set(inForce.rules.map((r) => r.file)).size;
  const counts = `${lint.rules} rule${lint.rules === 1 ? '' : 's'} in ${lint.files} file${lint.files === 1 ? '' : 's'}`;
  const folder = h('code', {}, inForce.folder);
  if (!lint.ok) {
    return h('div', { class: 'notice error', role: 'alert', id: 'lint-state' },
      h('p', {}, 'The rules folder ', folder, ` does not load: ${lint.errors.length} problem${lint.errors.length === 1 ? '' : 's'}. `,
        'A running RuleMail keeps judging mail by the rules in force below until the folder loads whole again.'),
      h('ul', { class: 'lint-errors' }, lint.errors.map((e) => h('li', {}, h('code', {}, place(e)), `: ${e.message}`))));
  }
  const differs = lint.files !== files || lint.rules !== inForce.rules.length;
  return h('div', { class: 'notice ok', role: 'status', id: 'lint-state' },
    h('p', {}, 'The rules folder ', folder, ` loads: ${counts}, no problems.`),
    differs ? h('p', { class: 'hint' }, `The folder holds other files than the ${inForce.rules.length} rules in force: `,
      'rulemail run takes changes in when the folder changes, rulemail serve when it starts again.') : null);
}

/** One row per rule file: its rules (name, direction) and its lint state; files that do not load are listed too. */
function filesTable(inForce, lint) {
  const files = new Map();
  for (const rule of inForce.rules) {
    if (!files.has(rule.file)) files.set(rule.file, []);
    files.get(rule.file).push(rule);
  }
  for (const error of lint.errors) {
    if (!files.has(error.file)) files.set(error.file, null);
  }
  const rows = [...files].map(([file, rules]) => {
    const errors = lint.errors.filter((e) => e.file === file);
    return h('tr', { dataset: { file } },
      h('td', {}, h('code', {}, file)),
      h('td', {}, rules === null
        ? h('span', { class: 'muted' }, 'not in force: the folder does not load with it')
        : h('ul', { class: 'rule-names' }, rules.map((r) => h('li', {},
          h('strong', {}, r.name), ' ', h('span', { class: `badge on-${r.on}` }, r.on),
          r.enabled ? null : [' ', h('span', { class: 'badge warn' }, 'disabled')])))),
      h('td', {}, errors.length === 0
        ? h('span', { class: 'badge ok' }, 'ok')
        : [h('span', { class: 'badge bad' }, 'error'),
          h('ul', { class: 'lint-errors' }, errors.map((e) => h('li', {}, h('code', {}, place(e)), `: ${e.message}`)))]));
  });
  if (rows.length === 0) return h('p', { class: 'notice' }, 'No rules are in force: every message passes unchanged.');
  return h('table', { class: 'rule-files' },
    h('thead', {}, h('tr', {}, ['File', 'Rules (in the order they run)', 'Lint'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows));
}

/** The dry run's form: direction, account, the message pasted or chosen as a file; the answer below it. */
function dryRun(session, inForce) {
  const direction = (value, label, checked) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'direction', value, checked }), ` ${label}`);
  const account = h('select', { id: 'dry-account' },
    session.accounts.map((a) => h('option', { value: a.name }, a.address ? `${a.name} (${a.address})` : a.name)),
    h('option', { value: '' }, 'none: the message’s own addresses'));
  const text = h('textarea', { id: 'dry-message', class: 'mono', spellcheck: false, placeholder: 'From: alice@customer.test\nTo: support@rulemail.test\nSubject: …\n\nThe whole message: headers, a blank line, the body' });
  const fileInput = h('input', { type: 'file', id: 'dry-file', accept: '.eml,message/rfc822' });
  const chosen = h('p', { class: 'hint', id: 'dry-chosen' });
  const run = h('button', { type: 'submit', class: 'primary' }, 'Run the rules');
  const result = h('div', { id: 'dry-result' });
  let file = null;

  function choose(next) {
    file = next;
    text.disabled = file !== null;
    replace(chosen, file === null ? [] : [`Testing ${file.name} as it is (${Math.ceil(file.size / 1024)} KB). `,
      h('button', { type: 'button', class: 'link', onclick: () => { fileInput.value = ''; choose(null); } }, 'Paste a message instead')]);
  }
  fileInput.addEventListener('change', () => choose(fileInput.files[0] ?? null));

  const form = h('form', { class: 'dry-run', novalidate: true },
    h('p', { class: 'hint' }, 'Runs one message through the rules in force as RuleMail would judge it (incoming mail is decrypted and verified first); nothing is flagged, moved or sent.'),
    h('fieldset', { class: 'row direction' }, h('legend', {}, 'Direction'),
      direction('incoming', 'Incoming', true), direction('outgoing', 'Outgoing', false)),
    h('div', { class: 'grid' },
      h('label', { for: 'dry-account' }, 'Account'), account,
      h('label', { for: 'dry-message' }, 'Message'), text,
      h('label', { for: 'dry-file' }, 'or an .eml file'), fileInput),
    chosen,
    h('div', { class: 'row' }, run, h('span', { class: 'hint' }, `At most ${session.max_message_mb} MB.`)),
    result);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const message = file ?? (text.value.trim() ? new Blob([text.value.replace(/\r?\n/g, '\r\n')]) : null);
    if (message === null) {
      replace(result, h('p', { class: 'notice error', role: 'alert' }, 'Paste a message or choose an .eml file first.'));
      return;
    }
    const way = form.querySelector('input[name=direction]:checked').value;
    const query = new URLSearchParams({ direction: way });
    if (account.value) query.set('account', account.value);
    const body = new FormData();
    body.append('message', new Blob([message], { type: 'message/rfc822' }), file?.name ?? 'message.eml');
    run.disabled = true;
    replace(result, h('p', { class: 'loading' }, 'Running the rules…'));
    try {
      replace(result, trace(await api(`/api/v1/rules/test?${query}`, { method: 'POST', body }), inForce));
    } catch (e) {
      replace(result, h('p', { class: 'notice error', role: 'alert' }, e.message));
    } finally {
      run.disabled = false;
    }
  });
  return form;
}

/** The dry run's answer: the security the rules saw, every rule in force in order with its fate, the merged decision. */
function trace(test, inForce) {
  const same = (a, b) => a.file === b.file && a.name === b.name;
  const stopper = test.rules.find((r) => r.matched && r.decision?.stop);
  const steps = inForce.rules.map((rule) => {
    const entry = test.rules.find((r) => same(r, rule));
    return entry ? step(entry) : skipped(rule, test.direction, stopper);
  });
  // A rule that ran but is not listed (the set in force changed in between) still belongs to the trace.
  steps.push(...test.rules.filter((entry) => !inForce.rules.some((rule) => same(entry, rule))).map(step));
  return h('div', { class: 'dry-answer', role: 'status' },
    test.security ? security(test.security) : null,
    h('h3', {}, `Trace (${test.direction})`),
    h('ol', { class: 'trace-steps' }, steps),
    h('h3', {}, 'Decision'),
    Object.keys(test.decision).length > 0
      ? decisionList(test.decision, 'merged-decision')
      : h('p', { class: 'muted', id: 'merged-decision' }, 'No rule decided anything: the message passes unchanged.'),
    test.errors.length > 0
      ? h('div', { class: 'notice error' }, h('p', {}, 'Rules that failed (they were skipped; the others still ran):'),
        h('ul', {}, test.errors.map((e) => h('li', {}, e))))
      : null,
    h('details', { class: 'raw' }, h('summary', {}, 'The answer as JSON'), h('pre', { class: 'trace' }, JSON.stringify(test, null, 2))));
}

function step(entry) {
  const [kind, badge, label] = entry.error ? ['failed', 'failed', 'failed'] : entry.matched ? ['matched', 'ok', 'matched'] : ['not-matched', '', 'not matched'];
  return h('li', { class: `step ${kind}`, dataset: { rule: entry.name } },
    h('div', { class: 'step-head' }, h('strong', {}, entry.name), ' ', h('span', { class: `badge ${badge}` }, label), ' ',
      h('code', { class: 'hint' }, entry.file)),
    entry.matched && entry.because.length > 0
      ? h('p', { class: 'because' }, 'because ', entry.because.map((b, i) => [i > 0 ? ' and ' : '', h('code', {}, b)]))
      : null,
    !entry.matched && !entry.error ? h('p', { class: 'because muted' }, 'its conditions did not hold') : null,
    entry.decision ? decisionList(entry.decision) : null,
    entry.error ? h('p', { class: 'error' }, entry.error) : null);
}

function skipped(rule, direction, stopper) {
  const why = !rule.enabled ? 'disabled (enabled: false)'
    : rule.on !== 'both' && rule.on !== direction ? `${rule.on} mail only`
      : stopper ? `${stopper.name} stopped: no later rule runs` : 'not run';
  return h('li', { class: 'step skipped', dataset: { rule: rule.name } },
    h('div', { class: 'step-head' }, h('strong', {}, rule.name), ' ', h('span', { class: 'badge' }, 'not run'), ' ',
      h('code', { class: 'hint' }, rule.file)),
    h('p', { class: 'because muted' }, why));
}

/** A decision as its keys in the rule files' vocabulary, each value in words. */
function decisionList(decision, id) {
  return h('dl', { class: 'facts decision', id }, Object.entries(decision).map(([key, value]) => [
    h('dt', {}, decisionNames[key] ?? key),
    h('dd', {}, decisionValue(key, value)),
  ]));
}

function decisionValue(key, value) {
  if (key === 'security_type') return typeNames[value] ?? value;
  if (key === 'stop') return 'yes: no later rule runs';
  if (key === 'header') return Object.entries(value).map(([name, text]) => h('div', {}, h('code', {}, `${name}: ${text}`)));
  if (key === 'webhook') {
    return value.map((target) => h('div', {}, typeof target === 'string' ? target : [target.url,
      target.secret_env ? ` (signed with $${target.secret_env})` : '',
      target.include?.length ? ` with ${target.include.join(', ')}` : '']));
  }
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** The security result the incoming rules saw: the seed's icons as the inbox shows them, and each part's comment. */
function security(result) {
  const { sign, encryption } = result;
  return h('div', { class: 'dry-security' },
    h('h3', {}, `Security${result.type ? ` (${result.type})` : ''}`),
    h('p', { class: 'security-icons' }, securityIcons(result)),
    h('p', {}, sign ? `Signature: ${sign.comment ?? ''}` : 'Not signed.'),
    h('p', {}, encryption ? `Encryption: ${encryption.comment ?? ''}` : 'Not encrypted.'));
}
