// The Q client against the fake upstream (upstream-protocol.md §6): dialects, headers, event
// mapping, HTTP error classification, timeouts, cancellation, broken streams and the proxy path.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createQClient, machineIdFor, type QClientOptions, type QStream } from '../../src/upstream/client';
import { UpstreamError } from '../../src/upstream/errors';
import type { QEvent } from '../../src/upstream/q-events';
import { type FakeUpstream, startFakeUpstream, tokenFingerprint } from '../fake-upstream/server';
import { rejectionOf } from '../support/rejection';

const TOKEN = 'fake-at-client-test';
const PLAIN_TEXT = 'Hello from the fake upstream. This reply is split into many small events.';
const MACHINE_ID = machineIdFor('account-1');

let fake: FakeUpstream;

beforeAll(async () => {
  fake = await startFakeUpstream();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.reset();
  fake.seedToken({ accessToken: TOKEN, refreshToken: 'fake-rt-client-test', expiresIn: 3600, authMethod: 'social' });
});

const client = (opts: Partial<QClientOptions> = {}) => createQClient({ endpoint: fake.url, ...opts });
const body = (content: string) => ({
  conversationState: {
    chatTriggerType: 'MANUAL',
    conversationId: '6a0c1d6e-9a8f-4c1e-9b0a-0d2f8b7b1c11',
    currentMessage: { userInputMessage: { content, modelId: 'claude-sonnet-4.5', origin: 'AI_EDITOR' } },
  },
});

async function collect(stream: QStream): Promise<{ events: QEvent[]; error?: unknown }> {
  const events: QEvent[] = [];
  try {
    for await (const e of stream.events) events.push(e);
    return { events };
  } catch (error) {
    return { events, error };
  }
}
const text = (events: QEvent[]) => events.map((e) => (e.type === 'assistantResponse' ? e.content : '')).join('');

const rejection = (p: Promise<unknown>) => rejectionOf(p, UpstreamError);

/** The fake finishes its record when the connection is gone; poll briefly for it. */
async function lastRecord(path?: string) {
  for (let i = 0; i < 100; i++) {
    const rs = fake.requests().filter((r) => r.listener === 'q' && (path === undefined || r.path === path));
    const r = rs.at(-1);
    if (r?.done) return r;
    await Bun.sleep(20);
  }
  throw new Error('request never completed on the fake');
}

