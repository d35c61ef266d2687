// What a scenario produces (a Plan the stream writer executes), the context it is built from, the
// common args of §6.3 and the event builders shared by the catalogue.

import { encodeEvent } from '../../src/upstream/eventstream-encode';
import type { QError } from './errors';
import type { AccessTokenRecord } from './registry';
import type { ScenarioArgs, ScenarioSpec } from './selection';
import type { FakeState } from './state';

/** One write unit: a frame, or deliberately broken bytes. `credits` feed the usage counter once written. */
export interface StreamItem {
  bytes: Uint8Array;
  credits?: number;
}

export type Split = { mode: 'none' } | { mode: 'fixed'; bytes: number } | { mode: 'random'; seed: number };

/** eof: terminal chunk (keep-alive); eof_close: terminal chunk then FIN; fin: FIN mid-body; reset: RST */
export type Ending = 'eof' | 'eof_close' | 'fin' | 'reset' | 'stall';

export interface StreamPlan {
  kind: 'stream';
  items: StreamItem[];
  ending: Ending;
  /** before the status line */
  headerDelayMs: number;
  /** between the headers and the first item */
  firstItemDelayMs: number;
  /** between items */
  gapMs: number;
  split: Split;
  /** pause between the pieces of a split frame (0 = just yield to the event loop) */
  splitGapMs: number;
}

export interface ErrorPlan {
  kind: 'error';
  error: QError;
  headerDelayMs: number;
}

export type Plan = StreamPlan | ErrorPlan;

export interface ScenarioContext {
  spec: ScenarioSpec;
  args: ScenarioArgs;
  state: FakeState;
  operation: 'GenerateAssistantResponse' | 'SendMessage';
  /** parsed request body (validated to have conversationState.currentMessage.userInputMessage.content) */
  body: Record<string, unknown>;
  rawBodyBytes: number;
  /** currentMessage.userInputMessage.content */
  content: string;
  /** tools[].toolSpecification.name of the current message, in order */
  toolNames: string[];
  conversationId: string | null;
  token: string | null;
  tokenRecord: AccessTokenRecord | null;
}

export type ScenarioBuilder = (ctx: ScenarioContext) => Plan;

// ── events (§2.6) ──

export const ev = {
  text: (content: string): StreamItem => ({ bytes: encodeEvent('assistantResponseEvent', { content }) }),
  toolStart: (toolUseId: string, name: string): StreamItem => ({ bytes: encodeEvent('toolUseEvent', { toolUseId, name }) }),
  toolInput: (toolUseId: string, name: string, input: unknown): StreamItem => ({
    bytes: encodeEvent('toolUseEvent', { toolUseId, name, input }),
  }),
  toolStop: (toolUseId: string, name: string): StreamItem => ({ bytes: encodeEvent('toolUseEvent', { toolUseId, name, stop: true }) }),
  reasoning: (payload: Record<string, string>): StreamItem => ({ bytes: encodeEvent('reasoningContentEvent', payload) }),
  other: (eventType: string, payload: unknown): StreamItem => ({ bytes: encodeEvent(eventType, payload) }),
};

// ── common args (§6.3) ──

export const PLAIN_TEXT = 'Hello from the fake upstream. This reply is split into many small events.';

export interface CommonArgs {
  chunk: number;
  gapMs: number;
  firstMs: number;
  split: Split;
  splitGapMs: number;
  meta: boolean;
  tail: boolean;
  /** `text=` override, already URL-decoded by the arg parser */
  text: string | undefined;
  /** credits reported by the Kiro tail's meteringEvent */
  usage: number;
}

