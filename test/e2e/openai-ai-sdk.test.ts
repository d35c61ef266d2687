// A second, independent OpenAI client: the Vercel AI SDK's openai-compatible provider (what
// OpenCode and many agents use), doing the same tool round trips, streaming and not, plus reasoning.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { startGateway, type Gateway } from '../support/gateway';

const PLAIN = 'Hello from the fake upstream. This reply is split into many small events.';

let fake: FakeUpstream;
let gw: Gateway;
let provider: ReturnType<typeof createOpenAICompatible>;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ upstreamUrl: fake.url, env: { OPENAI_KEYS: 'x' } });
  fake.seedToken({ accessToken: 'ai-at-1', refreshToken: 'ai-rt-1', expiresIn: 3600, authMethod: 'social' });
  await gw.ctx.store.accounts.create({ accessToken: 'ai-at-1', refreshToken: 'ai-rt-1', authMethod: 'social', expiresAt: new Date(Date.now() + 3600_000) });
  provider = createOpenAICompatible({ name: 'q2api', baseURL: `${gw.url}/v1`, apiKey: 'x', includeUsage: true });
});
afterAll(async () => {
  await gw.stop();
  await fake.stop();
});

function weatherTools(calls: string[]) {
  const params = jsonSchema<{ city: string; unit?: string }>({
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string' } },
    required: ['city'],
  });
  return {
    get_weather: tool({ description: 'Weather for a city', inputSchema: params, execute: async ({ city }) => (calls.push(`weather:${city}`), '18C') }),
    get_time: tool({ description: 'Time in a city', inputSchema: params, execute: async ({ city }) => (calls.push(`time:${city}`), 'noon') }),
  };
}

let tags = 0;
/** Queues a scenario for the one request carrying the returned tag (markers would repeat in later turns). */
function once(scenario: string, args: Record<string, unknown> = {}): string {
  const tag = `ai-tag-${++tags}-${Date.now()}`;
  fake.enqueue({ scenario, args, times: 1, match: { contains: tag } });
  return tag;
}

const lastQBody = () => fake.requests().filter((x) => x.listener === 'q' && x.path === '/').at(-1)?.body;

describe('Vercel AI SDK (openai-compatible)', () => {
  test('generateText: one tool call, executed, result sent back, final text', async () => {
    const calls: string[] = [];
    const result = await generateText({
      model: provider('claude-sonnet-4.5'),
      tools: weatherTools(calls),
      stopWhen: stepCountIs(3),
      prompt: `${once('tool')} weather in Paris?`,
      maxRetries: 0,
    });
    expect(calls).toEqual(['weather:Paris']);
    expect(result.steps.length).toBe(2);
    expect(result.steps[0]!.finishReason).toBe('tool-calls');
    expect(result.steps[0]!.toolCalls[0]!.input).toEqual({ city: 'Paris', unit: 'celsius' });
    expect(result.text).toBe(PLAIN);
    expect(JSON.stringify(lastQBody())).toContain('18C');
  });

  test('streamText: two parallel tool calls, both executed, usage reported', async () => {
    const calls: string[] = [];
    const result = streamText({
      model: provider('claude-sonnet-4.5'),
      tools: weatherTools(calls),
      stopWhen: stepCountIs(3),
      prompt: `${once('tools', { n: 2 })} weather and time in Paris`,
      maxRetries: 0,
    });
    const text = await result.text;
    const steps = await result.steps;
    expect(calls.sort()).toEqual(['time:Paris', 'weather:Paris']);
    expect(steps[0]!.toolCalls.map((c) => c.toolName)).toEqual(['get_weather', 'get_time']);
    expect(text).toBe(PLAIN);
    const usage = await result.totalUsage;
    expect(usage.inputTokens).toBeGreaterThan(0);
    expect(usage.outputTokens).toBeGreaterThan(0);
    const sent = JSON.stringify(lastQBody());
    expect(sent).toContain('18C');
    expect(sent).toContain('noon');
  });

  test('streamText: reasoning_content is read as reasoning, not text', async () => {
    const result = streamText({ model: provider('claude-sonnet-4.5'), prompt: '[[fake:thinking]] hi', maxRetries: 0 });
    expect((await result.text).trim()).toBe('Hello!');
    const steps = await result.steps;
    expect(steps[0]!.reasoningText).toBe('The user greets me; reply briefly.');
  });
});
