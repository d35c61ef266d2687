// The finishing stage of the Q event mapper: the limits the gateway enforces itself (stop sequences,
// max_tokens: Q takes neither), output-token counting, the final usage, and exactly one `finish` or
// `error` part at the end. Pure apart from the injected token counter.

import type { FinishReason, StreamPart, Usage } from '../dialects/conversation';
import { GatewayError } from '../http/errors';
import { UpstreamError } from '../upstream/errors';
import type { TokenUsage } from '../upstream/q-events';
import { tagPrefixSuffixLength } from '../upstream/thinking';
import { type OutputChannel, OutputTally, type TextTokenCounter } from './output-tokens';
import type { MappedPart } from './stream';

/** Cuts text at the first stop sequence, across deltas, holding back only a possible match prefix. */
export class StopSequenceMatcher {
  readonly #sequences: readonly string[];
  #held = '';

  constructor(sequences: readonly string[]) {
    this.#sequences = sequences.filter((s) => s !== '');
  }

  push(delta: string): { emit: string; stop?: string } {
    if (this.#sequences.length === 0) return { emit: delta };
    const buf = this.#held + delta;
    let at = -1;
    let which: string | undefined;
    for (const s of this.#sequences) {
      const i = buf.indexOf(s);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        which = s;
      }
    }
    if (which !== undefined) {
      this.#held = '';
      return { emit: buf.slice(0, at), stop: which };
    }
    let keep = 0;
    for (const s of this.#sequences) keep = Math.max(keep, tagPrefixSuffixLength(buf, s));
    this.#held = buf.slice(buf.length - keep);
    return { emit: buf.slice(0, buf.length - keep) };
  }

  /** The text is interrupted (tool call, end): what was held can no longer start a match. */
  flush(): string {
    const held = this.#held;
    this.#held = '';
    return held;
  }
}

export interface FinishOptions {
  /** counted before the call; replaced by the upstream's own numbers when it sends them */
  inputTokens: number;
  /** the model's context window, to turn contextUsageEvent's percentage into tokens */
  contextWindow: number;
  maxTokens?: number;
  stopSequences: readonly string[];
  /** output-token counter (no multiplier: TOKEN_COUNT_MULTIPLIER inflates input counts only) */
  counter: TextTokenCounter;
  /** closes the upstream at once when the gateway stops reading early */
  cancel?: () => void;
}

interface Counted {
  emit: StreamPart | undefined;
  cut: boolean;
}
const NOTHING_COUNTED: Counted = { emit: undefined, cut: false };

/** A mid-stream failure as the client sees it: never a silent end_turn. */
export function interruptedStreamError(e: unknown): GatewayError {
  if (e instanceof UpstreamError) {
    const kind = e.kind === 'throttled' || e.kind === 'quota' ? 'rate_limit' : e.kind === 'capacity' ? 'overloaded' : 'upstream';
    return new GatewayError(kind, `The upstream stream was interrupted: ${e.message}`, { cause: e });
  }
  const what = e instanceof Error ? e.message : String(e);
  return new GatewayError('upstream', `The upstream stream was interrupted: ${what}`, { cause: e });
}

/** Stage 2 of the mapper: limits, output-token counting and the one final part. Never throws. */
export async function* finishStream(parts: AsyncIterable<MappedPart>, opts: FinishOptions): AsyncGenerator<StreamPart> {
  const tally = new OutputTally(opts.counter);
  const stops = new StopSequenceMatcher(opts.stopSequences);
  const limit = opts.maxTokens;
  let credits: number | undefined;
  let contextPercentage: number | undefined;
  let upstreamUsage: TokenUsage | undefined;
  let toolCalled = false;
  let truncated = false;
  /** cut by the gateway: the upstream's end-of-stream usage never came (and would count more) */
  let cutEarly = false;

  /** Exact usage; if counting itself fails, the tally's upper bound (this path must not throw). */
  const usage = async (): Promise<Usage> => {
    let inputTokens = opts.inputTokens;
    // Kiro's percentage includes its hidden system prompt, which local counting cannot see (peers.md §3.3).
    if (contextPercentage !== undefined && opts.contextWindow > 0) {
      inputTokens = Math.round((contextPercentage / 100) * opts.contextWindow);
    }
    const u = upstreamUsage;
    const upstreamInput = sumDefined(u?.uncachedInputTokens, u?.cacheReadInputTokens, u?.cacheWriteInputTokens);
    if (upstreamInput !== undefined && upstreamInput > 0) inputTokens = upstreamInput;
    const counted = await tally.count().catch(() => tally.bound());
    const outputTokens = !cutEarly && u?.outputTokens !== undefined ? u.outputTokens : counted.total;
    const out: Usage = { inputTokens, outputTokens, reasoningTokens: Math.min(counted.reasoning, outputTokens) };
    if (credits !== undefined) out.credits = credits;
    return out;
  };

  const stopEarly = async (reason: FinishReason, stopSequence?: string): Promise<StreamPart> => {
    cutEarly = true;
    opts.cancel?.();
    const usageNow = await usage();
    return stopSequence === undefined ? { type: 'finish', reason, usage: usageNow } : { type: 'finish', reason, stopSequence, usage: usageNow };
  };

  /**
   * What fits of one delta, as the part to emit (if any), and whether max_tokens was reached inside
   * it. A plain async function: a generator per delta cost more than the counting.
   */
  async function counted(channel: OutputChannel, text: string, part: (accepted: string) => StreamPart): Promise<Counted> {
    if (text === '') return NOTHING_COUNTED;
    const r = await tally.add(channel, text, limit);
    return { emit: r.accepted !== '' ? part(r.accepted) : undefined, cut: r.cut };
  }
  const textPart = (text: string): StreamPart => ({ type: 'text-delta', text });

  try {
    for await (const p of parts) {
      // Held-back text precedes whatever interrupts it.
      if (p.type !== 'text-delta') {
        const held = await counted('text', stops.flush(), textPart);
        if (held.emit) yield held.emit;
        if (held.cut) {
          yield await stopEarly('max_tokens');
          return;
        }
      }
      switch (p.type) {
        case 'text-delta': {
          const { emit, stop } = stops.push(p.text);
          const c = await counted('text', emit, textPart);
          if (c.emit) yield c.emit;
          if (c.cut) {
            yield await stopEarly('max_tokens');
            return;
          }
          if (stop !== undefined) {
            yield await stopEarly('stop_sequence', stop);
            return;
          }
          break;
        }
        case 'thinking-delta': {
          const c = await counted('thinking', p.text, (text) => ({ type: 'thinking-delta', text }));
          if (c.emit) yield c.emit;
          if (c.cut) {
            yield { type: 'thinking-end' };
            yield await stopEarly('max_tokens');
            return;
          }
          break;
        }
        case 'tool-call-delta': {
          const c = await counted('tool', p.argumentsDelta, (argumentsDelta) => ({ type: 'tool-call-delta', id: p.id, argumentsDelta }));
          if (c.emit) yield c.emit;
          if (c.cut) {
            yield { type: 'tool-call-end', id: p.id, input: {}, invalid: `arguments cut off at max_tokens (${limit})` };
            yield await stopEarly('max_tokens');
            return;
          }
          break;
        }
        case 'tool-call-end':
          toolCalled = true;
          yield p;
          break;
        case 'thinking-end':
        case 'tool-call-start':
          yield p;
          break;
        case 'credits':
          credits = (credits ?? 0) + p.credits;
          break;
        case 'context-usage':
          contextPercentage = p.percentage;
          break;
        case 'token-usage':
          upstreamUsage = p.usage;
          break;
        case 'truncated':
          truncated = true;
          break;
        case 'fault':
          yield { type: 'error', error: interruptedStreamError(p.error), usage: await usage() };
          return;
      }
    }
    const rest = await counted('text', stops.flush(), textPart);
    if (rest.emit) yield rest.emit;
    if (rest.cut) {
      yield await stopEarly('max_tokens');
      return;
    }
    // A tool call the upstream cut off means it hit its output limit: saying so (max_tokens) keeps
    // clients from running a call with `{}` and retrying it forever (peers.md §3.1).
    const reason: FinishReason = truncated ? 'max_tokens' : toolCalled ? 'tool_use' : 'end_turn';
    yield { type: 'finish', reason, usage: await usage() };
  } catch (e) {
    // A bug in a stage or the counter: still exactly one final part, never a crash mid-response.
    opts.cancel?.();
    const what = e instanceof Error ? e.message : String(e);
    yield { type: 'error', error: new GatewayError('internal', `Response processing failed: ${what}`, { cause: e }), usage: await usage() };
  }
}

function sumDefined(...xs: Array<number | undefined>): number | undefined {
  let sum: number | undefined;
  for (const x of xs) if (x !== undefined) sum = (sum ?? 0) + x;
  return sum;
}
