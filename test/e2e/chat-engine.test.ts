// The chat engine against the fake upstream with a real gateway context: commit-on-first-event,
// failover across accounts per error kind, token refresh, client errors, mid-stream failures and
// cancellation (upstream-protocol.md §3.3, §6.7).
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { collectParts } from '../../src/chat/collect';
import { createChatEngine } from '../../src/chat/engine';
import type { ChatEngine } from '../../src/chat/types';
import type { Conversation, StreamPart } from '../../src/dialects/conversation';
import { GatewayError } from '../../src/http/errors';
import type { AccountPool } from '../../src/pool/pool';
import type { Account } from '../../src/store/accounts';
import { machineIdFor } from '../../src/upstream/client';
import { type FakeUpstream, startFakeUpstream, tokenFingerprint } from '../fake-upstream/server';
import { type Gateway, startGateway } from '../support/gateway';
import { conversation } from '../support/conversation';
import { rejectionOf } from '../support/rejection';

const PLAIN_TEXT = 'Hello from the fake upstream. This reply is split into many small events.';
const HOUR_MS = 3_600_000;

let fake: FakeUpstream;
let gw: Gateway;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ upstreamUrl: fake.url });
});
afterAll(async () => {
  await gw.stop();
  await fake.stop();
});
beforeEach(async () => {
  fake.reset();
  for (const a of (await gw.ctx.store.accounts.list()).items) await gw.ctx.store.accounts.delete(a.id);
});

/** An account in the gateway whose tokens the fake knows: `at-<name>` / `rt-<name>`. */
async function addAccount(name: string): Promise<Account> {
  fake.seedToken({ accessToken: `at-${name}`, refreshToken: `rt-${name}`, expiresIn: 3600, authMethod: 'social' });
  return gw.ctx.store.accounts.create({
    label: name,
    accessToken: `at-${name}`,
    refreshToken: `rt-${name}`,
    authMethod: 'social',
    expiresAt: new Date(Date.now() + HOUR_MS),
  });
}

/** The pool, but acquiring accounts in a fixed order (the real one picks at random). */
function ordered(pool: AccountPool, order: () => readonly string[]): AccountPool {
  return {
    ...pool,
    acquire(opts = {}) {
      const exclude = new Set(opts.exclude ?? []);
      const next = order().find((id) => !exclude.has(id));
      for (const id of order()) if (id !== next) exclude.add(id);
      return pool.acquire({ exclude });
    },
  };
}

function engine(order?: () => readonly string[]): ChatEngine {
  return createChatEngine(order ? { ...gw.ctx, pool: ordered(gw.ctx.pool, order) } : gw.ctx);
}

function conv(text: string, extra: Partial<Conversation> = {}): Conversation {
  return conversation([{ role: 'user', content: [{ type: 'text', text }] }], { model: 'claude-sonnet-4.5', ...extra });
}

const opts = (signal: AbortSignal = new AbortController().signal) => ({ signal, requestId: 'req-test' });

const rejection = (p: Promise<unknown>) => rejectionOf(p, GatewayError);

const qRequests = () => fake.requests().filter((r) => r.listener === 'q' && r.operation === 'GenerateAssistantResponse');

