// Amazon event-stream codec (application/vnd.amazon.eventstream): incremental, CRC-checked decoder
// and encoder. Pure: no I/O. See shared upstream-protocol.md §1.
// API CONTRACT (other modules depend on it): HeaderValue, Frame, EventStreamErrorKind, EventStreamError.

export type HeaderValue =
  | { type: 'bool'; value: boolean }
  | { type: 'byte' | 'short' | 'integer'; value: number }
  | { type: 'long'; value: bigint }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'string'; value: string }
  | { type: 'timestamp'; value: Date }
  | { type: 'uuid'; value: string }; // canonical 8-4-4-4-12 lower-case hex

export interface Frame {
  /** header name → value, in wire order (Map keeps insertion order) */
  headers: Map<string, HeaderValue>;
  payload: Uint8Array;
}

export type EventStreamErrorKind =
  | 'prelude_crc' // prelude CRC mismatch
  | 'message_crc' // message CRC mismatch
  | 'length' // total_length / headers_length out of bounds (checked before any allocation)
  | 'header' // malformed header block (bad type id, overrun, empty name, …)
  | 'truncated'; // stream ended in the middle of a frame

export class EventStreamError extends Error {
  constructor(
    readonly kind: EventStreamErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'EventStreamError';
  }
}

// ── Limits (upstream-protocol §1.3) ─────────────────────────────────────────────────────────────

/** Spec ceiling for a payload; a corrupt length must not make us buffer more than this. */
export const MAX_PAYLOAD_BYTES = 24 * 1024 * 1024;
/** Spec ceiling for the encoded header block. */
export const MAX_HEADER_BLOCK_BYTES = 128 * 1024;
/** total_length + headers_length + prelude CRC: the part we must see before trusting any length. */
export const PRELUDE_BYTES = 12;
/** Prelude plus trailing message CRC: the size of a frame with no headers and no payload. */
export const FRAME_OVERHEAD_BYTES = 16;
/** Largest frame the spec allows; the default and upper bound of `maxMessageBytes`. */
export const MAX_FRAME_BYTES = MAX_PAYLOAD_BYTES + MAX_HEADER_BLOCK_BYTES + FRAME_OVERHEAD_BYTES;
/** String / byte_array values carry a u16 length whose top bit the spec leaves unused. */
export const MAX_HEADER_VALUE_BYTES = 32767;
/** Header names carry a u8 length and must not be empty. */
export const MAX_HEADER_NAME_BYTES = 255;

/** Partial frames above this size grow geometrically instead of being allocated up front, so a
 *  12-byte prelude claiming 24 MiB cannot make us commit 24 MiB before the bytes arrive. */
const EAGER_ALLOCATION_BYTES = 64 * 1024;
/** Header strings up to this length are memoised by their bytes; Q repeats a handful of them. */
const CACHEABLE_STRING_BYTES = 64;
/** Slots of the direct-mapped string cache (power of two). */
const STRING_CACHE_SLOTS = 64;
/** Distinct header blocks remembered: Q's text, tool, metering and context-usage events. */
const KNOWN_BLOCKS = 4;
/** Slots of the memos of prelude and header-block CRCs (power of two). */
const CRC_MEMO_SLOTS = 64;
/** Date's representable range (ECMA-262 §21.4.1.22); a timestamp beyond it cannot become a Date. */
export const MAX_DATE_MS = 8.64e15;

// ignoreBOM keeps a leading U+FEFF: header text must round-trip byte for byte.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TWO_POW_32 = 4294967296;

// ── Decoding ────────────────────────────────────────────────────────────────────────────────────

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function decodeUtf8(b: Uint8Array, start: number, len: number): string {
  try {
    return utf8Decoder.decode(b.subarray(start, start + len));
  } catch {
    // Header names and string values are UTF-8 by spec; mojibake here means a corrupt frame.
    throw new EventStreamError('header', 'header text is not valid UTF-8');
  }
}

/**
 * A header block seen before, made only of string headers, with its decoded names and values.
 * The bytes are kept after a 4-byte slot for a frame's prelude CRC, so that one CRC call over
 * our copy covers message bytes 8..12+H without creating a view into the chunk.
 */
class KnownBlock {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  // -1 never equals a u32 CRC, so an empty slot cannot hit.
  private readonly crcKeys = new Float64Array(CRC_MEMO_SLOTS).fill(-1);
  private readonly crcValues = new Uint32Array(CRC_MEMO_SLOTS);

