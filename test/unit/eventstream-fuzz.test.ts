// Event-stream decoder fuzzing: random bytes and mutated valid streams, fed in random splits. The
// decoder must only return frames (which re-encode to exactly the bytes they came from) or throw
// EventStreamError, and must never buffer more than its length guard allows.
import { describe, expect, test } from 'bun:test';
import { EventStreamDecoder, EventStreamError, type Frame, type HeaderValue, MAX_FRAME_BYTES } from '../../src/upstream/eventstream';
import { encodeFrame } from '../../src/upstream/eventstream-encode';
import { concatBytes } from '../support/bytes';
import { mulberry32 } from '../support/prng';

type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Rand, items: readonly T[]): T => items[int(rand, items.length)]!;
const randomBytes = (rand: Rand, n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(rand, 256));


const NAMES = [':event-type', ':content-type', ':message-type', ':exception-type', 'x-n', 'é', 'k'];
const TEXTS = ['assistantResponseEvent', 'application/json', 'event', '', 'ünï', '\uFEFFbom', 'a'.repeat(70)];

function randomHeader(rand: Rand): HeaderValue {
  switch (int(rand, 10)) {
    case 0:
      return { type: 'bool', value: rand() < 0.5 };
    case 1:
      return { type: 'byte', value: int(rand, 256) - 128 };
    case 2:
      return { type: 'short', value: int(rand, 65536) - 32768 };
    case 3:
      return { type: 'integer', value: int(rand, 2 ** 32) - 2 ** 31 };
    case 4:
      return { type: 'long', value: BigInt.asIntN(64, (BigInt(int(rand, 2 ** 32)) << 32n) | BigInt(int(rand, 2 ** 32))) };
    case 5:
      return { type: 'bytes', value: randomBytes(rand, int(rand, 20)) };
    case 6:
      return { type: 'timestamp', value: new Date(int(rand, 2 ** 42) - 2 ** 41) };
    case 7: {
      const hex = Array.from(randomBytes(rand, 16), (b) => b.toString(16).padStart(2, '0')).join('');
      return { type: 'uuid', value: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` };
    }
    default:
      return { type: 'string', value: pick(rand, TEXTS) };
  }
}

interface BaseStream {
  bytes: Uint8Array;
  /** Offsets where each frame starts. */
  starts: number[];
}

function baseStream(rand: Rand): BaseStream {
  const frames: Uint8Array[] = [];
  const count = 1 + int(rand, 6);
  let headers: Array<[string, HeaderValue]> = [];
  for (let i = 0; i < count; i++) {
    // Like Q, consecutive frames often repeat a header block byte for byte (the decoder's memo).
    if (i === 0 || rand() < 0.5) {
      headers = NAMES.filter(() => rand() < 0.4).map((n): [string, HeaderValue] => [n, randomHeader(rand)]);
    }
    frames.push(encodeFrame(headers, randomBytes(rand, int(rand, 120))));
  }
  const starts = frames.map((_, i) => frames.slice(0, i).reduce((n, f) => n + f.length, 0));
  return { bytes: concatBytes(frames), starts };
}

const INTERESTING_LENGTHS = [0, 1, 12, 15, 16, 17, 255, 0x7fffffff, 0xfffffff0, 0xffffffff, MAX_FRAME_BYTES, MAX_FRAME_BYTES + 1, 128 * 1024, 128 * 1024 + 1];

/** Sets total_length or headers_length of the frame at `at` and makes the prelude CRC valid again. */
function tamperLength(rand: Rand, b: Uint8Array, at: number): Uint8Array {
  if (at + 12 > b.length) return b;
  const out = b.slice();
  const v = new DataView(out.buffer);
  const field = at + (rand() < 0.5 ? 0 : 4);
  const old = v.getUint32(field);
  const r = rand();
  const next = r < 0.4 ? old + int(rand, 33) - 16 : r < 0.7 ? pick(rand, INTERESTING_LENGTHS) : int(rand, 2 ** 32);
  v.setUint32(field, next >>> 0);
  v.setUint32(at + 8, Bun.hash.crc32(out.subarray(at, at + 8)));
  // Sometimes also make the message CRC valid for the new lengths, so that whatever the length
  // guards let through reaches the header parser.
  const total = v.getUint32(at);
  if (rand() < 0.5 && total >= 16 && at + total <= out.length) {
    v.setUint32(at + total - 4, Bun.hash.crc32(out.subarray(at, at + total - 4)));
  }
  return out;
}

/** Garbles the header block of the frame at `at` and fixes the message CRC, so the header parser
 *  (not the CRC check) is what meets the garbage. */
function garbleHeaders(rand: Rand, b: Uint8Array, at: number): Uint8Array {
  if (at + 12 > b.length) return b; // earlier mutations may have moved the frame
  const out = b.slice();
  const v = new DataView(out.buffer);
  const total = v.getUint32(at);
  const headersLen = v.getUint32(at + 4);
  if (headersLen === 0 || total < 16 || at + total > b.length || headersLen > total - 16) return b;
  for (let n = 1 + int(rand, 3); n > 0; n--) {
    const p = at + 12 + int(rand, headersLen);
    const r = rand();
    out[p] = r < 0.4 ? out[p]! ^ (1 << int(rand, 8)) : r < 0.7 ? pick(rand, [0, 1, 2, 7, 9, 10, 0x7f, 0x80, 0xff]) : int(rand, 256);
  }
  v.setUint32(at + total - 4, Bun.hash.crc32(out.subarray(at, at + total - 4)));
  return out;
}

function mutate(rand: Rand, base: BaseStream, other: BaseStream): Uint8Array {
  let b = base.bytes;
  for (let n = 1 + int(rand, 3); n > 0; n--) {
    const at = pick(rand, base.starts);
    switch (int(rand, 8)) {
      case 0: {
        b = b.slice();
        for (let k = 1 + int(rand, 4); k > 0 && b.length > 0; k--) b[int(rand, b.length)]! ^= 1 << int(rand, 8);
        break;
      }
      case 1: {
        const p = int(rand, b.length + 1);
        b = concatBytes([b.subarray(0, p), randomBytes(rand, 1 + int(rand, 8)), b.subarray(p)]);
        break;
      }
      case 2: {
        const p = int(rand, b.length + 1);
        b = concatBytes([b.subarray(0, p), b.subarray(p + 1 + int(rand, 8))]);
        break;
      }
      case 3:
        b = b.subarray(0, int(rand, b.length + 1));
        break;
      case 4:
      case 5:
        b = tamperLength(rand, b, at);
        break;
      case 6:
        b = garbleHeaders(rand, b, at);
        break;
      default:
        b = concatBytes([b.subarray(0, int(rand, b.length + 1)), other.bytes.subarray(int(rand, other.bytes.length))]);
    }
  }
  return b;
}

function randomSplit(rand: Rand, b: Uint8Array): Uint8Array[] {
  const cuts = Array.from({ length: int(rand, 8) }, () => int(rand, b.length + 1)).sort((x, y) => x - y);
  const bounds = [0, ...cuts, b.length];
  return bounds.slice(1).map((end, i) => b.subarray(bounds[i]!, end));
}

/**
 * Feeds `input` in random chunks and checks the invariants; returns what happened, for stats.
 * Frames must re-encode to the exact bytes at the front of the input: the decoder reports what
 * is on the wire, nothing more or less.
 */
function check(rand: Rand, input: Uint8Array, max: number): 'ok' | EventStreamError['kind'] {
  const d = new EventStreamDecoder({ maxMessageBytes: max });
  const frames: Frame[] = [];
  let failure: EventStreamError | undefined;
  try {
    for (const chunk of randomSplit(rand, input)) {
      frames.push(...d.push(chunk));
      if (d.bufferedBytes > max) throw new Error(`buffered ${d.bufferedBytes} > ${max}`);
    }
    d.end();
  } catch (e) {
    if (!(e instanceof EventStreamError)) throw e;
    failure = e;
  }
  if (d.bufferedBytes > max || d.bufferedBytes > MAX_FRAME_BYTES) throw new Error(`buffered ${d.bufferedBytes}`);
  const reencoded = concatBytes(frames.map((f) => encodeFrame(f.headers, f.payload)));
  if (Buffer.compare(reencoded, input.subarray(0, reencoded.length)) !== 0) throw new Error('frames differ from input bytes');
  if (failure === undefined) {
    if (reencoded.length !== input.length) throw new Error('clean end without consuming every byte');
    return 'ok';
  }
  try {
    d.push(new Uint8Array(1)); // a failed decoder stays failed
  } catch (e) {
    if (!(e instanceof EventStreamError) || e.kind !== failure.kind) throw new Error('failed decoder accepted input');
    return failure.kind;
  }
  throw new Error('failed decoder accepted input');
}

/** Runs `count` cases, reporting the first violation with its case number. */
function run(seed: number, count: number, input: (rand: Rand, i: number) => { bytes: Uint8Array; max: number }) {
  const rand = mulberry32(seed);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const { bytes, max } = input(rand, i);
    let outcome: string;
    try {
      outcome = check(rand, bytes, max);
    } catch (e) {
      throw new Error(`seed ${seed} case ${i} (${bytes.length} bytes, max ${max}): ${String(e)}\n${Buffer.from(bytes).toString('hex')}`);
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  return outcomes;
}

/** EVENTSTREAM_FUZZ_SCALE=10 runs ten times as many cases (and other seeds) for a deeper local search. */
const SCALE = Math.max(1, Number(process.env.EVENTSTREAM_FUZZ_SCALE ?? 1) || 1);
const SEED = SCALE === 1 ? 0 : Date.now() % 1_000_000;
if (SEED !== 0) console.log(`eventstream fuzz: scale ${SCALE}, seed offset ${SEED}`);

// Most cases use the spec maximum; some a small one, to exercise that guard too.
const chooseMax = (rand: Rand): number => (rand() < 0.8 ? MAX_FRAME_BYTES : 16 + int(rand, 400));

describe('fuzz (120,000 inputs)', () => {
  const bases = Array.from({ length: 64 }, (_, i) => baseStream(mulberry32(1000 + i)));

  test('valid base streams decode cleanly in any split', () => {
    const outcomes = run(1, 2_000, (rand, i) => ({ bytes: bases[i % bases.length]!.bytes, max: MAX_FRAME_BYTES }));
    expect(outcomes.get('ok')).toBe(2_000);
  });

  test('40,000 random byte strings', () => {
    const outcomes = run(SEED + 2, 40_000 * SCALE, (rand) => {
      const body = randomBytes(rand, int(rand, 300));
      // Half start with a CRC-valid prelude so the inputs get past the first check.
      if (rand() < 0.5 && body.length >= 12) {
        const v = new DataView(body.buffer);
        v.setUint32(0, rand() < 0.7 ? 16 + int(rand, 300) : int(rand, 2 ** 32));
        v.setUint32(4, rand() < 0.7 ? int(rand, 100) : int(rand, 2 ** 32));
        v.setUint32(8, Bun.hash.crc32(body.subarray(0, 8)));
      }
      return { bytes: body, max: chooseMax(rand) };
    });
    expect(outcomes.get('prelude_crc')).toBeGreaterThan(1000);
    expect(outcomes.get('length')).toBeGreaterThan(1000);
    expect(outcomes.get('message_crc')).toBeGreaterThan(100);
  }, 30_000 * SCALE);

  test('60,000 mutations of valid streams', () => {
    const outcomes = run(SEED + 3, 60_000 * SCALE, (rand) => ({
      bytes: mutate(rand, pick(rand, bases), pick(rand, bases)),
      max: chooseMax(rand),
    }));
    if (process.env.EVENTSTREAM_FUZZ_STATS) console.log(outcomes);
    for (const kind of ['ok', 'prelude_crc', 'message_crc', 'length', 'header', 'truncated']) {
      expect(outcomes.get(kind)).toBeGreaterThan(100);
    }
  }, 30_000 * SCALE);

  test('20,000 garbled header blocks with valid CRCs', () => {
    const outcomes = run(SEED + 4, 20_000 * SCALE, (rand) => {
      const base = pick(rand, bases);
      let bytes = base.bytes;
      for (let n = 1 + int(rand, 2); n > 0; n--) bytes = garbleHeaders(rand, bytes, pick(rand, base.starts));
      return { bytes, max: MAX_FRAME_BYTES };
    });
    expect(outcomes.get('header')).toBeGreaterThan(5_000);
    expect(outcomes.get('ok')).toBeGreaterThan(100);
  }, 30_000 * SCALE);
});
