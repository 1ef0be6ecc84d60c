// The dashboard in a real browser: headless Chromium driven by playwright-core, against a
// running `chanrac serve` (with API keys and the SMPP firewall in front of an SMSC
// simulator) and, optionally, a second one in development mode. Run by
// crates/chanrac/tests/dashboard.rs, which starts the processes and passes:
//
//   CHANRAC_URL, CHANRAC_DEV_URL        the two servers
//   CHANRAC_OPERATOR_KEY, CHANRAC_BANK_KEY
//   CHANRAC_SMPP                        HOST:PORT of the firewall's SMPP listener
//   CHANRAC_PYTHON, CHANRAC_ESME        python with smpplib, and esme.py
//   CHANRAC_TRAFFIC                     a labelled TSV file (data/) to send as traffic
//   CHANRAC_CHROMIUM, CHANRAC_UI_DEPS   the browser, and the directory of node_modules
//   CHANRAC_SHOTS                       where the screenshots go
//
// It generates traffic through the API and SMPP, loads every page, compares the figures
// shown with the API's answers, performs the actions (add a list entry with a reason and
// find it in the audit log; release and discard quarantined messages; reload) and checks
// their effect through the API. A screenshot of every page is saved. Exit status 0 when
// every check held; otherwise the first failure is printed (with a screenshot).

import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};

const require = createRequire(join(env('CHANRAC_UI_DEPS'), 'package.json'));
const { chromium } = require('playwright-core');

const BASE = env('CHANRAC_URL');
const DEV = process.env.CHANRAC_DEV_URL;
const OPERATOR = env('CHANRAC_OPERATOR_KEY');
const BANK = env('CHANRAC_BANK_KEY');
const REGULATOR = env('CHANRAC_REGULATOR_KEY');
/** Senders of the SIM farm in the traffic (the counters flag a campaign from 10). */
const FARM = 14;
/** A source that three subscribers report to 5656: it goes on the watch list. */
const REPORTED = '0966111222';
const SHOTS = env('CHANRAC_SHOTS');
mkdirSync(SHOTS, { recursive: true });

const HOLD_TEXTS = ['Thong bao giu lai kiem tra lo hang so 1', 'Thong bao giu lai kiem tra lo hang so 2'];
const HAM_TEXT = 'Hen gap ban luc 7h toi nay o quan cafe nhe';
const PRIZE = 'Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz';
// Spammers write what they like: markup must show as text, never run.
const MARKUP = '<img src=x onerror="document.title=1"><b>trúng thưởng</b> 50tr tại https://vtb-qua.xyz';
const SENDERS = ['0912000001', '0912000002', '0912000003', 'VTB-QUA', '0987654321'];

