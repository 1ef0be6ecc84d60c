// The HTTP API, with the key the user logged in with. The key is kept in sessionStorage:
// it lives as long as the browser tab and is never written to disk by the page.

const KEY = 'chanrac.key';

/** The key of this tab, or null. */
export function getKey() {
  return sessionStorage.getItem(KEY);
}

/** Keeps the key for this tab. */
export function setKey(k) {
  sessionStorage.setItem(KEY, k);
}

/** Forgets the key (log out). */
export function clearKey() {
  sessionStorage.removeItem(KEY);
}

/** A failed API call: the HTTP status and the API's stable error code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Answers of one call, read as JSON when they are JSON. */
async function send(path, { method = 'GET', body } = {}) {
  const headers = {};
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', `${method} ${path}: ${e.message}`);
  }
  const text = await r.text();
  let data = text;
  if ((r.headers.get('content-type') || '').includes('json')) {
    try { data = JSON.parse(text); } catch { /* kept as text */ }
  }
  return { status: r.status, ok: r.ok, data };
}

/** Calls the API; throws an [`ApiError`] for any answer but 2xx. */
export async function api(path, opts) {
  const r = await send(path, opts);
  if (!r.ok) {
    const d = r.data && typeof r.data === 'object' ? r.data : {};
    throw new ApiError(r.status, d.code || `http_${r.status}`, d.message || String(r.data).trim() || `HTTP ${r.status}`);
  }
  return r.data;
}

/** Calls the API and returns `{status, ok, data}` whatever the answer (for probes). */
export function probe(path) {
  return send(path).catch((e) => ({ status: e.status || 0, ok: false, data: { message: e.message } }));
}

/** A query string from an object, leaving out empty values. */
export function qs(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/** Parses the Prometheus text format into `[{name, labels, value}]`. */
export function parseMetrics(text) {
  const out = [];
  for (const line of String(text).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

/** The sum of a metric's samples whose labels match `where`. */
export function metricSum(samples, name, where = {}) {
  let sum = 0;
  for (const x of samples) {
    if (x.name !== name) continue;
    if (Object.entries(where).every(([k, v]) => x.labels[k] === v)) sum += x.value;
  }
  return sum;
}

/**
 * A quantile from a Prometheus histogram's cumulative buckets (`[{le, count}]`), as the
 * upper bound of the bucket it falls in (seconds); null without samples.
 */
export function histogramQuantile(buckets, q) {
  const sorted = buckets.filter((b) => Number.isFinite(b.le) || b.le === Infinity).sort((a, b) => a.le - b.le);
  const total = sorted.length ? sorted[sorted.length - 1].count : 0;
  if (!total) return null;
  const rank = q * total;
  for (const b of sorted) if (b.count >= rank) return b.le;
  return Infinity;
}

/** The cumulative buckets of a histogram metric with the given labels. */
export function histogramBuckets(samples, name, where = {}) {
  return samples
    .filter((x) => x.name === `${name}_bucket` && Object.entries(where).every(([k, v]) => x.labels[k] === v))
    .map((x) => ({ le: x.labels.le === '+Inf' ? Infinity : Number(x.labels.le), count: x.value }));
}
