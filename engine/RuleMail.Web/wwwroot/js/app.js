// The web UI's shell: the session (sign in with an API token, sign out), the page navigation and the routes.
// Each page is a module with render(main, session); what a role may do is enforced by the API, the pages only
// leave out buttons a role cannot use.

import { api, useCsrf, ApiError } from './api.js';
import { h, replace, toast } from './dom.js';

const pages = {
  composer: { title: 'Composer', module: './composer.js' },
  inbox: { title: 'Inbox', module: './inbox.js' },
  keys: { title: 'Keys', module: './keys.js' },
  outbox: { title: 'Outbox', module: './outbox.js' },
  rules: { title: 'Rules', module: './rules.js' },
};

const roles = ['viewer', 'agent', 'admin'];

let session = null;
// The newest route(): a page whose module or render is still on its way when another page is chosen draws into its own
// container, which is no longer in the document, so two quick hash changes never leave one page inside the other.
let routing = 0;

/** True when the signed-in token's role is `role` or above. */
export function may(role) {
  return session !== null && roles.indexOf(session.role) >= roles.indexOf(role);
}

async function boot() {
  window.addEventListener('hashchange', route);
  window.addEventListener('rulemail:signed-out', () => start());
  await start();
}

async function start() {
  try {
    session = await api('/ui/session');
  } catch (error) {
    replace(document.getElementById('main'), h('p', { class: 'notice error' }, `RuleMail does not answer: ${error.message}`));
    return;
  }
  useCsrf(session.csrf);
  if (!session.signed_in) {
    session = null;
    signInPage();
    return;
  }
  shell();
  await route();
}

function signInPage() {
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  const token = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true, spellcheck: false, placeholder: 'rmt_…' });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'card signin', method: 'post', action: '/ui/session' },
    h('h1', {}, 'Sign in to RuleMail'),
    h('label', { for: 'token' }, 'API token'),
    token,
    h('p', { class: 'hint' }, 'An administrator makes one with ', h('code', {}, 'rulemail tokens create NAME --role viewer|agent|admin'), '.'),
    h('input', { type: 'hidden', name: '__RequestVerificationToken', value: session?.csrf ?? '' }),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    try {
      const body = new URLSearchParams(new FormData(form));
      const signedIn = await api('/ui/session', { method: 'POST', body, type: 'application/x-www-form-urlencoded' });
      useCsrf(signedIn.csrf);
      session = signedIn;
      shell();
      if (location.hash === '' || location.hash === '#') location.hash = '#/composer'; // the hashchange routes
      else await route();
    } catch (e) {
      error.textContent = e.message;
      if (e instanceof ApiError && e.status === 400) await start();
    }
  });
  replace(document.getElementById('main'), form);
  token.focus();
}

function shell() {
  const nav = document.getElementById('nav');
  replace(nav, Object.entries(pages).map(([id, page]) => h('a', { href: `#/${id}`, dataset: { page: id } }, page.title)));
  nav.hidden = false;
  const who = document.getElementById('who');
  replace(who,
    h('span', { class: 'whoami' }, session.name, ' ', h('span', { class: `badge role-${session.role}` }, session.role)),
    h('button', { type: 'button', class: 'link', onclick: signOut }, 'Sign out'));
  who.hidden = false;
}

async function signOut() {
  try {
    await api('/ui/session/end', { method: 'POST' });
  } catch (e) {
    toast(e.message, 'error');
  }
  session = null;
  location.hash = '';
  await start();
}

async function route() {
  if (session === null) return;
  const mine = ++routing;
  const id = (location.hash.match(/^#\/([a-z]+)/) ?? [])[1] ?? 'composer';
  const page = pages[id] ?? pages.composer;
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.page === id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${page.title} · RuleMail`;
  const main = document.getElementById('main');
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  const container = h('div', { class: 'page', dataset: { page: id } });
  try {
    const module = await import(page.module);
    if (mine !== routing) return;
    replace(main, container);
    await module.render(container, session);
  } catch (e) {
    if (mine === routing) replace(main, h('p', { class: 'notice error', role: 'alert' }, e.message));
  }
}

boot();
