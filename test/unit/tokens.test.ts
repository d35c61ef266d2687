// Token counting: what is counted, the multiplier, determinism, and the per-block cache (hit counts,
// never wall time: bench/tokens.ts measures the cost).
import { describe, expect, test } from 'bun:test';
import type { ContentPart, Conversation, Message, ToolDefinition } from '../../src/dialects/conversation';
import { createTokenCounter, IMAGE_TOKENS, MESSAGE_OVERHEAD_TOKENS, SYSTEM_OVERHEAD_TOKENS, TOOL_BLOCK_OVERHEAD_TOKENS, TOOL_DEFINITION_OVERHEAD_TOKENS } from '../../src/tokens';
import { assistant, conversation, text, user } from '../support/conversation';

const conv = conversation;

describe('countText', () => {
  test('cl100k_base counts, raw (no multiplier)', async () => {
    const c = createTokenCounter({ multiplier: 3 });
    expect(await c.countText('hello world')).toBe(2);
    expect(await c.countText('')).toBe(0);
  });

  test('special-token text is counted as text, never thrown on', async () => {
    const c = createTokenCounter({ multiplier: 1 });
    expect(await c.countText('a <|endoftext|> b <|im_start|>')).toBeGreaterThan(4);
  });

  test('a pathological run of letters is counted in slices (bounded cost, close count)', async () => {
    const c = createTokenCounter({ multiplier: 1 });
    const n = await c.countText(`start ${'a'.repeat(200_000)} end`);
    // cl100k packs runs of "a" 8 to a token; slicing errs by at most one token per 256 characters
    expect(n).toBeGreaterThan(200_000 / 8);
    expect(n).toBeLessThan(200_000 / 8 + 200_000 / 256 + 10);
  }, 15_000);

  test('the tokenizer is imported lazily (no static import in src/tokens.ts)', async () => {
    const src = await Bun.file(new URL('../../src/tokens.ts', import.meta.url)).text();
    expect(src).not.toMatch(/^import[^;]*gpt-tokenizer/m);
    expect(src).toContain("await import('gpt-tokenizer/encoding/cl100k_base')");
  });
});

describe('countConversation: what is counted', () => {
  const base = conv([user(text('hello'))]);

  async function delta(over: Conversation): Promise<number> {
    const c = createTokenCounter({ multiplier: 1 });
    return (await c.countConversation(over)) - (await c.countConversation(base));
  }

  test('a one-message conversation: overhead plus text', async () => {
    const c = createTokenCounter({ multiplier: 1 });
    expect(await c.countConversation(base)).toBe(MESSAGE_OVERHEAD_TOKENS + 1);
    expect(await c.countConversation(conv([]))).toBe(0);
  });

  test('system text', async () => {
    expect(await delta({ ...base, system: 'You are Claude Code.' })).toBe(SYSTEM_OVERHEAD_TOKENS + 5);
  });

  test('tool definitions: name, description and schema JSON', async () => {
    const t: ToolDefinition = { name: 'Read', description: 'Reads a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } } } };
    const c = createTokenCounter({ multiplier: 1 });
    const expected = TOOL_DEFINITION_OVERHEAD_TOKENS + (await c.countText(`Read\nReads a file\n${JSON.stringify(t.inputSchema)}`));
    expect(await delta({ ...base, tools: [t] })).toBe(expected);
  });

  test('images: a flat estimate each, in messages and in tool results', async () => {
    const img = { type: 'image', mediaType: 'image/png', data: 'x'.repeat(10_000) } as const;
    expect(await delta(conv([user(text('hello'), img, img)]))).toBe(2 * IMAGE_TOKENS);
    const withResult = conv([user(text('hello'), { type: 'tool_result', toolCallId: 't', isError: false, content: [img] })]);
    expect(await delta(withResult)).toBe(TOOL_BLOCK_OVERHEAD_TOKENS + IMAGE_TOKENS);
  });

  test('tool calls (name + input JSON), tool results, thinking', async () => {
    const c = createTokenCounter({ multiplier: 1 });
    const input = { command: 'ls -la /tmp', timeout: 1000 };
    const callTokens = TOOL_BLOCK_OVERHEAD_TOKENS + (await c.countText('Bash')) + (await c.countText(JSON.stringify(input)));
    const resultTokens = TOOL_BLOCK_OVERHEAD_TOKENS + (await c.countText('total 0\ndrwx'));
    const thinkingTokens = await c.countText('Let me look at the files first.');
    const full = conv([
      user(text('hello')),
      assistant({ type: 'thinking', text: 'Let me look at the files first.', signature: 's' }, { type: 'tool_call', id: 't1', name: 'Bash', input }),
      user({ type: 'tool_result', toolCallId: 't1', isError: false, content: [{ type: 'text', text: 'total 0\ndrwx' }] }),
    ]);
    expect(await delta(full)).toBe(2 * MESSAGE_OVERHEAD_TOKENS + thinkingTokens + callTokens + resultTokens);
  });

  test('json_schema response format counts the schema', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } } };
    const c = createTokenCounter({ multiplier: 1 });
    expect(await delta({ ...base, responseFormat: { type: 'json_schema', schema } })).toBe(await c.countText(JSON.stringify(schema)));
  });

  test('multiplier applied to the total, floored to an integer', async () => {
    const c1 = createTokenCounter({ multiplier: 1 });
    const c2 = createTokenCounter({ multiplier: 1.37 });
    const x = conv([user(text('The quick brown fox jumps over the lazy dog.'))], { system: 'be brief' });
    const raw = await c1.countConversation(x);
    expect(await c2.countConversation(x)).toBe(Math.floor(raw * 1.37));
    expect(Number.isInteger(await c2.countConversation(x))).toBe(true);
  });

  test('deterministic across counters and calls', async () => {
    const x = conv([user(text('alpha beta')), assistant(text('gamma')), user(text('delta ✓ ünïcode'))], { system: 'S' });
    const a = createTokenCounter({ multiplier: 1 });
    const b = createTokenCounter({ multiplier: 1 });
    const first = await a.countConversation(x);
    expect(await a.countConversation(x)).toBe(first);
    expect(await b.countConversation(x)).toBe(first);
  });
});

