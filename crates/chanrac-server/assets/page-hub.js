// The regulator's hub (issues 7 and 8) and calls (issue 9). Each feature is one entry below:
// the dashboard asks its endpoint and shows "not available yet" only when the server
// answers 404 (no such endpoint). When an endpoint exists, its answer is shown as a plain
// table until a view written for it replaces the generic one (the keyword proposals have
// theirs, with the approve and reject actions: page-keywords.js).
// Nothing here is made up: every figure shown is what the endpoint answered.

import { probe } from './api.js';
import { h, fill, note, section } from './dom.js';
import { t } from './i18n.js';
import { keywordsView } from './page-keywords.js';

/** Calls monitoring (issue 9). */
export const CALLS = { id: 'calls', path: '/v1/calls/stats', roles: ['operator', 'regulator'] };

/** Campaigns (near-duplicate messages from many senders). */
export const CAMPAIGNS = { id: 'campaigns', path: '/v1/campaigns', roles: ['operator', 'regulator'] };

/** The hub's features: where each will be served, and who may see it. */
export const HUB = [
  { id: 'reports', path: '/v1/reports', roles: ['regulator', 'operator'] },
  { id: 'watchlist', path: '/v1/watchlist', roles: ['regulator', 'operator'] },
  { id: 'dnc', path: '/v1/dnc/stats', roles: ['regulator', 'operator'] },
  { id: 'advertisers', path: '/v1/advertisers', roles: ['regulator', 'operator', 'advertiser'] },
  { id: 'keywords', path: '/v1/keywords/proposals', roles: ['regulator', 'operator'] },
  { id: 'feed', path: '/v1/feed', roles: ['regulator', 'operator'] },
  { id: 'lookup', path: '/v1/lookup', roles: ['bank', 'public', 'regulator'] },
  CALLS,
];

/** The first array of objects in an answer (its rows), with the key it was under. */
function rowsOf(data) {
  if (Array.isArray(data)) return { key: '', rows: data };
  if (data && typeof data === 'object') {
    for (const [k, v] of Object.entries(data)) if (Array.isArray(v)) return { key: k, rows: v };
  }
  return null;
}

function cell(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** What an endpoint answered, as a plain table (at most 50 rows). */
function genericView(data) {
  const found = rowsOf(data);
  if (!found) {
    const pairs = data && typeof data === 'object' ? Object.entries(data) : [['', data]];
    return h('table', { class: 'generic' }, h('tbody', {}, pairs.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, cell(v))))));
  }
  const rows = found.rows.slice(0, 50);
  const cols = [...new Set(rows.flatMap((r) => (r && typeof r === 'object' ? Object.keys(r) : ['value'])))];
  return h('div', {},
    h('p', { class: 'muted small' }, t('hub.rows', { n: found.rows.length, count: found.rows.length, key: found.key || '[]' })),
    h('table', { class: 'generic' },
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', {}, cell(r && typeof r === 'object' ? r[c] : r))))))));
}

/** A feature's state: asked from its endpoint, never assumed. */
export async function featureView(feature) {
  const r = await probe(feature.path);
  const path = h('code', {}, `GET ${feature.path}`);
  if (r.status === 404) {
    return h('div', { class: 'feature', data: { state: 'unavailable', path: feature.path } },
      note('info', t('hub.not_yet', { path: feature.path })));
  }
  if (r.status === 401 || r.status === 403) {
    return h('div', { class: 'feature', data: { state: 'forbidden', path: feature.path } }, note('warn', t('hub.forbidden'), ' ', path));
  }
  if (!r.ok) {
    return h('div', { class: 'feature', data: { state: 'error', path: feature.path } },
      note('warn', t('hub.error', { status: r.status }), ' ', path, ' ', h('code', {}, (r.data && r.data.message) || '')));
  }
  return h('div', { class: 'feature', data: { state: 'available', path: feature.path } }, note('ok', t('hub.generic'), ' ', path), genericView(r.data));
}

export async function render(main, ctx) {
  const mine = HUB.filter((f) => f.roles.some((role) => ctx.roles.includes(role)));
  const cards = mine.map((f) => {
    const body = h('div', {}, h('p', { class: 'muted' }, t('app.loading')));
    return { f, body, card: section(t(`hub.${f.id}.title`), { data: { testid: `hub-${f.id}` } }, h('p', { class: 'muted small' }, t(`hub.${f.id}.what`)), body) };
  });
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, t('nav.hub'))), h('p', { class: 'muted' }, t('hub.intro')),
    mine.length ? h('div', { class: 'grid2' }, cards.map((c) => c.card)) : note('info', t('hub.nothing_for_roles')));
  await Promise.all(cards.map(async (c) => {
    const view = c.f.id === 'keywords' ? await keywordsView(c.f, ctx, featureView) : await featureView(c.f);
    if (ctx.current()) fill(c.body, view);
  }));
}
