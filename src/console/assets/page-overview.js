// The overview: requests per protocol, devices online, and what waits in each queue;
// refreshed every 10 seconds while shown.

import { get } from './api.js';
import { fail, h, link, section, table, time } from './dom.js';
import { t } from './i18n.js';

const REFRESH_MS = 10_000;

function card(label, value, route) {
  return h(
    'div',
    { class: value > 0 ? 'card alert' : 'card' },
    h('p', { class: 'label' }, route ? link(route, label) : label),
    h('p', { class: 'value', 'data-count': label }, String(value)),
  );
}

function view(o) {
  return [
    h('p', { class: 'muted' }, t('generated_at', { time: time(o.generated_at_ms) })),
    section(
      t('queues'),
      h('div', { class: 'cards' }, [
        card(t('offline_exceptions_open'), o.offline_exceptions_open, '/exceptions'),
        card(t('dead_letters'), o.dead_letters, '/dead-letters'),
        card(t('pospal_mismatches_open'), o.pospal_mismatches_open, '/pospal'),
        card(t('venue_days_incomplete'), o.venue_days_incomplete, '/venues'),
        card(t('jpos_pending'), o.jpos_pending),
      ]),
    ),
    section(
      t('devices'),
      table(t('devices'), [
        { label: t('family'), cell: (d) => d.family },
        { label: t('online'), cell: (d) => String(d.online) },
        { label: t('total'), cell: (d) => String(d.total) },
      ], o.devices || []),
    ),
    section(
      t('requests'),
      h('p', { class: 'muted' }, t('requests_scope')),
      table(t('requests'), [
        { label: t('protocol'), cell: (r) => r.protocol },
        { label: t('total'), cell: (r) => String(r.total) },
        { label: t('errors'), cell: (r) => String(r.errors) },
      ], o.requests || []),
    ),
  ];
}

/** `#/overview`. */
export async function overview(ctx) {
  const body = h('div', { id: 'overview' });
  ctx.page.replaceChildren(h('h1', { tabindex: -1 }, t('overview_title')), body);
  let stopped = false;
  const load = async () => {
    try {
      const o = await get('/overview');
      if (!stopped) body.replaceChildren(...view(o));
    } catch (error) {
      if (!stopped) fail(error);
    }
  };
  await load();
  const timer = setInterval(load, REFRESH_MS);
  ctx.onLeave(() => {
    stopped = true;
    clearInterval(timer);
  });
}
