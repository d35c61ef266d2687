// The conversation memo end to end (src/chat/memo.ts): an agent-style conversation that grows one
// exchange at a time, sent through a gateway that reuses the previous request's work and through one
// with HISTORY_CACHE_MB=0. Amazon Q must receive the same bodies and the client the same counts.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import Anthropic from '@anthropic-ai/sdk';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { startGateway, type Gateway } from '../support/gateway';

const KEY = 'sk-memo-test';
const OTHER_KEY = 'sk-memo-other-client';
const MODEL = 'claude-sonnet-4-6';
const weather: Anthropic.Tool = { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

let fake: FakeUpstream;
const gateways: Array<{ gw: Gateway; client: Anthropic; token: string }> = [];

beforeAll(async () => {
  fake = await startFakeUpstream({ strict_requests: true });
  for (const [name, memoMb] of [['memo', '64'], ['plain', '0']] as const) {
    const gw = await startGateway({ upstreamUrl: fake.url, env: { OPENAI_KEYS: `${KEY},${OTHER_KEY}`, HISTORY_CACHE_MB: memoMb } });
    const token = `fake-at-${name}`;
    fake.seedToken({ accessToken: token, refreshToken: `fake-rt-${name}`, expiresIn: 3600, authMethod: 'social' });
    await gw.ctx.store.accounts.create({ refreshToken: `fake-rt-${name}`, accessToken: token, expiresAt: new Date(Date.now() + 3600_000), authMethod: 'social' });
    gateways.push({ gw, client: new Anthropic({ apiKey: KEY, baseURL: gw.url, maxRetries: 0 }), token });
  }
});
afterAll(async () => {
  for (const { gw } of gateways) await gw.stop();
  await fake.stop();
});

/** The body Q received, without the per-request conversation id. */
function upstreamBody(since: number): unknown {
  const sent = fake.requests(since).filter((r) => r.operation === 'GenerateAssistantResponse');
  expect(sent).toHaveLength(1);
  const body = structuredClone(sent[0]!.body) as { conversationState: { conversationId?: string } };
  delete body.conversationState.conversationId;
  return body;
}

test('a conversation growing one exchange at a time: the same upstream bodies and token counts with the memo as without', async () => {
  const history: Anthropic.MessageParam[] = [];
  let next: Anthropic.MessageParam['content'] = 'What is the weather in Paris? Then tell me a story.';
  for (let step = 0; step < 8; step++) {
    // Claude Code marks the newest message for prompt caching; the marker moves every request.
    const marked: Anthropic.MessageParam['content'] =
      typeof next === 'string' ? [{ type: 'text', text: next, cache_control: { type: 'ephemeral' } }] : next;
    const messages = [...history, { role: 'user' as const, content: marked }];
    const scenario = step % 3 === 1 ? 'tool' : 'plain';
    const replies: Anthropic.Message[] = [];
    const bodies: unknown[] = [];
    for (const { client } of gateways) {
      const since = fake.requests().at(-1)?.seq ?? 0;
      fake.enqueue({ scenario });
      replies.push(await client.messages.create({ model: MODEL, max_tokens: 1024, system: 'You are an agent.', tools: [weather], messages }));
      bodies.push(upstreamBody(since));
    }
    expect(bodies[0]).toEqual(bodies[1]);
    expect(replies[0]!.usage.input_tokens).toBe(replies[1]!.usage.input_tokens);
    expect(replies[0]!.content).toEqual(replies[1]!.content);
    const counts = await Promise.all(gateways.map(({ client }) => client.messages.countTokens({ model: MODEL, system: 'You are an agent.', tools: [weather], messages })));
    expect(counts[0]!.input_tokens).toBe(counts[1]!.input_tokens);

    const reply = replies[0]!;
    history.push({ role: 'user', content: next });
    history.push({ role: 'assistant', content: reply.content });
    const call = reply.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    next = call ? [{ type: 'tool_result', tool_use_id: call.id, content: `18°C at step ${step}` }] : `Go on (${step}).`;
  }
  expect(history.length).toBe(16);
});

test('conversations are remembered per client key: another key sending the same conversation finds nothing', async () => {
  const { gw } = gateways[0]!;
  const lookups = async () => {
    const text = await (await fetch(`${gw.url}/metrics`, { headers: gw.adminHeaders })).text();
    const count = (result: string) => Number(new RegExp(`q2api_history_memo_lookups_total\\{result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    return { hit: count('hit'), miss: count('miss') };
  };
  const ask = (key: string) =>
    new Anthropic({ apiKey: key, baseURL: gw.url, maxRetries: 0 }).messages.create({
      model: MODEL,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'A question only this test asks. [[fake:plain]]' }],
    });
  await ask(KEY);
  const before = await lookups();
  await ask(KEY);
  const same = await lookups();
  expect(same.hit).toBe(before.hit + 1);
  await ask(OTHER_KEY);
  const other = await lookups();
  expect(other.hit).toBe(same.hit);
  expect(other.miss).toBe(same.miss + 1);
});