let step = 'start';
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${step}:`, ...a);

function check(cond, what, detail) {
  if (!cond) throw new Error(`${step}: ${what}${detail === undefined ? '' : `\n  ${typeof detail === 'string' ? detail : JSON.stringify(detail)}`}`);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

// ---- The API, as the tests see it (independently of the page) ----

async function call(method, path, { key = OPERATOR, body, base = BASE } = {}) {
  const headers = {};
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  let data = text;
  try { data = JSON.parse(text); } catch { /* text */ }
  return { status: r.status, data };
}

async function get(path, opts) {
  const r = await call('GET', path, opts);
  check(r.status === 200, `GET ${path} answered ${r.status}`, r.data);
  return r.data;
}

async function until(what, fn, ms = 30000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    check(Date.now() < deadline, `timed out waiting for ${what}`, String(last));
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---- Traffic ----

function tsvTexts(path, n) {
  const lines = readFileSync(path, 'utf8').split('\n');
  const head = lines[0].split('\t');
  const col = head.indexOf('text');
  check(col >= 0, `${path} has a text column`);
  return lines.slice(1).filter(Boolean).slice(0, n).map((l) => l.split('\t')[col]);
}

async function traffic() {
  step = 'traffic';
  await until('the server to be ready', async () => (await call('GET', '/readyz')).status === 200, 60000);
  await until('an upstream SMPP bind', async () => (await get('/v1/smpp')).upstream_bound >= 1);
  const texts = tsvTexts(env('CHANRAC_TRAFFIC'), 150);
  const messages = texts.map((text, i) => ({ id: `e2e-${i}`, sender: SENDERS[i % SENDERS.length], recipient: '0900000001', text }));
  messages.push({ id: 'e2e-prize', sender: '0912345678', recipient: '0900000002', text: PRIZE });
  messages.push({ id: 'e2e-markup', sender: '0912345678', recipient: '0900000002', text: MARKUP });
  // A SIM farm: one template from FARM numbers, each to its own recipient (a campaign).
  for (let i = 0; i < FARM; i++) {
    messages.push({ id: `e2e-farm-${i}`, sender: `08310000${String(i).padStart(2, '0')}`, recipient: `09400000${String(i).padStart(2, '0')}`,
      text: `Ban nhan duoc qua tang ${100 + i} nghin dong, lien he ngay so 0899${String(i).padStart(6, '0')} de nhan qua nhe` });
  }
  const r = await call('POST', '/v1/check/batch', { body: { messages } });
  check(r.status === 200, 'the batch is checked', r.data);
  const actions = {};
  for (const v of r.data.verdicts) actions[v.action] = (actions[v.action] || 0) + 1;
  log('batch verdicts', actions);
  check(actions.block > 0, 'the traffic has blocked messages', actions);
  // Single checks too (what an SMSC calls per message), for the latency figures.
  for (let i = 0; i < 20; i++) {
    const one = await call('POST', '/v1/check', { body: { id: `e2e-one-${i}`, sender: SENDERS[i % SENDERS.length], text: texts[i] } });
    check(one.status === 200, 'a single check', one.data);
  }

  const [host, port] = env('CHANRAC_SMPP').split(':');
  const out = execFileSync(env('CHANRAC_PYTHON'), [env('CHANRAC_ESME'), host, port, 'e2e', 'e2e-pw', '84900000009', '84912345678', HAM_TEXT, ...HOLD_TEXTS],
    { encoding: 'utf8', timeout: 60000 });
  const esme = JSON.parse(out);
  log('smpp answers', esme.resps);
  check(esme.resps.every((x) => x && x.status === 0), 'every SMPP submit is acknowledged', esme);
  const held = await until('two held messages', async () => {
    const q = await get('/v1/quarantine');
    return q.held.length === 2 ? q.held : null;
  });
  equal(held.map((x) => x.text).sort(), [...HOLD_TEXTS].sort(), 'the held texts');

  // Three subscribers report the same number to 5656: it is watched.
  for (const from of ['0903000001', '0903000002', '0903000003']) {
    const r = await call('POST', '/v1/mo', { key: REGULATOR, body: { from, to: '5656', text: `S ${REPORTED} Vay tien nhanh lai 0%` } });
    check(r.status === 200 && r.data.kind === 'report', 'a report to 5656', r.data);
  }
}

// ---- The browser ----

const errors = [];

/** A screenshot of one element (a card of a long page), readable at full size. */
async function shotOf(page, selector, name) {
  await page.mouse.move(0, 0);
  await page.locator(selector).screenshot({ path: join(SHOTS, `${name}.png`) });
  log(`screenshot ${name}.png`);
}

async function shot(page, name) {
  // The pointer away from the charts, so that no hover effect shows.
  await page.mouse.move(0, 0);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  log(`screenshot ${name}.png`);
}

/**
 * Text nodes that look like an untranslated key (`nav.overview`). Data shown as code (audit
 * actions such as `quarantine.release`) is left out.
 */
async function noRawKeys(page) {
  const raw = await page.evaluate(() => {
    const found = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      if (walker.currentNode.parentElement.closest('code')) continue;
      const s = walker.currentNode.textContent.trim();
      if (/^(app|login|nav|role|action|category|side|kind|period|err|overview|health|why|verdict|sources|quarantine|lists|audit|try|system|smpp|hub|rules|kw)\.[a-z0-9_.]+$/.test(s)) found.push(s);
    }
    return found;
  });
  equal(raw, [], 'untranslated keys on the page');
}

async function open(page, hash, ready) {
  await page.goto(`${BASE}/${hash}`);
  await page.waitForSelector(ready, { timeout: 15000 });
}

const dataValue = async (page, sel) => Number(await page.getAttribute(sel, 'data-value'));

async function login(page, key) {
  await page.fill('#login-key', key);
  await page.click('#login button[type=submit]');
}

async function overview(page) {
  step = 'overview';
  await open(page, '#/overview', '[data-testid=kpi-messages]');
  await page.waitForSelector('[data-testid=health-smpp]');
  const from = await page.getAttribute('.kpis', 'data-from');
  const to = await page.getAttribute('.kpis', 'data-to');
  const stats = await get(`/v1/stats?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&bucket=minute&top=0`);
  log('totals', stats.totals.actions);
  equal(await dataValue(page, '[data-testid=kpi-messages]'), stats.totals.messages, 'messages checked');
  for (const a of ['allow', 'tag', 'quarantine', 'block']) {
    equal(await dataValue(page, `[data-testid=kpi-${a}]`), stats.totals.actions[a] || 0, `${a} count`);
  }
  // The figure as written on the page, in the page's language.
  const shown = await page.textContent('[data-testid=kpi-messages] .kpi-value');
  const expected = await page.evaluate((n) => new Intl.NumberFormat(document.documentElement.lang === 'vi' ? 'vi-VN' : 'en-GB').format(n), stats.totals.messages);
  equal(shown, expected, 'the messages figure as shown');
  // The chart: each bucket's bar equals the API's bucket.
  const bars = await page.$$eval('[data-testid=chart-actions] g.bucket', (gs) => gs.map((g) => [g.dataset.start, Number(g.dataset.total)]));
  const barAt = new Map(bars);
  check(bars.length >= 60 && bars.length <= 61, 'an hour of minute bars', bars.length);
  for (const b of stats.series) equal(barAt.get(new Date(b.start).toISOString()), b.messages, `the bar of ${b.start}`);
  equal(bars.reduce((a, [, n]) => a + n, 0), stats.totals.messages, 'the bars add up to the total');
  for (const c of ['ham', 'ad', 'spam', 'scam']) {
    equal(await dataValue(page, `[data-testid=category-totals] g[data-key=${c}]`), stats.totals.categories[c] || 0, `${c} total`);
  }
  // Health: the store answers, the SMPP binds are those of the API, the call detector answers.
  equal(await page.getAttribute('[data-testid=health-store]', 'data-state'), 'ok', 'store health');
  const smpp = await get('/v1/smpp');
  equal(await page.getAttribute('[data-testid=health-smpp]', 'data-state'), smpp.upstream_bound > 0 ? 'ok' : 'down', 'SMPP health');
  check((await page.textContent('[data-testid=health-smpp]')).includes(String(smpp.upstream_bound)), 'the SMPP health names the binds');
  equal((await call('GET', '/v1/calls/stats')).status, 200, 'the calls endpoint answers');
  equal(await page.getAttribute('[data-testid=health-calls]', 'data-state'), 'ok', 'calls shown as working');
  // Throughput appears at the second refresh (two samples of /metrics).
  await page.waitForFunction(() => document.querySelector('[data-testid=throughput]')?.dataset.value !== '', null, { timeout: 20000 });
  const rate = await dataValue(page, '[data-testid=throughput]');
  check(Number.isFinite(rate) && rate >= 0, 'the throughput is a number', rate);
  const latency = await page.textContent('[data-testid=latency-p50] .stat-value');
  check(/≤ [\d.,]+ (µs|ms)/.test(latency), 'the check latency is shown', latency);
  await noRawKeys(page);
  await shot(page, '02-overview');

  // Another period: 24 hourly bars, the same figures as the API for it.
  const before = await page.getAttribute('.kpis', 'data-from');
  await page.click('[data-testid=period] button[data-period="24h"]');
  await page.waitForFunction((f) => document.querySelector('.kpis').dataset.from !== f, before);
  const [from24, to24] = [await page.getAttribute('.kpis', 'data-from'), await page.getAttribute('.kpis', 'data-to')];
  const day = await get(`/v1/stats?from=${encodeURIComponent(from24)}&to=${encodeURIComponent(to24)}&bucket=hour&top=0`);
  equal(await dataValue(page, '[data-testid=kpi-messages]'), day.totals.messages, 'messages checked in 24 hours');
  const hours = await page.$$eval('[data-testid=chart-actions] g.bucket', (gs) => gs.length);
  check(hours >= 24 && hours <= 25, '24 hourly bars', hours);
}

/** The ranges of text each mark covers, and whether every quoted evidence is covered. */
async function checkHighlights(page, card, verdict, text) {
  const marks = await page.$$eval(`${card} mark`, (ms) => ms.map((m) => ({ text: m.textContent, signals: m.dataset.signals.split(' ') })));
  check(marks.length > 0, 'the evidence is highlighted', verdict);
  for (const m of marks) {
    for (const signal of m.signals) {
      const reason = verdict.reasons.find((r) => r.signal === signal);
      check(reason && reason.evidence.includes(m.text), `a mark quotes the evidence of each of its signals: ${JSON.stringify(m)}`, verdict.reasons);
    }
  }
  const shownText = await page.textContent(`${card} .msg-text`);
  equal(shownText, text, 'the text is shown whole');
  // Every evidence found verbatim in the text lies under a mark.
  const covered = await page.$$eval(`${card} .msg-text`, ([p]) => {
    const spans = [];
    let pos = 0;
    for (const n of p.childNodes) {
      const len = n.textContent.length;
      if (n.nodeName === 'MARK') spans.push([pos, pos + len]);
      pos += len;
    }
    return spans;
  });
  for (const r of verdict.reasons) {
    const at = text.indexOf(r.evidence);
    if (!r.evidence || at < 0) continue;
    const inside = covered.some(([a, b]) => a < at + r.evidence.length && at < b);
    check(inside, `the evidence of ${r.signal} (${r.evidence}) is highlighted`);
  }
  const rows = await page.$$eval(`${card} table.reasons tbody tr`, (trs) => trs.map((tr) => [tr.dataset.signal, Number(tr.dataset.weight)]));
  equal(rows, verdict.reasons.map((r) => [r.signal, r.weight]), 'the reasons, in order, with their weights');
}

async function why(page) {
  step = 'why';
  await open(page, '#/why?id=e2e-prize', '[data-testid=why-count]');
  const { verdicts } = await get('/v1/verdicts?id=e2e-prize');
  equal(verdicts.length, 1, 'one logged verdict for e2e-prize');
  const v = verdicts[0];
  equal(await dataValue(page, '[data-testid=why-count]'), 1, 'one verdict shown');
  const card = '[data-testid=why-results] article.verdict';
  equal(await page.getAttribute(card, 'data-action'), v.action, 'the action shown');
  equal(Number(await page.getAttribute(card, 'data-score')), v.score, 'the score shown');
  await checkHighlights(page, card, v, PRIZE);
  await noRawKeys(page);
  await shot(page, '03-why');

  // A search through the form: a sender's blocked messages.
  await page.fill('#why-form input[name=id]', '');
  await page.fill('#why-form input[name=sender]', SENDERS[0]);
  await page.selectOption('#why-form select[name=action]', 'block');
  await page.click('#why-form button[type=submit]');
  await page.waitForFunction(() => location.hash.includes('sender='));
  const api = await get(`/v1/verdicts?sender=${SENDERS[0]}&action=block&limit=20`);
  check(api.verdicts.length > 0, 'the sender has blocked messages');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=why-count]')?.dataset.value) === n, api.verdicts.length, { timeout: 10000 });
  const ids = await page.$$eval('[data-testid=why-results] article.verdict', (as) => as.map((a) => Number(a.dataset.logId)));
  equal(ids, api.verdicts.map((x) => x.log_id), 'the same verdicts as the API, newest first');
  await shot(page, '03b-why-sender');

  // Markup in a message is shown as its text.
  await open(page, '#/why?id=e2e-markup', '[data-testid=why-count]');
  equal(await page.textContent('[data-testid=why-results] .msg-text'), MARKUP, 'markup shown as text');
  equal(await page.$$eval('[data-testid=why-results] .msg-text img, [data-testid=why-results] .msg-text b', (es) => es.length), 0, 'elements made from a message');
}

async function sources(page) {
  step = 'sources';
  await open(page, '#/sources', '[data-testid=top-senders]');
  const now = Math.floor(Date.now() / 1000);
  const stats = await get(`/v1/stats?from=${now - 86400}&to=${now + 1}&bucket=day&top=20`);
  const rows = async (id) => (await page.$$eval(`[data-testid=${id}] tbody tr`, (trs) => trs.map((tr) => [tr.dataset.value, Number(tr.dataset.count)]))).sort();
  equal(await rows('top-senders'), stats.top_senders.map((r) => [r.value, r.count]).sort(), 'top senders');
  equal(await rows('top-domains'), stats.top_domains.map((r) => [r.value, r.count]).sort(), 'top domains');
  // The SIM farm of the traffic is a campaign, as the API rebuilds it from the verdict log
  // (which keeps, by default, the messages sent after the counters flagged it).
  const campaigns = (await get('/v1/campaigns')).campaigns;
  check(campaigns.some((c) => c.senders >= 2 && c.members.every((m) => m.startsWith('08310000'))), 'the farm is a campaign', campaigns);
  await page.waitForSelector('[data-testid=campaign-table]');
  equal(await dataValue(page, '[data-testid=campaigns-count]'), campaigns.length, 'campaigns as the API lists them');
  const shown = await page.$$eval('[data-testid=campaign-table] tbody tr', (trs) => trs.map((tr) => [tr.dataset.campaign, Number(tr.dataset.senders)]));
  equal(shown, campaigns.slice(0, shown.length).map((c) => [c.id, c.senders]), 'each campaign with its senders');
  await shot(page, '04-sources');

  // Put the top number on the blocklist, with a reason.
  const top = stats.top_senders.find((r) => /^\+?\d+$/.test(r.value));
  check(top, 'a number among the top senders', stats.top_senders);
  const row = `[data-testid=top-senders] tr[data-value="${top.value}"]`;
  await page.click(`${row} [data-testid=add-to-list]`);
  const reason = `e2e: ${top.count} blocked messages from ${top.value}`;
  await page.fill(`${row} input[name=reason]`, reason);
  await page.click(`${row} [data-testid=add-form] button[type=submit]`);
  await page.waitForSelector(`${row} [data-testid=listed]`);
  const lists = await get('/v1/lists?side=block&kind=senders');
  check(lists.entries.some((e) => e.value === top.value && e.reason === reason && e.added_by === 'noc'), 'the sender is on the blocklist, by noc, with the reason', lists);
  const audit = await get('/v1/audit?limit=1000');
  check(audit.records.some((r) => r.action === 'list.add' && r.target.endsWith(top.value) && r.reason === reason), 'the audit log has the change', audit.records.slice(-3));
  await shot(page, '04b-sources-listed');

  // A sender's messages, from its canonical form to the forms the messages gave.
  const other = stats.top_senders.find((r) => /^\+84\d+$/.test(r.value) && r.value !== top.value);
  await page.click(`[data-testid=top-senders] tr[data-value="${other.value}"] a >> text=Messages`);
  await page.waitForSelector('[data-testid=why-count]');
  const local = `0${other.value.slice(3)}`;
  const given = await get(`/v1/verdicts?sender=${local}&action=block&limit=20`);
  check(given.verdicts.length > 0, `blocked messages from ${local}`);
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=why-count]')?.dataset.value) === n, given.verdicts.length, { timeout: 10000 });
  return { value: top.value, reason };
}

async function quarantine(page) {
  step = 'quarantine';
  await open(page, '#/quarantine', '[data-testid=held-count]');
  const { held } = await get('/v1/quarantine');
  equal(await dataValue(page, '[data-testid=held-count]'), held.length, 'held messages');
  const ids = await page.$$eval('article[data-held-id]', (as) => as.map((a) => a.dataset.heldId));
  equal(ids, held.map((x) => x.id), 'the held messages, oldest first');
  for (const m of held) {
    const card = `article[data-held-id="${m.id}"]`;
    const { verdicts } = await get(`/v1/verdicts?sender=${m.source}&recipient=${m.dest}&action=quarantine`);
    const v = verdicts.find((x) => x.text === m.text);
    check(v, `the verdict of ${m.id} is in the log`);
    await checkHighlights(page, card, v, m.text);
  }
  await noRawKeys(page);
  await shot(page, '05-quarantine');

  const [release, discard] = held;
  await page.click(`article[data-held-id="${release.id}"] [data-testid=release]`);
  await page.waitForSelector(`.note.ok >> text=${release.id}`);
  await page.click(`article[data-held-id="${discard.id}"] [data-testid=discard]`);
  await page.waitForSelector(`.note.ok >> text=${discard.id}`);
  equal(await dataValue(page, '[data-testid=held-count]'), 0, 'nothing held on the page');
  equal((await get('/v1/quarantine')).held, [], 'nothing held in the API');
  const audit = (await get('/v1/audit?limit=1000')).records;
  check(audit.some((r) => r.action === 'quarantine.release' && r.target === release.id && r.actor === 'noc'), 'the release is audited');
  check(audit.some((r) => r.action === 'quarantine.discard' && r.target === discard.id && r.actor === 'noc'), 'the discard is audited');
  await shot(page, '05b-quarantine-decided');
  return release;
}

async function lists(page, listed) {
  step = 'lists';
  await open(page, '#/lists', '[data-testid=entries-count]');
  await page.waitForSelector('[data-testid=audit-count]');
  const api = await get('/v1/lists');
  equal(await page.getAttribute('[data-testid=entries-count]', 'data-total'), String(api.entries.length), 'entries');
  equal(await page.getAttribute('[data-testid=entries-count]', 'data-version'), String(api.version), 'lists version');
  check(await page.$(`[data-testid=entries] tr[data-value="${listed.value}"]`), 'the sender listed from the top sources is in the table');

  // Add an allowlist entry with a reason; see it in the table and in the audit log.
  await page.selectOption('#add-entry select[name=side]', 'allow');
  await page.selectOption('#add-entry select[name=kind]', 'brandnames');
  await page.fill('#add-entry input[name=value]', 'Vietcombank');
  await page.fill('#add-entry input[name=reason]', 'e2e: the real bank');
  await page.click('#add-entry button[type=submit]');
  await page.waitForSelector('[data-testid=entries] tr[data-value="VIETCOMBANK"][data-side=allow]');
  const after = await get('/v1/lists?side=allow&kind=brandnames');
  check(after.entries.some((e) => e.value === 'VIETCOMBANK' && e.reason === 'e2e: the real bank'), 'the API has the entry', after);
  const newest = async () => page.$$eval('[data-testid=audit] tbody tr', (trs) => trs.slice(0, 1).map((tr) => [tr.dataset.action, tr.lastChild.textContent, Number(tr.dataset.id)])[0]);
  const [action, reason, id] = await newest();
  equal([action, reason], ['list.add', 'e2e: the real bank'], 'the newest audit record on the page');
  const audit = (await get('/v1/audit?limit=1000')).records;
  equal(audit[audit.length - 1].id, id, 'the newest audit record is the API\'s');
  equal(await dataValue(page, '[data-testid=audit-count]'), audit.length, 'audit records');
  await shot(page, '06-lists');

  // Remove it, with a reason.
  await page.click('[data-testid=entries] tr[data-value="VIETCOMBANK"][data-side=allow] [data-testid=remove]');
  await page.fill('[data-testid=entries] input[name=remove-reason]', 'e2e: done');
  await page.click('[data-testid=entries] form button[type=submit]');
  await page.waitForSelector('[data-testid=entries] tr[data-value="VIETCOMBANK"][data-side=allow]', { state: 'detached' });
  equal((await get('/v1/lists?side=allow&kind=brandnames')).entries.filter((e) => e.value === 'VIETCOMBANK'), [], 'the entry is gone from the API');
  await page.waitForFunction(() => document.querySelector('[data-testid=audit] tbody tr')?.dataset.action === 'list.remove');
  equal((await newest()).slice(0, 2), ['list.remove', 'e2e: done'], 'the removal in the audit log');
  // Filtering the audit log finds the quarantine decisions.
  await page.fill('input[name=audit-filter]', 'quarantine.release');
  equal(await page.$$eval('[data-testid=audit] tbody tr', (trs) => trs.map((tr) => tr.dataset.action)), ['quarantine.release'], 'the audit filter');
  await noRawKeys(page);
  await shot(page, '06b-lists-audit');
}

async function rules(page) {
  step = 'rules';
  await open(page, '#/rules', '[data-testid=rules-count]');
  const api = await get('/ui/rules');
  equal(await page.getAttribute('[data-testid=rules-count]', 'data-total'), String(api.signals.length), 'signals');
  const shown = await page.$$eval('[data-testid=thresholds] [data-action]', (ds) => ds.map((d) => Number(d.dataset.value)));
  equal(shown, api.thresholds, 'the thresholds');
  // Find the site rule, and try one of its examples: it fires there.
  await page.fill('input[name=rule-search]', 'giu lai');
  const rows = await page.$$eval('[data-testid=rules] tbody tr', (trs) => trs.map((tr) => [tr.dataset.id, Number(tr.dataset.weight)]));
  const site = api.signals.find((x) => x.id === 'SITE_HOLD_FOR_REVIEW');
  equal(rows, [[site.id, site.weight]], 'the search finds the site rule');
  await page.click('[data-testid=rules] tbody tr summary');
  await noRawKeys(page);
  await shot(page, '06c-rules');
  await page.click(`[data-testid=rules] tbody tr a >> text=${site.fires[0]}`);
  await page.waitForSelector('[data-testid=try-result] article.verdict');
  check(await page.$(`[data-testid=try-result] tr[data-signal=${site.id}]`), 'the rule fires on its example in Try it');
}

async function tryIt(page) {
  step = 'try';
  await open(page, '#/try', '#try-form');
  await page.click('[data-example=loan]');
  const text = await page.inputValue('#try-form textarea');
  const sender = await page.inputValue('#try-form input[name=sender]');
  await page.click('#try-form button[type=submit]');
  await page.waitForSelector('[data-testid=try-result] article.verdict');
  const r = await call('POST', '/v1/check', { body: { text, sender } });
  equal(r.status, 200, 'the API checks the same message');
  const card = '[data-testid=try-result] article.verdict';
  equal(await page.getAttribute(card, 'data-action'), r.data.action, 'the action');
  equal(await page.getAttribute(card, 'data-category'), r.data.category, 'the category');
  equal(Number(await page.getAttribute(card, 'data-score')), r.data.score, 'the score');
  await checkHighlights(page, card, r.data, text);
  await noRawKeys(page);
  await shot(page, '07-try');
}

async function system(page) {
  step = 'system';
  await open(page, '#/system', '[data-testid=smpp-counters]');
  const smpp = await get('/v1/smpp');
  for (const k of ['forwarded', 'quarantined', 'rejected', 'binds']) {
    equal(await dataValue(page, `[data-testid=smpp-counters] tr[data-key=${k}]`), smpp.counters[k], `SMPP counter ${k}`);
  }
  equal(await dataValue(page, '[data-testid=smpp-status] tr[data-key=upstream_bound]'), smpp.upstream_bound, 'upstream binds');
  // No request of this whole run failed on the server's side.
  equal(await dataValue(page, '[data-testid=http] tr[data-key="5xx"]'), 0, 'server errors (5xx) during the run');
  await page.click('[data-testid=reload]');
  await page.waitForSelector('[data-testid=reload-result] .note.ok');
  const audit = (await get('/v1/audit?limit=1000')).records;
  const last = audit[audit.length - 1];
  equal([last.action, last.actor], ['reload', 'noc'], 'the reload is audited');
  await noRawKeys(page);
  await shot(page, '08-system');
}

async function hub(page, key, expectIds) {
  step = 'hub';
  await open(page, '#/hub', '.feature');
  await page.waitForFunction((n) => document.querySelectorAll('.feature').length === n, expectIds.length);
  const features = await page.$$eval('.feature', (fs) => fs.map((f) => [f.dataset.path, f.dataset.state]));
  const cards = await page.$$eval('[data-testid^=hub-]', (cs) => cs.map((c) => c.dataset.testid.slice(4)));
  equal(cards, expectIds, 'the hub features for these roles');
  for (const [path, state] of features) {
    const r = await call('GET', path, { key });
    // "Not available yet" exactly when the server answers 404.
    equal(state === 'unavailable', r.status === 404, `${path} (API answered ${r.status}, page says ${state})`);
  }
  await noRawKeys(page);
}

/** The hub's cards against the API; with `decide`, confirm the watched source and see it blocked. */
async function hubFigures(page, decide) {
  step = decide ? 'hub (regulator)' : 'hub (operator)';
  const key = decide ? REGULATOR : OPERATOR;
  const reports = (await get('/v1/reports', { key })).reports;
  await page.waitForSelector('[data-testid=reports-count]');
  equal(await dataValue(page, '[data-testid=reports-count]'), reports.length, 'reports counted as the API lists them');
  const watch = (await get('/v1/watchlist', { key })).sources;
  equal(await dataValue(page, '[data-testid=watch-count]'), watch.length, 'watched sources');
  const row = `[data-testid=watch-table] tr[data-source="+84${REPORTED.slice(1)}"]`;
  equal(await page.getAttribute(row, 'data-status'), 'watch', 'the reported number is watched');
  const dnc = await get('/v1/dnc/stats', { key });
  equal(await dataValue(page, '[data-testid=dnc-registered]'), dnc.registered, 'DNC registrations');
  const calls = await get('/v1/calls/stats', { key });
  equal(await dataValue(page, '[data-testid=calls-records]'), calls.records, 'call records');
  const feed = JSON.parse((await get('/v1/feed', { key })).payload);
  equal(await dataValue(page, '[data-testid=feed-version]'), feed.latest, 'the feed version');
  if (!decide) {
    equal(await page.$$(`${row} button`).then((b) => b.length), 0, 'an operator key cannot confirm');
    return;
  }
  page.once('dialog', (d) => d.accept('e2e: three subscribers, loan scam'));
  await page.click(`${row} [data-testid=confirm]`);
  await page.waitForSelector(`${row}[data-status=confirmed]`);
  await page.waitForSelector('[data-testid=watch-result] .note.ok');
  const after = (await get('/v1/watchlist?status=confirmed', { key })).sources.find((x) => x.key === `+84${REPORTED.slice(1)}`);
  equal([after.status, after.decided_by], ['confirmed', 'mic'], 'the confirmation as the API holds it');
  const listed = (await get('/v1/lists', { key })).entries || [];
  check(JSON.stringify(listed).includes(`+84${REPORTED.slice(1)}`), 'the confirmed number is on the block list', listed.length);
  // The feed card is asked again and shows the new entry on top.
  await until('the feed card shows the confirmation', async () =>
    (await page.textContent('[data-testid=feed-changes] tbody tr:first-child').catch(() => '')).includes(`+84${REPORTED.slice(1)}`));
  // The lookup a bank or a checker page makes: the index follows the lists within moments.
  await until('the lookup knows the confirmation', async () => (await get(`/v1/lookup?phone=${REPORTED}`, { key })).risk === 'high', 5000);
  await page.selectOption('[data-testid=lookup-form] select[name=kind]', 'phone');
  await page.fill('[data-testid=lookup-form] input[name=value]', REPORTED);
  await page.click('[data-testid=lookup-form] button[type=submit]');
  await page.waitForSelector('[data-testid=lookup-result] .lookup');
  const answer = await get(`/v1/lookup?phone=${REPORTED}`, { key });
  equal(await page.getAttribute('[data-testid=lookup-result] .lookup', 'data-risk'), answer.risk, 'the lookup risk as the API answers');
  equal(answer.risk, 'high', 'a confirmed source is high risk');
}

async function regulatorHub(page) {
  step = 'regulator';
  await page.click('#logout');
  await page.waitForSelector('#login');
  await login(page, REGULATOR);
  await page.waitForSelector('nav a[data-page=hub]');
  await hub(page, REGULATOR, ['reports', 'watchlist', 'dnc', 'advertisers', 'keywords', 'feed', 'lookup', 'calls']);
  await hubFigures(page, true);
  await shot(page, '09b-hub-regulator');
}

async function languages(page) {
  step = 'languages';
  const dicts = await page.evaluate(async () => {
    const m = await import('/ui/i18n.js');
    return { vi: Object.keys(m.DICTS.vi).sort(), en: Object.keys(m.DICTS.en).sort() };
  });
  // English singulars (`KEY_one`) stand beside a key both languages have.
  const singulars = dicts.en.filter((k) => k.endsWith('_one'));
  check(singulars.every((k) => dicts.vi.includes(k.slice(0, -4))), 'every singular has its key', singulars);
  equal(dicts.vi, dicts.en.filter((k) => !k.endsWith('_one')), 'the same keys in Vietnamese and English');
  await page.click('#lang-switch button[data-lang=vi]');
  await page.waitForSelector('html[lang=vi]');
  await open(page, '#/overview', '[data-testid=kpi-messages]');
  equal(await page.textContent('nav a[data-page=overview]'), 'Tổng quan', 'the navigation in Vietnamese');
  equal(await page.textContent('[data-testid=kpi-block] .kpi-label'), 'Chặn', 'a figure label in Vietnamese');
  await noRawKeys(page);
  await shot(page, '10-overview-vi');
  await open(page, '#/why?id=e2e-prize', '[data-testid=why-count]');
  await shot(page, '10b-why-vi');
  await page.click('#lang-switch button[data-lang=en]');
  await page.waitForSelector('html[lang=en]');
  equal(await page.textContent('nav a[data-page=overview]'), 'Overview', 'back to English');
}

async function bankKey(page) {
  step = 'bank key';
  await page.click('#logout');
  await page.waitForSelector('#login');
  await login(page, BANK);
  await page.waitForSelector('nav a[data-page=hub]');
  equal(await page.$$eval('nav a', (as) => as.map((a) => a.dataset.page)), ['hub'], 'a bank key sees only the hub');
  await hub(page, BANK, ['lookup']);
  await shot(page, '11-bank-key-hub');
  equal((await call('GET', '/v1/lists', { key: BANK })).status, 403, 'the API refuses the lists to a bank key');
  await page.goto(`${BASE}/#/lists`);
  await page.waitForSelector('main .note.error');
  check(await page.$('#add-entry') === null, 'no list form for a bank key');
  await shot(page, '11b-bank-key-forbidden');
}

