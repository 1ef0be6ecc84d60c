// The dashboard's shell: log in with an API key, the navigation (by the key's roles), the
// language switch, and a router over `#/page?query`.

import { api, getKey, setKey, clearKey } from './api.js';
import { h, fill, note, field } from './dom.js';
import { t, lang, setLang } from './i18n.js';
import * as overview from './page-overview.js';
import * as why from './page-why.js';
import * as sources from './page-sources.js';
import * as quarantine from './page-quarantine.js';
import * as lists from './page-lists.js';
import * as rules from './page-rules.js';
import * as tryIt from './page-try.js';
import * as system from './page-system.js';
import * as hub from './page-hub.js';

/** Who may see the operator's pages and do what (the API enforces the same). */
const OPERATORS = ['operator', 'regulator'];
const CAPS = {
  'lists.edit': OPERATORS,
  'quarantine.decide': OPERATORS,
  'hub.decide': ['regulator'],
  reload: OPERATORS,
};

/** The pages, in the navigation's order. `roles`: who sees it (any role when absent). */
const PAGES = [
  { id: 'overview', module: overview, roles: OPERATORS },
  { id: 'why', module: why, roles: OPERATORS },
  { id: 'sources', module: sources, roles: OPERATORS },
  { id: 'quarantine', module: quarantine, roles: OPERATORS },
  { id: 'lists', module: lists, roles: OPERATORS },
  { id: 'rules', module: rules, roles: OPERATORS },
  { id: 'try', module: tryIt, roles: OPERATORS },
  { id: 'system', module: system, roles: OPERATORS },
  { id: 'hub', module: hub },
];

let session = null;
let timers = [];
let generation = 0;

function hasAny(roles) {
  return !roles || roles.some((r) => session.roles.includes(r));
}

function visible() {
  return PAGES.filter((p) => hasAny(p.roles));
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  return { id: path || '', params: new URLSearchParams(query || '') };
}

/** Goes to a page: `go('why', {sender: '…'})`. */
function go(id, params = {}) {
  const q = new URLSearchParams(params).toString();
  const target = `#/${id}${q ? `?${q}` : ''}`;
  if (location.hash === target) route();
  else location.hash = target;
}

function stopTimers() {
  for (const id of timers) clearInterval(id);
  timers = [];
}

async function route() {
  stopTimers();
  const my = ++generation;
  const main = document.getElementById('main');
  const { id, params } = parseHash();
  const pages = visible();
  renderNav(id);
  if (!pages.length) {
    fill(main, note('warn', t('app.no_pages', { roles: session.roles.join(', ') })));
    return;
  }
  const page = PAGES.find((p) => p.id === id);
  if (!page) {
    go(pages[0].id);
    return;
  }
  if (!hasAny(page.roles)) {
    fill(main, h('h1', {}, t(`nav.${page.id}`)), note('error', t('app.page_forbidden', { roles: page.roles.join(', ') })));
    return;
  }
  document.title = `${t(`nav.${page.id}`)} — chặn rác`;
  const ctx = {
    session,
    params,
    go,
    can: (cap) => hasAny(CAPS[cap] || []),
    roles: session.roles,
    /** Runs `fn` every `ms` while this page stays open. */
    every(ms, fn) {
      if (my === generation) timers.push(setInterval(fn, ms));
    },
    /** False once the user has left the page (so late answers are dropped). */
    current: () => my === generation,
    /** Refreshes the session (lists version, rules) after a change. */
    async refreshSession() {
      session = await api('/ui/session');
      renderWho();
      return session;
    },
  };
  fill(main, h('p', { class: 'muted' }, t('app.loading')));
  try {
    await page.module.render(main, ctx);
  } catch (e) {
    if (my === generation) fill(main, h('h1', {}, t(`nav.${page.id}`)), note('error', t('err.failed'), ' ', h('code', {}, e.message)));
    console.warn(e);
  }
}

function renderNav(current) {
  const nav = document.getElementById('nav');
  if (!session) {
    fill(nav);
    return;
  }
  fill(nav, h('ul', {}, visible().map((p) =>
    h('li', {}, h('a', { href: `#/${p.id}`, class: p.id === current ? 'active' : null, 'aria-current': p.id === current ? 'page' : null, data: { page: p.id } }, t(`nav.${p.id}`))))));
}

function renderWho() {
  const who = document.getElementById('whoami');
  const out = document.getElementById('logout');
  document.getElementById('brand-sub').textContent = t('app.subtitle');
  if (!session) {
    fill(who);
    out.hidden = true;
    return;
  }
  if (session.dev) {
    fill(who, h('span', { class: 'badge warn', title: t('app.dev_hint') }, t('app.dev')));
    out.hidden = true;
  } else {
    fill(who, h('span', { class: 'muted' }, t('app.key')), ' ', h('strong', { data: { testid: 'key-name' } }, session.name), ' ',
      h('span', { class: 'roles', data: { testid: 'roles' } }, session.roles.map((r) => t(`role.${r}`)).join(', ')));
    out.hidden = false;
    out.textContent = t('app.logout');
  }
}

function renderLangSwitch() {
  for (const b of document.querySelectorAll('#lang-switch button')) {
    b.setAttribute('aria-pressed', String(b.dataset.lang === lang()));
  }
  document.documentElement.lang = lang();
}

function loginForm(message) {
  const main = document.getElementById('main');
  renderNav(null);
  const input = h('input', { type: 'password', name: 'key', autocomplete: 'off', required: true, id: 'login-key', spellcheck: 'false' });
  const form = h('form', { class: 'login card', id: 'login' },
    h('h1', {}, t('login.title')),
    h('p', {}, t('login.intro')),
    message || null,
    field(t('login.key'), input, t('login.hint')),
    h('button', { type: 'submit', class: 'primary' }, t('login.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setKey(input.value.trim());
    await start();
  });
  fill(main, form);
  input.focus();
}

/** Loads the session with the stored key (none in development mode) and shows the pages. */
async function start() {
  try {
    session = await api('/ui/session');
  } catch (e) {
    session = null;
    renderWho();
    const hadKey = !!getKey();
    clearKey();
    if (e.status === 401) loginForm(hadKey ? note('error', t('login.rejected')) : null);
    else loginForm(note('error', t('err.failed'), ' ', h('code', {}, e.message)));
    return;
  }
  renderWho();
  route();
}

function init() {
  renderLangSwitch();
  for (const b of document.querySelectorAll('#lang-switch button')) {
    b.addEventListener('click', () => {
      setLang(b.dataset.lang);
      renderLangSwitch();
      renderWho();
      if (session) route();
      else if (document.getElementById('login')) loginForm();
    });
  }
  document.getElementById('logout').addEventListener('click', () => {
    clearKey();
    session = null;
    stopTimers();
    renderWho();
    history.replaceState(null, '', '#/');
    loginForm(note('info', t('login.logged_out')));
  });
  window.addEventListener('hashchange', () => {
    if (session) route();
  });
  start();
}

init();
