// StreamParts → Anthropic Messages output (pure): the SSE event sequence of a streaming response in
// the exact order Anthropic sends it (peers.md §5.1), and the Message JSON of a non-streaming one.

import type { CollectedMessage } from '../../chat/types';
import type { StreamPart, Usage } from '../conversation';
import { errorBody, type GatewayError } from '../../http/errors';
import { issueSignature } from './signature';

export interface AnthropicMessageMeta {
  /** `msg_…` */
  id: string;
  /** the model exactly as the client asked for it */
  model: string;
  /** input tokens as counted before the call (message_start); `finish.usage` may correct it later */
  inputTokens: number;
}

/** One SSE event in Anthropic's framing: a named event and one JSON data line. */
export function sseEvent(type: string, data: unknown): string {
  return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

export const PING_EVENT = sseEvent('ping', { type: 'ping' });

/** The in-stream error of a response that was already committed: the client's SDK raises it. */
export function sseError(err: GatewayError, requestId?: string): string {
  return sseEvent('error', errorBody(err, 'anthropic', requestId));
}

function usageJson(usage: Usage) {
  // Claude Code's context meter reads all four; cache figures are 0 because Q reports none we can map.
  return {
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: usage.outputTokens,
  };
}

type OpenBlock =
  | { kind: 'text'; index: number }
  | { kind: 'thinking'; index: number }
  | { kind: 'tool_use'; index: number; id: string; sentInput: boolean };

/**
 * The streaming encoder: `start()` once, then `encode(part)` for each StreamPart. Blocks get strictly
 * increasing indexes; a thinking block is always closed with a `signature_delta`; after the `finish`
 * or `error` part everything else is ignored.
 */
export class AnthropicSseEncoder {
  private open: OpenBlock | undefined;
  private nextIndex = 0;
  private finished = false;

  constructor(
    private readonly meta: AnthropicMessageMeta,
    private readonly requestId?: string,
  ) {}

  /** true once `finish` or `error` was encoded: nothing may follow */
  get ended(): boolean {
    return this.finished;
  }

  start(): string {
    return sseEvent('message_start', {
      type: 'message_start',
      message: {
        id: this.meta.id,
        type: 'message',
        role: 'assistant',
        content: [],
        model: this.meta.model,
        stop_reason: null,
        stop_sequence: null,
        usage: usageJson({ inputTokens: this.meta.inputTokens, outputTokens: 0, reasoningTokens: 0 }),
      },
    });
  }

  encode(part: StreamPart): string {
    if (this.finished) return '';
    switch (part.type) {
      case 'text-delta': {
        if (part.text === '') return '';
        const head = this.ensure('text');
        return head + this.delta(this.open!.index, { type: 'text_delta', text: part.text });
      }
      case 'thinking-delta': {
        if (part.text === '') return '';
        const head = this.ensure('thinking');
        return head + this.delta(this.open!.index, { type: 'thinking_delta', thinking: part.text });
      }
      case 'thinking-end':
        return this.open?.kind === 'thinking' ? this.close(part.signature) : '';
      case 'tool-call-start': {
        const head = this.close();
        const index = this.nextIndex++;
        this.open = { kind: 'tool_use', index, id: part.id, sentInput: false };
        return (
          head +
          sseEvent('content_block_start', {
            type: 'content_block_start',
            index,
            content_block: { type: 'tool_use', id: part.id, name: part.name, input: {} },
          })
        );
      }
      case 'tool-call-delta': {
        if (part.argumentsDelta === '' || this.open?.kind !== 'tool_use') return '';
        this.open.sentInput = true;
        return this.delta(this.open!.index, { type: 'input_json_delta', partial_json: part.argumentsDelta });
      }
      case 'tool-call-end': {
        if (this.open?.kind !== 'tool_use') return '';
        // Arguments that arrived whole (not as fragments) still reach the client through one delta.
        const input = part.input;
        const pending =
          !this.open.sentInput && typeof input === 'object' && input !== null && Object.keys(input).length > 0
            ? this.delta(this.open!.index, { type: 'input_json_delta', partial_json: JSON.stringify(input) })
            : '';
        return pending + this.close();
      }
      case 'finish': {
        this.finished = true;
        return (
          this.close() +
          sseEvent('message_delta', {
            type: 'message_delta',
            delta: { stop_reason: part.reason, stop_sequence: part.stopSequence ?? null },
            usage: usageJson(part.usage),
          }) +
          sseEvent('message_stop', { type: 'message_stop' })
        );
      }
      case 'error':
        // No closing events and no message_delta: a fake end_turn would hide the failure.
        this.finished = true;
        return sseError(part.error, this.requestId);
    }
  }

  private delta(index: number, delta: Record<string, unknown>): string {
    return sseEvent('content_block_delta', { type: 'content_block_delta', index, delta });
  }

  /** Opens a text or thinking block unless one of that kind is open already. */
  private ensure(kind: 'text' | 'thinking'): string {
    if (this.open?.kind === kind) return '';
    const head = this.close();
    const index = this.nextIndex++;
    this.open = { kind, index };
    const block = kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
    return head + sseEvent('content_block_start', { type: 'content_block_start', index, content_block: block });
  }

  /** Closes the open block, if any; a thinking block gets its signature_delta first. */
  private close(upstreamSignature?: string): string {
    const open = this.open;
    if (!open) return '';
    this.open = undefined;
    const sig =
      open.kind === 'thinking' ? this.delta(open.index, { type: 'signature_delta', signature: issueSignature(upstreamSignature) }) : '';
    return sig + sseEvent('content_block_stop', { type: 'content_block_stop', index: open.index });
  }
}

export type AnthropicContentBlock =
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown };

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  content: AnthropicContentBlock[];
  model: string;
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: ReturnType<typeof usageJson>;
}

/**
 * The non-streaming response: the collected stream as one Message. A collected error is returned as
 * such, for the route to answer with its status and Anthropic error body.
 */
export function encodeAnthropicMessage(
  collected: CollectedMessage,
  meta: AnthropicMessageMeta,
): { ok: true; message: AnthropicMessage } | { ok: false; error: GatewayError } {
  if (collected.error) return { ok: false, error: collected.error };
  const content: AnthropicContentBlock[] = [];
  for (const block of collected.content) {
    if (block.type === 'thinking') {
      // An empty thinking block makes Claude Code drop the tool_use after it (peers.md §3.4); the
      // streaming encoder never opens one either.
      if (block.text !== '') content.push({ type: 'thinking', thinking: block.text, signature: issueSignature(block.signature) });
    } else if (block.type === 'text') {
      if (block.text !== '') content.push({ type: 'text', text: block.text });
    } else {
      const input = typeof block.input === 'object' && block.input !== null ? block.input : {};
      content.push({ type: 'tool_use', id: block.id, name: block.name, input });
    }
  }
  return {
    ok: true,
    message: {
      id: meta.id,
      type: 'message',
      role: 'assistant',
      content,
      model: meta.model,
      stop_reason: collected.finishReason ?? 'end_turn',
      stop_sequence: collected.stopSequence ?? null,
      usage: usageJson(collected.usage),
    },
  };
}
