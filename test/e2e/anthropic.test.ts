// The Anthropic Messages API end to end: the official @anthropic-ai/sdk against a real gateway in
// front of the fake upstream. Covers streaming and not, tools, thinking, images, limits, every error
// class, broken upstream streams and client disconnects.

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import Anthropic from '@anthropic-ai/sdk';
import { Elysia } from 'elysia';
import { startFakeUpstream, type FakeUpstream, type RecordedRequest } from '../fake-upstream/server';
import { startGateway, type Gateway } from '../support/gateway';
import { anthropicRoutes } from '../../src/http/anthropic';
import { createChatEngine } from '../../src/chat/engine';
import { readSignature } from '../../src/dialects/anthropic/signature';
import { rejectionOf } from '../support/rejection';

const KEY = 'sk-test-client-key';
const AT = 'fake-at-anthropic-e2e';
const RT = 'fake-rt-anthropic-e2e';
const MAX_REQUEST_BYTES = 64 * 1024;
const PLAIN_TEXT = 'Hello from the fake upstream. This reply is split into many small events.';
// 1×1 transparent PNG
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
const MODEL = 'claude-sonnet-4-6';

let fake: FakeUpstream;
let gw: Gateway;
let client: Anthropic;
let images: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  // Strict: the fake also enforces Q's request rules (upstream-protocol.md §2.5) on everything we send.
  fake = await startFakeUpstream({ strict_requests: true });
  gw = await startGateway({ upstreamUrl: fake.url, env: { OPENAI_KEYS: KEY, MAX_REQUEST_BYTES: String(MAX_REQUEST_BYTES) } });
  await gw.ctx.store.accounts.create({ refreshToken: RT, accessToken: AT, expiresAt: new Date(Date.now() + 3600_000), authMethod: 'social' });
  client = new Anthropic({ apiKey: KEY, baseURL: gw.url, maxRetries: 0 });
  images = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === '/pixel.png') return new Response(Buffer.from(PNG_B64, 'base64'), { headers: { 'content-type': 'image/png' } });
      if (path === '/pixel.bin') return new Response(Buffer.from(PNG_B64, 'base64'), { headers: { 'content-type': 'application/octet-stream' } });
      if (path === '/big.png') return new Response(new Uint8Array(11 * 1024 * 1024));
      if (path === '/page.html') return new Response('<html></html>', { headers: { 'content-type': 'text/html' } });
      return new Response('no', { status: 404 });
    },
  });
});
afterAll(async () => {
  images.stop(true);
  await gw.stop();
  await fake.stop();
});
beforeEach(async () => {
  fake.reset();
  fake.seedToken({ accessToken: AT, refreshToken: RT, expiresIn: 3600, authMethod: 'social' });
  // A throttle or quota answer rests the only account (pool cooldowns): every test starts with it fresh.
  for (const a of (await gw.ctx.store.accounts.list()).items) await gw.ctx.store.accounts.update(a.id, { cooldownUntil: null, quotaRemaining: null, quotaResetAt: null });
});

const user = (content: Anthropic.MessageParam['content']): Anthropic.MessageParam => ({ role: 'user', content });
const qRequests = () => fake.requests().filter((r) => r.operation === 'GenerateAssistantResponse' || r.operation === 'SendMessage');
const lastQBody = () => qRequests().at(-1)!.body as { conversationState: Record<string, any> };

const apiError = (p: Promise<unknown>) => rejectionOf<InstanceType<typeof Anthropic.APIError>>(p, Anthropic.APIError);

/** Raw SSE events of a streaming call, parsed. */
async function rawEvents(body: object, headers: Record<string, string> = {}): Promise<{ status: number; events: any[]; headers: Headers }> {
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': KEY, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: MODEL, max_tokens: 1024, stream: true, ...body }),
  });
  const text = await res.text();
  const events = text
    .split('\n\n')
    .filter(Boolean)
    .map((f) => {
      const lines = f.split('\n');
      const data = JSON.parse(lines.find((l) => l.startsWith('data: '))!.slice(6));
      expect(lines[0]).toBe(`event: ${data.type}`);
      return data;
    });
  return { status: res.status, events, headers: res.headers };
}

