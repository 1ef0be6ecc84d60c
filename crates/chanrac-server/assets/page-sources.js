// Top sources: the senders, brandnames and link domains of the most blocked messages, with
// an action to put one on a list (with a reason, for the audit log).

import { api, qs } from './api.js';
import { h, fill, num, section, note, errorNote, periodPicker, periodRange } from './dom.js';
import { t } from './i18n.js';
import { CAMPAIGNS, featureView } from './page-hub.js';

const TOP = 20;

/** Which list a ranked sender goes on: a brandname has letters, a number has none. */
export function senderKind(value) {
  return /[A-Za-z]/.test(value) ? 'brandnames' : 'senders';
}

/** An inline form: side, reason, confirm; `onDone(entry)` after the API stored it. */
function addForm(kind, value, onDone) {
  const side = h('select', { name: 'side' }, h('option', { value: 'block' }, t('side.block')), h('option', { value: 'allow' }, t('side.allow')));
  const reason = h('input', { name: 'reason', required: true, placeholder: t('lists.reason_placeholder'), size: 28 });
  const out = h('span', { class: 'inline-result' });
  const form = h('form', { class: 'inline-form', data: { testid: 'add-form' } },
    side, reason, h('button', { type: 'submit', class: 'primary small' }, t('sources.confirm')), out);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await api(`/v1/lists/${side.value}/${kind}`, { method: 'POST', body: { value, reason: reason.value } });
      onDone(r.entry, side.value);
    } catch (err) {
      fill(out, errorNote(err));
    }
  });
  setTimeout(() => reason.focus(), 0);
  return form;
}

function rankTable(rows, { kindOf, showKind, listed, can, testid, messagesLink }) {
  if (!rows.length) return note('info', t('sources.none'));
  const max = Math.max(...rows.map((r) => r.count));
  return h('table', { class: 'rank', data: { testid } },
    h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, t('sources.value')), showKind ? h('th', {}, t('sources.kind')) : null,
      h('th', { class: 'num' }, t('sources.blocked')), h('th', {}, ''), h('th', {}, t('sources.actions')))),
    h('tbody', {}, rows.map((r, i) => {
      const kind = kindOf(r.value);
      const cell = h('td', { class: 'actions' });
      const showButtons = (stored) => {
        const status = listed.get(`${kind}/${r.value}`);
        fill(cell,
          status ? h('span', { class: ['badge', `side-${status}`], data: { testid: 'listed' }, title: stored ? t('sources.stored_as', { value: stored }) : null }, t(`sources.on_${status}`)) : null,
          can && !status ? h('button', { type: 'button', class: 'small', data: { testid: 'add-to-list' }, on: { click: () => fill(cell, addForm(kind, r.value, done)) } }, t('sources.add_to_list')) : null,
          messagesLink ? h('a', { class: 'button small ghost', href: messagesLink(r.value) }, t('sources.messages')) : null);
      };
      const done = (entry, side) => {
        listed.set(`${kind}/${r.value}`, side);
        showButtons(entry.value);
      };
      showButtons();
      return h('tr', { data: { value: r.value, count: r.count } },
        h('td', { class: 'num muted' }, String(i + 1)),
        h('td', { class: 'nowrap' }, h('code', {}, r.value)),
        showKind ? h('td', {}, t(`kind.${kind}`)) : null,
        h('td', { class: 'num' }, num(r.count)),
        h('td', { class: 'barcell' }, h('span', { class: 'minibar', data: { width: Math.round((100 * r.count) / max) } })),
        cell);
    })));
}

export async function render(main, ctx) {
  let period = ctx.params.get('period') || '24h';
  const body = h('div', {});
  fill(main,
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.sources')), periodPicker(period, (p) => { period = p; load(); })),
    h('p', { class: 'muted' }, t('sources.intro')),
    body);

  async function load() {
    const range = periodRange(period);
    let stats;
    let entries;
    try {
      [stats, { entries }] = await Promise.all([
        api(`/v1/stats${qs({ from: range.from, to: range.to, bucket: 'day', top: TOP })}`),
        api('/v1/lists'),
      ]);
    } catch (e) {
      if (ctx.current()) fill(body, errorNote(e));
      return;
    }
    const campaigns = await featureView(CAMPAIGNS);
    if (!ctx.current()) return;
    const listed = new Map(entries.map((e) => [`${e.kind}/${e.value}`, e.side]));
    const can = ctx.can('lists.edit');
    fill(body,
      section(t('sources.senders'), { data: { testid: 'top-senders-card' } },
        rankTable(stats.top_senders, { kindOf: senderKind, showKind: true, listed, can, testid: 'top-senders', messagesLink: (v) => `#/why?sender=${encodeURIComponent(v)}&action=block` })),
      section(t('sources.domains'), { data: { testid: 'top-domains-card' } },
        rankTable(stats.top_domains, { kindOf: () => 'domains', showKind: false, listed, can, testid: 'top-domains' })),
      section(t('sources.campaigns'), { data: { testid: 'campaigns' } }, campaigns));
    // Bar widths through the CSSOM (inline style attributes are refused by the page's policy).
    for (const bar of body.querySelectorAll('.minibar')) bar.style.width = `${bar.dataset.width}%`;
  }
  await load();
}