  constructor(
    b: Uint8Array,
    start: number,
    readonly len: number,
    private readonly names: string[],
    private readonly values: string[],
  ) {
    this.bytes = new Uint8Array(new ArrayBuffer(4 + len));
    this.bytes.set(b.subarray(start, start + len), 4);
    this.view = new DataView(this.bytes.buffer);
  }

  /** Whether b[start, start+len) holds this block (word-wise compare). */
  matches(b: Uint8Array, v: DataView, start: number, len: number): boolean {
    if (len !== this.len) return false;
    const bv = this.view;
    const words = len & ~3;
    let i = 0;
    for (; i < words; i += 4) if (bv.getUint32(4 + i) !== v.getUint32(start + i)) return false;
    const own = this.bytes;
    for (; i < len; i++) if (own[4 + i] !== b[start + i]) return false;
    return true;
  }

  /**
   * CRC-32 continued from the prelude CRC over [prelude CRC, block]: message bytes 8..12+H. It
   * depends only on the prelude CRC (i.e. the frame's lengths) and the block, and a run of Q
   * frames has a handful of distinct lengths, so results are memoised per prelude CRC.
   */
  crcThrough(preludeCrc: number): number {
    const slot = preludeCrc & (CRC_MEMO_SLOTS - 1);
    if (this.crcKeys[slot] === preludeCrc) return this.crcValues[slot]!;
    this.view.setUint32(0, preludeCrc);
    const crc = Bun.hash.crc32(this.bytes, preludeCrc);
    this.crcKeys[slot] = preludeCrc;
    this.crcValues[slot] = crc;
    return crc;
  }

  /** A fresh Map with fresh values: callers may mutate what they get. */
  headers(): Map<string, HeaderValue> {
    const headers = new Map<string, HeaderValue>();
    const names = this.names;
    const values = this.values;
    for (let i = 0; i < names.length; i++) headers.set(names[i]!, { type: 'string', value: values[i]! });
    return headers;
  }
}

/**
 * Per-decoder memo of header decoding. Q sends long runs of frames whose header blocks are
 * byte-identical (same `:event-type`, `:content-type`, `:message-type`), interleaved with a few
 * other event types, so:
 * - the last few all-string blocks are kept, most recent first; a frame whose block matches one
 *   skips parsing (and most of the CRC work, see KnownBlock);
 * - short strings are memoised by their bytes in a small direct-mapped table, so a new block
 *   decodes at most the strings not seen before.
 */
class HeaderMemo {
  private readonly blocks: KnownBlock[] = [];
  private readonly keys: (Uint8Array | undefined)[] = new Array<undefined>(STRING_CACHE_SLOTS).fill(undefined);
  private readonly strings: string[] = new Array<string>(STRING_CACHE_SLOTS).fill('');

  /** The known block equal to b[start, start+len), moved to the front; undefined if none. */
  find(b: Uint8Array, v: DataView, start: number, len: number): KnownBlock | undefined {
    const blocks = this.blocks;
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]!;
      if (!block.matches(b, v, start, len)) continue;
      if (i > 0) {
        blocks[i] = blocks[0]!;
        blocks[0] = block;
      }
      return block;
    }
    return undefined;
  }

  /** Remembers a freshly parsed block if it holds only strings (other values are mutable objects). */
  remember(b: Uint8Array, start: number, len: number, headers: Map<string, HeaderValue>): void {
    const names: string[] = [];
    const values: string[] = [];
    for (const [name, h] of headers) {
      if (h.type !== 'string') return;
      names.push(name);
      values.push(h.value);
    }
    if (this.blocks.length === KNOWN_BLOCKS) this.blocks.pop();
    this.blocks.unshift(new KnownBlock(b, start, len, names, values));
  }

  string(b: Uint8Array, start: number, len: number): string {
    if (len < 2 || len > CACHEABLE_STRING_BYTES) return len === 0 ? '' : decodeUtf8(b, start, len);
    // Length plus first, second, middle and last byte tell Q's header names and values apart.
    const slot = (len * 31 + b[start + (len >> 1)]! * 7 + b[start + 1]! * 3 + b[start + len - 1]!) & (STRING_CACHE_SLOTS - 1);
    const key = this.keys[slot];
    if (key !== undefined && key.length === len) {
      let i = 0;
      while (i < len && key[i] === b[start + i]) i++;
      if (i === len) return this.strings[slot]!;
    }
    const s = decodeUtf8(b, start, len);
    this.keys[slot] = b.slice(start, start + len);
    this.strings[slot] = s;
    return s;
  }
}

function uuidAt(b: Uint8Array, p: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[p + i]!];
  }
  return s;
}

function headerError(message: string, p: number): EventStreamError {
  return new EventStreamError('header', `${message} (header block offset ${p})`);
}

