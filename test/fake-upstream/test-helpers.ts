// Test helpers for the fake upstream's own tests: a raw node:net HTTP client that sees the wire
// (chunks, FIN vs RST), and event-stream decoding with both the project's decoder and
// @smithy/eventstream-codec as an independent cross-check.

import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { expect } from 'bun:test';
import net from 'node:net';
import { EventStreamDecoder, type Frame } from '../../src/upstream/eventstream';

export interface RawResponse {
  status: number;
  /** lower-case names */
  headers: Map<string, string>;
  /** header names exactly as sent, in order */
  headerNames: string[];
  /** HTTP chunks as framed on the wire (chunked responses only) */
  chunks: Uint8Array[];
  /** de-chunked body (or Content-Length body) */
  body: Uint8Array;
  /** the terminal 0-size chunk arrived */
  complete: boolean;
  /** socket error code, e.g. ECONNRESET */
  error: string | null;
  /** the peer closed with FIN */
  ended: boolean;
  /** ms from request sent to status line received */
  headMs: number;
}

export interface RawRequestOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** destroy the socket this many ms after the request is sent */
  abortAfterMs?: number | undefined;
}

/** One request on a fresh connection with `Connection: close`; resolves when the socket closes. */
export function rawRequest(port: number, opts: RawRequestOptions = {}): Promise<RawResponse> {
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : Buffer.from(opts.body ?? new Uint8Array(0));
  let head = `${opts.method ?? 'POST'} ${opts.path ?? '/'} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(opts.headers ?? {})) head += `${k}: ${v}\r\n`;
  head += `Content-Length: ${body.length}\r\n\r\n`;
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let error: string | null = null;
    let ended = false;
    let sentAt = 0;
    let headMs = -1;
    socket.on('connect', () => {
      sentAt = performance.now();
      socket.write(Buffer.concat([Buffer.from(head), body]));
      if (opts.abortAfterMs !== undefined) setTimeout(() => socket.destroy(), opts.abortAfterMs);
    });
    socket.on('data', (d: Buffer) => {
      if (headMs < 0) headMs = performance.now() - sentAt;
      buf = Buffer.concat([buf, d]);
    });
    socket.on('end', () => (ended = true));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve(parseRaw(buf, { error, ended, headMs })));
  });
}

function parseRaw(buf: Buffer, extra: { error: string | null; ended: boolean; headMs: number }): RawResponse {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return { status: 0, headers: new Map(), headerNames: [], chunks: [], body: new Uint8Array(0), complete: false, ...extra };
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = new Map<string, string>();
  const headerNames: string[] = [];
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    headerNames.push(line.slice(0, i));
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  const rest = buf.subarray(headEnd + 4);
  if (headers.get('transfer-encoding') !== 'chunked') {
    return { status, headers, headerNames, chunks: [], body: new Uint8Array(rest), complete: true, ...extra };
  }
  const chunks: Uint8Array[] = [];
  let pos = 0;
  let complete = false;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n', pos);
    if (lineEnd < 0) break;
    const size = parseInt(rest.subarray(pos, lineEnd).toString('latin1'), 16);
    if (size === 0) {
      complete = true;
      break;
    }
    if (rest.length < lineEnd + 2 + size + 2) break;
    chunks.push(new Uint8Array(rest.subarray(lineEnd + 2, lineEnd + 2 + size)));
    pos = lineEnd + 2 + size + 2;
  }
  return { status, headers, headerNames, chunks, body: new Uint8Array(Buffer.concat(chunks)), complete, ...extra };
}

export interface Ev {
  messageType: string;
  /** :event-type, :exception-type or :error-code */
  type: string;
  payload: unknown;
}

function summarize(headers: Map<string, string>, payload: Uint8Array): Ev {
  const messageType = headers.get(':message-type') ?? '';
  const type = headers.get(':event-type') ?? headers.get(':exception-type') ?? headers.get(':error-code') ?? '';
  const text = new TextDecoder().decode(payload);
  return { messageType, type, payload: text === '' ? null : JSON.parse(text) };
}

function stringHeaders(frame: Frame): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of frame.headers) if (v.type === 'string') out.set(k, v.value);
  return out;
}

const smithy = new EventStreamCodec(toUtf8, fromUtf8);

/** Independent decode: split on total_length and let @smithy check CRCs and headers. */
export function smithyEvents(bytes: Uint8Array): Ev[] {
  const out: Ev[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at < bytes.length; ) {
    const total = view.getUint32(at);
    const msg = smithy.decode(bytes.subarray(at, at + total));
    const headers = new Map<string, string>();
    for (const [k, v] of Object.entries(msg.headers)) headers.set(k, String(v.value));
    out.push(summarize(headers, msg.body));
    at += total;
  }
  return out;
}

/** Decodes a complete, valid body with the project decoder and checks @smithy agrees. */
export function decodeBody(bytes: Uint8Array): Ev[] {
  const decoder = new EventStreamDecoder();
  const frames = decoder.push(bytes);
  decoder.end();
  const ours = frames.map((f) => summarize(stringHeaders(f), f.payload));
  expect(smithyEvents(bytes)).toEqual(ours);
  return ours;
}

/** Header names in wire order, per frame (the codec contract fixes the order). */
export function headerOrder(bytes: Uint8Array): string[][] {
  const decoder = new EventStreamDecoder();
  return decoder.push(bytes).map((f) => [...f.headers.keys()]);
}

export const text = (evs: Ev[]): string =>
  evs
    .filter((e) => e.type === 'assistantResponseEvent')
    .map((e) => (e.payload as { content: string }).content)
    .join('');

export function chatBody(content: string, extra: { history?: unknown[]; tools?: unknown[]; profileArn?: string; modelId?: string; dryRun?: boolean } = {}): string {
  const userInputMessage: Record<string, unknown> = { content, origin: 'AI_EDITOR' };
  if (extra.modelId) userInputMessage.modelId = extra.modelId;
  if (extra.tools) userInputMessage.userInputMessageContext = { tools: extra.tools };
  const conversationState: Record<string, unknown> = {
    chatTriggerType: 'MANUAL',
    conversationId: '6a0c1d6e-9a8f-4c1e-9b0a-0d2f8b7b1c11',
    currentMessage: { userInputMessage },
  };
  if (extra.history) conversationState.history = extra.history;
  const body: Record<string, unknown> = { conversationState };
  if (extra.profileArn) body.profileArn = extra.profileArn;
  if (extra.dryRun !== undefined) body.dryRun = extra.dryRun;
  return JSON.stringify(body);
}

export const GAR_TARGET = 'AmazonCodeWhispererStreamingService.GenerateAssistantResponse';
export const Q_ERROR_TYPE = (name: string) => `${name}:http://internal.amazon.com/coral/com.amazon.aws.codewhisperer/`;

export async function waitFor<T>(probe: () => T | undefined | null | false, timeoutMs = 2000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (performance.now() > deadline) throw new Error('waitFor timed out');
    await Bun.sleep(5);
  }
}
