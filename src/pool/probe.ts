// Asking the upstream about one account without a chat: GetUsageLimits read on a slow schedule
// (QUOTA_POLL_S), on demand (POST /v2/accounts/{id}/quota) and by the liveness check
// (POST /v2/accounts/verify), which is the same call after making sure the token is fresh.

import type { AppContext } from '../context';
import { GatewayError } from '../http/errors';
import type { Account, AccountPatch } from '../store/accounts';
import { machineIdFor, type UsageLimitsResponse } from '../upstream/client';
import { UpstreamError } from '../upstream/errors';
import { accountStatus, quotaExhausted, type AccountStatus } from './account-state';
import type { TokenLifecycle } from './lifecycle';
import { readUsageLimits } from './quota';
import type { AccountView } from './view';

/** Accounts verified at once: enough to check hundreds in seconds, few enough not to look like a burst. */
export const VERIFY_CONCURRENCY = 8;
/** Quota readings taken at once by the background poll. */
export const QUOTA_POLL_CONCURRENCY = 4;
/** The poll wakes this often (or at the poll interval, if shorter) and reads the accounts that are due. */
export const QUOTA_TICK_MS = 60_000;
/** A failed reading is not retried by the poll before this (the chat path still uses the account). */
export const QUOTA_RETRY_MS = 10 * 60_000;
/** Readings per tick at least, so a small pool catches up at once after a restart. */
const QUOTA_MIN_BATCH = 20;

export interface VerifyResult {
  id: string;
  ok: boolean;
  status: AccountStatus | 'not_found';
  error?: string;
}

export interface Prober {
  /** Reads GetUsageLimits now and stores it (lifting a 402 exhaustion if credits are back). */
  checkQuota(id: string): Promise<Account>;
  verify(ids: readonly string[]): Promise<VerifyResult[]>;
  /** One poll pass over the accounts whose reading is older than QUOTA_POLL_S. */
  pollDue(): Promise<number>;
}

type ProbeDeps = Pick<AppContext, 'store' | 'clock' | 'log' | 'config' | 'upstream'> & {
  view: AccountView;
  lifecycle: TokenLifecycle;
  /** books an upstream failure against the account (the same effects as a chat failure) */
  applyFailure(account: Account, err: UpstreamError): Promise<void>;
};

export function createProber(deps: ProbeDeps): Prober {
  const { store, clock, log, lifecycle, view } = deps;
  const pollMs = deps.config.pool.quotaPollMs;
  const retryAt = new Map<string, number>();

  const call = (a: Account): Promise<UsageLimitsResponse> =>
    deps.upstream.q.getUsageLimits({
      accessToken: a.accessToken ?? '',
      authMethod: a.authMethod,
      machineId: machineIdFor(a.id),
      ...(a.profileArn ? { profileArn: a.profileArn } : {}),
      ...(a.proxy ? { proxy: a.proxy } : {}),
    });

  /** Fresh token, one GetUsageLimits (one forced refresh and retry on an invalid token), stored. */
  async function probe(start: Account, mode: 'poll' | 'demand'): Promise<Account> {
    let account = start;
    if (!lifecycle.isUsable(account, clock.now())) account = await lifecycle.refresh(account.id, 'expired');
    let doc: UsageLimitsResponse;
    try {
      doc = await call(account);
    } catch (e) {
      if (!(e instanceof UpstreamError) || e.kind !== 'invalid_token') throw e;
      account = await lifecycle.refresh(account.id, 'force');
      doc = await call(account);
    }
    const now = clock.now();
    const reading = readUsageLimits(doc, now);
    const patch: AccountPatch = {
      quotaRemaining: reading.remaining,
      quotaLimit: reading.limit,
      quotaResetAt: reading.resetAt,
      quotaCheckedAt: new Date(now),
    };
    // A 402 outranks a reading that still shows credits (Q CLI never retries one): the schedule
    // keeps the account out until its reset date; an operator's on-demand check may lift it.
    const current = view.get(account.id)?.account ?? account;
    if (mode === 'poll' && quotaExhausted(current, now) && (reading.remaining === null || reading.remaining > 0)) {
      delete patch.quotaRemaining;
      delete patch.quotaResetAt;
    }
    const stored = await store.accounts.update(account.id, patch);
    if (!stored) throw new GatewayError('not_found', 'Account not found');
    return stored;
  }

  /** probe(), with an upstream failure booked against the account before it is rethrown. */
  async function probeBooked(account: Account, mode: 'poll' | 'demand'): Promise<Account> {
    try {
      return await probe(account, mode);
    } catch (e) {
      if (e instanceof UpstreamError) await deps.applyFailure(view.get(account.id)?.account ?? account, e).catch(() => {});
      throw e;
    }
  }

  async function load(id: string): Promise<Account> {
    const account = await store.accounts.get(id);
    if (!account) throw new GatewayError('not_found', 'Account not found');
    return account;
  }

  return {
    async checkQuota(id) {
      try {
        return await probeBooked(await load(id), 'demand');
      } catch (e) {
        if (e instanceof UpstreamError) throw new GatewayError('upstream', `GetUsageLimits failed: ${e.message}`, { cause: e });
        throw e;
      }
    },

    async verify(ids) {
      const results: VerifyResult[] = new Array(ids.length);
      let next = 0;
      const worker = async () => {
        while (next < ids.length) {
          const i = next++;
          const id = ids[i]!;
          try {
            const a = await probeBooked(await load(id), 'demand');
            results[i] = { id, ok: true, status: accountStatus(a, new Date(clock.now())) };
          } catch (e) {
            const a = view.get(id)?.account ?? (await store.accounts.get(id).catch(() => null));
            const error = e instanceof Error ? e.message : String(e);
            results[i] = { id, ok: false, status: a ? accountStatus(a, new Date(clock.now())) : 'not_found', error };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(VERIFY_CONCURRENCY, ids.length) }, worker));
      return results;
    },

    async pollDue() {
      if (pollMs <= 0) return 0;
      const now = clock.now();
      const due: Account[] = [];
      for (const e of view.entries()) {
        const a = e.account;
        if (!a.enabled || now - (a.quotaCheckedAt?.getTime() ?? 0) < pollMs || (retryAt.get(a.id) ?? 0) > now) continue;
        // An expired token is the refresh sweep's business; the reading waits for the fresh one.
        if (!lifecycle.isUsable(a, now)) continue;
        due.push(a);
      }
      due.sort((x, y) => (x.quotaCheckedAt?.getTime() ?? 0) - (y.quotaCheckedAt?.getTime() ?? 0));
      // Enough per tick to cover the whole pool once per interval, with room to catch up.
      const batch = Math.max(QUOTA_MIN_BATCH, Math.ceil(((view.size * Math.min(QUOTA_TICK_MS, pollMs)) / pollMs) * 1.5));
      const work = due.slice(0, batch);
      let next = 0;
      let read = 0;
      const worker = async () => {
        while (next < work.length) {
          const a = work[next++]!;
          try {
            await probeBooked(a, 'poll');
            retryAt.delete(a.id);
            read++;
          } catch (e) {
            retryAt.set(a.id, clock.now() + QUOTA_RETRY_MS);
            log.warn('quota reading failed', { account: a.id, error: e instanceof Error ? e.message : String(e) });
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(QUOTA_POLL_CONCURRENCY, work.length) }, worker));
      return read;
    },
  };
}