async function devMode(browser) {
  step = 'development mode';
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  watch(page);
  await page.goto(`${DEV}/#/quarantine`);
  await page.waitForSelector('nav a[data-page=overview]');
  check(await page.$('#login') === null, 'no login in development mode');
  check((await page.textContent('#whoami')).length > 0, 'the development mode is shown');
  equal((await call('GET', '/v1/quarantine', { key: null, base: DEV })).status, 404, 'no SMPP in the development server');
  await page.waitForSelector('main .note.info');
  await shot(page, '12-dev-mode');
  await page.close();
}

// Made-up brand texts the engine lets through, reported by 20 subscribers and confirmed.
const ZORBIX = ['Chao anh, zorbix mo cua hang moi o quan 3', 'Ban oi zorbix tang qua cho thanh vien',
  'Tin vui: zorbix dang cap nhat phien ban', 'Nho ghe zorbix cuoi tuan nay', 'Da co zorbix tren dien thoai chua',
  'Zorbix hen gap ban toi nay', 'Cung zorbix kham pha the gioi', 'Ung dung zorbix da san sang',
  'Lien he zorbix de biet them', 'Zorbix chuc ban mot ngay vui', 'Thu zorbix ngay hom nay', 'Hay chia se zorbix voi ban be'];
const ZORBIX_PROBE = 'Moi ban tai zorbix ve may';

