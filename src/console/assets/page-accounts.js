// Accounts: search by merchant and user, one account (balances, cards, transactions with
// their device fields) and the void (cancel) or refund of a payment, with a reason.

import { api, get, idempotencyKey } from './api.js';
import {
  badge, facts, field, form, h, link, pagedTable, panel, say, section, table, time, json,
} from './dom.js';
import { t } from './i18n.js';
import { assetAmount, fen, yuan } from './money.js';

const ASSETS = ['cash', 'subsidy', 'copies', 'points', 'purse'];

function accountTable(items) {
  return table(t('accounts_title'), [
    { label: t('id'), cell: (a) => link(`/accounts/${a.id}`, String(a.id)) },
    { label: t('user_id'), cell: (a) => a.user_id },
    { label: t('name'), cell: (a) => a.name },
    { label: t('merchant_id'), cell: (a) => link(`/merchants/${a.merchant_id}`, String(a.merchant_id)) },
    { label: t('status'), cell: (a) => badge(a.status) },
    { label: `${t('balance')} (cash)`, cell: (a) => (a.balances ? yuan(a.balances.cash) : '') },
  ], items);
}

/** `#/accounts?merchant_id=&q=`. */
export async function accounts(ctx) {
  const merchantId = ctx.query.get('merchant_id') || '';
  const q = ctx.query.get('q') || '';
  const list = h('div', {});
  const search = form({ class: 'inline', role: 'search' }, [
    field(t('merchant_id'), h('input', { name: 'merchant_id', type: 'number', min: 1, value: merchantId, inputmode: 'numeric' })),
    field(t('search_user'), h('input', { name: 'q', type: 'search', value: q })),
    h('button', { type: 'submit' }, t('search')),
  ], async (f) => {
    window.location.hash = `#/accounts?${new URLSearchParams({ merchant_id: f.merchant_id.value, q: f.q.value })}`;
  });
  ctx.page.replaceChildren(h('h1', { tabindex: -1 }, t('accounts_title')), search, list);
  await pagedTable(list, (before) => get('/accounts', { merchant_id: merchantId, q, before_id: before }), accountTable);
}

function deviceFields(fields) {
  if (!fields || typeof fields !== 'object') return '';
  const entries = Object.entries(fields).filter(([, v]) => v !== null && v !== '');
  return entries.length ? json(Object.fromEntries(entries)) : '';
}

/** The cancel or refund panel of transaction `tx`; `done` reloads the account. */
function reverseForm(kind, tx, done) {
  const key = idempotencyKey();
  const amount = kind === 'refund'
    ? field(t('amount'), h('input', { name: 'amount', required: true, inputmode: 'decimal', value: yuan(tx.posted_amount - (tx.refunded_amount || 0)) }))
    : null;
  return form({ class: 'stack', id: `${kind}-form` }, [
    amount,
    field(t('reason'), h('input', { name: 'reason', required: true, maxlength: 500 })),
    h('button', { type: 'submit' }, t('confirm')),
  ], async (f) => {
    let body = { reason: f.reason.value };
    if (kind === 'refund') {
      const value = fen(f.amount.value);
      if (value === null) throw { status: 400, body: { error: 'invalid_body', message: t('amount_invalid'), field: 'amount' } };
      body = { idempotency_key: key, amount: value, reason: f.reason.value };
    }
    const outcome = await api('POST', `/transactions/${tx.id}/${kind}`, body);
    await done();
    say(t('outcome', { id: outcome.transaction_id, status: outcome.refusal ? `${outcome.status} (${outcome.refusal})` : outcome.status }));
  });
}

function transactionTable(items, openPanel) {
  const actions = (tx) => (tx.kind === 'debit' && tx.status === 'posted'
    ? [
      h('button', { type: 'button', class: 'secondary', 'data-action': 'cancel', 'data-tx': tx.id, onclick: () => openPanel('cancel', tx) }, t('cancel')),
      ' ',
      h('button', { type: 'button', class: 'secondary', 'data-action': 'refund', 'data-tx': tx.id, onclick: () => openPanel('refund', tx) }, t('refund')),
    ]
    : '');
  return table(t('transactions'), [
    { label: t('id'), cell: (x) => String(x.id) },
    { label: t('kind'), cell: (x) => x.kind },
    { label: t('status'), cell: (x) => [badge(x.status), x.refusal ? ` ${x.refusal}` : ''] },
    { label: t('asset'), cell: (x) => x.asset || '' },
    { label: t('posted'), cell: (x) => assetAmount(x.asset, x.posted_amount) },
    { label: t('refunded'), cell: (x) => (x.refunded_amount ? assetAmount(x.asset, x.refunded_amount) : '') },
    { label: t('terminal'), cell: (x) => x.terminal || '' },
    { label: t('device_fields'), cell: (x) => deviceFields(x.device_fields) },
    { label: t('business_date'), cell: (x) => x.business_date },
    { label: t('created'), cell: (x) => time(x.created_at_ms) },
    { label: t('actions'), cell: actions },
  ], items);
}

/** `#/accounts/{id}`. */
export async function account(ctx) {
  const id = ctx.params[0];
  const a = await get(`/accounts/${id}`);
  const balances = h('div', {});
  const transactions = h('div', { id: 'transactions' });
  const dialog = h('div', {});
  const reload = async () => {
    const b = await get(`/accounts/${id}/balances`);
    balances.replaceChildren(table(t('balances'), [
      { label: t('asset'), cell: (asset) => asset },
      { label: t('balance'), cell: (asset) => assetAmount(asset, b[asset]) },
    ], ASSETS));
    dialog.replaceChildren();
    await pagedTable(transactions, (before) => get('/transactions', { account_id: id, before_id: before }), (items) => transactionTable(items, openPanel));
  };
  const openPanel = (kind, tx) => {
    const title = t(kind === 'cancel' ? 'cancel_title' : 'refund_title', { id: tx.id });
    dialog.replaceChildren(panel(title, reverseForm(kind, tx, reload), () => dialog.replaceChildren()));
    dialog.querySelector('input').focus();
  };
  ctx.page.replaceChildren(
    h('h1', { tabindex: -1 }, t('account_title', { id: a.id })),
    facts([
      [t('user_id'), a.user_id],
      [t('name'), a.name],
      [t('merchant_id'), link(`/merchants/${a.merchant_id}`, String(a.merchant_id))],
      [t('status'), badge(a.status)],
      [t('cards'), (a.cards || []).map((c) => c.pan_masked).join(', ')],
      [t('created'), time(a.created_at_ms)],
    ]),
    section(t('balances'), balances),
    section(t('transactions'), dialog, transactions),
  );
  await reload();
}
