// Event-stream decoding is independent of chunk boundaries (§1.8): a recorded-style Kiro reply fed
// whole, byte by byte and in seeded random splits; truncation at every offset; decodeEventStream.
import { describe, expect, test } from 'bun:test';
import { decodeEventStream, EventStreamDecoder, EventStreamError, type Frame } from '../../src/upstream/eventstream';
import { encodeErrorFrame, encodeEvent, encodeException } from '../../src/upstream/eventstream-encode';
import { concatBytes } from '../support/bytes';
import { mulberry32 } from '../support/prng';


/** What a consumer can observe of a frame, in a form toEqual compares exactly. */
function observable(frames: Frame[]): unknown[] {
  return frames.map((f) => ({
    headers: [...f.headers].map(([k, v]) => [k, v.type, String(v.value)]),
    payload: Buffer.from(f.payload).toString('hex'),
  }));
}

/** A Kiro reply as the fake upstream scripts it (§2.7): text, one tool call, tail, then an exception. */
function recordedFrames(): Uint8Array[] {
  const text =
    'Sure — let me look at that file first. Reading the config tells us which port the server uses, ' +
    'and then we can check whether the “health” endpoint answers. 🙂 If it does not, the next step is ' +
    'to read the logs around the last restart, compare the listen address with the proxy configuration, ' +
    'and only then touch the firewall rules. Here goes — first the file:';
  const frames: Uint8Array[] = [];
  for (let i = 0, n = 0; n < 30; n++) {
    const len = 3 + ((n * 7) % 18); // deltas of 3–20 characters
    frames.push(encodeEvent('assistantResponseEvent', { content: text.slice(i, i + len) }));
    i += len;
  }
  const toolUseId = 'tooluse_Abc123XyZ_000000000001';
  frames.push(encodeEvent('toolUseEvent', { toolUseId, name: 'read_file' }));
  for (const input of ['{"path":', '"/srv/app/con', 'fig.json"}']) {
    frames.push(encodeEvent('toolUseEvent', { toolUseId, name: 'read_file', input }));
  }
  frames.push(encodeEvent('toolUseEvent', { toolUseId, name: 'read_file', stop: true }));
  frames.push(encodeEvent('meteringEvent', { unit: 'credit', unitPlural: 'credits', usage: 0.17 }));
  frames.push(encodeEvent('contextUsageEvent', { contextUsagePercentage: 1.7 }));
  frames.push(
    encodeException('error', {
      __type: 'InternalServerException',
      message: 'Encountered an unexpected error when processing the request, please try again.',
    }),
  );
  frames.push(encodeErrorFrame('InternalError', 'An internal server error occurred.'));
  return frames;
}

const FRAMES = recordedFrames();
const STREAM = concatBytes(FRAMES);
const BOUNDARIES = new Set(FRAMES.reduce<number[]>((acc, f) => [...acc, (acc.at(-1) ?? 0) + f.length], [0]));

function decodeChunks(chunks: Uint8Array[]): Frame[] {
  const d = new EventStreamDecoder();
  const frames: Frame[] = [];
  for (const c of chunks) frames.push(...d.push(c));
  d.end();
  return frames;
}

function randomSplit(bytes: Uint8Array, rand: () => number): Uint8Array[] {
  const cuts = new Set<number>();
  const n = 1 + Math.floor(rand() * 40);
  for (let i = 0; i < n; i++) cuts.add(Math.floor(rand() * (bytes.length + 1)));
  const sorted = [0, ...[...cuts].sort((a, b) => a - b), bytes.length];
  // Zero-length chunks are kept on purpose: a reader may deliver them.
  return sorted.slice(1).map((end, i) => bytes.subarray(sorted[i]!, end));
}

/** A stream that hands out the given chunks and records whether it was cancelled. */
function sourceOf(chunks: Uint8Array[], opts: { endless?: boolean } = {}) {
  const state = { cancelled: false, reason: undefined as unknown };
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!.slice());
      else if (opts.endless) controller.enqueue(chunks[i++ % chunks.length]!.slice());
      else controller.close();
    },
    cancel(reason) {
      state.cancelled = true;
      state.reason = reason;
    },
  });
  return { stream, state };
}

async function collect(it: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of it) out.push(f);
  return out;
}

describe('recorded stream', () => {
  const whole = observable(decodeChunks([STREAM]));

  test('decodes whole into every frame, in order', () => {
    expect(FRAMES.length).toBe(39); // 30 text deltas, 5 tool, 2 tail, exception, error
    expect(whole).toHaveLength(FRAMES.length);
    expect(whole).toEqual(observable(FRAMES.map((f) => decodeChunks([f])[0]!)));
  });

  test('fed one byte at a time yields the same frames', () => {
    const chunks = Array.from({ length: STREAM.length }, (_, i) => STREAM.subarray(i, i + 1));
    expect(observable(decodeChunks(chunks))).toEqual(whole);
  });

  test('200 seeded random splits yield the same frames', () => {
    const rand = mulberry32(0xc0ffee);
    for (let run = 0; run < 200; run++) {
      expect(observable(decodeChunks(randomSplit(STREAM, rand)))).toEqual(whole);
    }
  });

  test('frames become available as soon as their last byte arrives', () => {
    const d = new EventStreamDecoder();
    let seen = 0;
    for (let i = 0; i < STREAM.length; i++) {
      seen += d.push(STREAM.subarray(i, i + 1)).length;
      const boundariesPassed = [...BOUNDARIES].filter((b) => b > 0 && b <= i + 1).length;
      expect(seen).toBe(boundariesPassed);
    }
  });
});

