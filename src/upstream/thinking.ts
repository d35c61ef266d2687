// Splits the `<thinking>…</thinking>` block that Claude-via-Kiro writes inside ordinary text deltas
// (upstream-protocol.md §2.7) into thinking and text, with tag boundaries falling anywhere. Pure.
//
// Unlike Python q2api (q2api-reference.md §2.4) it never guesses: a possible tag prefix is held back
// until enough characters arrived to decide, and only a tag that opens the response counts, so
// `Hello <` + `div>` stays text and a literal "<thinking>" later in code output stays text.

export const OPEN_TAG = '<thinking>';
export const CLOSE_TAG = '</thinking>';

export type SplitPart = { type: 'text'; text: string } | { type: 'thinking'; text: string } | { type: 'thinking-end' };

/**
 * - `start`: nothing decided yet; only whitespace and a prefix of OPEN_TAG have been seen.
 * - `thinking`: inside the block; a prefix of CLOSE_TAG at the end is held back.
 * - `after-thinking`: the block closed; the blank lines that separate it from the answer are dropped.
 * - `text`: everything else is plain text, passed through at once.
 */
export type SplitPhase = 'start' | 'thinking' | 'after-thinking' | 'text';

const ONLY_WHITESPACE = /^\s*$/;
const LEADING_WHITESPACE = /^\s*/;
/** Whole blank lines only: indentation of the answer's first line is content (code blocks). */
const LEADING_BLANK_LINES = /^(?:[ \t]*\r?\n)+/;

export class ThinkingSplitter {
  #phase: SplitPhase = 'start';
  #held = '';

  get phase(): SplitPhase {
    return this.#phase;
  }

  /** Characters held back because they may still turn out to be (part of) a tag. */
  get held(): string {
    return this.#held;
  }

  push(delta: string): SplitPart[] {
    const out: SplitPart[] = [];
    if (delta === '') return out;
    this.#held += delta;
    this.#drain(out, false);
    return out;
  }

  /**
   * The text segment is over (end of stream, or a tool call begins): flush what was held, end an
   * open thinking block. Later pushes are plain text: thinking only ever opens a response.
   */
  end(): SplitPart[] {
    const out: SplitPart[] = [];
    this.#drain(out, true);
    this.#phase = 'text';
    this.#held = '';
    return out;
  }

  #drain(out: SplitPart[], final: boolean): void {
    for (;;) {
      switch (this.#phase) {
        case 'text':
          if (this.#held !== '') out.push({ type: 'text', text: this.#held });
          this.#held = '';
          return;
        case 'start': {
          const lead = LEADING_WHITESPACE.exec(this.#held)![0].length;
          const rest = this.#held.slice(lead);
          if (rest.startsWith(OPEN_TAG)) {
            this.#held = rest.slice(OPEN_TAG.length);
            this.#phase = 'thinking';
            continue;
          }
          if (OPEN_TAG.startsWith(rest)) {
            // Still undecided (rest may be ''): wait for more, unless nothing more will come.
            if (!final) return;
            // A whitespace-only answer is dropped: clients reject whitespace-only text blocks.
            if (rest === '') {
              this.#held = '';
              return;
            }
          }
          this.#phase = 'text';
          continue;
        }
        case 'thinking': {
          const close = this.#held.indexOf(CLOSE_TAG);
          if (close >= 0) {
            if (close > 0) out.push({ type: 'thinking', text: this.#held.slice(0, close) });
            out.push({ type: 'thinking-end' });
            this.#held = this.#held.slice(close + CLOSE_TAG.length);
            this.#phase = 'after-thinking';
            continue;
          }
          // An unclosed block at the end stays thinking: the model was cut off while reasoning.
          const keep = final ? 0 : tagPrefixSuffixLength(this.#held, CLOSE_TAG);
          const emit = this.#held.slice(0, this.#held.length - keep);
          if (emit !== '') out.push({ type: 'thinking', text: emit });
          this.#held = this.#held.slice(this.#held.length - keep);
          if (final) out.push({ type: 'thinking-end' });
          return;
        }
        case 'after-thinking':
          if (ONLY_WHITESPACE.test(this.#held)) {
            if (final) this.#held = '';
            return;
          }
          this.#held = this.#held.replace(LEADING_BLANK_LINES, '');
          this.#phase = 'text';
          continue;
      }
    }
  }
}

/** Length of the longest suffix of `s` that is a proper prefix of `tag` (what must be held back). */
export function tagPrefixSuffixLength(s: string, tag: string): number {
  for (let k = Math.min(s.length, tag.length - 1); k > 0; k--) {
    if (s.endsWith(tag.slice(0, k))) return k;
  }
  return 0;
}
