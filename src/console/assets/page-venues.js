// KTV venues: the list, and one venue's business-day completeness, revenue report and the
// bills of a day. Amounts are fen, shown as yuan.

import { get } from './api.js';
import {
  badge, facts, field, form, h, link, pagedTable, section, table, time, today,
} from './dom.js';
import { t } from './i18n.js';
import { yuan } from './money.js';

/** `#/venues`. */
export async function venues(ctx) {
  const list = h('div', {});
  ctx.page.replaceChildren(h('h1', { tabindex: -1 }, t('venues_title')), list);
  await pagedTable(list, (before) => get('/venues', { before_id: before }), (items) => table(t('venues_title'), [
    { label: t('companycode'), cell: (v) => link(`/venues/${v.companycode}`, v.companycode) },
    { label: t('name'), cell: (v) => v.name },
    { label: t('merchant_id'), cell: (v) => link(`/merchants/${v.merchant_id}`, String(v.merchant_id)) },
    { label: t('status'), cell: (v) => badge(v.status) },
    { label: t('created'), cell: (v) => time(v.created_at_ms) },
  ], items));
}

function daysTable(days) {
  return table(t('days'), [
    { label: t('business_date'), cell: (d) => d.business_date },
    { label: t('status'), cell: (d) => badge(d.status) },
    { label: t('stored_bills'), cell: (d) => String(d.stored_bills) },
    { label: t('stored_revenue'), cell: (d) => yuan(d.stored_revenue) },
    { label: t('reasons'), cell: (d) => (d.reasons || []).join(', ') },
  ], days.filter((d) => d.status !== 'unknown' || d.stored_bills > 0));
}

function reportView(days) {
  if (!days.length) return [h('p', {}, t('none'))];
  return days.map((d) => h('div', { class: 'report-day' },
    h('h3', {}, d.business_date, ' ', badge(d.completeness.status)),
    facts([
      [t('bills'), String(d.summary.bills)],
      [t('counted'), String(d.summary.counted)],
      [t('voided'), String(d.summary.voided)],
      [t('revenue'), yuan(d.summary.revenue)],
      [t('payments'), yuan(d.summary.payments)],
    ]),
    table(`${t('by_payment')} ${d.business_date}`, [
      { label: t('payment_type'), cell: (p) => `${p.payment_type_id} ${p.payment_type_name}` },
      { label: t('amount'), cell: (p) => yuan(p.amount) },
      { label: t('payments'), cell: (p) => String(p.payments) },
    ], d.by_payment || [])));
}

function billsTable(bills, date) {
  return table(`${t('bills')} ${date}`, [
    { label: t('voucher'), cell: (b) => b.voucher },
    { label: t('net'), cell: (b) => yuan(b.net) },
    { label: t('counted'), cell: (b) => String(b.counted) },
    { label: t('revision'), cell: (b) => String(b.revision) },
    { label: t('source'), cell: (b) => b.source },
  ], bills);
}

function dateInput(name, value) {
  return h('input', { name, type: 'date', value, required: true });
}

/** `#/venues/{companycode}?from=&to=&date=`. */
export async function venue(ctx) {
  const code = ctx.params[0];
  const [v, days] = await Promise.all([get(`/venues/${code}`), get(`/venues/${code}/days`)]);
  // By default the newest day with bills (else today).
  const newest = days.filter((d) => d.stored_bills > 0).map((d) => d.business_date).sort().pop() || today();
  const from = ctx.query.get('from') || newest;
  const to = ctx.query.get('to') || from;
  const date = ctx.query.get('date') || to;
  const go = (changes) => {
    const query = new URLSearchParams({ from, to, date, ...changes });
    window.location.hash = `#/venues/${code}?${query}`;
  };
  const [report, bills] = await Promise.all([
    get(`/venues/${code}/report`, { from, to }),
    get(`/venues/${code}/bills`, { date }),
  ]);
  ctx.page.replaceChildren(
    h('h1', { tabindex: -1 }, t('venue_title', { code })),
    facts([[t('name'), v.name], [t('merchant_id'), link(`/merchants/${v.merchant_id}`, String(v.merchant_id))], [t('status'), badge(v.status)]]),
    section(t('days'), daysTable(days)),
    section(t('report'),
      form({ class: 'inline', id: 'report-range', role: 'search', 'aria-label': t('report') }, [
        field(t('from'), dateInput('from', from)),
        field(t('to'), dateInput('to', to)),
        h('button', { type: 'submit' }, t('show')),
      ], async (f) => go({ from: f.from.value, to: f.to.value })),
      h('div', { id: 'report' }, reportView(report))),
    section(t('bills'),
      form({ class: 'inline', id: 'bills-date', role: 'search', 'aria-label': t('bills') }, [
        field(t('date'), dateInput('date', date)),
        h('button', { type: 'submit' }, t('show')),
      ], async (f) => go({ date: f.date.value })),
      h('div', { id: 'bills' }, billsTable(bills, date))),
  );
}
