// The regulator's hub (issues 7 and 8) and call monitoring (issue 9): one card per feature,
// each asking its own endpoint and shown only to the roles that endpoint serves. A card
// says "not available" exactly when the server answers 404, and every figure is what the
// endpoint answered. Each feature has its own view (tables, figures, actions); an endpoint
// without one is shown as a plain table.

import { api, probe, qs } from './api.js';
import { h, fill, note, section, table, num, when, errorNote, field, select } from './dom.js';
import { t } from './i18n.js';
import { keywordsView } from './page-keywords.js';

/** Calls monitoring (issue 9). */
export const CALLS = { id: 'calls', path: '/v1/calls/stats', roles: ['operator', 'regulator'] };

/** Campaigns (near-duplicate messages from many senders). */
export const CAMPAIGNS = { id: 'campaigns', path: '/v1/campaigns', roles: ['operator', 'regulator'] };

/** The hub's features: where each is served, and who may see it. */
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

/** Rows shown in a card's table. */
const ROWS = 12;

/** Feed changes shown (the most recent). */
const FEED_CHANGES = 15;

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

/** A count line: "12 sources (10 shown)". */
function count(testid, n, shown, key) {
  return h('p', { class: 'muted small', data: { testid, value: n } },
    t(key, { n: num(n), count: n }), shown < n ? ` ${t('hub.shown', { n: num(shown) })}` : '');
}

/** A short text cut to `max` characters, whole on hover. */
function short(text, max = 90) {
  const s = String(text || '');
  return s.length <= max ? s : h('span', { title: s }, `${s.slice(0, max - 1)}…`);
}

/** A status as a small label. */
function status(kind, value) {
  return h('span', { class: ['pill', `pill-${value}`], data: { [kind]: value } }, t(`hub.status.${value}`));
}

/** Reports, newest first, grouped by source: how many, by how many subscribers, the latest text. */
function reportsView(data) {
  const reports = data.reports || [];
  if (!reports.length) return note('ok', t('hub.reports.empty'));
  const groups = new Map();
  for (const r of reports) {
    const k = r.source_key || r.content_key || `#${r.id}`;
    const g = groups.get(k) || { key: k, source: r.source || (r.source_key ? r.source_key : null), items: [], reporters: new Set() };
    g.items.push(r);
    g.reporters.add(r.reporter);
    groups.set(k, g);
  }
  const list = [...groups.values()].sort((a, b) => b.items.length - a.items.length || b.items[0].id - a.items[0].id);
  const rows = list.slice(0, ROWS).map((g) => {
    const last = g.items[0];
    return h('tr', { data: { source: g.key } },
      h('td', {}, g.source ? h('code', {}, g.source) : h('span', { class: 'muted' }, t(`hub.kind.${last.kind}`))),
      h('td', { class: 'num' }, num(g.items.length)),
      h('td', {}, t(`hub.kind.${last.kind}`)),
      h('td', { class: 'msg' }, short(last.content || last.raw)),
      h('td', { class: 'nowrap' }, when(last.at)));
  });
  return h('div', {},
    count('reports-count', reports.length, reports.length, 'hub.reports.count'),
    table([t('hub.col.source'), { text: t('hub.col.reports'), attrs: { class: 'num' } }, t('hub.col.kind'), t('hub.col.latest'), t('hub.col.when')],
      rows, { class: 'hub-table', data: { testid: 'report-groups' } }));
}

