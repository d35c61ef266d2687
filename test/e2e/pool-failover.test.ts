// Each upstream error class end to end (upstream-protocol.md §3.3): the client gets a clean answer
// served by the next account, and the failing account gets the right treatment — disabled, out until
// its quota reset, cooling down (then back), or left alone. Priority strategy: `a` is always tried first.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import type { Account } from '../../src/store/accounts';
import { type FakeUpstream, startFakeUpstream, tokenFingerprint } from '../fake-upstream/server';
import { chatTokens, offsetClock, type PoolGateway, startPoolGateway } from './pool-harness';

const clock = offsetClock();
let fake: FakeUpstream;
let gw: PoolGateway;
let a: Account;
let b: Account;
const A = tokenFingerprint('at-a');
const B = tokenFingerprint('at-b');
const PLAIN = 'Hello from the fake upstream. This reply is split into many small events.';

beforeAll(async () => {
  fake = await startFakeUpstream({ now: () => clock.now() });
  gw = await startPoolGateway(fake, clock, { ACCOUNT_STRATEGY: 'priority', QUOTA_POLL_S: '0' });
});
afterAll(async () => {
  await gw.stop();
  await fake.stop();
});
beforeEach(async () => {
  fake.reset();
  for (const x of (await gw.ctx.store.accounts.list()).items) await gw.ctx.store.accounts.delete(x.id);
  a = await gw.addAccount('a', { priority: 10 });
  b = await gw.addAccount('b');
});

const stored = async (acc: Account) => (await gw.ctx.store.accounts.get(acc.id))!;
const served = (res: { status: number; json: any }) => {
  expect(res.status).toBe(200);
  expect(res.json.content[0].text).toBe(PLAIN);
};

describe('each error class: the next account answers, the failing one is treated as §3.3 says', () => {
  test('suspended → disabled with reason "suspended", skipped from then on', async () => {
    fake.enqueue({ scenario: 'suspended', match: { token: 'at-a' } });
    const res = await gw.ask('hi');
    served(res);
    expect(res.headers.get('x-q2api-attempts')).toBe('2');
    expect(await stored(a)).toMatchObject({ enabled: false, disabledReason: 'suspended' });
    expect((await stored(a)).lastError).toContain('suspended');
    served(await gw.ask('again'));
    expect(chatTokens(fake)).toEqual([A, B, B]);
    expect((await gw.admin('GET', `/v2/accounts/${a.id}`)).json).toMatchObject({ status: 'disabled', disabled_reason: 'suspended' });
  });

  test('402 monthly limit → out of quota until the reset date, skipped, back by itself after it', async () => {
    fake.enqueue({ scenario: 'monthly_limit', match: { token: 'at-a' } });
    served(await gw.ask('hi'));
    const now = new Date(clock.now());
    const reset = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    expect(await stored(a)).toMatchObject({ enabled: true, quotaRemaining: 0, quotaResetAt: reset });
    served(await gw.ask('again'));
    expect(chatTokens(fake)).toEqual([A, B, B]);
    const view = (await gw.admin('GET', `/v2/accounts/${a.id}`)).json;
    expect(view).toMatchObject({ status: 'exhausted', quota: { remaining: 0, reset_at: reset.toISOString() } });
    // past the reset (the tokens expired meanwhile: the pool refreshes them on the way)
    clock.advance(reset.getTime() - clock.now() + 1_000);
    expect((await stored(a)).successCount).toBe(0);
    served(await gw.ask('next month'));
    expect((await stored(a)).successCount).toBe(1); // served by a again (with its refreshed token)
    expect((await gw.admin('GET', `/v2/accounts/${a.id}`)).json.status).toBe('healthy');
  });

  test('429 with Retry-After → cooldown for exactly that long (counted), then back', async () => {
    fake.enqueue({ scenario: 'throttle', args: { n: 1, retry_after: 7 }, match: { token: 'at-a' } });
    const t = clock.now();
    served(await gw.ask('hi'));
    const after = await stored(a);
    expect(after.cooldownUntil!.getTime() - t).toBeWithin(7_000, 7_000 + 2_000);
    expect(after.errorCount).toBe(1);
    expect((await gw.admin('GET', '/v2/stats')).json.totals).toMatchObject({ cooling_down: 1, healthy: 1 });
    clock.advance(3_000);
    served(await gw.ask('during'));
    expect(chatTokens(fake)).toEqual([A, B, B]);
    clock.advance(after.cooldownUntil!.getTime() - clock.now());
    served(await gw.ask('after'));
    expect(chatTokens(fake)).toEqual([A, B, B, A]);
    expect((await stored(a)).errorCount).toBe(0); // a success resets the count
  });

  test('model capacity → not the account’s fault: no cooldown, not counted, next request back on it', async () => {
    fake.enqueue({ scenario: 'capacity', match: { token: 'at-a' } });
    served(await gw.ask('hi'));
    expect(await stored(a)).toMatchObject({ errorCount: 0, cooldownUntil: null, enabled: true });
    served(await gw.ask('again'));
    expect(chatTokens(fake)).toEqual([A, B, A]);
  });

  test('5xx → counted against the account, no cooldown', async () => {
    fake.enqueue({ scenario: 'internal', match: { token: 'at-a' } });
    served(await gw.ask('hi'));
    expect(await stored(a)).toMatchObject({ errorCount: 1, cooldownUntil: null, enabled: true });
    expect((await stored(a)).lastError).toContain('500');
    served(await gw.ask('again'));
    expect(chatTokens(fake)).toEqual([A, B, A]);
  });

  test('a client error (400) is returned as is, books nothing and gives the slot back', async () => {
    const res = await gw.ask('[[fake:too_long]]');
    expect(res.status).toBe(400);
    expect(await stored(a)).toMatchObject({ errorCount: 0, cooldownUntil: null });
    expect((await gw.admin('GET', '/v2/stats')).json.totals.in_flight).toBe(0);
  });
});

describe('a throttle on every account', () => {
  test('429 with retry-after; while all cool down the pool answers 429 itself, without calling upstream', async () => {
    const first = await gw.ask('[[fake:throttle:n=100,retry_after=9]]');
    expect(first.status).toBe(429);
    expect(first.json.error.type).toBe('rate_limit_error');
    expect(first.headers.get('retry-after')).toBe('9');
    expect(chatTokens(fake)).toEqual([A, B]);
    clock.advance(4_000);
    const second = await gw.ask('hi');
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeWithin(4, 7);
    expect(chatTokens(fake)).toEqual([A, B]); // not even asked
    const stats = (await gw.admin('GET', '/v2/stats')).json;
    expect(stats.totals).toMatchObject({ accounts: 2, enabled: 2, cooling_down: 2, healthy: 0 });
    clock.advance(6_000);
    served(await gw.ask('later'));
    expect(chatTokens(fake)).toEqual([A, B, A]);
  });
});
