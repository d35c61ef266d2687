// Token counting for usage, count_tokens and context checks: cl100k_base (as the Python q2api), over
// everything the builder sends, with a per-block LRU so a growing agent conversation costs one turn;
// with a CountPrior (src/chat/memo.ts) the unchanged leading messages are not even looked up.

import type { Conversation, ContentPart, Message } from './dialects/conversation';

/** What a count keeps for the next request of the same conversation (raw counts, no multiplier). */
export interface CountMemo {
  /** totals[i]: tokens of messages 0 … i */
  readonly totals: readonly number[];
  /** tokens of the tool definitions */
  readonly tools: number;
}

/** A previous count of the conversation, and how much of it still holds (checked by the caller). */
export interface CountPrior {
  memo: CountMemo;
  /** leading messages equal, part by part, to those the memo counted */
  sharedMessages: number;
  /** the tool list equals the one the memo counted */
  sameTools: boolean;
}

export interface TokenCounter {
  /** everything sent, × multiplier, an integer */
  countConversation(conv: Conversation): Promise<number>;
  /** the same, counting only what `prior` does not cover, and the memo for the next request */
  countDetailed(conv: Conversation, prior?: CountPrior): Promise<{ tokens: number; memo: CountMemo }>;
  /** raw count, no multiplier, no cache (output deltas rarely repeat) */
  countText(text: string): Promise<number>;
}

export interface TokenCacheStats {
  hits: number;
  misses: number;
  entries: number;
  /** messages whose count came from a CountPrior */
  reusedMessages: number;
}

/** The counter with its cache statistics (tests and metrics); assignable to TokenCounter. */
export interface CachingTokenCounter extends TokenCounter {
  stats(): TokenCacheStats;
}

/**
 * Default LRU size: a long Claude Code session holds a few thousand blocks (one per message part,
 * tool and system prompt); 20k entries keep several concurrent sessions warm for a few MB of keys.
 */
export const DEFAULT_CACHE_ENTRIES = 20_000;
/**
 * Flat per-image estimate: Anthropic's (w·h)/750 needs dimensions we do not decode; 1,600 is what a
 * ~1.15-megapixel image (the size Anthropic scales large images down to) costs.
 */
export const IMAGE_TOKENS = 1_600;
/** Role markers and separators around each message (cl100k chat format uses 3–4 per message). */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** The system-prompt wrapper the builder adds. */
export const SYSTEM_OVERHEAD_TOKENS = 8;
/** Per tool definition: the toolSpecification/inputSchema framing around name, description, schema. */
export const TOOL_DEFINITION_OVERHEAD_TOKENS = 8;
/** Per tool call or tool result: its id, name and status framing. */
export const TOOL_BLOCK_OVERHEAD_TOKENS = 6;
/**
 * BPE cost grows with the square of one pre-token's length (100k letters with no break take ~13 s in
 * gpt-tokenizer): longer runs of letters or of punctuation are counted in slices of this many
 * characters, which changes the count by at most one token per slice.
 */
export const MAX_RUN_CHARS = 256;
const LONG_RUN_SOURCE = `[\\p{L}\\p{M}]{${MAX_RUN_CHARS + 1},}|[^\\s\\p{L}\\p{N}]{${MAX_RUN_CHARS + 1},}`;
/** Non-global, so the shared constant carries no lastIndex state; matchAll below uses its own copy. */
const LONG_RUN = new RegExp(LONG_RUN_SOURCE, 'u');

type Encoder = (text: string) => number;

/** cl100k_base, loaded on first use: the static import costs ~370 ms of start-up and ~80 MB. */
async function loadEncoder(): Promise<Encoder> {
  const { countTokens } = await import('gpt-tokenizer/encoding/cl100k_base');
  // Client text may contain `<|endoftext|>` & co.: count it as text, never throw.
  const opts = { disallowedSpecial: new Set<string>() };
  return (text) => countTokens(text, opts);
}

/** Counts text, slicing pathological runs (see MAX_RUN_CHARS). */
function countGuarded(encode: Encoder, text: string): number {
  if (text === '') return 0;
  if (!LONG_RUN.test(text)) return encode(text);
  let total = 0;
  let from = 0;
  for (const m of text.matchAll(new RegExp(LONG_RUN_SOURCE, 'gu'))) {
    if (m.index > from) total += encode(text.slice(from, m.index));
    for (let i = 0; i < m[0].length; i += MAX_RUN_CHARS) total += encode(m[0].slice(i, i + MAX_RUN_CHARS));
    from = m.index + m[0].length;
  }
  if (from < text.length) total += encode(text.slice(from));
  return total;
}

