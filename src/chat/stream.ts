// The Q event mapper (architecture.md §1): QEvents → StreamParts, as two composable async-generator
// stages. `mapQEvents` (here) turns events into content parts: thinking split, tool calls assembled
// per upstream-protocol.md §2.7. `finishStream` (finish.ts) enforces the gateway's limits, counts
// output tokens and ends with exactly one `finish` or `error`. Pure.

import type { StreamPart } from '../dialects/conversation';
import type { QEvent, TokenUsage } from '../upstream/q-events';
import { type SplitPart, ThinkingSplitter } from '../upstream/thinking';
import { type FinishOptions, finishStream } from './finish';

export { type FinishOptions, finishStream, interruptedStreamError, StopSequenceMatcher } from './finish';

export type ContentStreamPart = Exclude<StreamPart, { type: 'finish' } | { type: 'error' }>;

/** What the mapper hands the finishing stage: content, plus the facts the final usage is made of. */
export type MappedPart =
  | ContentStreamPart
  | { type: 'credits'; credits: number }
  | { type: 'context-usage'; percentage: number }
  | { type: 'token-usage'; usage: TokenUsage }
  /** the upstream ended inside a tool call's arguments: it hit its own output limit (§2.7) */
  | { type: 'truncated' }
  /** the upstream stream broke (exception/error frame, truncation, bad CRC, idle timeout, …) */
  | { type: 'fault'; error: unknown };

export interface MapOptions {
  /** upstream tool name → the name the client declared (the builder may have sanitised it) */
  toolNames: ReadonlyMap<string, string>;
  /** upstream behaviour the mapper had to paper over, for the log */
  onNote?: (note: string) => void;
}

interface OpenTool {
  id: string;
  args: string;
}

/**
 * The event-by-event state machine. Invariants of StreamPart (conversation.ts) hold for its output:
 * thinking first, tool calls start → delta* → end and never interleaved.
 */
export class QEventMapper {
  readonly #toolNames: ReadonlyMap<string, string>;
  readonly #note: (note: string) => void;
  readonly #splitter = new ThinkingSplitter();
  #tool: OpenTool | null = null;
  /** ids already closed: Kiro repeats toolUseIds (peers.md §3.1); a second call with one id breaks clients */
  readonly #closedTools = new Set<string>();
  /** thinking delivered as reasoningContentEvent: none yet, open, or closed by the first content */
  #eventThinking: 'none' | 'open' | 'closed' = 'none';
  #signature: string | undefined;
  #toolSeen = false;

  constructor(opts: MapOptions) {
    this.#toolNames = opts.toolNames;
    this.#note = opts.onNote ?? (() => undefined);
  }

