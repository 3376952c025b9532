// The console's shell: the session, the language, the hash routes and the navigation.
// Each page module renders into #page; results and errors go to the #status live region.

import { current, login, logout, resume, whenEnded } from './api.js';
import { field, form, h, quiet, say, fail } from './dom.js';
import { LANGUAGES, lang, setLang, t } from './i18n.js';
import { overview } from './page-overview.js';
import { merchants, merchant, terminal } from './page-merchants.js';
import { accounts, account } from './page-accounts.js';
import { exceptions, deadLetters, pospal } from './page-queues.js';
import { venues, venue } from './page-venues.js';
import { audit } from './page-audit.js';

/** Routes: a pattern of the hash path and the page that renders it. */
const ROUTES = [
  [/^\/overview$/, overview],
  [/^\/merchants$/, merchants],
  [/^\/merchants\/(\d+)$/, merchant],
  [/^\/terminals\/(\d+)$/, terminal],
  [/^\/accounts$/, accounts],
  [/^\/accounts\/(\d+)$/, account],
  [/^\/exceptions$/, exceptions],
  [/^\/dead-letters$/, deadLetters],
  [/^\/venues$/, venues],
  [/^\/venues\/([A-Za-z0-9_-]+)$/, venue],
  [/^\/pospal$/, pospal],
  [/^\/audit$/, audit],
];

let leaving = [];

/** The hash split into its path and query (`#/accounts?merchant_id=3`). */
function location() {
  const raw = window.location.hash.replace(/^#/, '') || '/overview';
  const [path, qs] = raw.split('?');
  return { path, query: new URLSearchParams(qs || '') };
}

function leave() {
  leaving.forEach((fn) => fn());
  leaving = [];
}

function applyStatic() {
  document.querySelectorAll('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  document.title = t('app_title');
  const session = current();
  document.getElementById('who').textContent = session
    ? t('logged_in_as', { principal: session.principal, role: session.role })
    : '';
  // A read-only principal is offered no changes (the API would refuse them with 403).
  document.body.dataset.role = session ? session.role : '';
  document.getElementById('nav').hidden = !session;
  document.getElementById('logout').hidden = !session;
}

function markNav(path) {
  document.querySelectorAll('#nav a').forEach((a) => {
    const target = a.getAttribute('href').slice(1);
    if (path === target || path.startsWith(`${target}/`)) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  });
}

/** Renders the page of the current hash (the login page without a session). */
async function render() {
  leave();
  applyStatic();
  const page = document.getElementById('page');
  if (!current()) {
    renderLogin(page);
    return;
  }
  const { path, query } = location();
  markNav(path);
  const route = ROUTES.find(([pattern]) => pattern.test(path));
  page.replaceChildren(h('p', { class: 'muted' }, t('loading')));
  if (!route) {
    page.replaceChildren(h('h1', { tabindex: -1 }, t('not_found')));
    return;
  }
  const params = path.match(route[0]).slice(1);
  const ctx = { params, query, page, onLeave: (fn) => leaving.push(fn), rerender: render };
  try {
    await route[1](ctx);
  } catch (error) {
    fail(error);
  }
}

function renderLogin(page) {
  const token = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'current-password',
    required: true,
    spellcheck: 'false',
  });
  const submit = async () => {
    const value = token.value;
    token.value = '';
    await login(value);
    quiet();
    say(t('logged_in_as', { principal: current().principal, role: current().role }));
    if (!window.location.hash || window.location.hash === '#/login') window.location.hash = '#/overview';
    else render();
  };
  page.replaceChildren(
    h('h1', { id: 'login-title', tabindex: -1 }, t('login_title')),
    h('p', {}, t('login_hint')),
    form({ class: 'stack', id: 'login', 'aria-labelledby': 'login-title' }, [
      field(t('login_token'), token),
      h('button', { type: 'submit' }, t('login_submit')),
    ], submit),
  );
}

function setupLanguage() {
  const picker = document.getElementById('lang');
  picker.replaceChildren(...LANGUAGES.map(([code, name]) => h('option', { value: code, selected: code === lang() }, name)));
  picker.addEventListener('change', () => {
    setLang(picker.value);
    render();
  });
  setLang(lang());
}

function setupLogout() {
  document.getElementById('logout').addEventListener('click', async () => {
    try {
      await logout();
      say(t('logged_out'));
    } catch (error) {
      fail(error);
    }
    render();
  });
}

async function start() {
  setupLanguage();
  setupLogout();
  whenEnded(() => {
    fail({ status: 401, body: { error: 'unauthorized', message: t('session_ended') } });
    render();
  });
  const main = document.getElementById('main');
  document.getElementById('skip').addEventListener('click', (event) => {
    event.preventDefault();
    main.focus();
  });
  window.addEventListener('hashchange', () => {
    if (!window.location.hash.startsWith('#/')) return;
    quiet();
    render().then(() => main.focus({ preventScroll: true }));
  });
  try {
    await resume();
  } catch (error) {
    fail(error);
  }
  await render();
}

start();
