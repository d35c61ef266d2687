// The repository side of the pool on all three databases: the new columns (proxy sealed at rest,
// quota readings as doubles), the change feed views follow, and the cheap version listing syncs use.
import { afterAll, describe, expect, test } from 'bun:test';
import { type Dialect, openStore } from '../../src/store';
import type { AccountChange } from '../../src/store/accounts';
import { createHarness, missingServer } from '../store/harness';

const KEY = new Uint8Array(32).fill(0x5c);

for (const dialect of ['sqlite', 'postgres', 'mysql'] as Dialect[]) {
  const missing = missingServer(dialect);
  describe(`pool columns on ${dialect}`, () => {
    // Never skipped: without TEST_PG_URL / TEST_MYSQL_URL the first test fails with missingServer's message.
    test('its database server is configured', () => expect(missing).toBeNull());
    const harness = createHarness(dialect);
    afterAll(() => harness.cleanup());

    test('proxy sealed, quota fields round-trip, every write announced, versions and getMany', async () => {
      const db = await harness.fresh();
      const store = await openStore({ databaseUrl: db.url, dataDir: db.dataDir, masterKey: KEY });
      try {
        const changes: AccountChange[] = [];
        store.accounts.watch((c) => changes.push(c));
        const proxy = 'http://bob:pa55@10.0.0.1:3128';
        const a = await store.accounts.create({ refreshToken: 'rt-1', authMethod: 'social', proxy });
        expect(a.proxy).toBe(proxy);
        const [raw] = await db.query('select proxy from accounts where id = ?'.replace('?', dialect === 'postgres' ? '$1' : '?'), [a.id]);
        expect(String(raw!.proxy)).toStartWith('v1:');
        expect(String(raw!.proxy)).not.toContain('pa55');

        const reset = new Date(Date.UTC(2030, 5, 1));
        const checked = new Date(Date.UTC(2030, 4, 15, 12, 0, 0, 123));
        const u = await store.accounts.update(a.id, { quotaRemaining: 12.3456, quotaLimit: 50, quotaResetAt: reset, quotaCheckedAt: checked, proxy: null });
        expect(u).toMatchObject({ quotaRemaining: 12.3456, quotaLimit: 50, quotaResetAt: reset, quotaCheckedAt: checked, proxy: null });
        await store.accounts.recordSuccess(a.id);
        await store.accounts.recordFailure(a.id, 'boom', 100);
        const b = await store.accounts.create({ refreshToken: 'rt-2', authMethod: 'social' });
        await store.accounts.delete(b.id);
        expect(changes.map((c) => c.type)).toEqual(['upsert', 'upsert', 'success', 'upsert', 'upsert', 'delete']);

        const versions = await store.accounts.listVersions();
        const current = (await store.accounts.get(a.id))!;
        expect(versions).toEqual([{ id: a.id, updatedAt: current.updatedAt }]);
        expect((await store.accounts.getMany([a.id, 'missing'])).map((x) => x.id)).toEqual([a.id]);
        expect(await store.accounts.getMany([])).toEqual([]);
      } finally {
        await store.close();
      }
    });
  });
}
