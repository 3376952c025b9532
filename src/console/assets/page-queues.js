// The queues an operator works through: offline exceptions (book to an account or write
// off), dead letters of the partner intake (replay), Pospal balance mismatches (resolve).

import { api, current, get } from './api.js';
import {
  badge, field, form, h, link, pagedTable, panel, say, select, table, time,
} from './dom.js';
import { t } from './i18n.js';
import { assetAmount, yuan } from './money.js';

/** The operator named in replays and resolutions: the session's principal. */
function operator() {
  return current() ? current().principal : 'console';
}

/** A list page: a filter form (`filters`, navigating to `route?...`) above `body`. */
function listPage(ctx, title, route, filters, body) {
  const search = form({ class: 'inline', role: 'search' }, [
    filters,
    h('button', { type: 'submit' }, t('show')),
  ], async (f) => {
    const query = new URLSearchParams();
    for (const el of f.elements) if (el.name && el.value) query.set(el.name, el.value);
    window.location.hash = `#${route}?${query}`;
  });
  ctx.page.replaceChildren(h('h1', { tabindex: -1 }, title), search, ...[body].flat());
}

/** Opens `content` as a panel titled `title` in `dialog`, focusing its first field. */
function open(dialog, title, content) {
  dialog.replaceChildren(panel(title, content, () => dialog.replaceChildren()));
  const first = dialog.querySelector('input, select, textarea');
  if (first) first.focus();
}

/**
 * A queue page: `spec.filters` above a table (`spec.id`) of what `spec.fetch(beforeId)`
 * answers (a list, or a page with `next_before_id`), in `spec.columns(action)`. A row's
 * `action(name, label, title, makeForm)` is a button opening `makeForm(done)` in a panel;
 * `done(message)` closes it, reloads the table and announces the result.
 */
async function queuePage(ctx, spec) {
  const list = h('div', { id: spec.id });
  const dialog = h('div', {});
  const action = (name, label, title, makeForm) => h('button', {
    type: 'button', class: 'secondary', 'data-action': name, onclick: () => open(dialog, title, makeForm(done)),
  }, label);
  const fetchPage = async (before) => {
    const answer = await spec.fetch(before);
    return Array.isArray(answer) ? { items: answer } : answer;
  };
  const load = () => pagedTable(list, fetchPage, (items) => table(spec.title, spec.columns(action), items));
  const done = async (message) => {
    dialog.replaceChildren();
    await load();
    say(message);
  };
  listPage(ctx, spec.title, spec.route, spec.filters, [dialog, list]);
  await load();
}

function noteField() {
  return field(t('note'), h('input', { name: 'note', required: true, maxlength: 500 }));
}

/** `#/exceptions?status=&merchant_id=`. */
export async function exceptions(ctx) {
  const status = ctx.query.get('status') || 'open';
  const merchantId = ctx.query.get('merchant_id') || '';
  await queuePage(ctx, {
    id: 'exceptions',
    title: t('exceptions_title'),
    route: '/exceptions',
    filters: [
      field(t('status'), select('status', [['open', 'open'], ['booked', 'booked'], ['written_off', 'written_off']], status)),
      field(t('merchant_id'), h('input', { name: 'merchant_id', type: 'number', min: 1, value: merchantId, inputmode: 'numeric' })),
    ],
    fetch: (before) => get('/offline-exceptions', { status, merchant_id: merchantId, before_id: before }),
    columns: (action) => [
      { label: t('id'), cell: (x) => String(x.id) },
      { label: t('terminal'), cell: (x) => x.terminal },
      { label: t('user'), cell: (x) => x.user_id },
      { label: t('mode'), cell: (x) => String(x.mode) },
      { label: t('amount'), cell: (x) => assetAmount(x.mode === 52 ? 'copies' : 'cash', x.amount) },
      { label: t('reason'), cell: (x) => x.reason },
      { label: t('status'), cell: (x) => [badge(x.status), x.resolution_note ? ` ${x.resolution_note}` : ''] },
      { label: t('created'), cell: (x) => time(x.created_at_ms) },
      { label: t('actions'), cell: (x) => (x.status === 'open' ? [
        action('book', t('book'), t('book_title', { id: x.id }), (done) => bookForm(x, done)),
        ' ',
        action('write-off', t('write_off'), t('write_off_title', { id: x.id }), (done) => writeOffForm(x, done)),
      ] : '') },
    ],
  });
}

function bookForm(x, done) {
  return form({ class: 'stack', id: 'book-form' }, [
    field(t('account_id'), h('input', { name: 'account_id', type: 'number', min: 1, required: true, inputmode: 'numeric' })),
    noteField(),
    h('button', { type: 'submit' }, t('book')),
  ], async (f) => {
    await api('POST', `/offline-exceptions/${x.id}/book`, { account_id: Number(f.account_id.value), note: f.note.value });
    await done(t('resolved', { id: x.id, status: 'booked' }));
  });
}