  push(ev: QEvent): MappedPart[] {
    const out: MappedPart[] = [];
    switch (ev.type) {
      case 'assistantResponse':
        if (this.#tool) this.#closeTool(out, 'cut');
        this.#endEventThinking(out);
        this.#split(out, this.#splitter.push(ev.content));
        break;
      case 'reasoning':
        this.#reasoning(out, ev);
        break;
      case 'toolUse':
        this.#toolUse(out, ev);
        break;
      case 'metering':
        out.push({ type: 'credits', credits: ev.usage });
        break;
      case 'contextUsage':
        out.push({ type: 'context-usage', percentage: ev.percentage });
        break;
      case 'metadata':
        if (ev.tokenUsage !== undefined) out.push({ type: 'token-usage', usage: ev.tokenUsage });
        break;
      case 'messageMetadata':
      case 'ignored':
        break;
    }
    return out;
  }

  /** Clean end of the upstream body. */
  end(): MappedPart[] {
    const out: MappedPart[] = [];
    if (this.#tool) {
      if (!this.#closeTool(out, 'cut')) out.push({ type: 'truncated' });
    }
    this.#endEventThinking(out);
    this.#split(out, this.#splitter.end());
    return out;
  }

  /** The upstream broke: close what is open so encoders can end their blocks, then report the fault. */
  fail(error: unknown): MappedPart[] {
    const out: MappedPart[] = [];
    if (this.#tool) this.#closeTool(out, 'interrupted');
    this.#endEventThinking(out);
    this.#split(out, this.#splitter.end());
    out.push({ type: 'fault', error });
    return out;
  }

  #split(out: MappedPart[], parts: SplitPart[]): void {
    for (const p of parts) {
      if (p.type === 'text') out.push({ type: 'text-delta', text: p.text });
      else if (p.type === 'thinking') out.push({ type: 'thinking-delta', text: p.text });
      // Tag-delimited thinking carries no signature, and one is never forged (peers.md §3.4).
      else out.push({ type: 'thinking-end' });
    }
  }

  #reasoning(out: MappedPart[], ev: Extract<QEvent, { type: 'reasoning' }>): void {
    // Thinking must precede the answer; reasoning that arrives after text or a tool call has no
    // place in the response (conversation.ts invariant), so it is dropped, not misplaced.
    if (this.#eventThinking === 'closed' || this.#toolSeen || this.#splitter.phase !== 'start') {
      this.#note('reasoningContentEvent after the answer began: dropped');
      return;
    }
    if (ev.redactedContent !== undefined) {
      // StreamPart has no redacted-thinking member (Q cannot take it back either): say so, drop it.
      this.#note('redacted reasoning content dropped');
    }
    if (ev.text !== undefined && ev.text !== '') {
      this.#eventThinking = 'open';
      out.push({ type: 'thinking-delta', text: ev.text });
    }
    if (ev.signature !== undefined && ev.signature !== '') {
      this.#eventThinking = 'open';
      this.#signature = ev.signature;
    }
  }

  #endEventThinking(out: MappedPart[]): void {
    if (this.#eventThinking !== 'open') return;
    this.#eventThinking = 'closed';
    out.push(this.#signature === undefined ? { type: 'thinking-end' } : { type: 'thinking-end', signature: this.#signature });
    // Thinking came as events, so any `<thinking>` in the text that follows is literal text.
    this.#split(out, this.#splitter.end());
  }

  #toolUse(out: MappedPart[], ev: Extract<QEvent, { type: 'toolUse' }>): void {
    if (this.#tool?.id !== ev.toolUseId) {
      if (this.#closedTools.has(ev.toolUseId)) {
        this.#note(`repeated toolUseEvent for closed tool call ${ev.toolUseId}: dropped`);
        return;
      }
      // A new id while another call is open breaks the never-interleaved rule: close the old one.
      if (this.#tool) this.#closeTool(out, 'cut');
      this.#endEventThinking(out);
      this.#split(out, this.#splitter.end());
      this.#toolSeen = true;
      this.#tool = { id: ev.toolUseId, args: '' };
      out.push({ type: 'tool-call-start', id: ev.toolUseId, name: this.#toolNames.get(ev.name) ?? ev.name });
    }
    const tool = this.#tool!;
    if (ev.input !== undefined && ev.input !== '') {
      tool.args += ev.input;
      out.push({ type: 'tool-call-delta', id: tool.id, argumentsDelta: ev.input });
    }
    if (ev.stop === true) this.#closeTool(out, 'stop');
  }

  /**
   * Ends the open tool call. `stop`: the upstream said it is complete (empty arguments mean `{}`).
   * `cut`: it ended without `stop`; arguments that parse as an object are accepted as complete.
   * `interrupted`: the stream broke. Returns whether the call came out valid.
   */
  #closeTool(out: MappedPart[], how: 'stop' | 'cut' | 'interrupted'): boolean {
    const tool = this.#tool!;
    this.#tool = null;
    this.#closedTools.add(tool.id);
    let invalid: string | undefined;
    let input: unknown = {};
    if (how === 'interrupted') invalid = `the upstream stream broke after ${tool.args.length} characters of arguments`;
    else if (tool.args.trim() === '') {
      if (how === 'cut') invalid = 'the upstream ended the tool call before any arguments arrived';
    } else {
      const parsed = parseArguments(tool.args);
      if (parsed.ok) input = parsed.value;
      else invalid = how === 'cut' ? `arguments cut off after ${tool.args.length} characters (${parsed.why})` : parsed.why;
    }
    out.push(invalid === undefined ? { type: 'tool-call-end', id: tool.id, input } : { type: 'tool-call-end', id: tool.id, input: {}, invalid });
    return invalid === undefined;
  }
}

function parseArguments(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; why: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, why: `invalid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, why: `arguments are ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}, not an object` };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** Stage 1: events → mapped parts. Never throws: a failing source becomes one `fault` part. */
export async function* mapQEvents(events: AsyncIterable<QEvent>, opts: MapOptions): AsyncGenerator<MappedPart> {
  const mapper = new QEventMapper(opts);
  try {
    for await (const ev of events) yield* mapper.push(ev);
  } catch (error) {
    yield* mapper.fail(error);
    return;
  }
  yield* mapper.end();
}

/** The whole mapper: QEvents → StreamParts ending in exactly one `finish` or `error`. */
export function chatStream(events: AsyncIterable<QEvent>, opts: MapOptions & FinishOptions): AsyncGenerator<StreamPart> {
  return finishStream(mapQEvents(events, opts), opts);
}
