// The canonical vocabulary of the pipeline (architecture.md §1): a Conversation is what every dialect
// decoder produces and only the Q request builder consumes; a StreamPart is what the Q event mapper
// produces and only the dialect encoders consume. Pure types, no behaviour.

import type { GatewayError } from '../http/errors';

export type ImageMediaType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

export interface TextPart {
  type: 'text';
  text: string;
}

export interface ImagePart {
  type: 'image';
  mediaType: ImageMediaType;
  /** base64, no `data:` prefix (URL sources are fetched by the decoder's shell before this point) */
  data: string;
}

export interface ToolCallPart {
  type: 'tool_call';
  /** the id the client knows (Anthropic `toolu_…`/OpenAI `call_…` or an upstream `tooluse_…`) */
  id: string;
  name: string;
  /** parsed JSON arguments (an object for every well-formed call) */
  input: unknown;
}

export interface ToolResultPart {
  type: 'tool_result';
  toolCallId: string;
  content: Array<TextPart | ImagePart>;
  isError: boolean;
}

export interface ThinkingPart {
  type: 'thinking';
  text: string;
  /** only signatures that came from this gateway's upstream; never forged */
  signature?: string;
}

export type ContentPart = TextPart | ImagePart | ToolCallPart | ToolResultPart | ThinkingPart;

export interface Message {
  role: 'user' | 'assistant';
  content: ContentPart[];
}

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the input object */
  inputSchema: Record<string, unknown>;
}

export type ToolChoice =
  | { type: 'auto' }
  | { type: 'any' } // OpenAI "required"
  | { type: 'tool'; name: string }
  | { type: 'none' };

export type ThinkingEffort = 'low' | 'medium' | 'high' | 'max';

export type ThinkingRequest =
  | { type: 'disabled' }
  | { type: 'enabled'; budgetTokens: number }
  | { type: 'adaptive'; effort?: ThinkingEffort };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name?: string; schema: Record<string, unknown>; strict?: boolean };

export interface Conversation {
  /** the model id exactly as the client asked for it */
  model: string;
  /** all system / developer text joined with blank lines; '' when none */
  system: string;
  /** oldest first; consecutive same-role messages allowed here (the builder merges them) */
  messages: Message[];
  tools: ToolDefinition[];
  toolChoice: ToolChoice;
  thinking: ThinkingRequest;
  /** output limit the gateway enforces; undefined = the model's own limit */
  maxTokens?: number;
  /** the gateway cuts output at the first match */
  stopSequences: string[];
  responseFormat: ResponseFormat;
  /** notes for the response headers, e.g. dropped server tools */
  warnings: string[];
}

/** Longest model name a request may give: real ids are < 100 characters, and the name is echoed
 *  in every response and log line (a megabyte "model" would be too; found by test/bad-input). */
export const MAX_MODEL_NAME_CHARS = 256;
/** Most tools one request may define. Claude Code with many MCP servers stays in the hundreds; 10,000
 *  tools cost seconds of token counting before any upstream call (found by test/bad-input). */
export const MAX_TOOLS = 1_000;
/** Largest image, decoded: Amazon Q takes at most 10 MiB per image (Q CLI's limit, §2.4); the same
 *  default as IMAGE_FETCH_MAX_BYTES for images given by URL. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

/** Decoded size of base64 text (padding and the URL-safe alphabet both counted right). */
export function base64Bytes(b64: string): number {
  const pad = b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0;
  return Math.floor((b64.length * 3) / 4) - pad;
}

export type FinishReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'stop_sequence';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** thinking tokens, included in outputTokens */
  reasoningTokens: number;
  /** credits the upstream reported (meteringEvent), if any */
  credits?: number;
}

/**
 * The response vocabulary. Invariants the mapper guarantees: thinking comes before any text or tool
 * call of the same turn; each tool call is start → delta* → end, never interleaved with another;
 * exactly one `finish` or one `error` ends the sequence.
 */
export type StreamPart =
  | { type: 'text-delta'; text: string }
  | { type: 'thinking-delta'; text: string }
  | { type: 'thinking-end'; signature?: string }
  | { type: 'tool-call-start'; id: string; name: string }
  | { type: 'tool-call-delta'; id: string; argumentsDelta: string }
  | {
      type: 'tool-call-end';
      id: string;
      /** the parsed arguments; `{}` when they were missing */
      input: unknown;
      /** set when the upstream cut the arguments off or sent invalid JSON: what went wrong */
      invalid?: string;
    }
  | { type: 'finish'; reason: FinishReason; stopSequence?: string; usage: Usage }
  | { type: 'error'; error: GatewayError; usage: Usage };
