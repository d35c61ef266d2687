// Running count of output tokens (text, thinking, tool input) for usage and the gateway-enforced
// max_tokens. Pure apart from the injected counter.
//
// Counting every delta on its own over-counts (`"Hel"` + `"lo"` is two tokens, `"Hello"` one), and
// recounting the whole output per delta is quadratic. So deltas of one kind are counted together
// in a window that slides forward at a word boundary once it holds COMMIT_CHARS characters.

/** What the tally needs from the token counter (src/tokens.ts `countText`, no multiplier applied). */
export interface TextTokenCounter {
  countText(text: string): Promise<number> | number;
}

export type OutputChannel = 'text' | 'thinking' | 'tool';

/**
 * Window size. Each delta re-counts at most about this many characters plus itself, which keeps the
 * cost linear; a window closed where no word boundary exists may split a token (1 token of error).
 */
export const COMMIT_CHARS = 512;

export interface TallyResult {
  /** the part of the delta that fits under the limit (all of it unless `cut`) */
  accepted: string;
  /** the limit was reached inside this delta: nothing after `accepted` may be emitted */
  cut: boolean;
}

export class OutputTally {
  readonly #counter: TextTokenCounter;
  readonly #committed: Record<OutputChannel, number> = { text: 0, thinking: 0, tool: 0 };
  #channel: OutputChannel = 'text';
  #window = '';
  #windowTokens = 0;

  constructor(counter: TextTokenCounter) {
    this.#counter = counter;
  }

  get total(): number {
    return this.#committed.text + this.#committed.thinking + this.#committed.tool + this.#windowTokens;
  }

  get reasoning(): number {
    return this.#committed.thinking + (this.#channel === 'thinking' ? this.#windowTokens : 0);
  }

  /** Adds a delta; with a `limit`, accepts only the longest prefix that keeps the total within it. */
  async add(channel: OutputChannel, delta: string, limit?: number): Promise<TallyResult> {
    if (channel !== this.#channel) this.#commit(channel);
    if (delta === '') return { accepted: '', cut: false };
    const base = this.total - this.#windowTokens;
    const candidate = this.#window + delta;
    const n = await this.#counter.countText(candidate);
    if (limit === undefined || base + n <= limit) {
      this.#window = candidate;
      this.#windowTokens = n;
      if (this.#window.length >= COMMIT_CHARS) await this.#slide();
      return { accepted: delta, cut: false };
    }
    // Binary search over code points (never splitting a surrogate pair) for the longest prefix that
    // still fits; `fitTokens` always holds the count of the prefix `lo` points long.
    const points = Array.from(delta);
    let lo = 0;
    let hi = points.length - 1;
    let fitTokens = this.#windowTokens;
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
    this.#windowTokens = fitTokens;
    return { accepted, cut: true };
  }

  /**
   * Closes most of a full window at a word boundary (before a space between two words, where
   * cl100k never joins tokens), keeping the last word open so the count stays exact.
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
      this.#commit(this.#channel);
      return;
    }
    const head = await this.#counter.countText(w.slice(0, at));
    this.#committed[this.#channel] += head;
    this.#window = w.slice(at);
    this.#windowTokens = Math.max(0, this.#windowTokens - head);
  }

  #commit(next: OutputChannel): void {
    this.#committed[this.#channel] += this.#windowTokens;
    this.#channel = next;
    this.#window = '';
    this.#windowTokens = 0;
  }
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\n' || c === '\r' || c === '\t';
}