/** The watch list, with confirm / reject for the regulator. */
function watchlistView(data, ctx, refresh) {
  const sources = data.sources || [];
  if (!sources.length) return note('ok', t('hub.watchlist.empty'));
  const msg = h('div', { data: { testid: 'watch-result' } });
  const decide = (s, decision, row) => async () => {
    const reason = window.prompt(t(`hub.watchlist.${decision}_why`, { source: s.key }));
    if (!reason || !reason.trim()) return;
    const actions = row.querySelector('td.buttons');
    for (const b of actions.querySelectorAll('button')) b.disabled = true;
    try {
      const r = await api(`/v1/watchlist/${encodeURIComponent(s.key)}/${decision}`, { method: 'POST', body: { reason } });
      row.dataset.status = r.source.status;
      fill(row.querySelector('td.status'), status('status', r.source.status));
      fill(actions, h('span', { class: 'muted small', title: reason }, r.source.decided_by || ''));
      fill(msg, note('ok', t(`hub.watchlist.${decision}ed`, { source: s.key }), r.blocked ? ` ${t('hub.watchlist.blocked', { entry: r.blocked })}` : ''));
      refresh();
    } catch (e) {
      fill(msg, errorNote(e));
      for (const b of actions.querySelectorAll('button')) b.disabled = false;
    }
  };
  const rows = sources.slice(0, ROWS).map((s) => {
    const actions = h('td', { class: 'buttons' });
    const row = h('tr', { data: { source: s.key, status: s.status } },
      h('td', {}, h('code', {}, s.key)),
      h('td', { class: 'status' }, status('status', s.status)),
      h('td', { class: 'num' }, num(s.reporters)),
      h('td', { class: 'num' }, num(s.reports)),
      h('td', { class: 'nowrap' }, when(s.last_at)),
      actions);
    const open = s.status === 'watch' || s.status === 'proposed' || s.status === 'reported';
    if (open && ctx.can('hub.decide')) {
      actions.append(
        h('button', { type: 'button', class: 'danger small', data: { testid: 'confirm' }, on: { click: decide(s, 'confirm', row) } }, t('hub.watchlist.confirm')),
        h('button', { type: 'button', class: 'small', data: { testid: 'reject' }, on: { click: decide(s, 'reject', row) } }, t('hub.watchlist.reject')));
    } else if (s.decided_by) {
      actions.append(h('span', { class: 'muted small', title: s.reason || '' }, s.decided_by));
    }
    return row;
  });
  return h('div', {},
    count('watch-count', sources.length, rows.length, 'hub.watchlist.count'),
    table([t('hub.col.source'), t('hub.col.status'), { text: t('hub.col.reporters'), attrs: { class: 'num' } },
      { text: t('hub.col.reports'), attrs: { class: 'num' } }, t('hub.col.last'), ''], rows, { class: 'hub-table', data: { testid: 'watch-table' } }),
    msg);
}

/** The Do-Not-Call register's figures. */
function dncView(data) {
  const kpi = (key, value) => h('div', { class: 'kpi small-kpi', data: { testid: `dnc-${key}`, value } },
    h('span', { class: 'kpi-label' }, t(`hub.dnc.${key}`)), h('span', { class: 'kpi-value' }, num(value)));
  return h('div', { class: 'kpis kpis3' }, kpi('registered', data.registered), kpi('sms', data.sms), kpi('calls', data.calls));
}

/** Advertisers with their brandnames. */
function advertisersView(data) {
  const ads = data.advertisers || [];
  const brands = data.brandnames || [];
  if (!ads.length && !brands.length) return note('info', t('hub.advertisers.empty'));
  const rows = ads.slice(0, ROWS).map((a) => {
    const mine = brands.filter((b) => b.advertiser === a.code);
    return h('tr', { data: { code: a.code } },
      h('td', {}, h('code', {}, a.code)),
      h('td', {}, a.name),
      h('td', {}, status('status', a.status)),
      h('td', {}, mine.length ? mine.map((b) => h('span', { class: 'tag', title: b.operators || '' }, b.name)) : h('span', { class: 'muted' }, '–')));
  });
  return h('div', {},
    count('advertisers-count', ads.length, rows.length, 'hub.advertisers.count'),
    table([t('hub.col.code'), t('hub.col.name'), t('hub.col.status'), t('hub.col.brandnames')], rows, { class: 'hub-table' }));
}

/** The feed's most recent changes, read from its signed payload. */
/** A change of the feed that carries the hub's rule pack of approved keywords. */
function packRow(c) {
  const words = c.rules.keywords.map((k) => k.phrase);
  return h('tr', { data: { version: c.version, op: c.op } },
    h('td', { class: 'num' }, num(c.version)),
    h('td', {}, h('span', { class: 'pill' }, t('hub.feed.rules'))),
    h('td', {}, t('hub.feed.keywords', { n: num(words.length), count: words.length })),
    h('td', {}, h('code', {}, `v${c.rules.version}`)),
    h('td', { class: 'msg' }, short(words.join(', '), 60)),
    h('td', { class: 'nowrap' }, when(c.at)));
}

