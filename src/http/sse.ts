// A streaming HTTP response pulled from an async source of already-encoded SSE text, with keep-alives
// while the source is silent and cancellation when the client goes away. Shared by the API dialects
// (each passes its own keep-alive text: Anthropic `event: ping`, OpenAI an SSE comment).

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