export function commonArgs(ctx: ScenarioContext, defaults: { firstMs?: number; gapMs?: number } = {}): CommonArgs {
  const { args, state } = ctx;
  const splitRaw = args.str('split');
  let split: Split = { mode: 'none' };
  if (splitRaw === 'random') split = { mode: 'random', seed: args.int('seed', state.config.seed, 0, 0xffffffff) };
  else if (splitRaw !== undefined) split = { mode: 'fixed', bytes: args.int('split', 0, 1) };
  return {
    chunk: args.int('chunk', state.config.chunk_chars, 1),
    gapMs: args.num('gap_ms', defaults.gapMs ?? state.config.event_gap_ms),
    firstMs: args.num('first_ms', defaults.firstMs ?? 0),
    split,
    splitGapMs: args.num('split_gap_ms', 0),
    meta: args.bool('meta', false),
    tail: args.bool('tail', true),
    text: args.str('text'),
    usage: args.num('usage', 0.01),
  };
}

/** Cuts by code point so a delta never splits a surrogate pair. */
export function chunkText(text: string, size: number): string[] {
  const points = Array.from(text);
  const out: string[] = [];
  for (let i = 0; i < points.length; i += size) out.push(points.slice(i, i + size).join(''));
  return out;
}

/** `count` deltas of the plain text, cycling if more are needed (prefix of mid-stream faults). */
export function textDeltas(common: CommonArgs, count: number): string[] {
  const base = chunkText(common.text ?? PLAIN_TEXT, common.chunk);
  if (base.length === 0) return [];
  return Array.from({ length: count }, (_, i) => base[i % base.length]!);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Kiro tail (§6.3): meteringEvent + contextUsageEvent; metering is what the usage counter adds. */
export function tailItems(ctx: ScenarioContext, common: CommonArgs): StreamItem[] {
  return [
    { ...ev.other('meteringEvent', { unit: 'credit', unitPlural: 'credits', usage: common.usage }), credits: common.usage },
    ev.other('contextUsageEvent', { contextUsagePercentage: Math.min(100, round3(0.5 + ctx.rawBodyBytes / 1000)) }),
  ];
}

export interface StreamOptions {
  /** scenarios whose script ends in a bare EOF opt out of TAIL and metadataEvent */
  tail?: boolean;
  ending?: Ending;
  firstItemDelayMs?: number;
  /** characters of assistant text, for metadataEvent's outputTokens */
  outputChars?: number;
}

/** Wraps a scenario's core events with the optional meta events and the Kiro tail. */
export function streamPlan(ctx: ScenarioContext, common: CommonArgs, core: StreamItem[], opts: StreamOptions = {}): StreamPlan {
  const items: StreamItem[] = [];
  const canTail = opts.tail ?? true;
  if (common.meta) {
    items.push(
      ev.other('messageMetadataEvent', {
        conversationId: ctx.conversationId ?? ctx.state.requestId(),
        utteranceId: ctx.state.requestId(),
      }),
    );
  }
  items.push(...core);
  if (canTail && common.tail) items.push(...tailItems(ctx, common));
  if (canTail && common.meta) {
    // Rough 4-chars-per-token estimates: the fake only needs plausible, deterministic numbers.
    const input = Math.ceil(ctx.rawBodyBytes / 4);
    const output = Math.ceil((opts.outputChars ?? 0) / 4);
    items.push(
      ev.other('metadataEvent', {
        tokenUsage: { uncachedInputTokens: input, outputTokens: output, totalTokens: input + output, cacheReadInputTokens: 0, cacheWriteInputTokens: 0 },
      }),
    );
  }
  return {
    kind: 'stream',
    items,
    ending: opts.ending ?? 'eof',
    headerDelayMs: opts.firstItemDelayMs === undefined ? common.firstMs : 0,
    firstItemDelayMs: opts.firstItemDelayMs ?? 0,
    gapMs: common.gapMs,
    split: common.split,
    splitGapMs: common.splitGapMs,
  };
}

/** Text deltas as a plan (plain, echo, and the "then success" branch of stateful errors). */
export function textPlan(ctx: ScenarioContext, common: CommonArgs, text: string): StreamPlan {
  const deltas = chunkText(text, common.chunk);
  return streamPlan(ctx, common, deltas.map(ev.text), { outputChars: text.length });
}

export function errorPlan(ctx: ScenarioContext, error: QError): ErrorPlan {
  return { kind: 'error', error, headerDelayMs: ctx.args.num('first_ms', 0) };
}