async function feedView(data) {
  let page;
  try {
    page = JSON.parse(data.payload);
  } catch {
    return genericView(data);
  }
  // The first answer starts at 0; the recent changes are at the end.
  if (page.latest > page.to || page.latest - page.from > FEED_CHANGES) {
    const r = await probe(`/v1/feed${qs({ since: Math.max(0, page.latest - FEED_CHANGES) })}`);
    if (r.ok) {
      try { page = JSON.parse(r.data.payload); } catch { /* the first page stays */ }
    }
  }
  const changes = (page.changes || []).slice(-FEED_CHANGES).reverse();
  const head = h('p', { class: 'muted small', data: { testid: 'feed-version', value: page.latest } },
    t('hub.feed.version', { n: num(page.latest) }), ' ', h('span', { title: data.signature }, t('hub.feed.signed')), ' ',
    h('code', { title: data.key }, `${String(data.key || '').slice(0, 16)}…`));
  if (!changes.length) return h('div', {}, head, note('info', t('hub.feed.empty')));
  const rows = changes.map((c) => (c.op === 'rules' ? packRow(c) : h('tr', { data: { version: c.version, op: c.op } },
    h('td', { class: 'num' }, num(c.version)),
    h('td', {}, h('span', { class: ['pill', c.op === 'add' ? 'pill-confirmed' : 'pill-rejected'] }, t(`hub.feed.${c.op}`))),
    h('td', {}, t(`side.${c.entry.side}`), ' · ', t(`kind.${c.entry.kind}`)),
    h('td', {}, h('code', {}, c.entry.value)),
    h('td', { class: 'msg' }, short(c.entry.reason, 60), h('span', { class: 'muted small' }, ` (${c.entry.source})`)),
    h('td', { class: 'nowrap' }, when(c.at)))));
  return h('div', {}, head,
    table([{ text: '#', attrs: { class: 'num' } }, t('hub.col.change'), t('hub.col.list'), t('hub.col.value'), t('hub.col.reason'), t('hub.col.when')],
      rows, { class: 'hub-table', data: { testid: 'feed-changes' } }));
}

/** The fraud lookup: a number, link or account, and what the hub knows of it. */
function lookupView() {
  const kind = select({ name: 'kind' }, [['phone', t('hub.lookup.phone')], ['url', t('hub.lookup.url')], ['account', t('hub.lookup.account')]]);
  const value = h('input', { name: 'value', required: true, placeholder: '0912 345 678', autocomplete: 'off' });
  const bank = h('input', { name: 'bank', placeholder: 'VCB', autocomplete: 'off' });
  const out = h('div', { data: { testid: 'lookup-result' } });
  const form = h('form', { data: { testid: 'lookup-form' } },
    h('div', { class: 'fields' }, field(t('hub.lookup.what_kind'), kind), field(t('hub.lookup.value'), value), field(t('hub.lookup.bank'), bank)),
    h('button', { type: 'submit', class: 'primary' }, t('hub.lookup.go')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const params = { [kind.value]: value.value.trim() };
    if (kind.value === 'account') params.bank = bank.value.trim();
    try {
      const a = await api(`/v1/lookup${qs(params)}`);
      fill(out, h('div', { class: ['lookup', `risk-${a.risk}`], data: { risk: a.risk, known: a.known } },
        h('p', {}, h('code', {}, a.normalized), ' ', h('strong', {}, t(`hub.risk.${a.risk}`)),
          a.report_count ? ` · ${t('hub.lookup.reports', { n: num(a.report_count), count: a.report_count })}` : ''),
        a.reasons.length ? h('ul', {}, a.reasons.map((r) => h('li', {}, r))) : h('p', { class: 'muted' }, t('hub.lookup.unknown'))));
    } catch (e) {
      fill(out, errorNote(e));
    }
  });
  return h('div', {}, form, out);
}

