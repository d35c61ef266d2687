// The <thinking> tag splitter: tag boundaries anywhere in the deltas, only an opening tag counts,
// minimal hold-back, unclosed blocks, and the Python q2api "Hello <" bug as a regression fixture.
import { describe, expect, test } from 'bun:test';
import { type SplitPart, ThinkingSplitter, tagPrefixSuffixLength } from '../../src/upstream/thinking';

/** The fake's `thinking` scenario deltas (test/fake-upstream/scenarios.ts). */
const THINKING_DELTAS = ['<thi', 'nking>The user gre', 'ets me; reply briefly.</thi', 'nking>\n\nHel', 'lo!'];
const THINKING_TEXT = THINKING_DELTAS.join('');

function run(deltas: readonly string[]): SplitPart[] {
  const s = new ThinkingSplitter();
  const out: SplitPart[] = [];
  for (const d of deltas) out.push(...s.push(d));
  out.push(...s.end());
  return out;
}

/** Adjacent same-kind parts merged: what a client ends up with, independent of delta boundaries. */
function merged(parts: readonly SplitPart[]): SplitPart[] {
  const out: SplitPart[] = [];
  for (const p of parts) {
    const last = out.at(-1);
    if (last && last.type === p.type && p.type !== 'thinking-end') (last as { text: string }).text += (p as { text: string }).text;
    else out.push({ ...p });
  }
  return out;
}

const EXPECTED: SplitPart[] = [
  { type: 'thinking', text: 'The user greets me; reply briefly.' },
  { type: 'thinking-end' },
  { type: 'text', text: 'Hello!' },
];

describe('ThinkingSplitter', () => {
  test('the exact 5-delta split of the fake scenario', () => {
    const s = new ThinkingSplitter();
    expect(s.push('<thi')).toEqual([]);
    expect(s.push('nking>The user gre')).toEqual([{ type: 'thinking', text: 'The user gre' }]);
    expect(s.push('ets me; reply briefly.</thi')).toEqual([{ type: 'thinking', text: 'ets me; reply briefly.' }]);
    expect(s.held).toBe('</thi');
    expect(s.push('nking>\n\nHel')).toEqual([{ type: 'thinking-end' }, { type: 'text', text: 'Hel' }]);
    expect(s.push('lo!')).toEqual([{ type: 'text', text: 'lo!' }]);
    expect(s.end()).toEqual([]);
  });

  test('every 2-way split gives the same parts', () => {
    for (let i = 0; i <= THINKING_TEXT.length; i++) {
      expect(merged(run([THINKING_TEXT.slice(0, i), THINKING_TEXT.slice(i)]))).toEqual(EXPECTED);
    }
  });

  test('every 3-way split gives the same parts', () => {
    const n = THINKING_TEXT.length;
    for (let i = 0; i <= n; i++) {
      for (let j = i; j <= n; j++) {
        const parts = run([THINKING_TEXT.slice(0, i), THINKING_TEXT.slice(i, j), THINKING_TEXT.slice(j)]);
        expect(merged(parts)).toEqual(EXPECTED);
      }
    }
  });

  test('one character per delta', () => {
    expect(merged(run(Array.from(THINKING_TEXT)))).toEqual(EXPECTED);
  });

  test('leading whitespace before the opening tag is allowed', () => {
    expect(merged(run(['\n  <think', 'ing>x</thinking>y']))).toEqual([
      { type: 'thinking', text: 'x' },
      { type: 'thinking-end' },
      { type: 'text', text: 'y' },
    ]);
  });

  test('a literal <thinking> mid-text stays text', () => {
    const deltas = ['Use the ', '<thinking>', ' tag like <thin', 'king>this</thinking>.'];
    expect(merged(run(deltas))).toEqual([{ type: 'text', text: deltas.join('') }]);
  });

  test('text that starts like a tag but is not one is released as soon as it differs', () => {
    const s = new ThinkingSplitter();
    expect(s.push('<th')).toEqual([]);
    expect(s.push('ead>')).toEqual([{ type: 'text', text: '<thead>' }]);
    expect(s.phase).toBe('text');
  });

  test('regression: "Hello <" then "div>world</div> end" stays text (Python q2api dropped characters here)', () => {
    expect(merged(run(['Hello <', 'div>world</div> end']))).toEqual([{ type: 'text', text: 'Hello <div>world</div> end' }]);
  });

  test('plain text passes through without hold-back', () => {
    const s = new ThinkingSplitter();
    expect(s.push('Hi')).toEqual([{ type: 'text', text: 'Hi' }]);
    expect(s.push(' <')).toEqual([{ type: 'text', text: ' <' }]);
  });

  test('unclosed block at EOF ends as thinking, then thinking-end', () => {
    const parts = run(['<thinking>partial', ' reasoning</thi']);
    expect(merged(parts)).toEqual([{ type: 'thinking', text: 'partial reasoning</thi' }, { type: 'thinking-end' }]);
  });

  test('a thinking-only response (nothing after the block) ends cleanly', () => {
    expect(run(['<thinking>x</thinking>\n\n'])).toEqual([{ type: 'thinking', text: 'x' }, { type: 'thinking-end' }]);
  });

  test('blank lines after </thinking> are stripped, indentation of the first line is kept', () => {
    expect(merged(run(['<thinking>x</thinking>\n \n', '    code()']))).toEqual([
      { type: 'thinking', text: 'x' },
      { type: 'thinking-end' },
      { type: 'text', text: '    code()' },
    ]);
  });

  test('end() mid-prefix releases the held characters as text', () => {
    expect(run(['<thi'])).toEqual([{ type: 'text', text: '<thi' }]);
  });

  test('a whitespace-only segment is dropped', () => {
    expect(run([' \n'])).toEqual([]);
  });

  test('after end(), later text is plain even if it opens with a tag', () => {
    const s = new ThinkingSplitter();
    s.end();
    expect(s.push('<thinking>x')).toEqual([{ type: 'text', text: '<thinking>x' }]);
  });

  test('tagPrefixSuffixLength holds back only a possible tag prefix', () => {
    expect(tagPrefixSuffixLength('abc</thi', '</thinking>')).toBe(5);
    expect(tagPrefixSuffixLength('abc<', '</thinking>')).toBe(1);
    expect(tagPrefixSuffixLength('abc', '</thinking>')).toBe(0);
    expect(tagPrefixSuffixLength('</thinking', '</thinking>')).toBe(10);
  });
});