describe('committed runs', () => {
  test('plain text: parts, usage from the Kiro tail, headers, success booked', async () => {
    const a = await addAccount('a');
    const e = engine();
    const run = await e.run(conv('hi'), opts());
    expect(run.requestedModel).toBe('claude-sonnet-4.5');
    expect(run.headers['x-q2api-model']).toBe(run.upstreamModel);
    expect(run.headers['x-q2api-attempts']).toBe('1');
    expect(run.headers['x-q2api-model-substituted']).toBeUndefined();
    expect(run.inputTokens).toBe(await e.countInputTokens(conv('hi')));
    const msg = await collectParts(run.parts);
    expect(msg.content).toEqual([{ type: 'text', text: PLAIN_TEXT }]);
    expect(msg.finishReason).toBe('end_turn');
    expect(msg.usage.credits).toBe(0.01);
    expect(msg.usage.outputTokens).toBeGreaterThan(5);
    expect(msg.usage.inputTokens).toBeGreaterThan(0);
    expect((await gw.ctx.store.accounts.get(a.id))!.successCount).toBe(1);
    expect(qRequests()[0]!.tokenFingerprint).toBe(tokenFingerprint('at-a'));
  });

  test('an unknown model is substituted by the default and says so', async () => {
    await addAccount('a');
    const run = await engine().run(conv('hi', { model: 'no-such-model-xyz' }), opts());
    expect(run.headers['x-q2api-model-substituted']).toBe('1');
    expect(run.upstreamModel).toBe(gw.ctx.config.defaultModel);
    await collectParts(run.parts);
  });

  test('decoder warnings reach x-q2api-warnings as header-safe ASCII', async () => {
    await addAccount('a');
    const run = await engine().run(conv('hi', { warnings: ['dropped server tool “web_search”', 'line\r\nbreak'] }), opts());
    expect(run.headers['x-q2api-warnings']).toMatch(/^[\x20-\x7e]+$/);
    expect(run.headers['x-q2api-warnings']).toContain('web_search');
    await collectParts(run.parts);
  });

  test('thinking tags and a tool call from the fake come out as typed parts', async () => {
    await addAccount('a');
    const thinking = await collectParts((await engine().run(conv('[[fake:thinking]]'), opts())).parts);
    expect(thinking.content).toEqual([
      { type: 'thinking', text: 'The user greets me; reply briefly.' },
      { type: 'text', text: 'Hello!' },
    ]);
    const tools = [{ name: 'get_weather', description: 'weather', inputSchema: { type: 'object', properties: { city: { type: 'string' } } } }];
    const tool = await collectParts((await engine().run(conv('[[fake:tool]]', { tools }), opts())).parts);
    expect(tool.content).toEqual([
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_call', id: expect.stringMatching(/^tooluse_/), name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
    ]);
    expect(tool.finishReason).toBe('tool_use');
  });

  test('a -thinking model name turns thinking on in the request', async () => {
    await addAccount('a');
    const run = await engine().run(conv('hi', { model: 'claude-sonnet-4.5-thinking' }), opts());
    await collectParts(run.parts);
    expect(run.upstreamModel).toBe('claude-sonnet-4.5');
    expect(run.headers['x-q2api-model-substituted']).toBeUndefined();
    const body = qRequests()[0]!.body as { conversationState: { currentMessage: { userInputMessage: { content: string } } } };
    expect(body.conversationState.currentMessage.userInputMessage.content).toStartWith('<thinking_mode>enabled</thinking_mode>');
  });

  test('profileArn only when the account has one; the account’s machine id in the User-Agent', async () => {
    const a = await addAccount('a');
    await collectParts((await engine().run(conv('hi'), opts())).parts);
    const first = qRequests()[0]!;
    expect((first.body as Record<string, unknown>).profileArn).toBeUndefined();
    expect(first.headers['user-agent']).toContain(machineIdFor(a.id));
    const arn = 'arn:aws:codewhisperer:us-east-1:000000000000:profile/FAKEPROFILE01';
    await gw.ctx.store.accounts.update(a.id, { profileArn: arn });
    await collectParts((await engine().run(conv('hi'), opts())).parts);
    expect((qRequests()[1]!.body as Record<string, unknown>).profileArn).toBe(arn);
  });

  test('a truncated tool call ends as invalid with max_tokens, not a crash', async () => {
    await addAccount('a');
    const msg = await collectParts((await engine().run(conv('[[fake:tool_truncated]]'), opts())).parts);
    expect(msg.content).toEqual([{ type: 'tool_call', id: expect.any(String), name: expect.any(String), input: {}, invalid: expect.stringContaining('cut off') }]);
    expect(msg.finishReason).toBe('max_tokens');
  });

  test('stop sequence: cut, finish stop_sequence, upstream connection dropped', async () => {
    await addAccount('a');
    const run = await engine().run(conv('[[fake:long:n=200,gap_ms=5]]', { stopSequences: ['m lorem'] }), opts());
    const msg = await collectParts(run.parts);
    expect(msg).toMatchObject({ finishReason: 'stop_sequence', stopSequence: 'm lorem', content: [{ type: 'text', text: 'lore' }] });
    for (let i = 0; i < 100 && !qRequests()[0]!.done; i++) await Bun.sleep(5);
    expect(qRequests()[0]!.disconnectedEarly).toBe(true);
  });
});

