// Token lifecycle end to end on a real gateway (SQLite) against the fake auth server: one refresh for
// 100 concurrent callers, rotation persisted, invalid_grant, transient failures, the sweep, Kiro social.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOidcClient } from '../../src/upstream/oidc';
import { AuthError } from '../../src/upstream/errors';
import { FAKE_PROFILE_ARN, type FakeUpstream, startFakeUpstream } from '../fake-upstream/server';
import { type Gateway, startGateway } from '../support/gateway';

const CLIENT = { clientId: 'cid-e2e', clientSecret: 'csec-e2e' };
const MIN = 60_000;
let fake: FakeUpstream;
let dir: string;
let gw: Gateway;

beforeAll(async () => {
  fake = await startFakeUpstream({});
  dir = mkdtempSync(join(tmpdir(), 'q2api-lc-e2e-'));
  gw = await startGateway({ databaseUrl: `sqlite:${join(dir, 'db.sqlite3')}`, upstreamUrl: fake.url });
});
afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  fake.reset();
  // each test starts from an empty pool
  for (const acc of (await gw.admin('GET', '/v2/accounts?limit=500')).json.accounts) await gw.admin('DELETE', `/v2/accounts/${acc.id}`);
});

/** An account the fake knows, added through the admin API, its token expiring `expiresInMs` from now. */
async function addAccount(expiresInMs: number, opts: { social?: boolean; refreshToken?: string; gateway?: Gateway } = {}): Promise<string> {
  const refreshToken = opts.refreshToken ?? `rt-${randomUUID()}`;
  const accessToken = `at-${randomUUID()}`;
  const seed = opts.social ? { authMethod: 'social' as const } : { ...CLIENT, authMethod: 'idc' as const };
  fake.seedToken({ refreshToken, accessToken, ...seed, expiresIn: Math.max(0, expiresInMs / 1000) });
  const res = await (opts.gateway ?? gw).admin('POST', '/v2/accounts', {
    ...(opts.social ? { authMethod: 'social' } : { ...CLIENT, authMethod: 'idc' }),
    refreshToken,
    accessToken,
    expiresAt: new Date(Date.now() + expiresInMs).toISOString(),
  });
  expect(res.status).toBe(201);
  return res.json.id;
}

const stored = async (id: string) => (await gw.ctx.store.accounts.get(id))!;

