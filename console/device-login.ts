// Device login panel: POST /v2/auth/start, then the verification link and user code, a live status
// from GET /v2/auth/status/{id} (which also creates the account once approved), and a clear result.

import { api } from './api';
import { busy, clear, h } from './dom';
import { t } from './i18n';

interface Started {
  authId: string;
  verificationUriComplete: string;
  userCode: string;
  expiresIn: number;
  interval: number;
}
interface LoginState {
  status: 'pending' | 'completed' | 'expired' | 'denied' | 'error';
  accountId?: string;
  error?: string;
  remaining: number;
}

/** Poll no faster than this (a real AWS interval is 5 s; the status route polls AWS at most once per interval anyway). */
const MIN_POLL_MS = 500;
const MAX_POLL_MS = 5_000;

export function deviceLoginPanel(): { el: HTMLElement; stop: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };

  const label = h('input#d-label', { placeholder: t('form.label_placeholder'), autocomplete: 'off' });
  const startUrl = h('input#d-start-url', { placeholder: t('device.start_url_placeholder'), autocomplete: 'off', spellcheck: 'false' });
  const region = h('input#d-region', { placeholder: 'us-east-1', autocomplete: 'off' });
  const enabled = h('input#d-enabled', { type: 'checkbox', checked: true });
  const start = h('button.primary#device-start', { type: 'submit' }, t('device.start'));
  const live = h('div.device-live', { 'aria-live': 'polite' });

  const copyButton = (text: string) =>
    h('button.ghost.small', { type: 'button', onclick: (e: Event) => void navigator.clipboard?.writeText(text).then(() => ((e.target as HTMLElement).textContent = t('common.copied'))) }, t('common.copy'));

  function finish(kind: 'ok' | 'bad', title: string, detail: string): void {
    clear(live);
    live.append(
      h(
        `div.result-box.${kind}#device-result`,
        {},
        h('strong', {}, title),
        h('p', {}, detail),
        h(
          'div.row',
          {},
          kind === 'ok' ? h('a.ghost.small', { href: '#/accounts', role: 'button' }, t('device.see_accounts')) : null,
          h('button.ghost.small', { type: 'button', onclick: () => clear(live) }, t('device.again')),
        ),
      ),
    );
    start.disabled = false;
  }

  function showPending(s: Started, remaining: number): void {
    clear(live);
    const mins = Math.floor(remaining / 60);
    const secs = String(remaining % 60).padStart(2, '0');
    live.append(
      h(
        'ol.steps',
        {},
        h('li', {}, h('span', {}, t('device.step_open')), h('div.row', {}, h('a.primary.small#device-link', { href: s.verificationUriComplete, target: '_blank', rel: 'noopener noreferrer', role: 'button' }, t('device.open')), copyButton(s.verificationUriComplete)), h('span.sub.mono.break', {}, s.verificationUriComplete)),
        h('li', {}, h('span', {}, t('device.step_code')), h('div.row', {}, h('code.user-code#device-code', {}, s.userCode), copyButton(s.userCode))),
        h('li', {}, h('div.row', {}, h('span.spinner', { 'aria-hidden': 'true' }), h('span#device-status', {}, t('device.waiting'))), h('span.sub', {}, t('device.remaining', { time: `${mins}:${secs}` }))),
      ),
      h('button.link.small', { type: 'button', onclick: () => (stop(), clear(live), (start.disabled = false)) }, t('common.cancel')),
    );
  }

  async function poll(s: Started): Promise<void> {
    if (stopped) return;
    try {
      const st = await api<LoginState>('GET', `/v2/auth/status/${encodeURIComponent(s.authId)}`);
      if (stopped) return;
      if (st.status === 'completed') return finish('ok', t('device.done'), t('device.done_detail', { id: st.accountId ?? '' }));
      if (st.status !== 'pending') return finish('bad', t(`device.${st.status}`), st.error ?? '');
      showPending(s, st.remaining);
    } catch (e) {
      // A network blip is not the end of the login: keep polling until the server says so.
      if (stopped) return;
      live.querySelector('#device-status')?.replaceChildren(t('device.retrying', { error: e instanceof Error ? e.message : String(e) }));
    }
    timer = setTimeout(() => void poll(s), Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, s.interval * 1000)));
  }

  const form = h(
    'form.card.panel#device-form',
    {
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        stopped = false;
        clearTimeout(timer);
        const body: Record<string, unknown> = { enabled: enabled.checked };
        if (label.value.trim()) body.label = label.value.trim();
        if (startUrl.value.trim()) body.startUrl = startUrl.value.trim();
        if (region.value.trim()) body.region = region.value.trim();
        void busy(start, async () => {
          try {
            const s = await api<Started>('POST', '/v2/auth/start', body);
            showPending(s, Math.min(s.expiresIn, 300));
            start.disabled = true;
            timer = setTimeout(() => void poll(s), Math.max(MIN_POLL_MS, s.interval * 1000));
          } catch (e) {
            finish('bad', t('device.failed'), e instanceof Error ? e.message : String(e));
          }
        }).then(() => {
          if (live.querySelector('.steps')) start.disabled = true;
        });
      },
    },
    h('h2', {}, t('device.title'), h('span.tag', {}, t('device.recommended'))),
    h('p.muted', {}, t('device.hint')),
    h('div.grid2', {}, h('div.field', {}, h('label', { for: 'd-label' }, t('form.label')), label), h('div.field', {}, h('label', { for: 'd-region' }, t('form.region')), region)),
    h('div.field', {}, h('label', { for: 'd-start-url' }, t('device.start_url')), startUrl),
    h('label.check', {}, enabled, t('form.enabled')),
    h('div.row', {}, start),
    live,
  );
  return { el: form, stop };
}
