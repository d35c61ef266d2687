// Device login across two gateway instances on one PostgreSQL database and on one MariaDB database:
// start on one, claim on the other; concurrent claims on both create exactly one account.
import { describe, expect, test } from 'bun:test';
import type { Dialect } from '../../src/store';
import { twoReplicas } from '../support/replicas';

for (const dialect of ['postgres', 'mysql'] as const satisfies readonly Dialect[]) {
  describe(`device login on two instances sharing one ${dialect} database`, () => {
    const r = twoReplicas(dialect, { device_auto_approve_after_polls: null, device_poll_interval_s: 0.02 });

    test('started on one instance, claimed on the other; the registration is shared', async () => {
      const s = (await r.a.admin('POST', '/v2/auth/start', { label: `on ${dialect}` })).json;
      r.fake.approveDevice(s.userCode);
      const claim = await r.b.admin('POST', `/v2/auth/claim/${s.authId}`);
      expect(claim.status).toBe(200);
      expect((await r.a.admin('GET', `/v2/accounts/${claim.json.accountId}`)).json).toMatchObject({ label: `on ${dialect}`, auth_method: 'idc' });
      await r.b.admin('POST', '/v2/auth/start', {});
      expect(r.fake.stats().routes['POST /client/register']).toBe(1);
    });

    test('two concurrent claims on two instances create one account', async () => {
      const before = (await r.a.admin('GET', '/v2/accounts')).json.total;
      const s = (await r.b.admin('POST', '/v2/auth/start', {})).json;
      const claims = Promise.all([r.a.admin('POST', `/v2/auth/claim/${s.authId}`), r.b.admin('POST', `/v2/auth/claim/${s.authId}`)]);
      await Bun.sleep(60);
      r.fake.approveDevice(s.userCode);
      const [x, y] = await claims;
      expect([x.status, y.status]).toEqual([200, 200]);
      expect(x.json.accountId).toBe(y.json.accountId);
      expect((await r.a.admin('GET', '/v2/accounts')).json.total).toBe(before + 1);
      const rows = await r.db.query('select status, account_id from login_sessions where id = ?', [s.authId]);
      expect(rows).toEqual([{ status: 'completed', account_id: x.json.accountId }]);
    });
  });
}
