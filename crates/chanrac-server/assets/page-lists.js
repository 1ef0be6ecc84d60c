// Lists and audit log: browse and search the allow and block lists, add and remove entries
// with a reason, and read who changed what, when and why.

import { api, qs } from './api.js';
import { h, fill, num, when, section, note, errorNote, field, select } from './dom.js';
import { t } from './i18n.js';
import { senderKind } from './page-sources.js';

const KINDS = ['senders', 'brandnames', 'domains', 'accounts'];
const SIDES = ['block', 'allow'];
const AUDIT_PAGE = 1000;
/** The most audit records read (the newest are shown first). */
const AUDIT_MAX = 50000;
const SHOW = 100;

/** The whole audit log, oldest first, read page by page. */
async function readAudit() {
  let after = 0;
  let all = [];
  for (;;) {
    const { records } = await api(`/v1/audit${qs({ after, limit: AUDIT_PAGE })}`);
    all = all.concat(records);
    if (records.length < AUDIT_PAGE || all.length >= AUDIT_MAX) return all;
    after = records[records.length - 1].id;
  }
}

export async function render(main, ctx) {
  const can = ctx.can('lists.edit');
  const prefill = ctx.params.get('add') || '';
  const message = h('div', { data: { testid: 'lists-message' } });
  const filters = {
    side: select({ name: 'f-side' }, [['', t('lists.all_sides')], ...SIDES.map((s) => [s, t(`side.${s}`)])]),
    kind: select({ name: 'f-kind' }, [['', t('lists.all_kinds')], ...KINDS.map((k) => [k, t(`kind.${k}`)])]),
    text: h('input', { name: 'f-text', type: 'search', placeholder: t('lists.search_placeholder') }),
  };
  const entriesBox = h('div', {});
  const auditFilter = h('input', { name: 'audit-filter', type: 'search', placeholder: t('lists.audit_search') });
  const auditBox = h('div', {});
  let entries = [];
  let version = null;
  let audit = [];
  let auditShown = SHOW;

  const add = {
    side: select({ name: 'side' }, SIDES.map((s) => [s, t(`side.${s}`)])),
    kind: select({ name: 'kind', value: prefill ? senderKind(prefill) : 'senders' }, KINDS.map((k) => [k, t(`kind.${k}`)])),
    value: h('input', { name: 'value', required: true, value: prefill, placeholder: '0912 345 678, 0909*, Vietcombank, evil.xyz', spellcheck: 'false' }),
    reason: h('input', { name: 'reason', required: true, placeholder: t('lists.reason_placeholder') }),
  };
  const addForm = h('form', { class: 'card', id: 'add-entry' },
    h('h2', {}, t('lists.add_title')),
    h('div', { class: 'fields' }, field(t('lists.side'), add.side), field(t('lists.kind'), add.kind), field(t('lists.value'), add.value, t('lists.value_hint')),
      field(t('lists.reason'), add.reason, t('lists.reason_hint'))),
    h('button', { type: 'submit', class: 'primary' }, t('lists.add')));
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await api(`/v1/lists/${add.side.value}/${add.kind.value}`, { method: 'POST', body: { value: add.value.value, reason: add.reason.value } });
      fill(message, note('ok', t(r.created ? 'lists.added' : 'lists.already', { value: r.entry.value, version: r.version })));
      add.value.value = '';
      add.reason.value = '';
      await load();
    } catch (err) {
      fill(message, errorNote(err));
    }
  });

  function removeForm(entry, cell) {
    const reason = h('input', { name: 'remove-reason', required: true, placeholder: t('lists.reason_placeholder'), size: 24 });
    const form = h('form', { class: 'inline-form' }, reason,
      h('button', { type: 'submit', class: 'danger small' }, t('lists.remove_confirm')),
      h('button', { type: 'button', class: 'ghost small', on: { click: () => showEntries() } }, t('lists.cancel')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const r = await api(`/v1/lists/${entry.side}/${entry.kind}/${encodeURIComponent(entry.value)}${qs({ reason: reason.value })}`, { method: 'DELETE' });
        fill(message, note('ok', t('lists.removed', { value: entry.value, version: r.version })));
        await load();
      } catch (err) {
        fill(message, errorNote(err));
      }
    });
    fill(cell, form);
    reason.focus();
  }

  function showEntries() {
    const q = filters.text.value.trim().toLowerCase();
    const shown = entries.filter((e) => (!filters.side.value || e.side === filters.side.value) && (!filters.kind.value || e.kind === filters.kind.value)
      && (!q || `${e.value} ${e.reason} ${e.added_by}`.toLowerCase().includes(q)));
    fill(entriesBox,
      h('p', { class: 'muted', data: { testid: 'entries-count', value: shown.length, total: entries.length, version } }, t('lists.count', { n: num(shown.length), total: num(entries.length), version })),
      shown.length ? h('table', { class: 'entries', data: { testid: 'entries' } },
        h('thead', {}, h('tr', {}, [t('lists.side'), t('lists.kind'), t('lists.value'), t('lists.reason'), t('lists.added_by'), t('lists.added_at'), ''].map((c) => h('th', {}, c)))),
        h('tbody', {}, shown.slice(0, 500).map((e) => {
          const cell = h('td', { class: 'actions' });
          if (can) cell.append(h('button', { type: 'button', class: 'ghost small', data: { testid: 'remove' }, on: { click: () => removeForm(e, cell) } }, t('lists.remove')));
          return h('tr', { data: { side: e.side, kind: e.kind, value: e.value } },
            h('td', {}, h('span', { class: ['badge', `side-${e.side}`] }, t(`side.${e.side}`))), h('td', {}, t(`kind.${e.kind}`)), h('td', {}, h('code', {}, e.value)),
            h('td', {}, e.reason), h('td', {}, e.added_by), h('td', { class: 'nowrap' }, when(e.added_at)), cell);
        }))) : note('info', t('lists.none')),
      shown.length > 500 ? note('info', t('lists.first_500')) : null);
  }

  function showAudit() {
    const q = auditFilter.value.trim().toLowerCase();
    const newest = audit.slice().reverse().filter((r) => !q || `${r.actor} ${r.action} ${r.target} ${r.reason}`.toLowerCase().includes(q));
    fill(auditBox,
      h('p', { class: 'muted', data: { testid: 'audit-count', value: audit.length } }, t('lists.audit_count', { n: num(audit.length), count: audit.length })),
      h('table', { class: 'audit', data: { testid: 'audit' } },
        h('thead', {}, h('tr', {}, [t('audit.at'), t('audit.actor'), t('audit.action'), t('audit.target'), t('audit.reason')].map((c) => h('th', {}, c)))),
        h('tbody', {}, newest.slice(0, auditShown).map((r) => h('tr', { data: { id: r.id, action: r.action } },
          h('td', { class: 'nowrap' }, when(r.at)), h('td', {}, r.actor), h('td', {}, h('code', {}, r.action)), h('td', {}, h('code', {}, r.target)), h('td', {}, r.reason))))),
      newest.length > auditShown ? h('button', { type: 'button', class: 'ghost', on: { click: () => { auditShown += SHOW; showAudit(); } } }, t('lists.more')) : null);
  }

  async function load() {
    try {
      const [l, a] = await Promise.all([api('/v1/lists'), readAudit()]);
      entries = l.entries;
      version = l.version;
      audit = a;
    } catch (e) {
      fill(message, errorNote(e));
      return;
    }
    if (!ctx.current()) return;
    showEntries();
    showAudit();
  }

  for (const el of Object.values(filters)) el.addEventListener('input', showEntries);
  auditFilter.addEventListener('input', showAudit);
  fill(main,
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.lists'))),
    h('p', { class: 'muted' }, t('lists.intro')),
    message,
    can ? addForm : note('info', t('lists.read_only')),
    section(t('lists.entries'), {}, h('div', { class: 'filters' }, filters.side, filters.kind, filters.text), entriesBox),
    section(t('lists.audit'), { id: 'audit' }, h('p', { class: 'muted small' }, t('lists.audit_intro')), auditFilter, auditBox));
  await load();
  if (prefill) add.reason.focus();
}