describe('messages', () => {
  test('messages.create returns an Anthropic Message', async () => {
    const { data: msg, response } = await client.messages
      .create({ model: MODEL, max_tokens: 1024, system: 'Be brief.', messages: [user('Hi')] })
      .withResponse();
    expect(msg.id).toMatch(/^msg_01[1-9A-HJ-NP-Za-km-z]{22}$/);
    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.model).toBe(MODEL);
    expect(msg.content).toEqual([{ type: 'text', text: PLAIN_TEXT } as Anthropic.ContentBlock]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.stop_sequence).toBeNull();
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
    expect(msg.usage.cache_read_input_tokens).toBe(0);
    expect(response.headers.get('request-id')).toMatch(/^req_01/);
  });

  test('messages.stream(...).finalMessage() with beta query and headers', async () => {
    const stream = client.messages.stream(
      { model: MODEL, max_tokens: 1024, messages: [user('[[fake:plain:chunk=3]] Hi')], metadata: { user_id: 'u1' }, top_k: 5, temperature: 0.2 },
      { headers: { 'anthropic-beta': 'interleaved-thinking-2025-05-14,context-management-2025-06-27' }, query: { beta: 'true' } },
    );
    const texts: string[] = [];
    stream.on('text', (t) => texts.push(t));
    const msg = await stream.finalMessage();
    expect(msg.content).toEqual([{ type: 'text', text: PLAIN_TEXT }] as never);
    expect(texts.join('')).toBe(PLAIN_TEXT);
    expect(texts.length).toBeGreaterThan(10);
    expect(msg.stop_reason).toBe('end_turn');
  });

  test('raw stream: exact event order, strictly increasing indexes, usage in message_start and message_delta', async () => {
    fake.enqueue({ scenario: 'tool_then_text' });
    const { status, events, headers } = await rawEvents({
      messages: [user('weather?')],
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    });
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(headers.get('cache-control')).toBe('no-cache');
    expect(headers.get('x-accel-buffering')).toBe('no');
    const types = events.map((e) => e.type).filter((t) => t !== 'ping');
    expect(types[0]).toBe('message_start');
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
    const start = events[0].message;
    expect(start).toMatchObject({ type: 'message', role: 'assistant', content: [], model: MODEL, stop_reason: null, stop_sequence: null });
    expect(start.usage).toMatchObject({ output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(start.usage.input_tokens).toBeGreaterThan(0);
    // block structure: start → deltas → stop, indexes 0,1,2 in order, never interleaved
    const blocks: Array<{ index: number; type: string }> = [];
    let open: number | undefined;
    for (const e of events) {
      if (e.type === 'content_block_start') {
        expect(open).toBeUndefined();
        expect(e.index).toBe(blocks.length);
        blocks.push({ index: e.index, type: e.content_block.type });
        open = e.index;
      } else if (e.type === 'content_block_delta') expect(e.index).toBe(open!);
      else if (e.type === 'content_block_stop') {
        expect(e.index).toBe(open!);
        open = undefined;
      }
    }
    expect(blocks.map((b) => b.type)).toEqual(['text', 'tool_use', 'text']);
    const toolStart = events.find((e) => e.type === 'content_block_start' && e.content_block.type === 'tool_use');
    expect(toolStart.content_block).toEqual({ type: 'tool_use', id: 'tooluse_fake000000000000000001', name: 'get_weather', input: {} });
    const json = events.filter((e) => e.delta?.type === 'input_json_delta').map((e) => e.delta.partial_json);
    expect(json.length).toBeGreaterThan(1);
    expect(JSON.parse(json.join(''))).toEqual({ city: 'Paris', unit: 'celsius' });
    const delta = events.find((e) => e.type === 'message_delta');
    expect(delta.delta).toEqual({ stop_reason: 'tool_use', stop_sequence: null });
    expect(delta.usage.output_tokens).toBeGreaterThan(0);
    expect(delta.usage.input_tokens).toBeGreaterThan(0);
  });

  test('stop sequences cut the answer', async () => {
    const msg = await client.messages.create({ model: MODEL, max_tokens: 1024, stop_sequences: ['reply'], messages: [user('Hi')] });
    expect(msg.content).toEqual([{ type: 'text', text: 'Hello from the fake upstream. This ' } as Anthropic.ContentBlock]);
    expect(msg.stop_reason).toBe('stop_sequence');
    expect(msg.stop_sequence).toBe('reply');
    const streamed = await client.messages.stream({ model: MODEL, max_tokens: 1024, stop_sequences: ['split'], messages: [user('Hi')] }).finalMessage();
    expect(streamed.stop_reason).toBe('stop_sequence');
    expect(streamed.stop_sequence).toBe('split');
    expect((streamed.content[0] as Anthropic.TextBlock).text).toBe('Hello from the fake upstream. This reply is ');
  });

  test('max_tokens cuts the answer and stops the upstream', async () => {
    const msg = await client.messages.stream({ model: MODEL, max_tokens: 5, messages: [user('[[fake:long:n=2000]] go')] }).finalMessage();
    expect(msg.stop_reason).toBe('max_tokens');
    expect(msg.usage.output_tokens).toBeLessThanOrEqual(6);
    expect((msg.content[0] as Anthropic.TextBlock).text.length).toBeLessThan(200);
    // The gateway stopped reading: the upstream saw the connection close before its 2000 events.
    let record: RecordedRequest | undefined;
    for (let i = 0; i < 100 && !record?.done; i++) {
      record = qRequests().at(-1);
      if (!record?.done) await Bun.sleep(5);
    }
    expect(record?.disconnectedEarly).toBe(true);
  });

  test('count_tokens: same count as the run, key required', async () => {
    const body = {
      model: MODEL,
      system: 'You are terse.',
      messages: [user('What is the weather in Paris today?')],
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } }],
    };
    const counted = await client.messages.countTokens(body);
    expect(counted.input_tokens).toBeGreaterThan(10);
    const msg = await client.messages.create({ ...body, max_tokens: 100 });
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    const { events } = await rawEvents(body);
    expect(events[0].message.usage.input_tokens).toBe(counted.input_tokens);
    const res = await fetch(`${gw.url}/v1/messages/count_tokens?beta=true`, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(401);
    expect((await res.json()).error.type).toBe('authentication_error');
  });
});