describe('streaming', () => {
  test('rpc dialect: plain text reassembly, tail events, request id', async () => {
    const s = await client().generateAssistantResponse({ body: body('hi'), accessToken: TOKEN });
    expect(s.status).toBe(200);
    expect(s.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const { events, error } = await collect(s);
    expect(error).toBeUndefined();
    expect(text(events)).toBe(PLAIN_TEXT);
    expect(events.filter((e) => e.type === 'assistantResponse').length).toBeGreaterThan(10);
    expect(events).toContainEqual({ type: 'metering', usage: 0.01, unit: 'credit', unitPlural: 'credits' });
    expect(events.at(-1)?.type).toBe('contextUsage');
    const r = await lastRecord();
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/');
    expect(r.headers['x-amz-target']).toBe('AmazonCodeWhispererStreamingService.GenerateAssistantResponse');
    expect(r.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(r.disconnectedEarly).toBe(false);
  });

  test('rest dialect', async () => {
    const s = await client({ dialect: 'rest' }).generateAssistantResponse({ body: body('hi'), accessToken: TOKEN });
    expect(text((await collect(s)).events)).toBe(PLAIN_TEXT);
    const r = await lastRecord();
    expect(r.path).toBe('/generateAssistantResponse');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-amz-target']).toBeUndefined();
  });

  test('byte-split frames (split=1, split=random) decode identically', async () => {
    for (const split of ['1', 'random']) {
      const s = await client().generateAssistantResponse({ body: body(`[[fake:plain:split=${split},meta=1]]`), accessToken: TOKEN });
      const { events, error } = await collect(s);
      expect(error).toBeUndefined();
      expect(text(events)).toBe(PLAIN_TEXT);
      expect(events[0]?.type).toBe('messageMetadata');
      expect(events.some((e) => e.type === 'metadata')).toBe(true);
    }
  });

  test('headers of §2.3 / §5.6', async () => {
    let n = 0;
    const c = client({ randomUUID: () => `00000000-0000-4000-8000-00000000000${n++}` });
    await collect(await c.generateAssistantResponse({ body: body('hi'), accessToken: TOKEN, machineId: MACHINE_ID }));
    const h = (await lastRecord()).headers;
    expect(h.authorization).toBe(`Bearer ${tokenFingerprint(TOKEN)}`);
    expect(h['x-amzn-codewhisperer-optout']).toBe('true');
    expect(h['x-amzn-kiro-agent-mode']).toBe('vibe');
    expect(h['amz-sdk-invocation-id']).toBe('00000000-0000-4000-8000-000000000000');
    expect(h['amz-sdk-request']).toBe('attempt=1; max=1');
    expect(MACHINE_ID).toMatch(/^[0-9a-f]{64}$/);
    expect(h['user-agent']).toMatch(
      new RegExp(`^aws-sdk-js/1\\.0\\.34 ua/2\\.1 os/\\S+ lang/js md/nodejs#\\S+ api/codewhispererstreaming#1\\.0\\.34 m/E KiroIDE-[\\d.]+-${MACHINE_ID}$`),
    );
    expect(h['x-amz-user-agent']).toMatch(new RegExp(`^aws-sdk-js/1\\.0\\.34 KiroIDE-[\\d.]+-${MACHINE_ID}$`));
    expect(h.tokentype).toBeUndefined();
    // the body goes out untouched
    expect((await lastRecord()).body).toEqual(body('hi'));
  });

  test('api_key accounts send tokentype: API_KEY', async () => {
    fake.seedToken({ accessToken: 'ksk_fake_api_key', expiresIn: 3600, authMethod: 'social' });
    await collect(await client().generateAssistantResponse({ body: body('hi'), accessToken: 'ksk_fake_api_key', authMethod: 'api_key' }));
    expect((await lastRecord()).headers.tokentype).toBe('API_KEY');
  });

  test('tool events', async () => {
    const { events } = await collect(await client().generateAssistantResponse({ body: body('[[fake:tool:name=calc]]'), accessToken: TOKEN }));
    const tools = events.filter((e) => e.type === 'toolUse');
    expect(tools[0]).toEqual({ type: 'toolUse', toolUseId: 'tooluse_fake000000000000000001', name: 'calc' });
    expect(tools.map((t) => (t.type === 'toolUse' ? (t.input ?? '') : '')).join('')).toBe('{"city":"Paris","unit":"celsius"}');
    expect(tools.at(-1)).toMatchObject({ stop: true });
    expect(text(events)).toBe('Let me check.');
  });

  test('tool input sent as an object is stringified', async () => {
    const { events } = await collect(await client().generateAssistantResponse({ body: body('[[fake:tool_object_input]]'), accessToken: TOKEN }));
    const withInput = events.find((e) => e.type === 'toolUse' && e.input !== undefined);
    expect(withInput?.type === 'toolUse' && JSON.parse(withInput.input ?? '')).toEqual({ city: 'Paris', unit: 'celsius' });
  });

  test('unknown events become ignored; duplicate deltas are kept', async () => {
    const { events } = await collect(await client().generateAssistantResponse({ body: body('[[fake:unknown_events]]'), accessToken: TOKEN }));
    expect(text(events)).toBe(PLAIN_TEXT);
    const ignored = events.flatMap((e) => (e.type === 'ignored' ? [e.eventType] : []));
    expect(ignored).toEqual(['codeReferenceEvent', 'supplementaryWebLinksEvent', 'followupPromptEvent', 'futureEvent']);
    const dup = await collect(await client().generateAssistantResponse({ body: body('[[fake:dup_text]]'), accessToken: TOKEN }));
    expect(text(dup.events)).toBe('haha!');
  });

  test('empty stream ends cleanly', async () => {
    const { events, error } = await collect(await client().generateAssistantResponse({ body: body('[[fake:empty]]'), accessToken: TOKEN }));
    expect(error).toBeUndefined();
    expect(events).toEqual([]);
  });
});

describe('HTTP errors before the first byte', () => {
  test.each([
    ['suspended', 403, 'suspended'],
    ['capacity', 429, 'capacity'],
    ['monthly_limit', 402, 'quota'],
    ['too_long', 400, 'too_long'],
    ['invalid_model', 400, 'invalid_model'],
    ['malformed', 400, 'bad_request'],
    ['internal', 500, 'server_error'],
    ['high_load', 500, 'capacity'],
    ['not_entitled', 403, 'forbidden'],
    ['daily_limit', 429, 'quota'],
  ] as const)('%s → %i %s', async (scenario, status, kind) => {
    const err = await rejection(client().generateAssistantResponse({ body: body(`[[fake:${scenario}]]`), accessToken: TOKEN }));
    expect(err.kind).toBe(kind);
    expect(err.status).toBe(status);
    expect(err.phase).toBe('before_first_byte');
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.upstreamMessage).toBeString();
  });

  test('invalid bearer → invalid_token with the coral error type', async () => {
    const err = await rejection(client().generateAssistantResponse({ body: body('hi'), accessToken: 'nope' }));
    expect(err.kind).toBe('invalid_token');
    expect(err.status).toBe(403);
    expect(err.errorType).toBe('AccessDeniedException');
  });

  test('throttle with Retry-After, then success on the next call', async () => {
    const err = await rejection(client().generateAssistantResponse({ body: body('[[fake:throttle:retry_after=3]]'), accessToken: TOKEN }));
    expect(err.kind).toBe('throttled');
    expect(err.status).toBe(429);
    expect(err.retryAfterMs).toBe(3000);
    const s = await client().generateAssistantResponse({ body: body('[[fake:throttle:retry_after=3]]'), accessToken: TOKEN });
    expect(text((await collect(s)).events)).toBe(PLAIN_TEXT);
  });

  test('rest dialect errors classify the same', async () => {
    const err = await rejection(client({ dialect: 'rest' }).generateAssistantResponse({ body: body('[[fake:too_long]]'), accessToken: TOKEN }));
    expect(err.kind).toBe('too_long');
  });

  test('connection refused → network', async () => {
    const probe = Bun.serve({ port: 0, fetch: () => new Response('') });
    const port = probe.port;
    await probe.stop(true);
    const err = await rejection(createQClient({ endpoint: `http://127.0.0.1:${port}` }).generateAssistantResponse({ body: body('hi'), accessToken: TOKEN }));
    expect(err.kind).toBe('network');
    expect(err.phase).toBe('before_first_byte');
  });
});

describe('timeouts and cancellation', () => {
  test('headers later than firstByteMs → timeout before the first byte', async () => {
    const started = performance.now();
    const err = await rejection(
      client({ timeouts: { firstByteMs: 200 } }).generateAssistantResponse({ body: body('[[fake:slow:first_ms=3000,gap_ms=0]]'), accessToken: TOKEN }),
    );
    expect(err.kind).toBe('timeout');
    expect(err.phase).toBe('before_first_byte');
    expect(performance.now() - started).toBeLessThan(1500);
  });

  test('stall → idle timeout mid-stream; the fake sees the disconnect', async () => {
    const s = await client({ timeouts: { idleMs: 250 } }).generateAssistantResponse({ body: body('[[fake:stall:after=2]]'), accessToken: TOKEN });
    const started = performance.now();
    const { events, error } = await collect(s);
    expect(events.filter((e) => e.type === 'assistantResponse')).toHaveLength(2);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).kind).toBe('timeout');
    expect((error as UpstreamError).phase).toBe('mid_stream');
    expect(performance.now() - started).toBeLessThan(2000);
    const r = await lastRecord();
    expect(r.disconnectedEarly).toBe(true);
  });

  test('the idle timeout bounds each wait, not the stream: gaps under it pass, a slow consumer does not trip it', async () => {
    // 8 gaps of 120 ms against a 250 ms idle timeout: ~1 s in all, no single wait near the limit
    const s = await client({ timeouts: { idleMs: 250 } }).generateAssistantResponse({ body: body('[[fake:long:n=8,gap_ms=120]]'), accessToken: TOKEN });
    const seen: QEvent[] = [];
    for await (const e of s.events) {
      seen.push(e);
      // the consumer itself takes longer than the timeout once: not reading is not idling
      if (seen.length === 3) await Bun.sleep(400);
    }
    expect(seen.filter((e) => e.type === 'assistantResponse')).toHaveLength(8);
  });

  test('slow_headers: the idle timer also covers the wait for the first frame', async () => {
    const s = await client({ timeouts: { idleMs: 200 } }).generateAssistantResponse({ body: body('[[fake:slow_headers:first_ms=3000]]'), accessToken: TOKEN });
    const { events, error } = await collect(s);
    expect(events).toEqual([]);
    expect((error as UpstreamError).kind).toBe('timeout');
  });

  test('caller abort mid-stream rejects with the caller reason and closes the connection', async () => {
    const ac = new AbortController();
    const s = await client().generateAssistantResponse({ body: body('[[fake:long:n=200,gap_ms=20]]'), accessToken: TOKEN, signal: ac.signal });
    const seen: QEvent[] = [];
    let caught: unknown;
    const reason = new Error('client went away');
    try {
      for await (const e of s.events) {
        seen.push(e);
        if (seen.length === 3) ac.abort(reason);
      }
    } catch (e) {
      caught = e;
    }
    expect(caught).toBe(reason);
    expect(seen.length).toBeLessThan(10);
    const r = await lastRecord();
    expect(r.disconnectedEarly).toBe(true);
  });

  test('caller abort before headers', async () => {
    const ac = new AbortController();
    const p = client().generateAssistantResponse({ body: body('[[fake:slow:first_ms=3000]]'), accessToken: TOKEN, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('gave up')), 50);
    const started = performance.now();
    await expect(p).rejects.toThrow('gave up');
    expect(performance.now() - started).toBeLessThan(1000);
    const r = await lastRecord();
    expect(r.disconnectedEarly).toBe(true);
  });

  test('breaking out of the loop closes the connection', async () => {
    const s = await client().generateAssistantResponse({ body: body('[[fake:long:n=200,gap_ms=20]]'), accessToken: TOKEN });
    let n = 0;
    for await (const _ of s.events) if (++n === 2) break;
    expect((await lastRecord()).disconnectedEarly).toBe(true);
  });

  test('cancel() without iterating closes the connection', async () => {
    const s = await client().generateAssistantResponse({ body: body('[[fake:long:n=200,gap_ms=20]]'), accessToken: TOKEN });
    s.cancel();
    expect((await lastRecord()).disconnectedEarly).toBe(true);
  });
});

