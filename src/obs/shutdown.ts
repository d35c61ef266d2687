// Graceful shutdown as the routes see it: `draining` once SIGTERM arrived (new chat requests get a
// 503), and `signal`, aborted when the grace period is over, which ends open streams with an
// in-stream error (guardParts) instead of cutting them mid-event.

import type { StreamPart } from '../dialects/conversation';
import { GatewayError } from '../http/errors';

export interface Shutdown {
  readonly draining: boolean;
  /** aborted when the grace period ends */
  readonly signal: AbortSignal;
  /** stop taking new chat requests */
  drain(): void;
  /** end the streams still open */
  expire(): void;
}

export function createShutdown(): Shutdown {
  const controller = new AbortController();
  let draining = false;
  return {
    get draining() {
      return draining;
    },
    signal: controller.signal,
    drain() {
      draining = true;
    },
    expire() {
      draining = true;
      controller.abort();
    },
  };
}

export function shuttingDownError(): GatewayError {
  return new GatewayError('unavailable', 'The gateway is shutting down; retry the request.', { code: 'shutting_down' });
}

/**
 * `parts` until `signal` aborts; then one `error` part (the dialect encoders render it as their
 * in-stream error), and the upstream is closed. A pending read is answered at once, without waiting
 * for the upstream's next event; no listener or promise piles up per part.
 */
export function guardParts(parts: AsyncIterable<StreamPart>, signal: AbortSignal, inputTokens: number): AsyncIterable<StreamPart> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<StreamPart> {
      const inner = parts[Symbol.asyncIterator]();
      let finished = false;
      /** the finish or error part went by: the answer is complete, shutdown no longer touches it */
      let complete = false;
      let waiting: ((r: IteratorResult<StreamPart>) => void) | null = null;
      const stopPart = (): IteratorResult<StreamPart> => {
        finished = true;
        void inner.return?.()?.catch?.(() => {});
        return { done: false, value: { type: 'error', error: shuttingDownError(), usage: { inputTokens, outputTokens: 0, reasoningTokens: 0 } } };
      };
      const onAbort = () => {
        const w = waiting;
        waiting = null;
        if (w && !finished) w(stopPart());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (): IteratorResult<StreamPart> => {
        finished = true;
        signal.removeEventListener('abort', onAbort);
        return { done: true, value: undefined };
      };
      return {
        next() {
          if (finished) return Promise.resolve(done());
          if (complete) return inner.next();
          if (signal.aborted) return Promise.resolve(stopPart());
          return new Promise<IteratorResult<StreamPart>>((resolve, reject) => {
            waiting = resolve;
            inner.next().then(
              (r) => {
                if (waiting !== resolve) return; // answered by the shutdown already
                waiting = null;
                if (r.done) resolve(done());
                else {
                  // The engine ends every run with one finish or error part: nothing after it matters.
                  if (r.value.type === 'finish' || r.value.type === 'error') {
                    complete = true;
                    signal.removeEventListener('abort', onAbort);
                  }
                  resolve(r);
                }
              },
              (e: unknown) => {
                if (waiting !== resolve) return;
                waiting = null;
                signal.removeEventListener('abort', onAbort);
                reject(e);
              },
            );
          });
        },
        async return(value?: unknown) {
          finished = true;
          signal.removeEventListener('abort', onAbort);
          await inner.return?.(value);
          return { done: true, value: undefined };
        },
      };
    },
  };
}
