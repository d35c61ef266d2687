// Reading a GetUsageLimits document (upstream-protocol.md §2.9) into credits left, the limit and
// the reset date. Pure; the shape differs between Kiro (credit breakdown) and legacy Q (limits[]).

import { nextMonthlyResetUtc } from './effects';

export interface QuotaReading {
  /** credits left; null when the document says nothing usable */
  remaining: number | null;
  limit: number | null;
  resetAt: Date;
}

/** Readings keep this many decimals: credits are metered in ten-thousandths. */
const PRECISION = 10_000;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const round = (n: number) => Math.round(n * PRECISION) / PRECISION;

/** nextDateReset arrives as epoch seconds on the wire; tolerate milliseconds and ISO text too. */
export function parseResetDate(v: unknown): Date | undefined {
  const n = num(v);
  if (n !== undefined) return new Date(n < 1e12 ? n * 1000 : n);
  if (typeof v === 'string') {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return new Date(t);
  }
  return undefined;
}

/** `limit − used` of one block, preferring the precise fields. */
function allowance(o: Json): { limit: number; used: number } | undefined {
  const limit = num(o.usageLimitWithPrecision) ?? num(o.usageLimit) ?? num(o.totalUsageLimit);
  if (limit === undefined) return undefined;
  return { limit, used: num(o.currentUsageWithPrecision) ?? num(o.currentUsage) ?? 0 };
}

/**
 * Remaining = Σ (limit − used) over the CREDIT breakdown, plus the active free trial and active
 * bonuses of those entries (§2.9, as kiro2api computes it). Without a credit breakdown (legacy Q),
 * the AGENTIC_REQUEST entry of `limits` is used. The reset date falls back to the 1st of next month.
 */
export function readUsageLimits(doc: Json, nowMs: number): QuotaReading {
  const breakdown = [doc.usageBreakdownList, doc.usageBreakdown].find(Array.isArray) as unknown[] | undefined;
  let limit = 0;
  let remaining = 0;
  let found = false;
  let resetAt = parseResetDate(doc.nextDateReset);
  const add = (a: { limit: number; used: number } | undefined) => {
    if (!a) return;
    found = true;
    limit += a.limit;
    remaining += a.limit - a.used;
  };
  for (const entry of breakdown ?? []) {
    if (!isObject(entry) || (entry.resourceType !== undefined && entry.resourceType !== 'CREDIT')) continue;
    add(allowance(entry));
    resetAt ??= parseResetDate(entry.nextDateReset);
    const trial = entry.freeTrialInfo;
    if (isObject(trial) && trial.freeTrialStatus === 'ACTIVE') add(allowance(trial));
    for (const bonus of Array.isArray(entry.bonuses) ? entry.bonuses : []) {
      if (isObject(bonus) && (bonus.status === undefined || bonus.status === 'ACTIVE')) add(allowance(bonus));
    }
  }
  if (!found && Array.isArray(doc.limits)) {
    const agentic = doc.limits.find((l) => isObject(l) && l.type === 'AGENTIC_REQUEST');
    if (isObject(agentic)) add(allowance(agentic));
  }
  return {
    remaining: found ? round(remaining) : null,
    limit: found ? round(limit) : null,
    resetAt: resetAt ?? nextMonthlyResetUtc(nowMs),
  };
}
