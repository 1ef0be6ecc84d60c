// The hub's keyword proposals (issue 8): phrases mined from confirmed reports against a ham
// baseline, each with its figures, for an analyst to approve (it joins the rule pack that
// every firewall following the feed uses) or reject, with a reason for the audit log. The
// view of the hub page's `keywords` card (page-hub.js).

import { api, probe, qs } from './api.js';
import { h, fill, num, when, note, errorNote, table, select } from './dom.js';
import { t } from './i18n.js';

/** The decisions a proposal of each status offers. */
const OFFERS = {
  proposed: ['approve', 'reject'],
  approved: ['revoke'],
  rejected: ['approve'],
};

/** The API's decision behind each button. */
const DECISION = { approve: 'approve', reject: 'reject', revoke: 'reject' };

/** The pill of each status (the hub page's colours: pending, accepted, set aside). */
const PILL = { proposed: 'pill-watch', approved: 'pill-confirmed', rejected: 'pill-rejected' };

/** The queue's endpoint. */
const PATH = '/v1/keywords/proposals';

function packLine(pack) {
  if (!pack) return h('p', { class: 'muted', data: { testid: 'kw-pack', version: 0 } }, t('kw.no_pack'));
  return h('p', { data: { testid: 'kw-pack', version: pack.version } },
    t('kw.pack', { version: pack.version, n: num(pack.keywords.length), count: pack.keywords.length }), ' ',
    h('span', { class: 'muted small' }, when(pack.at)));
}

function statusCell(p) {
  const who = p.decided_by ? h('div', { class: 'muted small' }, `${p.decided_by}: ${p.reason || ''}`) : null;
  return h('td', {}, h('span', { class: ['pill', PILL[p.status]] }, t(`kw.status.${p.status}`)), who);
}

/**
 * The keyword proposals card: the pack in effect, the queue by status, and the decisions.
 * `data` is the queue's first answer (every status); `refresh` asks the feed card again.
 */
export async function keywordsView(data, ctx, refresh) {
  const canDecide = ctx.can('keywords.decide');
  const message = h('div', { data: { testid: 'kw-message' } });
  const head = h('div', {});
  const body = h('div', {});
  const status = select({ name: 'kw-status', value: 'proposed' },
    [['proposed', t('kw.status.proposed')], ['approved', t('kw.status.approved')], ['rejected', t('kw.status.rejected')], ['', t('kw.all')]]);
  const mine = canDecide
    ? h('button', { type: 'button', class: 'small', data: { testid: 'kw-mine' }, on: { click: mineNow } }, t('kw.mine'))
    : null;

  async function mineNow() {
    mine.disabled = true;
    try {
      const r = await api('/v1/keywords/mine', { method: 'POST' });
      fill(message, note('ok', t('kw.mined', { n: num(r.proposals), count: r.proposals, reports: num(r.spam + r.scam), ham: num(r.ham), added: num(r.merged.added) })));
      await load();
    } catch (e) {
      fill(message, errorNote(e));
    } finally {
      mine.disabled = false;
    }
  }

  function decideForm(p, offer, cell) {
    const reason = h('input', { name: 'kw-reason', required: true, placeholder: t('lists.reason_placeholder'), size: 22 });
    const form = h('form', { class: 'inline-form' }, reason,
      h('button', { type: 'submit', class: offer === 'approve' ? 'primary small' : 'danger small', data: { testid: 'kw-confirm' } }, t(`kw.${offer}`)),
      h('button', { type: 'button', class: 'ghost small', on: { click: () => load() } }, t('lists.cancel')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      for (const b of form.querySelectorAll('button')) b.disabled = true;
      try {
        const r = await api(`/v1/keywords/proposals/${p.id}/${DECISION[offer]}`, { method: 'POST', body: { reason: reason.value } });
        const done = r.pack ? t('kw.decided_pack', { phrase: p.phrase, version: r.pack.version }) : t('kw.decided', { phrase: p.phrase });
        fill(message, note('ok', done));
        await load();
        if (r.pack && refresh) await refresh();
      } catch (err) {
        fill(message, errorNote(err));
        for (const b of form.querySelectorAll('button')) b.disabled = false;
      }
    });
    fill(cell, form);
    reason.focus();
  }

  function row(p) {
    const actions = h('td', { class: 'nowrap' });
    if (canDecide) {
      for (const offer of OFFERS[p.status] || []) {
        actions.append(h('button', {
          type: 'button',
          class: offer === 'approve' ? 'primary small' : 'danger small',
          data: { testid: `kw-${offer}` },
          on: { click: () => decideForm(p, offer, actions) },
        }, t(`kw.${offer}`)), ' ');
      }
    }
    const example = p.examples[0] ? h('div', { class: 'muted small kw-example' }, p.examples[0].slice(0, 140)) : null;
    return h('tr', { data: { phrase: p.phrase, status: p.status, id: p.id } },
      h('td', {}, h('code', {}, p.phrase), example),
      h('td', {}, t(`category.${p.label}`)),
      h('td', { class: 'num' }, num(p.z, 1)),
      h('td', { class: 'num', title: t('kw.reports_hint') }, `${num(p.unwanted_docs)} / ${num(p.unwanted_total)}`),
      h('td', { class: 'num', title: t('kw.ham_hint') }, `${num(p.ham_docs)} / ${num(p.ham_total)} (≤ ${num(p.ham_rate_upper * 100, 3)} %)`),
      h('td', { class: 'num' }, num(p.adds_docs)),
      statusCell(p),
      actions);
  }

  async function load(answer) {
    const r = answer || await probe(`${PATH}${qs({ status: status.value })}`);
    if (!r.ok) {
      fill(body, errorNote({ status: r.status, message: (r.data && r.data.message) || `HTTP ${r.status}` }));
      return;
    }
    fill(head, packLine(r.data.pack));
    const rows = r.data.proposals;
    fill(body, rows.length
      ? table([t('kw.phrase'), t('kw.label'), 'z', t('kw.reports'), t('kw.ham'), t('kw.adds'), t('kw.status'), ''], rows.map(row),
        { class: 'kw-table', data: { testid: 'kw-table' } })
      : note('info', t('kw.none')));
  }

  status.addEventListener('change', () => load());
  // The first answer has every status: the pending ones are shown first.
  await load({ ok: true, data: { pack: data.pack, proposals: data.proposals.filter((p) => p.status === 'proposed') } });
  return h('div', {}, head, h('div', { class: 'inline-form' }, status, mine), message, body);
}
