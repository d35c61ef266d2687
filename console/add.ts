// "Add accounts" screen: device login (the easy way), a form for credentials at hand, and a batch
// import of Kiro token files or JSON arrays by paste or drop.

import { ApiError, api, type Account } from './api';
import { busy, h, toast } from './dom';
import { t } from './i18n';
import { deviceLoginPanel } from './device-login';
import { importPanel } from './import';

function field(id: string, label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('div.field', { 'data-field': id }, h('label', { for: id }, label), input, hint ? h('span.hint', {}, hint) : null, h('span.field-error'));
}

function formPanel(): HTMLElement {
  const auth = h('select#f-auth');
  for (const m of ['social', 'idc', 'api_key']) auth.append(h('option', { value: m }, t(`auth.${m}`)));
  const input = (id: string, attrs: Record<string, string> = {}) => h('input', { id, autocomplete: 'off', spellcheck: 'false', ...attrs });
  const label = input('f-label', { placeholder: t('form.label_placeholder') });
  const refreshToken = h('textarea#f-refreshToken', { rows: 2, spellcheck: 'false', placeholder: 'aor…' });
  const clientId = input('f-clientId');
  const clientSecret = h('textarea#f-clientSecret', { rows: 2, spellcheck: 'false' });
  const accessToken = h('textarea#f-accessToken', { rows: 2, spellcheck: 'false' });
  const region = input('f-region', { placeholder: 'us-east-1' });
  const priority = input('f-priority', { type: 'number', value: '0', min: '-1000', max: '1000' });
  const proxy = input('f-proxy', { placeholder: 'http://user:pass@127.0.0.1:7890' });
  const enabled = h('input#f-enabled', { type: 'checkbox', checked: true });
  const result = h('div.result', { role: 'status' });
  const submit = h('button.primary#f-submit', { type: 'submit' }, t('form.submit'));

  const idcOnly = [field('f-clientId', 'clientId', clientId), field('f-clientSecret', 'clientSecret', clientSecret)];
  const showFor = () => {
    for (const el of idcOnly) el.hidden = auth.value !== 'idc';
    refreshTokenField.hidden = auth.value === 'api_key';
    accessTokenField.querySelector('label')!.textContent = auth.value === 'api_key' ? t('form.api_key') : 'accessToken';
  };
  const refreshTokenField = field('f-refreshToken', 'refreshToken', refreshToken);
  const accessTokenField = field('f-accessToken', 'accessToken', accessToken, t('form.access_hint'));
  auth.addEventListener('change', showFor);

  const form = h(
    'form.card.panel#add-form',
    {
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
        for (const el of form.querySelectorAll('.field.invalid')) el.classList.remove('invalid');
        result.textContent = '';
        const body: Record<string, unknown> = { authMethod: auth.value, enabled: enabled.checked, priority: Math.trunc(Number(priority.value) || 0) };
        const set = (k: string, v: string) => v.trim() && (body[k] = v.trim());
        set('label', label.value);
        set('accessToken', accessToken.value);
        set('region', region.value);
        set('proxy', proxy.value);
        if (auth.value !== 'api_key') set('refreshToken', refreshToken.value);
        if (auth.value === 'idc') (set('clientId', clientId.value), set('clientSecret', clientSecret.value));
        void busy(submit, async () => {
          try {
            const a = await api<Account>('POST', '/v2/accounts', body);
            result.className = 'result ok';
            result.textContent = t('form.created', { name: a.label || a.id });
            toast(t('form.created', { name: a.label || a.id }), 'ok');
            for (const el of [label, refreshToken, clientId, clientSecret, accessToken, proxy]) el.value = '';
          } catch (e) {
            result.className = 'result bad';
            result.textContent = e instanceof Error ? e.message : String(e);
            const f = e instanceof ApiError && e.field ? form.querySelector(`[data-field="f-${e.field}"]`) : null;
            if (f) {
              f.classList.add('invalid');
              f.querySelector('.field-error')!.textContent = (e as Error).message;
            }
          }
        });
      },
    },
    h('h2', {}, t('form.title')),
    h('p.muted', {}, t('form.hint')),
    h(
      'div.grid2',
      {},
      field('f-label', t('form.label'), label),
      field('f-auth', t('form.auth'), auth),
    ),
    refreshTokenField,
    ...idcOnly,
    accessTokenField,
    h('div.grid2', {}, field('f-region', t('form.region'), region), field('f-priority', t('accounts.priority'), priority)),
    field('f-proxy', t('accounts.proxy'), proxy, t('form.proxy_hint')),
    h('label.check', {}, enabled, t('form.enabled')),
    h('div.row', {}, submit),
    result,
  );
  showFor();
  return form;
}

export function mountAdd(el: HTMLElement): () => void {
  const device = deviceLoginPanel();
  el.append(
    h('div.page-head', {}, h('h1', {}, t('add.title')), h('a.ghost.small', { href: '#/accounts', role: 'button' }, t('add.back'))),
    h('div.add-grid', {}, h('div.stack', {}, device.el, importPanel()), formPanel()),
  );
  return device.stop;
}
