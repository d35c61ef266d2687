// POST /v1/chat/completions through the official openai SDK against a real gateway and the fake
// upstream: text, streaming, usage, tools (one and two parallel calls, SDK stream helpers), images,
// reasoning, stop, length, and every error class with its real status and OpenAI error shape.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { startGateway, type Gateway } from '../support/gateway';
import { rejectionOf } from '../support/rejection';

const KEY = 'sk-openai-e2e';
const PLAIN = 'Hello from the fake upstream. This reply is split into many small events.';
// 1×1 PNG
const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const MAX_BODY = 64 * 1024;

let fake: FakeUpstream;
let gw: Gateway;
let client: OpenAI;
let images: ReturnType<typeof Bun.serve>;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ upstreamUrl: fake.url, env: { OPENAI_KEYS: KEY, MAX_REQUEST_BYTES: String(MAX_BODY) } });
  fake.seedToken({ accessToken: 'oa-at-1', refreshToken: 'oa-rt-1', expiresIn: 3600, authMethod: 'social' });
  await gw.ctx.store.accounts.create({
    accessToken: 'oa-at-1',
    refreshToken: 'oa-rt-1',
    authMethod: 'social',
    expiresAt: new Date(Date.now() + 3600_000),
  });
  client = new OpenAI({ apiKey: KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
  images = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch: (req) =>
      new URL(req.url).pathname === '/cat.png'
        ? new Response(Buffer.from(PNG_B64, 'base64'), { headers: { 'content-type': 'application/octet-stream' } })
        : new Response('nope', { status: 404 }),
  });
});
/** A throttle or quota answer rests the only account (pool cooldowns): lift that between cases. */
async function restoreAccounts(): Promise<void> {
  for (const a of (await gw.ctx.store.accounts.list()).items) await gw.ctx.store.accounts.update(a.id, { cooldownUntil: null, quotaRemaining: null, quotaResetAt: null });
}
beforeEach(restoreAccounts);
afterAll(async () => {
  images.stop(true);
  await gw.stop();
  await fake.stop();
});

let tags = 0;
/**
 * Queues a scenario for the next request whose body carries the returned tag. Markers would not do
 * for round trips: the fake also finds them in the history, so every later turn would repeat them.
 */
function once(scenario: string, args: Record<string, unknown> = {}): string {
  const tag = `oa-tag-${++tags}-${Date.now()}`;
  fake.enqueue({ scenario, args, times: 1, match: { contains: tag } });
  return tag;
}

/** The last GenerateAssistantResponse body the fake received. */
function lastQBody(): any {
  const r = fake.requests().filter((x) => x.listener === 'q' && x.path === '/').at(-1);
  return r?.body;
}

const rejection = (p: Promise<unknown>) => rejectionOf<InstanceType<typeof OpenAI.APIError>>(p, OpenAI.APIError);