describe('broken streams → UpstreamError stream, mid_stream', () => {
  // Every good frame before a corrupt one must come out before the error, whether or not they share
  // a read with the bad bytes (the decoder returns them and throws on the next call). Only cuts at
  // the TCP/HTTP level are "at most": Bun may fail the body before handing over bytes it holds.
  test.each([
    ['midstream_exception', 'exactly', undefined, 'InternalServerException'],
    ['midstream_error', 'exactly', undefined, 'InternalError'],
    ['truncated', 'exactly', 'truncated', undefined],
    ['truncated:eof=fin', 'at most', undefined, undefined], // HTTP-level cut: Bun may error the body before handing over what it holds
    ['reset:gap_ms=20', 'at most', undefined, undefined], // an RST may overtake data still in flight
    ['reset', 'at most', undefined, undefined],
    ['bad_crc:gap_ms=20', 'exactly', 'message_crc', undefined],
    ['bad_crc:which=prelude,gap_ms=20', 'exactly', 'prelude_crc', undefined],
    ['bad_length:gap_ms=20', 'exactly', 'length', undefined],
    ['bad_crc', 'exactly', 'message_crc', undefined],
    ['bad_length', 'exactly', 'length', undefined],
  ] as const)('%s', async (scenario, count, streamErrorKind, errorType) => {
    const s = await client().generateAssistantResponse({ body: body(`[[fake:${scenario}]]`), accessToken: TOKEN });
    const { events, error } = await collect(s);
    const texts = events.filter((e) => e.type === 'assistantResponse').length;
    if (count === 'exactly') expect(texts).toBe(3);
    else expect(texts).toBeLessThanOrEqual(3);
    expect(error).toBeInstanceOf(UpstreamError);
    const err = error as UpstreamError;
    expect(err.kind).toBe('stream');
    expect(err.phase).toBe('mid_stream');
    expect(err.requestId).toBe(s.requestId!);
    if (streamErrorKind) expect(err.streamErrorKind).toBe(streamErrorKind);
    if (errorType) expect(err.errorType).toBe(errorType);
  });

  test('mid-stream ThrottlingException is throttled but still mid_stream', async () => {
    const s = await client().generateAssistantResponse({ body: body('[[fake:midstream_exception:type=ThrottlingException,after=1]]'), accessToken: TOKEN });
    const { events, error } = await collect(s);
    expect(events).toHaveLength(1);
    expect((error as UpstreamError).kind).toBe('throttled');
    expect((error as UpstreamError).phase).toBe('mid_stream');
  });
});

