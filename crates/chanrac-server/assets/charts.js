// Charts drawn as inline SVG: stacked bars over time and horizontal bars. Colours come from
// the stylesheet through classes (`s-block`, `s-scam`, …), so the page keeps one palette.

import { h, s, num } from './dom.js';

/** A round axis maximum at or above `v` (1, 2 or 5 times a power of ten). */
export function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * Stacked bars over time.
 *
 * `buckets`: `[{start: Date, values: {key: count}}]`, oldest first, every bucket present
 * (zeros included). `keys`: the stack order, bottom first. `label(key)`: legend text.
 * `tick(date)`: an axis label. `title`: what the chart shows, for screen readers.
 */
export function stackedBars({ buckets, keys, label, tick, title, testid }) {
  const W = 960;
  const H = 240;
  const m = { l: 56, r: 12, t: 12, b: 30 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const totals = buckets.map((b) => keys.reduce((a, k) => a + (b.values[k] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const y = (v) => m.t + ph - (v / max) * ph;
  const bw = buckets.length ? pw / buckets.length : pw;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': title });
  // Grid lines and the vertical axis.
  for (let i = 0; i <= 4; i++) {
    const v = (max / 4) * i;
    svg.appendChild(s('line', { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v), class: 'grid' }));
    svg.appendChild(s('text', { x: m.l - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end' }, num(v, v % 1 ? 1 : 0)));
  }
  // Bars, one group per bucket, with the figures for tests and tooltips.
  buckets.forEach((b, i) => {
    const g = s('g', { class: 'bucket', data: { start: b.start.toISOString(), total: totals[i] } });
    let acc = 0;
    const lines = [];
    for (const k of keys) {
      const v = b.values[k] || 0;
      if (v > 0) {
        const x = m.l + i * bw + Math.max(0.5, bw * 0.1);
        const w = Math.max(1, bw * 0.8);
        g.appendChild(s('rect', { x, y: y(acc + v), width: w, height: Math.max(0.5, y(acc) - y(acc + v)), class: `s-${k}`, data: { key: k, value: v } }));
        lines.push(`${label(k)}: ${num(v)}`);
      }
      acc += v;
    }
    g.appendChild(s('title', {}, `${tick(b.start, true)} — ${num(totals[i])}${lines.length ? `\n${lines.join('\n')}` : ''}`));
    // A transparent full-height target, so that the tooltip shows over empty buckets too.
    g.insertBefore(s('rect', { x: m.l + i * bw, y: m.t, width: bw, height: ph, class: 'hit' }), g.firstChild);
    svg.appendChild(g);
  });
  // Time labels: about eight, evenly spaced.
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  buckets.forEach((b, i) => {
    if (i % every) return;
    svg.appendChild(s('text', { x: m.l + i * bw + bw / 2, y: H - 10, class: 'axis', 'text-anchor': 'middle' }, tick(b.start, false)));
  });
  svg.appendChild(s('line', { x1: m.l, x2: W - m.r, y1: y(0), y2: y(0), class: 'baseline' }));
  const legend = h('ul', { class: 'legend' }, keys.map((k) => h('li', {}, h('span', { class: ['sw', `s-${k}`] }), label(k))));
  return h('figure', { class: 'chart-box', data: { testid } }, svg, legend);
}

/** Horizontal bars: `[{key, label, value}]`, each with the class `s-KEY`. */
export function hbars(items, { testid } = {}) {
  const W = 480;
  const row = 26;
  const H = Math.max(row, items.length * row);
  const max = Math.max(1, ...items.map((i) => i.value));
  const lw = 110;
  const vw = 80;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'hbars', role: 'img', data: { testid } });
  items.forEach((it, i) => {
    const y = i * row;
    const w = ((W - lw - vw) * it.value) / max;
    svg.appendChild(s('g', { data: { key: it.key, value: it.value } },
      s('text', { x: 0, y: y + 17, class: 'axis' }, it.label),
      s('rect', { x: lw, y: y + 5, width: Math.max(it.value ? 2 : 0, w), height: row - 10, rx: 3, class: `s-${it.key}` }),
      s('text', { x: lw + w + 6, y: y + 17, class: 'axis strong' }, num(it.value))));
  });
  return svg;
}
