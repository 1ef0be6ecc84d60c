// Overview: messages checked, allowed, tagged, quarantined and blocked over time, by
// category; this node's throughput and latency; the health of the store and the SMPP binds.

import { api, probe, qs, parseMetrics, metricSum, histogramBuckets, histogramQuantile } from './api.js';
import { h, fill, num, pct, clock, when, section, note, errorNote, periodPicker, periodRange } from './dom.js';
import { stackedBars, hbars } from './charts.js';
import { t } from './i18n.js';
import { CALLS } from './page-hub.js';

const ACTIONS = ['allow', 'tag', 'quarantine', 'block'];
const CATEGORIES = ['ham', 'ad', 'spam', 'scam'];
const REFRESH_MS = 10000;

/** Every bucket of the period, zeros included, from the API's series (which leaves them out). */
export function fillBuckets(series, range, field) {
  const byStart = new Map(series.map((b) => [Date.parse(b.start) / 1000, b]));
  const out = [];
  for (let s = Math.floor(range.from / range.size) * range.size; s < range.to; s += range.size) {
    const b = byStart.get(s);
    out.push({ start: new Date(s * 1000), values: b ? b[field] : {} });
  }
  return out;
}

function kpi(key, value, total) {
  return h('div', { class: ['kpi', `kpi-${key}`], data: { testid: `kpi-${key}`, value } },
    h('span', { class: 'kpi-label' }, key === 'messages' ? t('overview.checked') : t(`action.${key}`)),
    h('span', { class: 'kpi-value' }, num(value)),
    h('span', { class: 'kpi-sub' }, key === 'messages' ? t('overview.in_period') : pct(value, total)));
}

/** Latency as "≤ 0,5 ms" from a histogram bound in seconds. */
function latency(seconds) {
  if (seconds === null) return '–';
  if (seconds === Infinity) return t('overview.over_max');
  return `≤ ${seconds < 0.001 ? `${num(seconds * 1e6)} µs` : `${num(seconds * 1000, 2, 0)} ms`}`;
}

function stat(label, value, testid, raw) {
  return h('div', { class: 'stat', data: { testid, value: raw } }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value));
}

function healthRow(name, state, detail, testid) {
  return h('li', { class: ['health', state], data: { testid, state } },
    h('span', { class: 'dot' }), h('span', { class: 'health-name' }, name), h('span', { class: 'health-state' }, t(`health.${state}`)), h('span', { class: 'muted' }, detail));
}