describe('token lifecycle', () => {
  test('100 concurrent acquire() on an expired token: exactly one refresh call', async () => {
    fake.configure({ auth_delay_ms: 50 });
    const id = await addAccount(-MIN);
    const leases = await Promise.all(Array.from({ length: 100 }, () => gw.ctx.pool.acquire()));
    expect(new Set(leases.map((l) => l.accessToken)).size).toBe(1);
    expect(leases[0]!.accessToken).toBe((await stored(id)).accessToken!);
    expect(fake.stats().refresh).toMatchObject({ oidc: 1, peak: 1 });
  });

  test('20 concurrent admin refreshes of one account: one refresh call', async () => {
    fake.configure({ auth_delay_ms: 200 }); // all 20 arrive while the first is in flight
    const id = await addAccount(30 * MIN);
    const all = await Promise.all(Array.from({ length: 20 }, () => gw.admin('POST', `/v2/accounts/${id}/refresh`)));
    expect(all.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(fake.stats().refresh.oidc).toBe(1);
  });

  test('a rotated refresh token is persisted: the old one is dead, another instance refreshes with the new one', async () => {
    const id = await addAccount(-MIN);
    const old = (await stored(id)).refreshToken!;
    expect((await gw.admin('POST', `/v2/accounts/${id}/refresh`)).status).toBe(200);
    const fresh = await stored(id);
    expect(fresh.refreshToken).not.toBe(old);
    const oidc = createOidcClient({ endpoint: fake.url });
    const rejected = await oidc.createToken({ grantType: 'refresh_token', ...CLIENT, refreshToken: old }).catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(AuthError);
    expect((rejected as AuthError).error).toBe('invalid_grant');
    // a second instance on the same database (a restart, another replica) reads the rotated token
    const other = await startGateway({ databaseUrl: `sqlite:${join(dir, 'db.sqlite3')}`, upstreamUrl: fake.url });
    try {
      const r = await other.admin('POST', `/v2/accounts/${id}/refresh`);
      expect(r.status).toBe(200);
      expect(r.json.status).toBe('healthy');
    } finally {
      await other.stop();
    }
    expect(fake.stats().refresh.oidc).toBe(3); // two by the gateways, one rejected probe with the old token
  });

  test('invalid_grant disables the account as "needs login", with no retry loop', async () => {
    const other = await addAccount(10 * MIN); // registers the client with the fake
    await gw.admin('PATCH', `/v2/accounts/${other}`, { enabled: false });
    const res = await gw.admin('POST', '/v2/accounts', {
      ...CLIENT,
      refreshToken: 'fake-rt-invalid',
      accessToken: 'at-dead',
      expiresAt: new Date(Date.now() - MIN).toISOString(),
    });
    const id = res.json.id;
    const refresh = await gw.admin('POST', `/v2/accounts/${id}/refresh`);
    expect(refresh.status).toBe(502);
    expect(refresh.json.detail).toContain('needs login');
    expect((await gw.admin('GET', `/v2/accounts/${id}`)).json).toMatchObject({
      enabled: false,
      disabled_reason: 'invalid_grant',
      status: 'needs_login',
      last_refresh_status: 'failed',
    });
    for (let i = 0; i < 10; i++) await expect(gw.ctx.pool.acquire()).rejects.toMatchObject({ status: 503 });
    await gw.ctx.pool.lifecycle.sweep();
    expect(fake.stats().refresh.oidc).toBe(1);
  });

  test('a transient refresh failure records "failed" and leaves the account enabled', async () => {
    const id = await addAccount(-MIN);
    fake.enqueue({ target: 'auth', scenario: 'server_error', match: { path: '/token' }, times: 1 });
    expect((await gw.admin('POST', `/v2/accounts/${id}/refresh`)).status).toBe(502);
    expect((await gw.admin('GET', `/v2/accounts/${id}`)).json).toMatchObject({ enabled: true, last_refresh_status: 'failed' });
    // the sweep leaves it alone while it backs off
    expect(await gw.ctx.pool.lifecycle.sweep()).toEqual({ due: 0, refreshed: 0, failed: 0 });
    // an operator's refresh is not held back
    expect((await gw.admin('POST', `/v2/accounts/${id}/refresh`)).json).toMatchObject({ last_refresh_status: 'success', status: 'healthy' });
  });

  test('the sweep refreshes an account 4 minutes before expiry and not one 10 minutes before', async () => {
    const soon = await addAccount(4 * MIN);
    const later = await addAccount(10 * MIN);
    const [soonBefore, laterBefore] = [(await stored(soon)).accessToken, (await stored(later)).accessToken];
    expect(await gw.ctx.pool.lifecycle.sweep()).toEqual({ due: 1, refreshed: 1, failed: 0 });
    expect((await stored(soon)).accessToken).not.toBe(soonBefore);
    expect((await stored(soon)).expiresAt!.getTime()).toBeGreaterThan(Date.now() + 59 * MIN);
    expect((await stored(later)).accessToken).toBe(laterBefore);
    expect(fake.stats().refresh.oidc).toBe(1);
  });

  test('Kiro social accounts refresh through the Kiro auth service and keep its profile ARN', async () => {
    const id = await addAccount(-MIN, { social: true });
    const r = await gw.admin('POST', `/v2/accounts/${id}/refresh`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ auth_method: 'social', profile_arn: FAKE_PROFILE_ARN, status: 'healthy' });
    expect(fake.stats().refresh).toMatchObject({ kiro: 1, oidc: 0 });
  });
});
