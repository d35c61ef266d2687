// Backpressure: a client that reads a long stream at a crawl must not make the gateway buffer the
// answer. A spawned `q2api serve` (its own process, so /proc/<pid>/status is its RSS alone) relays a
// stream of tens of MB to a raw-socket reader that pauses after every chunk. The gateway's RSS does
// not creep, and the upstream is only read as fast as the client reads (plus kernel socket buffers):
// when the client hangs up, the upstream request is cut off well before its end.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import net from 'node:net';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { rssKb, spawnGateway, type SpawnedGateway } from './harness';
import { upstreamEnv } from '../support/upstream-env';

const WORDS = 300_000;
const WORD = 'lorem_ipsum_dolor_sit_amet_consectetur_adipiscing_elit_sed_do_ ';
const CRAWL_MS = 5_000;
/** the answer's first bytes must come within this */
const FIRST_BYTE_WAIT_MS = 8_000;
/** the reader takes one chunk, then pauses this long */
const PAUSE_MS = 200;
/** RSS sampled this often; its floors in two 2 s windows are compared, after a ramp-up second */
const SAMPLE_MS = 100;
const WINDOW_MS = 2_000;
const RAMP_MS = 1_000;
/**
 * Buffering the answer would lift the floor by what the upstream sent meanwhile (tens of MB, more as
 * JS strings); the floor's noise from the allocator and collector measured ±30 MB on this 2-core VM.
 */
const MAX_CREEP_MB = 40;

let fake: FakeUpstream;
let gw: SpawnedGateway;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await spawnGateway({ ...upstreamEnv(fake.url), LOG_LEVEL: 'warn' });
  fake.seedToken({ accessToken: 'slow-at', refreshToken: 'slow-rt', expiresIn: 3600, authMethod: 'social' });
  const r = await gw.admin('POST', '/v2/accounts', { accessToken: 'slow-at', refreshToken: 'slow-rt', authMethod: 'social', expiresAt: new Date(Date.now() + 3600_000).toISOString() });
  expect(r.status).toBe(201);
});
afterAll(async () => {
  gw?.cleanup();
  await fake?.stop();
});

const body = (words: number, tag: string) =>
  JSON.stringify({
    model: 'claude-sonnet-4-5',
    max_tokens: 100_000_000,
    stream: true,
    messages: [{ role: 'user', content: `[[fake:long:n=${words},text=${WORD}]] ${tag}` }],
  });
const upstreamOf = (tag: string) => fake.requests().find((r) => r.scenario === 'long' && JSON.stringify(r.body).includes(tag));

test('a client reading at a crawl: gateway RSS does not creep, the upstream waits for the reader', async () => {
  // Calibrate (and warm up): upstream bytes per word, from a short answer read in full.
  await (await fetch(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(2_000, 'calibrate') })).text();
  const perWord = upstreamOf('calibrate')!.bytesSent / 2_000;
  const upstreamTotal = perWord * WORDS;
  const baseline = rssKb(gw.proc.pid);

  // A raw socket, so the reader really stops reading (fetch's reader drains the socket into memory).
  const sock = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
  const payload = body(WORDS, 'crawl');
  sock.write(`POST /v1/messages HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
  let read = 0;
  let ended = false;
  let firstData = () => {};
  const started = new Promise<void>((resolve) => (firstData = resolve));
  sock.on('data', (chunk: Buffer) => {
    if (read === 0) firstData();
    read += chunk.length;
    sock.pause();
    setTimeout(() => sock.resume(), PAUSE_MS);
  });
  sock.on('end', () => (ended = true));
  sock.on('error', () => {});

  // The crawl is timed from the first bytes: the fake can take a while to script 300,000 words.
  await Promise.race([started, Bun.sleep(FIRST_BYTE_WAIT_MS)]);
  expect(read).toBeGreaterThan(0);
  const samples: Array<{ at: number; rss: number }> = [];
  const crawlStart = Date.now();
  while (Date.now() - crawlStart < CRAWL_MS) {
    await Bun.sleep(SAMPLE_MS);
    samples.push({ at: Date.now() - crawlStart, rss: rssKb(gw.proc.pid) });
  }
  sock.destroy();
  expect(ended).toBe(false); // still streaming when the client gave up

  // Floors, not peaks: garbage waiting for collection makes a sawtooth whose peaks depend on when
  // the collector last ran, while a buffer that grows lifts the floor. The first second (the stream
  // and the heap ramping up from idle) is left out.
  const floorIn = (from: number, to: number) => Math.min(...samples.filter((s) => s.at >= from && s.at < to).map((s) => s.rss));
  const early = floorIn(RAMP_MS, RAMP_MS + WINDOW_MS);
  const late = floorIn(CRAWL_MS - WINDOW_MS, CRAWL_MS + 1_000);
  const mb = (kb: number) => (kb / 1024).toFixed(0);
  console.log(
    `slow reader: read ${(read / 1e6).toFixed(1)} MB in ${CRAWL_MS} ms; gateway RSS baseline ${mb(baseline)} MB, ` +
      `floor in ${RAMP_MS / 1000}–${(RAMP_MS + WINDOW_MS) / 1000} s ${mb(early)} MB, floor in the last ${WINDOW_MS / 1000} s ${mb(late)} MB`,
  );
  expect((late - early) / 1024).toBeLessThan(MAX_CREEP_MB);

  // The hang-up reaches the upstream, which had sent only part of its answer: the gateway read it
  // no faster than the client (the rest of the gap is kernel socket buffers, up to 32 MB each here).
  const deadline = Date.now() + 3_000;
  while (!upstreamOf('crawl')?.done && Date.now() < deadline) await Bun.sleep(50);
  const up = upstreamOf('crawl')!;
  console.log(`upstream sent ${(up.bytesSent / 1e6).toFixed(1)} MB of ${(upstreamTotal / 1e6).toFixed(0)} MB before the hang-up`);
  expect(up.done).toBe(true);
  expect(up.disconnectedEarly).toBe(true);
  expect(up.bytesSent).toBeLessThan(upstreamTotal * 0.8);
}, 25_000);
