// What an upstream failure does to the account that served it (upstream-protocol.md §3.3, the
// `account` column of ERROR_REACTIONS). Pure: the pool applies the returned effect to memory and rows.

import type { Account } from '../store/accounts';
import type { UpstreamError } from '../upstream/errors';

/**
 * Throttle cooldown without a Retry-After: 15 s, doubling with each consecutive throttle of the
 * account (15 s, 30 s, 1 min, …), ±20 % jitter so accounts and replicas do not return in lockstep.
 * 15 s is long enough for a per-account rate limit to drain, short enough not to idle a small pool.
 */
export const THROTTLE_BASE_MS = 15_000;
export const THROTTLE_JITTER = 0.2;
/** Longest cooldown a throttle (or a Retry-After) imposes; a longer outage is a quota matter. */
export const COOLDOWN_MAX_MS = 15 * 60_000;
/** An entitlement 403 ("subscription does not support this application") repeats on every call:
 *  rest the account a while instead of paying a failed round trip per request until MAX_ERROR_COUNT. */
export const FORBIDDEN_COOLDOWN_MS = 5 * 60_000;

export type AccountEffect =
  /** error_count+1 (disables at MAX_ERROR_COUNT), optionally resting the account for a while */
  | { kind: 'count'; cooldownMs?: number }
  /** the account is locked upstream: disabled with this reason, no retry on it */
  | { kind: 'disable'; reason: 'suspended' }
  /** out of credits until `resetAt`; selection skips it, then it comes back by itself */
  | { kind: 'quota'; resetAt: Date }
  /** rate limited: counted, and skipped until now + cooldownMs */
  | { kind: 'throttle'; cooldownMs: number }
  /** not this account's fault (model capacity is service-wide): nothing to book */
  | { kind: 'none' };

export interface EffectContext {
  nowMs: number;
  account: Account;
  /** throttles of this account in a row before this one (0 for the first) */
  throttleStreak: number;
  /** uniform in [0, 1), injected */
  random: () => number;
}

export function effectOf(err: UpstreamError, ctx: EffectContext): AccountEffect {
  switch (err.kind) {
    case 'suspended':
      return { kind: 'disable', reason: 'suspended' };
    case 'quota':
      return { kind: 'quota', resetAt: quotaResetAt(err, ctx.account, ctx.nowMs) };
    case 'throttled':
      return { kind: 'throttle', cooldownMs: throttleCooldownMs(err.retryAfterMs, ctx.throttleStreak + 1, ctx.random) };
    case 'forbidden':
      return { kind: 'count', cooldownMs: FORBIDDEN_COOLDOWN_MS };
    case 'capacity':
      return { kind: 'none' };
    // Client errors never reach here (the engine rejects them unbooked); if one does, it says
    // nothing about the account.
    case 'too_long':
    case 'invalid_model':
    case 'bad_request':
      return { kind: 'none' };
    default:
      // invalid_token (after its one refresh), 5xx, network, timeouts, broken streams
      return { kind: 'count' };
  }
}

/**
 * Retry-After when the upstream sent one (it knows best), capped; otherwise the jittered doubling
 * backoff. `streak` counts this throttle: 1 for the first in a row.
 */
export function throttleCooldownMs(retryAfterMs: number | undefined, streak: number, random: () => number): number {
  if (retryAfterMs !== undefined) return Math.min(COOLDOWN_MAX_MS, Math.max(0, retryAfterMs));
  const base = Math.min(COOLDOWN_MAX_MS, THROTTLE_BASE_MS * 2 ** Math.min(30, Math.max(0, streak - 1)));
  return Math.min(COOLDOWN_MAX_MS, Math.round(base * (1 - THROTTLE_JITTER + 2 * THROTTLE_JITTER * random())));
}

/**
 * When a 402 / quota answer lifts: the reset date GetUsageLimits gave (nextDateReset) when it is
 * still ahead; a daily limit lifts at the next UTC midnight; otherwise Kiro's monthly credits reset
 * on the 1st of next month, UTC.
 */
export function quotaResetAt(err: UpstreamError, account: Account, nowMs: number): Date {
  const text = `${err.reason ?? ''} ${err.upstreamMessage ?? ''} ${err.message}`;
  if (text.includes('DAILY_REQUEST_COUNT') || /daily usage limit/i.test(text)) return nextUtcMidnight(nowMs);
  if (account.quotaResetAt !== null && account.quotaResetAt.getTime() > nowMs) return account.quotaResetAt;
  return nextMonthlyResetUtc(nowMs);
}

export function nextMonthlyResetUtc(nowMs: number): Date {
  const d = new Date(nowMs);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}

export function nextUtcMidnight(nowMs: number): Date {
  const d = new Date(nowMs);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1));
}
