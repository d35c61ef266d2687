// Two gateway instances on one PostgreSQL database, and on one MariaDB database, racing to refresh the
// same account: the fake must see exactly one refresh and both instances must end with the new token.
import { beforeEach, describe, expect, test } from 'bun:test';
import { randomUUID } from 'node:crypto';
import type { Dialect } from '../../src/store';
import { twoReplicas } from '../support/replicas';

const CLIENT = { clientId: 'cid-replicas', clientSecret: 'csec-replicas' };
const MIN = 60_000;
/** Each instance sends this many callers at once, so both single-flight and the lease are exercised. */
const CALLERS_PER_INSTANCE = 20;

for (const dialect of ['postgres', 'mysql'] as const satisfies readonly Dialect[]) {
  describe(`two instances on one ${dialect} database`, () => {
    // a slow auth service widens the race window: the second instance arrives mid-refresh
    const r = twoReplicas(dialect, { auth_delay_ms: 150 });
    beforeEach(async () => {
      r.fake.reset();
      await r.db.query('delete from accounts');
    });

    async function addAccount(expiresInMs: number): Promise<string> {
      const refreshToken = `rt-${randomUUID()}`;
      const accessToken = `at-${randomUUID()}`;
      r.fake.seedToken({ refreshToken, accessToken, ...CLIENT, authMethod: 'idc', expiresIn: Math.max(0, expiresInMs / 1000) });
      const res = await r.a.admin('POST', '/v2/accounts', { ...CLIENT, refreshToken, accessToken, expiresAt: new Date(Date.now() + expiresInMs).toISOString() });
      expect(res.status).toBe(201);
      return res.json.id;
    }

    const leaseColumns = async (id: string) =>
      (await r.db.query('select refresh_lease_owner as owner, refresh_lease_until as until from accounts where id = ?', [id]))[0];

    test('racing acquire() on an expired token: one refresh, the same new token on both', async () => {
      const id = await addAccount(-MIN);
      const callers = [r.a, r.b].flatMap((gw) => Array.from({ length: CALLERS_PER_INSTANCE }, () => gw.ctx.pool.acquire()));
      const leases = await Promise.all(callers);
      const tokens = new Set(leases.map((l) => l.accessToken));
      expect(tokens.size).toBe(1);
      const [token] = tokens;
      expect(r.fake.stats().refresh.oidc).toBe(1);
      expect((await r.a.ctx.store.accounts.get(id))!.accessToken).toBe(token!);
      expect((await r.b.ctx.store.accounts.get(id))!.accessToken).toBe(token!);
      expect(await leaseColumns(id)).toEqual({ owner: null, until: null });
    });

    test('racing sweeps: one refresh', async () => {
      const id = await addAccount(2 * MIN);
      const before = (await r.a.ctx.store.accounts.get(id))!.accessToken;
      const [ra, rb] = await Promise.all([r.a.ctx.pool.lifecycle.sweep(), r.b.ctx.pool.lifecycle.sweep()]);
      expect(ra.refreshed + rb.refreshed).toBe(1);
      expect(r.fake.stats().refresh.oidc).toBe(1);
      expect((await r.b.ctx.store.accounts.get(id))!.accessToken).not.toBe(before);
    });

    test('racing admin refreshes: one refresh, both answer with the new token', async () => {
      const id = await addAccount(30 * MIN);
      const [ra, rb] = await Promise.all([r.a.admin('POST', `/v2/accounts/${id}/refresh`), r.b.admin('POST', `/v2/accounts/${id}/refresh`)]);
      expect([ra.status, rb.status]).toEqual([200, 200]);
      expect(ra.json.accessToken).toBe(rb.json.accessToken); // masked, but the same token masks the same
      expect(ra.json.updated_at).toBe(rb.json.updated_at);
      expect(r.fake.stats().refresh.oidc).toBe(1);
    });
  });
}
