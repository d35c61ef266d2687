// Pure rules about one account's pool state at a given time: cooling down, out of quota, its
// status as the admin API and the console show it, and when it can serve again.

import type { Account } from '../store/accounts';

export type AccountStatus = 'healthy' | 'cooling_down' | 'exhausted' | 'disabled' | 'needs_login' | 'expired_token';

export function coolingDown(a: Account, nowMs: number): boolean {
  return a.cooldownUntil !== null && a.cooldownUntil.getTime() > nowMs;
}

/**
 * No credits left until the reset date. A reading of ≤ 0 without a reset date counts as exhausted
 * until the next reading replaces it (the poller always stores a date, so this is only a fallback).
 */
export function quotaExhausted(a: Account, nowMs: number): boolean {
  if (a.quotaRemaining === null || a.quotaRemaining > 0) return false;
  return a.quotaResetAt === null || a.quotaResetAt.getTime() > nowMs;
}

export function accountStatus(a: Account, now: Date): AccountStatus {
  const nowMs = now.getTime();
  if (!a.enabled) return a.disabledReason === 'invalid_grant' ? 'needs_login' : 'disabled';
  if (coolingDown(a, nowMs)) return 'cooling_down';
  if (quotaExhausted(a, nowMs)) return 'exhausted';
  if (a.authMethod !== 'api_key' && (!a.accessToken || (a.expiresAt && a.expiresAt.getTime() <= nowMs))) return 'expired_token';
  return 'healthy';
}

/** The quota block of the account views and /v2/stats; null before anything is known. */
export function quotaView(a: Account): { remaining: number | null; limit: number | null; reset_at: string | null; checked_at: string | null } | null {
  if (a.quotaRemaining === null && a.quotaLimit === null && a.quotaCheckedAt === null && a.quotaResetAt === null) return null;
  return {
    remaining: a.quotaRemaining,
    limit: a.quotaLimit,
    reset_at: a.quotaResetAt?.toISOString() ?? null,
    checked_at: a.quotaCheckedAt?.toISOString() ?? null,
  };
}

/** A proxy URL for display: user name kept, password masked, so an operator can tell proxies apart. */
export function maskProxy(proxy: string | null): string | null {
  if (proxy === null) return null;
  try {
    const u = new URL(proxy);
    if (u.password !== '') u.password = '****';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '…';
  }
}
