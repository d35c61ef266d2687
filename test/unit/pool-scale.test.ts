// 10,000 accounts: selection runs on the in-memory view. Asserted by counting repository calls
// (zero per acquire after the one initial load), not by timing; plus the heap under random churn.
import { describe, expect, test } from 'bun:test';
import { ACCOUNT_STRATEGIES } from '../../src/config';
import { createIndexedHeap } from '../../src/pool/heap';
import { UpstreamError } from '../../src/upstream/errors';
import { makeAccount, poolRig, scriptedRandom, T0 } from './pool-fakes';

const N = 10_000;
const ACQUIRES = 2_000;

function manyAccounts() {
  return Array.from({ length: N }, (_, i) =>
    makeAccount(`acc-${String(i).padStart(5, '0')}`, { createdAt: new Date(T0 - N + i), priority: i % 7, authMethod: i % 2 ? 'social' : 'api_key' }),
  );
}

describe(`selection over ${N} accounts`, () => {
  for (const strategy of ACCOUNT_STRATEGIES) {
    test(`${strategy}: one load, then zero repository calls per acquire (sticky keys and caps included)`, async () => {
      const random = scriptedRandom(Array.from({ length: 97 }, (_, i) => i / 97));
      const { pool, repo } = poolRig(manyAccounts(), { ACCOUNT_STRATEGY: strategy, STICKY_SESSIONS: 'true', ACCOUNT_MAX_CONCURRENCY: '3' }, random);
      (await pool.acquire()).release(); // the first acquire loads the view
      expect(repo.calls).toEqual({ list: 1 });
      const before = repo.totalCalls();
      const held = [];
      const seen = new Set<string>();
      for (let i = 0; i < ACQUIRES; i++) {
        const lease = await pool.acquire({ stickyKey: `conv-${i % 50}`, exclude: new Set([`acc-0000${i % 10}`]) });
        seen.add(lease.account.id);
        // keep some in flight so the cap and the least-used levels are exercised
        if (i % 3 === 0) held.push(lease);
        else lease.release();
      }
      for (const l of held) l.release();
      expect(repo.totalCalls() - before).toBe(0);
      expect((await pool.stats()).totals).toMatchObject({ accounts: N, in_flight: 0 });
      // the cap pushed conversations over to other accounts (held leases fill their first choice)
      expect(seen.size).toBeGreaterThan(50);
      await pool.close();
    });
  }

  test('with all but a handful cooling down, a pick still costs no scan and no query', async () => {
    const { pool, repo } = poolRig(manyAccounts(), { ACCOUNT_STRATEGY: 'random' }, scriptedRandom([0.123, 0.456, 0.789]));
    (await pool.acquire()).release();
    // cool down 9,995 accounts through report(): memory first, then one write each
    const throttled = new UpstreamError('throttled', 'upstream 429', { status: 429, retryAfterMs: 60_000 });
    for (const a of [...repo.rows.values()].slice(5)) {
      await pool.report({ account: a, accessToken: 'x', release() {} }, { ok: false, error: throttled });
    }
    const before = repo.totalCalls();
    const ids = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const lease = await pool.acquire();
      ids.add(lease.account.id);
      lease.release();
    }
    for (const id of ids) expect(id < 'acc-00005').toBe(true);
    expect(repo.totalCalls() - before).toBe(0);
    expect((await pool.stats()).totals).toMatchObject({ cooling_down: N - 5, healthy: 5 });
    await pool.close();
  });
});

test('a sync lists (id, updated_at) and re-reads only the rows changed or added elsewhere; deleted rows leave', async () => {
  const { pool, repo, clock } = poolRig(manyAccounts(), { ACCOUNT_STRATEGY: 'priority' });
  (await pool.acquire()).release();
  // another replica's writes: straight into the rows, no event reaches this pool
  const changed = { ...repo.rows.get('acc-09999')!, priority: 99, updatedAt: new Date(clock.now() + 1) };
  repo.rows.set(changed.id, changed);
  repo.rows.set('acc-new', makeAccount('acc-new', { priority: -1, updatedAt: new Date(clock.now()) }));
  repo.rows.delete('acc-00000');
  const seen: string[][] = [];
  const getMany = repo.getMany;
  repo.getMany = (ids) => (seen.push([...ids]), getMany(ids));
  await pool.syncView();
  expect(seen.map((ids) => ids.sort())).toEqual([['acc-09999', 'acc-new']]);
  const lease = await pool.acquire();
  expect(lease.account.id).toBe('acc-09999'); // its new priority counts at once
  lease.release();
  expect((await pool.stats()).totals.accounts).toBe(N);
  await pool.syncView(); // nothing changed since: nothing re-read
  expect(seen.length).toBe(1);
  await pool.close();
});

test('indexed heap: random pushes, removals and pops come out in order', () => {
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const heap = createIndexedHeap<{ k: string; v: number }>((a, b) => a.v < b.v, (x) => x.k);
  const ref = new Map<string, number>();
  for (let i = 0; i < 5_000; i++) {
    const k = `k${Math.floor(rnd() * 500)}`;
    const op = rnd();
    if (op < 0.6) {
      const v = Math.floor(rnd() * 1000);
      heap.push({ k, v });
      ref.set(k, v);
    } else if (op < 0.85) {
      expect(heap.remove(k)).toBe(ref.delete(k));
    } else {
      const top = heap.pop();
      if (ref.size === 0) expect(top).toBeUndefined();
      else {
        expect(top!.v).toBe(Math.min(...ref.values()));
        ref.delete(top!.k);
      }
    }
    expect(heap.size).toBe(ref.size);
  }
});