/** Parses the header block b[p, end); every read is bounds-checked against `end` first. */
function parseHeaders(b: Uint8Array, v: DataView, p: number, end: number, memo: HeaderMemo): Map<string, HeaderValue> {
  const start = p;
  const headers = new Map<string, HeaderValue>();
  while (p < end) {
    const nameLen = b[p]!;
    if (nameLen === 0) throw headerError('empty header name', p - start);
    if (p + 2 + nameLen > end) throw headerError('header name overruns the header block', p - start);
    const name = memo.string(b, p + 1, nameLen);
    p += 1 + nameLen;
    const type = b[p++]!;
    let value: HeaderValue;
    if (type === 7 || type === 6) {
      if (p + 2 > end) throw headerError('header value length overruns the header block', p - start);
      const len = v.getUint16(p);
      if (len > MAX_HEADER_VALUE_BYTES) throw headerError(`header value of ${len} bytes exceeds ${MAX_HEADER_VALUE_BYTES}`, p - start);
      p += 2;
      if (p + len > end) throw headerError('header value overruns the header block', p - start);
      value =
        type === 7
          ? { type: 'string', value: memo.string(b, p, len) }
          : { type: 'bytes', value: b.slice(p, p + len) }; // a copy, so keeping it does not pin the chunk
      p += len;
    } else {
      if (type > 9) throw headerError(`unknown header value type ${type}`, p - 1 - start);
      const size = type <= 1 ? 0 : type === 2 ? 1 : type === 3 ? 2 : type === 4 ? 4 : type === 9 ? 16 : 8;
      if (p + size > end) throw headerError('header value overruns the header block', p - start);
      switch (type) {
        case 0:
        case 1:
          value = { type: 'bool', value: type === 0 };
          break;
        case 2:
          value = { type: 'byte', value: v.getInt8(p) };
          break;
        case 3:
          value = { type: 'short', value: v.getInt16(p) };
          break;
        case 4:
          value = { type: 'integer', value: v.getInt32(p) };
          break;
        case 5:
          value = { type: 'long', value: v.getBigInt64(p) };
          break;
        case 8: {
          const ms = v.getInt32(p) * TWO_POW_32 + v.getUint32(p + 4);
          if (!(Math.abs(ms) <= MAX_DATE_MS)) throw headerError('timestamp outside the Date range', p - start);
          value = { type: 'timestamp', value: new Date(ms) };
          break;
        }
        default:
          value = { type: 'uuid', value: uuidAt(b, p) };
      }
      p += size;
    }
    if (headers.has(name)) throw headerError(`duplicate header ${JSON.stringify(name)}`, p - start);
    headers.set(name, value);
  }
  return headers;
}

/** Decodes the complete frame b[off, off+total) whose prelude has already been validated. */
function decodeFrame(b: Uint8Array, v: DataView, off: number, total: number, memo: HeaderMemo, where: number): Frame {
  const preludeCrc = v.getUint32(off + 8);
  const headersStart = off + PRELUDE_BYTES;
  const headersLen = v.getUint32(off + 4);
  const headersEnd = headersStart + headersLen;
  const crcAt = off + total - 4;
  const payload = b.subarray(headersEnd, crcAt);
  // The message CRC covers bytes 0..total-5; continuing from the (validated) prelude CRC skips
  // re-hashing the first 8 bytes. The CRC is checked before headers are trusted.
  const known = memo.find(b, v, headersStart, headersLen);
  const crc =
    known !== undefined
      ? Bun.hash.crc32(payload, known.crcThrough(preludeCrc))
      : Bun.hash.crc32(b.subarray(off + 8, crcAt), preludeCrc);
  if (crc !== v.getUint32(crcAt)) {
    throw new EventStreamError('message_crc', `message CRC mismatch in the frame at stream offset ${where}`);
  }
  if (known !== undefined) return { headers: known.headers(), payload };
  const headers = parseHeaders(b, v, headersStart, headersEnd, memo);
  memo.remember(b, headersStart, headersLen, headers);
  return { headers, payload };
}

export interface DecoderOptions {
  /** Reject frames whose total_length exceeds this (16 … MAX_FRAME_BYTES, default MAX_FRAME_BYTES). */
  maxMessageBytes?: number;
}

/**
 * Incremental decoder. Chunk boundaries are arbitrary (§1.8). Frames decoded from a chunk that
 * holds them whole are views into that chunk, so a chunk must not be mutated after `push`;
 * frames assembled across chunks live in a buffer owned by that frame alone.
 */
