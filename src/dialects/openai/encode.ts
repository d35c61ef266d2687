// StreamPart → OpenAI `chat.completion.chunk` SSE frames, and a CollectedMessage → `chat.completion`
// (pure). Thinking travels only in `reasoning_content` (DeepSeek convention), never in `content`.

import type { CollectedMessage } from '../../chat/types';
import type { FinishReason, ResponseFormat, StreamPart, Usage } from '../conversation';
import { errorBody, type GatewayError } from '../../http/errors';

export interface CompletionMeta {
  /** `chatcmpl-…` */
  id: string;
  /** Unix seconds */
  created: number;
  /** the model id the client asked for */
  model: string;
  systemFingerprint: string;
  /** input tokens counted before the call; used when the final usage has none */
  inputTokens: number;
}

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls';

export function finishReason(reason: FinishReason | null): OpenAIFinishReason {
  switch (reason) {
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    default:
      // end_turn and stop_sequence are both "stop" in OpenAI's vocabulary.
      return 'stop';
  }
}

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

export function openaiUsage(usage: Usage, fallbackInputTokens: number): OpenAIUsage {
  const prompt = usage.inputTokens > 0 ? usage.inputTokens : fallbackInputTokens;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.outputTokens,
    total_tokens: prompt + usage.outputTokens,
    // Q reports no prompt-cache hits to the gateway.
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

const frame = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;
export const DONE_FRAME = 'data: [DONE]\n\n';

interface Delta {
  role?: 'assistant';
  content?: string;
  reasoning_content?: string;
  tool_calls?: Array<{
    index: number;
    id?: string;
    type?: 'function';
    function: { name?: string; arguments: string };
  }>;
}

export interface ChunkEncoder {
  /** the first chunk: `delta.role:"assistant"` */
  start(): string;
  /** the SSE text for one part ('' when the part shows nothing, e.g. a thinking signature) */
  encode(part: StreamPart): string;
  /** true once `finish` or `error` was encoded: nothing may follow */
  readonly ended: boolean;
}

/**
 * A stateful encoder for one streamed completion. Tool calls get indexes 0, 1, … in the order they
 * start; the first fragment of each carries id, type and name, later ones only argument text.
 */
export function createChunkEncoder(meta: CompletionMeta, opts: { includeUsage: boolean }): ChunkEncoder {
  const indexes = new Map<string, number>();
  const argumentsSent = new Set<string>();
  let ended = false;

  const chunk = (delta: Delta, finish: OpenAIFinishReason | null = null): string =>
    frame({
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      system_fingerprint: meta.systemFingerprint,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      // OpenAI marks every non-final chunk with usage:null when usage was asked for.
      ...(opts.includeUsage ? { usage: null } : {}),
    });

  const args = (id: string, text: string): string => {
    const index = indexes.get(id);
    if (index === undefined || text === '') return '';
    argumentsSent.add(id);
    return chunk({ tool_calls: [{ index, function: { arguments: text } }] });
  };

  return {
    get ended() {
      return ended;
    },
    start: () => chunk({ role: 'assistant', content: '' }),
    encode(part) {
      if (ended) return '';
      switch (part.type) {
        case 'text-delta':
          return part.text === '' ? '' : chunk({ content: part.text });
        case 'thinking-delta':
          return part.text === '' ? '' : chunk({ reasoning_content: part.text });
        case 'thinking-end':
          return ''; // OpenAI has no place for a thinking signature
        case 'tool-call-start': {
          const index = indexes.size;
          indexes.set(part.id, index);
          return chunk({ tool_calls: [{ index, id: part.id, type: 'function', function: { name: part.name, arguments: '' } }] });
        }
        case 'tool-call-delta':
          return args(part.id, part.argumentsDelta);
        case 'tool-call-end':
          // A call whose arguments never streamed still needs parseable JSON on the client side.
          return argumentsSent.has(part.id) ? '' : args(part.id, JSON.stringify(part.input ?? {}));
        case 'finish': {
          ended = true;
          let out = chunk({}, finishReason(part.reason));
          if (opts.includeUsage) {
            out += frame({
              id: meta.id,
              object: 'chat.completion.chunk',
              created: meta.created,
              model: meta.model,
              system_fingerprint: meta.systemFingerprint,
              choices: [],
              usage: openaiUsage(part.usage, meta.inputTokens),
            });
          }
          return out + DONE_FRAME;
        }
        case 'error':
          ended = true;
          return errorFrame(part.error);
      }
    },
  };
}

/**
 * The in-stream error: `data: {"error":{…}}`, after which the stream closes without [DONE], so a
 * client that ignores error payloads still sees an unfinished stream, never a fake success. The
 * openai SDKs throw an APIError on it.
 */
export function errorFrame(err: GatewayError): string {
  return frame(errorBody(err, 'openai'));
}

/**
 * Models often wrap requested JSON in a ```json fence. With response_format json_*, a
 * non-streaming answer whose fenced body parses is unwrapped; anything else is returned as is.
 */
export function unwrapJsonFence(text: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/i.exec(text);
  if (!m) return text;
  try {
    JSON.parse(m[1]!);
    return m[1]!;
  } catch {
    return text;
  }
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  system_fingerprint: string;
  choices: Array<{
    index: 0;
    message: {
      role: 'assistant';
      content: string | null;
      reasoning_content?: string;
      refusal: null;
      tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
    };
    logprobs: null;
    finish_reason: OpenAIFinishReason;
  }>;
  usage: OpenAIUsage;
}

/** The non-streaming response: the fold of the stream rendered in one object. */
export function chatCompletion(msg: CollectedMessage, meta: CompletionMeta, responseFormat: ResponseFormat): ChatCompletion {
  let text = '';
  let reasoning = '';
  const toolCalls: NonNullable<ChatCompletion['choices'][0]['message']['tool_calls']> = [];
  for (const block of msg.content) {
    if (block.type === 'text') text += block.text;
    else if (block.type === 'thinking') reasoning += block.text;
    else toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
  }
  if (responseFormat.type !== 'text') text = unwrapJsonFence(text);
  const message: ChatCompletion['choices'][0]['message'] = {
    role: 'assistant',
    // OpenAI sends content:null when the turn is only tool calls.
    content: text === '' && toolCalls.length > 0 ? null : text,
    refusal: null,
  };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    system_fingerprint: meta.systemFingerprint,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(msg.finishReason) }],
    usage: openaiUsage(msg.usage, meta.inputTokens),
  };
}
