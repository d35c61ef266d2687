// The pool's admin side end to end: GET /v2/stats (the console's exact shape), POST /v2/accounts/verify,
// quota polling (QUOTA_POLL_S) and on demand, exhausted accounts skipped, and a second replica's view
// picking up changes made through the first one.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FakeUpstream, startFakeUpstream, tokenFingerprint } from '../fake-upstream/server';
import { chatTokens, offsetClock, type PoolGateway, startPoolGateway } from './pool-harness';

const clock = offsetClock();
const dir = mkdtempSync(join(tmpdir(), 'q2api-pool-admin-'));
const DATABASE_URL = `sqlite:${join(dir, 'shared.sqlite3')}`;
let fake: FakeUpstream;
let gw: PoolGateway;
const POLL_S = 120;

beforeAll(async () => {
  fake = await startFakeUpstream({ now: () => clock.now(), usage_limit: 50 });
  gw = await startPoolGateway(fake, clock, { DATABASE_URL, ACCOUNT_STRATEGY: 'priority', QUOTA_POLL_S: String(POLL_S) });
});
afterAll(async () => {
  await gw.stop();
  await fake.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  fake.reset();
  for (const x of (await gw.ctx.store.accounts.list()).items) await gw.ctx.store.accounts.delete(x.id);
});

describe('GET /v2/stats', () => {
  test('the exact shape: strategy, totals, one entry per account with status, in-flight, counts and quota', async () => {
    const a = await gw.addAccount('a', { priority: 5 });
    const b = await gw.addAccount('b');
    await gw.admin('PATCH', `/v2/accounts/${b.id}`, { enabled: false });
    expect((await gw.ask('hi')).status).toBe(200);
    const res = await gw.admin('GET', '/v2/stats');
    expect(res.status).toBe(200);
    expect(Object.keys(res.json).sort()).toEqual(['accounts', 'strategy', 'totals']);
    expect(res.json.strategy).toBe('priority');
    expect(res.json.totals).toEqual({ accounts: 2, enabled: 1, healthy: 1, cooling_down: 0, disabled: 1, exhausted: 0, in_flight: 0 });
    const [first, second] = res.json.accounts;
    expect(Object.keys(first).sort()).toEqual(
      ['cooldown_until', 'disabled_reason', 'enabled', 'error_count', 'id', 'in_flight', 'label', 'last_error', 'last_used_at', 'quota', 'status', 'success_count'].sort(),
    );
    expect(first).toMatchObject({ id: a.id, label: 'a', status: 'healthy', enabled: true, disabled_reason: null, cooldown_until: null, in_flight: 0, success_count: 1, error_count: 0, last_error: null, quota: null });
    expect(typeof first.last_used_at).toBe('string');
    expect(second).toMatchObject({ id: b.id, status: 'disabled', enabled: false, disabled_reason: 'manual' });
    expect((await fetch(`${gw.url}/v2/stats`)).status).toBe(401);
  });
});

describe('quotas', () => {
  test('polled on schedule: remaining, limit, reset date stored; an account out of credits is skipped', async () => {
    const a = await gw.addAccount('a', { priority: 5 });
    await gw.addAccount('b');
    expect((await gw.ask('[[fake:plain:usage=49.5]]')).status).toBe(200); // served by a
    expect(await gw.ctx.pool.pollQuotas()).toBe(2);
    const now = new Date(clock.now());
    const reset = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
    let view = (await gw.admin('GET', `/v2/accounts/${a.id}`)).json;
    expect(view.quota).toMatchObject({ remaining: 0.5, limit: 50, reset_at: reset });
    expect(clock.now() - Date.parse(view.quota.checked_at)).toBeWithin(0, 1_000);
    // not due again before QUOTA_POLL_S
    expect(await gw.ctx.pool.pollQuotas()).toBe(0);
    expect((await gw.ask('[[fake:plain:usage=1]]')).status).toBe(200); // a goes over its limit
    clock.advance(POLL_S * 1000);
    expect(await gw.ctx.pool.pollQuotas()).toBe(2);
    view = (await gw.admin('GET', `/v2/accounts/${a.id}`)).json;
    expect(view).toMatchObject({ status: 'exhausted', quota: { remaining: -0.5, limit: 50 } });
    const stats = (await gw.admin('GET', '/v2/stats')).json;
    expect(stats.totals).toMatchObject({ exhausted: 1, healthy: 1 });
    expect(stats.accounts.find((x: { id: string }) => x.id === a.id).quota.remaining).toBe(-0.5);
    const before = chatTokens(fake).length;
    expect((await gw.ask('skip a')).status).toBe(200);
    expect(chatTokens(fake).slice(before)).toEqual([tokenFingerprint('at-b')]);
  });

  test('a 402 keeps the account out until its reset although the schedule still reads credits; on demand lifts it', async () => {
    const a = await gw.addAccount('a', { priority: 5 });
    await gw.addAccount('b');
    fake.enqueue({ scenario: 'monthly_limit', match: { token: 'at-a' } });
    expect((await gw.ask('hi')).status).toBe(200);
    expect((await gw.admin('GET', `/v2/accounts/${a.id}`)).json.status).toBe('exhausted');
    await gw.ctx.pool.pollQuotas();
    expect((await gw.admin('GET', `/v2/accounts/${a.id}`)).json).toMatchObject({ status: 'exhausted', quota: { remaining: 0, limit: 50 } });
    const demand = await gw.admin('POST', `/v2/accounts/${a.id}/quota`);
    expect(demand.status).toBe(200);
    expect(demand.json).toMatchObject({ status: 'healthy', quota: { remaining: 50, limit: 50 } });
    expect((await gw.admin('POST', '/v2/accounts/nope/quota')).status).toBe(404);
  });
});