/** The keyword queue at the development server (every role, so a regulator): mine, approve, see it fire in Try it. */
async function keywords(browser) {
  step = 'keywords';
  const dev = (method, path, body) => call(method, path, { key: null, base: DEV, body });
  for (let i = 0; i < 20; i++) {
    const content = `${ZORBIX[i % ZORBIX.length]}${i < 12 ? '' : ' nhe'}`;
    const r = await dev('POST', '/v1/reports', { reporter: `09000000${String(i).padStart(2, '0')}`, kind: 'spam', source: '0912000111', content });
    check(r.status === 201, 'a report is stored', r.data);
  }
  equal((await dev('POST', '/v1/watchlist/0912000111/confirm', { reason: 'e2e: zorbix spam' })).status, 200, 'the source is confirmed');
  const before = await dev('POST', '/v1/check', { text: ZORBIX_PROBE });
  check(!before.data.reasons.some((r) => r.signal.startsWith('HUB_KW_')), 'no hub keyword fires before', before.data);

  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  watch(page);
  await page.goto(`${DEV}/#/hub`);
  await page.waitForSelector('[data-testid=hub-keywords] [data-testid=kw-mine]');
  check(await page.$('[data-testid=kw-pack][data-version="0"]'), 'no pack before any approval');
  await page.click('[data-testid=kw-mine]');
  await page.waitForSelector('[data-testid=kw-table] tr[data-phrase=zorbix][data-status=proposed]');
  const queued = (await dev('GET', '/v1/keywords/proposals?status=proposed')).data.proposals;
  const shown = await page.$$eval('[data-testid=kw-table] tbody tr', (rs) => rs.map((r) => r.dataset.phrase));
  equal(shown, queued.map((p) => p.phrase), 'the queue shown is the API\'s');
  const zorbix = queued.find((p) => p.phrase === 'zorbix');
  const row = '[data-testid=kw-table] tr[data-phrase=zorbix]';
  check((await page.textContent(row)).includes(`${zorbix.unwanted_docs} / ${zorbix.unwanted_total}`), 'the report counts shown', zorbix);
  await shotOf(page, '[data-testid=hub-keywords]', '13-hub-keywords');

  // Approve with a reason (a reason is required: the empty form does not submit).
  await page.click(`${row} [data-testid=kw-approve]`);
  await page.fill(`${row} input[name=kw-reason]`, 'e2e: made-up brand in 20 reports');
  await page.click(`${row} [data-testid=kw-confirm]`);
  await page.waitForSelector('[data-testid=kw-pack][data-version="1"]');
  check((await page.textContent('[data-testid=kw-message]')).includes('1'), 'the new pack version is announced');
  const approved = (await dev('GET', '/v1/keywords/proposals?status=approved')).data;
  equal(approved.proposals.map((p) => [p.phrase, p.decided_by, p.reason]), [['zorbix', 'dev', 'e2e: made-up brand in 20 reports']], 'the API has the decision');
  equal(approved.pack.keywords.map((k) => k.phrase), ['zorbix'], 'the pack holds the keyword');
  await page.selectOption('select[name=kw-status]', 'approved');
  await page.waitForSelector('[data-testid=kw-table] tr[data-phrase=zorbix][data-status=approved] [data-testid=kw-revoke]');
  await shotOf(page, '[data-testid=hub-keywords]', '13b-hub-keyword-approved');
  const audit = (await dev('GET', '/v1/audit')).data.records.map((r) => r.action);
  check(audit.includes('keyword.approve') && audit.includes('rules.install'), 'the decision is in the audit log', audit);

  // The keyword now fires in Try it.
  await page.goto(`${DEV}/#/try`);
  await page.waitForSelector('#try-form');
  await page.fill('#try-form textarea', ZORBIX_PROBE);
  await page.click('#try-form button[type=submit]');
  await page.waitForSelector('[data-testid=try-result] tr[data-signal=HUB_KW_ZORBIX]');
  await shot(page, '13c-try-hub-keyword');

  // The Vietnamese panel.
  await page.click('#lang-switch button[data-lang=vi]');
  await page.waitForSelector('html[lang=vi]');
  await page.goto(`${DEV}/#/hub`);
  await page.waitForSelector('[data-testid=kw-pack][data-version="1"]');
  await page.selectOption('select[name=kw-status]', '');
  await page.waitForSelector('[data-testid=kw-table] tr[data-phrase=zorbix]');
  check((await page.textContent('[data-testid=hub-keywords]')).includes('Gói luật từ khóa đang áp dụng: phiên bản 1'), 'the panel in Vietnamese');
  await noRawKeys(page);
  await shotOf(page, '[data-testid=hub-keywords]', '13d-hub-keywords-vi');
  // The feed card shows the new pack as a change of its own.
  await page.waitForSelector('[data-testid=feed-changes] tr[data-op=rules]');
  check((await page.textContent('[data-testid=feed-changes] tr[data-op=rules]')).includes('zorbix'), 'the pack change names its keywords');
  await shotOf(page, '[data-testid=hub-feed]', '13e-hub-feed-rules-vi');
  await page.click('#lang-switch button[data-lang=en]');
  await page.close();
}

