// Resuming a conversation's Q history (q-request-cache.ts, src/chat/memo.ts): a request built from
// the previous request's snapshot must be byte for byte the request a build from scratch gives, and
// counting from the previous count must give the same number. Seeded random conversations that grow
// the way agents grow them, with the changes that must defeat reuse mixed in.

import { describe, expect, test } from 'bun:test';
import { ConversationMemo } from '../../src/chat/memo';
import type { ContentPart, Conversation, Message, ToolDefinition } from '../../src/dialects/conversation';
import { createTokenCounter } from '../../src/tokens';
import { buildQRequest, type BuildOptions, type BuiltRequest } from '../../src/upstream/q-request';
import type { HistoryResume } from '../../src/upstream/q-request-cache';
import { conversation, text } from '../support/conversation';
import { mulberry32 } from '../support/prng';
import { qRequestProblems } from '../support/q-request-validity';

const OPTS: BuildOptions = { modelId: 'claude-sonnet-4.5', conversationId: '6a0c1d6e-9a8f-4c1e-9b0a-0d2f8b7b1c11' };
const LONG_NAME = `mcp__server__${'very_long_tool_name_'.repeat(4)}`; // > 64 characters: aliased
const ODD_NAME = 'read.file'; // invalid characters: aliased
const NAMES = ['Read', 'Bash', 'read', LONG_NAME, ODD_NAME, 'Edit'];

function tool(name: string, variant = 0): ToolDefinition {
  return {
    name,
    description: variant === 2 ? 'd'.repeat(10_050) : `the ${name} tool${variant === 1 ? ', v2' : ''}`,
    inputSchema: { type: 'object', properties: { path: { type: 'string' }, n: { type: 'number', default: null } }, required: ['path'] },
  };
}

/** One step of a conversation's life: what it looks like when sent, and the build options. */
interface Step {
  conv: Conversation;
  opts: BuildOptions;
}