describe('the per-block cache', () => {
  /** ~150k tokens of history: 300 turns of 500-token blocks, as in a long Claude Code session. */
  function bigConversation(turns: number): Conversation {
    const messages: Message[] = [];
    for (let i = 0; i < turns; i++) {
      const body = `turn ${i}: ${'lorem ipsum dolor sit amet '.repeat(100)}`;
      messages.push(i % 2 === 0 ? user(text(body)) : assistant(text(body)));
    }
    return conv(messages, { system: 'You are a coding agent. '.repeat(50) });
  }

  test('a conversation grown by one turn counts only the new block', async () => {
    const c = createTokenCounter({ multiplier: 1 });
    const first = bigConversation(300);
    const n1 = await c.countConversation(first);
    expect(n1).toBeGreaterThan(150_000);
    const afterFirst = c.stats();
    expect(afterFirst).toEqual({ hits: 0, misses: 301, entries: 301, reusedMessages: 0 });

    const grown = { ...first, messages: [...first.messages, user(text('one more question'))] };
    const n2 = await c.countConversation(grown);
    const afterSecond = c.stats();
    expect(afterSecond.misses - afterFirst.misses).toBe(1);
    expect(afterSecond.hits - afterFirst.hits).toBe(301);
    // the cached count equals a cold count
    expect(n2).toBe(await createTokenCounter({ multiplier: 1 }).countConversation(grown));
  });

  test('bounded LRU: the least recently used block is evicted', async () => {
    const c = createTokenCounter({ multiplier: 1, cacheEntries: 2 });
    const one = (t: string) => conv([user(text(t))]);
    await c.countConversation(one('a a'));
    await c.countConversation(one('b b'));
    await c.countConversation(one('a a')); // hit: 'a a' becomes most recent
    await c.countConversation(one('c c')); // evicts 'b b'
    expect(c.stats()).toEqual({ hits: 1, misses: 3, entries: 2, reusedMessages: 0 });
    await c.countConversation(one('a a'));
    expect(c.stats().hits).toBe(2);
    await c.countConversation(one('b b'));
    expect(c.stats().misses).toBe(4);
  });

  test('blocks of equal hash input but different length never share an entry; counters share nothing', async () => {
    const a = createTokenCounter({ multiplier: 1 });
    const b = createTokenCounter({ multiplier: 1 });
    await a.countConversation(conv([user(text('same text'))]));
    await b.countConversation(conv([user(text('same text'))]));
    expect(b.stats()).toEqual({ hits: 0, misses: 1, entries: 1, reusedMessages: 0 });
    await a.countConversation(conv([user(text('same text '))]));
    expect(a.stats().misses).toBe(2);
  });

  test('cacheEntries 0 disables caching but still counts', async () => {
    const c = createTokenCounter({ multiplier: 1, cacheEntries: 0 });
    const x = conv([user(text('hello'))]);
    expect(await c.countConversation(x)).toBe(await c.countConversation(x));
    expect(c.stats()).toEqual({ hits: 0, misses: 2, entries: 0, reusedMessages: 0 });
  });
});
