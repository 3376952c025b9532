// Merchants and their terminals: the list (search, status), one merchant (settings,
// including announce_payments, and its terminals with their presence), one terminal
// (capabilities, commands with their acknowledgement, sending a command).

import { api, get } from './api.js';
import {
  badge, facts, field, form, h, link, pagedTable, say, section, select, table, time, yesNo, fail, json,
} from './dom.js';
import { t } from './i18n.js';
import { yuan } from './money.js';

const TERMINALS_REFRESH_MS = 10_000;
const COMMANDS_REFRESH_MS = 2_000;

function merchantTable(items) {
  return table(t('merchants_title'), [
    { label: t('code'), cell: (m) => link(`/merchants/${m.id}`, m.code) },
    { label: t('name'), cell: (m) => m.name },
    { label: t('status'), cell: (m) => badge(m.status) },
    { label: t('announce_payments'), cell: (m) => yesNo(m.announce_payments) },
    { label: t('created'), cell: (m) => time(m.created_at_ms) },
  ], items);
}

/** `#/merchants?q=&status=`. */
export async function merchants(ctx) {
  const q = ctx.query.get('q') || '';
  const status = ctx.query.get('status') || '';
  const list = h('div', {});
  const search = form({ class: 'inline', role: 'search' }, [
    field(t('search_text'), h('input', { name: 'q', type: 'search', value: q })),
    field(t('status'), select('status', [['', t('all')], ['active', t('status_active')], ['suspended', t('status_suspended')]], status)),
    h('button', { type: 'submit' }, t('search')),
  ], async (f) => {
    window.location.hash = `#/merchants?${new URLSearchParams({ q: f.q.value, status: f.status.value })}`;
  });
  ctx.page.replaceChildren(h('h1', { tabindex: -1 }, t('merchants_title')), search, list);
  await pagedTable(list, (before) => get('/merchants', { q, status, before_id: before }), merchantTable);
}

function settingsForm(m) {
  const announce = h('input', { type: 'checkbox', name: 'announce_payments', checked: m.announce_payments });
  return form({ class: 'stack', id: 'merchant-settings' }, [
    field(t('name'), h('input', { name: 'name', value: m.name, required: true, maxlength: 128 })),
    field(t('status'), select('status', [['active', t('status_active')], ['suspended', t('status_suspended')]], m.status)),
    field(t('announce_payments'), announce),
    h('button', { type: 'submit' }, t('save')),
  ], async (f) => {
    const patch = {
      name: f.name.value,
      status: f.status.value,
      announce_payments: f.announce_payments.checked,
    };
    await api('PATCH', `/merchants/${m.id}`, patch);
    say(t('saved'));
  });
}

function terminalTable(items) {
  return table(t('terminals'), [
    { label: t('code'), cell: (x) => link(`/terminals/${x.id}`, x.code) },
    { label: t('family'), cell: (x) => x.family },
    { label: t('name'), cell: (x) => x.name },
    { label: t('status'), cell: (x) => badge(x.status) },
    { label: t('online'), cell: (x) => (x.online ? badge('online', t('online')) : badge('offline', t('offline'))) },
    { label: t('last_seen'), cell: (x) => (x.last_seen_at_ms ? time(x.last_seen_at_ms) : t('never')) },
  ], items);
}

/** `#/merchants/{id}`. */
export async function merchant(ctx) {
  const id = ctx.params[0];
  const m = await get(`/merchants/${id}`);
  const terminals = h('div', { id: 'terminals' });
  const loadTerminals = () => pagedTable(terminals, (before) => get(`/merchants/${id}/terminals`, { before_id: before }), terminalTable);
  const refresh = h('button', { type: 'button', class: 'secondary', id: 'terminals-refresh', onclick: () => loadTerminals().catch(fail) }, t('refresh'));
  ctx.page.replaceChildren(
    h('h1', { tabindex: -1 }, t('merchant_title', { code: m.code })),
    facts([[t('id'), String(m.id)], [t('code'), m.code], [t('created'), time(m.created_at_ms)]]),
    h('p', {}, link(`/accounts?merchant_id=${m.id}`, t('merchant_accounts')), ' · ', link(`/pospal?merchant_id=${m.id}`, t('merchant_mismatches'))),
    section(t('merchant_settings'), settingsForm(m)),
    section(t('terminals'), refresh, terminals),
  );
  await loadTerminals();
  const timer = setInterval(() => loadTerminals().catch(fail), TERMINALS_REFRESH_MS);
  ctx.onLeave(() => clearInterval(timer));
}

function commandTable(items) {
  return table(t('commands'), [
    { label: t('id'), cell: (c) => String(c.id) },
    { label: t('api'), cell: (c) => c.api },
    { label: t('status'), cell: (c) => badge(c.status) },
    { label: t('result'), cell: (c) => [c.result_code ?? '', c.result_msg ? ` ${c.result_msg}` : ''] },
    { label: t('sent_at'), cell: (c) => time(c.created_at_ms) },
    { label: t('acked_at'), cell: (c) => time(c.acked_at_ms) },
  ], items);
}

const COMMAND_TYPES = ['open_door', 'set_time', 'sys_cfg', 'group_rule', 'json'];

