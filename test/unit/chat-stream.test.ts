// The Q event mapper: QEvent fixtures → StreamPart sequences (thinking, tool assembly, truncation,
// limits the gateway enforces, usage sources, mid-stream errors) and the non-streaming fold.
import { describe, expect, test } from 'bun:test';
import type { StreamPart } from '../../src/dialects/conversation';
import { GatewayError } from '../../src/http/errors';
import { UpstreamError } from '../../src/upstream/errors';
import type { QEvent } from '../../src/upstream/q-events';
import { collectParts } from '../../src/chat/collect';
import { COMMIT_CHARS, OutputTally, utf8Length } from '../../src/chat/output-tokens';
import { chatStream, StopSequenceMatcher } from '../../src/chat/stream';
import type { FinishOptions, MapOptions } from '../../src/chat/stream';

/** One token per code point: limits and usage become exact and easy to read. */
const perChar = { countText: (t: string) => Array.from(t).length };
const WINDOW = 200_000;

const text = (content: string): QEvent => ({ type: 'assistantResponse', content });
const toolStart = (id: string, name: string): QEvent => ({ type: 'toolUse', toolUseId: id, name });
const toolInput = (id: string, name: string, input: string): QEvent => ({ type: 'toolUse', toolUseId: id, name, input });
const toolStop = (id: string, name: string): QEvent => ({ type: 'toolUse', toolUseId: id, name, stop: true });
const TAIL: QEvent[] = [
  { type: 'metering', usage: 0.02, unit: 'credit', unitPlural: 'credits' },
  { type: 'contextUsage', percentage: 1.5 },
];

interface Source {
  events: AsyncIterable<QEvent>;
  /** how many events the consumer pulled */
  pulled(): number;
  closed(): boolean;
}

function source(events: readonly QEvent[], fail?: unknown): Source {
  let pulled = 0;
  let closed = false;
  async function* gen(): AsyncGenerator<QEvent> {
    try {
      for (const e of events) {
        pulled++;
        yield e;
      }
      if (fail !== undefined) throw fail;
    } finally {
      closed = true;
    }
  }
  return { events: gen(), pulled: () => pulled, closed: () => closed };
}

type Opts = Partial<MapOptions & FinishOptions>;

async function parts(events: readonly QEvent[], opts: Opts = {}, fail?: unknown): Promise<StreamPart[]> {
  const out: StreamPart[] = [];
  for await (const p of chatStream(source(events, fail).events, options(opts))) out.push(p);
  return out;
}

function options(opts: Opts): MapOptions & FinishOptions {
  return { toolNames: new Map(), inputTokens: 10, contextWindow: WINDOW, stopSequences: [], counter: perChar, ...opts };
}

const textOf = (ps: StreamPart[]) => ps.map((p) => (p.type === 'text-delta' ? p.text : '')).join('');
const last = (ps: StreamPart[]) => ps.at(-1)!;