export async function render(main, ctx) {
  let period = ctx.params.get('period') || '1h';
  let previous = null;
  const updated = h('span', { class: 'muted', data: { testid: 'updated' } });
  const kpis = h('div', { class: 'kpis' });
  const byAction = h('div', {});
  const byCategory = h('div', {});
  const categoryTotals = h('div', {});
  const live = h('div', { class: 'stats-row' });
  const health = h('ul', { class: 'health-list' });
  const problem = h('div', {});
  fill(main,
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.overview')), periodPicker(period, (p) => { period = p; load(); }), updated),
    problem,
    kpis,
    section(t('overview.by_action'), {}, byAction),
    section(t('overview.by_category'), {}, byCategory),
    h('div', { class: 'grid2' },
      section(t('overview.category_totals'), {}, categoryTotals),
      section(t('overview.health'), {}, health)),
    section(t('overview.live'), {}, h('p', { class: 'muted small' }, t('overview.live_hint')), live));

  async function load() {
    const range = periodRange(period);
    let stats;
    try {
      stats = await api(`/v1/stats${qs({ from: range.from, to: range.to, bucket: range.bucket, top: 0 })}`);
    } catch (e) {
      if (ctx.current()) fill(problem, errorNote(e));
      return;
    }
    const [metrics, ready, smpp, calls] = await Promise.all([probe('/metrics'), probe('/readyz'), probe('/v1/smpp'), probe(CALLS.path)]);
    const session = await ctx.refreshSession().catch(() => ctx.session);
    if (!ctx.current()) return;
    fill(problem);
    const totals = stats.totals;
    kpis.dataset.from = stats.from;
    kpis.dataset.to = stats.to;
    fill(kpis, kpi('messages', totals.messages, totals.messages), ACTIONS.map((a) => kpi(a, totals.actions[a] || 0, totals.messages)));
    const tick = (d, long) => clock(d, long ? ['day', 'month', 'hour', 'minute'] : range.tick);
    fill(byAction, stackedBars({ buckets: fillBuckets(stats.series, range, 'actions'), keys: ACTIONS, label: (k) => t(`action.${k}`), tick, title: t('overview.by_action'), testid: 'chart-actions' }));
    fill(byCategory, stackedBars({ buckets: fillBuckets(stats.series, range, 'categories'), keys: CATEGORIES, label: (k) => t(`category.${k}`), tick, title: t('overview.by_category'), testid: 'chart-categories' }));
    fill(categoryTotals, hbars(CATEGORIES.map((c) => ({ key: c, label: t(`category.${c}`), value: totals.categories[c] || 0 })), { testid: 'category-totals' }),
      h('p', { class: 'muted small' }, t('overview.by_action_category')),
      h('ul', { class: 'pairs' }, Object.entries(totals.by_action_category).map(([k, v]) => {
        const [a, c] = k.split('/');
        return h('li', { data: { pair: k, value: v } }, `${t(`action.${a}`)} · ${t(`category.${c}`)}`, h('strong', {}, num(v)));
      })));

    // This node's throughput and latency, from two samples of its Prometheus metrics.
    const samples = metrics.ok ? parseMetrics(metrics.data) : [];
    const now = { at: performance.now(), checks: metricSum(samples, 'chanrac_checks_total'), buckets: histogramBuckets(samples, 'chanrac_check_request_seconds', { endpoint: 'check' }) };
    let rate = null;
    let recent = now.buckets;
    let span = t('overview.since_start');
    if (previous) {
      rate = Math.max(0, (now.checks - previous.checks) / ((now.at - previous.at) / 1000));
      const diff = now.buckets.map((b) => ({ le: b.le, count: b.count - (previous.buckets.find((p) => p.le === b.le)?.count || 0) }));
      if (diff.some((b) => b.count > 0)) {
        recent = diff;
        span = t('overview.last_seconds', { n: Math.round((now.at - previous.at) / 1000) });
      }
    }
    previous = now;
    const smppCounters = smpp.ok ? smpp.data.counters : null;
    fill(live,
      stat(t('overview.throughput'), rate === null ? t('overview.measuring') : `${num(rate, 1)} ${t('overview.per_second')}`, 'throughput', rate === null ? '' : rate),
      stat(t('overview.checks_node'), num(now.checks), 'checks-node', now.checks),
      stat(t('overview.latency_http', { q: 'p50', span }), latency(histogramQuantile(recent, 0.5)), 'latency-p50'),
      stat(t('overview.latency_http', { q: 'p99', span }), latency(histogramQuantile(recent, 0.99)), 'latency-p99'),
      smppCounters ? [
        stat(t('overview.latency_smpp', { q: 'p50' }), `${num(smppCounters.added_latency_p50_us)} µs`, 'smpp-p50', smppCounters.added_latency_p50_us),
        stat(t('overview.latency_smpp', { q: 'p99' }), `${num(smppCounters.added_latency_p99_us)} µs`, 'smpp-p99', smppCounters.added_latency_p99_us),
      ] : null);

    const rows = [];
    rows.push(healthRow(t('health.store', { backend: session.store }), ready.ok ? 'ok' : 'down', ready.ok ? t('health.store_ok') : (ready.data && ready.data.message) || '', 'health-store'));
    rows.push(healthRow(t('health.engine'), 'ok', t('health.engine_detail', { rules: num(session.rules), version: session.lists_version }), 'health-engine'));
    if (smpp.ok) {
      const d = smpp.data;
      rows.push(healthRow(t('health.smpp'), d.upstream_bound > 0 ? 'ok' : 'down',
        t('health.smpp_detail', { bound: d.upstream_bound, upstream: d.upstream || '?', sessions: d.sessions }), 'health-smpp'));
    } else if (smpp.status === 404) {
      rows.push(healthRow(t('health.smpp'), 'off', t('health.smpp_off'), 'health-smpp'));
    } else {
      rows.push(healthRow(t('health.smpp'), 'down', `HTTP ${smpp.status}`, 'health-smpp'));
    }
    rows.push(healthRow(t('hub.calls.title'), calls.status === 404 ? 'later' : calls.ok ? 'ok' : 'down',
      calls.status === 404 ? t('hub.not_yet', { path: CALLS.path }) : `HTTP ${calls.status}`, 'health-calls'));
    fill(health, rows);
    updated.textContent = t('overview.updated', { time: when(new Date()) });
    if (!totals.messages) fill(problem, note('info', t('overview.no_traffic')));
  }

  await load();
  ctx.every(REFRESH_MS, load);
}
