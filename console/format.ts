// Formatting shared by the screens: times (absolute and relative), numbers, an account's status badge.

import { h } from './dom';
import { getLang, t } from './i18n';

const locale = () => (getLang() === 'zh' ? 'zh-CN' : 'en');

type TimeLike = string | number | Date | null | undefined;

export function toDate(v: TimeLike): Date | null {
  if (v === null || v === undefined || v === '') return null;
  if (v instanceof Date) return v;
  // Epoch seconds, epoch ms or ISO text: servers disagree, the console should not care.
  const d = typeof v === 'number' ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtNumber(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return n.toLocaleString(locale(), { maximumFractionDigits: digits });
}

export function fmtDateTime(v: TimeLike): string {
  const d = toDate(v);
  return d ? d.toLocaleString(locale(), { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : '—';
}

export function fmtDate(v: TimeLike): string {
  const d = toDate(v);
  return d ? d.toLocaleDateString(locale(), { year: 'numeric', month: 'short', day: 'numeric' }) : '—';
}

export function fmtClock(v: TimeLike): string {
  const d = toDate(v);
  return d ? d.toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' }) : '—';
}

/** "in 5 min" / "3 h ago", in the current language. */
export function fmtRelative(v: TimeLike, now = Date.now()): string {
  const d = toDate(v);
  if (!d) return '—';
  const rtf = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto', style: 'short' });
  const s = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(s);
  if (abs < 45) return rtf.format(s, 'second');
  if (abs < 45 * 60) return rtf.format(Math.round(s / 60), 'minute');
  if (abs < 36 * 3600) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

export function fmtMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

const KNOWN_REASONS = ['manual', 'too_many_errors', 'refresh_failed', 'invalid_grant', 'suspended', 'quota'];

/** A disabled reason as words; unknown reasons are shown as the server wrote them. */
export function reasonText(reason: string | null): string {
  if (!reason) return t('status.reason.unknown');
  return KNOWN_REASONS.includes(reason) ? t(`status.reason.${reason}`) : reason.replace(/_/g, ' ');
}

const STATUS_TONE: Record<string, string> = {
  healthy: 'ok',
  cooling_down: 'warn',
  expired_token: 'warn',
  exhausted: 'warn',
  disabled: 'muted',
  needs_login: 'bad',
};

/** Status badge plus its detail line: "cooling down until 14:05", "disabled: refresh token revoked". */
export function statusCell(a: {
  status: string;
  enabled: boolean;
  disabled_reason: string | null;
  cooldown_until: string | null;
  last_error?: string | null;
  quota?: { reset_at: string | null } | null;
}): HTMLElement {
  const known = STATUS_TONE[a.status] !== undefined;
  const badge = h(`span.badge.${STATUS_TONE[a.status] ?? 'muted'}`, {}, known ? t(`status.${a.status}`) : a.status.replace(/_/g, ' '));
  let detail: string | null = null;
  if (a.status === 'cooling_down' && a.cooldown_until) detail = t('status.until', { time: fmtClock(a.cooldown_until), rel: fmtRelative(a.cooldown_until) });
  else if (a.status === 'exhausted' && a.quota?.reset_at) detail = t('accounts.resets', { date: fmtDate(a.quota.reset_at) });
  else if (!a.enabled || a.status === 'disabled' || a.status === 'needs_login') detail = reasonText(a.disabled_reason);
  const cell = h('div.status-cell', {}, badge);
  if (detail) cell.append(h('span.sub', {}, detail));
  if (a.last_error && a.status !== 'healthy') cell.title = a.last_error;
  return cell;
}
