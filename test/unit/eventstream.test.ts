// Event-stream codec: golden vectors (upstream-protocol §1.6–1.7), header types, framing errors,
// length guards. Chunking behaviour is in eventstream-split.test.ts, fuzzing in eventstream-fuzz.test.ts.
import { describe, expect, test } from 'bun:test';
import { EventStreamDecoder, EventStreamError, type EventStreamErrorKind, type Frame, type HeaderValue, MAX_FRAME_BYTES, MAX_HEADER_BLOCK_BYTES, MAX_PAYLOAD_BYTES, stringHeader } from '../../src/upstream/eventstream';
import { encodeErrorFrame, encodeEvent, encodeException, encodeFrame } from '../../src/upstream/eventstream-encode';
import { concatBytes } from '../support/bytes';

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const s = (value: string): HeaderValue => ({ type: 'string', value });

const GOLDEN_EVENT =
  '0000007c0000005c3bddcf780b3a6576656e742d74797065070016617373697374616e74526573706f6e73654576656e740d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74223a224869227db02babdc';
const GOLDEN_EXCEPTION =
  '000000b2000000613590d5d30d3a6d6573736167652d74797065070009657863657074696f6e0f3a657863657074696f6e2d747970650700135468726f74746c696e67457863657074696f6e0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b226d657373616765223a22546f6f206d616e792072657175657374732c20706c656173652077616974206265666f726520747279696e6720616761696e2e227d1d7c611b';
const GOLDEN_ERROR =
  '0000007600000066b7610e6b0d3a6d6573736167652d747970650700056572726f720b3a6572726f722d636f646507000d496e7465726e616c4572726f720e3a6572726f722d6d657373616765070022416e20696e7465726e616c20736572766572206572726f72206f636375727265642e8ba171ef';

function concat(...parts: (Uint8Array | number[] | string)[]): Uint8Array {
  return concatBytes(parts.map((p) => (typeof p === 'string' ? utf8(p) : Uint8Array.from(p))));
}

/** A 12-byte prelude with a correct CRC, whatever the lengths claim. */
function prelude(total: number, headersLen: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint32(0, total);
  v.setUint32(4, headersLen);
  v.setUint32(8, Bun.hash.crc32(out.subarray(0, 8)));
  return out;
}

/** A frame around an arbitrary (possibly malformed) header block, with both CRCs correct. */
function rawFrame(headerBlock: Uint8Array, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const total = 16 + headerBlock.length + payload.length;
  const out = concat(prelude(total, headerBlock.length), headerBlock, payload, [0, 0, 0, 0]);
  new DataView(out.buffer).setUint32(total - 4, Bun.hash.crc32(out.subarray(0, total - 4)));
  return out;
}

function decodeAll(bytes: Uint8Array, opts?: { maxMessageBytes?: number }): Frame[] {
  const d = new EventStreamDecoder(opts);
  const frames = d.push(bytes);
  d.end();
  return frames;
}

function errorOf(f: () => unknown): EventStreamError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EventStreamError);
    return e as EventStreamError;
  }
  throw new Error('expected an EventStreamError');
}

const kindOf = (f: () => unknown): EventStreamErrorKind => errorOf(f).kind;

function stringHeaders(f: Frame): Record<string, string> {
  return Object.fromEntries([...f.headers.keys()].map((k) => [k, stringHeader(f, k)!]));
}

describe('CRC', () => {
  test('Bun.hash.crc32 is the IEEE CRC-32 of §1.4', () => {
    expect(Bun.hash.crc32(fromHex('0000001e00000000'))).toBe(0xbaf2f68a);
  });
});