describe('text and thinking', () => {
  test('plain text, Kiro tail: credits and contextUsage-derived input tokens', async () => {
    const ps = await parts([text('Hel'), text('lo'), ...TAIL]);
    expect(ps).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      { type: 'finish', reason: 'end_turn', usage: { inputTokens: 3000, outputTokens: 5, reasoningTokens: 0, credits: 0.02 } },
    ]);
  });

  test('without contextUsage the pre-counted input stands; metadata tokenUsage wins when sent', async () => {
    expect(last(await parts([text('x')]))).toMatchObject({ usage: { inputTokens: 10, outputTokens: 1 } });
    const withMeta = await parts([
      text('x'),
      ...TAIL,
      { type: 'metadata', tokenUsage: { uncachedInputTokens: 100, cacheReadInputTokens: 20, outputTokens: 7 } },
    ]);
    expect(last(withMeta)).toMatchObject({ usage: { inputTokens: 120, outputTokens: 7 } });
  });

  test('duplicate text deltas are preserved (never deduped)', async () => {
    expect(textOf(await parts([text('ha'), text('ha'), text('!')]))).toBe('haha!');
  });

  test('unknown and ignored events are skipped', async () => {
    const ps = await parts([
      { type: 'messageMetadata', conversationId: 'c' },
      text('a'),
      { type: 'ignored', eventType: 'codeReferenceEvent' },
      { type: 'ignored', eventType: 'futureEvent' },
      text('b'),
    ]);
    expect(ps.map((p) => p.type)).toEqual(['text-delta', 'text-delta', 'finish']);
    expect(textOf(ps)).toBe('ab');
  });

  test('<thinking> tags across deltas: thinking first, no forged signature, reasoning tokens counted', async () => {
    const deltas = ['<thi', 'nking>The user gre', 'ets me; reply briefly.</thi', 'nking>\n\nHel', 'lo!'];
    const ps = await parts(deltas.map(text));
    const thinking = ps.filter((p) => p.type === 'thinking-delta').map((p) => (p as { text: string }).text).join('');
    expect(thinking).toBe('The user greets me; reply briefly.');
    expect(ps.find((p) => p.type === 'thinking-end')).toEqual({ type: 'thinking-end' });
    expect(textOf(ps)).toBe('Hello!');
    expect(ps.findIndex((p) => p.type === 'thinking-end')).toBeLessThan(ps.findIndex((p) => p.type === 'text-delta'));
    expect(last(ps)).toMatchObject({ reason: 'end_turn', usage: { outputTokens: 34 + 6, reasoningTokens: 34 } });
  });

  test('reasoningContentEvent: thinking deltas, then thinking-end with the upstream signature', async () => {
    const ps = await parts([
      { type: 'reasoning', text: 'The user greets me; ' },
      { type: 'reasoning', text: 'reply briefly.' },
      { type: 'reasoning', signature: 'fake-sig' },
      text('<thinking>literal</thinking>'),
    ]);
    expect(ps.slice(0, 4)).toEqual([
      { type: 'thinking-delta', text: 'The user greets me; ' },
      { type: 'thinking-delta', text: 'reply briefly.' },
      { type: 'thinking-end', signature: 'fake-sig' },
      { type: 'text-delta', text: '<thinking>literal</thinking>' },
    ]);
  });

  test('reasoning after the answer began is dropped, not misplaced', async () => {
    const notes: string[] = [];
    const ps = await parts([text('Hi'), { type: 'reasoning', text: 'late' }], { onNote: (n) => notes.push(n) });
    expect(ps.map((p) => p.type)).toEqual(['text-delta', 'finish']);
    expect(notes.length).toBe(1);
  });
});

describe('tool calls', () => {
  test('one tool: start with the client name, raw fragments, parsed input, finish tool_use', async () => {
    const id = 'tooluse_1';
    const ps = await parts(
      [text('Let me check.'), toolStart(id, 'get_weather_x'), toolInput(id, 'get_weather_x', '{"city":'), toolInput(id, 'get_weather_x', '"Paris"}'), toolStop(id, 'get_weather_x'), ...TAIL],
      { toolNames: new Map([['get_weather_x', 'get.weather']]) },
    );
    expect(ps.slice(0, -1)).toEqual([
      { type: 'text-delta', text: 'Let me check.' },
      { type: 'tool-call-start', id, name: 'get.weather' },
      { type: 'tool-call-delta', id, argumentsDelta: '{"city":' },
      { type: 'tool-call-delta', id, argumentsDelta: '"Paris"}' },
      { type: 'tool-call-end', id, input: { city: 'Paris' } },
    ]);
    expect(last(ps)).toMatchObject({ type: 'finish', reason: 'tool_use', usage: { outputTokens: 13 + 16 } });
  });

  test('several tools in order, each start → delta* → end', async () => {
    const evs = ['a', 'b', 'c'].flatMap((n, i) => [toolStart(`t${i}`, n), toolInput(`t${i}`, n, `{"i":${i}}`), toolStop(`t${i}`, n)]);
    const ps = await parts(evs);
    expect(ps.map((p) => p.type)).toEqual([...Array(3).fill(['tool-call-start', 'tool-call-delta', 'tool-call-end']).flat(), 'finish']);
    expect(ps.filter((p) => p.type === 'tool-call-end').map((p) => (p as { input: unknown }).input)).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(last(ps)).toMatchObject({ reason: 'tool_use' });
  });

  test('a tool without arguments ends with {}', async () => {
    const ps = await parts([toolStart('t', 'now'), toolStop('t', 'now')]);
    expect(ps[1]).toEqual({ type: 'tool-call-end', id: 't', input: {} });
  });

  test('input sent as an object (re-serialised by q-events) arrives whole with stop', async () => {
    const ps = await parts([toolStart('t', 'w'), { type: 'toolUse', toolUseId: 't', name: 'w', input: '{"city":"Paris","unit":"celsius"}', stop: true }]);
    expect(ps[2]).toEqual({ type: 'tool-call-end', id: 't', input: { city: 'Paris', unit: 'celsius' } });
  });

  test('truncated tool call (EOF mid-JSON): end with {} and invalid, finish max_tokens, no crash', async () => {
    const ps = await parts([toolStart('t', 'write'), toolInput('t', 'write', '{"path":"/srv/a')]);
    const end = ps.find((p) => p.type === 'tool-call-end') as Extract<StreamPart, { type: 'tool-call-end' }>;
    expect(end.input).toEqual({});
    expect(end.invalid).toContain('cut off');
    expect(last(ps)).toMatchObject({ type: 'finish', reason: 'max_tokens' });
  });

  test('invalid JSON with stop: invalid set, still a completed call', async () => {
    const ps = await parts([toolStart('t', 'w'), toolInput('t', 'w', '{"a":'), toolStop('t', 'w')]);
    expect(ps[2]).toMatchObject({ type: 'tool-call-end', input: {}, invalid: expect.stringContaining('invalid JSON') });
    expect(last(ps)).toMatchObject({ reason: 'tool_use' });
  });

  test('a repeated toolUseId after its stop is dropped', async () => {
    const ps = await parts([toolStart('t', 'w'), toolStop('t', 'w'), toolStart('t', 'w'), toolStop('t', 'w')]);
    expect(ps.filter((p) => p.type === 'tool-call-start').length).toBe(1);
  });

  test('text after a tool call closes nothing twice and is plain text', async () => {
    const ps = await parts([text('<thinking>x</thinking>a'), toolStart('t', 'w'), toolStop('t', 'w'), text('<thinking>done')]);
    expect(ps.map((p) => p.type)).toEqual(['thinking-delta', 'thinking-end', 'text-delta', 'tool-call-start', 'tool-call-end', 'text-delta', 'finish']);
    expect(ps[5]).toEqual({ type: 'text-delta', text: '<thinking>done' });
  });
});

