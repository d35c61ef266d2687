// Device-code login end to end: /v2/auth/start, /status, /claim on real gateways against the fake
// OIDC server (20 ms polling interval), two gateways sharing one SQLite file as two replicas.
import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeUpstream, startFakeUpstream } from '../fake-upstream/server';
import { type Gateway, startGateway } from '../support/gateway';

/** Fast device polling keeps every flow in tens of milliseconds of real time. */
const INTERVAL_S = 0.02;
let fake: FakeUpstream;
let offsetMs = 0;
let dir: string;
let dbPath: string;
let a: Gateway;
let b: Gateway;

beforeAll(async () => {
  fake = await startFakeUpstream({ now: () => Date.now() + offsetMs, device_auto_approve_after_polls: null, device_poll_interval_s: INTERVAL_S });
  dir = mkdtempSync(join(tmpdir(), 'q2api-login-'));
  dbPath = join(dir, 'shared.sqlite3');
  a = await startGateway({ databaseUrl: `sqlite:${dbPath}`, upstreamUrl: fake.url });
  b = await startGateway({ databaseUrl: `sqlite:${dbPath}`, upstreamUrl: fake.url });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await fake?.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  fake.reset(); // token names start again at fake-rt-1, so the accounts made with them go too
  offsetMs = 0;
  for (const acc of (await a.ctx.store.accounts.list()).items) await a.ctx.store.accounts.delete(acc.id);
});

const tokenPolls = () => fake.requests().filter((r) => r.path === '/token');
const accountCount = async () => (await a.admin('GET', '/v2/accounts')).json.total as number;

async function start(gw: Gateway, body: Record<string, unknown> = {}) {
  const res = await gw.admin('POST', '/v2/auth/start', body);
  expect(res.status).toBe(200);
  return res.json as { authId: string; userCode: string; verificationUriComplete: string; expiresIn: number; interval: number };
}

describe('device login routes', () => {
  test('need the admin key', async () => {
    for (const [method, path] of [['POST', '/v2/auth/start'], ['GET', '/v2/auth/status/x'], ['POST', '/v2/auth/claim/x']] as const) {
      const res = await fetch(a.url + path, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    expect(fake.stats().requests).toBe(0);
  });

  test('start → approve → claim creates the account (Python q2api shapes)', async () => {
    const s = await start(a, { label: 'e2e login' });
    expect(Object.keys(s).sort()).toEqual(['authId', 'expiresIn', 'interval', 'userCode', 'verificationUriComplete']);
    expect(s).toMatchObject({ expiresIn: 600, interval: INTERVAL_S });
    expect(fake.approveDevice(s.userCode)).toBe(true);
    const claim = await a.admin('POST', `/v2/auth/claim/${s.authId}`);
    expect(claim.status).toBe(200);
    expect(claim.json).toMatchObject({
      status: 'completed',
      accountId: claim.json.account.id,
      account: { label: 'e2e login', auth_method: 'idc', enabled: true, status: 'healthy', last_refresh_status: 'success' },
    });
    expect(JSON.stringify(claim.json)).not.toMatch(/fake-(rt|at|secret)-/); // secrets masked
    expect((await a.admin('GET', `/v2/auth/status/${s.authId}`)).json).toEqual({ status: 'completed', accountId: claim.json.accountId, remaining: 0 });
    // a second claim of a finished session answers the same, creating nothing
    const again = await a.admin('POST', `/v2/auth/claim/${s.authId}`);
    expect(again.json.accountId).toBe(claim.json.accountId);
    expect(await accountCount()).toBe(1);
    expect(tokenPolls().filter((p) => p.status === 200)).toHaveLength(1);
  });

  test('pending: status reports it with the time left, and creates nothing', async () => {
    const s = await start(a);
    await Bun.sleep(50);
    const st = await a.admin('GET', `/v2/auth/status/${s.authId}`);
    expect(st.json).toMatchObject({ status: 'pending' });
    expect(st.json.remaining).toBeWithin(295, 301);
    expect(tokenPolls().map((p) => p.note)).toEqual(['authorization_pending']);
    expect(await accountCount()).toBe(0);
  });

  test('slow_down: the interval grows by 5 s and status stops polling meanwhile', async () => {
    const s = await start(a);
    await Bun.sleep(50);
    fake.enqueue({ target: 'auth', scenario: 'slow_down', match: { path: '/token' }, times: 1 });
    expect((await a.admin('GET', `/v2/auth/status/${s.authId}`)).json.status).toBe('pending');
    expect(tokenPolls()).toHaveLength(1);
    await Bun.sleep(100); // five old intervals, far less than the new one
    expect((await b.admin('GET', `/v2/auth/status/${s.authId}`)).json.status).toBe('pending');
    expect(tokenPolls()).toHaveLength(1);
    const raw = new Database(dbPath, { readonly: true });
    const row = raw.query('select interval_ms from login_sessions where id = ?').get(s.authId) as { interval_ms: number };
    raw.close();
    expect(row.interval_ms).toBe(INTERVAL_S * 1000 + 5000);
  });

  test('denial: the claim answers 403 and the session is denied', async () => {
    const s = await start(a);
    fake.denyDevice(s.userCode);
    const claim = await a.admin('POST', `/v2/auth/claim/${s.authId}`);
    expect(claim.status).toBe(403);
    expect(claim.json.error.kind).toBe('permission');
    expect(claim.json.detail).toContain('access_denied');
    expect((await a.admin('GET', `/v2/auth/status/${s.authId}`)).json).toMatchObject({ status: 'denied' });
  });

  test('expiry: an expired device code makes the claim answer 408', async () => {
    const s = await start(a);
    offsetMs = 601_000; // the fake's clock passes the device code's 600 s
    const claim = await a.admin('POST', `/v2/auth/claim/${s.authId}`);
    expect(claim.status).toBe(408);
    expect(claim.json.detail).toContain('expired_token');
    expect((await b.admin('GET', `/v2/auth/status/${s.authId}`)).json).toMatchObject({ status: 'expired' });
  });

  test('a session started on one instance is claimed on another', async () => {
    const s = await start(a, { label: 'cross-replica' });
    fake.approveDevice(s.userCode);
    const claim = await b.admin('POST', `/v2/auth/claim/${s.authId}`);
    expect(claim.status).toBe(200);
    const seen = await a.admin('GET', `/v2/accounts/${claim.json.accountId}`);
    expect(seen.json).toMatchObject({ label: 'cross-replica', auth_method: 'idc' });
  });

  test('two concurrent claims on two instances create one account', async () => {
    const s = await start(b);
    const claims = Promise.all([a.admin('POST', `/v2/auth/claim/${s.authId}`), b.admin('POST', `/v2/auth/claim/${s.authId}`)]);
    await Bun.sleep(60);
    fake.approveDevice(s.userCode);
    const [x, y] = await claims;
    expect([x.status, y.status]).toEqual([200, 200]);
    expect(x.json.accountId).toBe(y.json.accountId);
    expect(await accountCount()).toBe(1);
    expect(tokenPolls().filter((p) => p.status === 200)).toHaveLength(1);
  });

  test('unknown sessions are 404; a malformed region is 400', async () => {
    expect((await a.admin('GET', '/v2/auth/status/no-such-session')).status).toBe(404);
    expect((await a.admin('POST', '/v2/auth/claim/no-such-session')).status).toBe(404);
    const bad = await a.admin('POST', '/v2/auth/start', { region: 'us-east-1.evil.example' });
    expect(bad.status).toBe(400);
  });
});
