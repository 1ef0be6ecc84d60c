// Rules: every signal the engine in effect may emit (built-in signals and the rules of the
// packs), with its weight after the policy, and the thresholds that turn a score into an
// action. Read-only: rules live in rule-pack files (docs/rules.md) and change by a reload,
// which the audit log records.

import { api } from './api.js';
import { h, fill, num, section, note, errorNote, select } from './dom.js';
import { t } from './i18n.js';

export async function render(main, ctx) {
  let data;
  try {
    data = await api('/ui/rules');
  } catch (e) {
    fill(main, h('h1', {}, t('nav.rules')), errorNote(e));
    return;
  }
  if (!ctx.current()) return;
  const [tag, quarantine, block] = data.thresholds;
  const search = h('input', { type: 'search', name: 'rule-search', placeholder: t('rules.search'), value: ctx.params.get('q') || '' });
  const kind = select({ name: 'rule-kind' }, [['', t('rules.all_kinds')], ['rule', t('rules.kind_rule')], ['builtin', t('rules.kind_builtin')]]);
  const category = select({ name: 'rule-category' }, [['', t('rules.all_categories')], ...['scam', 'spam', 'ad', 'ham'].map((c) => [c, t(`category.${c}`)])]);
  const box = h('div', {});

  function show() {
    const q = search.value.trim().toLowerCase();
    const shown = data.signals.filter((s) => (!kind.value || s.kind === kind.value) && (!category.value || s.category === category.value)
      && (!q || `${s.id} ${s.topic || ''} ${s.description} ${s.fires.join(' ')}`.toLowerCase().includes(q)));
    fill(box,
      h('p', { class: 'muted', data: { testid: 'rules-count', value: shown.length, total: data.signals.length } }, t('rules.count', { n: num(shown.length), total: num(data.signals.length) })),
      h('table', { class: 'rules', data: { testid: 'rules' } },
        h('thead', {}, h('tr', {}, [t('verdict.signal'), t('rules.category'), { n: t('verdict.weight'), c: 'num' }, t('rules.description')].map((c) => (typeof c === 'object' ? h('th', { class: c.c }, c.n) : h('th', {}, c))))),
        h('tbody', {}, shown.map((s) => h('tr', { data: { id: s.id, kind: s.kind, weight: s.weight } },
          h('td', {}, h('code', {}, s.id), h('br'), h('span', { class: 'muted small' }, t(`rules.kind_${s.kind}`))),
          h('td', {}, h('span', { class: ['badge', `category-${s.category}`] }, t(`category.${s.category}`)), s.topic ? h('span', { class: 'muted small' }, ` ${s.topic}`) : null),
          h('td', { class: 'num' }, num(s.weight, 2), s.weight !== s.default_weight ? h('span', { class: 'muted small', title: t('rules.default') }, ` (${num(s.default_weight, 2)})`) : null),
          h('td', {}, s.description,
            s.fires.length ? h('details', {}, h('summary', {}, t('rules.examples', { n: s.fires.length + s.spares.length })),
              h('ul', { class: 'examples-list' },
                s.fires.map((x) => h('li', {}, h('span', { class: 'badge action-block' }, t('rules.fires')), ' ', h('a', { href: `#/try?text=${encodeURIComponent(x)}` }, x))),
                s.spares.map((x) => h('li', {}, h('span', { class: 'badge action-allow' }, t('rules.spares')), ' ', h('a', { href: `#/try?text=${encodeURIComponent(x)}` }, x))))) : null))))));
  }

  for (const el of [search, kind, category]) el.addEventListener('input', show);
  fill(main,
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.rules'))),
    h('p', { class: 'muted' }, t('rules.intro')),
    section(t('rules.thresholds'), { data: { testid: 'thresholds' } },
      h('div', { class: 'stats-row' },
        [['tag', tag], ['quarantine', quarantine], ['block', block]].map(([a, v]) => h('div', { class: 'stat', data: { action: a, value: v } },
          h('span', { class: 'stat-label' }, t('rules.threshold', { action: t(`action.${a}`) })), h('span', { class: 'stat-value' }, `≥ ${num(v, 2, 0)}`)))),
      ctx.params.get('q') ? null : h('p', { class: 'muted small' }, t('rules.change_hint'))),
    section(t('rules.signals'), {}, h('div', { class: 'filters' }, kind, category, search), box));
  show();
  if (!data.signals.length) fill(box, note('info', t('rules.none')));
}
