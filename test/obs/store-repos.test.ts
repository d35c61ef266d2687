// The usage and request-log repositories on SQLite, PostgreSQL and MariaDB: atomic upsert-increments
// (concurrent adders all count), grouped reads, accounts by state, idempotent log inserts, pruning.
import { afterAll, describe, expect, test } from 'bun:test';
import { type Dialect, openStore, type RequestLogRow, type Store, type UsageIncrement } from '../../src/store';
import { createHarness, missingServer } from '../store/harness';

const KEY = new Uint8Array(32).fill(0x5c);

const inc = (over: Partial<UsageIncrement>): UsageIncrement => ({
  day: '2026-11-28',
  accountId: 'acc-1',
  clientKey: 'key#00000000',
  requests: 1,
  errors: 0,
  inputTokens: 10,
  outputTokens: 5,
  credits: 0.25,
  ...over,
});

const logRow = (id: string, time: Date): RequestLogRow => ({
  id,
  time,
  route: '/v1/messages',
  dialect: 'anthropic',
  modelRequested: 'm'.repeat(500),
  modelUsed: 'claude-sonnet-4.5',
  accountId: 'acc-1',
  clientKey: 'key#00000000',
  status: 200,
  stopReason: 'end_turn',
  inputTokens: 12,
  outputTokens: 34,
  ttfbMs: 5.6,
  totalMs: 78,
  attempts: 1,
  detail: JSON.stringify({ attempts: [] }),
});

for (const dialect of ['sqlite', 'postgres', 'mysql'] as Dialect[]) {
  const missing = missingServer(dialect);
  describe(`usage and request log on ${dialect}`, () => {
    // Never skipped: without TEST_PG_URL / TEST_MYSQL_URL the first test fails with missingServer's message.
    test('its database server is configured', () => expect(missing).toBeNull());
    const harness = createHarness(dialect);
    const stores: Store[] = [];
    const fresh = async () => {
      const db = await harness.fresh();
      const s = await openStore({ databaseUrl: db.url, dataDir: db.dataDir, masterKey: KEY });
      stores.push(s);
      return { db, s };
    };
    afterAll(async () => {
      for (const s of stores) await s.close();
      await harness.cleanup();
    });

    test('concurrent increments of one cell all count; rows group as asked', async () => {
      const { s } = await fresh();
      // Two "replicas": a second store on the same database adds to the same cells at the same time.
      await Promise.all(Array.from({ length: 20 }, () => s.usage.add([inc({}), inc({ accountId: 'acc-2', errors: 1 })])));
      await s.usage.add([inc({ day: '2026-11-29', clientKey: '' }), inc({ day: '2026-12-01' })]);
      const all = await s.usage.query({ from: '2026-11-28', to: '2026-11-30' });
      expect(all).toHaveLength(3);
      const cell = all.find((r) => r.day === '2026-11-28' && r.account_id === 'acc-1')!;
      expect(cell).toEqual({ day: '2026-11-28', account_id: 'acc-1', client_key: 'key#00000000', requests: 20, errors: 0, input_tokens: 200, output_tokens: 100, credits: 5 });
      const byDay = await s.usage.query({ from: '2026-11-01', to: '2026-12-31', group: 'day' });
      expect(byDay.map((r) => [r.day, r.account_id, r.requests])).toEqual([
        ['2026-11-28', null, 40],
        ['2026-11-29', null, 1],
        ['2026-12-01', null, 1],
      ]);
      const byAccount = await s.usage.query({ from: '2026-11-01', to: '2026-12-31', group: 'account' });
      expect(byAccount.map((r) => [r.account_id, r.requests, r.errors])).toEqual([
        ['acc-1', 22, 0],
        ['acc-2', 20, 20],
      ]);
      const byKey = await s.usage.query({ from: '2026-11-01', to: '2026-12-31', group: 'client_key' });
      expect(byKey.map((r) => [r.client_key, r.requests])).toEqual([
        ['', 1],
        ['key#00000000', 41],
      ]);
    });

    test('two stores on one database add to the same cell atomically', async () => {
      const { db, s } = await fresh();
      const other = await openStore({ databaseUrl: db.url, dataDir: db.dataDir, masterKey: KEY });
      stores.push(other);
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? s : other).usage.add([inc({ requests: 2 })])));
      const [row] = await s.usage.query({ from: '2026-11-28', to: '2026-11-28' });
      expect(row!.requests).toBe(20);
    });

    test('accounts by state', async () => {
      const { s } = await fresh();
      await s.accounts.create({ refreshToken: 'rt-a', authMethod: 'social' });
      const b = await s.accounts.create({ refreshToken: 'rt-b', authMethod: 'social' });
      const c = await s.accounts.create({ refreshToken: 'rt-c', authMethod: 'social' });
      await s.accounts.update(b.id, { enabled: false });
      await s.accounts.update(c.id, { cooldownUntil: new Date(Date.now() + 60_000) });
      const states = await s.usage.accountStates(new Date());
      const find = (enabled: boolean, cooling: boolean) => states.find((x) => x.enabled === enabled && x.coolingDown === cooling);
      expect(find(true, false)?.count).toBe(1);
      expect(find(true, true)?.count).toBe(1);
      expect(find(false, false)).toMatchObject({ count: 1, disabledReason: 'manual' });
    });

    test('request log: batch insert, retried ids skipped, newest first, pruning', async () => {
      const { s } = await fresh();
      const t0 = new Date('2026-11-20T10:00:00.123Z');
      const rows = Array.from({ length: 150 }, (_, i) => logRow(`req-${String(i).padStart(3, '0')}`, new Date(t0.getTime() + i * 1000)));
      await s.requestLog.insert(rows);
      await s.requestLog.insert(rows.slice(0, 10)); // a retried batch
      const listed = await s.requestLog.list({ limit: 1000 });
      expect(listed).toHaveLength(150);
      expect(listed[0]!.id).toBe('req-149');
      expect(listed[0]!.time.getTime()).toBe(t0.getTime() + 149_000);
      expect(listed[0]!.modelRequested!.length).toBe(200);
      expect(listed[0]!.ttfbMs).toBe(6);
      expect(await s.requestLog.prune(new Date(t0.getTime() + 100_000))).toBe(100);
      expect(await s.requestLog.list()).toHaveLength(50);
    });
  });
}
