// Token lifecycle: access tokens are refreshed ahead of expiry, by a background sweep and when an
// account is picked; one refresh per account at a time (single-flight here, a database lease across
// replicas, since refresh tokens rotate); rotated refresh tokens are stored before any use;
// `invalid_grant` disables the account as "needs login"; transient failures back off.

import type { AppContext } from '../context';
import { GatewayError } from '../http/errors';
import type { Account } from '../store/accounts';
import type { RefreshState } from '../store/refresh-leases';
import { machineIdFor } from '../upstream/client';
import { AuthError } from '../upstream/errors';
import { DEFAULT_AUTH_TIMEOUT_MS } from '../upstream/oidc';
import { createKiroAuthClient, type KiroAuthClient } from '../upstream/kiro-auth';
import { accountProxyConfig, createOidcResolver } from './oidc-endpoints';
import type { RefreshObserver } from '../obs/metrics';

/** Waits `ms` (injected, so tests run polling loops without real time); rejects when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const systemSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A token this close to expiry is not used at all: a request must not start on a dying token. */
export const EXPIRY_SKEW_MS = 60_000;
/** When a refresh response carries no lifetime, assume the documented one hour. */
export const DEFAULT_TOKEN_TTL_S = 3600;
/** A lease outlives the slowest refresh call (the auth client gives up after DEFAULT_AUTH_TIMEOUT_MS)
 *  with room to store the result, so it never lapses while its holder is still working. */
export const REFRESH_LEASE_MS = 3 * DEFAULT_AUTH_TIMEOUT_MS;
/** A caller that needs the token waits this long for another replica's refresh (its slowest call plus
 *  a margin) before giving up on the account. */
export const LEASE_WAIT_MS = DEFAULT_AUTH_TIMEOUT_MS + 5_000;
/** While another replica holds the lease, the account is re-read this often. */
export const LEASE_POLL_MS = 50;
/** Backoff after transient refresh failures: 30 s, doubling, at most 15 minutes, ±20 % jitter so
 *  replicas and accounts do not retry in lockstep. */
export const BACKOFF_BASE_MS = 30_000;
export const BACKOFF_MAX_MS = 15 * 60_000;
export const BACKOFF_JITTER = 0.2;
/** Accounts one sweep looks at; the rest wait for the next sweep (a minute later by default). */
export const SWEEP_BATCH = 500;
/** After a selection-time refresh that did not happen (lease elsewhere, backoff, failure), the same
 *  process does not try again from the request path for this long; the sweep still does. */
export const AHEAD_RETRY_MS = 30_000;

/** `ahead`: only if inside the refresh window, never waits; `expired`: the caller needs a token and
 *  waits for another replica's refresh; `force`: refresh even a fresh token (admin, invalid-token retry). */
export type RefreshMode = 'ahead' | 'expired' | 'force';

export interface SweepReport {
  due: number;
  refreshed: number;
  failed: number;
}

export interface TokenLifecycle {
  /** The token can be sent now (present, and more than EXPIRY_SKEW_MS from expiry). */
  isUsable(account: Account, nowMs: number): boolean;
  /** Less than REFRESH_AHEAD_S is left (or the token is missing). */
  needsRefresh(account: Account, nowMs: number): boolean;
  /**
   * Selection time: a usable token is returned at once (with a background refresh when it is inside
   * the window); an unusable one is refreshed first. Throws GatewayError when no token can be had.
   */
  ensureFresh(account: Account): Promise<Account>;
  /** Refresh one account (single-flight, leased); throws GatewayError on failure. */
  refresh(id: string, mode?: RefreshMode): Promise<Account>;
  /** One pass over the accounts due; a pass already running is joined, never doubled. */
  sweep(): Promise<SweepReport>;
  /** Background sweeps every REFRESH_SWEEP_INTERVAL_S, the first one now. */
  start(): void;
  /** Stops the sweeps and waits for refreshes in flight. */
  stop(): Promise<void>;
}

/** `metrics` (optional, so hand-built deps in tests need none) counts refresh outcomes for /metrics. */
export type LifecycleDeps = Pick<AppContext, 'config' | 'log' | 'clock' | 'random' | 'store' | 'upstream'> & {
  sleep?: Sleep;
  metrics?: RefreshObserver;
};

interface Outcome {
  account: Account;
  refreshed: boolean;
}

export function backoffMs(failures: number, random: () => number): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * random()));
}

