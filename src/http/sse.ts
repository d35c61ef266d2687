// A streaming HTTP response pulled from an async source of already-encoded SSE text, with keep-alives
// while the source is silent and cancellation when the client goes away; and the loop that turns a
// committed run's parts into that text with a dialect's encoder. Shared by the API dialects (each
// passes its own encoder and keep-alive text: Anthropic `event: ping`, OpenAI an SSE comment).

import type { StreamPart } from '../dialects/conversation';
import { GatewayError } from './errors';

/** A dialect's streaming encoder. */
export interface PartEncoder {
  /** the opening frame (Anthropic `message_start`, OpenAI the `role` chunk) */
  start(): string;
  /** the SSE text for one part ('' when the part shows nothing) */
  encode(part: StreamPart): string;
  /** true once `finish` or `error` was encoded: nothing may follow */
  readonly ended: boolean;
}

/**
 * A committed run's parts as SSE text. The opening frame travels with the first part: one write and
 * one pull fewer per request, and the client's first read holds both. A run commits on its first
 * content event, so the first part is usually at hand; when it is not (a commit after metadata-only
 * events, a reasoning event with only a signature, text held back as a possible stop sequence) the
 * opening frame waits with it, and the keep-alives cover the wait. A source that throws, or ends
 * without its final part, ends with `failure(error, thrown)`: the dialect's error frame, after the
 * opening frame if that had not gone out yet.
 */
export async function* encodeParts(
  parts: AsyncIterable<StreamPart>,
  encoder: PartEncoder,
  failure: (error: GatewayError, thrown?: unknown) => string,
): AsyncGenerator<string> {
  let head = encoder.start();
  try {
    for await (const part of parts) {
      yield head + encoder.encode(part);
      head = '';
      if (encoder.ended) return;
    }
  } catch (e) {
    yield head + failure(e instanceof GatewayError ? e : new GatewayError('internal', 'The response stream failed.'), e);
    return;
  }
  // The engine promises a finish or error part; if it ever ends without one, say so.
  if (!encoder.ended) yield head + failure(new GatewayError('upstream', 'The upstream response ended unexpectedly.'));
}

export interface SseResponseOptions {
  /** the encoded events; pulled one at a time, so a slow client slows the upstream read (backpressure) */
  source: AsyncIterator<string>;
  /** written whenever nothing else was written for one keep-alive interval */
  keepalive: string;
  keepaliveMs: number;
  /** the client disconnected or the stream was cancelled: abort the work behind `source` */
  onCancel: () => void;
  headers: Record<string, string>;
}

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  // nginx buffers proxied responses unless told otherwise, which would hold back every event.
  'x-accel-buffering': 'no',
};

export function sseResponse(opts: SseResponseOptions): Response {
  const encoder = new TextEncoder();
  const keepalive = encoder.encode(opts.keepalive);
  let wrote = false;
  let closed = false;
  let timer: ReturnType<typeof setInterval> | undefined;
  const stop = () => {
    closed = true;
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        // One timer per stream, not one per event: a tick with no write since the last tick pings.
        timer = setInterval(() => {
          if (closed) return;
          if (!wrote) {
            try {
              controller.enqueue(keepalive);
            } catch {
              stop();
            }
          }
          wrote = false;
        }, opts.keepaliveMs);
      },
      async pull(controller) {
        try {
          for (;;) {
            const next = await opts.source.next();
            if (closed) return;
            if (next.done) {
              stop();
              controller.close();
              return;
            }
            if (next.value !== '') {
              wrote = true;
              controller.enqueue(encoder.encode(next.value));
              return;
            }
          }
        } catch (e) {
          stop();
          opts.onCancel();
          controller.error(e);
        }
      },
      cancel() {
        stop();
        opts.onCancel();
        void opts.source.return?.();
      },
    },
    // One chunk of read-ahead: the source is pulled only as fast as the client reads.
    { highWaterMark: 1 },
  );
  return new Response(body, { status: 200, headers: { ...SSE_HEADERS, ...opts.headers } });
}
