// The account pool as the chat routes see it: acquire an account with a usable access token, report
// how the call went, refresh on demand. This is the minimal version (random choice, refresh when
// missing or expired, single-flight per account); the full pool replaces it behind the same interface.

import type { Account } from '../store/accounts';
import type { AppContext } from '../context';
import { GatewayError } from '../http/errors';
import type { UpstreamError } from '../upstream/errors';
import { createTokenLifecycle, EXPIRY_SKEW_MS, type Sleep, type TokenLifecycle } from './lifecycle';

export interface AccountLease {
  account: Account;
  accessToken: string;
}

export interface AccountPool {
  /** An enabled account with a usable access token; refreshes first when needed. */
  acquire(opts?: { exclude?: ReadonlySet<string> }): Promise<AccountLease>;
  /** Book the outcome of one upstream call made with a lease. */
  report(lease: AccountLease, outcome: { ok: true } | { ok: false; error: UpstreamError }): Promise<void>;
  /** Refresh one account's access token now (single-flight); throws GatewayError on failure. */
  refresh(id: string): Promise<Account>;
  /** refresh ahead of expiry, leases, background sweep (`serve` starts it) */
  lifecycle: TokenLifecycle;
  close(): Promise<void>;
}

export { DEFAULT_TOKEN_TTL_S, EXPIRY_SKEW_MS } from './lifecycle';

type PoolDeps = Pick<AppContext, 'config' | 'log' | 'clock' | 'random' | 'store' | 'upstream'>;

export function needsRefresh(a: Account, nowMs: number): boolean {
  if (a.authMethod === 'api_key') return false;
  if (!a.accessToken) return true;
  return a.expiresAt !== null && a.expiresAt.getTime() - EXPIRY_SKEW_MS <= nowMs;
}

export function createAccountPool(deps: PoolDeps & { sleep?: Sleep }): AccountPool {
  const { store, clock, log } = deps;
  // Refresh internals (single-flight, database lease, backoff, sweep) live in lifecycle.ts.
  const lifecycle = createTokenLifecycle(deps);

  return {
    async acquire(opts = {}) {
      const now = clock.now();
      const candidates = (await store.accounts.listUsable(new Date(now))).filter((a) => !opts.exclude?.has(a.id));
      // Try candidates in random order until one yields a token: one broken account must not fail the request.
      while (candidates.length > 0) {
        const i = Math.floor(deps.random.float() * candidates.length);
        let account = candidates.splice(i, 1)[0]!;
        try {
          account = await lifecycle.ensureFresh(account);
          if (account.accessToken) return { account, accessToken: account.accessToken };
        } catch (e) {
          log.warn('account skipped: refresh failed', { account: account.id, error: e });
        }
      }
      throw new GatewayError('unavailable', 'No enabled account with a usable token is available.');
    },
    async report(lease, outcome) {
      if (outcome.ok) await store.accounts.recordSuccess(lease.account.id);
      else await store.accounts.recordFailure(lease.account.id, outcome.error.message, deps.config.maxErrorCount);
    },
    async refresh(id) {
      return lifecycle.refresh(id);
    },
    lifecycle,
    async close() {
      await lifecycle.stop();
    },
  };
}