function writeOffForm(x, done) {
  return form({ class: 'stack', id: 'write-off-form' }, [
    noteField(),
    h('button', { type: 'submit' }, t('write_off')),
  ], async (f) => {
    const after = await api('POST', `/offline-exceptions/${x.id}/write-off`, { note: f.note.value });
    await done(t('resolved', { id: x.id, status: after.status }));
  });
}

/** `#/dead-letters?partner=&status=`. */
export async function deadLetters(ctx) {
  const partner = ctx.query.get('partner') || '';
  const status = ctx.query.get('status') || 'dead';
  await queuePage(ctx, {
    id: 'dead-letters',
    title: t('dead_letters_title'),
    route: '/dead-letters',
    filters: [
      field(t('partner'), select('partner', [['', t('all')], ['pospal', 'pospal'], ['ktv', 'ktv']], partner)),
      field(t('status'), select('status', ['dead', 'received', 'applied', 'replayed', 'all'].map((s) => [s, s]), status)),
    ],
    fetch: (before) => get('/intake', { partner, status, before_id: before }),
    columns: (action) => [
      { label: t('id'), cell: (m) => String(m.id) },
      { label: t('partner'), cell: (m) => m.partner },
      { label: t('owner'), cell: (m) => m.owner },
      { label: t('kind'), cell: (m) => m.kind },
      { label: t('status'), cell: (m) => badge(m.status) },
      { label: t('reason'), cell: (m) => m.reason || '' },
      { label: t('attempts'), cell: (m) => String(m.attempts) },
      { label: t('received_at'), cell: (m) => time(m.received_at_ms) },
      { label: t('actions'), cell: (m) => (m.status === 'dead' || m.status === 'received'
        ? action('replay', t('replay'), t('replay_title', { id: m.id }), (done) => replayForm(m, done))
        : '') },
    ],
  });
}

function replayForm(m, done) {
  return form({ class: 'stack', id: 'replay-form' }, [
    noteField(),
    field(t('corrected_body'), h('textarea', { name: 'corrected', spellcheck: 'false' })),
    h('button', { type: 'submit' }, t('replay')),
  ], async (f) => {
    const body = { operator: operator(), note: f.note.value };
    if (f.corrected.value.trim()) body.corrected_body_b64 = f.corrected.value.trim();
    const after = await api('POST', `/intake/${m.id}/replay`, body);
    await done(t('replayed', { id: m.id, status: after.status }));
  });
}

/** `#/pospal?merchant_id=&status=`. */
export async function pospal(ctx) {
  const merchantId = ctx.query.get('merchant_id') || '';
  const status = ctx.query.get('status') || 'open';
  await queuePage(ctx, {
    id: 'mismatches',
    title: t('pospal_title'),
    route: '/pospal',
    filters: [
      field(t('merchant_id'), h('input', { name: 'merchant_id', type: 'number', min: 1, required: true, value: merchantId, inputmode: 'numeric' })),
      field(t('status'), select('status', [['open', 'open'], ['resolved', 'resolved']], status)),
    ],
    fetch: async () => (merchantId ? get(`/merchants/${merchantId}/pospal/mismatches`, { status, limit: 500 }) : []),
    columns: (action) => [
      { label: t('id'), cell: (m) => String(m.id) },
      { label: t('customer'), cell: (m) => link(`/accounts/${m.account_id}`, m.customer_uid) },
      { label: t('asset'), cell: (m) => m.asset },
      { label: t('pospal_balance'), cell: (m) => yuan(m.pospal_balance) },
      { label: t('posgate_balance'), cell: (m) => yuan(m.posgate_balance) },
      { label: t('recorded_at'), cell: (m) => time(m.recorded_at_ms) },
      { label: t('status'), cell: (m) => badge(m.status) },
      { label: t('resolution'), cell: (m) => [m.resolution, m.note ? ` ${m.note}` : ''] },
      { label: t('actions'), cell: (m) => (m.status === 'open'
        ? action('resolve', t('resolve'), t('resolve_title', { id: m.id }), (done) => resolveForm(merchantId, m, done))
        : '') },
    ],
  });
}

function resolveForm(merchantId, m, done) {
  return form({ class: 'stack', id: 'resolve-form' }, [
    field(t('action'), select('action', [['note', t('action_note')], ['adjust', t('action_adjust')]], 'note')),
    noteField(),
    h('button', { type: 'submit' }, t('resolve')),
  ], async (f) => {
    const body = { action: f.action.value, operator: operator(), note: f.note.value };
    const after = await api('POST', `/merchants/${merchantId}/pospal/mismatches/${m.id}/resolve`, body);
    await done(`${t('resolve')}: ${after.id} ${after.resolution}`);
  });
}