/** A conversation that grows by exchanges, with now and then an edit, a new tool list or model. */
function* lifetime(seed: number, steps: number): Generator<Step> {
  const rand = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const chance = (p: number) => rand() < p;
  let callNo = 0;
  const messages: Message[] = chance(0.2) ? [{ role: 'assistant', content: [text('I start the conversation.')] }] : [];
  let current: Message = { role: 'user', content: [text(`first question of ${seed}`)] };
  let tools: ToolDefinition[] = [tool('Read'), tool('Bash'), tool(LONG_NAME)];
  let system = 'You are an agent.';
  let modelId = OPTS.modelId;
  let toolChoice: Conversation['toolChoice'] = { type: 'auto' };
  let prefill: Message | undefined;
  for (let step = 0; step < steps; step++) {
    const sent = [...messages, current, ...(prefill ? [prefill] : [])];
    yield { conv: conversation(sent, { system, tools, toolChoice }), opts: { ...OPTS, modelId } };
    prefill = undefined;
    const r = rand();
    if (r < 0.6) {
      // The usual: the question stays as it was, the answer follows, then a new question.
      messages.push(current);
      const answer: ContentPart[] = [];
      if (chance(0.3)) answer.push({ type: 'thinking', text: 'hmm', signature: 'sig' });
      if (chance(0.7)) answer.push(text(pick(['Sure.', 'Let me look.', '', '  '])));
      const calls: string[] = [];
      for (let i = Math.floor(rand() * 3); i > 0; i--) {
        const id = pick([`toolu_${callNo}`, `call.${callNo}`, `tooluse_${callNo}`]);
        callNo++;
        calls.push(id);
        answer.push({ type: 'tool_call', id, name: pick(NAMES), input: pick<unknown>([{ path: 'a' }, '{"path":"b"}', null, { n: null }]) });
      }
      messages.push({ role: 'assistant', content: answer });
      const next: ContentPart[] = [];
      for (const id of calls) {
        if (chance(0.85)) next.push({ type: 'tool_result', toolCallId: id, content: chance(0.2) ? [] : [{ type: 'text', text: `result of ${id}` }], isError: chance(0.1) });
      }
      if (chance(0.1)) next.push({ type: 'tool_result', toolCallId: `orphan_${callNo++}`, content: [{ type: 'text', text: 'stray' }], isError: false });
      if (chance(0.1)) next.push({ type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' });
      if (next.length === 0 || chance(0.5)) next.push(text(`question ${step}`));
      if (chance(0.05)) messages.push({ role: 'user', content: [] }); // an empty message in between
      current = { role: 'user', content: next };
    } else if (r < 0.68) {
      // The question was replaced before it got an answer.
      current = { role: 'user', content: [text(`rephrased question ${step}`)] };
    } else if (r < 0.74 && messages.length > 0) {
      // An earlier message was edited: nothing from that point on may be reused.
      const i = Math.floor(rand() * messages.length);
      messages[i] = { ...messages[i]!, content: [...messages[i]!.content, text('(edited)')] };
    } else if (r < 0.8) {
      tools = pick([[tool('Read'), tool('Bash'), tool(LONG_NAME)], [tool('Read', 1), tool('Bash')], [tool('Read'), tool('read'), tool(ODD_NAME), tool('Edit', 2)], []]);
    } else if (r < 0.84) {
      modelId = pick(['claude-sonnet-4.5', 'claude-haiku-4.5']);
    } else if (r < 0.88) {
      system = pick(['You are an agent.', '', 'You are a careful agent.']);
    } else if (r < 0.92) {
      toolChoice = pick<Conversation['toolChoice']>([{ type: 'auto' }, { type: 'none' }, { type: 'any' }, { type: 'tool', name: 'Read' }]);
    } else if (r < 0.96) {
      prefill = { role: 'assistant', content: [text('Partial answer')] };
    } else {
      // Two user messages in a row: they merge into one turn.
      messages.push(current);
      current = { role: 'user', content: [text(`and also ${step}`)] };
    }
  }
}

/** What the engine does: recall, count with the prior, build with the snapshot, remember. */
async function run(memo: ConversationMemo, counter: ReturnType<typeof createTokenCounter>, step: Step) {
  const recall = memo.recall(step.conv);
  const snapshot = recall.entry?.history;
  const resume: HistoryResume | undefined = snapshot ? { snapshot, sharedMessages: recall.sharedMessages, sameTools: recall.sameTools } : undefined;
  const prior = recall.entry?.count;
  const counted = await counter.countDetailed(step.conv, prior ? { memo: prior, sharedMessages: recall.sharedMessages, sameTools: recall.sameTools } : undefined);
  const built = buildQRequest(step.conv, step.opts, resume);
  memo.remember(recall, step.conv, { count: counted.memo, ...(built.snapshot ? { history: built.snapshot } : {}) });
  return { built, tokens: counted.tokens, resumedFrom: resume?.snapshot };
}

function same(a: BuiltRequest, b: BuiltRequest): void {
  expect(a.json).toBe(b.json);
  expect(a.warnings).toEqual(b.warnings);
  expect([...a.toolNames]).toEqual([...b.toolNames]);
}

describe('resuming a conversation', () => {
  test('60 seeded conversations of 25 steps: every resumed build equals a fresh one, and reuse happens', async () => {
    const counter = createTokenCounter({ multiplier: 1 });
    const freshCounter = createTokenCounter({ multiplier: 1, cacheEntries: 0 });
    let resumed = 0;
    let steps = 0;
    for (let seed = 1; seed <= 60; seed++) {
      // One memo per conversation here, so every step meets its own previous request.
      const memo = new ConversationMemo(64 << 20);
      for (const step of lifetime(seed, 25)) {
        steps++;
        const { built, tokens, resumedFrom } = await run(memo, counter, step);
        const fresh = buildQRequest(step.conv, step.opts);
        try {
          same(built, fresh);
        } catch (e) {
          throw new Error(`seed ${seed}, step ${steps}: ${(e as Error).message}\n${JSON.stringify(step.conv.messages)}`);
        }
        expect(qRequestProblems(built.body)).toEqual([]);
        expect(tokens).toBe(await freshCounter.countConversation(step.conv));
        // Reused: the converted first turn is the snapshot's own object, not a new conversion.
        if (resumedFrom !== undefined && built.snapshot?.first === resumedFrom.first) resumed++;
      }
    }
    // Most steps extend the conversation: most builds must actually have resumed.
    expect(resumed).toBeGreaterThan(steps * 0.4);
  });

  test('the payload sent is the JSON text, byte for byte, and can be sent more than once', async () => {
    const memo = new ConversationMemo(64 << 20);
    const counter = createTokenCounter({ multiplier: 1 });
    let last: BuiltRequest | undefined;
    for (const step of lifetime(7, 6)) last = (await run(memo, counter, step)).built;
    const payload = last!.payload();
    expect(payload).toBe(last!.payload());
    expect(await payload.text()).toBe(last!.json);
    expect(await payload.text()).toBe(last!.json);
  });

  test('a different model, origin or edited history is never resumed', () => {
    const convA = conversation([
      { role: 'user', content: [text('one')] },
      { role: 'assistant', content: [text('two')] },
      { role: 'user', content: [text('three')] },
    ]);
    const first = buildQRequest(convA, OPTS);
    const convB = conversation([...convA.messages, { role: 'assistant', content: [text('four')] }, { role: 'user', content: [text('five')] }]);
    const resume = (sharedMessages: number): HistoryResume => ({ snapshot: first.snapshot!, sharedMessages, sameTools: true });
    expect(buildQRequest(convB, OPTS, resume(5)).snapshot!.first).toBe(first.snapshot!.first);
    expect(buildQRequest(convB, { ...OPTS, modelId: 'claude-haiku-4.5' }, resume(5)).snapshot!.first).not.toBe(first.snapshot!.first);
    expect(buildQRequest(convB, { ...OPTS, origin: 'KIRO_CLI' }, resume(5)).snapshot!.first).not.toBe(first.snapshot!.first);
    // The caller found fewer shared messages than the snapshot covers.
    expect(buildQRequest(convB, OPTS, resume(1)).snapshot!.first).not.toBe(first.snapshot!.first);
    // The snapshot's last assistant turn would continue with another assistant message here.
    const convC = conversation([...convA.messages.slice(0, 2), { role: 'assistant', content: [text('more')] }, { role: 'user', content: [text('q')] }]);
    const c = buildQRequest(convC, OPTS, resume(2));
    expect(c.json).toBe(buildQRequest(convC, OPTS).json);
  });
});

describe('ConversationMemo', () => {
  const msgs = (...texts: string[]): Message[] => texts.map((t, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: [text(t)] }));

  test('finds the shared leading messages and whether the tools are the same', () => {
    const memo = new ConversationMemo(1 << 20);
    const a = conversation(msgs('a', 'b', 'c'), { tools: [tool('Read')] });
    const r0 = memo.recall(a);
    expect(r0.entry).toBeUndefined();
    memo.remember(r0, a, {});
    const b = conversation(msgs('a', 'b', 'c', 'd', 'e'), { tools: [tool('Read')] });
    const r1 = memo.recall(b);
    expect(r1.sharedMessages).toBe(3);
    expect(r1.sameTools).toBe(true);
    const c = conversation(msgs('a', 'B', 'c'), { tools: [tool('Read', 1)] });
    const r2 = memo.recall(c);
    expect(r2.sharedMessages).toBe(1);
    expect(r2.sameTools).toBe(false);
    // Another first message is another conversation.
    expect(memo.recall(conversation(msgs('x', 'b'))).entry).toBeUndefined();
    // So is the same conversation from another client.
    expect(memo.recall(b, 'client-b').entry).toBeUndefined();
    memo.remember(memo.recall(b, 'client-b'), b, {});
    expect(memo.recall(b, 'client-b').sharedMessages).toBe(5);
    expect(memo.recall(b).sharedMessages).toBe(3);
  });

  test('keeps the remembered objects for shared messages, so equal copies are not retained', () => {
    const memo = new ConversationMemo(1 << 20);
    const a = conversation(msgs('a', 'b', 'c'));
    memo.remember(memo.recall(a), a, {});
    const b = conversation(msgs('a', 'b', 'c', 'd', 'e'));
    memo.remember(memo.recall(b), b, {});
    const entry = memo.recall(b).entry!;
    expect(entry.messages[0]).toBe(a.messages[0]!);
    expect(entry.messages[2]).toBe(a.messages[2]!);
    expect(entry.messages[3]).toBe(b.messages[3]!);
  });

  test('tool definitions count against the budget, so large tool lists cannot pile up', () => {
    const memo = new ConversationMemo(4 << 20);
    const tools = [{ name: 'Big', description: 'd'.repeat(1_000_000), inputSchema: { type: 'object' } }];
    for (const first of ['a', 'b', 'c', 'd', 'e']) {
      const conv = conversation(msgs(first), { tools });
      memo.remember(memo.recall(conv), conv, {});
    }
    // each entry is ≥ 2 MB (a million characters, counted at two bytes each)
    expect(memo.stats().conversations).toBe(2);
    expect(memo.stats().bytes).toBeLessThanOrEqual(4 << 20);
    expect(memo.stats().bytes).toBeGreaterThan(4_000_000);
  });

  test('a count memo outlives a request only while it holds; the budget evicts the least recent', () => {
    const memo = new ConversationMemo(1 << 20);
    const a = conversation(msgs('a', 'b', 'c'), { tools: [tool('Read')] });
    memo.remember(memo.recall(a), a, { count: { totals: [5, 10, 15], tools: 7 } });
    // A request that brings no count of its own keeps the shared part of the old one.
    const b = conversation(msgs('a', 'b', 'x'), { tools: [tool('Read')] });
    memo.remember(memo.recall(b), b, {});
    expect(memo.recall(b).entry!.count).toEqual({ totals: [5, 10], tools: 7 });
    // Different tools: the tool count no longer holds, so nothing is carried.
    const c = conversation(msgs('a', 'b', 'x'), { tools: [] });
    memo.remember(memo.recall(c), c, {});
    expect(memo.recall(c).entry!.count).toBeUndefined();

    const small = new ConversationMemo(20_000);
    for (const first of ['p', 'q', 'r']) {
      const conv = conversation(msgs(first, 'x'.repeat(3_000)));
      small.remember(small.recall(conv), conv, {});
    }
    expect(small.stats().bytes).toBeLessThanOrEqual(20_000);
    expect(small.recall(conversation(msgs('p', 'x'))).entry).toBeUndefined(); // the oldest went first
    expect(small.recall(conversation(msgs('r', 'x'))).entry).toBeDefined();
    // A budget of 0 turns the memo off.
    const off = new ConversationMemo(0);
    off.remember(off.recall(a), a, {});
    expect(off.recall(a).entry).toBeUndefined();
  });
});
