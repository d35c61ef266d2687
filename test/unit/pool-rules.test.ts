// The pool's pure rules: what each upstream failure does to its account, the cooldown formula, quota
// readings (upstream-protocol.md §2.9) and reset dates, sticky keys, proxy input, and the config.
import { describe, expect, test } from 'bun:test';
import { parseProxy, toNewAccount } from '../../src/accounts/input';
import { stickyKeyFor } from '../../src/chat/sticky';
import { ConfigError, parseConfig } from '../../src/config';
import type { Conversation } from '../../src/dialects/conversation';
import { accountStatus, maskProxy } from '../../src/pool/account-state';
import { COOLDOWN_MAX_MS, effectOf, FORBIDDEN_COOLDOWN_MS, nextMonthlyResetUtc, throttleCooldownMs } from '../../src/pool/effects';
import { readUsageLimits } from '../../src/pool/quota';
import { classifyHttpError, type UpstreamErrorKind, UpstreamError } from '../../src/upstream/errors';
import { usageDocument } from '../fake-upstream/q-documents';
import { makeAccount, T0 } from './pool-fakes';
import { conversation } from '../support/conversation';

const ctx = (over: Partial<Parameters<typeof effectOf>[1]> = {}) => ({ nowMs: T0, account: makeAccount('a'), throttleStreak: 0, random: () => 0.5, ...over });
const err = (kind: UpstreamErrorKind, init: ConstructorParameters<typeof UpstreamError>[2] = {}) => new UpstreamError(kind, `upstream ${kind}`, init);

describe('effects of an upstream failure on its account (§3.3)', () => {
  test('each kind picks its action', () => {
    expect(effectOf(err('suspended'), ctx())).toEqual({ kind: 'disable', reason: 'suspended' });
    expect(effectOf(err('quota'), ctx())).toEqual({ kind: 'quota', resetAt: new Date(Date.UTC(2030, 5, 1)) });
    expect(effectOf(err('throttled', { retryAfterMs: 7_000 }), ctx())).toEqual({ kind: 'throttle', cooldownMs: 7_000 });
    expect(effectOf(err('forbidden'), ctx())).toEqual({ kind: 'count', cooldownMs: FORBIDDEN_COOLDOWN_MS });
    expect(effectOf(err('capacity'), ctx())).toEqual({ kind: 'none' });
    for (const k of ['too_long', 'invalid_model', 'bad_request'] as const) expect(effectOf(err(k), ctx())).toEqual({ kind: 'none' });
    for (const k of ['server_error', 'network', 'timeout', 'stream', 'invalid_token'] as const) expect(effectOf(err(k), ctx())).toEqual({ kind: 'count' });
  });

  test('the real 402 / daily-limit bodies: reset at nextDateReset when known, next UTC midnight for a daily limit', () => {
    const h = new Headers({ 'x-amzn-errortype': 'ServiceQuotaExceededException' });
    const monthly = classifyHttpError(402, h, '{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}');
    const known = makeAccount('a', { quotaResetAt: new Date(Date.UTC(2030, 5, 3)) });
    expect(effectOf(monthly, ctx({ account: known }))).toEqual({ kind: 'quota', resetAt: new Date(Date.UTC(2030, 5, 3)) });
    const stale = makeAccount('a', { quotaResetAt: new Date(T0 - 1) });
    expect(effectOf(monthly, ctx({ account: stale }))).toEqual({ kind: 'quota', resetAt: new Date(Date.UTC(2030, 5, 1)) });
    const daily = classifyHttpError(429, new Headers(), '{"message":"You\'ve reached your daily usage limit.","reason":"DAILY_REQUEST_COUNT"}');
    expect(daily.kind).toBe('quota');
    expect(effectOf(daily, ctx())).toEqual({ kind: 'quota', resetAt: new Date(Date.UTC(2030, 4, 16)) });
  });

  test('cooldown: Retry-After honoured and capped; otherwise 15 s doubling per throttle in a row, ±20 % jitter, capped', () => {
    expect(throttleCooldownMs(7_000, 1, () => 0.9)).toBe(7_000);
    expect(throttleCooldownMs(3_600_000, 1, () => 0.5)).toBe(COOLDOWN_MAX_MS);
    expect(throttleCooldownMs(undefined, 1, () => 0.5)).toBe(15_000);
    expect(throttleCooldownMs(undefined, 1, () => 0)).toBe(12_000);
    expect(throttleCooldownMs(undefined, 1, () => 0.999_999)).toBeCloseTo(18_000, -1);
    expect(throttleCooldownMs(undefined, 3, () => 0.5)).toBe(60_000);
    expect(throttleCooldownMs(undefined, 50, () => 0.999_999)).toBe(COOLDOWN_MAX_MS);
  });

  test('monthly reset: the 1st of next month, December rolling over the year', () => {
    expect(nextMonthlyResetUtc(Date.UTC(2030, 11, 31, 23, 59))).toEqual(new Date(Date.UTC(2031, 0, 1)));
  });
});

