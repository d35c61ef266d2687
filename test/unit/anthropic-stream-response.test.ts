// The streaming transport under the Anthropic route (src/http/sse.ts): keep-alives while the source
// is silent, pull-based reading (backpressure), and cancellation reaching the source.

import { expect, test } from 'bun:test';
import { sseResponse } from '../../src/http/sse';

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