/** JSON for counting: what the builder sends is JSON too; undefined (never sent) counts as nothing. */
function json(value: unknown): string {
  return JSON.stringify(value) ?? '';
}

export function createTokenCounter(opts: { multiplier: number; cacheEntries?: number }): CachingTokenCounter {
  const capacity = Math.max(0, Math.floor(opts.cacheEntries ?? DEFAULT_CACHE_ENTRIES));
  // Map iteration order is insertion order: re-inserting on a hit makes the first key the LRU one.
  const cache = new Map<string, number>();
  const stats = { hits: 0, misses: 0, reusedMessages: 0 };
  let encoder: Promise<Encoder> | undefined;
  const getEncoder = (): Promise<Encoder> => {
    encoder ??= loadEncoder().catch((e: unknown) => {
      encoder = undefined; // let a later call retry instead of caching the failure forever
      throw e;
    });
    return encoder;
  };

  /**
   * One block through the cache. Key: 64-bit wyhash plus length — a false hit needs a 64-bit
   * collision between two blocks of equal length (~n²/2⁶⁵, about 1e-11 at 20k entries).
   */
  function countBlock(encode: Encoder, text: string): number {
    if (text === '') return 0;
    const key = `${Bun.hash(text).toString(36)}:${text.length}`;
    const hit = cache.get(key);
    if (hit !== undefined) {
      stats.hits++;
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    stats.misses++;
    const n = countGuarded(encode, text);
    if (capacity > 0) {
      if (cache.size >= capacity) cache.delete(cache.keys().next().value as string);
      cache.set(key, n);
    }
    return n;
  }

  function countPart(encode: Encoder, part: ContentPart): number {
    switch (part.type) {
      case 'text':
      case 'thinking':
        return countBlock(encode, part.text);
      case 'image':
        return IMAGE_TOKENS;
      case 'tool_call':
        return TOOL_BLOCK_OVERHEAD_TOKENS + countBlock(encode, part.name) + countBlock(encode, json(part.input));
      case 'tool_result': {
        let n = TOOL_BLOCK_OVERHEAD_TOKENS;
        for (const c of part.content) n += c.type === 'text' ? countBlock(encode, c.text) : IMAGE_TOKENS;
        return n;
      }
    }
  }

  function countMessage(encode: Encoder, message: Message): number {
    let n = MESSAGE_OVERHEAD_TOKENS;
    for (const part of message.content) n += countPart(encode, part);
    return n;
  }

  async function countDetailed(conv: Conversation, prior?: CountPrior): Promise<{ tokens: number; memo: CountMemo }> {
    const encode = await getEncoder();
    let n = 0;
    if (conv.system !== '') n += SYSTEM_OVERHEAD_TOKENS + countBlock(encode, conv.system);
    let tools = 0;
    if (prior?.sameTools) tools = prior.memo.tools;
    else {
      for (const tool of conv.tools) {
        tools += TOOL_DEFINITION_OVERHEAD_TOKENS + countBlock(encode, `${tool.name}\n${tool.description}\n${json(tool.inputSchema)}`);
      }
    }
    n += tools;
    // Messages the previous request of the conversation counted keep their running total.
    const shared = prior === undefined ? 0 : Math.min(prior.sharedMessages, prior.memo.totals.length, conv.messages.length);
    const totals = shared > 0 ? prior!.memo.totals.slice(0, shared) : [];
    let running = shared > 0 ? totals[shared - 1]! : 0;
    for (let i = shared; i < conv.messages.length; i++) {
      running += countMessage(encode, conv.messages[i]!);
      totals.push(running);
    }
    stats.reusedMessages += shared;
    n += running;
    // The JSON-only instruction carries the schema into the prompt (q-request.ts).
    if (conv.responseFormat.type === 'json_schema') n += countBlock(encode, json(conv.responseFormat.schema));
    return { tokens: Math.floor(n * opts.multiplier), memo: { totals, tools } };
  }

  return {
    async countConversation(conv) {
      return (await countDetailed(conv)).tokens;
    },
    countDetailed,
    async countText(text) {
      return countGuarded(await getEncoder(), text);
    },
    stats: () => ({ hits: stats.hits, misses: stats.misses, entries: cache.size, reusedMessages: stats.reusedMessages }),
  };
}
