// The Anthropic route against a scripted ChatEngine: the edges the fake upstream cannot produce on
// demand — a failure after the stream was committed by the wait, an engine stream that throws or
// ends without finishing, and cancellation reaching the engine's signal.

import { describe, expect, test } from 'bun:test';
import { Elysia } from 'elysia';
import { anthropicRoutes } from '../../src/http/anthropic';
import type { ChatEngine, ChatRun, ChatRunOptions } from '../../src/chat/types';
import type { Conversation, StreamPart } from '../../src/dialects/conversation';
import type { AppContext } from '../../src/context';
import { GatewayError } from '../../src/http/errors';
import { createLogger } from '../../src/log';

const usage = { inputTokens: 11, outputTokens: 3, reasoningTokens: 0 };
const ctx = {
  config: { openaiKeys: [], maxRequestBytes: 1 << 20, imageFetch: { maxBytes: 1 << 20, timeoutMs: 1000, allowPrivate: true }, proxy: {} },
  random: { bytes: (n: number) => new Uint8Array(n).fill(7) },
  log: createLogger('error', () => {}),
} as unknown as AppContext;

function engine(run: (conv: Conversation, opts: ChatRunOptions) => Promise<ChatRun>): ChatEngine & { seen: ChatRunOptions[] } {
  const seen: ChatRunOptions[] = [];
  return {
    seen,
    run: (conv, opts) => {
      seen.push(opts);
      return run(conv, opts);
    },
    countInputTokens: async (conv) => conv.messages.length * 100,
    memoStats: () => ({ conversations: 0, bytes: 0, hits: 0, misses: 0 }),
  };
}

function committed(parts: AsyncIterable<StreamPart>): ChatRun {
  return { requestedModel: 'claude-x', upstreamModel: 'q-x', headers: { 'x-q2api-model': 'q-x' }, inputTokens: 11, parts };
}

function app(chat: ChatEngine) {
  return new Elysia().use(anthropicRoutes(ctx, chat, { commitAfterMs: 20, keepaliveMs: 15 }));
}

const post = (a: ReturnType<typeof app>, body: object, path = '/v1/messages') =>
  a.handle(new Request(`http://localhost${path}`, { method: 'POST', body: JSON.stringify({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...body }) }));

describe('scripted engine', () => {
  test('a failure after the wait committed the stream arrives as event: error, after pings, without message_start', async () => {
    const chat = engine(() => Bun.sleep(90).then(() => Promise.reject(new GatewayError('rate_limit', 'all accounts throttled'))));
    const res = await post(app(chat), { stream: true });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('event: ping');
    expect(text).not.toContain('message_start');
    expect(text.trimEnd().split('\n\n').at(-1)).toStartWith('event: error\ndata: {"type":"error","error":{"type":"rate_limit_error","message":"all accounts throttled"}');
  });

  test('an early failure keeps its status and headers', async () => {
    const chat = engine(() => Promise.reject(new GatewayError('rate_limit', 'slow down', { headers: { 'retry-after': '3' } })));
    const res = await post(app(chat), { stream: true });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.get('request-id')).toMatch(/^req_01/);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
  });

  test('an engine stream that throws, or ends without finish, ends in event: error', async () => {
    async function* throws(): AsyncGenerator<StreamPart> {
      yield { type: 'text-delta', text: 'a' };
      throw new Error('boom');
    }
    async function* stops(): AsyncGenerator<StreamPart> {
      yield { type: 'text-delta', text: 'a' };
    }
    for (const parts of [throws, stops]) {
      const res = await post(app(engine(async () => committed(parts()))), { stream: true });
      const text = await res.text();
      expect(res.headers.get('x-q2api-model')).toBe('q-x');
      expect(text).toContain('"text_delta","text":"a"');
      expect(text).toContain('event: error');
      expect(text).not.toContain('message_stop');
    }
  });

  test('a non-streaming response whose stream failed answers with the error status', async () => {
    async function* fails(): AsyncGenerator<StreamPart> {
      yield { type: 'text-delta', text: 'a' };
      yield { type: 'error', error: new GatewayError('overloaded', 'capacity'), usage };
    }
    const res = await post(app(engine(async () => committed(fails()))), {});
    expect(res.status).toBe(529);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'capacity' } });
  });

  test('cancelling the response aborts the signal the engine was given', async () => {
    async function* forever(signal: AbortSignal): AsyncGenerator<StreamPart> {
      yield { type: 'text-delta', text: 'a' };
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      yield { type: 'error', error: new GatewayError('internal', 'aborted'), usage };
    }
    const chat = engine(async (_c, opts) => committed(forever(opts.signal)));
    const res = await post(app(chat), { stream: true });
    const reader = res.body!.getReader();
    await reader.read();
    expect(chat.seen[0]!.signal.aborted).toBe(false);
    await reader.cancel();
    expect(chat.seen[0]!.signal.aborted).toBe(true);
  });

  test('count_tokens takes no max_tokens and answers {input_tokens}', async () => {
    const res = await app(engine(() => Promise.reject(new Error('unused')))).handle(
      new Request('http://localhost/v1/messages/count_tokens?beta=true', {
        method: 'POST',
        body: JSON.stringify({ model: 'claude-x', messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }),
      }),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ input_tokens: 200 });
  });
});