describe('gateway-enforced limits', () => {
  test('stop sequence split across deltas: cut before it, finish stop_sequence, upstream cancelled and not read on', async () => {
    const src = source([text('Hello wo'), text('rld. ST'), text('OP and more'), text('never read'), ...TAIL]);
    let cancelled = 0;
    const ps: StreamPart[] = [];
    for await (const p of chatStream(src.events, options({ stopSequences: ['STOP'], cancel: () => cancelled++ }))) ps.push(p);
    expect(textOf(ps)).toBe('Hello world. ');
    expect(last(ps)).toMatchObject({ type: 'finish', reason: 'stop_sequence', stopSequence: 'STOP', usage: { outputTokens: 13 } });
    expect(cancelled).toBe(1);
    expect(src.pulled()).toBe(3);
    expect(src.closed()).toBe(true);
  });

  test('a held prefix that does not complete the stop sequence is released', async () => {
    const ps = await parts([text('ab ST'), text('AY')], { stopSequences: ['STOP'] });
    expect(textOf(ps)).toBe('ab STAY');
    expect(ps[0]).toEqual({ type: 'text-delta', text: 'ab ' });
    expect(last(ps)).toMatchObject({ reason: 'end_turn' });
  });

  test('the earliest of several stop sequences wins', async () => {
    const ps = await parts([text('one two three')], { stopSequences: ['three', 'two'] });
    expect(last(ps)).toMatchObject({ reason: 'stop_sequence', stopSequence: 'two' });
    expect(textOf(ps)).toBe('one ');
  });

  test('StopSequenceMatcher holds back only a possible match prefix', () => {
    const m = new StopSequenceMatcher(['\n\nHuman:']);
    expect(m.push('abc\n')).toEqual({ emit: 'abc' });
    expect(m.push('\nHu')).toEqual({ emit: '' });
    expect(m.push('x')).toEqual({ emit: '\n\nHux' });
  });

  test('max_tokens cuts text inside a delta, cancels the upstream, finish max_tokens', async () => {
    let cancelled = 0;
    const ps = await parts([text('abc'), text('defg'), text('hij')], { maxTokens: 5, cancel: () => cancelled++ });
    expect(ps).toEqual([
      { type: 'text-delta', text: 'abc' },
      { type: 'text-delta', text: 'de' },
      { type: 'finish', reason: 'max_tokens', usage: { inputTokens: 10, outputTokens: 5, reasoningTokens: 0 } },
    ]);
    expect(cancelled).toBe(1);
  });

  test('max_tokens counts thinking too and ends the block', async () => {
    const ps = await parts([text('<thinking>abcdef</thinking>xyz')], { maxTokens: 4 });
    expect(ps).toEqual([
      { type: 'thinking-delta', text: 'abcd' },
      { type: 'thinking-end' },
      { type: 'finish', reason: 'max_tokens', usage: { inputTokens: 10, outputTokens: 4, reasoningTokens: 4 } },
    ]);
  });

  test('max_tokens inside tool input ends the call as invalid', async () => {
    const ps = await parts([text('ab'), toolStart('t', 'w'), toolInput('t', 'w', '{"a":1}'), toolStop('t', 'w')], { maxTokens: 5 });
    expect(ps.slice(1)).toEqual([
      { type: 'tool-call-start', id: 't', name: 'w' },
      { type: 'tool-call-delta', id: 't', argumentsDelta: '{"a' },
      { type: 'tool-call-end', id: 't', input: {}, invalid: 'arguments cut off at max_tokens (5)' },
      { type: 'finish', reason: 'max_tokens', usage: { inputTokens: 10, outputTokens: 5, reasoningTokens: 0 } },
    ]);
  });

  test('output exactly at the limit is a normal end', async () => {
    expect(last(await parts([text('abcde')], { maxTokens: 5 }))).toMatchObject({ reason: 'end_turn' });
  });
});