export function createTokenLifecycle(deps: LifecycleDeps): TokenLifecycle {
  const { store, clock, log, config } = deps;
  const sleep = deps.sleep ?? systemSleep;
  const aheadMs = config.refresh.aheadMs;
  const oidcFor = createOidcResolver(deps);
  /** Kiro auth clients for accounts with their own proxy, one per proxy. */
  const kiroClients = new Map<string, KiroAuthClient>();
  const kiroFor = (proxy: string | null): KiroAuthClient => {
    if (!proxy) return deps.upstream.kiro;
    let client = kiroClients.get(proxy);
    if (!client) kiroClients.set(proxy, (client = createKiroAuthClient({ endpoint: config.kiroAuthEndpoint, proxy: accountProxyConfig(proxy) })));
    return client;
  };
  /** Names this process in lease rows (for the log and for re-taking its own lease). */
  const owner = deps.random.uuid();
  const inFlight = new Map<string, Promise<Outcome>>();
  const aheadQuietUntil = new Map<string, number>();
  let running: Promise<SweepReport> | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const isUsable = (a: Account, now: number) =>
    a.authMethod === 'api_key' || (!!a.accessToken && (a.expiresAt === null || a.expiresAt.getTime() - EXPIRY_SKEW_MS > now));
  const needsRefresh = (a: Account, now: number) =>
    a.authMethod !== 'api_key' && (!a.accessToken || (a.expiresAt !== null && a.expiresAt.getTime() - aheadMs <= now));
  const at = (ms: number) => new Date(ms);
  const notFound = () => new GatewayError('not_found', 'Account not found');

  async function callAuth(a: Account): Promise<{ accessToken: string; refreshToken?: string; expiresIn?: number; profileArn?: string }> {
    if (!a.refreshToken) {
      throw new GatewayError('invalid_request', 'Account has no refresh token; add one or log in again.', { param: 'refreshToken' });
    }
    if (a.authMethod === 'idc') {
      if (!a.clientId || !a.clientSecret) {
        throw new GatewayError('invalid_request', 'Account missing clientId/clientSecret for refresh.', { param: 'clientId' });
      }
      return oidcFor(a.region, a.proxy).client.createToken({
        grantType: 'refresh_token',
        clientId: a.clientId,
        clientSecret: a.clientSecret,
        refreshToken: a.refreshToken,
      });
    }
    return kiroFor(a.proxy).refreshToken(a.refreshToken, { machineId: machineIdFor(a.id) });
  }

  type Backoff = { failures: number; retryAt: Date | null };
  const CLEAR: Backoff = { failures: 0, retryAt: null };

  /** The refresh itself, lease held: call, store, or book the failure; says which backoff to record. */
  async function refreshHeld(a: Account, failuresSoFar: number): Promise<{ outcome: Outcome; backoff: Backoff } | { error: GatewayError; backoff: Backoff }> {
    const now = clock.now();
    const usedRefreshToken = a.refreshToken;
    try {
      const grant = await callAuth(a);
      // One write holds the rotated refresh token and the new access token: nothing can use the new
      // access token before the refresh token that replaced the old one is safely stored.
      const updated = await store.accounts.update(a.id, {
        accessToken: grant.accessToken,
        ...(grant.refreshToken ? { refreshToken: grant.refreshToken } : {}),
        ...(grant.profileArn ? { profileArn: grant.profileArn } : {}),
        expiresAt: at(clock.now() + (grant.expiresIn ?? DEFAULT_TOKEN_TTL_S) * 1000),
        lastRefreshTime: at(now),
        lastRefreshStatus: 'success',
      });
      if (!updated) return { error: notFound(), backoff: CLEAR };
      aheadQuietUntil.delete(a.id);
      log.info('token refreshed', { account: a.id, rotated: !!grant.refreshToken });
      deps.metrics?.refreshOutcome('success');
      return { outcome: { account: updated, refreshed: true }, backoff: CLEAR };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof AuthError && e.permanent) {
        // A replica whose lease lapsed may have rotated the token under us: then ours was merely stale.
        const latest = await store.accounts.get(a.id);
        if (latest && latest.refreshToken !== usedRefreshToken) {
          if (isUsable(latest, clock.now())) return { outcome: { account: latest, refreshed: false }, backoff: CLEAR };
          return { error: new GatewayError('upstream', `Token refresh failed: ${message} (the refresh token changed meanwhile)`, { cause: e }), backoff: CLEAR };
        }
        // The refresh token is dead: only a new login helps. Disabled accounts are neither swept nor
        // picked, so there is no retry loop.
        await store.accounts.update(a.id, {
          enabled: false,
          disabledReason: 'invalid_grant',
          lastRefreshTime: at(now),
          lastRefreshStatus: 'failed',
          lastError: `refresh: ${message}`,
        });
        log.warn('refresh token rejected; account disabled until it logs in again', { account: a.id, error: e.error });
        deps.metrics?.refreshOutcome('invalid_grant');
        return { error: new GatewayError('upstream', `Token refresh failed: ${message} (account disabled: needs login)`, { cause: e }), backoff: CLEAR };
      }
      // Transient (network, 5xx, throttled) or a fixable setup problem: the account stays enabled and
      // the sweep tries again after a growing pause.
      const failures = failuresSoFar + 1;
      const retryAt = at(clock.now() + backoffMs(failures, deps.random.float));
      await store.accounts.update(a.id, { lastRefreshTime: at(now), lastRefreshStatus: 'failed', lastError: `refresh: ${message}` });
      log.warn('token refresh failed; will retry', { account: a.id, failures, retryAt: retryAt.toISOString(), error: message });
      deps.metrics?.refreshOutcome('failed');
      const error = e instanceof GatewayError ? e : new GatewayError('upstream', `Token refresh failed: ${message}`, { cause: e });
      return { error, backoff: { failures, retryAt } };
    }
  }

  async function run(id: string, mode: RefreshMode): Promise<Outcome> {
    const first = await store.accounts.get(id);
    if (!first) throw notFound();
    if (first.authMethod === 'api_key') return { account: first, refreshed: false };
    const seen = first.accessToken;
    // Settled: someone else refreshed meanwhile, or (unless forced) the token is out of the window.
    const settled = (a: Account) => a.accessToken !== seen || (mode !== 'force' && !needsRefresh(a, clock.now()));
    /** A refresh that failed a moment ago (here or on another replica) is not repeated before its time. */
    const backingOff = (state: RefreshState | null, a: Account): Outcome | null => {
      if (mode === 'force' || !state?.retryAt || state.retryAt.getTime() <= clock.now()) return null;
      if (mode === 'ahead') return { account: a, refreshed: false };
      throw new GatewayError('unavailable', `Token refresh is backing off until ${state.retryAt.toISOString()}: ${a.lastError ?? 'failed'}`);
    };
    const start = clock.now();
    if (mode !== 'force') {
      if (!needsRefresh(first, start)) return { account: first, refreshed: false };
      const early = backingOff(await store.refreshLeases.state(id), first);
      if (early) return early;
    }
    const waitUntil = start + (mode === 'ahead' ? 0 : LEASE_WAIT_MS);
    while (!(await store.refreshLeases.acquire(id, owner, at(clock.now() + REFRESH_LEASE_MS), at(clock.now())))) {
      // Another replica is refreshing: its new token lands in the row, so wait and re-read.
      if (clock.now() >= waitUntil) {
        if (mode === 'ahead') return { account: first, refreshed: false };
        throw new GatewayError('unavailable', 'Another replica is refreshing this account; try again shortly.');
      }
      await sleep(LEASE_POLL_MS);
      const current = await store.accounts.get(id);
      if (!current) throw notFound();
      if (settled(current)) return { account: current, refreshed: false };
    }
    let backoff: Backoff | undefined;
    try {
      // Re-read under the lease: the refresh token may have rotated, or a refresh failed, meanwhile.
      const [current, state] = await Promise.all([store.accounts.get(id), store.refreshLeases.state(id)]);
      if (!current) throw notFound();
      if (settled(current)) return { account: current, refreshed: false };
      const held = backingOff(state, current);
      if (held) return held;
      const r = await refreshHeld(current, state?.failures ?? 0);
      backoff = r.backoff;
      if ('error' in r) throw r.error;
      return r.outcome;
    } finally {
      await store.refreshLeases
        .release(id, owner, backoff)
        .catch((e: unknown) => log.error('could not release the refresh lease', { account: id, error: e }));
    }
  }

  function refreshOutcome(id: string, mode: RefreshMode): Promise<Outcome> {
    let p = inFlight.get(id);
    if (!p) {
      p = run(id, mode).finally(() => inFlight.delete(id));
      inFlight.set(id, p);
    }
    return p;
  }

  async function sweepOnce(): Promise<SweepReport> {
    const now = clock.now();
    const ids = await store.refreshLeases.listDue(at(now + aheadMs), at(now), SWEEP_BATCH);
    const report: SweepReport = { due: ids.length, refreshed: 0, failed: 0 };
    let next = 0;
    const worker = async () => {
      while (next < ids.length && !stopped) {
        const id = ids[next++]!;
        try {
          if ((await refreshOutcome(id, 'ahead')).refreshed) report.refreshed++;
        } catch {
          report.failed++; // logged where it failed; the backoff is in the row
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(config.refresh.sweepConcurrency, ids.length) }, worker));
    if (report.due > 0) log.debug('refresh sweep', { ...report });
    return report;
  }

  function sweep(): Promise<SweepReport> {
    running ??= sweepOnce().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    isUsable,
    needsRefresh,

    async ensureFresh(account) {
      const now = clock.now();
      if (isUsable(account, now)) {
        if (!stopped && needsRefresh(account, now) && (aheadQuietUntil.get(account.id) ?? 0) <= now) {
          aheadQuietUntil.set(account.id, now + AHEAD_RETRY_MS);
          // Still good for a while: refresh behind the request instead of delaying it.
          refreshOutcome(account.id, 'ahead').catch(() => {});
        }
        return account;
      }
      const { account: fresh } = await refreshOutcome(account.id, 'expired');
      if (!fresh.enabled || !isUsable(fresh, clock.now())) {
        throw new GatewayError('unavailable', `Account ${account.id} has no usable access token.`);
      }
      return fresh;
    },

    async refresh(id, mode = 'force') {
      return (await refreshOutcome(id, mode)).account;
    },

    sweep,

    start() {
      if (timer !== undefined || stopped) return;
      const tick = async () => {
        try {
          await sweep();
        } catch (e) {
          log.error('refresh sweep failed', { error: e });
        }
        // Scheduled only after the pass ends, so passes never overlap however slow one is.
        if (!stopped) timer = setTimeout(tick, config.refresh.sweepIntervalMs);
      };
      timer = setTimeout(tick, 0);
    },

    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => {});
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
