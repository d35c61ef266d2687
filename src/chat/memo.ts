// The last request of each recent conversation, so that the next one (an agent resends its whole
// history to add a turn) reuses what was done for it: its token counts (tokens.ts) and its converted
// Q history (q-request-cache.ts). One per chat engine, never module state.
//
// Reuse is decided by exact comparison, message by message and tool by tool (one pass over the
// request, about memcmp speed), never by a hash alone: a collision would put one client's history
// into another's request. The key only picks which conversation to compare with.

import type { Conversation, Message, ToolDefinition } from '../dialects/conversation';
import { conversationKey, sameMessage, sameTool } from '../dialects/conversation-equal';
import type { CountMemo } from '../tokens';
import { type HistorySnapshot, snapshotBytes } from '../upstream/q-request-cache';

/** Default budget (HISTORY_CACHE_MB): about 30 Claude Code–sized conversations by this estimate. */
export const DEFAULT_MEMO_BYTES = 128 * 1024 * 1024;

interface Entry {
  readonly messages: readonly Message[];
  readonly tools: readonly ToolDefinition[];
  /** sizes[i]: approximate bytes of messages 0 … i */
  readonly sizes: readonly number[];
  /** approximate bytes of the tool definitions */
  readonly toolBytes: number;
  readonly count?: CountMemo;
  readonly history?: HistorySnapshot;
  readonly bytes: number;
}

/** How a new request relates to the remembered request of its conversation. */
export interface Recall {
  readonly key: string;
  readonly entry?: Entry;
  /** leading messages equal, part by part, to the remembered ones */
  readonly sharedMessages: number;
  /** the tool list equals the remembered one, in order */
  readonly sameTools: boolean;
}

export interface MemoStats {
  conversations: number;
  bytes: number;
  /** requests that found their conversation with at least one message in common */
  hits: number;
  misses: number;
}

/** Least recently used conversations are forgotten once the estimated size passes `maxBytes`. */
export class ConversationMemo {
  readonly #entries = new Map<string, Entry>();
  readonly #maxBytes: number;
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = Math.max(0, maxBytes);
  }

  /**
   * `scope` keeps clients apart (guards.ts clientScope): one client can neither evict another's
   * conversations nor learn from response times what another recently sent.
   */
  recall(conv: Conversation, scope = ''): Recall {
    const key = `${scope}|${conversationKey(conv.messages[0])}`;
    const entry = this.#maxBytes > 0 && conv.messages.length > 0 ? this.#entries.get(key) : undefined;
    if (entry === undefined) {
      this.#misses++;
      return { key, sharedMessages: 0, sameTools: false };
    }
    const n = Math.min(entry.messages.length, conv.messages.length);
    let shared = 0;
    while (shared < n && sameMessage(entry.messages[shared]!, conv.messages[shared]!)) shared++;
    let sameTools = entry.tools.length === conv.tools.length;
    for (let i = 0; sameTools && i < conv.tools.length; i++) sameTools = sameTool(entry.tools[i]!, conv.tools[i]!);
    if (shared > 0) this.#hits++;
    else this.#misses++;
    return { key, entry, sharedMessages: shared, sameTools };
  }

  /**
   * Remembers `conv` as its conversation's latest request, with what was made for it. What is not
   * given is carried over from the remembered request while it still holds for `conv`.
   */
  remember(recall: Recall, conv: Conversation, made: { count?: CountMemo; history?: HistorySnapshot }): void {
    if (this.#maxBytes === 0 || conv.messages.length === 0) return;
    const old = recall.entry;
    const shared = old === undefined ? 0 : recall.sharedMessages;
    const sizes = old === undefined ? [] : old.sizes.slice(0, shared);
    let size = shared > 0 ? sizes[shared - 1]! : 0;
    for (let i = shared; i < conv.messages.length; i++) {
      size += messageBytes(conv.messages[i]!);
      sizes.push(size);
    }
    let count = made.count;
    if (count === undefined && old?.count !== undefined && recall.sameTools) count = { totals: old.count.totals.slice(0, shared), tools: old.count.tools };
    let history = made.history;
    if (history === undefined && old?.history !== undefined && shared >= old.history.messageCount) {
      // Still the same history; the client tools in it only while the tool list is the same.
      const { clientTools: _, ...rest } = old.history;
      history = recall.sameTools ? old.history : rest;
    }
    const toolBytes = recall.sameTools && old !== undefined ? old.toolBytes : toolsBytes(conv.tools);
    // Per message: its slot in `messages`, `sizes` and the count's `totals`.
    const bytes = ENTRY_OVERHEAD_BYTES + size + conv.messages.length * 24 + toolBytes + (history ? snapshotBytes(history) : 0);
    this.#delete(recall.key);
    if (bytes > this.#maxBytes) return;
    // The shared messages stay the remembered objects: the request's equal copies then die young,
    // and what the memo keeps alive (old-generation memory for the GC) grows only by the new turns.
    const messages = shared > 0 ? [...old!.messages.slice(0, shared), ...conv.messages.slice(shared)] : [...conv.messages];
    const tools = recall.sameTools && old !== undefined ? old.tools : conv.tools;
    const entry: Entry = { messages, tools, sizes, toolBytes, bytes, ...(count ? { count } : {}), ...(history ? { history } : {}) };
    this.#entries.set(recall.key, entry);
    this.#bytes += bytes;
    while (this.#bytes > this.#maxBytes) this.#delete(this.#entries.keys().next().value as string);
  }

  stats(): MemoStats {
    return { conversations: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses };
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }
}

/** Fixed cost of an entry: the objects, arrays and Map slot around its data. */
const ENTRY_OVERHEAD_BYTES = 1024;

/**
 * What keeping a message costs, in bytes, erring high: text at 2 bytes a character (strings hold
 * UTF-16 once they have a character beyond Latin-1), plus the objects around it.
 */
function messageBytes(message: Message): number {
  let n = 64;
  for (const p of message.content) {
    if (p.type === 'text' || p.type === 'thinking') n += 2 * p.text.length + 64;
    else if (p.type === 'image') n += 2 * p.data.length + 64;
    else if (p.type === 'tool_call') n += 2 * (p.id.length + p.name.length + (JSON.stringify(p.input)?.length ?? 0)) + 64;
    else for (const c of p.content) n += 2 * (c.type === 'text' ? c.text.length : c.data.length) + 64;
  }
  return n;
}

/** The same for the tool definitions (their schemas as JSON text, as a stand-in for the objects). */
function toolsBytes(tools: readonly ToolDefinition[]): number {
  let n = 0;
  for (const t of tools) n += 2 * (t.name.length + t.description.length + (JSON.stringify(t.inputSchema)?.length ?? 0)) + 128;
  return n;
}
