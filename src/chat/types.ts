// The contract between the HTTP routes and the chat engine: a route decodes its dialect into a
// Conversation, asks the engine to run it, and encodes the StreamParts it gets back.

import type { Conversation, FinishReason, StreamPart, Usage } from '../dialects/conversation';
import type { GatewayError } from '../http/errors';
import type { UpstreamErrorKind } from '../upstream/errors';
import type { MemoStats } from './memo';

export interface ChatRunOptions {
  /** aborted when the client disconnects: the engine then aborts the upstream request at once */
  signal: AbortSignal;
  /** for logs and error bodies */
  requestId: string;
  /** told about every upstream attempt (request log, metrics); must not throw */
  observer?: ChatRunObserver;
  /** conversation key for STICKY_SESSIONS (src/chat/sticky.ts); the pool ignores it when stickiness is off */
  stickyKey?: string;
  /** the client the request belongs to (guards.ts clientScope): conversations are remembered per client */
  scope?: string;
}

/** One upstream call of a run: the account it used and, unless it committed, why it failed. */
export interface AttemptInfo {
  accountId: string;
  accountLabel: string | null;
  /** undefined when this attempt committed the response */
  error?: { kind: UpstreamErrorKind; message: string };
  /** what the engine did about the failure */
  action?: 'reject' | 'refresh' | 'next_account';
  /** the committed attempt: ms from the upstream call to its first content event (Amazon's share of the TTFB) */
  upstreamTtfbMs?: number;
}

export interface ChatRunObserver {
  attempt(info: AttemptInfo): void;
}

export interface ChatRun {
  /** the model id the client asked for, echoed back in responses */
  requestedModel: string;
  /** the Q model id actually used */
  upstreamModel: string;
  /** headers the route adds to its response, e.g. `x-q2api-model` when a default was substituted */
  headers: Record<string, string>;
  /** input tokens counted before the call (message_start / prompt_tokens); `finish.usage` may correct it */
  inputTokens: number;
  /**
   * The response, already committed: the engine resolves `run` only after the first upstream event
   * arrived, so every failure before that was retried on another account or rejected `run` with a
   * GatewayError. Ends with exactly one `finish` or `error` part.
   */
  parts: AsyncIterable<StreamPart>;
}

export interface ChatEngine {
  /** Rejects with a GatewayError (nothing committed yet) or resolves with a committed run. */
  run(conversation: Conversation, options: ChatRunOptions): Promise<ChatRun>;
  /** Input tokens of a conversation, exactly as `run` counts them (for count_tokens). */
  countInputTokens(conversation: Conversation, scope?: string): Promise<number>;
  /** the conversation memo's size and hit counts (src/chat/memo.ts), for /metrics */
  memoStats(): MemoStats;
}

/** A non-streaming response is the fold of the stream. */
export type CollectedBlock =
  | { type: 'thinking'; text: string; signature?: string }
  | { type: 'text'; text: string }
  | { type: 'tool_call'; id: string; name: string; input: unknown; invalid?: string };

export interface CollectedMessage {
  content: CollectedBlock[];
  finishReason: FinishReason | null;
  stopSequence?: string;
  usage: Usage;
  /** set when the stream ended in an error part */
  error?: GatewayError;
}
