// Selection through the real pool over an in-memory repository, with a manual clock: strategies,
// stickiness, the concurrency cap, cooldowns and quota waits coming back at exactly their time.
import { describe, expect, test } from 'bun:test';
import { GatewayError } from '../../src/http/errors';
import type { AccountLease, AccountPool } from '../../src/pool/pool';
import { UpstreamError } from '../../src/upstream/errors';
import { makeAccount, poolRig, scriptedRandom, T0 } from './pool-fakes';
import { rejectionOf } from '../support/rejection';

const MIN = 60_000;
const abc = () => ['a', 'b', 'c'].map((id, i) => makeAccount(id, { createdAt: new Date(T0 - 3 * MIN + i * MIN) }));

/** acquire + release, n times: the ids in order. */
async function sequence(pool: AccountPool, n: number, opts: { stickyKey?: string } = {}): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const lease = await pool.acquire(opts);
    out.push(lease.account.id);
    lease.release();
  }
  return out;
}

const rejection = (p: Promise<unknown>) => rejectionOf(p, GatewayError);

const throttled = (retryAfterMs?: number) =>
  new UpstreamError('throttled', 'upstream 429 ThrottlingException: Too many requests', { status: 429, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });

describe('strategies', () => {
  test('round-robin: each account in turn, the order kept across acquire/release', async () => {
    const { pool } = poolRig(abc(), { ACCOUNT_STRATEGY: 'round-robin' });
    expect(await sequence(pool, 7)).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
    await pool.close();
  });

  test('round-robin starts with the least recently used account (the rotation survives a restart)', async () => {
    const accounts = abc();
    accounts[0]!.lastUsedAt = new Date(T0 - MIN);
    accounts[1]!.lastUsedAt = new Date(T0 - 2 * MIN);
    const { pool } = poolRig(accounts, { ACCOUNT_STRATEGY: 'round-robin' });
    expect(await sequence(pool, 4)).toEqual(['c', 'b', 'a', 'c']);
    await pool.close();
  });

  test('least-used: fewest requests in flight first, then the least recently used', async () => {
    const { pool } = poolRig(abc(), { ACCOUNT_STRATEGY: 'least-used' });
    const l1 = await pool.acquire();
    const l2 = await pool.acquire();
    const l3 = await pool.acquire();
    expect([l1, l2, l3].map((l) => l.account.id)).toEqual(['a', 'b', 'c']);
    const l4 = await pool.acquire(); // all at one: the one used longest ago
    expect(l4.account.id).toBe('a');
    l2.release(); // b is the only idle one now
    const l5 = await pool.acquire();
    expect(l5.account.id).toBe('b');
    for (const l of [l1, l3, l4, l5]) l.release();
    // idle again, queued in the order they became idle: c (l3), a (l4), b (l5)
    expect(await sequence(pool, 3)).toEqual(['c', 'a', 'b']);
    await pool.close();
  });

  test('priority: fill-first by priority (ties: oldest first), the next only when the first cannot serve', async () => {
    const accounts = [
      makeAccount('low', { priority: 0, createdAt: new Date(T0 - 5 * MIN) }),
      makeAccount('high-old', { priority: 10, createdAt: new Date(T0 - 4 * MIN) }),
      makeAccount('high-new', { priority: 10, createdAt: new Date(T0 - 3 * MIN) }),
    ];
    const { pool, clock, repo } = poolRig(accounts, { ACCOUNT_STRATEGY: 'priority', ACCOUNT_MAX_CONCURRENCY: '1' });
    expect(await sequence(pool, 3)).toEqual(['high-old', 'high-old', 'high-old']);
    const held = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    expect(held.map((l) => l.account.id)).toEqual(['high-old', 'high-new', 'low']);
    held[0]!.release();
    const again = await pool.acquire();
    expect(again.account.id).toBe('high-old');
    for (const l of [again, held[1]!, held[2]!]) l.release();
    // the first one cooling down: the next in priority order fills in, until it is back
    await pool.report(again, { ok: false, error: throttled(10_000) });
    expect(await sequence(pool, 2)).toEqual(['high-new', 'high-new']);
    clock.advance(10_000);
    expect(await sequence(pool, 1)).toEqual(['high-old']);
    // a changed priority (admin PATCH, through the repository) re-orders at once
    await repo.update('low', { priority: 20 });
    expect(await sequence(pool, 1)).toEqual(['low']);
    await pool.close();
  });

  test('random: uniform over the ready accounts, driven by the injected random source', async () => {
    const { pool } = poolRig(abc(), {}, scriptedRandom([0, 0.99, 0.5, 0.4]));
    expect(await sequence(pool, 4)).toEqual(['a', 'c', 'b', 'b']);
    await pool.close();
  });

  test('exclude: accounts a request already tried are never handed out again', async () => {
    const { pool } = poolRig(abc(), { ACCOUNT_STRATEGY: 'round-robin' });
    const lease = await pool.acquire({ exclude: new Set(['a', 'b']) });
    expect(lease.account.id).toBe('c');
    lease.release();
    const err = await rejection(pool.acquire({ exclude: new Set(['a', 'b', 'c']) }));
    expect(err.status).toBe(503);
    await pool.close();
  });
});