describe('failover before commit', () => {
  test('account A throttled → the run succeeds on B and A’s error is recorded', async () => {
    const a = await addAccount('a');
    const b = await addAccount('b');
    fake.enqueue({ scenario: 'throttle', match: { token: 'at-a' } });
    const run = await engine(() => [a.id, b.id]).run(conv('hi'), opts());
    expect(run.headers['x-q2api-attempts']).toBe('2');
    const msg = await collectParts(run.parts);
    expect(msg.content).toEqual([{ type: 'text', text: PLAIN_TEXT }]);
    const after = (await gw.ctx.store.accounts.get(a.id))!;
    expect(after.errorCount).toBe(1);
    expect(after.lastError).toContain('429');
    expect((await gw.ctx.store.accounts.get(b.id))!.successCount).toBe(1);
    expect(qRequests().map((r) => r.tokenFingerprint)).toEqual([tokenFingerprint('at-a'), tokenFingerprint('at-b')]);
  });

  test('expired token → one refresh → retry on the same account succeeds', async () => {
    const a = await addAccount('a');
    fake.enqueue({ scenario: 'expired_token', match: { token: 'at-a' } });
    const run = await engine().run(conv('hi'), opts());
    expect((await collectParts(run.parts)).finishReason).toBe('end_turn');
    expect(fake.stats().refresh.kiro).toBe(1);
    const qs = qRequests();
    expect(qs.length).toBe(2);
    expect(qs[0]!.tokenFingerprint).toBe(tokenFingerprint('at-a'));
    expect(qs[1]!.tokenFingerprint).not.toBe(tokenFingerprint('at-a'));
    const after = (await gw.ctx.store.accounts.get(a.id))!;
    expect(after.accessToken).not.toBe('at-a');
    expect(after.errorCount).toBe(0);
  });

  test('a refresh that fails → the account is booked and the next one serves', async () => {
    const a = await addAccount('a');
    const b = await addAccount('b');
    fake.enqueue({ scenario: 'expired_token', match: { token: 'at-a' } });
    fake.revoke({ refreshToken: 'rt-a' });
    const run = await engine(() => [a.id, b.id]).run(conv('hi'), opts());
    expect((await collectParts(run.parts)).finishReason).toBe('end_turn');
    expect(run.headers['x-q2api-attempts']).toBe('2');
    const after = (await gw.ctx.store.accounts.get(a.id))!;
    expect(after.errorCount).toBe(1);
    expect(after.enabled).toBe(false); // dead refresh token: the pool disables it until a new login
  });

  test('invalid token again after the refresh → refreshed once only, then the next account', async () => {
    const a = await addAccount('a');
    const b = await addAccount('b');
    const message = 'The bearer token included in the request is invalid.';
    fake.enqueue({ scenario: 'http_error', args: { status: 403, type: 'AccessDeniedException', message }, times: 2 });
    const run = await engine(() => [a.id, b.id]).run(conv('hi'), opts());
    expect((await collectParts(run.parts)).finishReason).toBe('end_turn');
    expect(fake.stats().refresh.kiro).toBe(1);
    expect(qRequests().length).toBe(3);
    expect(run.headers['x-q2api-attempts']).toBe('3');
    expect((await gw.ctx.store.accounts.get(a.id))!.errorCount).toBe(1);
  });

  test('suspended → the next account', async () => {
    const a = await addAccount('a');
    const b = await addAccount('b');
    fake.enqueue({ scenario: 'suspended', match: { token: 'at-a' } });
    const run = await engine(() => [a.id, b.id]).run(conv('hi'), opts());
    expect((await collectParts(run.parts)).finishReason).toBe('end_turn');
    expect((await gw.ctx.store.accounts.get(a.id))!.lastError).toContain('suspended');
  });

  test('too_long → 400 "prompt is too long", no retry, not booked against the account', async () => {
    const a = await addAccount('a');
    await addAccount('b');
    const err = await rejection(engine().run(conv('[[fake:too_long]]'), opts()));
    expect(err.status).toBe(400);
    expect(err.kind).toBe('invalid_request');
    expect(err.message).toContain('prompt is too long');
    expect(qRequests().length).toBe(1);
    const accounts = (await gw.ctx.store.accounts.list()).items;
    expect(accounts.every((x) => x.errorCount === 0)).toBe(true);
    expect((await gw.ctx.store.accounts.get(a.id))!.lastError).toBeNull();
  });

  test('malformed request → 400 at once', async () => {
    await addAccount('a');
    await addAccount('b');
    const err = await rejection(engine().run(conv('[[fake:malformed]]'), opts()));
    expect(err.status).toBe(400);
    expect(qRequests().length).toBe(1);
  });

  test('all accounts throttled → 429 with retry-after (upstream value, else the default)', async () => {
    await addAccount('a');
    await addAccount('b');
    const err = await rejection(engine().run(conv('[[fake:throttle:n=100,retry_after=7]]'), opts()));
    expect(err.status).toBe(429);
    expect(err.kind).toBe('rate_limit');
    expect(err.headers['retry-after']).toBe('7');
    expect(err.headers['x-q2api-attempts']).toBe('2');
    expect(qRequests().length).toBe(2);
    // Both accounts now cool down for the 7 s asked (the pool's own 429 meanwhile): lift that to ask again.
    for (const x of (await gw.ctx.store.accounts.list()).items) await gw.ctx.store.accounts.update(x.id, { cooldownUntil: null });
    const plain = await rejection(engine().run(conv('[[fake:throttle:n=100,id=other]]'), opts()));
    expect(plain.headers['retry-after']).toBe('5');
  });

  test('capacity everywhere → 529 overloaded; quota everywhere → 429 out of quota', async () => {
    await addAccount('a');
    const capacity = await rejection(engine().run(conv('[[fake:capacity]]'), opts()));
    expect(capacity).toMatchObject({ kind: 'overloaded', status: 529 });
    const quota = await rejection(engine().run(conv('[[fake:monthly_limit]]'), opts()));
    expect(quota).toMatchObject({ kind: 'rate_limit', status: 429 });
    expect(quota.message).toContain('out of quota');
  });

  test('maxAttempts bounds the accounts tried', async () => {
    for (const n of ['a', 'b', 'c', 'd']) await addAccount(n);
    const err = await rejection(engine().run(conv('[[fake:internal]]'), opts()));
    expect(err).toMatchObject({ kind: 'upstream', status: 502 });
    expect(qRequests().length).toBe(gw.ctx.config.maxAttempts);
  });

  test('empty stream → tried on every account, then 502 (never a fake success)', async () => {
    await addAccount('a');
    await addAccount('b');
    const err = await rejection(engine().run(conv('[[fake:empty]]'), opts()));
    expect(err).toMatchObject({ kind: 'upstream', status: 502 });
    expect(err.message).toContain('empty stream');
    expect(qRequests().length).toBe(2);
  });

  test('an exception as the first frame is a failed attempt, not a committed error', async () => {
    const a = await addAccount('a');
    const b = await addAccount('b');
    fake.enqueue({ scenario: 'midstream_exception', args: { after: 0 }, match: { token: 'at-a' } });
    const run = await engine(() => [a.id, b.id]).run(conv('hi'), opts());
    expect((await collectParts(run.parts)).content).toEqual([{ type: 'text', text: PLAIN_TEXT }]);
  });

  test('no account at all → the pool’s 503', async () => {
    const err = await rejection(engine().run(conv('hi'), opts()));
    expect(err).toMatchObject({ kind: 'unavailable', status: 503 });
    expect(qRequests().length).toBe(0);
  });
});