export class EventStreamDecoder {
  readonly #max: number;
  readonly #memo = new HeaderMemo();
  /** First bytes of a frame until its 12-byte prelude is complete; never handed out. */
  readonly #prelude = new Uint8Array(new ArrayBuffer(PRELUDE_BYTES));
  readonly #preludeView = new DataView(this.#prelude.buffer);
  /** Bytes 0..7 of the prelude being checked: Bun.hash.crc32 needs them as one view. */
  readonly #crcInput = new Uint8Array(new ArrayBuffer(8));
  readonly #crcInputView = new DataView(this.#crcInput.buffer);
  /** CRC-32 of recent (total_length, headers_length) pairs: a run of Q frames repeats a few
   *  lengths, and a lookup is cheaper than a native call. Direct-mapped on total_length;
   *  -1 never equals a u32, so an empty slot cannot hit. */
  readonly #preludeTotals = new Float64Array(CRC_MEMO_SLOTS).fill(-1);
  readonly #preludeHeaderLens = new Uint32Array(CRC_MEMO_SLOTS);
  readonly #preludeCrcs = new Uint32Array(CRC_MEMO_SLOTS);
  /** Buffer of the frame being assembled across chunks, once its prelude has been validated. */
  #frame: Uint8Array | null = null;
  #total = 0;
  #filled = 0;
  /** Stream offsets of the current chunk and of the pending frame, for error messages only. */
  #chunkStart = 0;
  #frameStart = 0;
  #failed: EventStreamError | null = null;
  /** the failure was deferred so that frames before it could be returned; not thrown yet */
  #unreported = false;

  constructor(opts?: DecoderOptions) {
    const max = opts?.maxMessageBytes ?? MAX_FRAME_BYTES;
    if (!Number.isInteger(max) || max < FRAME_OVERHEAD_BYTES || max > MAX_FRAME_BYTES) {
      throw new RangeError(`maxMessageBytes must be an integer in [${FRAME_OVERHEAD_BYTES}, ${MAX_FRAME_BYTES}]`);
    }
    this.#max = max;
  }

  /** Bytes of the incomplete frame currently buffered (never more than maxMessageBytes). */
  get bufferedBytes(): number {
    return this.#filled;
  }

  /**
   * Returns every frame completed by `chunk`; throws EventStreamError, after which it stays failed.
   * Good frames that precede a bad one in the same chunk are still returned: the error is then
   * thrown by the next push() or end(), so the last text before a corrupt frame is not lost.
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failed !== null) throw this.#failedAgain();
    const frames: Frame[] = [];
    try {
      this.#push(chunk, frames);
      return frames;
    } catch (e) {
      if (!(e instanceof EventStreamError)) throw e;
      this.#failed = e;
      if (frames.length === 0) throw e;
      this.#unreported = true;
      return frames;
    }
  }

  /** Declares end of input: a clean end must fall on a frame boundary (§1.8 rule 3). */
  end(): void {
    if (this.#failed !== null) throw this.#failedAgain();
    if (this.#filled > 0) {
      const of = this.#frame === null ? `${PRELUDE_BYTES}-byte prelude` : `${this.#total}-byte frame`;
      this.#failed = new EventStreamError(
        'truncated',
        `stream ended after ${this.#filled} bytes of a ${of} at stream offset ${this.#frameStart}`,
      );
      throw this.#failed;
    }
  }

