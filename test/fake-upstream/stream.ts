// Executes a Plan on the wire: delays, status line, one flushed HTTP chunk per write (optionally
// split into tiny writes), and the scripted ending (clean EOF, FIN, RST, or stall until the
// client gives up).

import { renderQError } from './errors';
import type { HttpResponse } from './http';
import type { Plan, Split, StreamItem, StreamPlan } from './plan';
import { makeRng, randomInt, type Rng } from './random';

export interface WriteOptions {
  /** headers every response carries (x-amzn-RequestId, Date) */
  baseHeaders: Array<[string, string]>;
  /** called once per written item that carries credits (meteringEvent) */
  onCredits: (credits: number) => void;
}

/** Resolves after `ms`, or as soon as the client goes away (so no timer outlives a socket). */
export function sleepUnlessClosed(ms: number, res: HttpResponse): Promise<void> {
  if (ms <= 0 || res.closed) return Promise.resolve();
  return new Promise((resolve) => {
    const unsubscribe = res.onClose(() => {
      clearTimeout(timer);
      resolve();
    });
    const timer = setTimeout(() => {
      unsubscribe();
      resolve();
    }, ms);
  });
}

function pieces(bytes: Uint8Array, split: Split, rng: Rng | null): Uint8Array[] {
  if (split.mode === 'none') return [bytes];
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = split.mode === 'fixed' ? split.bytes : randomInt(rng!, 1, 7);
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

/**
 * Lets the event loop run between writes: socket callbacks resolve within microtasks, so without
 * this a gap-less stream would monopolise the loop (no interleaving with other connections or an
 * in-process client, and split writes would coalesce before the client reads them).
 */
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function writeItem(res: HttpResponse, item: StreamItem, plan: StreamPlan, rng: Rng | null): Promise<void> {
  for (const piece of pieces(item.bytes, plan.split, rng)) {
    if (res.closed) return;
    await res.write(piece);
    if (plan.split.mode !== 'none' && plan.splitGapMs > 0) await sleepUnlessClosed(plan.splitGapMs, res);
    else await yieldToLoop();
  }
}

export async function writePlan(res: HttpResponse, plan: Plan, opts: WriteOptions): Promise<void> {
  await sleepUnlessClosed(plan.headerDelayMs, res);
  if (res.closed) return;

  if (plan.kind === 'error') {
    const rendered = renderQError(plan.error);
    await res.send(rendered.status, [...rendered.headers, ...opts.baseHeaders], rendered.body);
    return;
  }

  await res.begin(200, [['Content-Type', 'application/vnd.amazon.eventstream'], ...opts.baseHeaders]);
  await sleepUnlessClosed(plan.firstItemDelayMs, res);
  // One generator per response, seeded by the request's args: split=random is reproducible.
  const rng = plan.split.mode === 'random' ? makeRng(plan.split.seed) : null;
  for (let i = 0; i < plan.items.length; i++) {
    if (i > 0) await sleepUnlessClosed(plan.gapMs, res);
    if (res.closed) return;
    const item = plan.items[i]!;
    await writeItem(res, item, plan, rng);
    if (item.credits !== undefined && !res.closed) opts.onCredits(item.credits);
  }
  if (res.closed) return;

  switch (plan.ending) {
    case 'eof':
      await res.end();
      return;
    case 'eof_close':
      await res.end({ close: true });
      return;
    case 'fin':
      res.fin();
      return;
    case 'reset':
      res.reset();
      return;
    case 'stall':
      // Silent until the client disconnects; the disconnect time is what idle-timeout tests assert.
      await res.whenClosed();
      return;
  }
}