function watch(page) {
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // 401 and 404 answers (login attempts, probes of endpoints not built yet) are expected.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(`console: ${m.text()}`);
  });
}

async function main() {
  await traffic();
  const browser = await chromium.launch({
    executablePath: env('CHANRAC_CHROMIUM'),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'en-GB' });
  const page = await context.newPage();
  watch(page);
  try {
    step = 'login';
    await page.goto(`${BASE}/`);
    await page.waitForSelector('#login');
    await shot(page, '01-login');
    await login(page, 'not-a-key-0123456789');
    await page.waitForSelector('#login .note.error');
    await login(page, OPERATOR);
    await page.waitForSelector('nav a[data-page=overview]');
    equal(await page.textContent('[data-testid=key-name]'), 'noc', 'the key name shown');

    await overview(page);
    await why(page);
    const listed = await sources(page);
    await quarantine(page);
    await lists(page, listed);
    await rules(page);
    await tryIt(page);
    await system(page);
    await hub(page, OPERATOR, ['reports', 'watchlist', 'dnc', 'advertisers', 'keywords', 'feed', 'calls']);
    check(await page.$('[data-testid=kw-mine]') === null, 'an operator key reads the keyword queue but may not decide');
    await hubFigures(page, false);
    await shot(page, '09-hub');
    await languages(page);
    await regulatorHub(page);
    await bankKey(page);
    if (DEV) await devMode(browser);
    if (DEV) await keywords(browser);
    step = 'console';
    equal(errors, [], 'errors in the browser console');
  } catch (e) {
    await page.screenshot({ path: join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
  console.log('dashboard: every check held');
}

main().catch((e) => {
  console.error(`FAILED ${e.stack || e}`);
  if (errors.length) console.error(`browser errors:\n${errors.join('\n')}`);
  process.exit(1);
});
