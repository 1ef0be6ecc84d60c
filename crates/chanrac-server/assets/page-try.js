// Try it: paste a message, see the verdict of the engine in effect (a real `POST /v1/check`,
// counted in the statistics like any other).

import { api } from './api.js';
import { h, fill, field, select, errorNote, vnInput } from './dom.js';
import { verdictCard } from './verdict.js';
import { t } from './i18n.js';

/** Examples to start from: typical scams, spam, a proper ad and a bank OTP. */
const EXAMPLES = [
  { id: 'prize', sender: '0912345678', text: 'Chúc mừng bạn trúng thưởng 50tr, nhận tại https://vtb-qua.xyz' },
  { id: 'loan', sender: '0987654321', text: 'V.A.Y T1ỀN nhanh, lãi 0%, giải ngân 5 phút, LH 0987.654.321' },
  { id: 'otp', sender: 'Vietcombank', text: 'Mã OTP của bạn là 482913. Không chia sẻ mã này với bất kỳ ai.' },
  { id: 'ad', sender: 'SHOPABC', text: '[QC] Giảm 30% toàn bộ đơn hàng đến 30/11. Chi tiết shopabc.vn. Từ chối QC soạn TC gửi 1234' },
  { id: 'en', sender: '+447700900123', text: 'URGENT! You have won a £1000 prize. Claim now at http://bit.ly/claim-prize-now' },
];

export async function render(main, ctx) {
  const text = h('textarea', { name: 'text', rows: 5, required: true, placeholder: t('try.placeholder'), lang: 'vi' });
  const sender = h('input', { name: 'sender', placeholder: '0912345678', spellcheck: 'false' });
  const recipient = h('input', { name: 'recipient', spellcheck: 'false' });
  const origin = select({ name: 'origin' }, [['', t('try.origin_unknown')], ['domestic', t('try.domestic')], ['international', t('try.international')]]);
  const at = h('input', { name: 'received_at', type: 'datetime-local' });
  const result = h('div', { data: { testid: 'try-result' } });
  const form = h('form', { class: 'card', id: 'try-form' },
    field(t('try.text'), text),
    h('div', { class: 'fields' }, field(t('why.sender'), sender), field(t('why.recipient'), recipient), field(t('try.origin'), origin),
      field(t('try.at'), at, t('try.at_hint'))),
    h('div', { class: 'examples' }, h('span', { class: 'muted' }, t('try.examples')), EXAMPLES.map((ex) => h('button', {
      type: 'button', class: 'ghost small', data: { example: ex.id },
      on: { click: () => { text.value = ex.text; sender.value = ex.sender; text.focus(); } },
    }, t(`try.ex.${ex.id}`)))),
    h('button', { type: 'submit', class: 'primary' }, t('try.check')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { id: `try-${Date.now()}`, text: text.value };
    if (sender.value.trim()) body.sender = sender.value.trim();
    if (recipient.value.trim()) body.recipient = recipient.value.trim();
    if (origin.value) body.origin = origin.value;
    if (at.value) body.received_at = vnInput(at.value);
    try {
      const v = await api('/v1/check', { method: 'POST', body });
      if (ctx.current()) fill(result, verdictCard(v, body.text, [[t('why.id'), v.id]]));
    } catch (err) {
      fill(result, errorNote(err));
    }
  });
  fill(main, h('div', { class: 'page-head' }, h('h1', {}, t('nav.try'))), h('p', { class: 'muted' }, t('try.intro')), form, result);
  if (ctx.params.get('text')) {
    text.value = ctx.params.get('text');
    form.requestSubmit();
  }
}
