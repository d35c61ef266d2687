// GET /v2/stats: the pool as this replica sees it, from the in-memory view (no database read).
// The console builds against exactly this shape.

import type { AccountStrategy } from '../config';
import { accountStatus, type AccountStatus, coolingDown, quotaExhausted, quotaView } from './account-state';
import type { AccountView } from './view';

export interface PoolStats {
  strategy: AccountStrategy;
  totals: {
    accounts: number;
    enabled: number;
    /** enabled, not cooling down, not out of quota (an expired token is refreshed on use: still healthy) */
    healthy: number;
    cooling_down: number;
    disabled: number;
    /** enabled and out of quota until the reset date (not cooling down) */
    exhausted: number;
    /** requests this replica is serving now */
    in_flight: number;
  };
  accounts: Array<{
    id: string;
    label: string | null;
    status: AccountStatus;
    enabled: boolean;
    disabled_reason: string | null;
    cooldown_until: string | null;
    in_flight: number;
    success_count: number;
    error_count: number;
    last_used_at: string | null;
    last_error: string | null;
    quota: ReturnType<typeof quotaView>;
  }>;
}

export function poolStats(view: AccountView, strategy: AccountStrategy, nowMs: number): PoolStats {
  const now = new Date(nowMs);
  const totals = { accounts: 0, enabled: 0, healthy: 0, cooling_down: 0, disabled: 0, exhausted: 0, in_flight: view.inFlight() };
  const accounts: PoolStats['accounts'] = [];
  // Stable order for the console: oldest account first, as /v2/accounts lists them.
  const entries = [...view.entries()].sort(
    (x, y) => x.account.createdAt.getTime() - y.account.createdAt.getTime() || (x.account.id < y.account.id ? -1 : 1),
  );
  for (const e of entries) {
    const a = e.account;
    totals.accounts++;
    if (!a.enabled) totals.disabled++;
    else {
      totals.enabled++;
      if (coolingDown(a, nowMs)) totals.cooling_down++;
      else if (quotaExhausted(a, nowMs)) totals.exhausted++;
      else totals.healthy++;
    }
    accounts.push({
      id: a.id,
      label: a.label,
      status: accountStatus(a, now),
      enabled: a.enabled,
      disabled_reason: a.disabledReason,
      cooldown_until: a.cooldownUntil && a.cooldownUntil.getTime() > nowMs ? a.cooldownUntil.toISOString() : null,
      in_flight: e.inFlight,
      success_count: a.successCount,
      error_count: a.errorCount,
      last_used_at: a.lastUsedAt?.toISOString() ?? null,
      last_error: a.lastError,
      quota: quotaView(a),
    });
  }
  return { strategy, totals, accounts };
}
