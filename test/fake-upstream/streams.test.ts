// Successful-stream scenarios of the catalogue (§6.4) and the common args (§6.3), decoded with the
// project decoder and cross-checked with @smithy/eventstream-codec.

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { startFakeUpstream, type FakeUpstream } from './server';
import { chatBody, decodeBody, GAR_TARGET, headerOrder, rawRequest, text, type Ev } from './test-helpers';

let fake: FakeUpstream;
const PLAIN = 'Hello from the fake upstream. This reply is split into many small events.';
const TAIL_METERING = { unit: 'credit', unitPlural: 'credits', usage: 0.01 };

beforeAll(async () => {
  fake = await startFakeUpstream({ accept_any_token: true });
});
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

async function stream(content: string, opts: { tools?: unknown[]; history?: unknown[]; dryRun?: boolean; target?: string } = {}) {
  const body = chatBody(content, opts);
  const res = await fetch(`${fake.url}/`, {
    method: 'POST',
    headers: { authorization: 'Bearer any', 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': opts.target ?? GAR_TARGET },
    body,
  });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { res, bytes, events: res.status === 200 ? decodeBody(bytes) : [], bodyLength: Buffer.byteLength(body) };
}

const A = (content: string): Ev => ({ messageType: 'event', type: 'assistantResponseEvent', payload: { content } });
const T = (payload: Record<string, unknown>): Ev => ({ messageType: 'event', type: 'toolUseEvent', payload });
const E = (type: string, payload: unknown): Ev => ({ messageType: 'event', type, payload });
const tail = (bodyLength: number): Ev[] => [
  E('meteringEvent', TAIL_METERING),
  E('contextUsageEvent', { contextUsagePercentage: Math.round((0.5 + bodyLength / 1000) * 1000) / 1000 }),
];
const ID1 = 'tooluse_fake000000000000000001';
const ID2 = 'tooluse_fake000000000000000002';
const WEATHER_FRAGMENTS = ['{"city":', '"Paris","un', 'it":"celsius"}'];
const toolCall = (id: string, name: string, fragments = WEATHER_FRAGMENTS): Ev[] => [
  T({ toolUseId: id, name }),
  ...fragments.map((input) => T({ toolUseId: id, name, input })),
  T({ toolUseId: id, name, stop: true }),
];

describe('plain and its common args', () => {
  test('default scenario: 4-char deltas, Kiro tail, exact headers', async () => {
    const { res, bytes, events, bodyLength } = await stream('hello');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const deltas = PLAIN.match(/.{1,4}/gs)!;
    expect(deltas).toHaveLength(19);
    expect(events).toEqual([...deltas.map(A), ...tail(bodyLength)]);
    for (const order of headerOrder(bytes)) expect(order).toEqual([':event-type', ':content-type', ':message-type']);
  });

  test('chunk, text (URL-encoded), tail=0', async () => {
    const { events } = await stream('[[fake:plain:chunk=3,text=a%2Cb%3Dc%5Dd,tail=0]]');
    expect(events).toEqual(['a,b', '=c]', 'd'].map(A));
  });

  test('meta=1 adds messageMetadataEvent first and metadataEvent last', async () => {
    const { events, bodyLength } = await stream('[[fake:plain:meta=1,text=Hi]]');
    expect(events[0]).toEqual(E('messageMetadataEvent', { conversationId: '6a0c1d6e-9a8f-4c1e-9b0a-0d2f8b7b1c11', utteranceId: expect.any(String) }));
    expect(events.slice(1, 4)).toEqual([A('Hi'), ...tail(bodyLength)]);
    expect(events[4]!.type).toBe('metadataEvent');
    const usage = (events[4]!.payload as { tokenUsage: Record<string, number> }).tokenUsage;
    expect(Object.keys(usage)).toEqual(['uncachedInputTokens', 'outputTokens', 'totalTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens']);
    expect(usage.totalTokens).toBe(usage.uncachedInputTokens! + usage.outputTokens!);
  });

  test('gap_ms spaces the events out; first_ms delays the status line (errors too)', async () => {
    let t0 = performance.now();
    await stream('[[fake:plain:text=abcdefgh,gap_ms=20,tail=0]]');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    t0 = performance.now();
    const { res } = await stream('[[fake:plain:first_ms=40]]');
    expect(res.status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(38);
    t0 = performance.now();
    expect((await stream('[[fake:capacity:first_ms=40]]')).res.status).toBe(429);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(38);
  });

  test('SendMessage (both dialects) runs the same engine; dryRun answers dryRunSucceedEvent', async () => {
    const rpc = await stream('[[fake:dup_text]]', { target: 'AmazonCodeWhispererStreamingService.SendMessage' });
    expect(text(rpc.events)).toBe('haha!');
    const rest = await fetch(`${fake.url}/sendMessage`, { method: 'POST', headers: { authorization: 'Bearer x' }, body: chatBody('hi') });
    expect(text(decodeBody(new Uint8Array(await rest.arrayBuffer())))).toBe(PLAIN);
    const dry = await stream('hi', { target: 'AmazonCodeWhispererStreamingService.SendMessage', dryRun: true });
    expect(dry.events).toEqual([E('dryRunSucceedEvent', {})]);
  });

  test('the body goes out chunked, one HTTP chunk per frame', async () => {
    const raw = await rawRequest(fake.port, { headers: { authorization: 'Bearer x', 'x-amz-target': GAR_TARGET }, body: chatBody('[[fake:dup_text:tail=0]]') });
    expect(raw.headers.get('transfer-encoding')).toBe('chunked');
    expect(raw.complete).toBe(true);
    expect(raw.chunks.map((c) => c.length)).toEqual([124, 124, 123]);
    expect(raw.headerNames).toContain('x-amzn-RequestId');
  });
});

describe('content scenarios', () => {
  test('echo repeats the prompt without the marker', async () => {
    const { events, bodyLength } = await stream('[[fake:echo:chunk=100]] what is 2+2?');
    expect(events).toEqual([A('echo: what is 2+2?'), ...tail(bodyLength)]);
  });

  test('long: n lorem events', async () => {
    const { events, bodyLength } = await stream('[[fake:long:n=7]]');
    expect(events).toEqual([...Array.from({ length: 7 }, () => A('lorem ')), ...tail(bodyLength)]);
    const dflt = await stream('[[fake:long:tail=0]]');
    expect(dflt.events).toHaveLength(500);
  });

  test('thinking: exact tag-splitting deltas', async () => {
    const { events, bodyLength } = await stream('[[fake:thinking]]');
    const deltas = ['<thi', 'nking>The user gre', 'ets me; reply briefly.</thi', 'nking>\n\nHel', 'lo!'];
    expect(events).toEqual([...deltas.map(A), ...tail(bodyLength)]);
    expect(text(events)).toBe('<thinking>The user greets me; reply briefly.</thinking>\n\nHello!');
  });

  test('thinking:mode=event uses reasoningContentEvent', async () => {
    const { events, bodyLength } = await stream('[[fake:thinking:mode=event]]');
    expect(events).toEqual([
      E('reasoningContentEvent', { text: 'The user greets me; ' }),
      E('reasoningContentEvent', { text: 'reply briefly.' }),
      E('reasoningContentEvent', { signature: 'fake-sig' }),
      A('Hello!'),
      ...tail(bodyLength),
    ]);
  });

  test('thinking_unclosed ends without close tag or tail', async () => {
    const { events } = await stream('[[fake:thinking_unclosed]]');
    expect(events).toEqual([A('<thinking>partial'), A(' reasoning')]);
  });

  test('tool: name from the request tools, exact fragments', async () => {
    const tools = [{ toolSpecification: { name: 'calc', description: 'x', inputSchema: { json: { type: 'object' } } } }];
    const { events, bodyLength } = await stream('[[fake:tool]]', { tools });
    expect(events).toEqual([A('Let me check.'), ...toolCall(ID1, 'calc'), ...tail(bodyLength)]);
    const joined = events.filter((e) => e.type === 'toolUseEvent').map((e) => (e.payload as { input?: string }).input ?? '').join('');
    expect(JSON.parse(joined)).toEqual({ city: 'Paris', unit: 'celsius' });
  });

  test('tool: default name, name= and input_b64= overrides', async () => {
    const dflt = await stream('[[fake:tool:tail=0]]');
    expect(dflt.events).toEqual([A('Let me check.'), ...toolCall(ID1, 'get_weather')]);
    const b64 = Buffer.from('{"expr":"2+2"}').toString('base64');
    const custom = await stream(`[[fake:tool:tail=0,name=calc,input_b64=${encodeURIComponent(b64)}]]`);
    expect(custom.events).toEqual([A('Let me check.'), ...toolCall(ID1, 'calc', ['{"exp', 'r":"2', '+2"}'])]);
  });

  test('tools: n sequential calls cycling over request tools', async () => {
    const spec = (name: string) => ({ toolSpecification: { name, inputSchema: { json: { type: 'object' } } } });
    const { events, bodyLength } = await stream('[[fake:tools:n=3]]', { tools: [spec('a'), spec('b')] });
    expect(events).toEqual([...toolCall(ID1, 'a'), ...toolCall(ID2, 'b'), ...toolCall('tooluse_fake000000000000000003', 'a'), ...tail(bodyLength)]);
  });

  test('tool_then_text, tool_truncated, tool_object_input', async () => {
    const a = await stream('[[fake:tool_then_text:tail=0]]');
    expect(a.events).toEqual([A('Let me check.'), ...toolCall(ID1, 'get_weather'), A('Done.')]);
    const b = await stream('[[fake:tool_truncated]]');
    expect(b.events).toEqual([T({ toolUseId: ID1, name: 'get_weather' }), T({ toolUseId: ID1, name: 'get_weather', input: '{"path":"/srv/a' })]);
    const c = await stream('[[fake:tool_object_input:tail=0]]');
    expect(c.events).toEqual([
      T({ toolUseId: ID1, name: 'get_weather' }),
      T({ toolUseId: ID1, name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } }),
      T({ toolUseId: ID1, name: 'get_weather', stop: true }),
    ]);
  });

  test('dup_text keeps duplicates', async () => {
    const { events, bodyLength } = await stream('[[fake:dup_text]]');
    expect(events).toEqual([A('ha'), A('ha'), A('!'), ...tail(bodyLength)]);
  });

  test('unknown_events interleaves noise with the plain text', async () => {
    const { events } = await stream('[[fake:unknown_events:tail=0]]');
    expect(text(events)).toBe(PLAIN);
    expect(events.filter((e) => e.type !== 'assistantResponseEvent')).toEqual([
      E('codeReferenceEvent', { references: [] }),
      E('supplementaryWebLinksEvent', { supplementaryWebLinks: [] }),
      E('followupPromptEvent', { followupPrompt: { content: 'More?' } }),
      E('futureEvent', { x: 1 }),
    ]);
    expect(events[1]!.type).toBe('codeReferenceEvent');
  });

  test('empty: 200 with an empty body', async () => {
    const { res, bytes } = await stream('[[fake:empty]]');
    expect(res.status).toBe(200);
    expect(bytes.length).toBe(0);
  });

  test('metering feeds the per-account usage counter', async () => {
    const seeded = fake.seedToken({ accessToken: 'at-usage', refreshToken: 'rt-usage' });
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${fake.url}/generateAssistantResponse`, { method: 'POST', headers: { authorization: 'Bearer at-usage' }, body: chatBody('[[fake:plain:usage=0.25]]') });
      await r.arrayBuffer();
    }
    const usage = await (await fetch(`${fake.url}/getUsageLimits?origin=AI_EDITOR&resourceType=AGENTIC_REQUEST`, { headers: { authorization: 'Bearer at-usage' } })).json();
    expect(seeded.account).toBe('acct-1');
    expect(usage.usageBreakdownList[0].currentUsageWithPrecision).toBe(0.75);
  });
});