describe('ListAvailableModels / GetUsageLimits', () => {
  const PROFILE = 'arn:aws:codewhisperer:us-east-1:000000000000:profile/FAKEPROFILE01';

  test.each(['rpc', 'rest'] as const)('%s dialect', async (dialect) => {
    const c = client({ dialect });
    const models = await c.listAvailableModels({ accessToken: TOKEN, profileArn: PROFILE });
    expect(models.models.map((m) => m.modelId)).toContain('claude-sonnet-4.5');
    const rm = await lastRecord();
    const usage = await c.getUsageLimits({ accessToken: TOKEN, profileArn: PROFILE });
    expect(usage).toBeObject();
    const ru = await lastRecord();
    if (dialect === 'rpc') {
      expect([rm.method, rm.path, rm.headers['x-amz-target']]).toEqual(['POST', '/', 'AmazonCodeWhispererService.ListAvailableModels']);
      expect(rm.body).toEqual({ origin: 'AI_EDITOR', profileArn: PROFILE });
      expect([ru.method, ru.path, ru.headers['x-amz-target']]).toEqual(['POST', '/', 'AmazonCodeWhispererService.GetUsageLimits']);
      expect(ru.body).toEqual({ origin: 'AI_EDITOR', resourceType: 'AGENTIC_REQUEST', profileArn: PROFILE });
    } else {
      expect([rm.method, rm.path]).toEqual(['GET', '/ListAvailableModels']);
      expect(rm.query).toEqual({ origin: 'AI_EDITOR', profileArn: PROFILE });
      expect([ru.method, ru.path]).toEqual(['GET', '/getUsageLimits']);
      expect(ru.query).toEqual({ origin: 'AI_EDITOR', resourceType: 'AGENTIC_REQUEST', profileArn: PROFILE });
    }
  });

  test('invalid token → classified error', async () => {
    const err = await rejection(client().getUsageLimits({ accessToken: 'nope' }));
    expect(err.kind).toBe('invalid_token');
    const err2 = await rejection(client({ dialect: 'rest' }).listAvailableModels({ accessToken: 'nope' }));
    expect(err2.kind).toBe('invalid_token');
  });
});

