// Quarantine: the messages the SMPP firewall holds for an analyst, each with the verdict that
// held it (from the verdict log), to release (forward to the SMSC) or discard.

import { api, probe, qs } from './api.js';
import { h, fill, num, when, note, errorNote } from './dom.js';
import { verdictCard } from './verdict.js';
import { t } from './i18n.js';

/** What the page says after a decision. */
const DONE = { release: 'quarantine.released', discard: 'quarantine.discarded' };

/** How many held messages get their verdict looked up (one request each). */
const LOOKUPS = 25;

/** The logged verdict of a held message: same sender, recipient and text, quarantined. */
async function verdictOf(held) {
  try {
    const r = await api(`/v1/verdicts${qs({ sender: held.source, recipient: held.dest, action: 'quarantine', limit: 50 })}`);
    return r.verdicts.find((v) => v.text === held.text) || null;
  } catch {
    return null;
  }
}

export async function render(main, ctx) {
  const head = h('div', { class: 'page-head' }, h('h1', {}, t('nav.quarantine')));
  const status = h('div', {});
  const list = h('div', { class: 'results', data: { testid: 'held' } });
  fill(main, head, h('p', { class: 'muted' }, t('quarantine.intro')), status, list);

  const r = await probe('/v1/quarantine');
  if (!ctx.current()) return;
  if (r.status === 404) {
    fill(list, note('info', t('quarantine.no_smpp')));
    return;
  }
  if (!r.ok) {
    fill(list, errorNote({ status: r.status, message: (r.data && r.data.message) || `HTTP ${r.status}` }));
    return;
  }
  const held = r.data.held;
  const verdicts = await Promise.all(held.slice(0, LOOKUPS).map(verdictOf));
  if (!ctx.current()) return;
  const count = h('p', { class: 'muted', data: { testid: 'held-count', value: held.length } }, t('quarantine.count', { n: num(held.length), count: held.length }));
  if (!held.length) {
    fill(list, count, note('ok', t('quarantine.empty')));
    return;
  }

  function decide(m, decision, card) {
    return async () => {
      for (const b of card.querySelectorAll('button')) b.disabled = true;
      try {
        await api(`/v1/quarantine/${encodeURIComponent(m.id)}/${decision}`, { method: 'POST' });
        card.replaceWith(note('ok', t(DONE[decision], { id: m.id })));
        const left = Number(count.dataset.value) - 1;
        count.dataset.value = left;
        count.textContent = t('quarantine.count', { n: num(left), count: left });
      } catch (e) {
        fill(status, errorNote(e));
        for (const b of card.querySelectorAll('button')) b.disabled = false;
      }
    };
  }

  fill(list, count, held.map((m, i) => {
    const v = verdicts[i];
    const buttons = h('span', { class: 'buttons' });
    const meta = [[t('quarantine.id'), m.id], [t('quarantine.account'), m.system_id], [t('why.sender'), m.source], [t('why.recipient'), m.dest],
      [t('why.at'), v ? when(v.at) : null]];
    const card = v
      ? verdictCard(v, m.text, meta, buttons)
      : h('article', { class: 'verdict action-quarantine' }, h('header', {}, meta.map(([l, x]) => (x ? h('span', { class: 'meta' }, h('span', { class: 'muted' }, l, ' '), x) : null)), buttons),
        h('p', { class: 'msg-text' }, m.text), h('p', { class: 'muted small' }, t('quarantine.no_verdict')));
    card.dataset.heldId = m.id;
    if (ctx.can('quarantine.decide')) {
      buttons.append(
        h('button', { type: 'button', class: 'primary small', data: { testid: 'release' }, on: { click: decide(m, 'release', card) } }, t('quarantine.release')),
        h('button', { type: 'button', class: 'danger small', data: { testid: 'discard' }, on: { click: decide(m, 'discard', card) } }, t('quarantine.discard')));
    }
    return card;
  }));
}
