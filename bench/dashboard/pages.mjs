// The dashboard's page-load benchmark: how long each page takes, in headless Chromium, from
// navigation to its figures on screen, against a `chanrac serve` that holds a realistic
// amount of data; and how long the API calls of one overview refresh take. Driven by
// bench/dashboard.sh, which starts the server and fills it. Prints one JSON object.
//
//   CHANRAC_URL, CHANRAC_CHROMIUM, CHANRAC_UI_DEPS (as in crates/chanrac/tests/ui/), RUNS

import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(join(process.env.CHANRAC_UI_DEPS, 'package.json'));
const { chromium } = require('playwright-core');
const BASE = process.env.CHANRAC_URL;
const RUNS = Number(process.env.RUNS || 7);

/** Each page and the element that shows its figures once loaded. */
const PAGES = [
  ['overview', '[data-testid=kpi-messages]'],
  ['why', '[data-testid=why-count]'],
  ['sources', '[data-testid=top-senders]'],
  ['lists', '[data-testid=audit-count]'],
  ['rules', '[data-testid=rules-count]'],
  ['system', '[data-testid=http]'],
  ['hub', '.feature'],
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x) => Math.round(x * 10) / 10;

async function timeApi(path) {
  const times = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    const r = await fetch(BASE + path);
    await r.arrayBuffer();
    times.push(performance.now() - t0);
  }
  return { median_ms: round(median(times)), max_ms: round(Math.max(...times)) };
}

const browser = await chromium.launch({
  executablePath: process.env.CHANRAC_CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const out = { runs: RUNS, pages: {}, api: {} };
for (const [id, ready] of PAGES) {
  const cold = [];
  const warm = [];
  for (let i = 0; i < RUNS; i++) {
    // Cold: a new browser context (no cache). Warm: the same page loaded again (304s).
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    let t0 = performance.now();
    await page.goto(`${BASE}/#/${id}`);
    await page.waitForSelector(ready, { timeout: 60000 });
    cold.push(performance.now() - t0);
    t0 = performance.now();
    await page.reload();
    await page.waitForSelector(ready, { timeout: 60000 });
    warm.push(performance.now() - t0);
    await context.close();
  }
  out.pages[id] = { cold_median_ms: round(median(cold)), cold_max_ms: round(Math.max(...cold)), warm_median_ms: round(median(warm)) };
}
await browser.close();
const now = Math.floor(Date.now() / 1000);
for (const [name, path] of [
  ['stats_1h_minute', `/v1/stats?from=${now - 3600}&to=${now + 1}&bucket=minute&top=0`],
  ['stats_30d_day', `/v1/stats?from=${now - 30 * 86400}&to=${now + 1}&bucket=day&top=20`],
  ['verdicts_20', '/v1/verdicts?limit=20'],
  ['lists', '/v1/lists'],
  ['audit_1000', '/v1/audit?limit=1000'],
  ['metrics', '/metrics'],
]) out.api[name] = await timeApi(path);
console.log(JSON.stringify(out, null, 2));
