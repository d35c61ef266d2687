// Console entry: checks the session, shows the login screen or the shell (top bar, tabs, the current
// screen), routes by URL hash, and re-renders everything when the language or theme changes.

import { api, setUnauthorizedHandler, type SessionInfo } from './api';
import { clear, h, toast } from './dom';
import { getLang, setLang, t } from './i18n';
import { renderLogin } from './login';
import { mountOverview } from './overview';
import { mountAccounts } from './accounts';
import { mountAdd } from './add';
import { mountPlayground } from './playground';

/** A screen: draws into its container and returns how to stop its timers and requests. */
export type Mount = (el: HTMLElement) => () => void;

const SCREENS: Array<{ id: string; label: string; mount: Mount }> = [
  { id: 'overview', label: 'nav.overview', mount: mountOverview },
  { id: 'accounts', label: 'nav.accounts', mount: mountAccounts },
  { id: 'add', label: 'nav.add', mount: mountAdd },
  { id: 'playground', label: 'nav.playground', mount: mountPlayground },
];
const THEME_KEY = 'q2api.theme';

const root = document.getElementById('app')!;
let session: SessionInfo | null = null;
let unmount: (() => void) | null = null;

function currentScreen() {
  const id = location.hash.replace(/^#\/?/, '');
  return SCREENS.find((s) => s.id === id) ?? SCREENS[0]!;
}

function applyTheme(): void {
  const theme = localStorage.getItem(THEME_KEY);
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

function toggleTheme(): void {
  const dark = document.documentElement.dataset.theme
    ? document.documentElement.dataset.theme === 'dark'
    : matchMedia('(prefers-color-scheme: dark)').matches;
  localStorage.setItem(THEME_KEY, dark ? 'light' : 'dark');
  applyTheme();
}

function stopScreen(): void {
  unmount?.();
  unmount = null;
}

function showScreen(): void {
  const view = document.getElementById('view');
  if (!view) return;
  stopScreen();
  const screen = currentScreen();
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav.tabs a')) {
    a.classList.toggle('active', a.dataset.screen === screen.id);
    if (a.dataset.screen === screen.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  clear(view);
  unmount = screen.mount(view);
  document.body.dataset.screen = screen.id;
}

async function logout(): Promise<void> {
  try {
    await api('DELETE', '/v2/session');
  } catch {
    // an expired session is logged out already
  }
  session = null;
  showLogin();
}

function renderShell(): void {
  stopScreen();
  clear(root);
  const nav = h('nav.tabs', { 'aria-label': t('nav.label') });
  for (const s of SCREENS) nav.append(h('a', { href: `#/${s.id}`, 'data-screen': s.id }, t(s.label)));
  const other = getLang() === 'zh' ? 'en' : 'zh';
  root.append(
    h(
      'header.topbar',
      {},
      h('div.brand', {}, h('span.logo', { 'aria-hidden': 'true' }, 'q2'), h('span.name', {}, 'q2api'), session ? h('span.version', {}, `v${session.version}`) : null),
      nav,
      h(
        'div.tools',
        {},
        h('a.ghost.small', { href: '/docs', target: '_blank', rel: 'noopener' }, t('nav.docs')),
        h('button.ghost.small#lang-toggle', { type: 'button', title: t('nav.language'), onclick: () => setLang(other) }, other === 'zh' ? '中文' : 'EN'),
        h('button.ghost.small.icon#theme-toggle', { type: 'button', title: t('nav.theme'), 'aria-label': t('nav.theme'), onclick: toggleTheme }, '◐'),
        h('button.ghost.small#logout', { type: 'button', onclick: () => void logout() }, t('nav.logout')),
      ),
    ),
    h('main#view'),
  );
  showScreen();
}

function showLogin(notice?: string): void {
  stopScreen();
  session = null;
  document.body.dataset.screen = 'login';
  renderLogin(root, notice, async () => {
    session = await api<SessionInfo>('GET', '/v2/session');
    renderShell();
  });
}

async function boot(): Promise<void> {
  applyTheme();
  document.documentElement.lang = getLang() === 'zh' ? 'zh-CN' : 'en';
  setUnauthorizedHandler(() => {
    if (session) {
      toast(t('login.expired'), 'error');
      showLogin(t('login.expired'));
    }
  });
  window.addEventListener('hashchange', () => session && showScreen());
  window.addEventListener('q2api:lang', () => {
    document.documentElement.lang = getLang() === 'zh' ? 'zh-CN' : 'en';
    if (session) renderShell();
    else showLogin();
  });
  try {
    session = await api<SessionInfo>('GET', '/v2/session');
    renderShell();
  } catch {
    showLogin();
  }
  document.body.dataset.ready = '1';
}

void boot();