describe('GetUsageLimits readings (§2.9)', () => {
  test('the Kiro document: limit − used of the CREDIT breakdown, reset from nextDateReset (epoch seconds)', () => {
    const doc = usageDocument({ nowMs: T0, usedCredits: 12.3456, limit: 50, account: 'x' });
    expect(readUsageLimits(doc, T0)).toEqual({ remaining: 37.6544, limit: 50, resetAt: new Date(Date.UTC(2030, 5, 1)) });
  });

  test('active free trial and bonuses add up; expired ones and other resource types do not', () => {
    const doc = {
      nextDateReset: Date.UTC(2030, 5, 1) / 1000,
      usageBreakdownList: [
        {
          resourceType: 'CREDIT',
          usageLimitWithPrecision: 50,
          currentUsageWithPrecision: 50,
          freeTrialInfo: { freeTrialStatus: 'ACTIVE', usageLimitWithPrecision: 500, currentUsageWithPrecision: 100.5 },
          bonuses: [
            { status: 'ACTIVE', usageLimit: 20, currentUsage: 5 },
            { status: 'EXPIRED', usageLimit: 1000, currentUsage: 0 },
          ],
        },
        { resourceType: 'SPEC', usageLimitWithPrecision: 999, currentUsageWithPrecision: 0 },
      ],
    };
    expect(readUsageLimits(doc, T0)).toMatchObject({ remaining: 0 + 399.5 + 15, limit: 570 });
    const expired = { ...doc, usageBreakdownList: [{ ...doc.usageBreakdownList[0], freeTrialInfo: { freeTrialStatus: 'EXPIRED', usageLimit: 500, currentUsage: 0 }, bonuses: [] }] };
    expect(readUsageLimits(expired, T0)).toMatchObject({ remaining: 0, limit: 50 });
  });

  test('legacy Q: the AGENTIC_REQUEST entry of limits; nothing usable → null, reset defaults to next month', () => {
    const legacy = { limits: [{ type: 'AGENTIC_REQUEST', currentUsage: 40, totalUsageLimit: 50 }] };
    expect(readUsageLimits(legacy, T0)).toEqual({ remaining: 10, limit: 50, resetAt: new Date(Date.UTC(2030, 5, 1)) });
    expect(readUsageLimits({}, T0)).toEqual({ remaining: null, limit: null, resetAt: new Date(Date.UTC(2030, 5, 1)) });
    expect(readUsageLimits({ nextDateReset: '2030-05-20T00:00:00Z' }, T0).resetAt).toEqual(new Date(Date.UTC(2030, 4, 20)));
  });

  test('status: exhausted (enabled, no credits, before the reset); cooling wins over exhausted', () => {
    const now = new Date(T0);
    const out = makeAccount('a', { quotaRemaining: 0, quotaResetAt: new Date(T0 + 1) });
    expect(accountStatus(out, now)).toBe('exhausted');
    expect(accountStatus({ ...out, quotaResetAt: new Date(T0) }, now)).toBe('healthy');
    expect(accountStatus({ ...out, cooldownUntil: new Date(T0 + 5) }, now)).toBe('cooling_down');
    expect(accountStatus({ ...out, enabled: false, disabledReason: 'suspended' }, now)).toBe('disabled');
  });
});