describe('tools', () => {
  const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } };
  const time = { name: 'get_time', description: 'Time in a zone', input_schema: { type: 'object' as const, properties: { tz: { type: 'string' } } } };
  const SYSTEM = 'SYSTEM-MARKER: you are a weather bot.';

  test('one tool: tool_use → tool_result → answer, with pairing and system on the result turn', async () => {
    fake.enqueue({ scenario: 'tool' });
    const first = await client.messages.create({ model: MODEL, max_tokens: 1024, system: SYSTEM, tools: [weather], messages: [user('Weather in Paris?')] });
    expect(first.stop_reason).toBe('tool_use');
    const call = first.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
    expect(call as unknown).toEqual({ type: 'tool_use', id: 'tooluse_fake000000000000000001', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } });

    const second = await client.messages.create({
      model: MODEL,
      max_tokens: 1024,
      system: SYSTEM,
      tools: [weather],
      messages: [
        user('Weather in Paris?'),
        { role: 'assistant', content: first.content },
        user([{ type: 'tool_result', tool_use_id: call.id, content: '18°C and sunny' }]),
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect((second.content[0] as Anthropic.TextBlock).text).toBe(PLAIN_TEXT);

    const state = lastQBody().conversationState;
    const history = state.history as any[];
    const assistant = history.at(-1).assistantResponseMessage;
    expect(assistant.toolUses).toEqual([{ toolUseId: call.id, name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } }]);
    const results = state.currentMessage.userInputMessage.userInputMessageContext.toolResults;
    expect(results).toEqual([{ toolUseId: call.id, content: [{ text: '18°C and sunny' }], status: 'success' }]);
    // Q has no system slot: the system prompt rides on the first user turn of every request.
    expect(state.history[0].userInputMessage.content).toContain('SYSTEM-MARKER');
  });

  test('two tools: results sent back out of order are paired in call order; errors keep their status', async () => {
    fake.enqueue({ scenario: 'tools', args: { n: 2 } });
    const first = await client.messages.create({ model: MODEL, max_tokens: 1024, system: SYSTEM, tools: [weather, time], messages: [user('Both please')] });
    const calls = first.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(calls.map((c) => c.name)).toEqual(['get_weather', 'get_time']);
    expect(new Set(calls.map((c) => c.id)).size).toBe(2);
    expect(first.stop_reason).toBe('tool_use');

    await client.messages.create({
      model: MODEL,
      max_tokens: 1024,
      system: SYSTEM,
      tools: [weather, time],
      messages: [
        user('Both please'),
        { role: 'assistant', content: first.content },
        user([
          { type: 'tool_result', tool_use_id: calls[1]!.id, content: [{ type: 'text', text: '12:00' }] },
          { type: 'tool_result', tool_use_id: calls[0]!.id, content: 'network down', is_error: true },
        ]),
      ],
    });
    const state = lastQBody().conversationState;
    const results = state.currentMessage.userInputMessage.userInputMessageContext.toolResults;
    expect(results.map((r: any) => [r.toolUseId, r.status])).toEqual([
      [calls[0]!.id, 'error'],
      [calls[1]!.id, 'success'],
    ]);
    expect(state.history.at(-1).assistantResponseMessage.toolUses.map((t: any) => t.toolUseId)).toEqual(calls.map((c) => c.id));
    expect(state.history[0].userInputMessage.content).toContain('SYSTEM-MARKER');
  });

  test('a tool name over 64 characters is aliased upstream and mapped back in the response', async () => {
    const long = `mcp__very_long_server_name__${'x'.repeat(60)}`;
    fake.enqueue({ scenario: 'tool' });
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      tools: [{ ...weather, name: long }],
      messages: [user('go')],
    });
    expect((msg.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock).name).toBe(long);
    const sent = lastQBody().conversationState.currentMessage.userInputMessage.userInputMessageContext.tools[0].toolSpecification.name;
    expect(sent.length).toBeLessThanOrEqual(64);
  });

  test('assistant prefill is accepted; the answer is the continuation', async () => {
    const { data, response } = await client.messages
      .create({ model: MODEL, max_tokens: 100, messages: [user('Count to 3'), { role: 'assistant', content: '1, 2,' }] })
      .withResponse();
    expect(data.content).toEqual([{ type: 'text', text: PLAIN_TEXT }] as never);
    expect(response.headers.get('x-q2api-warnings')).toContain('prefill');
  });

  test('a server tool without input_schema does not crash the request and is named in a warning header', async () => {
    const { data, response } = await client.messages
      .create({
        model: MODEL,
        max_tokens: 100,
        tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 3 }, weather],
        messages: [user('Hi')],
      })
      .withResponse();
    expect(data.stop_reason).toBe('end_turn');
    expect(response.headers.get('x-q2api-warnings')).toContain('web_search');
    const tools = lastQBody().conversationState.currentMessage.userInputMessage.userInputMessageContext.tools;
    expect(tools.map((t: any) => t.toolSpecification.name)).toEqual(['get_weather']);
  });
});

