// The account pool as the chat routes see it: acquire an account with a usable access token (per
// ACCOUNT_STRATEGY, sticky sessions and the concurrency cap, from the in-memory view), report how the
// call went (cooldowns, quota, disabling: upstream-protocol.md §3.3), release it, refresh on demand.

import type { AppContext } from '../context';
import { GatewayError } from '../http/errors';
import { type Account, MAX_LAST_ERROR_LENGTH } from '../store/accounts';
import type { UpstreamError } from '../upstream/errors';
import { effectOf } from './effects';
import { createTokenLifecycle, EXPIRY_SKEW_MS, type Sleep, type TokenLifecycle } from './lifecycle';
import { createProber, QUOTA_TICK_MS, type VerifyResult } from './probe';
import { type PoolStats, poolStats } from './stats';
import { createStickyBindings } from './sticky';
import { createViewSync } from './sync';
import { createAccountView } from './view';

export interface AccountLease {
  account: Account;
  accessToken: string;
  /** Gives the account's concurrency slot back. Idempotent; every acquired lease must be released,
   *  whatever the outcome (a copy made with `{ ...lease }` releases the same slot). */
  release(): void;
}

export interface AcquireOptions {
  /** accounts this request already tried */
  exclude?: ReadonlySet<string>;
  /** conversation key (src/chat/sticky.ts); used when STICKY_SESSIONS is on */
  stickyKey?: string;
}

export type Outcome = { ok: true } | { ok: false; error: UpstreamError };

export interface AccountPool {
  /** An enabled account with a usable access token; refreshes first when needed. */
  acquire(opts?: AcquireOptions): Promise<AccountLease>;
  /** Book the outcome of one upstream call made with a lease (does not release it). */
  report(lease: AccountLease, outcome: Outcome): Promise<void>;
  /** Refresh one account's access token now (single-flight); throws GatewayError on failure. */
  refresh(id: string): Promise<Account>;
  /** Read the account's GetUsageLimits now and store it. */
  checkQuota(id: string): Promise<Account>;
  /** Check that accounts answer (fresh token + GetUsageLimits); every account when `ids` is absent. */
  verify(ids?: readonly string[]): Promise<VerifyResult[]>;
  stats(): Promise<PoolStats>;
  /** One quota poll pass now over the accounts due (the background loop runs it every minute). */
  pollQuotas(): Promise<number>;
  /** Re-read the accounts changed in the database now (the background loop does it every POOL_SYNC_S). */
  syncView(): Promise<void>;
  /** Token refresh (sweep, leases) — its start() also starts the pool's view sync and quota poll
   *  (`serve` calls it), its stop() stops them. */
  lifecycle: TokenLifecycle;
  close(): Promise<void>;
}

export { DEFAULT_TOKEN_TTL_S, EXPIRY_SKEW_MS } from './lifecycle';
export type { VerifyResult } from './probe';
export type { PoolStats } from './stats';

type PoolDeps = Pick<AppContext, 'config' | 'log' | 'clock' | 'random' | 'store' | 'upstream'>;

/** After a selection-time refresh failed, the account is not picked again by this process for this
 *  long (the lifecycle's own backoff decides when the refresh is retried). */
export const HOLD_AFTER_REFRESH_FAILURE_MS = 30_000;
/** Retry-After for "every account is at its concurrency cap": slots free up within seconds. */
const BUSY_RETRY_AFTER_S = 1;

export function needsRefresh(a: Account, nowMs: number): boolean {
  if (a.authMethod === 'api_key') return false;
  if (!a.accessToken) return true;
  return a.expiresAt !== null && a.expiresAt.getTime() - EXPIRY_SKEW_MS <= nowMs;
}