/** The command the form describes (its `type` and fields). */
function commandOf(f) {
  switch (f.type.value) {
    case 'open_door':
      return f.keep_ms.value ? { type: 'open_door', keep_ms: Number(f.keep_ms.value) } : { type: 'open_door' };
    case 'set_time':
      return { type: 'set_time' };
    case 'sys_cfg':
      return { type: 'sys_cfg', place_name: f.place_name.value };
    case 'group_rule':
      return { type: 'group_rule', group_id: Number(f.group_id.value) };
    default: {
      let command = null;
      try {
        command = JSON.parse(f.command.value);
      } catch {
        command = null;
      }
      if (!command || typeof command !== 'object' || Array.isArray(command)) {
        throw { status: 400, body: { error: 'invalid_body', message: t('command_json_invalid'), field: 'command' } };
      }
      return command;
    }
  }
}

function commandForm(terminalId, reload) {
  const parts = {
    open_door: field(t('keep_ms'), h('input', { name: 'keep_ms', type: 'number', min: 0, max: 60000, inputmode: 'numeric' })),
    sys_cfg: field(t('place_name'), h('input', { name: 'place_name' })),
    group_rule: field(t('group_id'), h('input', { name: 'group_id', type: 'number', min: 1, inputmode: 'numeric' })),
    json: field(t('command_json'), h('textarea', { name: 'command', spellcheck: 'false' })),
  };
  const type = select('type', COMMAND_TYPES.map((c) => [c, c === 'json' ? t('other_json') : c]), 'open_door');
  const show = () => Object.entries(parts).forEach(([k, el]) => (el.hidden = k !== type.value));
  type.addEventListener('change', show);
  show();
  return form({ class: 'stack', id: 'send-command' }, [
    field(t('command_type'), type),
    Object.values(parts),
    field(t('ack'), h('input', { type: 'checkbox', name: 'ack', checked: true })),
    field(t('timeout_seconds'), h('input', { name: 'timeout_seconds', type: 'number', min: 1, max: 3600, value: 30, inputmode: 'numeric' })),
    h('button', { type: 'submit' }, t('send')),
  ], async (f) => {
    const body = { command: commandOf(f), ack: f.ack.checked, timeout_seconds: Number(f.timeout_seconds.value) };
    const sent = await api('POST', `/terminals/${terminalId}/commands`, body);
    say(t('command_sent', { id: sent.id, status: sent.status }));
    await reload();
  });
}

function capabilityTable(items) {
  return table(t('capabilities'), [
    { label: t('capability'), cell: (c) => c.capability },
    { label: t('per_transaction_max'), cell: (c) => yuan(c.per_transaction_max) },
    { label: t('daily_max'), cell: (c) => yuan(c.daily_max) },
    { label: t('granted_at'), cell: (c) => time(c.granted_at_ms) },
  ], items);
}

/** The device's last online report (JSON text of `[key, value]` pairs) as `key: value, …`. */
function onlineReport(text) {
  if (!text) return '';
  try {
    const pairs = JSON.parse(text);
    if (Array.isArray(pairs)) return pairs.map((p) => (Array.isArray(p) ? `${p[0]}: ${p[1]}` : JSON.stringify(p))).join(', ');
  } catch {
    // Not JSON: shown as it is.
  }
  return json(text);
}

/** `#/terminals/{id}`. */
export async function terminal(ctx) {
  const id = ctx.params[0];
  const [x, capabilities] = await Promise.all([get(`/terminals/${id}`), get(`/terminals/${id}/capabilities`)]);
  const commands = h('div', { id: 'commands' });
  let timer = null;
  const loadCommands = async () => {
    clearTimeout(timer);
    if (x.family !== 'mqtt_pos') return;
    const list = await get(`/terminals/${id}/commands`);
    commands.replaceChildren(commandTable(list));
    if (list.some((c) => c.status === 'pending')) timer = setTimeout(() => loadCommands().catch(fail), COMMANDS_REFRESH_MS);
  };
  ctx.onLeave(() => clearTimeout(timer));
  ctx.page.replaceChildren(
    h('h1', { tabindex: -1 }, t('terminal_title', { code: x.code })),
    facts([
      [t('id'), String(x.id)],
      [t('family'), x.family],
      [t('name'), x.name],
      [t('status'), badge(x.status)],
      [t('online'), x.online ? badge('online', t('online')) : badge('offline', t('offline'))],
      [t('last_seen'), x.last_seen_at_ms ? time(x.last_seen_at_ms) : t('never')],
      [t('merchant_id'), link(`/merchants/${x.merchant_id}`, String(x.merchant_id))],
      [t('online_report'), onlineReport(x.online_report)],
    ]),
    section(t('capabilities'), capabilityTable(capabilities)),
    ...(x.family === 'mqtt_pos'
      ? [section(t('commands'), h('button', { type: 'button', class: 'secondary', id: 'commands-refresh', onclick: () => loadCommands().catch(fail) }, t('refresh')), commands),
        section(t('send_command'), commandForm(id, loadCommands))]
      : []),
  );
  await loadCommands();
}