describe('mid-stream errors', () => {
  test('an UpstreamError after text: the text, then one error part with usage so far', async () => {
    const err = new UpstreamError('stream', 'upstream stream error InternalServerException: boom', { phase: 'mid_stream' });
    const ps = await parts([text('abc')], {}, err);
    expect(ps.length).toBe(2);
    const e = last(ps) as Extract<StreamPart, { type: 'error' }>;
    expect(e.type).toBe('error');
    expect(e.error).toBeInstanceOf(GatewayError);
    expect(e.error.kind).toBe('upstream');
    expect(e.error.message).toContain('interrupted');
    expect(e.usage.outputTokens).toBe(3);
  });

  test('throttling and capacity exceptions map to rate_limit and overloaded', async () => {
    const throttled = await parts([text('a')], {}, new UpstreamError('throttled', 't', { phase: 'mid_stream' }));
    expect((last(throttled) as Extract<StreamPart, { type: 'error' }>).error.kind).toBe('rate_limit');
    const capacity = await parts([text('a')], {}, new UpstreamError('capacity', 'c', { phase: 'mid_stream' }));
    expect((last(capacity) as Extract<StreamPart, { type: 'error' }>).error.kind).toBe('overloaded');
  });

  test('an error mid tool call closes the call as invalid first', async () => {
    const ps = await parts([toolStart('t', 'w'), toolInput('t', 'w', '{"a"')], {}, new UpstreamError('timeout', 'idle', { phase: 'mid_stream' }));
    expect(ps.map((p) => p.type)).toEqual(['tool-call-start', 'tool-call-delta', 'tool-call-end', 'error']);
    expect(ps[2]).toMatchObject({ input: {}, invalid: expect.stringContaining('broke') });
  });

  test('held-back stop-sequence text is delivered before the error', async () => {
    const ps = await parts([text('abc S')], { stopSequences: ['STOP'] }, new UpstreamError('stream', 'x', { phase: 'mid_stream' }));
    expect(textOf(ps)).toBe('abc S');
    expect(last(ps).type).toBe('error');
  });

  test('a token counter that fails while enforcing max_tokens ends with exactly one error part', async () => {
    const broken = { countText: () => { throw new Error('counter broke'); } };
    const ps = await parts([text('a'.repeat(20))], { counter: broken, maxTokens: 10 });
    expect(ps).toHaveLength(1);
    expect(ps[0]).toMatchObject({ type: 'error', error: { kind: 'internal' }, usage: { outputTokens: 0 } });
  });

  test('a token counter that fails only for the final usage reports the byte bound, the answer intact', async () => {
    const broken = { countText: () => { throw new Error('counter broke'); } };
    const ps = await parts([text('héllo')], { counter: broken });
    expect(textOf(ps)).toBe('héllo');
    expect(last(ps)).toMatchObject({ type: 'finish', reason: 'end_turn', usage: { outputTokens: 6 } });
  });
});

