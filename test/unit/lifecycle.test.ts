// Token lifecycle against the fake auth server, on a manual clock shared by the gateway side and the
// fake: refresh windows, the sweep, leases, backoff, invalid_grant, rotation, Kiro social refresh.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import { parseConfig } from '../../src/config';
import { accountStatus } from '../../src/http/account-view';
import {
  BACKOFF_BASE_MS,
  BACKOFF_JITTER,
  BACKOFF_MAX_MS,
  backoffMs,
  createTokenLifecycle,
  LEASE_WAIT_MS,
  type Sleep,
  systemSleep,
  type TokenLifecycle,
} from '../../src/pool/lifecycle';
import { oidcEndpointForRegion } from '../../src/pool/oidc-endpoints';
import { createAccountPool } from '../../src/pool/pool';
import type { Account } from '../../src/store';
import { FAKE_PROFILE_ARN, type FakeUpstream, startFakeUpstream } from '../fake-upstream/server';
import { clockSleep, harness, type Harness, type ManualClock, manualClock } from '../support/lifecycle-harness';

const T0 = Date.parse('2026-06-01T00:00:00Z');
const MIN = 60_000;
const CLIENT = { clientId: 'cid-lifecycle', clientSecret: 'csec-lifecycle' };

let clock: ManualClock = manualClock(T0);
let fake: FakeUpstream;
let h: Harness;
const started: TokenLifecycle[] = [];

