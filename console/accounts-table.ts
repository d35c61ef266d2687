// The accounts table: one row per account (a card on narrow screens), with the per-row actions the
// accounts screen handles. Rendering only; state and requests live in accounts.ts.

import type { Account, Quota, StatsAccount } from './api';
import { h } from './dom';
import { fmtDate, fmtDateTime, fmtNumber, fmtRelative, statusCell, toDate } from './format';
import { t } from './i18n';

export type RowAction = 'toggle' | 'edit' | 'refresh' | 'quota' | 'reset' | 'delete';

export interface TableProps {
  accounts: Account[];
  stats: Map<string, StatsAccount>;
  selected: Set<string>;
  onSelect(id: string, on: boolean): void;
  onSelectAll(on: boolean): void;
  onAction(action: RowAction, account: Account): void;
}

const AUTH_LABEL: Record<string, string> = { idc: 'auth.idc', social: 'auth.social', api_key: 'auth.api_key' };

function quotaCell(q: Quota | null | undefined, resetAt: string | null): HTMLElement {
  const reset = q?.reset_at ?? resetAt;
  if (!q || q.remaining === null || q.remaining === undefined) {
    return h('div.quota', {}, h('span.muted', {}, '—'), reset ? h('span.sub', {}, t('accounts.resets', { date: fmtDate(reset) })) : null);
  }
  const share = q.limit ? Math.max(0, Math.min(1, q.remaining / q.limit)) : null;
  const tone = share === null ? '' : share < 0.1 ? '.bad' : share < 0.3 ? '.warn' : '.ok';
  return h(
    'div.quota',
    {},
    h('span', {}, fmtNumber(q.remaining, 1), q.limit ? h('span.muted', {}, ` / ${fmtNumber(q.limit, 1)}`) : null),
    share === null ? null : h(`div.meter${tone}`, { role: 'meter', 'aria-valuenow': Math.round(share * 100), 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('span', { style: `width:${(share * 100).toFixed(1)}%` })),
    reset ? h('span.sub', {}, t('accounts.resets', { date: fmtDate(reset) })) : null,
  );
}

function expiryCell(a: Account): HTMLElement {
  if (a.auth_method === 'api_key') return h('span.muted', {}, t('accounts.no_expiry'));
  const d = toDate(a.expires_at);
  if (!d) return h('span.muted', {}, '—');
  const past = d.getTime() <= Date.now();
  return h('div', { title: fmtDateTime(a.expires_at) }, h(past ? 'span.text-warn' : 'span', {}, fmtRelative(a.expires_at)));
}

function refreshCell(a: Account): HTMLElement {
  if (!a.last_refresh_time) return h('span.muted', {}, t('accounts.never'));
  const failed = a.last_refresh_status !== 'success';
  return h(
    'div',
    { title: fmtDateTime(a.last_refresh_time) },
    h('span', {}, fmtRelative(a.last_refresh_time)),
    failed ? h('span.sub.text-bad', {}, a.last_refresh_status) : null,
  );
}

function cell(label: string, ...content: Array<Node | string | null>): HTMLTableCellElement {
  // data-label feeds the card layout on narrow screens (CSS ::before)
  return h('td', { 'data-label': label }, ...content);
}

function row(a: Account, p: TableProps): HTMLTableRowElement {
  const s = p.stats.get(a.id);
  const quota = a.quota !== undefined ? a.quota : s?.quota;
  const inFlight = s?.in_flight ?? 0;
  const item = (action: RowAction, label: string, cls = '') =>
    h(`button${cls}`, { type: 'button', 'data-action': action, onclick: () => ((menu.open = false), p.onAction(action, a)) }, label);
  const menu = h('details.menu', {}, h('summary.ghost.small.icon', { 'aria-label': t('accounts.more'), title: t('accounts.more') }, '⋯'));
  menu.append(
    h(
      'div.menu-items',
      {},
      item('refresh', t('accounts.refresh')),
      item('quota', t('accounts.check_quota')),
      item('reset', t('accounts.reset')),
      item('delete', t('accounts.delete'), '.text-bad'),
    ),
  );
  const name = a.label || t('accounts.unnamed');
  return h(
    `tr${a.enabled ? '' : '.off'}`,
    { 'data-id': a.id, 'data-label-text': name },
    h(
      'td.check',
      {},
      h('input', { type: 'checkbox', 'aria-label': t('accounts.select', { name }), checked: p.selected.has(a.id), onchange: (e: Event) => p.onSelect(a.id, (e.target as HTMLInputElement).checked) }),
    ),
    cell(
      t('accounts.col.account'),
      h(
        'div.account-name',
        {},
        h(a.label ? 'strong' : 'strong.muted', {}, name),
        a.priority ? h('span.chip', { title: t('accounts.priority') }, `P${a.priority}`) : null,
        inFlight ? h('span.chip.live', { title: t('accounts.in_flight') }, `⇅ ${inFlight}`) : null,
        h('span.sub.mono', { title: a.id }, a.id.slice(0, 8)),
      ),
    ),
    cell(t('accounts.col.auth'), h('span.chip.plain', {}, t(AUTH_LABEL[a.auth_method] ?? a.auth_method)), a.region ? h('span.sub', {}, a.region) : null),
    cell(
      t('accounts.col.enabled'),
      h(
        'label.switch',
        { title: a.enabled ? t('accounts.disable') : t('accounts.enable') },
        h('input', { type: 'checkbox', role: 'switch', 'data-action': 'toggle', 'aria-label': t('accounts.enabled_for', { name }), checked: a.enabled, onchange: () => p.onAction('toggle', a) }),
        h('span.track', { 'aria-hidden': 'true' }),
      ),
    ),
    cell(t('accounts.col.status'), statusCell(a)),
    cell(t('accounts.col.expires'), expiryCell(a)),
    cell(t('accounts.col.refreshed'), refreshCell(a)),
    cell(
      t('accounts.col.requests'),
      h('div.counts', {}, h('span.text-ok', { title: t('accounts.successes') }, `✓ ${fmtNumber(a.success_count)}`), h(a.error_count ? 'span.text-bad' : 'span.muted', { title: t('accounts.errors') }, `✗ ${fmtNumber(a.error_count)}`)),
    ),
    cell(t('accounts.col.quota'), quotaCell(quota, a.quota_reset_at)),
    h('td.actions', {}, h('button.ghost.small', { type: 'button', 'data-action': 'edit', onclick: () => p.onAction('edit', a) }, t('accounts.edit')), menu),
  );
}

export function renderTable(p: TableProps): HTMLElement {
  const all = p.accounts.length > 0 && p.accounts.every((a) => p.selected.has(a.id));
  const head = h(
    'tr',
    {},
    h('th.check', {}, h('input#select-all', { type: 'checkbox', 'aria-label': t('accounts.select_all'), checked: all, onchange: (e: Event) => p.onSelectAll((e.target as HTMLInputElement).checked) })),
    ...['account', 'auth', 'enabled', 'status', 'expires', 'refreshed', 'requests', 'quota'].map((c) => h('th', {}, t(`accounts.col.${c}`))),
    h('th', { 'aria-label': t('accounts.col.actions') }),
  );
  const body = h('tbody');
  for (const a of p.accounts) body.append(row(a, p));
  return h('table.accounts', {}, h('thead', {}, head), body);
}
