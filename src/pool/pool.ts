// The account pool as the chat routes see it: acquire an account with a usable access token, report
// how the call went, refresh on demand. This is the minimal version (random choice, refresh when
// missing or expired, single-flight per account); the full pool replaces it behind the same interface.

import type { Account } from '../store/accounts';
import type { AppContext } from '../context';
import { GatewayError } from '../http/errors';
import { AuthError, type UpstreamError } from '../upstream/errors';
import { machineIdFor } from '../upstream/client';

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
  close(): Promise<void>;
}

/** Tokens this close to expiry are refreshed before use: a request must not start on a dying token. */
export const EXPIRY_SKEW_MS = 60_000;
/** When a refresh response carries no lifetime, assume the documented one hour. */
export const DEFAULT_TOKEN_TTL_S = 3600;

type PoolDeps = Pick<AppContext, 'config' | 'log' | 'clock' | 'random' | 'store' | 'upstream'>;

export function needsRefresh(a: Account, nowMs: number): boolean {
  if (a.authMethod === 'api_key') return false;
  if (!a.accessToken) return true;
  return a.expiresAt !== null && a.expiresAt.getTime() - EXPIRY_SKEW_MS <= nowMs;
}

export function createAccountPool(deps: PoolDeps): AccountPool {
  const { store, clock, log } = deps;
  const inFlight = new Map<string, Promise<Account>>();

  async function doRefresh(account: Account): Promise<Account> {
    const now = clock.now();
    try {
      let grant: { accessToken: string; refreshToken?: string; expiresIn?: number; profileArn?: string };
      if (account.authMethod === 'api_key') return account;
      if (!account.refreshToken) {
        throw new GatewayError('invalid_request', 'Account has no refresh token; add one or log in again.', { param: 'refreshToken' });
      }
      if (account.authMethod === 'idc') {
        if (!account.clientId || !account.clientSecret) {
          throw new GatewayError('invalid_request', 'Account missing clientId/clientSecret for refresh.', { param: 'clientId' });
        }
        grant = await deps.upstream.oidc.createToken({
          grantType: 'refresh_token',
          clientId: account.clientId,
          clientSecret: account.clientSecret,
          refreshToken: account.refreshToken,
        });
      } else {
        grant = await deps.upstream.kiro.refreshToken(account.refreshToken, { machineId: machineIdFor(account.id) });
      }
      const updated = await store.accounts.update(account.id, {
        accessToken: grant.accessToken,
        // Refresh tokens may rotate: persist the new one before anything uses the new access token.
        ...(grant.refreshToken ? { refreshToken: grant.refreshToken } : {}),
        ...(grant.profileArn ? { profileArn: grant.profileArn } : {}),
        expiresAt: new Date(now + (grant.expiresIn ?? DEFAULT_TOKEN_TTL_S) * 1000),
        lastRefreshTime: new Date(now),
        lastRefreshStatus: 'success',
      });
      if (!updated) throw new GatewayError('not_found', 'Account not found');
      log.info('token refreshed', { account: account.id });
      return updated;
    } catch (e) {
      if (e instanceof GatewayError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof AuthError && e.permanent) {
        // The refresh token is dead: only a new login helps, so stop using the account at once.
        await store.accounts.update(account.id, {
          enabled: false,
          disabledReason: 'invalid_grant',
          lastRefreshTime: new Date(now),
          lastRefreshStatus: 'failed',
          lastError: `refresh: ${message}`,
        });
        log.warn('refresh token rejected; account disabled until it logs in again', { account: account.id });
        throw new GatewayError('upstream', `Token refresh failed: ${message} (account disabled: needs login)`, { cause: e });
      }
      await store.accounts.update(account.id, {
        lastRefreshTime: new Date(now),
        lastRefreshStatus: 'failed',
        lastError: `refresh: ${message}`,
      });
      throw new GatewayError('upstream', `Token refresh failed: ${message}`, { cause: e });
    }
  }

  function refreshAccount(account: Account): Promise<Account> {
    let p = inFlight.get(account.id);
    if (!p) {
      p = doRefresh(account).finally(() => inFlight.delete(account.id));
      inFlight.set(account.id, p);
    }
    return p;
  }

  return {
    async acquire(opts = {}) {
      const now = clock.now();
      const candidates = (await store.accounts.listUsable(new Date(now))).filter((a) => !opts.exclude?.has(a.id));
      // Try candidates in random order until one yields a token: one broken account must not fail the request.
      while (candidates.length > 0) {
        const i = Math.floor(deps.random.float() * candidates.length);
        let account = candidates.splice(i, 1)[0]!;
        try {
          if (needsRefresh(account, now)) account = await refreshAccount(account);
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
      const account = await store.accounts.get(id);
      if (!account) throw new GatewayError('not_found', 'Account not found');
      return refreshAccount(account);
    },
    async close() {
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
