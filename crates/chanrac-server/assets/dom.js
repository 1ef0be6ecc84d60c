// Building the page. Everything shown comes from the API and may have been written by a
// spammer, so text is only ever set as text (never parsed as HTML), and the server's
// Content-Security-Policy forbids inline scripts and styles anyway.

import { lang, t } from './i18n.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'data') {
      for (const [dk, dv] of Object.entries(v)) if (dv !== null && dv !== undefined) el.dataset[dk] = String(dv);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else if (k === 'value' && 'value' in el && el.namespaceURI !== SVG_NS) {
      el.value = v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** An HTML element: `h('td', {class: 'num'}, '12')`. Strings become text nodes. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element. */
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

function locale() {
  return lang() === 'vi' ? 'vi-VN' : 'en-GB';
}

/**
 * A number as the language writes it (1.234 in Vietnamese, 1,234 in English), with
 * `digits` decimals (at least `least`).
 */
export function num(n, digits = 0, least = digits) {
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: digits, minimumFractionDigits: least }).format(n);
}

/** A percentage of a whole. */
export function pct(part, whole) {
  if (!whole) return '–';
  return new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }).format(part / whole);
}

/** Times are shown in Vietnam time, where the operators and the rules are. */
export const ZONE = 'Asia/Ho_Chi_Minh';

function toDate(x) {
  if (x instanceof Date) return x;
  if (typeof x === 'number') return new Date(x > 1e11 ? x : x * 1000); // ms or s
  return new Date(x);
}

/** A date and time in Vietnam time. */
export function when(x) {
  const d = toDate(x);
  if (Number.isNaN(d.getTime())) return String(x);
  return new Intl.DateTimeFormat(locale(), {
    timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
  }).format(d);
}

/** A short time label for a chart axis: `parts` picks the fields. */
export function clock(x, parts) {
  const opts = { timeZone: ZONE, hour12: false };
  for (const p of parts) opts[p] = '2-digit';
  return new Intl.DateTimeFormat(locale(), opts).format(toDate(x));
}

/**
 * A `datetime-local` input's value, read as Vietnam time, as RFC 3339 (`…+07:00`); empty
 * when the input is empty.
 */
export function vnInput(value) {
  if (!value) return '';
  const withSeconds = value.length === 16 ? `${value}:00` : value;
  return `${withSeconds}+07:00`;
}

/** A notice: `kind` is ok, error, warn or info. */
export function note(kind, ...children) {
  return h('p', { class: ['note', kind], role: kind === 'error' ? 'alert' : 'status' }, ...children);
}

/** An error from the API as a notice. */
export function errorNote(e) {
  if (e && e.status === 403) return note('error', t('err.forbidden'), ' ', h('code', {}, e.message));
  if (e && e.status === 401) return note('error', t('err.unauthorized'));
  return note('error', t('err.failed'), ' ', h('code', {}, e && e.message ? e.message : String(e)));
}

/** A page section with a heading. */
export function section(title, attrs, ...children) {
  return h('section', { class: 'card', ...attrs }, h('h2', {}, title), ...children);
}

/** A table from a header row and rows of cells. */
export function table(head, rows, attrs = {}) {
  // A header cell is a text, or `{text, attrs}` for a cell with attributes.
  const th = (c) => (c && typeof c === 'object' && !(c instanceof Node) ? h('th', c.attrs, c.text) : h('th', {}, c));
  return h('table', attrs, h('thead', {}, h('tr', {}, head.map(th))), h('tbody', {}, rows));
}

/** A labelled form field around an input. */
export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), input, hint ? h('span', { class: 'hint' }, hint) : null);
}

/** A select with `[value, label]` options. */
export function select(attrs, options) {
  return h('select', attrs, options.map(([v, l]) => h('option', { value: v, selected: String(attrs.value ?? '') === String(v) }, l)));
}

/** A badge for an action (allow, tag, quarantine, block) or a category. */
export function badge(kind, value) {
  return h('span', { class: ['badge', `${kind}-${value}`], data: { [kind]: value } }, t(`${kind}.${value}`));
}

/** The periods the statistics pages offer, with the bucket each is drawn in. */
export const PERIODS = {
  '1h': { secs: 3600, bucket: 'minute', size: 60, tick: ['hour', 'minute'] },
  '24h': { secs: 86400, bucket: 'hour', size: 3600, tick: ['hour', 'minute'] },
  '7d': { secs: 7 * 86400, bucket: 'hour', size: 3600, tick: ['day', 'month', 'hour'] },
  '30d': { secs: 30 * 86400, bucket: 'day', size: 86400, tick: ['day', 'month'] },
};

/** The period `key` ending now: `{from, to}` in Unix seconds, with its bucket. */
export function periodRange(key) {
  const p = PERIODS[key] || PERIODS['1h'];
  const to = Math.floor(Date.now() / 1000) + 1;
  return { ...p, key: PERIODS[key] ? key : '1h', from: to - p.secs, to };
}

/** Buttons to pick a period; `onPick(key)` is called with the new one. */
export function periodPicker(current, onPick) {
  const group = h('span', { class: 'seg', role: 'group', 'aria-label': t('period.label'), data: { testid: 'period' } });
  for (const key of Object.keys(PERIODS)) {
    group.appendChild(h('button', {
      type: 'button', 'aria-pressed': String(key === current), data: { period: key },
      on: {
        click: () => {
          for (const b of group.children) b.setAttribute('aria-pressed', String(b.dataset.period === key));
          onPick(key);
        },
      },
    }, t(`period.${key}`)));
  }
  return group;
}