describe('truncation', () => {
  test('every prefix ends cleanly on a frame boundary and is truncated anywhere else', () => {
    let clean = 0;
    for (let len = 1; len < STREAM.length; len++) {
      const d = new EventStreamDecoder();
      // Two pushes so both the in-place and the assembling path see every cut.
      const mid = len >> 1;
      const frames = [...d.push(STREAM.subarray(0, mid)), ...d.push(STREAM.subarray(mid, len))];
      if (BOUNDARIES.has(len)) {
        d.end();
        expect(observable(frames)).toEqual(observable(decodeChunks([STREAM.subarray(0, len)])));
        clean++;
      } else {
        expect(d.bufferedBytes).toBeGreaterThan(0);
        let kind: string | undefined;
        try {
          d.end();
        } catch (e) {
          expect(e).toBeInstanceOf(EventStreamError);
          kind = (e as EventStreamError).kind;
        }
        expect(kind).toBe('truncated');
      }
    }
    expect(clean).toBe(FRAMES.length - 1);
  });
});

describe('decodeEventStream', () => {
  const whole = observable(decodeChunks([STREAM]));

  test('over a ReadableStream in random chunks', async () => {
    const rand = mulberry32(7);
    for (let run = 0; run < 20; run++) {
      const { stream } = sourceOf(randomSplit(STREAM, rand));
      expect(observable(await collect(decodeEventStream(stream)))).toEqual(whole);
      expect(stream.locked).toBe(false);
    }
  });

  test('over an async iterable', async () => {
    async function* chunks() {
      for (let p = 0; p < STREAM.length; p += 100) yield STREAM.subarray(p, p + 100);
    }
    expect(observable(await collect(decodeEventStream(chunks())))).toEqual(whole);
  });

  test('early break cancels the source stream and releases its lock', async () => {
    const { stream, state } = sourceOf(FRAMES, { endless: true });
    let n = 0;
    for await (const _ of decodeEventStream(stream)) if (++n === 3) break;
    expect(state.cancelled).toBe(true);
    expect(stream.locked).toBe(false);
  });

  test('early break closes an async-iterable source', async () => {
    let closed = false;
    async function* endless() {
      try {
        for (;;) yield FRAMES[0]!;
      } finally {
        closed = true;
      }
    }
    for await (const _ of decodeEventStream(endless())) break;
    expect(closed).toBe(true);
  });

  test('a framing error rejects the iteration and cancels the source', async () => {
    const bad = STREAM.slice();
    const second = FRAMES[0]!.length;
    bad[second + FRAMES[1]!.length - 1]! ^= 0xff; // message CRC of frame 2
    const { stream, state } = sourceOf([bad.subarray(0, second + 40), bad.subarray(second + 40)], { endless: true });
    const got: Frame[] = [];
    let error: unknown;
    try {
      for await (const f of decodeEventStream(stream)) got.push(f);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EventStreamError);
    expect((error as EventStreamError).kind).toBe('message_crc');
    expect(got).toHaveLength(1);
    expect(state.cancelled).toBe(true);
    expect(stream.locked).toBe(false);
  });

  test('a body ending mid-frame rejects with truncated after the complete frames', async () => {
    const { stream } = sourceOf([STREAM.subarray(0, STREAM.length - 3)]);
    const got: Frame[] = [];
    let error: unknown;
    try {
      for await (const f of decodeEventStream(stream)) got.push(f);
    } catch (e) {
      error = e;
    }
    expect((error as EventStreamError).kind).toBe('truncated');
    expect(got).toHaveLength(FRAMES.length - 1);
  });

  test('an erroring source propagates its own error', async () => {
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(FRAMES[0]!.slice());
        else controller.error(new Error('connection reset'));
      },
    });
    const got: Frame[] = [];
    await expect(
      (async () => {
        for await (const f of decodeEventStream(stream)) got.push(f);
      })(),
    ).rejects.toThrow('connection reset');
    expect(got).toHaveLength(1);
    expect(stream.locked).toBe(false);
  });

  test('passes maxMessageBytes to the decoder', async () => {
    const { stream, state } = sourceOf([STREAM]);
    let error: unknown;
    try {
      await collect(decodeEventStream(stream, { maxMessageBytes: 64 }));
    } catch (e) {
      error = e;
    }
    expect((error as EventStreamError).kind).toBe('length');
    expect(state.cancelled).toBe(true);
  });

  test('an empty body yields nothing', async () => {
    const { stream } = sourceOf([]);
    expect(await collect(decodeEventStream(stream))).toEqual([]);
  });
});
