// The admin audit log: who did what through the API or the console, newest first.

import { get } from './api.js';
import { h, json, pagedTable, table, time } from './dom.js';
import { t } from './i18n.js';

/** `#/audit`. */
export async function audit(ctx) {
  const list = h('div', { id: 'audit' });
  ctx.page.replaceChildren(h('h1', { tabindex: -1 }, t('audit_title')), list);
  await pagedTable(list, (before) => get('/audit-log', { before_id: before, limit: 50 }), (items) => table(t('audit_title'), [
    { label: t('id'), cell: (e) => String(e.id) },
    { label: t('at'), cell: (e) => time(e.at_ms) },
    { label: t('principal'), cell: (e) => e.principal },
    { label: t('role'), cell: (e) => e.role },
    { label: t('via'), cell: (e) => e.via || '' },
    { label: t('method'), cell: (e) => e.method },
    { label: t('path'), cell: (e) => e.path },
    { label: t('status'), cell: (e) => String(e.status) },
    { label: t('body'), cell: (e) => json(e.body) },
  ], items));
}