describe('thinking', () => {
  test('<thinking> tags split mid-tag become a signed thinking block before the text', async () => {
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 2048,
      thinking: { type: 'enabled', budget_tokens: 1024 },
      messages: [user('[[fake:thinking]] Hi')],
    });
    const signatures: string[] = [];
    stream.on('signature', (s) => signatures.push(s));
    const msg = await stream.finalMessage();
    expect(msg.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    const thinking = msg.content[0] as Anthropic.ThinkingBlock;
    expect(thinking.thinking).toBe('The user greets me; reply briefly.');
    expect(thinking.signature).toBe('q2api.v1.none');
    expect(signatures).toEqual(['q2api.v1.none']);
    expect((msg.content[1] as Anthropic.TextBlock).text.trim()).toBe('Hello!');
  });

  test('reasoning events keep the upstream signature (wrapped); non-streaming is the same fold', async () => {
    const msg = await client.messages.create({
      model: MODEL,
      max_tokens: 2048,
      thinking: { type: 'adaptive' } as never,
      messages: [user('[[fake:thinking:mode=event]] Hi')],
    });
    const thinking = msg.content[0] as Anthropic.ThinkingBlock;
    expect(thinking.type).toBe('thinking');
    expect(thinking.thinking).toBe('The user greets me; reply briefly.');
    expect(readSignature(thinking.signature)).toEqual({ ours: true, upstream: 'fake-sig' });
    expect((msg.content[1] as Anthropic.TextBlock).text).toBe('Hello!');
  });
});

describe('images', () => {
  test('base64 and URL images reach the upstream as bytes', async () => {
    await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      messages: [
        user([
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } },
          { type: 'image', source: { type: 'url', url: `http://127.0.0.1:${images.port}/pixel.png` } },
          { type: 'image', source: { type: 'url', url: `http://127.0.0.1:${images.port}/pixel.bin` } },
          { type: 'text', text: 'What are these?' },
        ]),
      ],
    });
    const sent = lastQBody().conversationState.currentMessage.userInputMessage.images;
    expect(sent).toEqual([0, 1, 2].map(() => ({ format: 'png', source: { bytes: PNG_B64 } })));
  });

  test('unfetchable, oversized and non-image URLs are 400s naming the field', async () => {
    const url = (path: string) =>
      client.messages.create({
        model: MODEL,
        max_tokens: 100,
        messages: [user('x'), { role: 'assistant', content: 'y' }, user([{ type: 'text', text: 'see' }, { type: 'image', source: { type: 'url', url: `http://127.0.0.1:${images.port}${path}` } }])],
      });
    for (const [path, why] of [
      ['/missing.png', /HTTP 404/],
      ['/big.png', /larger than/],
      ['/page.html', /unsupported content type/],
    ] as const) {
      const err = await apiError(url(path));
      expect(err.status).toBe(400);
      expect(err.message).toContain('messages.2.content.1.source.url');
      expect(err.message).toMatch(why);
    }
  });
});