describe('POST /v2/accounts/verify', () => {
  test('per-account results: alive, dead (refresh token revoked → needs login), unknown; all accounts without ids', async () => {
    const good = await gw.addAccount('good');
    const dead = await gw.addAccount('dead');
    fake.revoke({ accessToken: 'at-dead', refreshToken: 'rt-dead' });
    const res = await gw.admin('POST', '/v2/accounts/verify', { ids: [good.id, dead.id, 'missing'] });
    expect(res.status).toBe(200);
    expect(res.json.results).toEqual([
      { id: good.id, ok: true, status: 'healthy' },
      { id: dead.id, ok: false, status: 'needs_login', error: expect.stringContaining('invalid_grant') },
      { id: 'missing', ok: false, status: 'not_found', error: 'Account not found' },
    ]);
    // a verify reads the quota on the way
    expect((await gw.admin('GET', `/v2/accounts/${good.id}`)).json.quota).toMatchObject({ limit: 50 });
    const all = await gw.admin('POST', '/v2/accounts/verify', {});
    expect(all.json.results.map((r: { id: string }) => r.id).sort()).toEqual([good.id, dead.id].sort());
    expect((await gw.admin('POST', '/v2/accounts/verify')).status).toBe(200);
  });
});

describe('two replicas on one database', () => {
  test('a change made through one replica reaches the other’s view at its next sync', async () => {
    const other = await startPoolGateway(fake, clock, { DATABASE_URL, ACCOUNT_STRATEGY: 'priority', QUOTA_POLL_S: '0' });
    try {
      const a = await gw.addAccount('a', { priority: 5 });
      await gw.addAccount('b');
      expect((await other.ask('hi')).status).toBe(200);
      expect(chatTokens(fake)).toEqual([tokenFingerprint('at-a')]);
      // disabled through the first replica: the second keeps its view until it syncs (POOL_SYNC_S)
      await gw.admin('PATCH', `/v2/accounts/${a.id}`, { enabled: false });
      expect((await other.admin('GET', '/v2/stats')).json.totals.disabled).toBe(0);
      await other.ctx.pool.syncView();
      expect((await other.admin('GET', '/v2/stats')).json.totals).toMatchObject({ disabled: 1, healthy: 1 });
      expect((await other.ask('again')).status).toBe(200);
      expect(chatTokens(fake).at(-1)).toBe(tokenFingerprint('at-b'));
      // an account deleted elsewhere leaves the view too
      await gw.admin('DELETE', `/v2/accounts/${a.id}`);
      await other.ctx.pool.syncView();
      expect((await other.admin('GET', '/v2/stats')).json.totals.accounts).toBe(1);
    } finally {
      await other.stop();
    }
  });

  test('a success booked after another replica’s change does not hide that change from the next sync', async () => {
    const other = await startPoolGateway(fake, clock, { DATABASE_URL, ACCOUNT_STRATEGY: 'priority', QUOTA_POLL_S: '0' });
    try {
      const a = await gw.addAccount('a', { priority: 5 });
      await gw.addAccount('b');
      await other.ctx.pool.syncView();
      // the order a slow request produces: the change through the first replica lands, then the
      // second replica books its success on the same row (a newer updated_at, no read-back)
      await gw.admin('PATCH', `/v2/accounts/${a.id}`, { enabled: false });
      clock.advance(1);
      await other.ctx.store.accounts.recordSuccess(a.id);
      await other.ctx.pool.syncView();
      expect((await other.admin('GET', '/v2/stats')).json.totals).toMatchObject({ disabled: 1, healthy: 1 });
      expect((await other.ask('again')).status).toBe(200);
      expect(chatTokens(fake).at(-1)).toBe(tokenFingerprint('at-b'));
    } finally {
      await other.stop();
    }
  });

  test('a replica with an empty view looks in the database before answering 503', async () => {
    const other = await startPoolGateway(fake, clock, { DATABASE_URL, QUOTA_POLL_S: '0' });
    try {
      expect((await other.ask('nothing yet')).status).toBe(503); // loads an empty pool
      await gw.addAccount('late');
      clock.advance(2_000); // the empty-pool look is rate limited to once a second
      expect((await other.ask('now')).status).toBe(200);
    } finally {
      await other.stop();
    }
  });
});