/** Suspected callers by category. */
function callsView(data) {
  const rows = (data.categories || []).map((c) => h('tr', { data: { category: c.category } },
    h('td', {}, t(`hub.calls.${c.category}`)), h('td', { class: 'num' }, num(c.suspects))));
  return h('div', {},
    h('p', { class: 'muted small', data: { testid: 'calls-records', value: data.records } },
      t('hub.calls.records', { n: num(data.records), tracked: num(data.tracked), suspects: num(data.suspects), blocked: num(data.blocked) })),
    table([t('hub.col.category'), { text: t('hub.col.suspects'), attrs: { class: 'num' } }], rows, { class: 'hub-table' }));
}

/** Campaigns: near-duplicate texts from many senders, rebuilt from the verdict log. */
function campaignsView(data) {
  const list = data.campaigns || [];
  if (!list.length) return note('ok', t('hub.campaigns.empty', { n: num(data.scanned) }));
  const rows = list.slice(0, ROWS).map((c) => h('tr', { data: { campaign: c.id, messages: c.messages, senders: c.senders } },
    h('td', { class: 'msg' }, short(c.sample, 80)),
    h('td', { class: 'num' }, num(c.messages)),
    h('td', { class: 'num' }, num(c.senders)),
    h('td', {}, c.members.slice(0, 4).map((m) => h('code', { class: 'tag' }, m)), c.senders > 4 ? h('span', { class: 'muted small' }, ` +${num(c.senders - 4)}`) : ''),
    h('td', { class: 'nowrap' }, when(c.last_at))));
  return h('div', {},
    count('campaigns-count', list.length, rows.length, 'hub.campaigns.count'),
    table([t('hub.col.sample'), { text: t('hub.col.messages'), attrs: { class: 'num' } }, { text: t('hub.col.senders'), attrs: { class: 'num' } },
      t('hub.col.members'), t('hub.col.last')], rows, { class: 'hub-table', data: { testid: 'campaign-table' } }));
}

/** The view of each feature whose answer has one; the others are plain tables. */
const VIEWS = {
  reports: reportsView,
  watchlist: watchlistView,
  dnc: dncView,
  advertisers: advertisersView,
  feed: feedView,
  calls: callsView,
  keywords: keywordsView,
  campaigns: campaignsView,
};

/** A feature's state: asked from its endpoint, never assumed. */
export async function featureView(feature, ctx, refresh) {
  const r = await probe(feature.path);
  const path = h('code', {}, `GET ${feature.path}`);
  const box = (state, ...children) => h('div', { class: 'feature', data: { state, path: feature.path } }, ...children);
  if (r.status === 404) return box('unavailable', note('info', t('hub.not_yet', { path: feature.path })));
  if (r.status === 401 || r.status === 403) return box('forbidden', note('warn', t('hub.forbidden'), ' ', path));
  // The lookup answers 400 to a question without a number, link or account: it is there.
  if (feature.id === 'lookup' && r.status === 400) return box('available', lookupView());
  if (!r.ok) {
    return box('error', note('warn', t('hub.error', { status: r.status }), ' ', path, ' ', h('code', {}, (r.data && r.data.message) || '')));
  }
  const view = VIEWS[feature.id];
  return box('available', view ? await view(r.data, ctx, refresh) : genericView(r.data));
}

export async function render(main, ctx) {
  const mine = HUB.filter((f) => f.roles.some((role) => ctx.roles.includes(role)));
  const cards = mine.map((f) => {
    const body = h('div', {}, h('p', { class: 'muted' }, t('app.loading')));
    return { f, body, card: section(t(`hub.${f.id}.title`), { data: { testid: `hub-${f.id}` } }, h('p', { class: 'muted small' }, t(`hub.${f.id}.what`)), body) };
  });
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, t('nav.hub'))), h('p', { class: 'muted' }, t('hub.intro')),
    mine.length ? h('div', { class: 'grid2' }, cards.map((c) => c.card)) : note('info', t('hub.nothing_for_roles')));
  const load = async (c) => {
    // A decision on the watch list or a keyword changes the reports or the feed: they are
    // asked again.
    const refresh = () => Promise.all(cards.filter((o) => ['reports', 'feed'].includes(o.f.id)).map(load));
    const view = await featureView(c.f, ctx, refresh);
    if (ctx.current()) fill(c.body, view);
  };
  await Promise.all(cards.map(load));
}