describe('OutputTally', () => {
  test('counts deltas of one kind together within a window', async () => {
    let calls = 0;
    // "words" counter: a split word inside one window is still one token.
    const words = { countText: (t: string) => (calls++, t.split(/\s+/).filter(Boolean).length) };
    const tally = new OutputTally(words);
    await tally.add('text', 'Hel');
    await tally.add('text', 'lo wor');
    await tally.add('text', 'ld');
    expect((await tally.count()).total).toBe(2);
    await tally.add('thinking', 'a b c');
    expect(await tally.count()).toEqual({ total: 5, reasoning: 3 });
    // lazily: one count per window when asked, none per delta
    expect(calls).toBe(2);
  });

  test('the window slides at word boundaries: a long text in tiny deltas counts as the whole', async () => {
    const words = { countText: (t: string) => t.split(/\s+/).filter(Boolean).length };
    const text = 'lorem ipsum dolor sit amet '.repeat(200);
    for (const limit of [undefined, 100_000]) {
      const tally = new OutputTally(words);
      for (let i = 0; i < text.length; i += 3) await tally.add('text', text.slice(i, i + 3), limit);
      expect((await tally.count()).total).toBe(words.countText(text));
    }
  });

  test('windows close after COMMIT_CHARS so each count stays bounded', async () => {
    const seen: number[] = [];
    const tally = new OutputTally({ countText: (t: string) => (seen.push(t.length), t.length) });
    for (let i = 0; i < 10; i++) await tally.add('text', 'x'.repeat(COMMIT_CHARS / 2));
    expect(Math.max(...seen)).toBeLessThanOrEqual(COMMIT_CHARS);
    expect((await tally.count()).total).toBe(5 * COMMIT_CHARS);
  });

  test('far from the limit a long answer in small deltas is tokenized about once, not once per delta', async () => {
    let chars = 0;
    const words = { countText: (t: string) => ((chars += t.length), t.split(/\s+/).filter(Boolean).length) };
    const text = 'the build runs its tests again and again '.repeat(500); // 20,500 characters
    const tally = new OutputTally(words);
    for (let i = 0; i < text.length; i += 5) await tally.add('text', text.slice(i, i + 5), 64_000);
    expect((await tally.count()).total).toBe(words.countText(text));
    chars -= text.length; // the reference count above
    expect(chars).toBeLessThanOrEqual(text.length + COMMIT_CHARS);
  });

  test('near the limit every delta is counted exactly and the cut lands on the last token that fits', async () => {
    const tally = new OutputTally(perChar);
    await tally.add('text', 'a'.repeat(90), 100);
    expect(await tally.add('text', 'bbbbb', 100)).toEqual({ accepted: 'bbbbb', cut: false });
    // multi-byte text: the byte bound (3 per character) is past the limit, the exact count is not
    expect(await tally.add('text', '日本', 100)).toEqual({ accepted: '日本', cut: false });
    expect(await tally.add('text', 'cccc', 100)).toEqual({ accepted: 'ccc', cut: true });
    expect((await tally.count()).total).toBe(100);
  });

  test('utf8Length matches the encoder, surrogate pairs and lone surrogates included', () => {
    for (const s of ['', 'abc', 'é', '日本語', '😀x', 'a\ud800b', '\udc00', 'x\u07ff\u0800']) {
      expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
    }
  });
});

describe('collectParts (the non-streaming fold)', () => {
  test('thinking, text and tool blocks with parsed input, finish and usage', async () => {
    const msg = await collectParts(
      chatStream(
        source([
          { type: 'reasoning', text: 'hmm' },
          { type: 'reasoning', signature: 'sig' },
          text('Let me '),
          text('check.'),
          toolStart('t1', 'w'),
          toolInput('t1', 'w', '{"city":"Paris"}'),
          toolStop('t1', 'w'),
          toolStart('t2', 'w'),
          toolInput('t2', 'w', '{"cit'),
          ...TAIL,
        ]).events,
        options({}),
      ),
    );
    expect(msg.content).toEqual([
      { type: 'thinking', text: 'hmm', signature: 'sig' },
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_call', id: 't1', name: 'w', input: { city: 'Paris' } },
      { type: 'tool_call', id: 't2', name: 'w', input: {}, invalid: expect.stringContaining('cut off') },
    ]);
    expect(msg.finishReason).toBe('max_tokens');
    expect(msg.usage).toMatchObject({ inputTokens: 3000, reasoningTokens: 3, credits: 0.02 });
    expect(msg.error).toBeUndefined();
  });

  test('an error part becomes message.error with the usage so far', async () => {
    const msg = await collectParts(chatStream(source([text('ab')], new UpstreamError('stream', 'x', { phase: 'mid_stream' })).events, options({})));
    expect(msg.content).toEqual([{ type: 'text', text: 'ab' }]);
    expect(msg.finishReason).toBeNull();
    expect(msg.error?.kind).toBe('upstream');
    expect(msg.usage.outputTokens).toBe(2);
  });

  test('stop sequence is carried over', async () => {
    const msg = await collectParts(chatStream(source([text('a STOP b')]).events, options({ stopSequences: ['STOP'] })));
    expect(msg).toMatchObject({ finishReason: 'stop_sequence', stopSequence: 'STOP', content: [{ type: 'text', text: 'a ' }] });
  });
});