describe('after commit', () => {
  test('mid-stream exception → text so far, then one error part; failure booked', async () => {
    const a = await addAccount('a');
    const run = await engine().run(conv('[[fake:midstream_exception]]'), opts());
    const parts: StreamPart[] = [];
    for await (const p of run.parts) parts.push(p);
    expect(parts.filter((p) => p.type === 'text-delta').length).toBe(3);
    const last = parts.at(-1)!;
    expect(last.type).toBe('error');
    expect(parts.filter((p) => p.type === 'finish' || p.type === 'error').length).toBe(1);
    if (last.type === 'error') expect(last.error.message).toContain('interrupted');
    expect((await gw.ctx.store.accounts.get(a.id))!.errorCount).toBe(1);
  });

  test('a throttling exception mid-stream is a rate_limit error part', async () => {
    await addAccount('a');
    const msg = await collectParts((await engine().run(conv('[[fake:midstream_exception:type=ThrottlingException]]'), opts())).parts);
    expect(msg.content).toEqual([{ type: 'text', text: expect.any(String) }]);
    expect(msg.error?.kind).toBe('rate_limit');
  });

  test('truncated body and bad CRC after commit end in an error part too', async () => {
    await addAccount('a');
    for (const scenario of ['truncated', 'bad_crc', 'midstream_error']) {
      const msg = await collectParts((await engine().run(conv(`[[fake:${scenario}]]`), opts())).parts);
      expect(msg.error?.kind).toBe('upstream');
      expect(msg.finishReason).toBeNull();
    }
  });

  test('client abort mid-stream → upstream connection closed within milliseconds', async () => {
    await addAccount('a');
    const controller = new AbortController();
    const run = await engine().run(conv('[[fake:stall]]'), opts(controller.signal));
    const it = run.parts[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ type: 'text-delta' });
    const reading = (async () => {
      for (;;) if ((await it.next()).done) return;
    })();
    await Bun.sleep(50);
    const abortedAt = performance.now();
    controller.abort();
    await reading;
    let record = qRequests()[0]!;
    while (!record.done && performance.now() - abortedAt < 2000) {
      await Bun.sleep(5);
      record = qRequests()[0]!;
    }
    expect(record.disconnectedEarly).toBe(true);
    expect(performance.now() - abortedAt).toBeLessThan(500);
    expect(fake.stats().streams.inFlight).toBe(0);
  });

  test('consumer stops reading early → upstream closed as well', async () => {
    await addAccount('a');
    const run = await engine().run(conv('[[fake:stall]]'), opts());
    for await (const p of run.parts) {
      expect(p.type).toBe('text-delta');
      break;
    }
    for (let i = 0; i < 100 && !qRequests()[0]!.done; i++) await Bun.sleep(5);
    expect(qRequests()[0]!.disconnectedEarly).toBe(true);
  });

  test('a route that gives up before reading (return() first) still closes the upstream', async () => {
    await addAccount('a');
    const run = await engine().run(conv('[[fake:stall]]'), opts());
    await run.parts[Symbol.asyncIterator]().return?.();
    for (let i = 0; i < 100 && !qRequests()[0]!.done; i++) await Bun.sleep(5);
    expect(qRequests()[0]!.disconnectedEarly).toBe(true);
  });

  test('abort before the first event rejects the run and closes the upstream', async () => {
    await addAccount('a');
    const controller = new AbortController();
    const pending = engine().run(conv('[[fake:slow_headers:first_ms=2000]]'), opts(controller.signal));
    await Bun.sleep(50);
    controller.abort();
    const err = await rejection(pending);
    expect(err.status).toBe(499);
    for (let i = 0; i < 100 && !qRequests()[0]?.done; i++) await Bun.sleep(5);
    expect(qRequests()[0]!.disconnectedEarly).toBe(true);
  });
});