describe('stickiness', () => {
  test('the same key keeps its account; other keys rotate; a cooling account is fallen over and the new one kept', async () => {
    const { pool, clock } = poolRig(abc(), { ACCOUNT_STRATEGY: 'round-robin', STICKY_SESSIONS: 'true' });
    expect(await sequence(pool, 3, { stickyKey: 'conv-1' })).toEqual(['a', 'a', 'a']);
    expect(await sequence(pool, 1, { stickyKey: 'conv-2' })).toEqual(['b']);
    expect(await sequence(pool, 1, { stickyKey: 'conv-1' })).toEqual(['a']);
    const lease = await pool.acquire({ stickyKey: 'conv-1' });
    lease.release();
    await pool.report(lease, { ok: false, error: throttled(30_000) });
    const moved = await sequence(pool, 2, { stickyKey: 'conv-1' });
    expect(moved[0]).not.toBe('a');
    expect(moved[1]).toBe(moved[0]!);
    clock.advance(30_000); // a is back, but the conversation stays where it went
    expect(await sequence(pool, 1, { stickyKey: 'conv-1' })).toEqual([moved[0]!]);
    await pool.close();
  });

  test('without STICKY_SESSIONS the key is ignored', async () => {
    const { pool } = poolRig(abc(), { ACCOUNT_STRATEGY: 'round-robin' });
    expect(await sequence(pool, 3, { stickyKey: 'conv-1' })).toEqual(['a', 'b', 'c']);
    await pool.close();
  });
});

describe('concurrency cap', () => {
  test('the N+1th concurrent request goes to another account; with every account full, a 429 with retry-after', async () => {
    const { pool } = poolRig(abc().slice(0, 2), { ACCOUNT_STRATEGY: 'priority', ACCOUNT_MAX_CONCURRENCY: '2' });
    const leases: AccountLease[] = [];
    for (let i = 0; i < 4; i++) leases.push(await pool.acquire());
    expect(leases.map((l) => l.account.id)).toEqual(['a', 'a', 'b', 'b']);
    const err = await rejection(pool.acquire());
    expect(err).toMatchObject({ status: 429, kind: 'rate_limit' });
    expect(err.headers['retry-after']).toBe('1');
    expect((await pool.stats()).totals.in_flight).toBe(4);
    leases[0]!.release();
    leases[0]!.release(); // idempotent: one slot back, not two
    expect((await pool.stats()).totals.in_flight).toBe(3);
    const next = await pool.acquire();
    expect(next.account.id).toBe('a');
    await rejection(pool.acquire());
    for (const l of [...leases, next]) l.release();
    expect((await pool.stats()).totals.in_flight).toBe(0);
    await pool.close();
  });

  test('a copy of a lease (the engine re-leases after a refresh) releases the same slot', async () => {
    const { pool } = poolRig(abc().slice(0, 1), { ACCOUNT_MAX_CONCURRENCY: '1' });
    const lease = await pool.acquire();
    const copy = { ...lease, accessToken: 'new' };
    copy.release();
    lease.release();
    const again = await pool.acquire();
    expect((await pool.stats()).totals.in_flight).toBe(1);
    again.release();
    await pool.close();
  });
});