describe('golden vectors', () => {
  test('§1.6 assistantResponseEvent encodes to the exact bytes', () => {
    expect(toHex(encodeEvent('assistantResponseEvent', { content: 'Hi' }))).toBe(GOLDEN_EVENT);
  });

  test('§1.6 decodes to its headers (in wire order) and payload', () => {
    const [f, ...rest] = decodeAll(fromHex(GOLDEN_EVENT));
    expect(rest).toHaveLength(0);
    expect([...f!.headers.keys()]).toEqual([':event-type', ':content-type', ':message-type']);
    expect(stringHeaders(f!)).toEqual({
      ':event-type': 'assistantResponseEvent',
      ':content-type': 'application/json',
      ':message-type': 'event',
    });
    expect(text(f!.payload)).toBe('{"content":"Hi"}');
  });

  test('§1.7 exception frame round-trips', () => {
    const message = { message: 'Too many requests, please wait before trying again.' };
    expect(toHex(encodeException('ThrottlingException', message))).toBe(GOLDEN_EXCEPTION);
    const [f] = decodeAll(fromHex(GOLDEN_EXCEPTION));
    expect([...f!.headers.keys()]).toEqual([':message-type', ':exception-type', ':content-type']);
    expect(stringHeaders(f!)).toEqual({
      ':message-type': 'exception',
      ':exception-type': 'ThrottlingException',
      ':content-type': 'application/json',
    });
    expect(JSON.parse(text(f!.payload))).toEqual(message);
  });

  test('§1.7 unmodeled error frame round-trips with an empty payload', () => {
    expect(toHex(encodeErrorFrame('InternalError', 'An internal server error occurred.'))).toBe(GOLDEN_ERROR);
    const [f] = decodeAll(fromHex(GOLDEN_ERROR));
    expect(stringHeaders(f!)).toEqual({
      ':message-type': 'error',
      ':error-code': 'InternalError',
      ':error-message': 'An internal server error occurred.',
    });
    expect(f!.payload.length).toBe(0);
  });

  test('the three vectors back to back decode in one push', () => {
    const frames = decodeAll(fromHex(GOLDEN_EVENT + GOLDEN_EXCEPTION + GOLDEN_ERROR));
    expect(frames.map((f) => stringHeader(f, ':message-type'))).toEqual(['event', 'exception', 'error']);
  });

  test('§1.7 bad-CRC vector (last byte ^ 0xff) is a message_crc error', () => {
    const bad = fromHex(GOLDEN_EVENT);
    bad[bad.length - 1]! ^= 0xff;
    expect(toHex(bad).endsWith('b02bab23')).toBe(true);
    expect(kindOf(() => decodeAll(bad))).toBe('message_crc');
  });

  test('any flipped prelude byte is a prelude_crc error, raised from the prelude alone', () => {
    for (let i = 0; i < 12; i++) {
      const bad = fromHex(GOLDEN_EVENT);
      bad[i]! ^= 0x01;
      expect(kindOf(() => new EventStreamDecoder().push(bad.subarray(0, 12)))).toBe('prelude_crc');
    }
  });

  test('a flipped header or payload byte is a message_crc error', () => {
    for (const i of [12, 50, 104, 119]) {
      const bad = fromHex(GOLDEN_EVENT);
      bad[i]! ^= 0x80;
      expect(kindOf(() => decodeAll(bad))).toBe('message_crc');
    }
  });
});

