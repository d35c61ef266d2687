// Device login across two gateway instances on one PostgreSQL database and on one MariaDB database:
// start on one, claim on the other; concurrent claims on both create exactly one account.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { Dialect } from '../../src/store';
import { type FakeUpstream, startFakeUpstream } from '../fake-upstream/server';
import { createHarness, missingServer, type TestDatabase } from '../store/harness';
import { type Gateway, startGateway } from '../support/gateway';

for (const dialect of ['postgres', 'mysql'] as const satisfies readonly Dialect[]) {
  describe(`device login on two instances sharing one ${dialect} database`, () => {
    const harness = createHarness(dialect);
    let db: TestDatabase;
    let fake: FakeUpstream;
    let a: Gateway;
    let b: Gateway;

    beforeAll(async () => {
      const missing = missingServer(dialect);
      if (missing) throw new Error(missing);
      db = await harness.fresh();
      fake = await startFakeUpstream({ device_auto_approve_after_polls: null, device_poll_interval_s: 0.02 });
      a = await startGateway({ databaseUrl: db.url, upstreamUrl: fake.url });
      b = await startGateway({ databaseUrl: db.url, upstreamUrl: fake.url });
    });
    afterAll(async () => {
      await a?.stop();
      await b?.stop();
      await fake?.stop();
      await harness.cleanup();
    });

    test('started on one instance, claimed on the other; the registration is shared', async () => {
      const s = (await a.admin('POST', '/v2/auth/start', { label: `on ${dialect}` })).json;
      fake.approveDevice(s.userCode);
      const claim = await b.admin('POST', `/v2/auth/claim/${s.authId}`);
      expect(claim.status).toBe(200);
      expect((await a.admin('GET', `/v2/accounts/${claim.json.accountId}`)).json).toMatchObject({ label: `on ${dialect}`, auth_method: 'idc' });
      await b.admin('POST', '/v2/auth/start', {});
      expect(fake.stats().routes['POST /client/register']).toBe(1);
    });

    test('two concurrent claims on two instances create one account', async () => {
      const before = (await a.admin('GET', '/v2/accounts')).json.total;
      const s = (await b.admin('POST', '/v2/auth/start', {})).json;
      const claims = Promise.all([a.admin('POST', `/v2/auth/claim/${s.authId}`), b.admin('POST', `/v2/auth/claim/${s.authId}`)]);
      await Bun.sleep(60);
      fake.approveDevice(s.userCode);
      const [x, y] = await claims;
      expect([x.status, y.status]).toEqual([200, 200]);
      expect(x.json.accountId).toBe(y.json.accountId);
      expect((await a.admin('GET', '/v2/accounts')).json.total).toBe(before + 1);
      const rows = await db.query('select status, account_id from login_sessions where id = ?', [s.authId]);
      expect(rows).toEqual([{ status: 'completed', account_id: x.json.accountId }]);
    });
  });
}
