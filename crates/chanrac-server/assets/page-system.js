// System: the store, the engine (with reload), the SMPP firewall's binds and counters, and
// this node's request counters.

import { api, probe, parseMetrics, metricSum } from './api.js';
import { h, fill, num, section, note, errorNote, table } from './dom.js';
import { t } from './i18n.js';

const SMPP_COUNTERS = ['connections', 'binds', 'binds_refused', 'forwarded', 'tagged', 'rejected', 'dropped', 'quarantined', 'throttled',
  'upstream_failed', 'nacks', 'delivered', 'undeliverable', 'upstream_binds'];
const SMPP_LATENCY = ['added_latency_p50_us', 'added_latency_p99_us', 'round_trip_p50_us', 'round_trip_p99_us'];

function kv(rows, testid) {
  return h('table', { class: 'kv', data: { testid } }, h('tbody', {}, rows.map(([k, v, key, raw]) => h('tr', { data: { key, value: raw } }, h('th', {}, k), h('td', {}, v)))));
}

export async function render(main, ctx) {
  const store = h('div', {});
  const engine = h('div', {});
  const smpp = h('div', {});
  const http = h('div', {});
  const reloadOut = h('div', { data: { testid: 'reload-result' } });
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, t('nav.system'))),
    h('div', { class: 'grid2' }, section(t('system.store'), {}, store), section(t('system.engine'), {}, engine, reloadOut)),
    section(t('system.smpp'), { data: { testid: 'smpp-card' } }, smpp),
    section(t('system.http'), {}, http, h('p', { class: 'small' }, h('a', { href: '/metrics' }, '/metrics'), ' · ', h('a', { href: '/openapi.json' }, '/openapi.json'))));

  async function load() {
    const [ready, status, metrics] = await Promise.all([probe('/readyz'), probe('/v1/smpp'), probe('/metrics')]);
    const session = await ctx.refreshSession().catch(() => ctx.session);
    if (!ctx.current()) return;
    fill(store, kv([
      [t('system.backend'), session.store, 'backend', session.store],
      [t('system.ready'), ready.ok ? t('health.ok') : `${t('health.down')}: ${(ready.data && ready.data.message) || ready.status}`, 'ready', ready.ok ? 'ok' : 'down'],
    ], 'store'));
    fill(engine, kv([
      [t('system.version'), session.version, 'version', session.version],
      [t('system.rules'), num(session.rules), 'rules', session.rules],
      [t('system.lists_version'), num(session.lists_version), 'lists_version', session.lists_version],
    ], 'engine'),
    ctx.can('reload') ? h('button', { type: 'button', class: 'small', data: { testid: 'reload' }, on: { click: reload } }, t('system.reload')) : null,
    h('p', { class: 'muted small' }, t('system.reload_hint')));
    if (status.status === 404) {
      fill(smpp, note('info', t('health.smpp_off')));
    } else if (!status.ok) {
      fill(smpp, errorNote({ status: status.status, message: (status.data && status.data.message) || '' }));
    } else {
      const d = status.data;
      fill(smpp, h('div', { class: 'grid2 top' },
        kv([
          [t('system.smpp_listen'), d.listen, 'listen', d.listen],
          [t('system.smpp_upstream'), d.upstream || '–', 'upstream', d.upstream],
          [t('system.smpp_bound'), num(d.upstream_bound), 'upstream_bound', d.upstream_bound],
          [t('system.smpp_sessions'), num(d.sessions), 'sessions', d.sessions],
          ...SMPP_LATENCY.map((k) => [t(`smpp.${k}`), `${num(d.counters[k])} µs`, k, d.counters[k]]),
        ], 'smpp-status'),
        table([t('system.counter'), { text: t('system.count'), attrs: { class: 'num' } }],
          SMPP_COUNTERS.map((k) => h('tr', { data: { key: k, value: d.counters[k] } }, h('td', {}, t(`smpp.${k}`)), h('td', { class: 'num' }, num(d.counters[k])))),
          { class: 'kv', data: { testid: 'smpp-counters' } })));
    }
    const samples = metrics.ok ? parseMetrics(metrics.data) : [];
    const req = (c) => metricSum(samples, 'chanrac_http_requests_total', { status: c });
    fill(http, kv([
      [t('system.requests', { c: '2xx' }), num(req('2xx')), '2xx', req('2xx')],
      [t('system.requests', { c: '3xx' }), num(req('3xx')), '3xx', req('3xx')],
      [t('system.requests', { c: '4xx' }), num(req('4xx')), '4xx', req('4xx')],
      [t('system.requests', { c: '5xx' }), num(req('5xx')), '5xx', req('5xx')],
      [t('system.overloaded'), num(metricSum(samples, 'chanrac_overloaded_total')), 'overloaded'],
      [t('system.store_errors'), num(metricSum(samples, 'chanrac_store_errors_total')), 'store_errors'],
      [t('system.reloads'), `${num(metricSum(samples, 'chanrac_reloads_total', { result: 'ok' }))} / ${num(metricSum(samples, 'chanrac_reloads_total', { result: 'error' }))}`, 'reloads'],
    ], 'http'));
  }

  async function reload() {
    try {
      const r = await api('/v1/reload', { method: 'POST' });
      fill(reloadOut, note('ok', t('system.reloaded', { rules: num(r.rules), entries: num(r.list_entries), version: r.lists_version, count: r.list_entries })));
      await load();
    } catch (e) {
      fill(reloadOut, errorNote(e));
    }
  }

  await load();
  ctx.every(10000, load);
}