export function createAccountPool(deps: PoolDeps & { sleep?: Sleep }): AccountPool {
  const { store, clock, log, config } = deps;
  const tokens = createTokenLifecycle(deps);
  const view = createAccountView({
    strategy: config.pool.strategy,
    maxConcurrency: config.pool.maxConcurrency,
    random: () => deps.random.float(),
    now: () => clock.now(),
  });
  const sync = createViewSync({ ...deps, view });
  const sticky = createStickyBindings({ ttlMs: config.pool.stickyTtlMs, now: () => clock.now() });
  const prober = createProber({ ...deps, view, lifecycle: tokens, applyFailure });
  const cancels: Array<() => void> = [];
  let stopped = false;

  function leaseFor(account: Account): AccountLease {
    let released = false;
    return {
      account,
      accessToken: account.accessToken!,
      release() {
        if (released) return;
        released = true;
        view.give(account.id);
      },
    };
  }

  function noAccountError(): GatewayError {
    const counts = view.counts();
    const waitS = () => String(Math.max(1, Math.ceil(((view.nextWake() ?? clock.now()) - clock.now()) / 1000)));
    if (counts.cooling > 0) {
      return new GatewayError('rate_limit', 'Every account is cooling down after upstream rate limiting; try again shortly.', { headers: { 'retry-after': waitS() } });
    }
    if (counts.busy > 0) {
      return new GatewayError('rate_limit', `Every account is serving its maximum of ${config.pool.maxConcurrency} concurrent requests (ACCOUNT_MAX_CONCURRENCY); try again shortly.`, {
        headers: { 'retry-after': String(BUSY_RETRY_AFTER_S) },
      });
    }
    if (counts.exhausted > 0) {
      return new GatewayError('rate_limit', 'Every account is out of quota (monthly/overage limit reached) until its reset date.', { headers: { 'retry-after': waitS() } });
    }
    return new GatewayError('unavailable', 'No enabled account with a usable token is available.');
  }

  async function acquire(opts: AcquireOptions = {}): Promise<AccountLease> {
    await sync.ready();
    sync.nudge();
    const tried = new Set<string>();
    const skip = (id: string) => tried.has(id) || (opts.exclude?.has(id) ?? false);
    const key = config.pool.stickySessions ? opts.stickyKey : undefined;
    let emptySynced = false;
    for (;;) {
      view.wake();
      const bound = key === undefined ? undefined : sticky.get(key);
      // The conversation's account when it can serve; otherwise the strategy's pick (falling over).
      const id = bound !== undefined && view.isReady(bound) && !skip(bound) ? bound : view.pick(skip);
      if (id === undefined) {
        const c = view.counts();
        const enabled = view.size - c.disabled;
        if (!emptySynced && enabled === 0) {
          emptySynced = true;
          if (await sync.onEmpty()) continue;
        }
        throw noAccountError();
      }
      tried.add(id);
      const entry = view.get(id)!;
      view.take(id); // the slot is held while the token is made fresh, so the cap holds meanwhile
      try {
        const fresh = await tokens.ensureFresh(entry.account);
        // Another replica's refresh, read from the database: the view learns the new token too.
        if (fresh.accessToken !== view.get(id)?.account.accessToken) view.upsert(fresh);
        if (fresh.accessToken) {
          if (key !== undefined) sticky.set(key, id);
          return leaseFor(fresh);
        }
        view.give(id);
      } catch (e) {
        view.give(id);
        if (e instanceof GatewayError && e.kind === 'not_found') view.remove(id);
        else view.hold(id, clock.now() + HOLD_AFTER_REFRESH_FAILURE_MS);
        log.warn('account skipped: no usable token', { account: id, error: e });
      }
    }
  }

  /** The §3.3 effect of a failure on its account: memory first (so selection sees it at once), then the row. */
  async function applyFailure(account: Account, err: UpstreamError): Promise<void> {
    const id = account.id;
    const entry = view.get(id);
    const nowMs = clock.now();
    const effect = effectOf(err, { nowMs, account: entry?.account ?? account, throttleStreak: entry?.throttleStreak ?? 0, random: () => deps.random.float() });
    const lastError = err.message.slice(0, MAX_LAST_ERROR_LENGTH);
    const rest = async (ms: number | undefined) => {
      if (!ms) return;
      const cooldownUntil = new Date(nowMs + ms);
      view.patch(id, (a) => ({ ...a, cooldownUntil }));
      // Written before the failure count: the row the count re-reads then carries the cooldown too.
      await store.accounts.update(id, { cooldownUntil });
    };
    switch (effect.kind) {
      case 'none':
        return;
      case 'disable':
        view.patch(id, (a) => ({ ...a, enabled: false, disabledReason: effect.reason, lastError }));
        await store.accounts.update(id, { enabled: false, disabledReason: effect.reason, lastError });
        log.warn('account disabled: suspended upstream', { account: id, error: err.message });
        return;
      case 'quota':
        view.patch(id, (a) => ({ ...a, quotaRemaining: 0, quotaResetAt: effect.resetAt, lastError }));
        await store.accounts.update(id, { quotaRemaining: 0, quotaResetAt: effect.resetAt, lastError });
        log.warn('account out of quota until its reset', { account: id, resetAt: effect.resetAt.toISOString() });
        return;
      case 'throttle':
        if (entry) entry.throttleStreak++;
        await rest(effect.cooldownMs);
        await store.accounts.recordFailure(id, err.message, config.maxErrorCount);
        log.info('account cooling down after a throttle', { account: id, cooldownMs: effect.cooldownMs, streak: entry?.throttleStreak });
        return;
      case 'count':
        await rest(effect.cooldownMs);
        await store.accounts.recordFailure(id, err.message, config.maxErrorCount);
        return;
    }
  }

  /** Runs `fn` every `ms` (the first run after `ms`), never overlapping, until stop. */
  function every(ms: number, what: string, fn: () => Promise<unknown>): void {
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      try {
        await fn();
      } catch (e) {
        log.error(`${what} failed`, { error: e });
      }
      // Scheduled only after the run ends, so runs never overlap however slow one is.
      if (!stopped) timer = setTimeout(tick, ms);
    };
    timer = setTimeout(tick, ms);
    cancels.push(() => clearTimeout(timer));
  }

  const lifecycle: TokenLifecycle = {
    ...tokens,
    start() {
      tokens.start();
      if (stopped || cancels.length > 0) return;
      every(config.pool.syncIntervalMs, 'account view sync', () => sync.sync());
      if (config.pool.quotaPollMs > 0) {
        every(Math.min(QUOTA_TICK_MS, config.pool.quotaPollMs), 'quota poll', async () => {
          await sync.ready();
          await prober.pollDue();
        });
      }
    },
    async stop() {
      stopped = true;
      for (const cancel of cancels) cancel();
      await tokens.stop();
    },
  };

  return {
    acquire,
    async report(lease, outcome) {
      if (outcome.ok) {
        const entry = view.get(lease.account.id);
        if (entry) entry.throttleStreak = 0;
        await store.accounts.recordSuccess(lease.account.id);
      } else await applyFailure(lease.account, outcome.error);
    },
    refresh: (id) => tokens.refresh(id),
    async checkQuota(id) {
      await sync.ready();
      return prober.checkQuota(id);
    },
    async verify(ids) {
      await sync.ready();
      return prober.verify(ids ?? (await store.accounts.listVersions()).map((v) => v.id));
    },
    async stats() {
      await sync.ready();
      sync.nudge();
      return poolStats(view, config.pool.strategy, clock.now());
    },
    async pollQuotas() {
      await sync.ready();
      return prober.pollDue();
    },
    async syncView() {
      await sync.ready();
      await sync.sync();
    },
    lifecycle,
    async close() {
      await lifecycle.stop();
      sync.close();
    },
  };
}
