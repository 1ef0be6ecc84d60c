// A verdict as an analyst reads it: the action, the category, the score, the text with the
// evidence of every reason highlighted, and the reasons with their weights.
//
// The engine quotes the original text in the evidence of rules and of the link, phone,
// account and amount signals; several quotes of one reason are joined with ", ", and a
// link's evidence may add " (domain …)". Other signals describe what they measured
// (`P(scam) = 0.97`): those are listed, not highlighted.

import { h, num, badge } from './dom.js';
import { t } from './i18n.js';

/** The pieces of a reason's evidence that are quoted from the text. */
export function quotes(text, evidence) {
  if (!evidence) return [];
  if (text.includes(evidence)) return [evidence];
  const out = [];
  for (const raw of evidence.split(', ')) {
    const piece = raw.replace(/ \(domain [^)]*\)$/, '');
    if (piece.length >= 2 && text.includes(piece) && !out.includes(piece)) out.push(piece);
  }
  return out;
}

/**
 * The highlighted ranges of a text: `{spans: [{start, end, reasons: [i, …]}], colour: [c]}`.
 * Spans are sorted and never overlap. Reasons come largest contribution first: a quote
 * overlapping a span already taken joins that span when it is the same piece of text, and
 * is otherwise left to the span that covers it. `colour[i]` is the highlight colour of
 * reason `i` (that of the span its first quote lies in), or null when nothing of it is
 * quoted.
 */
export function ranges(text, reasons) {
  const spans = [];
  const colour = reasons.map(() => null);
  reasons.forEach((r, i) => {
    for (const q of quotes(text, r.evidence)) {
      let from = 0;
      for (let n = 0; n < 50; n++) {
        const at = text.indexOf(q, from);
        if (at < 0) break;
        const end = at + q.length;
        const over = spans.find((x) => at < x.end && x.start < end);
        if (!over) {
          spans.push({ start: at, end, reasons: [i], colour: spans.length % 8 });
          if (colour[i] === null) colour[i] = spans[spans.length - 1].colour;
        } else {
          if (over.start === at && over.end === end && !over.reasons.includes(i)) over.reasons.push(i);
          if (colour[i] === null) colour[i] = over.colour;
        }
        from = end;
      }
    }
  });
  return { spans: spans.sort((a, b) => a.start - b.start), colour };
}

/** The text with `<mark>`s on the evidence; each mark names the signals it stands for. */
export function highlighted(text, reasons, spans) {
  const out = [];
  let pos = 0;
  for (const r of spans) {
    if (r.start > pos) out.push(text.slice(pos, r.start));
    const names = r.reasons.map((i) => `${reasons[i].signal} +${num(reasons[i].weight, 2)}`).join('\n');
    out.push(h('mark', { class: `hl hl-${r.colour}`, title: names, data: { signal: reasons[r.reasons[0]].signal, signals: r.reasons.map((i) => reasons[i].signal).join(' ') } }, text.slice(r.start, r.end)));
    pos = r.end;
  }
  if (pos < text.length) out.push(text.slice(pos));
  return h('p', { class: 'msg-text', lang: 'vi' }, out);
}

/** The reasons table; each quoted reason's chip has the colour of its highlight. */
export function reasonsTable(reasons, colour) {
  if (!reasons.length) return h('p', { class: 'muted' }, t('verdict.no_reasons'));
  return h('table', { class: 'reasons' },
    h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', {}, t('verdict.signal')), h('th', { class: 'num' }, t('verdict.weight')), h('th', {}, t('verdict.evidence')))),
    h('tbody', {}, reasons.map((r, i) => {
      const quoted = colour[i] !== null;
      return h('tr', { data: { signal: r.signal, weight: r.weight, quoted: quoted ? 'yes' : 'no' } },
        h('td', {}, h('span', { class: ['chip', quoted ? `hl hl-${colour[i]}` : 'chip-none'], title: quoted ? t('verdict.quoted') : t('verdict.measured') })),
        h('td', {}, h('code', {}, r.signal)),
        h('td', { class: 'num' }, `${r.weight >= 0 ? '+' : ''}${num(r.weight, 2)}`),
        h('td', { class: 'evidence' }, r.evidence));
    })));
}

/**
 * A whole verdict card. `v`: `{action, category, score, reasons}`; `text`: the message;
 * `meta`: extra lines (sender, time, …) as `[label, value]`.
 */
export function verdictCard(v, text, meta = [], actions = null) {
  const { spans, colour } = ranges(text, v.reasons);
  return h('article', { class: ['verdict', `action-${v.action}`], data: { action: v.action, category: v.category, score: v.score, logId: v.log_id } },
    h('header', {},
      badge('action', v.action), ' ', badge('category', v.category),
      h('span', { class: 'score', data: { testid: 'score' } }, t('verdict.score'), ' ', h('strong', {}, num(v.score, 2))),
      h('span', { class: 'meta' }, meta.filter(([, val]) => val !== null && val !== undefined && val !== '').map(([label, val]) => h('span', {}, h('span', { class: 'muted' }, label, ' '), val))),
      actions),
    highlighted(text, v.reasons, spans),
    reasonsTable(v.reasons, colour));
}
