// The admin accounts API end to end, run once per database dialect by the *.test.ts files beside it.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createHarness, missingServer, type TestDatabase } from '../store/harness';
import { startGateway, type Gateway } from '../support/gateway';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import type { Dialect } from '../../src/store';

export function adminAccountsSuite(dialect: Dialect) {
  describe(`admin accounts API on ${dialect}`, () => {
    const harness = createHarness(dialect);
    let db: TestDatabase;
    let gw: Gateway;
    let fake: FakeUpstream;

    beforeAll(async () => {
      const missing = missingServer(dialect);
      if (missing) throw new Error(missing);
      db = await harness.fresh();
      fake = await startFakeUpstream({ refresh_rotates: true });
      gw = await startGateway({ databaseUrl: db.url, upstreamUrl: fake.url });
    });
    afterAll(async () => {
      await gw?.stop();
      await fake?.stop();
      await harness.cleanup();
    });

    test('every admin route without a key or with a wrong key answers 401', async () => {
      const routes: Array<[string, string]> = [
        ['POST', '/v2/accounts'], ['POST', '/v2/accounts/batch'], ['POST', '/v2/accounts/import'], ['GET', '/v2/accounts'],
        ['GET', '/v2/accounts/x'], ['PATCH', '/v2/accounts/x'], ['DELETE', '/v2/accounts/x'], ['POST', '/v2/accounts/x/refresh'],
      ];
      for (const [method, path] of routes) {
        for (const headers of [{}, { authorization: 'Bearer wrong-key-but-long' }, { 'x-api-key': gw.ctx.adminKey }] as Record<string, string>[]) {
          const res = await fetch(gw.url + path, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
          expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
          expect((await res.json()).error.kind).toBe('authentication');
        }
      }
    });

    test('create, read, list with filters and paging; secrets masked everywhere', async () => {
      const secret = 'aorSECRET-refresh-token-value-1234';
      const created = await gw.admin('POST', '/v2/accounts', { label: 'one', clientId: 'cid-1', clientSecret: 'csecret-value-9876', refreshToken: secret });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ label: 'one', auth_method: 'idc', enabled: true, refreshToken: 'aor…1234', clientSecret: 'cse…9876' });
      const id = created.json.id;
      const one = await gw.admin('GET', `/v2/accounts/${id}`);
      expect(JSON.stringify(one.json)).not.toContain(secret);
      await gw.admin('POST', '/v2/accounts', { label: 'two', refreshToken: 'second-refresh-token-xyz', enabled: false });
      const all = await gw.admin('GET', '/v2/accounts');
      expect(all.json.total).toBe(2);
      expect(JSON.stringify(all.json)).not.toContain(secret);
      const enabled = await gw.admin('GET', '/v2/accounts?enabled=true');
      expect(enabled.json.accounts.map((a: any) => a.label)).toEqual(['one']);
      const page = await gw.admin('GET', '/v2/accounts?limit=1&offset=1');
      expect(page.json).toMatchObject({ count: 1, total: 2, limit: 1, offset: 1 });
      expect(page.json.accounts[0].label).toBe('two');
      // the raw row holds no plaintext either
      const rows = await db.query('SELECT * FROM accounts');
      expect(JSON.stringify(rows)).not.toContain(secret);
      expect(JSON.stringify(rows)).not.toContain('csecret-value-9876');
    });

    test('validation errors name the field; a duplicate refresh token is a 409, not a second row', async () => {
      const missing = await gw.admin('POST', '/v2/accounts', { clientId: 'c', refreshToken: 'r-abc', authMethod: 'idc' });
      expect(missing.status).toBe(400);
      expect(missing.json.error.field).toBe('clientSecret');
      const wrongType = await gw.admin('POST', '/v2/accounts', { refreshToken: 42 });
      expect(wrongType.status).toBe(400);
      expect(wrongType.json.error.field).toBe('refreshToken');
      const dup = await gw.admin('POST', '/v2/accounts', { refreshToken: 'aorSECRET-refresh-token-value-1234' });
      expect(dup.status).toBe(409);
      expect((await gw.admin('GET', '/v2/accounts')).json.total).toBe(2);
      const broken = await fetch(gw.url + '/v2/accounts', { method: 'POST', headers: gw.adminHeaders, body: '{"oops' });
      expect(broken.status).toBe(400);
    });

    test('batch and import report good, bad and duplicate entries', async () => {
      const batch = await gw.admin('POST', '/v2/accounts/batch', {
        accounts: [
          { refreshToken: 'batch-rt-1' },
          { refreshToken: 'batch-rt-1' },
          { clientId: 'only-id', authMethod: 'idc' },
          { refreshToken: 'batch-rt-2', label: 'b2' },
        ],
      });
      expect(batch.status).toBe(200);
      expect(batch.json).toMatchObject({ created: 2, duplicates: 1, invalid: 1 });
      expect(batch.json.results.map((r: any) => r.status)).toEqual(['created', 'duplicate', 'invalid', 'created']);
      expect(batch.json.results[2].field).toBe('clientSecret');

      const imported = await gw.admin('POST', '/v2/accounts/import', {
        files: [
          { name: 'kiro-auth-token.json', content: JSON.stringify({ refreshToken: 'idc-import-rt', accessToken: 'idc-import-at', authMethod: 'IdC', provider: 'BuilderId', clientIdHash: 'h1', expiresAt: '2030-01-01T00:00:00Z' }) },
          { name: 'h1.json', content: JSON.stringify({ clientId: 'imp-cid', clientSecret: 'imp-secret', expiresAt: '2030-01-01T00:00:00Z' }) },
          { name: 'social.json', content: JSON.stringify([{ refreshToken: 'social-import-rt', authMethod: 'social' }, { refreshToken: 'batch-rt-2' }]) },
          { name: 'junk.json', content: '{' },
        ],
      });
      expect(imported.json).toMatchObject({ created: 2, duplicates: 1, invalid: 1 });
      const idc = imported.json.results.find((r: any) => r.source === 'kiro-auth-token.json');
      expect(idc.account).toMatchObject({ auth_method: 'idc', clientId: 'imp-cid', expires_at: '2030-01-01T00:00:00.000Z' });
    });

    test('patch, re-enable resets errors, delete, 404s', async () => {
      const { json: a } = await gw.admin('POST', '/v2/accounts', { refreshToken: 'patch-me-rt', label: 'p' });
      await gw.ctx.store.accounts.recordFailure(a.id, 'boom', 2);
      await gw.ctx.store.accounts.recordFailure(a.id, 'boom', 2);
      const dead = await gw.admin('GET', `/v2/accounts/${a.id}`);
      expect(dead.json).toMatchObject({ enabled: false, disabled_reason: 'too_many_errors', error_count: 2 });
      const revived = await gw.admin('PATCH', `/v2/accounts/${a.id}`, { enabled: true, label: 'renamed', priority: 5 });
      expect(revived.json).toMatchObject({ enabled: true, error_count: 0, disabled_reason: null, label: 'renamed', priority: 5 });
      const off = await gw.admin('PATCH', `/v2/accounts/${a.id}`, { enabled: false });
      expect(off.json.disabled_reason).toBe('manual');
      expect((await gw.admin('PATCH', '/v2/accounts/nope', { label: 'x' })).status).toBe(404);
      expect((await gw.admin('DELETE', `/v2/accounts/${a.id}`)).json).toEqual({ deleted: a.id });
      expect((await gw.admin('GET', `/v2/accounts/${a.id}`)).status).toBe(404);
      expect((await gw.admin('DELETE', `/v2/accounts/${a.id}`)).status).toBe(404);
    });

    test('refresh through OIDC persists the rotated refresh token; invalid_grant disables the account', async () => {
      fake.seedToken({ refreshToken: 'oidc-live-rt', clientId: 'oidc-client', clientSecret: 'oidc-secret', authMethod: 'idc' });
      const { json: a } = await gw.admin('POST', '/v2/accounts', { clientId: 'oidc-client', clientSecret: 'oidc-secret', refreshToken: 'oidc-live-rt' });
      const refreshed = await gw.admin('POST', `/v2/accounts/${a.id}/refresh`);
      expect(refreshed.status).toBe(200);
      expect(refreshed.json).toMatchObject({ last_refresh_status: 'success', status: 'healthy' });
      const stored = await gw.ctx.store.accounts.get(a.id);
      expect(stored!.refreshToken).not.toBe('oidc-live-rt'); // rotated and persisted
      expect(stored!.accessToken).toBeTruthy();

      const { json: bad } = await gw.admin('POST', '/v2/accounts', { refreshToken: 'fake-rt-invalid', label: 'dead' });
      const failed = await gw.admin('POST', `/v2/accounts/${bad.id}/refresh`);
      expect(failed.status).toBe(502);
      expect(failed.json.detail).toContain('needs login');
      const after = await gw.admin('GET', `/v2/accounts/${bad.id}`);
      expect(after.json).toMatchObject({ enabled: false, disabled_reason: 'invalid_grant', status: 'needs_login', last_refresh_status: 'failed' });
    });
  });
}