describe('waits come back at exactly their time', () => {
  test('throttle with Retry-After: out until then, the pool answers 429 with the time left, then back', async () => {
    const { pool, clock, repo } = poolRig(abc().slice(0, 1));
    const lease = await pool.acquire();
    lease.release();
    await pool.report(lease, { ok: false, error: throttled(7_000) });
    expect(repo.rows.get('a')!.cooldownUntil!.getTime()).toBe(T0 + 7_000);
    expect(repo.rows.get('a')!.errorCount).toBe(1);
    const err = await rejection(pool.acquire());
    expect(err).toMatchObject({ status: 429, kind: 'rate_limit' });
    expect(err.headers['retry-after']).toBe('7');
    clock.advance(6_999);
    await rejection(pool.acquire());
    clock.advance(1);
    expect((await pool.acquire()).account.id).toBe('a');
    await pool.close();
  });

  test('throttles in a row grow the cooldown (jitter from the injected random); a success resets the streak', async () => {
    const { pool, clock, repo } = poolRig(abc().slice(0, 1), {}, scriptedRandom([0.5]));
    const cooldowns: number[] = [];
    for (let i = 0; i < 3; i++) {
      const lease = await pool.acquire();
      lease.release();
      await pool.report(lease, { ok: false, error: throttled() });
      const until = repo.rows.get('a')!.cooldownUntil!.getTime();
      cooldowns.push(until - clock.now());
      clock.set(until);
    }
    expect(cooldowns).toEqual([15_000, 30_000, 60_000]);
    const lease = await pool.acquire();
    lease.release();
    await pool.report(lease, { ok: true });
    await pool.report(lease, { ok: false, error: throttled() });
    expect(repo.rows.get('a')!.cooldownUntil!.getTime() - clock.now()).toBe(15_000);
    await pool.close();
  });

  test('402: out until the 1st of next month UTC (no reading yet), then back by itself', async () => {
    // Static API keys: nothing to refresh over the weeks this test jumps.
    const accounts = abc().slice(0, 2).map((a) => ({ ...a, authMethod: 'api_key' as const }));
    const { pool, clock, repo } = poolRig(accounts, { ACCOUNT_STRATEGY: 'priority' });
    const lease = await pool.acquire();
    lease.release();
    const quota = new UpstreamError('quota', 'upstream 402 ServiceQuotaExceededException/MONTHLY_REQUEST_COUNT: You have reached the limit.', {
      status: 402,
      reason: 'MONTHLY_REQUEST_COUNT',
    });
    await pool.report(lease, { ok: false, error: quota });
    const reset = Date.UTC(2030, 5, 1);
    expect(repo.rows.get('a')).toMatchObject({ quotaRemaining: 0, quotaResetAt: new Date(reset), enabled: true });
    expect(await sequence(pool, 2)).toEqual(['b', 'b']);
    const stats = await pool.stats();
    expect(stats.totals).toMatchObject({ exhausted: 1, healthy: 1 });
    expect(stats.accounts.find((a) => a.id === 'a')).toMatchObject({ status: 'exhausted', quota: { remaining: 0, reset_at: new Date(reset).toISOString() } });
    clock.set(reset);
    expect(await sequence(pool, 1)).toEqual(['a']);
    await pool.close();
  });

  test('suspended: disabled with that reason, never picked again', async () => {
    const { pool, repo } = poolRig(abc().slice(0, 2), { ACCOUNT_STRATEGY: 'priority' });
    const lease = await pool.acquire();
    lease.release();
    const suspended = new UpstreamError('suspended', 'upstream 403 AccessDeniedException: Your User ID (x) temporarily is suspended.', { status: 403 });
    await pool.report(lease, { ok: false, error: suspended });
    expect(repo.rows.get('a')).toMatchObject({ enabled: false, disabledReason: 'suspended' });
    expect(await sequence(pool, 3)).toEqual(['b', 'b', 'b']);
    await pool.close();
  });

  test('capacity books nothing; 5xx counts without a cooldown', async () => {
    const { pool, repo } = poolRig(abc().slice(0, 1));
    const lease = await pool.acquire();
    lease.release();
    await pool.report(lease, { ok: false, error: new UpstreamError('capacity', 'upstream 429: high traffic', { status: 429, reason: 'INSUFFICIENT_MODEL_CAPACITY' }) });
    expect(repo.rows.get('a')).toMatchObject({ errorCount: 0, cooldownUntil: null, lastError: null });
    await pool.report(lease, { ok: false, error: new UpstreamError('server_error', 'upstream 500', { status: 500 }) });
    expect(repo.rows.get('a')).toMatchObject({ errorCount: 1, cooldownUntil: null });
    expect((await pool.acquire()).account.id).toBe('a');
    await pool.close();
  });
});
