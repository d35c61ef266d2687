// Running count of output tokens (text, thinking, tool input) for usage and the gateway-enforced
// max_tokens. Pure apart from the injected counter.
//
// Counting every delta on its own over-counts (`"Hel"` + `"lo"` is two tokens, `"Hello"` one), and
// recounting the whole output per delta is quadratic. So deltas of one kind are counted together
// in a window that slides forward at a word boundary once it holds COMMIT_CHARS characters. The
// window is counted lazily: a token is at least one byte, so while the committed count plus the
// window's UTF-8 length is within max_tokens no delta needs the tokenizer, and a long answer is
// tokenized about once in all instead of once per delta.

/**
 * What the tally needs from the token counter (src/tokens.ts `countText`, no multiplier applied).
 * A count never exceeds the text's UTF-8 length: cl100k is byte-level BPE, each token is ≥ 1 byte.
 */
export interface TextTokenCounter {
  countText(text: string): Promise<number> | number;
}

export type OutputChannel = 'text' | 'thinking' | 'tool';

/**
 * Window size. A window is counted at most once while the limit is far away (when it slides or at
 * the end), and each delta re-counts at most about this many characters plus itself when the limit
 * is near, which keeps the cost linear; a window closed where no word boundary exists may split a
 * token (1 token of error).
 */
export const COMMIT_CHARS = 512;

export interface TallyResult {
  /** the part of the delta that fits under the limit (all of it unless `cut`) */
  accepted: string;
  /** the limit was reached inside this delta: nothing after `accepted` may be emitted */
  cut: boolean;
}

export interface TallyCount {
  total: number;
  reasoning: number;
}

export class OutputTally {
  readonly #counter: TextTokenCounter;
  readonly #committed: Record<OutputChannel, number> = { text: 0, thinking: 0, tool: 0 };
  #channel: OutputChannel = 'text';
  #window = '';
  /** UTF-8 length of the window: an upper bound on its tokens that costs no tokenizer call */
  #windowBytes = 0;
  /** the window's exact count, or undefined until someone needs it */
  #windowTokens: number | undefined = 0;

  constructor(counter: TextTokenCounter) {
    this.#counter = counter;
  }

  /** Exact totals so far (counts the open window if it has not been counted yet). */
  async count(): Promise<TallyCount> {
    const open = await this.#windowCount();
    const c = this.#committed;
    return { total: c.text + c.thinking + c.tool + open, reasoning: c.thinking + (this.#channel === 'thinking' ? open : 0) };
  }

  /**
   * An upper bound on the totals without calling the counter: for the path where counting itself
   * failed. Exact wherever the window was counted.
   */
  bound(): TallyCount {
    const open = this.#windowTokens ?? this.#windowBytes;
    const c = this.#committed;
    return { total: c.text + c.thinking + c.tool + open, reasoning: c.thinking + (this.#channel === 'thinking' ? open : 0) };
  }

  /**
   * Adds a delta; with a `limit`, accepts only the longest prefix that keeps the total within it.
   * While the committed tokens plus the window's byte length stay within the limit nothing is
   * counted; only near the limit is each delta counted exactly.
   */
  async add(channel: OutputChannel, delta: string, limit?: number): Promise<TallyResult> {
    if (channel !== this.#channel) await this.#commit(channel);
    if (delta === '') return { accepted: '', cut: false };
    const base = this.#base();
    const deltaBytes = utf8Length(delta);
    if (limit === undefined || base + this.#windowBytes + deltaBytes <= limit) {
      this.#window += delta;
      this.#windowBytes += deltaBytes;
      this.#windowTokens = undefined;
      if (this.#window.length >= COMMIT_CHARS) await this.#slide();
      return { accepted: delta, cut: false };
    }
    const candidate = this.#window + delta;
    const n = await this.#counter.countText(candidate);
    if (base + n <= limit) {
      this.#window = candidate;
      this.#windowBytes += deltaBytes;
      this.#windowTokens = n;
      if (this.#window.length >= COMMIT_CHARS) await this.#slide();
      return { accepted: delta, cut: false };
    }
    // Binary search over code points (never splitting a surrogate pair) for the longest prefix that
    // still fits; `fitTokens` always holds the count of the prefix `lo` points long.
    const points = Array.from(delta);
    let lo = 0;
    let hi = points.length - 1;
    let fitTokens = await this.#windowCount();
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const t = await this.#counter.countText(this.#window + points.slice(0, mid).join(''));
      if (base + t <= limit) {
        lo = mid;
        fitTokens = t;
      } else hi = mid - 1;
    }
    const accepted = points.slice(0, lo).join('');
    this.#window += accepted;
    this.#windowBytes += utf8Length(accepted);
    this.#windowTokens = fitTokens;
    return { accepted, cut: true };
  }

  #base(): number {
    return this.#committed.text + this.#committed.thinking + this.#committed.tool;
  }

  async #windowCount(): Promise<number> {
    this.#windowTokens ??= await this.#counter.countText(this.#window);
    return this.#windowTokens;
  }

  /**
   * Closes most of a full window at a word boundary (before a space between two words, where
   * cl100k never joins tokens), keeping the last word open so the count stays exact. Counts one
   * side only: the head when the window was not counted (the tail stays uncounted), else the tail.
   */
  async #slide(): Promise<void> {
    const w = this.#window;
    let at = -1;
    for (let i = w.length - 2; i > 0; i--) {
      if (w[i] === ' ' && !isSpace(w[i - 1]!) && !isSpace(w[i + 1]!)) {
        at = i;
        break;
      }
    }
    if (at <= 0) {
      await this.#commit(this.#channel);
      return;
    }
    const tail = w.slice(at);
    if (this.#windowTokens === undefined) {
      this.#committed[this.#channel] += await this.#counter.countText(w.slice(0, at));
    } else {
      const tailTokens = await this.#counter.countText(tail);
      this.#committed[this.#channel] += Math.max(0, this.#windowTokens - tailTokens);
      this.#windowTokens = tailTokens;
    }
    this.#window = tail;
    this.#windowBytes = utf8Length(tail);
  }

  async #commit(next: OutputChannel): Promise<void> {
    this.#committed[this.#channel] += await this.#windowCount();
    this.#channel = next;
    this.#window = '';
    this.#windowBytes = 0;
    this.#windowTokens = 0;
  }
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\n' || c === '\r' || c === '\t';
}

/** UTF-8 length of a string (a lone surrogate counts 3, as its replacement character encodes). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 2 UTF-16 units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}