describe('proxy', () => {
  let proxy: http.Server;
  let proxyUrl = '';
  const seen: string[] = [];

  beforeAll(async () => {
    // A forwarding HTTP proxy in a few lines: absolute-form request in, same request out.
    proxy = http.createServer(async (req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'proxy-connection')) as Record<string, string>;
      const up = await fetch(req.url!, { method: req.method, headers, body: chunks.length > 0 ? Buffer.concat(chunks) : undefined, proxy: false });
      res.writeHead(up.status, Object.fromEntries(up.headers));
      for await (const c of up.body!) res.write(c);
      res.end();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    proxy.close();
  });

  test('http target goes through httpProxy; NO_PROXY bypasses it', async () => {
    seen.length = 0;
    const via = client({ proxy: { httpProxy: proxyUrl } });
    const s = await via.generateAssistantResponse({ body: body('hi'), accessToken: TOKEN });
    expect(text((await collect(s)).events)).toBe(PLAIN_TEXT);
    expect(seen).toEqual([`POST ${fake.url}/`]);

    const direct = client({ proxy: { httpProxy: proxyUrl, noProxy: 'localhost,127.0.0.1' } });
    await collect(await direct.generateAssistantResponse({ body: body('hi'), accessToken: TOKEN }));
    await direct.listAvailableModels({ accessToken: TOKEN });
    expect(seen).toHaveLength(1);
  });
});
