// Small DOM helpers: elements, labelled fields, accessible tables, the live status region.

import { t } from './i18n.js';

let nextId = 0;

/** A fresh element id. */
export function uid(prefix = 'f') {
  nextId += 1;
  return `${prefix}${nextId}`;
}

/**
 * `<tag>` with `attrs` (`on*` are listeners, `class`, `text`; true is an empty attribute,
 * false/null/undefined are left out) and `children` (nodes or text).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** `input` with its visible label; a checkbox's label follows it. */
export function field(label, input) {
  if (!input.id) input.id = uid();
  const tag = h('label', { for: input.id }, label);
  if (input.type === 'checkbox') return h('div', { class: 'field check' }, input, tag);
  return h('div', { class: 'field' }, tag, input);
}

/** A `<select>` of `[value, label]` options with `selected` chosen. */
export function select(name, options, selected) {
  return h(
    'select',
    { name },
    options.map(([value, label]) => h('option', { value, selected: value === selected }, label)),
  );
}

/**
 * A table captioned `caption` with `columns` (`{label, cell(row)}`; the first column heads
 * its row), scrolling sideways on a narrow screen.
 */
export function table(caption, columns, rows) {
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.label)));
  const body = rows.length
    ? rows.map((row) =>
        h(
          'tr',
          {},
          columns.map((c, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : {}, c.cell(row))),
        ),
      )
    : [h('tr', {}, h('td', { colspan: columns.length }, t('none')))];
  const id = uid('cap');
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-labelledby': id, tabindex: 0 },
    h('table', {}, h('caption', { id }, caption), h('thead', {}, head), h('tbody', {}, body)),
  );
}

/** A definition list of `[term, value]` pairs. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** A link to a console route (`#/...`). */
export function link(route, text) {
  return h('a', { href: `#${route}` }, text);
}

/** A unix-ms time as local `YYYY-MM-DD HH:mm:ss`; '' for null. */
export function time(ms) {
  if (ms === null || ms === undefined) return '';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Today as `YYYY-MM-DD` (local time). */
export function today() {
  return time(Date.now()).slice(0, 10);
}

/** JSON (an object, a text) as compact text for a table cell. */
export function json(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return h('code', { class: 'json' }, JSON.stringify(value));
}

/** A `yes`/`no` label. */
export function yesNo(flag) {
  return flag ? t('yes') : t('no');
}

/** Announces `message` in the live region (a result). */
export function say(message) {
  const status = document.getElementById('status');
  status.className = 'status ok';
  status.replaceChildren(h('p', {}, message));
}

/** Shows an error in the live region: the API's ErrorBody message, its code and field. */
export function fail(error) {
  const status = document.getElementById('status');
  status.className = 'status error';
  const body = error.body || {};
  const detail = [body.error, body.field ? `${t('error_field')}: ${body.field}` : null]
    .filter(Boolean)
    .join(', ');
  status.replaceChildren(
    h('p', {}, h('strong', {}, `${t('error')} ${error.status || ''}: `), body.message || error.message),
    detail ? h('p', { class: 'detail' }, detail) : null,
  );
}

/** Clears the live region. */
export function quiet() {
  const status = document.getElementById('status');
  status.className = 'status';
  status.replaceChildren();
}

/**
 * A form whose submit runs `action(form)` with the submit button disabled meanwhile;
 * errors are shown with `fail`.
 */
export function form(attrs, children, action) {
  const el = h('form', attrs, children);
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    const buttons = el.querySelectorAll('button[type=submit]');
    buttons.forEach((b) => (b.disabled = true));
    try {
      await action(el);
    } catch (error) {
      fail(error);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });
  return el;
}

/** A section with a heading (`h2`) and content. */
export function section(title, ...content) {
  const id = uid('sec');
  return h('section', { 'aria-labelledby': id }, h('h2', { id }, title), content);
}

/**
 * Fills `container` with a table of a paged listing: `fetchPage(beforeId)` answers
 * `{items, next_before_id}`, `makeTable(items)` draws them; an "Older" button loads the
 * next page while there is one.
 */
export async function pagedTable(container, fetchPage, makeTable) {
  let items = [];
  let next = null;
  const more = h('button', { type: 'button', class: 'secondary' }, t('more'));
  const draw = () => container.replaceChildren(makeTable(items), next ? more : '');
  const load = async (before) => {
    const page = await fetchPage(before);
    items = items.concat(page.items || []);
    next = page.next_before_id ?? null;
    draw();
  };
  more.addEventListener('click', () => load(next).catch(fail));
  await load(null);
}

/** A status as a badge (its class is the status, for colour). */
export function badge(status, label = status) {
  return h('span', { class: `badge ${status}` }, label);
}

/** A dialog-like panel (a region with a heading) holding `content`, with a Close button. */
export function panel(title, content, onClose) {
  const id = uid('dlg');
  const close = h('button', { type: 'button', class: 'secondary', onclick: onClose }, t('close'));
  return h('div', { class: 'dialog', role: 'region', 'aria-labelledby': id }, h('h3', { id }, title), content, close);
}
