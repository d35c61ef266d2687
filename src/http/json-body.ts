// Reads a JSON request body with a byte cap, before anything parses it: an oversized body is a 413
// after at most `maxBytes` were read (or at once from Content-Length), broken JSON a 400.

import { isUtf8 } from 'node:buffer';
import { GatewayError } from './errors';

/**
 * Deepest nesting of arrays and objects a body may have. Real requests stay far below it (JSON Schemas
 * nest < 20 levels), while JSON.parse accepts 100,000 levels that later JSON.stringify calls and
 * recursive walks (token counting, the Q request builder) cannot handle: a 500, found by
 * test/bad-input. Refused up front with a 400 instead.
 */
export const MAX_JSON_DEPTH = 256;

/**
 * Whether JSON text nests deeper than `limit`, strings skipped; stops once past it. O(length), and
 * string contents (most of a chat body) are skipped with native indexOf rather than char by char.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Jump to the closing quote: one not preceded by an odd run of backslashes.
      let j = i;
      for (;;) {
        j = text.indexOf('"', j + 1);
        if (j < 0) return false; // unterminated string: JSON.parse rejects it
        let backslashes = 0;
        while (text.charCodeAt(j - 1 - backslashes) === 0x5c) backslashes++;
        if (backslashes % 2 === 0) break;
      }
      i = j;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function tooLarge(maxBytes: number): GatewayError {
  return new GatewayError('request_too_large', `Request body exceeds the ${maxBytes}-byte limit (MAX_REQUEST_BYTES).`, {
    code: 'request_too_large',
  });
}

/** The body's bytes, refusing more than `maxBytes`; the rest of an oversized body is never read. */
export async function readBoundedBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes);
  // With a Content-Length within the limit, Bun reads exactly that many bytes natively in one copy
  // (much cheaper than collecting chunks for a Claude Code–sized body).
  if (Number.isFinite(declared)) return new Uint8Array(await request.arrayBuffer());
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Parses a bounded JSON body; an empty or malformed body is a 400 naming the problem. */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const bytes = await readBoundedBody(request, maxBytes);
  if (bytes.byteLength === 0) throw new GatewayError('invalid_request', 'The request body is empty; expected a JSON object.');
  let text: string;
  try {
    // simdutf validation plus Buffer decoding costs about half of a fatal TextDecoder on large bodies.
    if (!isUtf8(bytes)) throw new Error('invalid UTF-8');
    text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  } catch {
    throw new GatewayError('invalid_request', 'The request body is not valid UTF-8.');
  }
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw new GatewayError('invalid_request', `The request body is nested more than ${MAX_JSON_DEPTH} levels deep.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const detail = e instanceof Error ? `: ${e.message}` : '';
    throw new GatewayError('invalid_request', `The request body is not valid JSON${detail}`);
  }
}