describe('text', () => {
  test('non-streaming: chat.completion with id, model echoed, usage, headers', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'claude-sonnet-4.5', messages: [{ role: 'system', content: 'Be nice.' }, { role: 'user', content: 'hi' }] })
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(data.model).toBe('claude-sonnet-4.5');
    expect(typeof data.system_fingerprint).toBe('string');
    expect(data.choices[0]!.message).toMatchObject({ role: 'assistant', content: PLAIN });
    expect(data.choices[0]!.finish_reason).toBe('stop');
    expect(data.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(data.usage!.completion_tokens).toBeGreaterThan(0);
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(lastQBody()).toBeTruthy();
  });

  test('streaming: role first, deltas concatenate, stop, SSE headers', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({ model: 'claude-sonnet-4.5', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .withResponse();
    expect(response.headers.get('content-type')).toStartWith('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id && c.model === 'claude-sonnet-4.5')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(PLAIN);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    expect(chunks.some((c) => c.usage)).toBe(false);
  });

  test('stream_options.include_usage: one final chunk with empty choices and usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const u = last.usage!;
    expect(u.prompt_tokens).toBeGreaterThan(0);
    expect(u.completion_tokens).toBeGreaterThan(0);
    expect(u.total_tokens).toBe(u.prompt_tokens + u.completion_tokens);
    expect(u.prompt_tokens_details!.cached_tokens).toBe(0);
    expect(u.completion_tokens_details!.reasoning_tokens).toBe(0);
  });

  test('reasoning goes to reasoning_content, never into content (both modes)', async () => {
    const messages = [{ role: 'user' as const, content: '[[fake:thinking]] hi' }];
    const res = await client.chat.completions.create({ model: 'claude-sonnet-4.5', messages, reasoning_effort: 'high' });
    const msg = res.choices[0]!.message as { content: string | null; reasoning_content?: string };
    expect(msg.reasoning_content).toBe('The user greets me; reply briefly.');
    expect(msg.content?.trim()).toBe('Hello!');
    const stream = await client.chat.completions.create({ model: 'claude-sonnet-4.5', messages, stream: true });
    let content = '';
    let reasoning = '';
    for await (const c of stream) {
      const d = c.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      content += d?.content ?? '';
      reasoning += d?.reasoning_content ?? '';
    }
    expect(reasoning).toBe('The user greets me; reply briefly.');
    expect(content.trim()).toBe('Hello!');
    expect(content).not.toContain('thinking');
  });

  test('stop sequences cut the output (finish_reason stop)', async () => {
    const res = await client.chat.completions.create({
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: '[[fake:plain:text=one two STOP three]]' }],
      stop: ['STOP'],
    });
    expect(res.choices[0]!.message.content).toBe('one two ');
    expect(res.choices[0]!.finish_reason).toBe('stop');
  });

  test('max_tokens → finish_reason length, streaming and not', async () => {
    const messages = [{ role: 'user' as const, content: '[[fake:long:n=300]]' }];
    const res = await client.chat.completions.create({ model: 'claude-sonnet-4.5', messages, max_tokens: 5 });
    expect(res.choices[0]!.finish_reason).toBe('length');
    expect(res.usage!.completion_tokens).toBeLessThanOrEqual(6);
    const stream = await client.chat.completions.create({ model: 'claude-sonnet-4.5', messages, max_completion_tokens: 5, stream: true });
    let finish: string | null | undefined;
    for await (const c of stream) finish = c.choices[0]?.finish_reason ?? finish;
    expect(finish).toBe('length');
  });

  test('response_format json_object: instruction sent upstream, a fenced answer unwrapped (non-streaming)', async () => {
    const fenced = encodeURIComponent('```json\n{"a":1}\n```');
    const res = await client.chat.completions.create({
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: `[[fake:plain:text=${fenced}]]` }],
      response_format: { type: 'json_object' },
    });
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual({ a: 1 });
    expect(JSON.stringify(lastQBody())).toContain('JSON object');
  });

  test('images: data: URL and http URL reach the upstream as image bytes', async () => {
    await client.chat.completions.create({
      model: 'claude-sonnet-4.5',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'two pictures' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}` } },
            { type: 'image_url', image_url: { url: `http://127.0.0.1:${images.port}/cat.png` } },
          ],
        },
      ],
    });
    const sent = JSON.stringify(lastQBody());
    expect(sent.split(PNG_B64).length - 1).toBe(2);
    const err = await rejection(
      client.chat.completions.create({
        model: 'claude-sonnet-4.5',
        messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `http://127.0.0.1:${images.port}/missing.png` } }] }],
      }),
    );
    expect(err.status).toBe(400);
    expect(err.param).toBe('messages[0].content[0].image_url');
  });
});

describe('tools', () => {
  const weatherTool = {
    type: 'function' as const,
    function: {
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string' } }, required: ['city'] },
    },
  };
  const timeTool = { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };

  test('one call with chat.completions.stream: indexed fragments assemble into a valid call, then the round trip', async () => {
    const prompt = `${once('tool')} weather in Paris?`;
    const runner = client.chat.completions.stream({
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: prompt }],
      tools: [weatherTool],
    });
    const final = await runner.finalChatCompletion();
    const choice = final.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe('Let me check.');
    expect(choice.message.tool_calls).toHaveLength(1);
    const call = choice.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.type).toBe('function');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'Paris', unit: 'celsius' });

    const answer = await client.chat.completions.create({
      model: 'claude-sonnet-4.5',
      messages: [
        { role: 'user', content: prompt },
        { role: 'assistant', content: choice.message.content, tool_calls: choice.message.tool_calls },
        { role: 'tool', tool_call_id: call.id, content: '{"temp":18}' },
      ],
      tools: [weatherTool],
    });
    expect(answer.choices[0]!.finish_reason).toBe('stop');
    expect(answer.choices[0]!.message.content).toBe(PLAIN);
    expect(JSON.stringify(lastQBody())).toContain('{\\"temp\\":18}');
  });

  test('two parallel calls through runTools: both executed, results sent back, final text', async () => {
    const calls: string[] = [];
    const runner = client.chat.completions.runTools({
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: `${once('tools', { n: 2 })} weather and time in Paris` }],
      stream: true,
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: weatherTool.function.parameters, function: (a: { city: string }) => (calls.push(`weather:${a.city}`), '18C'), parse: JSON.parse } },
        { type: 'function', function: { name: 'get_time', description: 'Time', parameters: timeTool.function.parameters, function: (a: { city: string }) => (calls.push(`time:${a.city}`), 'noon'), parse: JSON.parse } },
      ],
    });
    const content = await runner.finalContent();
    expect(calls.sort()).toEqual(['time:Paris', 'weather:Paris']);
    expect(content).toBe(PLAIN);
    const sent = JSON.stringify(lastQBody());
    expect(sent).toContain('18C');
    expect(sent).toContain('noon');
    const toolMessages = runner.messages.filter((m) => m.role === 'tool');
    expect(toolMessages).toHaveLength(2);
  });

  test('non-streaming tool calls: content null, arguments a JSON string', async () => {
    const { data: res, response } = await client.chat.completions.create({
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: '[[fake:tools:n=2]] go' }],
      tools: [weatherTool, timeTool],
      tool_choice: 'required',
      parallel_tool_calls: false,
    }).withResponse();
    // Q has no switch for it: the gateway says so instead of pretending.
    expect(response.headers.get('x-q2api-warnings')).toContain('parallel_tool_calls');
    const m = res.choices[0]!.message;
    expect(m.content).toBeNull();
    expect(m.tool_calls!.map((c) => (c as OpenAI.Chat.ChatCompletionMessageFunctionToolCall).function.name)).toEqual(['get_weather', 'get_time']);
    expect(typeof (m.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall).function.arguments).toBe('string');
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
  });
});

