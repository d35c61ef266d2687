// Amazon event-stream encoder: frames with any of the ten header types, and the three Q-style
// message kinds. Used by the fake upstream and the tests; inputs are ours, so misuse is a RangeError.

import { type HeaderValue, UUID_PATTERN, MAX_HEADER_VALUE_BYTES, MAX_HEADER_NAME_BYTES, MAX_HEADER_BLOCK_BYTES, MAX_PAYLOAD_BYTES, PRELUDE_BYTES, FRAME_OVERHEAD_BYTES } from './eventstream';

const utf8Encoder = new TextEncoder();

function encodedSize(v: HeaderValue, text: Uint8Array | undefined): number {
  switch (v.type) {
    case 'bool':
      return 0;
    case 'byte':
      return 1;
    case 'short':
      return 2;
    case 'integer':
      return 4;
    case 'long':
    case 'timestamp':
      return 8;
    case 'uuid':
      return 16;
    case 'bytes':
      return 2 + v.value.length;
    case 'string':
      return 2 + text!.length;
  }
}

function checkedInt(v: number, min: number, max: number, type: string): number {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${type} header value ${v} out of range`);
  return v;
}

function writeHeaderValue(out: Uint8Array, view: DataView, p: number, v: HeaderValue, text: Uint8Array | undefined): number {
  switch (v.type) {
    case 'bool':
      out[p] = v.value ? 0 : 1;
      return p + 1;
    case 'byte':
      out[p] = 2;
      view.setInt8(p + 1, checkedInt(v.value, -0x80, 0x7f, 'byte'));
      return p + 2;
    case 'short':
      out[p] = 3;
      view.setInt16(p + 1, checkedInt(v.value, -0x8000, 0x7fff, 'short'));
      return p + 3;
    case 'integer':
      out[p] = 4;
      view.setInt32(p + 1, checkedInt(v.value, -0x80000000, 0x7fffffff, 'integer'));
      return p + 5;
    case 'long':
      if (BigInt.asIntN(64, v.value) !== v.value) throw new RangeError(`long header value ${v.value} out of range`);
      out[p] = 5;
      view.setBigInt64(p + 1, v.value);
      return p + 9;
    case 'timestamp': {
      const ms = v.value.getTime();
      if (Number.isNaN(ms)) throw new RangeError('timestamp header value is an invalid Date');
      out[p] = 8;
      view.setBigInt64(p + 1, BigInt(ms));
      return p + 9;
    }
    case 'uuid': {
      if (!UUID_PATTERN.test(v.value)) throw new RangeError(`uuid header value ${JSON.stringify(v.value)} is not canonical`);
      out[p] = 9;
      const hex = v.value.replace(/-/g, '');
      for (let i = 0; i < 16; i++) out[p + 1 + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
      return p + 17;
    }
    case 'bytes':
    case 'string': {
      const bytes = v.type === 'bytes' ? v.value : text!;
      if (bytes.length > MAX_HEADER_VALUE_BYTES) throw new RangeError(`${v.type} header value exceeds ${MAX_HEADER_VALUE_BYTES} bytes`);
      out[p] = v.type === 'bytes' ? 6 : 7;
      view.setUint16(p + 1, bytes.length);
      out.set(bytes, p + 3);
      return p + 3 + bytes.length;
    }
  }
}

/** Encodes one frame; headers are written in the given order. */
export function encodeFrame(
  headers: Map<string, HeaderValue> | Array<[string, HeaderValue]>,
  payload: Uint8Array,
): Uint8Array {
  const entries = headers instanceof Map ? [...headers] : headers;
  const names: Uint8Array[] = [];
  const texts: (Uint8Array | undefined)[] = [];
  const seen = new Set<string>();
  let headersLen = 0;
  for (const [name, value] of entries) {
    if (seen.has(name)) throw new RangeError(`duplicate header ${JSON.stringify(name)}`);
    seen.add(name);
    const nameBytes = utf8Encoder.encode(name);
    if (nameBytes.length === 0 || nameBytes.length > MAX_HEADER_NAME_BYTES) {
      throw new RangeError(`header name must be 1..${MAX_HEADER_NAME_BYTES} UTF-8 bytes: ${JSON.stringify(name)}`);
    }
    const text = value.type === 'string' ? utf8Encoder.encode(value.value) : undefined;
    names.push(nameBytes);
    texts.push(text);
    headersLen += 2 + nameBytes.length + encodedSize(value, text);
  }
  if (headersLen > MAX_HEADER_BLOCK_BYTES) throw new RangeError(`header block exceeds ${MAX_HEADER_BLOCK_BYTES} bytes`);
  if (payload.length > MAX_PAYLOAD_BYTES) throw new RangeError(`payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);
  const total = FRAME_OVERHEAD_BYTES + headersLen + payload.length;
  const buffer = new ArrayBuffer(total); // allocated explicitly: `.buffer` of a small array is costly
  const out = new Uint8Array(buffer);
  const view = new DataView(buffer);
  view.setUint32(0, total);
  view.setUint32(4, headersLen);
  view.setUint32(8, Bun.hash.crc32(out.subarray(0, 8)));
  let p = PRELUDE_BYTES;
  for (let i = 0; i < entries.length; i++) {
    const nameBytes = names[i]!;
    out[p] = nameBytes.length;
    out.set(nameBytes, p + 1);
    p = writeHeaderValue(out, view, p + 1 + nameBytes.length, entries[i]![1], texts[i]);
  }
  out.set(payload, p);
  view.setUint32(total - 4, Bun.hash.crc32(out.subarray(0, total - 4)));
  return out;
}

const str = (value: string): HeaderValue => ({ type: 'string', value });

function jsonBytes(payload: unknown): Uint8Array {
  const json = JSON.stringify(payload);
  if (json === undefined) throw new TypeError('payload is not JSON-serialisable');
  return utf8Encoder.encode(json);
}

/** A Q-style event frame (§1.6 header order). */
export function encodeEvent(eventType: string, payload: unknown): Uint8Array {
  return encodeFrame(
    [
      [':event-type', str(eventType)],
      [':content-type', str('application/json')],
      [':message-type', str('event')],
    ],
    jsonBytes(payload),
  );
}

/** A modeled in-stream error (§1.5, header order of the §1.7 vector). */
export function encodeException(exceptionType: string, payload: unknown): Uint8Array {
  return encodeFrame(
    [
      [':message-type', str('exception')],
      [':exception-type', str(exceptionType)],
      [':content-type', str('application/json')],
    ],
    jsonBytes(payload),
  );
}

/** An unmodeled in-stream error with an empty payload (§1.7). */
export function encodeErrorFrame(code: string, message: string): Uint8Array {
  return encodeFrame(
    [
      [':message-type', str('error')],
      [':error-code', str(code)],
      [':error-message', str(message)],
    ],
    new Uint8Array(0),
  );
}