describe('header value types', () => {
  const maxString = 'x'.repeat(32767);
  const maxBytes = Uint8Array.from({ length: 32767 }, (_, i) => (i * 31) & 0xff);
  const cases: Array<[string, HeaderValue]>[] = [
    [
      ['t', { type: 'bool', value: true }],
      ['f', { type: 'bool', value: false }],
      ['byte-min', { type: 'byte', value: -128 }],
      ['byte-max', { type: 'byte', value: 127 }],
      ['byte-neg', { type: 'byte', value: -1 }],
      ['short-min', { type: 'short', value: -32768 }],
      ['short-max', { type: 'short', value: 32767 }],
      ['int-min', { type: 'integer', value: -2147483648 }],
      ['int-max', { type: 'integer', value: 2147483647 }],
      ['int-neg', { type: 'integer', value: -123456 }],
      ['long-min', { type: 'long', value: -(2n ** 63n) }],
      ['long-max', { type: 'long', value: 2n ** 63n - 1n }],
      ['long-neg', { type: 'long', value: -1n }],
      ['long-mid', { type: 'long', value: 0x0123456789abcdefn }],
      ['bytes-empty', { type: 'bytes', value: new Uint8Array(0) }],
      ['string-empty', s('')],
      ['string-utf8', s('héllo → 世界 🎉')],
      ['ts-epoch', { type: 'timestamp', value: new Date(0) }],
      ['ts-now', { type: 'timestamp', value: new Date(1_764_288_000_123) }],
      ['ts-negative', { type: 'timestamp', value: new Date(-86_400_001) }],
      ['ts-max', { type: 'timestamp', value: new Date(8.64e15) }],
      ['ts-min', { type: 'timestamp', value: new Date(-8.64e15) }],
      ['uuid', { type: 'uuid', value: '0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6' }],
      ['uuid-nil', { type: 'uuid', value: '00000000-0000-0000-0000-000000000000' }],
      ['uuid-max', { type: 'uuid', value: 'ffffffff-ffff-ffff-ffff-ffffffffffff' }],
    ],
    [['string-max', s(maxString)], ['bytes-max', { type: 'bytes', value: maxBytes }]],
  ];

  test.each(cases.map((c, i) => [i, c] as const))('frame %d of all ten types round-trips', (_, headers) => {
    const payload = utf8('{"ok":true}');
    const [f] = decodeAll(encodeFrame(headers, payload));
    expect([...f!.headers]).toEqual(headers);
    expect(text(f!.payload)).toBe('{"ok":true}');
  });

  test('every type id is covered by the cases', () => {
    const ids = new Set<number>();
    for (const headers of cases) {
      const bytes = encodeFrame(headers, new Uint8Array(0));
      let p = 12;
      for (const [name] of headers) {
        p += 1 + utf8(name).length;
        const id = bytes[p]!;
        ids.add(id);
        const fixed = [0, 0, 1, 2, 4, 8, -1, -1, 8, 16][id]!;
        p += 1 + (fixed >= 0 ? fixed : 2 + new DataView(bytes.buffer).getUint16(p + 1));
      }
    }
    expect([...ids].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('wire encodings of the fixed-size types', () => {
    const block = (v: HeaderValue) => toHex(encodeFrame([['h', v]], new Uint8Array(0)).subarray(12, -4));
    expect(block({ type: 'bool', value: true })).toBe('016800');
    expect(block({ type: 'bool', value: false })).toBe('016801');
    expect(block({ type: 'byte', value: -2 })).toBe('016802fe');
    expect(block({ type: 'short', value: -2 })).toBe('016803fffe');
    expect(block({ type: 'integer', value: -2 })).toBe('016804fffffffe');
    expect(block({ type: 'long', value: -2n })).toBe('016805fffffffffffffffe');
    expect(block({ type: 'bytes', value: Uint8Array.of(1, 2) })).toBe('01680600020102');
    expect(block(s('é'))).toBe('0168070002c3a9');
    expect(block({ type: 'timestamp', value: new Date(1000) })).toBe('01680800000000000003e8');
    expect(block({ type: 'uuid', value: '00112233-4455-6677-8899-AABBCCDDEEFF' })).toBe('01680900112233445566778899aabbccddeeff');
  });

  test('uuids decode to canonical lower case', () => {
    const [f] = decodeAll(encodeFrame([['id', { type: 'uuid', value: 'ABCDEF01-2345-6789-ABCD-EF0123456789' }]], new Uint8Array(0)));
    expect(f!.headers.get('id')).toEqual({ type: 'uuid', value: 'abcdef01-2345-6789-abcd-ef0123456789' });
  });

  test('Map and array header inputs encode identically', () => {
    const list: Array<[string, HeaderValue]> = [
      ['a', s('1')],
      ['b', { type: 'integer', value: 2 }],
    ];
    expect(toHex(encodeFrame(new Map(list), utf8('x')))).toBe(toHex(encodeFrame(list, utf8('x'))));
  });

  test('stringHeader returns only string values', () => {
    const [f] = decodeAll(encodeFrame([['n', { type: 'integer', value: 1 }], ['s', s('v')]], new Uint8Array(0)));
    expect(stringHeader(f!, 's')).toBe('v');
    expect(stringHeader(f!, 'n')).toBeUndefined();
    expect(stringHeader(f!, 'missing')).toBeUndefined();
  });
});

describe('malformed header blocks (both CRCs valid)', () => {
  const cases: Array<[string, Uint8Array]> = [
    ['unknown type id 10', concat([1], 'a', [10])],
    ['unknown type id 255', concat([1], 'a', [255, 0, 0])],
    ['zero-length name', concat([0, 7, 0, 0])],
    ['name overruns the block', concat([5], 'ab')],
    ['name fills the block, no type byte', concat([2], 'ab')],
    ['string length overruns the block', concat([1], 'a', [7, 0, 9], 'short')],
    ['string length field cut off', concat([1], 'a', [7, 0])],
    ['bytes length overruns the block', concat([1], 'a', [6, 0, 3, 1, 2])],
    ['string longer than 32767 bytes', concat([1], 'a', [7, 0x80, 0x00], new Uint8Array(0x8000))],
    ['int32 cut off', concat([1], 'a', [4, 0, 0])],
    ['int64 cut off', concat([1], 'a', [5, 0, 0, 0, 0, 0, 0, 0])],
    ['uuid cut off', concat([1], 'a', [9], new Uint8Array(15))],
    ['byte value missing', concat([1], 'a', [2])],
    ['duplicate header name', concat([1], 'a', [0], [1], 'a', [1])],
    ['invalid UTF-8 name', concat([2, 0xc3, 0x28, 0])],
    ['invalid UTF-8 string value', concat([1], 'a', [7, 0, 1, 0xff])],
    ['timestamp beyond the Date range', concat([1], 'a', [8, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
    ['second header truncated', concat([1], 'a', [0], [3], 'bc')],
  ];
  test.each(cases)('%s → header error', (_, block) => {
    const e = errorOf(() => decodeAll(rawFrame(block, utf8('{}'))));
    expect(e.kind).toBe('header');
  });

  test('headers_length 0 means no headers, not an error', () => {
    const [f] = decodeAll(rawFrame(new Uint8Array(0), utf8('p')));
    expect(f!.headers.size).toBe(0);
    expect(text(f!.payload)).toBe('p');
  });

  test('the smallest legal frame (16 bytes) decodes', () => {
    const frames = decodeAll(rawFrame(new Uint8Array(0)));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.payload.length).toBe(0);
  });

  test('unknown :event-type values are just frames', () => {
    const [f] = decodeAll(encodeEvent('futureEvent', { x: 1 }));
    expect(stringHeader(f!, ':event-type')).toBe('futureEvent');
  });
});

describe('length guards (checked on the 12-byte prelude, before buffering)', () => {
  const pushPrelude = (total: number, headersLen: number, opts?: { maxMessageBytes?: number }) => {
    const d = new EventStreamDecoder(opts);
    const e = errorOf(() => d.push(prelude(total, headersLen)));
    expect(d.bufferedBytes).toBeLessThanOrEqual(12);
    return e.kind;
  };

  test('total_length below 16', () => {
    for (const total of [0, 1, 12, 15]) expect(pushPrelude(total, 0)).toBe('length');
  });

  test('headers_length beyond total_length - 16', () => {
    expect(pushPrelude(100, 85)).toBe('length');
    expect(pushPrelude(16, 1)).toBe('length');
    expect(pushPrelude(100, 0xffffffff)).toBe('length');
  });

  test('total_length above the maximum', () => {
    expect(pushPrelude(MAX_FRAME_BYTES + 1, 0)).toBe('length');
    expect(pushPrelude(0xffffffff, 0)).toBe('length');
    expect(pushPrelude(1025, 0, { maxMessageBytes: 1024 })).toBe('length');
  });

  test('header block above 128 KiB', () => {
    expect(pushPrelude(MAX_HEADER_BLOCK_BYTES + 1 + 16, MAX_HEADER_BLOCK_BYTES + 1)).toBe('length');
  });

  test('payload above 24 MiB', () => {
    expect(pushPrelude(MAX_PAYLOAD_BYTES + 1 + 16, 0)).toBe('length');
  });

  test('prelude CRC is checked before the lengths', () => {
    const p = prelude(0xfffffff0, 0);
    p[11]! ^= 1;
    expect(kindOf(() => new EventStreamDecoder().push(p))).toBe('prelude_crc');
  });

  test('§6.4 bad_length: total 0xFFFFFFF0 with a correct prelude CRC fails on the prelude itself', () => {
    const d = new EventStreamDecoder();
    const head = prelude(0xfffffff0, 0);
    // Delivered in two parts: nothing is decided before the 12th byte, and the error comes
    // with it, not after the 1 KiB of filler.
    expect(d.push(head.subarray(0, 11))).toEqual([]);
    expect(d.bufferedBytes).toBe(11);
    expect(kindOf(() => d.push(concat(head.subarray(11), new Uint8Array(1024))))).toBe('length');
    expect(d.bufferedBytes).toBeLessThanOrEqual(12);
  });

  test('the same bad prelude after valid frames still yields no frame past it', () => {
    const d = new EventStreamDecoder();
    const ok = encodeEvent('assistantResponseEvent', { content: 'a' });
    expect(d.push(ok)).toHaveLength(1);
    // the good frame before the bad prelude is delivered; the error follows on the next call
    expect(d.push(concat(ok, prelude(0xfffffff0, 0), new Uint8Array(1024)))).toHaveLength(1);
    expect(d.bufferedBytes).toBeLessThanOrEqual(12);
    expect(kindOf(() => d.end())).toBe('length');
  });

  test('a valid but large prelude buffers only the bytes that arrived', () => {
    const d = new EventStreamDecoder();
    expect(d.push(prelude(20 * 1024 * 1024, 0))).toEqual([]);
    expect(d.bufferedBytes).toBe(12);
    d.push(new Uint8Array(1000));
    expect(d.bufferedBytes).toBe(1012);
    expect(kindOf(() => d.end())).toBe('truncated');
  });

  test('a frame of exactly maxMessageBytes is accepted', () => {
    const frame = encodeEvent('e', { content: 'x'.repeat(100) });
    expect(decodeAll(frame, { maxMessageBytes: frame.length })).toHaveLength(1);
    expect(kindOf(() => decodeAll(frame, { maxMessageBytes: frame.length - 1 }))).toBe('length');
  });

  test('maxMessageBytes outside [16, MAX_FRAME_BYTES] is a RangeError', () => {
    for (const bad of [15, MAX_FRAME_BYTES + 1, 1.5, Number.NaN]) {
      expect(() => new EventStreamDecoder({ maxMessageBytes: bad })).toThrow(RangeError);
    }
  });

  test('a maximal frame (24 MiB payload) decodes across 1 MiB chunks', () => {
    const payload = new Uint8Array(MAX_PAYLOAD_BYTES);
    payload[0] = 1;
    payload[payload.length - 1] = 2;
    const frame = encodeFrame([[':message-type', s('event')]], payload);
    const d = new EventStreamDecoder();
    const frames: Frame[] = [];
    for (let p = 0; p < frame.length; p += 1 << 20) {
      frames.push(...d.push(frame.subarray(p, p + (1 << 20))));
      expect(d.bufferedBytes).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    }
    d.end();
    expect(frames).toHaveLength(1);
    expect(frames[0]!.payload.length).toBe(MAX_PAYLOAD_BYTES);
    expect(frames[0]!.payload[0]).toBe(1);
    expect(frames[0]!.payload[MAX_PAYLOAD_BYTES - 1]).toBe(2);
  });
});

describe('decoder state', () => {
  test('after an error every push and end throws the same kind', () => {
    const d = new EventStreamDecoder();
    const bad = fromHex(GOLDEN_EVENT);
    bad[bad.length - 1]! ^= 0xff;
    expect(kindOf(() => d.push(bad))).toBe('message_crc');
    expect(kindOf(() => d.push(fromHex(GOLDEN_EVENT)))).toBe('message_crc');
    expect(kindOf(() => d.push(new Uint8Array(0)))).toBe('message_crc');
    expect(kindOf(() => d.end())).toBe('message_crc');
  });

  test('after a truncation error the decoder stays failed', () => {
    const d = new EventStreamDecoder();
    d.push(fromHex(GOLDEN_EVENT).subarray(0, 5));
    expect(kindOf(() => d.end())).toBe('truncated');
    expect(kindOf(() => d.push(fromHex(GOLDEN_EVENT)))).toBe('truncated');
  });

  test('end() on a frame boundary returns and an empty push yields nothing', () => {
    const d = new EventStreamDecoder();
    expect(d.push(new Uint8Array(0))).toEqual([]);
    d.end();
    expect(d.push(fromHex(GOLDEN_EVENT))).toHaveLength(1);
    d.end();
  });

  test('frames with identical header blocks get independent Maps and values', () => {
    const frames = decodeAll(
      concat(...['a', 'b', 'c'].map((content) => encodeEvent('assistantResponseEvent', { content }))),
    );
    expect(frames.map((f) => text(f.payload))).toEqual(['{"content":"a"}', '{"content":"b"}', '{"content":"c"}']);
    frames[0]!.headers.set('x', s('y'));
    (frames[0]!.headers.get(':event-type') as { value: string }).value = 'changed';
    expect(frames[1]!.headers.has('x')).toBe(false);
    expect(stringHeader(frames[1]!, ':event-type')).toBe('assistantResponseEvent');
    expect(stringHeader(frames[2]!, ':event-type')).toBe('assistantResponseEvent');
  });

  test('repeated blocks with non-string headers decode to independent values', () => {
    const frame = encodeFrame([['n', { type: 'integer', value: 7 }], ['b', { type: 'bytes', value: Uint8Array.of(1) }]], utf8('{}'));
    const [a, b] = decodeAll(concat(frame, frame));
    (a!.headers.get('b')!.value as Uint8Array)[0] = 9;
    expect(b!.headers.get('n')).toEqual({ type: 'integer', value: 7 });
    expect(b!.headers.get('b')).toEqual({ type: 'bytes', value: Uint8Array.of(1) });
  });

  test('a header block seen before other blocks is still recognised exactly', () => {
    const types = ['assistantResponseEvent', 'toolUseEvent', 'meteringEvent', 'contextUsageEvent', 'codeEvent'];
    const order = [0, 1, 0, 2, 3, 0, 4, 1, 2, 3, 4, 0, 0, 1];
    const frames = decodeAll(concat(...order.map((i) => encodeEvent(types[i]!, { i }))));
    expect(frames.map((f) => stringHeader(f, ':event-type'))).toEqual(order.map((i) => types[i]));
    expect(frames.map((f) => JSON.parse(text(f.payload)).i)).toEqual(order);
  });

  test('alternating same-length header values are not confused by the header memo', () => {
    const types = ['meteringEvent', 'metadataEvent', 'meteringEvent', 'metadataEvent', 'metadataEvent'];
    const frames = decodeAll(concat(...types.map((t) => encodeEvent(t, {}))));
    expect(frames.map((f) => stringHeader(f, ':event-type'))).toEqual(types);
  });

  test('a message_crc error is reported even when the header block matches the memo', () => {
    const good = encodeEvent('assistantResponseEvent', { content: 'a' });
    const bad = encodeEvent('assistantResponseEvent', { content: 'b' });
    bad[bad.length - 10]! ^= 1; // payload byte
    expect(kindOf(() => decodeAll(concat(good, bad)))).toBe('message_crc');
  });

  test('frames assembled across chunks are not overwritten by later pushes', () => {
    const a = encodeEvent('assistantResponseEvent', { content: 'first' });
    const b = encodeEvent('assistantResponseEvent', { content: 'second' });
    const d = new EventStreamDecoder();
    d.push(a.subarray(0, 50));
    const [fa] = d.push(a.subarray(50));
    d.push(b.subarray(0, 50));
    d.push(b.subarray(50));
    expect(text(fa!.payload)).toBe('{"content":"first"}');
  });
});

describe('encoder validation', () => {
  const enc = (headers: Array<[string, HeaderValue]>) => () => encodeFrame(headers, new Uint8Array(0));
  test('out-of-range and malformed values are RangeErrors', () => {
    expect(enc([['', s('x')]])).toThrow(RangeError);
    expect(enc([['n'.repeat(256), s('x')]])).toThrow(RangeError);
    expect(enc([['a', s('x')], ['a', s('y')]])).toThrow(RangeError);
    expect(enc([['a', { type: 'byte', value: 128 }]])).toThrow(RangeError);
    expect(enc([['a', { type: 'short', value: -32769 }]])).toThrow(RangeError);
    expect(enc([['a', { type: 'integer', value: 2 ** 31 }]])).toThrow(RangeError);
    expect(enc([['a', { type: 'integer', value: 1.5 }]])).toThrow(RangeError);
    expect(enc([['a', { type: 'long', value: 2n ** 63n }]])).toThrow(RangeError);
    expect(enc([['a', s('x'.repeat(32768))]])).toThrow(RangeError);
    expect(enc([['a', { type: 'bytes', value: new Uint8Array(32768) }]])).toThrow(RangeError);
    expect(enc([['a', { type: 'uuid', value: 'not-a-uuid' }]])).toThrow(RangeError);
    expect(enc([['a', { type: 'timestamp', value: new Date(Number.NaN) }]])).toThrow(RangeError);
    expect(() => encodeFrame([], new Uint8Array(MAX_PAYLOAD_BYTES + 1))).toThrow(RangeError);
  });

  test('a 255-byte header name is accepted', () => {
    const name = 'n'.repeat(255);
    const [f] = decodeAll(encodeFrame([[name, s('v')]], new Uint8Array(0)));
    expect(stringHeader(f!, name)).toBe('v');
  });

  test('a payload JSON.stringify cannot serialise is a TypeError', () => {
    expect(() => encodeEvent('e', undefined)).toThrow(TypeError);
  });
});

describe('a corrupt frame after good ones in the same chunk', () => {
  test('the good frames are returned and the error comes with the next push or end', () => {
    const good = [encodeEvent('assistantResponseEvent', { content: 'a' }), encodeEvent('assistantResponseEvent', { content: 'b' })];
    const bad = encodeEvent('assistantResponseEvent', { content: 'c' });
    bad[bad.length - 1]! ^= 0xff;
    const chunk = new Uint8Array([...good[0]!, ...good[1]!, ...bad]);
    const d1 = new EventStreamDecoder();
    expect(d1.push(chunk).map((f) => new TextDecoder().decode(f.payload))).toEqual(['{"content":"a"}', '{"content":"b"}']);
    expect(() => d1.end()).toThrow(expect.objectContaining({ kind: 'message_crc' }));
    expect(() => d1.end()).toThrow(/already failed/);
    const d2 = new EventStreamDecoder();
    expect(d2.push(chunk)).toHaveLength(2);
    expect(() => d2.push(new Uint8Array(1))).toThrow(expect.objectContaining({ kind: 'message_crc' }));
    // a bad frame alone still throws at once
    expect(() => new EventStreamDecoder().push(bad)).toThrow(expect.objectContaining({ kind: 'message_crc' }));
  });
});