  #failedAgain(): EventStreamError {
    const f = this.#failed!;
    if (this.#unreported) {
      this.#unreported = false;
      return f;
    }
    return new EventStreamError(f.kind, `decoder already failed: ${f.message}`);
  }

  #push(chunk: Uint8Array, frames: Frame[]): void {
    const len = chunk.length;
    let pos = 0;
    if (this.#filled > 0) pos = this.#continuePending(chunk, frames);
    if (len - pos >= PRELUDE_BYTES) {
      // Fast path: frames lying whole inside the chunk are decoded in place, without copying.
      const v = viewOf(chunk);
      do {
        const total = this.#checkPrelude(v, pos, this.#chunkStart + pos);
        if (len - pos < total) {
          this.#frameStart = this.#chunkStart + pos;
          this.#startFrame(total, chunk.subarray(pos));
          pos = len;
          break;
        }
        frames.push(decodeFrame(chunk, v, pos, total, this.#memo, this.#chunkStart + pos));
        pos += total;
      } while (len - pos >= PRELUDE_BYTES);
    }
    if (pos < len) {
      this.#frameStart = this.#chunkStart + pos;
      this.#prelude.set(chunk.subarray(pos));
      this.#filled = len - pos;
    }
    this.#chunkStart += len;
  }

  /** Feeds the head of `chunk` into the frame begun by an earlier chunk; returns bytes consumed. */
  #continuePending(chunk: Uint8Array, frames: Frame[]): number {
    let pos = 0;
    if (this.#frame === null) {
      pos = Math.min(PRELUDE_BYTES - this.#filled, chunk.length);
      this.#prelude.set(chunk.subarray(0, pos), this.#filled);
      this.#filled += pos;
      if (this.#filled < PRELUDE_BYTES) return pos;
      this.#startFrame(this.#checkPrelude(this.#preludeView, 0, this.#frameStart), this.#prelude);
    }
    const take = Math.min(this.#total - this.#filled, chunk.length - pos);
    let frame = this.#frame!;
    if (this.#filled + take > frame.length) frame = this.#grow(this.#filled + take);
    frame.set(chunk.subarray(pos, pos + take), this.#filled);
    this.#filled += take;
    pos += take;
    if (this.#filled === this.#total) {
      frames.push(decodeFrame(frame, viewOf(frame), 0, this.#total, this.#memo, this.#frameStart));
      this.#frame = null;
      this.#filled = 0;
    }
    return pos;
  }

  /** Begins assembling a frame whose validated prelude (and maybe more) is in `head`. */
  #startFrame(total: number, head: Uint8Array): void {
    this.#total = total;
    const capacity = total <= EAGER_ALLOCATION_BYTES ? total : Math.max(EAGER_ALLOCATION_BYTES, head.length);
    this.#frame = new Uint8Array(new ArrayBuffer(capacity));
    this.#frame.set(head);
    this.#filled = head.length;
  }

  #grow(needed: number): Uint8Array {
    const next = new Uint8Array(new ArrayBuffer(Math.min(this.#total, Math.max(needed, this.#frame!.length * 2))));
    next.set(this.#frame!.subarray(0, this.#filled));
    this.#frame = next;
    return next;
  }

  #preludeCrc(total: number, headersLen: number): number {
    const slot = total & (CRC_MEMO_SLOTS - 1);
    if (this.#preludeTotals[slot] === total && this.#preludeHeaderLens[slot] === headersLen) return this.#preludeCrcs[slot]!;
    this.#crcInputView.setUint32(0, total);
    this.#crcInputView.setUint32(4, headersLen);
    const crc = Bun.hash.crc32(this.#crcInput);
    this.#preludeTotals[slot] = total;
    this.#preludeHeaderLens[slot] = headersLen;
    this.#preludeCrcs[slot] = crc;
    return crc;
  }

  /** Validates the prelude at offset p of `v` — CRC first, then lengths — and returns total_length. */
  #checkPrelude(v: DataView, p: number, where: number): number {
    const total = v.getUint32(p);
    const headersLen = v.getUint32(p + 4);
    if (this.#preludeCrc(total, headersLen) !== v.getUint32(p + 8)) {
      throw new EventStreamError('prelude_crc', `prelude CRC mismatch at stream offset ${where}`);
    }
    if (total < FRAME_OVERHEAD_BYTES || total > this.#max) {
      throw new EventStreamError('length', `total_length ${total} outside [${FRAME_OVERHEAD_BYTES}, ${this.#max}] at stream offset ${where}`);
    }
    if (headersLen > total - FRAME_OVERHEAD_BYTES || headersLen > MAX_HEADER_BLOCK_BYTES) {
      throw new EventStreamError('length', `headers_length ${headersLen} invalid for total_length ${total} at stream offset ${where}`);
    }
    if (total - FRAME_OVERHEAD_BYTES - headersLen > MAX_PAYLOAD_BYTES) {
      throw new EventStreamError('length', `payload exceeds ${MAX_PAYLOAD_BYTES} bytes at stream offset ${where}`);
    }
    return total;
  }
}

/**
 * Yields the frames of an event-stream body. Returning early (or failing) cancels the source so
 * the upstream connection is released rather than left to drain.
 */
export async function* decodeEventStream(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
  opts?: DecoderOptions,
): AsyncGenerator<Frame> {
  const decoder = new EventStreamDecoder(opts);
  if (!(body instanceof ReadableStream)) {
    // for-await calls the iterator's return() on break or throw, which is its cancellation.
    for await (const chunk of body) for (const f of decoder.push(chunk)) yield f;
    decoder.end();
    return;
  }
  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const f of decoder.push(value)) yield f;
    }
    finished = true;
    decoder.end();
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined); // errored streams reject cancel
    reader.releaseLock();
  }
}

export function stringHeader(frame: Frame, name: string): string | undefined {
  const h = frame.headers.get(name);
  return h?.type === 'string' ? h.value : undefined;
}