describe('errors in OpenAI shape with the real status', () => {
  const ask = (content: string, extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}) =>
    client.chat.completions.create({ model: 'claude-sonnet-4.5', messages: [{ role: 'user', content }], ...extra });

  test('400 names the param (n, tool_choice, content part)', async () => {
    const n = await rejection(ask('hi', { n: 2 }));
    expect(n.status).toBe(400);
    expect(n.param).toBe('n');
    expect(n.type).toBe('invalid_request_error');
    const tc = await rejection(ask('hi', { tools: [], tool_choice: { type: 'function', function: { name: 'nope' } } }));
    expect(tc.param).toBe('tool_choice');
    const audio = await rejection(
      client.chat.completions.create({
        model: 'claude-sonnet-4.5',
        messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }] }],
      }),
    );
    expect(audio.param).toBe('messages[0].content[0]');
  });

  test('broken JSON → 400 in OpenAI shape; 401 for a wrong key', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: '{"model":',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as any;
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
    expect(body.error.message).toContain('not valid JSON');
    const bad = new OpenAI({ apiKey: 'wrong', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const e = await rejection(bad.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }));
    expect(e.status).toBe(401);
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
  });

  test('413 for a body over MAX_REQUEST_BYTES, with and without content-length', async () => {
    const e = await rejection(ask('x'.repeat(MAX_BODY + 10)));
    expect(e.status).toBe(413);
    const big = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x'.repeat(MAX_BODY) }] });
    const chunked = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: chunked });
    expect(res.status).toBe(413);
    expect(((await res.json()) as any).error.type).toBe('invalid_request_error');
  });

  test('upstream errors keep their class: 429, 503/529, 400 too long, 5xx', async () => {
    const status = async (content: string) => (await rejection(ask(content))).status;
    expect(await status('[[fake:daily_limit]]')).toBe(429);
    await restoreAccounts();
    expect(await status('[[fake:capacity]]')).toBe(529);
    expect((await status('[[fake:unavailable]]'))!).toBeGreaterThanOrEqual(500);
    const tooLong = await rejection(ask('[[fake:too_long]]'));
    expect(tooLong.status).toBe(400);
    expect(tooLong.message.toLowerCase()).toContain('too long');
    expect((await status('[[fake:internal]]'))!).toBeGreaterThanOrEqual(500);
  });

  test('503 when no account can serve', async () => {
    const empty = await startGateway({ upstreamUrl: fake.url });
    try {
      const c = new OpenAI({ apiKey: 'x', baseURL: `${empty.url}/v1`, maxRetries: 0 });
      const e = await rejection(c.chat.completions.create({ model: 'claude-sonnet-4.5', messages: [{ role: 'user', content: 'hi' }] }));
      expect(e.status).toBe(503);
      expect(e.type).toBe('server_error');
    } finally {
      await empty.stop();
    }
  });

  test('mid-stream failure → error chunk, the SDK throws; non-streaming gets the real status', async () => {
    const stream = await client.chat.completions.create({
      model: 'claude-sonnet-4.5',
      messages: [{ role: 'user', content: '[[fake:midstream_exception:after=3]]' }],
      stream: true,
    });
    let text = '';
    const e = await rejection(
      (async () => {
        for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      })(),
    );
    expect(text.length).toBeGreaterThan(0);
    expect(e.message.length).toBeGreaterThan(0);
    const ns = await rejection(ask('[[fake:midstream_exception:after=3]]'));
    expect(ns.status).toBeGreaterThanOrEqual(500);
  });
});
