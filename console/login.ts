// Login screen: the admin key goes to POST /v2/session once and comes back as an HttpOnly cookie; the
// key itself is never stored in the browser (not in localStorage, not in a JS variable after this).

import { ApiError, api } from './api';
import { clear, h } from './dom';
import { getLang, setLang, t } from './i18n';

export function renderLogin(root: HTMLElement, notice: string | undefined, onLoggedIn: () => Promise<void>): void {
  clear(root);
  const key = h('input#admin-key', { type: 'password', autocomplete: 'current-password', required: true, placeholder: t('login.placeholder'), 'aria-label': t('login.key') });
  const message = h('p.form-error', { role: 'alert' }, notice ?? '');
  const submit = h('button.primary.block#login-submit', { type: 'submit' }, t('login.submit'));
  const form = h(
    'form.card.login',
    {
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        submit.disabled = true;
        message.textContent = '';
        try {
          await api('POST', '/v2/session', { key: key.value });
          key.value = '';
          await onLoggedIn();
        } catch (e) {
          if (e instanceof ApiError && e.status === 429) message.textContent = t('login.locked', { s: e.retryAfterS ?? 300 });
          else if (e instanceof ApiError && e.status === 401) message.textContent = t('login.wrong');
          else message.textContent = e instanceof Error ? e.message : String(e);
          key.select();
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('div.brand.center', {}, h('span.logo', { 'aria-hidden': 'true' }, 'q2'), h('span.name', {}, 'q2api')),
    h('h1', {}, t('login.title')),
    h('p.muted', {}, t('login.hint')),
    h('label', { for: 'admin-key' }, t('login.key')),
    key,
    message,
    submit,
    h(
      'p.muted.small.center',
      {},
      h('button.link#login-lang', { type: 'button', onclick: () => setLang(getLang() === 'zh' ? 'en' : 'zh') }, getLang() === 'zh' ? 'English' : '中文'),
    ),
  );
  root.append(h('div.login-wrap', {}, form));
  key.focus();
}
