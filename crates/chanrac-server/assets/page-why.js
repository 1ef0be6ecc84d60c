// "Why was this blocked": find logged verdicts by message id, sender, recipient, action and
// time, and show each with its reasons, the evidence highlighted in the original text.

import { api, qs } from './api.js';
import { h, fill, num, when, note, errorNote, field, select, vnInput } from './dom.js';
import { verdictCard } from './verdict.js';
import { t } from './i18n.js';

const PAGE = 20;

/**
 * The written forms of a Vietnamese number (`0912345678`, `+84912345678`, `84912345678`):
 * the verdict log keeps the sender as the message gave it, while the statistics rank the
 * canonical form, so a search tries each.
 */
export function senderForms(sender) {
  const s = sender.trim();
  const digits = s.replace(/[\s.\-()]/g, '');
  const m = /^(?:\+?84|0)(\d{8,10})$/.exec(digits);
  if (!m) return [s];
  return [...new Set([s, `0${m[1]}`, `+84${m[1]}`, `84${m[1]}`])];
}

export async function render(main, ctx) {
  const p = ctx.params;
  const inputs = {
    id: h('input', { name: 'id', value: p.get('id') || '', placeholder: 'm-1', spellcheck: 'false' }),
    sender: h('input', { name: 'sender', value: p.get('sender') || '', placeholder: '0912345678', spellcheck: 'false' }),
    recipient: h('input', { name: 'recipient', value: p.get('recipient') || '', spellcheck: 'false' }),
    action: select({ name: 'action', value: p.get('action') || '' }, [['', t('why.any_action')], ...['block', 'quarantine', 'tag', 'allow'].map((a) => [a, t(`action.${a}`)])]),
    from: h('input', { name: 'from', type: 'datetime-local', value: p.get('from') || '' }),
    to: h('input', { name: 'to', type: 'datetime-local', value: p.get('to') || '' }),
  };
  const results = h('div', { class: 'results', data: { testid: 'why-results' } });
  const form = h('form', { class: 'card search', id: 'why-form' },
    h('div', { class: 'fields' },
      field(t('why.id'), inputs.id),
      field(t('why.sender'), inputs.sender, t('why.sender_hint')),
      field(t('why.recipient'), inputs.recipient),
      field(t('why.action'), inputs.action),
      field(t('why.from'), inputs.from, t('why.vn_time')),
      field(t('why.to'), inputs.to, t('why.vn_time'))),
    h('button', { type: 'submit', class: 'primary' }, t('why.search')));
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, t('nav.why'))), h('p', { class: 'muted' }, t('why.intro')), form, results);

  let found = [];
  let more = false;

  async function search(before) {
    const base = {
      id: inputs.id.value.trim(),
      recipient: inputs.recipient.value.trim(),
      action: inputs.action.value,
      from: vnInput(inputs.from.value),
      to: vnInput(inputs.to.value),
      before,
      limit: PAGE,
    };
    const sender = inputs.sender.value.trim();
    const forms = sender ? senderForms(sender) : [''];
    let pages;
    try {
      pages = await Promise.all(forms.map((f) => api(`/v1/verdicts${qs({ ...base, sender: f })}`)));
    } catch (e) {
      if (ctx.current()) fill(results, errorNote(e));
      return;
    }
    if (!ctx.current()) return;
    const merged = new Map();
    for (const pg of pages) for (const v of pg.verdicts) merged.set(v.log_id, v);
    const page = [...merged.values()].sort((a, b) => b.log_id - a.log_id);
    more = pages.some((pg) => pg.verdicts.length === PAGE);
    found = before ? found.concat(page.slice(0, PAGE)) : page.slice(0, PAGE);
    show();
  }

  function show() {
    if (!found.length) {
      fill(results, note('info', t('why.none')));
      return;
    }
    fill(results,
      h('p', { class: 'muted', data: { testid: 'why-count', value: found.length } }, t('why.count', { n: num(found.length), count: found.length })),
      found.map((v) => verdictCard(v, v.text, [
        [t('why.at'), when(v.at)],
        [t('why.id'), v.id],
        [t('why.sender'), v.sender],
        [t('why.recipient'), v.recipient],
        [t('why.source'), v.source],
      ], ctx.can('lists.edit') && v.sender ? h('a', { class: 'button small', href: `#/lists?add=${encodeURIComponent(v.sender)}` }, t('why.block_sender')) : null)),
      more ? h('button', { type: 'button', class: 'ghost', on: { click: () => search(found[found.length - 1].log_id) } }, t('why.older')) : null);
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    // Keep the search in the address, so it can be shared and reloaded.
    const params = {};
    for (const [k, el] of Object.entries(inputs)) if (el.value) params[k] = el.value.trim();
    history.replaceState(null, '', `#/why${qs(params)}`);
    search();
  });
  await search();
}