describe('errors', () => {
  const body = (content: string) => ({ model: MODEL, max_tokens: 100, messages: [user(content)] });

  test('400 names the field; the SDK sees invalid_request_error', async () => {
    const err = await apiError(client.messages.create({ model: MODEL, messages: [user('x')] } as never));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    const bad = await apiError(
      client.messages.create({ ...body('x'), messages: [user([{ type: 'text', text: 'a' }, { type: 'image', source: { type: 'base64' } } as never])] }),
    );
    expect(bad.message).toContain('messages.0.content.1.source.media_type');
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': KEY }, body: '{"model": "x",' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  test('401 without or with a wrong key (x-api-key and Bearer)', async () => {
    const wrong = new Anthropic({ apiKey: 'nope', baseURL: gw.url, maxRetries: 0 });
    const err = await apiError(wrong.messages.create(body('x')));
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const bearer = new Anthropic({ authToken: KEY, apiKey: null, baseURL: gw.url, maxRetries: 0 });
    expect((await bearer.messages.create(body('x'))).type).toBe('message');
  });

  test('404 for an unknown route, in Anthropic shape', async () => {
    const res = await fetch(`${gw.url}/v1/messages/nope`, { method: 'POST', headers: { 'x-api-key': KEY }, body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
  });

  test('413 for a body over the limit, by Content-Length and by bytes actually sent', async () => {
    const big = JSON.stringify(body('x'.repeat(MAX_REQUEST_BYTES)));
    const err = await apiError(client.messages.create(JSON.parse(big)));
    expect(err.status).toBe(413);
    expect(err.error).toMatchObject({ type: 'error', error: { type: 'request_too_large' } });
    const chunked = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const res = await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': KEY }, body: chunked });
    expect(res.status).toBe(413);
    expect((await res.json()).error.type).toBe('request_too_large');
  });

  test('429 with retry-after when every account is throttled', async () => {
    const { response } = await client.messages.create(body('[[fake:throttle:n=9,retry_after=7]] x')).withResponse().catch((e) => ({ response: e }));
    const err = response as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(err.headers?.get('retry-after')).toBe('7');
    expect(err.error).toMatchObject({ error: { type: 'rate_limit_error' } });
  });

  test('529 overloaded for model capacity', async () => {
    const err = await apiError(client.messages.create(body('[[fake:capacity]] x')));
    expect(err.status).toBe(529);
    expect(err.error).toMatchObject({ error: { type: 'overloaded_error' } });
  });

  test('400 "prompt is too long" for a context the upstream refuses', async () => {
    const err = await apiError(client.messages.create(body('[[fake:too_long]] x')));
    expect(err.status).toBe(400);
    expect(err.error).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect((err.error as any).error.message).toStartWith('prompt is too long');
  });

  test('5xx api_error when the upstream keeps failing', async () => {
    const err = await apiError(client.messages.create(body('[[fake:internal:n=9]] x')));
    expect(err.status).toBeGreaterThanOrEqual(500);
    expect(err.error).toMatchObject({ error: { type: 'api_error' } });
  });

  for (const scenario of ['midstream_exception', 'truncated', 'bad_crc']) {
    test(`${scenario} after the first events: event: error, the SDK raises, no fake end_turn`, async () => {
      const { events } = await rawEvents({ messages: [user(`[[fake:${scenario}:after=3]] x`)] });
      expect(events[0].type).toBe('message_start');
      expect(events.some((e) => e.type === 'content_block_delta')).toBe(true);
      expect(events.at(-1).type).toBe('error');
      expect(events.at(-1).error.type).toMatch(/api_error|overloaded_error/);
      expect(events.some((e) => e.type === 'message_delta' || e.type === 'message_stop')).toBe(false);
      const err = await apiError(client.messages.stream(body(`[[fake:${scenario}:after=3]] x`)).finalMessage());
      expect(err.message.length).toBeGreaterThan(0);
      const nonStream = await apiError(client.messages.create(body(`[[fake:${scenario}:after=3]] x`)));
      expect(nonStream.status).toBeGreaterThanOrEqual(500);
    });
  }
});

describe('transport', () => {
  test('a client that disconnects closes the upstream connection within 100 ms', async () => {
    const abort = new AbortController();
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY },
      body: JSON.stringify({ model: MODEL, max_tokens: 1024, stream: true, messages: [user('[[fake:stall:after=2]] x')] }),
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('content_block_delta')) seen += new TextDecoder().decode((await reader.read()).value);
    const abortedAt = Date.now();
    abort.abort();
    let record: RecordedRequest | undefined;
    for (let i = 0; i < 100 && !record?.done; i++) {
      await Bun.sleep(5);
      record = qRequests().at(-1);
    }
    expect(record?.scenario).toBe('stall');
    expect(record?.disconnectedEarly).toBe(true);
    expect(record!.disconnectedAt! - abortedAt).toBeLessThan(100);
  });

  test('a non-streaming client that disconnects closes the upstream connection too', async () => {
    const abort = new AbortController();
    const pending = fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY },
      body: JSON.stringify({ model: MODEL, max_tokens: 1024, messages: [user('[[fake:stall:after=2]] x')] }),
      signal: abort.signal,
    }).catch(() => undefined);
    let record: RecordedRequest | undefined;
    for (let i = 0; i < 200 && !record; i++) {
      await Bun.sleep(5);
      record = qRequests().at(-1);
    }
    await Bun.sleep(50); // the two events are out; the gateway is now collecting and waiting
    const abortedAt = Date.now();
    abort.abort();
    await pending;
    for (let i = 0; i < 100 && !record?.done; i++) {
      await Bun.sleep(5);
      record = qRequests().at(-1);
    }
    expect(record?.disconnectedEarly).toBe(true);
    expect(record!.disconnectedAt! - abortedAt).toBeLessThan(100);
  });

  test("Bun's idle timeout does not cut a stream that goes silent", async () => {
    // idleTimeout 1 s stands in for Bun's 10 s default (Bun checks every ~4 s); pings are switched
    // off so that only the per-request timeout keeps the connection; the stream is silent 4.5 s.
    const app = new Elysia()
      .use(anthropicRoutes(gw.ctx, createChatEngine(gw.ctx), { keepaliveMs: 60_000 }))
      .listen({ hostname: '127.0.0.1', port: 0, idleTimeout: 1 });
    try {
      const slow = new Anthropic({ apiKey: KEY, baseURL: `http://127.0.0.1:${app.server!.port}`, maxRetries: 0 });
      const msg = await slow.messages
        .stream({ model: MODEL, max_tokens: 100, messages: [user('[[fake:plain:text=ab,chunk=1,gap_ms=4500,tail=0]] x')] })
        .finalMessage();
      expect((msg.content[0] as Anthropic.TextBlock).text).toBe('ab');
    } finally {
      await app.stop(true);
    }
  }, 15_000);

  test('a slow first token: the stream commits after the wait and pings until the answer', async () => {
    // The same routes on their own listener with short timings (the defaults are seconds).
    const app = new Elysia().use(anthropicRoutes(gw.ctx, createChatEngine(gw.ctx), { commitAfterMs: 60, keepaliveMs: 40 })).listen({ hostname: '127.0.0.1', port: 0 });
    try {
      const url = `http://127.0.0.1:${app.server!.port}/v1/messages`;
      const started = Date.now();
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'x-api-key': KEY },
        body: JSON.stringify({ model: MODEL, max_tokens: 100, stream: true, messages: [user('[[fake:slow_headers:first_ms=300]] x')] }),
      });
      expect(Date.now() - started).toBeLessThan(250);
      expect(res.status).toBe(200);
      const text = await res.text();
      const pings = text.split('event: ping').length - 1;
      expect(pings).toBeGreaterThanOrEqual(2);
      expect(text.indexOf('event: ping')).toBeLessThan(text.indexOf('event: message_start'));
      expect(text).toContain('event: message_stop');
      // An early failure still gets its real status.
      const failed = await fetch(url, {
        method: 'POST',
        headers: { 'x-api-key': KEY },
        body: JSON.stringify({ model: MODEL, max_tokens: 100, stream: true, messages: [user('[[fake:capacity]] x')] }),
      });
      expect(failed.status).toBe(529);
    } finally {
      await app.stop(true);
    }
  });
});
