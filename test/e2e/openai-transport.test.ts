// The OpenAI route's transport behaviour with a scripted chat engine on a real listener: keep-alive
// comments while the engine is quiet, the commit window (early failures keep their status, late
// ones arrive in-stream), and a client disconnect aborting the engine at once.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import OpenAI from 'openai';
import type { ChatEngine, ChatRun } from '../../src/chat/types';
import { parseConfig } from '../../src/config';
import type { AppContext } from '../../src/context';
import { systemClock, systemRandom } from '../../src/context';
import type { StreamPart, Usage } from '../../src/dialects/conversation';
import { GatewayError } from '../../src/http/errors';
import { openaiRoutes } from '../../src/http/openai';
import { createLogger } from '../../src/log';
import type { ModelCatalog } from '../../src/upstream/model-catalog';

const usage: Usage = { inputTokens: 3, outputTokens: 2, reasoningTokens: 0 };

/** What the scripted engine does for a prompt: wait, then reject or stream parts with gaps. */
type Script = { delayMs?: number; reject?: GatewayError; parts?: Array<StreamPart | { sleep: number }> };
let script: Script = {};
let lastSignal: AbortSignal | undefined;
let partsClosed = false;

const engine: ChatEngine = {
  async run(conversation, { signal }): Promise<ChatRun> {
    lastSignal = signal;
    partsClosed = false;
    const s = script;
    if (s.delayMs) await Bun.sleep(s.delayMs);
    if (s.reject) throw s.reject;
    async function* parts(): AsyncGenerator<StreamPart> {
      try {
        for (const p of s.parts ?? []) {
          if ('sleep' in p) {
            // Wakes early on abort, as the real engine's upstream read does.
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, p.sleep);
              signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
            });
            if (signal.aborted) return;
          } else yield p;
        }
      } finally {
        partsClosed = true;
      }
    }
    return { requestedModel: conversation.model, upstreamModel: 'q', headers: { 'x-q2api-model': 'q' }, inputTokens: 3, parts: parts() };
  },
  countInputTokens: async () => 3,
  memoStats: () => ({ conversations: 0, bytes: 0, hits: 0, misses: 0 }),
};

const catalog: ModelCatalog = { list: async () => [] };
const build = (ctx: AppContext) => new Elysia().use(openaiRoutes(ctx, engine, { keepAliveMs: 40, commitAfterMs: 150, catalog }));
let server: ReturnType<typeof build>;
let url: string;

beforeAll(() => {
  const config = parseConfig({ DATA_DIR: '/tmp/unused', MASTER_KEY: 'a1'.repeat(32) });
  const ctx = { config, log: createLogger('error', () => {}), clock: systemClock, random: systemRandom, version: '0.0.0-test' } as unknown as AppContext;
  server = build(ctx).listen({ hostname: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${server.server!.port}`;
});
afterAll(async () => {
  await server.stop(true);
});

const post = (body: unknown, signal?: AbortSignal) =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
const req = { model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }], stream: true };

describe('streaming transport', () => {
  test('keep-alive comments while the engine is quiet; the SDK ignores them', async () => {
    script = { parts: [{ type: 'text-delta', text: 'a' }, { sleep: 200 }, { type: 'text-delta', text: 'b' }, { type: 'finish', reason: 'end_turn', usage }] };
    const res = await post(req);
    const text = await res.text();
    expect(text).toContain(': ping\n\n');
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const client = new OpenAI({ apiKey: 'x', baseURL: `${url}/v1`, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'gpt-x', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let content = '';
    for await (const c of stream) content += c.choices[0]?.delta.content ?? '';
    expect(content).toBe('ab');
  });

  test('a failure inside the commit window keeps its HTTP status and OpenAI shape', async () => {
    script = { delayMs: 20, reject: new GatewayError('rate_limit', 'All accounts are throttled.', { headers: { 'retry-after': '7' } }) };
    const res = await post(req);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(await res.json()).toEqual({ error: { message: 'All accounts are throttled.', type: 'rate_limit_error', param: null, code: null } });
  });

  test('after the commit window: 200 with pings, then the failure as an error chunk, no [DONE]', async () => {
    script = { delayMs: 300, reject: new GatewayError('overloaded', 'Busy.') };
    const res = await post(req);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain(': ping\n\n');
    expect(text).toContain('data: {"error":{"message":"Busy.","type":"server_error","param":null,"code":null}}\n\n');
    expect(text).not.toContain('[DONE]');
  });

  test('a stream that ends without finish is reported as an error, never a fake success', async () => {
    script = { parts: [{ type: 'text-delta', text: 'a' }] };
    const text = await (await post(req)).text();
    expect(text).toContain('"error"');
    expect(text).not.toContain('[DONE]');
  });

  test('client disconnect aborts the engine at once', async () => {
    script = { parts: [{ type: 'text-delta', text: 'a' }, { sleep: 10_000 }, { type: 'finish', reason: 'end_turn', usage }] };
    const ac = new AbortController();
    const res = await post(req, ac.signal);
    const reader = res.body!.getReader();
    await reader.read();
    const t0 = performance.now();
    ac.abort();
    while (!lastSignal?.aborted && performance.now() - t0 < 2000) await Bun.sleep(5);
    expect(lastSignal?.aborted).toBe(true);
    expect(performance.now() - t0).toBeLessThan(500);
    while (!partsClosed && performance.now() - t0 < 2000) await Bun.sleep(5);
    expect(partsClosed).toBe(true);
  });

  test('non-streaming: a mid-stream error part becomes the HTTP error', async () => {
    script = { parts: [{ type: 'text-delta', text: 'a' }, { type: 'error', error: new GatewayError('upstream', 'Upstream broke.'), usage }] };
    const res = await post({ ...req, stream: false });
    expect(res.status).toBe(502);
    expect(((await res.json()) as any).error).toMatchObject({ message: 'Upstream broke.', type: 'server_error' });
  });
});