describe('sticky keys', () => {
  const conv = (text: string): Conversation =>
    conversation(
      [
        { role: 'user', content: [{ type: 'text', text }] },
        { role: 'assistant', content: [{ type: 'text', text: 'hello' }] },
        { role: 'user', content: [{ type: 'text', text: 'next turn' }] },
      ],
      { model: 'm', system: 'sys' },
    );
  const on = parseConfig({ STICKY_SESSIONS: 'true' });

  test('x-conversation-id, then metadata.user_id, then a hash of the first user message; nothing when off', () => {
    const h = new Headers({ 'x-conversation-id': 'c-1' });
    expect(stickyKeyFor(on, h, { metadata: { user_id: 'u-1' } }, conv('a'))).toBe('c:c-1');
    expect(stickyKeyFor(on, new Headers(), { metadata: { user_id: 'u-1' } }, conv('a'))).toBe('u:u-1');
    const first = stickyKeyFor(on, new Headers(), {}, conv('first question'));
    expect(first).toStartWith('m:');
    // later turns repeat the first message: same key; another conversation: another key
    expect(stickyKeyFor(on, new Headers(), {}, { ...conv('first question'), messages: conv('first question').messages.slice(0, 1) })).toBe(first!);
    expect(stickyKeyFor(on, new Headers(), {}, conv('other question'))).not.toBe(first!);
    expect(stickyKeyFor(parseConfig({}), h, {}, conv('a'))).toBeUndefined();
    expect(stickyKeyFor(on, new Headers({ 'x-conversation-id': 'x'.repeat(500) }), {}, conv('a'))).toMatch(/^c#/);
  });
});

describe('per-account proxy input and display', () => {
  test('http(s) URLs with optional credentials; anything else names the field', () => {
    expect(parseProxy('http://u:p@127.0.0.1:7890/')).toBe('http://u:p@127.0.0.1:7890');
    expect(parseProxy('https://proxy.example.com:443')).toBe('https://proxy.example.com:443');
    expect(parseProxy('')).toBeNull();
    expect(parseProxy(null)).toBeNull();
    expect(parseProxy(undefined)).toBeUndefined();
    for (const bad of ['socks5://127.0.0.1:1080', 'not a url', 'http://h:1/path', 42]) expect(() => parseProxy(bad)).toThrow(/proxy/);
    expect(toNewAccount({ refreshToken: 'rt', authMethod: 'social', proxy: 'http://127.0.0.1:1' }).proxy).toBe('http://127.0.0.1:1');
  });

  test('the view masks the password and keeps the rest', () => {
    expect(maskProxy('http://alice:s3cret@proxy.example:8080')).toBe('http://alice:****@proxy.example:8080');
    expect(maskProxy('http://proxy.example:8080')).toBe('http://proxy.example:8080');
    expect(maskProxy(null)).toBeNull();
  });
});

describe('config', () => {
  test('defaults and validation of the pool variables', () => {
    expect(parseConfig({}).pool).toEqual({ strategy: 'random', stickySessions: false, stickyTtlMs: 3_600_000, maxConcurrency: 0, syncIntervalMs: 30_000, quotaPollMs: 1_800_000 });
    expect(parseConfig({ ACCOUNT_STRATEGY: 'Round_Robin', QUOTA_POLL_S: '0' }).pool).toMatchObject({ strategy: 'round-robin', quotaPollMs: 0 });
    let problems: readonly string[] = [];
    try {
      parseConfig({ ACCOUNT_STRATEGY: 'fastest', QUOTA_POLL_S: '10', ACCOUNT_MAX_CONCURRENCY: '-1', POOL_SYNC_S: '0', STICKY_SESSIONS: 'maybe' });
    } catch (e) {
      problems = (e as ConfigError).problems;
    }
    expect(problems.map((p) => p.split('=')[0]).sort()).toEqual(['ACCOUNT_MAX_CONCURRENCY', 'ACCOUNT_STRATEGY', 'POOL_SYNC_S', 'QUOTA_POLL_S', 'STICKY_SESSIONS']);
  });
});