beforeAll(async () => {
  fake = await startFakeUpstream({ now: () => clock.now() });
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(async () => {
  clock = manualClock(T0);
  fake.reset();
  h = await harness({ upstreamUrl: fake.url, clock });
});
afterEach(async () => {
  for (const lc of started.splice(0)) await lc.stop();
  await h.close();
});

function lifecycle(opts: { sleep?: Sleep } = {}): TokenLifecycle {
  const lc = createTokenLifecycle({ ...h, sleep: opts.sleep ?? clockSleep(clock) });
  started.push(lc);
  return lc;
}

/** An IdC account the fake knows, whose access token expires `expiresInMs` from now. */
async function idcAccount(expiresInMs: number, refreshToken = `rt-${randomUUID()}`): Promise<Account> {
  const accessToken = `at-${randomUUID()}`;
  fake.seedToken({ refreshToken, accessToken, ...CLIENT, authMethod: 'idc', expiresIn: Math.max(0, expiresInMs / 1000) });
  return h.store.accounts.create({ ...CLIENT, refreshToken, accessToken, expiresAt: new Date(clock.now() + expiresInMs), authMethod: 'idc' });
}

const refreshCalls = () => fake.stats().refresh.oidc + fake.stats().refresh.kiro;
const reload = async (id: string) => (await h.store.accounts.get(id))!;

describe('refresh windows', () => {
  test('usable until one minute before expiry; due five minutes before (REFRESH_AHEAD_S)', async () => {
    const lc = lifecycle();
    const a = await idcAccount(10 * MIN);
    const now = clock.now();
    expect(lc.needsRefresh(a, now)).toBe(false);
    expect(lc.needsRefresh(a, now + 5 * MIN)).toBe(true);
    expect(lc.isUsable(a, now + 8 * MIN)).toBe(true);
    expect(lc.isUsable(a, now + 9 * MIN)).toBe(false);
    expect(lc.needsRefresh({ ...a, accessToken: null }, now)).toBe(true);
    expect(lc.needsRefresh({ ...a, authMethod: 'api_key', expiresAt: new Date(now - MIN) }, now)).toBe(false);
  });

  test('REFRESH_AHEAD_S defaults to 300 and is validated', () => {
    expect(parseConfig({}).refresh).toEqual({ aheadMs: 300_000, sweepIntervalMs: 60_000, sweepConcurrency: 4 });
    expect(parseConfig({ REFRESH_AHEAD_S: '600' }).refresh.aheadMs).toBe(600_000);
    expect(() => parseConfig({ REFRESH_AHEAD_S: '10' })).toThrow('REFRESH_AHEAD_S');
    expect(() => parseConfig({ REFRESH_SWEEP_INTERVAL_S: 'soon' })).toThrow('REFRESH_SWEEP_INTERVAL_S');
    expect(() => parseConfig({ REFRESH_SWEEP_CONCURRENCY: '0' })).toThrow('REFRESH_SWEEP_CONCURRENCY');
  });

  test('IdC accounts refresh at their region\'s OIDC endpoint; a custom OIDC_ENDPOINT serves every region', () => {
    const aws = 'https://oidc.us-east-1.amazonaws.com';
    expect(oidcEndpointForRegion(aws, 'eu-west-1')).toBe('https://oidc.eu-west-1.amazonaws.com');
    expect(oidcEndpointForRegion(aws, 'us-east-1')).toBe(aws);
    expect(oidcEndpointForRegion(aws, null)).toBe(aws);
    expect(oidcEndpointForRegion(aws, 'evil.com/x')).toBe(aws);
    expect(oidcEndpointForRegion('http://127.0.0.1:9999', 'eu-west-1')).toBe('http://127.0.0.1:9999');
  });

  test('backoff doubles from 30 s to at most 15 minutes, with ±20 % jitter', () => {
    expect(backoffMs(1, () => 0.5)).toBe(BACKOFF_BASE_MS);
    expect(backoffMs(2, () => 0.5)).toBe(2 * BACKOFF_BASE_MS);
    expect(backoffMs(40, () => 0.5)).toBe(BACKOFF_MAX_MS);
    expect(backoffMs(1, () => 0)).toBe(BACKOFF_BASE_MS * (1 - BACKOFF_JITTER));
    expect(backoffMs(1, () => 0.999999)).toBeLessThanOrEqual(BACKOFF_BASE_MS * (1 + BACKOFF_JITTER));
  });
});

describe('background sweep', () => {
  test('refreshes an account 4 minutes before expiry and not one 10 minutes before', async () => {
    const lc = lifecycle();
    const soon = await idcAccount(4 * MIN);
    const later = await idcAccount(10 * MIN);
    expect(await lc.sweep()).toEqual({ due: 1, refreshed: 1, failed: 0 });
    const s = await reload(soon.id);
    expect(s.accessToken).not.toBe(soon.accessToken);
    expect(s.expiresAt!.getTime()).toBe(clock.now() + 3600_000);
    expect(s.lastRefreshStatus).toBe('success');
    expect((await reload(later.id)).accessToken).toBe(later.accessToken);
    expect(refreshCalls()).toBe(1);

    clock.advance(6 * MIN); // `later` is now 4 minutes from expiry
    expect(await lc.sweep()).toEqual({ due: 1, refreshed: 1, failed: 0 });
    expect((await reload(later.id)).accessToken).not.toBe(later.accessToken);
    expect(refreshCalls()).toBe(2);
  });

  test('one pass never overlaps another, and runs at most REFRESH_SWEEP_CONCURRENCY refreshes at once', async () => {
    await h.close();
    h = await harness({ upstreamUrl: fake.url, clock, env: { REFRESH_SWEEP_CONCURRENCY: '2' } });
    fake.configure({ auth_delay_ms: 20 });
    const lc = lifecycle();
    for (let i = 0; i < 6; i++) await idcAccount(2 * MIN);
    const first = lc.sweep();
    expect(lc.sweep()).toBe(first);
    expect(await first).toEqual({ due: 6, refreshed: 6, failed: 0 });
    expect(fake.stats().refresh.peak).toBe(2);
  });

  test('start() sweeps in the background; stop() ends it', async () => {
    await h.close();
    h = await harness({ upstreamUrl: fake.url, clock, env: { REFRESH_SWEEP_INTERVAL_S: '1' } });
    const lc = lifecycle();
    const a = await idcAccount(2 * MIN);
    lc.start();
    for (let i = 0; i < 100 && (await reload(a.id)).accessToken === a.accessToken; i++) await systemSleep(10);
    await lc.stop();
    expect((await reload(a.id)).accessToken).not.toBe(a.accessToken);
  });

  test('api_key accounts and disabled accounts are not swept', async () => {
    const lc = lifecycle();
    await h.store.accounts.create({ refreshToken: 'ksk-key', accessToken: 'ksk-key', authMethod: 'api_key' });
    const off = await idcAccount(MIN);
    await h.store.accounts.update(off.id, { enabled: false });
    expect(await lc.sweep()).toEqual({ due: 0, refreshed: 0, failed: 0 });
  });
});

describe('selection time', () => {
  test('a token inside the window is handed out at once and refreshed behind the request', async () => {
    const lc = lifecycle();
    const a = await idcAccount(3 * MIN);
    const got = await lc.ensureFresh(a);
    expect(got.accessToken).toBe(a.accessToken);
    await lc.stop(); // waits for the background refresh
    expect((await reload(a.id)).accessToken).not.toBe(a.accessToken);
    expect(refreshCalls()).toBe(1);
  });

  test('an expired token is refreshed before use, once for many concurrent callers', async () => {
    const pool = createAccountPool({ ...h, sleep: clockSleep(clock) });
    const a = await idcAccount(-MIN);
    const leases = await Promise.all(Array.from({ length: 50 }, () => pool.acquire()));
    expect(new Set(leases.map((l) => l.accessToken)).size).toBe(1);
    expect(leases[0]!.accessToken).not.toBe(a.accessToken);
    expect(refreshCalls()).toBe(1);
    await pool.close();
  });
});

describe('rotation and failures', () => {
  test('a rotated refresh token is stored with the new access token, and the next refresh uses it', async () => {
    const lc = lifecycle();
    const a = await idcAccount(-MIN);
    const r1 = await lc.refresh(a.id);
    expect(r1.refreshToken).not.toBe(a.refreshToken);
    expect((await reload(a.id)).refreshToken).toBe(r1.refreshToken);
    expect(await h.store.accounts.findByRefreshToken(r1.refreshToken!)).not.toBeNull();
    const r2 = await lc.refresh(a.id);
    expect(r2.refreshToken).not.toBe(r1.refreshToken);
    expect(r2.enabled).toBe(true);
    expect(refreshCalls()).toBe(2);
  });

  test('invalid_grant disables the account as "needs login", with no retry loop', async () => {
    const pool = createAccountPool({ ...h, sleep: clockSleep(clock) });
    const other = await idcAccount(10 * MIN); // registers the client with the fake
    await h.store.accounts.update(other.id, { enabled: false });
    const dead = await h.store.accounts.create({ ...CLIENT, refreshToken: 'fake-rt-invalid', accessToken: 'x-at', expiresAt: new Date(T0 - MIN) });
    await expect(pool.acquire()).rejects.toMatchObject({ kind: 'unavailable' });
    const d = await reload(dead.id);
    expect(d).toMatchObject({ enabled: false, disabledReason: 'invalid_grant', lastRefreshStatus: 'failed' });
    expect(accountStatus(d, new Date(clock.now()))).toBe('needs_login');
    for (let i = 0; i < 5; i++) await expect(pool.acquire()).rejects.toMatchObject({ kind: 'unavailable' });
    expect(await pool.lifecycle.sweep()).toEqual({ due: 0, refreshed: 0, failed: 0 });
    expect(refreshCalls()).toBe(1);
    await pool.close();
  });

  test('a transient failure keeps the account enabled, records "failed" and backs off', async () => {
    const pool = createAccountPool({ ...h, sleep: clockSleep(clock) });
    const lc = pool.lifecycle;
    const a = await idcAccount(2 * MIN);
    fake.enqueue({ target: 'auth', scenario: 'server_error', match: { path: '/token' }, times: 1 });
    expect(await lc.sweep()).toEqual({ due: 1, refreshed: 0, failed: 1 });
    const f = await reload(a.id);
    expect(f).toMatchObject({ enabled: true, lastRefreshStatus: 'failed' });
    expect(f.lastError).toContain('server_error');
    const state = (await h.store.refreshLeases.state(a.id))!;
    expect(state.failures).toBe(1);
    expect(state.leaseOwner).toBeNull();
    expect(state.retryAt!.getTime() - clock.now()).toBeWithin(BACKOFF_BASE_MS * 0.8, BACKOFF_BASE_MS * 1.2 + 1);

    expect(await lc.sweep()).toEqual({ due: 0, refreshed: 0, failed: 0 }); // backing off
    clock.advance(3 * MIN); // past the backoff (30 s ± 20 %), and the token has expired meanwhile
    const lease = await pool.acquire();
    expect(lease.accessToken).not.toBe(a.accessToken);
    expect(await h.store.refreshLeases.state(a.id)).toMatchObject({ failures: 0, retryAt: null });
    expect(refreshCalls()).toBe(2);
    await pool.close();
  });

  test('while backing off, an expired account is skipped at selection time without a refresh call', async () => {
    const pool = createAccountPool({ ...h, sleep: clockSleep(clock) });
    const a = await idcAccount(-MIN);
    fake.enqueue({ target: 'auth', scenario: 'server_error', match: { path: '/token' }, times: 1 });
    await expect(pool.acquire()).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(pool.acquire()).rejects.toMatchObject({ kind: 'unavailable' });
    expect(refreshCalls()).toBe(1);
    expect((await reload(a.id)).enabled).toBe(true);
    await pool.close();
  });

  test('Kiro social refresh stores the rotated token and the profile ARN', async () => {
    const lc = lifecycle();
    fake.seedToken({ refreshToken: 'social-rt-1', accessToken: 'social-at-1', authMethod: 'social' });
    const a = await h.store.accounts.create({ refreshToken: 'social-rt-1', accessToken: 'social-at-1', authMethod: 'social', expiresAt: new Date(T0 - MIN) });
    const r = await lc.refresh(a.id, 'expired');
    expect(r.profileArn).toBe(FAKE_PROFILE_ARN);
    expect(r.refreshToken).not.toBe('social-rt-1');
    expect(fake.stats().refresh.kiro).toBe(1);
  });
});

describe('database lease', () => {
  test('while another replica holds the lease, a caller waits and takes that replica\'s token', async () => {
    const a = await idcAccount(-MIN);
    expect(await h.store.refreshLeases.acquire(a.id, 'other-replica', new Date(clock.now() + 90_000), new Date(clock.now()))).toBe(true);
    let sleeps = 0;
    const lc = lifecycle({
      sleep: clockSleep(clock, async () => {
        if (++sleeps !== 3) return;
        // the other replica finishes: new token stored, lease released
        await h.store.accounts.update(a.id, { accessToken: 'from-other-replica', expiresAt: new Date(clock.now() + 3600_000) });
        await h.store.refreshLeases.release(a.id, 'other-replica');
      }),
    });
    const r = await lc.refresh(a.id, 'expired');
    expect(r.accessToken).toBe('from-other-replica');
    expect(refreshCalls()).toBe(0);
  });

  test('a refresh that just failed on another replica is not repeated by a caller that waited for it', async () => {
    const a = await idcAccount(-MIN);
    await h.store.refreshLeases.acquire(a.id, 'other-replica', new Date(clock.now() + 90_000), new Date(clock.now()));
    let sleeps = 0;
    const lc = lifecycle({
      sleep: clockSleep(clock, async () => {
        if (++sleeps === 2) await h.store.refreshLeases.release(a.id, 'other-replica', { failures: 1, retryAt: new Date(clock.now() + 30_000) });
      }),
    });
    await expect(lc.refresh(a.id, 'expired')).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringContaining('backing off') });
    expect(refreshCalls()).toBe(0);
    expect((await h.store.refreshLeases.state(a.id))!).toMatchObject({ leaseOwner: null, failures: 1 });
  });

  test('a lease left by a dead replica is taken over once it lapses', async () => {
    const a = await idcAccount(-MIN);
    await h.store.refreshLeases.acquire(a.id, 'dead-replica', new Date(clock.now() + 5_000), new Date(clock.now()));
    const r = await lifecycle().refresh(a.id, 'expired');
    expect(r.accessToken).not.toBe(a.accessToken);
    expect(refreshCalls()).toBe(1);
    expect((await h.store.refreshLeases.state(a.id))!.leaseOwner).toBeNull();
  });

  test('a lease held past the wait: "expired" gives up, "ahead" does not wait at all', async () => {
    const a = await idcAccount(-MIN);
    await h.store.refreshLeases.acquire(a.id, 'slow-replica', new Date(clock.now() + 10 * MIN), new Date(clock.now()));
    const lc = lifecycle();
    const before = clock.now();
    await expect(lc.refresh(a.id, 'expired')).rejects.toMatchObject({ kind: 'unavailable' });
    expect(clock.now() - before).toBeGreaterThanOrEqual(LEASE_WAIT_MS);
    const t = clock.now();
    expect((await lc.refresh(a.id, 'ahead')).accessToken).toBe(a.accessToken);
    expect(clock.now()).toBe(t);
    expect(refreshCalls()).toBe(0);
  });

  test('two lifecycles (replicas) on one database racing for one account: one refresh, one token', async () => {
    fake.configure({ auth_delay_ms: 40 });
    const a = await idcAccount(-MIN);
    const [x, y] = [lifecycle({ sleep: systemSleep }), lifecycle({ sleep: systemSleep })];
    const results = await Promise.all([x.refresh(a.id, 'expired'), y.refresh(a.id, 'expired'), x.refresh(a.id, 'expired'), y.refresh(a.id, 'expired')]);
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect(results[0]!.accessToken).toBe((await reload(a.id)).accessToken);
    expect(refreshCalls()).toBe(1);
  });
});
