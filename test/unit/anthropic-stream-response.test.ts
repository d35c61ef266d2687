// The streaming transport under the chat routes (src/http/sse.ts): keep-alives while the source is
// silent, pull-based reading (backpressure), cancellation reaching the source, and the loop that
// encodes a run's parts (the opening frame sent with the first part, failures as error frames).

import { expect, test } from 'bun:test';
import type { StreamPart } from '../../src/dialects/conversation';
import { AnthropicSseEncoder, sseError } from '../../src/dialects/anthropic/encode';
import { createChunkEncoder } from '../../src/dialects/openai/encode';
import { GatewayError } from '../../src/http/errors';
import { encodeParts, sseResponse } from '../../src/http/sse';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('pings while the source is silent, then streams and closes', async () => {
  async function* source() {
    await sleep(120);
    yield 'event: a\n\n';
    yield '';
    yield 'event: b\n\n';
  }
  const res = sseResponse({ source: source(), keepalive: ': ping\n\n', keepaliveMs: 25, onCancel: () => {}, headers: { 'x-test': '1' } });
  expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  expect(res.headers.get('cache-control')).toBe('no-cache');
  expect(res.headers.get('x-accel-buffering')).toBe('no');
  expect(res.headers.get('x-test')).toBe('1');
  const text = await res.text();
  expect(text.endsWith('event: a\n\nevent: b\n\n')).toBe(true);
  const pings = text.split(': ping\n\n').length - 1;
  expect(pings).toBeGreaterThanOrEqual(2);
});

test('the source is pulled only as fast as the client reads', async () => {
  let produced = 0;
  async function* source() {
    for (let i = 0; i < 1000; i++) {
      produced++;
      yield `data: ${i}\n\n`;
    }
  }
  const res = sseResponse({ source: source(), keepalive: '', keepaliveMs: 60_000, onCancel: () => {}, headers: {} });
  const reader = res.body!.getReader();
  await reader.read();
  await sleep(20);
  expect(produced).toBeLessThan(5);
  await reader.cancel();
});

test('cancelling the response calls onCancel and ends the source', async () => {
  let cancelled = 0;
  let finalized = false;
  async function* source() {
    try {
      yield 'data: 1\n\n';
      await sleep(50);
      yield 'data: 2\n\n';
      yield 'data: 3\n\n';
    } finally {
      finalized = true;
    }
  }
  const res = sseResponse({ source: source(), keepalive: '', keepaliveMs: 60_000, onCancel: () => cancelled++, headers: {} });
  const reader = res.body!.getReader();
  await reader.read();
  await reader.cancel();
  expect(cancelled).toBe(1);
  // A generator suspended in an await takes its `return` once that await settles: onCancel is what
  // stops the real work at once; the generator is then released, not left hanging.
  await sleep(80);
  expect(finalized).toBe(true);
});

const usage = { inputTokens: 5, outputTokens: 2, reasoningTokens: 0 };
const anthropicEncoder = () => new AnthropicSseEncoder({ id: 'msg_1', model: 'claude-sonnet-4-5', inputTokens: 5 }, 'req_1');
const eventNames = (text: string) => [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
async function collect(gen: AsyncGenerator<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const s of gen) out.push(s);
  return out;
}

test('encodeParts: message_start goes out with the first part, then one string per part, nothing after the finish', async () => {
  async function* parts(): AsyncGenerator<StreamPart> {
    yield { type: 'text-delta', text: 'Hel' };
    yield { type: 'text-delta', text: 'lo' };
    yield { type: 'finish', reason: 'end_turn', usage };
    yield { type: 'text-delta', text: 'ignored' };
  }
  const failures: unknown[] = [];
  const out = await collect(encodeParts(parts(), anthropicEncoder(), (e) => (failures.push(e), 'unexpected')));
  expect(out).toHaveLength(3);
  // One write carries the opening frame and the first content: the client's first read has both.
  expect(eventNames(out[0]!)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
  expect(eventNames(out[1]!)).toEqual(['content_block_delta']);
  expect(eventNames(out[2]!)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
  expect(out.join('')).not.toContain('ignored');
  expect(failures).toEqual([]);
});

test('encodeParts: a source that throws before any part still opens the message, then the error frame', async () => {
  const boom = new Error('mapper bug');
  async function* parts(): AsyncGenerator<StreamPart> {
    throw boom;
  }
  const seen: Array<{ error: GatewayError; thrown: unknown }> = [];
  const out = await collect(
    encodeParts(parts(), anthropicEncoder(), (error, thrown) => {
      seen.push({ error, thrown });
      return sseError(error, 'req_1');
    }),
  );
  expect(out).toHaveLength(1);
  expect(eventNames(out[0]!)).toEqual(['message_start', 'error']);
  expect(seen).toHaveLength(1);
  expect(seen[0]!.thrown).toBe(boom);
  expect(seen[0]!.error.kind).toBe('internal');
});

test('encodeParts: a source that ends without its final part ends with an upstream error, never a silent end', async () => {
  async function* parts(): AsyncGenerator<StreamPart> {
    yield { type: 'text-delta', text: 'partial' };
  }
  const seen: Array<{ error: GatewayError; thrown: unknown }> = [];
  const out = await collect(
    encodeParts(parts(), anthropicEncoder(), (error, thrown) => {
      seen.push({ error, thrown });
      return sseError(error, 'req_1');
    }),
  );
  expect(eventNames(out.join(''))).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'error']);
  expect(seen).toEqual([{ error: expect.any(GatewayError), thrown: undefined }]);
  expect(seen[0]!.error.kind).toBe('upstream');
  expect(out.join('')).not.toContain('message_stop');
});

test('encodeParts with the OpenAI encoder: the role chunk shares the first write; a thinking part that shows nothing still lets it out', async () => {
  const openai = () => createChunkEncoder({ id: 'chatcmpl-1', created: 1700000000, model: 'gpt-4o', systemFingerprint: 'fp', inputTokens: 5 }, { includeUsage: false });
  const frames = (text: string) => text.split('\n\n').filter(Boolean);
  async function* parts(): AsyncGenerator<StreamPart> {
    yield { type: 'text-delta', text: 'Hi' };
    yield { type: 'finish', reason: 'end_turn', usage };
  }
  const out = await collect(encodeParts(parts(), openai(), () => 'unexpected'));
  expect(out).toHaveLength(2);
  const first = frames(out[0]!).map((f) => JSON.parse(f.slice('data: '.length)));
  expect(first.map((c) => c.choices[0].delta)).toEqual([{ role: 'assistant', content: '' }, { content: 'Hi' }]);
  expect(out[1]).toContain('data: [DONE]');

  // A first part that encodes to nothing (a signature-less thinking end) still carries the role chunk.
  async function* quiet(): AsyncGenerator<StreamPart> {
    yield { type: 'thinking-end' };
    yield { type: 'finish', reason: 'end_turn', usage };
  }
  const enc = openai();
  const quietOut = await collect(encodeParts(quiet(), enc, () => 'unexpected'));
  // The first write is the role chunk alone: the thinking end showed nothing.
  expect(frames(quietOut[0]!)).toHaveLength(1);
  expect(JSON.parse(frames(quietOut[0]!)[0]!.slice(6)).choices[0].delta.role).toBe('assistant');
});
