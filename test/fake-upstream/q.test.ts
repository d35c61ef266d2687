// Q routes of §6.2: bearer auth, validation and strict mode, scenario selection order (§6.3),
// models / usage / profiles in both dialects, and the recordings and stats of §6.6.

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { FAKE_PROFILE_ARN, startFakeUpstream, tokenFingerprint, type FakeUpstream } from './server';
import { chatBody, decodeBody, GAR_TARGET, Q_ERROR_TYPE, text } from './test-helpers';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
let clock = T0;
let fake: FakeUpstream;
const PLAIN = 'Hello from the fake upstream. This reply is split into many small events.';
const INVALID_TOKEN = '{"message":"The bearer token included in the request is invalid.","reason":null}';
const MALFORMED = '{"message":"Improperly formed request.","reason":null}';

beforeAll(async () => {
  fake = await startFakeUpstream({ now: () => clock });
});
afterAll(() => fake.stop());
beforeEach(() => {
  clock = T0;
  fake.reset();
  fake.seedToken({ accessToken: 'at-a', refreshToken: 'rt-a', authMethod: 'social' });
  fake.seedToken({ accessToken: 'at-b', refreshToken: 'rt-b', authMethod: 'idc', clientId: 'c1', clientSecret: 's1' });
});

/** Buffered: a test never leaves a stream running into the next test. */
async function gar(body: string, opts: { token?: string | null; headers?: Record<string, string>; rest?: boolean } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== null) headers.authorization = `Bearer ${opts.token ?? 'at-a'}`;
  if (!opts.rest) headers['x-amz-target'] = GAR_TARGET;
  const res = await fetch(`${fake.url}${opts.rest ? '/generateAssistantResponse' : '/'}`, { method: 'POST', headers, body });
  return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
}

async function streamText(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  return text(decodeBody(new Uint8Array(await res.arrayBuffer())));
}

async function expectError(res: Response, status: number, type: string, body: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('x-amzn-errortype')).toBe(type.includes(':') || type.startsWith('Unknown') ? type : Q_ERROR_TYPE(type));
  expect(res.headers.get('x-amzn-requestid')).toBeTruthy();
  expect(await res.text()).toBe(body);
}

describe('auth', () => {
  test('missing, unknown, expired and revoked bearers get the exact 403', async () => {
    await expectError(await gar(chatBody('hi'), { token: null }), 403, 'AccessDeniedException', INVALID_TOKEN);
    await expectError(await gar(chatBody('hi'), { token: 'nope' }), 403, 'AccessDeniedException', INVALID_TOKEN);
    expect(await streamText(await gar(chatBody('hi')))).toBe(PLAIN);
    clock += 3600 * 1000; // access_token_ttl_s default
    await expectError(await gar(chatBody('hi')), 403, 'AccessDeniedException', INVALID_TOKEN);
    const revoke = await fetch(`${fake.url}/__fake/tokens/revoke`, { method: 'POST', body: JSON.stringify({ accessToken: 'at-b' }) });
    expect(await revoke.json()).toEqual({ accessTokens: 1, refreshTokens: 0 });
    await expectError(await gar(chatBody('hi'), { token: 'at-b' }), 403, 'AccessDeniedException', INVALID_TOKEN);
  });

  test('accept_any_token lets unknown bearers through but not revoked ones', async () => {
    fake.configure({ accept_any_token: true });
    expect(await streamText(await gar(chatBody('hi'), { token: 'whatever' }))).toBe(PLAIN);
    fake.revoke({ accessToken: 'whatever' });
    expect((await gar(chatBody('hi'), { token: 'whatever' })).status).toBe(403);
    expect((await gar(chatBody('hi'), { token: null })).status).toBe(403);
  });

  test('unknown operations: 400 UnknownOperationException, before auth', async () => {
    const bad = await fetch(`${fake.url}/`, { method: 'POST', headers: { 'x-amz-target': 'AmazonCodeWhispererService.Nope' }, body: '{}' });
    await expectError(bad, 400, 'UnknownOperationException', MALFORMED);
    await expectError(await fetch(`${fake.url}/whatever`), 400, 'UnknownOperationException', MALFORMED);
  });
});

describe('validation', () => {
  test('always: JSON, currentMessage content string, chatTriggerType', async () => {
    await expectError(await gar('not json'), 400, 'ValidationException', MALFORMED);
    await expectError(await gar('{"conversationState":{"currentMessage":{"userInputMessage":{"content":"x"}}}}'), 400, 'ValidationException', MALFORMED);
    await expectError(
      await gar('{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":1}}}}'),
      400,
      'ValidationException',
      MALFORMED,
    );
    expect(await streamText(await gar('{"conversationState":{"chatTriggerType":"MANUAL","currentMessage":{"userInputMessage":{"content":""}}}}'))).toBe(PLAIN);
  });

  describe('strict mode (§2.5 rules 1–6, known models)', () => {
    const U = (content: string, ctx?: unknown, modelId?: string) => ({ userInputMessage: { content, ...(modelId ? { modelId } : {}), ...(ctx ? { userInputMessageContext: ctx } : {}) } });
    const Asst = (toolUses?: unknown[]) => ({ assistantResponseMessage: { content: 'ok', ...(toolUses ? { toolUses } : {}) } });
    const use = (id: string) => ({ toolUseId: id, name: 'calc', input: { expr: '2+2' } });
    const result = (id: string) => ({ toolUseId: id, content: [{ text: '4' }], status: 'success' });
    const tool = (name: string, schema: unknown = { type: 'object' }, description = 'd') => ({ toolSpecification: { name, description, inputSchema: { json: schema } } });
    const body = (history: unknown[] | undefined, current: unknown) =>
      JSON.stringify({ conversationState: { chatTriggerType: 'MANUAL', ...(history ? { history } : {}), currentMessage: current } });

    test('a well-formed Kiro-style conversation passes', async () => {
      fake.configure({ strict_requests: true });
      const ok = body([U('sys', undefined, 'claude-sonnet-4.5'), Asst([use('tooluse_AbCdEfGhIjKlMnOpQrStUv')])], U('Tool results provided.', { toolResults: [result('tooluse_AbCdEfGhIjKlMnOpQrStUv')], tools: [tool('calc')] }, 'claude-sonnet-4.5'));
      expect(await streamText(await gar(ok))).toBe(PLAIN);
      expect(await streamText(await gar(body(undefined, U('hi', undefined, 'CLAUDE_SONNET_4_20250514_V1_0'))))).toBe(PLAIN);
    });

    const violations: Array<[string, string]> = [
      ['empty current content', body(undefined, U('  '))],
      ['history ends with user', body([U('a')], U('b'))],
      ['two assistants in a row', body([U('a'), Asst(), Asst()], U('b'))],
      ['history starts with assistant', body([Asst(), U('a'), Asst()], U('b'))],
      ['empty history array', body([], U('b'))],
      ['orphan tool result', body([U('a'), Asst([use('t1')])], U('b', { toolResults: [result('t2')] }))],
      ['duplicate tool result ids', body([U('a'), Asst([use('t1')])], U('b', { toolResults: [result('t1'), result('t1')] }))],
      ['tool name over 64 chars', body(undefined, U('b', { tools: [tool('x'.repeat(65))] }))],
      ['tool description over 10 000 chars', body(undefined, U('b', { tools: [tool('x', { type: 'object' }, 'd'.repeat(10_001))] }))],
      ['top-level anyOf schema', body(undefined, U('b', { tools: [tool('x', { anyOf: [] })] }))],
      ['non-object schema', body(undefined, U('b', { tools: [tool('x', { type: 'string' })] }))],
      ['bad toolUseId', body([U('a'), Asst([use('bad id!')])], U('b', { toolResults: [result('bad id!')] }))],
      ['a JSON null', JSON.stringify({ conversationState: { chatTriggerType: 'MANUAL', customizationArn: null, currentMessage: U('b') } })],
    ];
    for (const [name, b] of violations) {
      test(`rejects: ${name}`, async () => {
        fake.configure({ strict_requests: true });
        await expectError(await gar(b), 400, 'ValidationException', MALFORMED);
        expect(fake.requests().at(-1)!.note).toStartWith('strict:');
        fake.configure({ strict_requests: false });
        expect((await gar(b)).status).toBe(200);
      });
    }

    test('unknown modelId → INVALID_MODEL_ID', async () => {
      fake.configure({ strict_requests: true });
      await expectError(
        await gar(body(undefined, U('hi', undefined, 'MiniMax-M2.5'))),
        400,
        'ValidationException',
        '{"message":"Invalid model. Please select a different model to continue.","reason":"INVALID_MODEL_ID"}',
      );
    });
  });
});

describe('scenario selection order: queue > header > marker > default', () => {
  test('each level wins over the next', async () => {
    fake.enqueue({ scenario: 'dup_text', args: { tail: 0 }, match: { contains: 'pick-me' } });
    const headers = { 'x-fake-scenario': 'plain:text=from-header,tail=0' };
    const b = chatBody('pick-me [[fake:echo:chunk=99,tail=0]]');
    expect(await streamText(await gar(b, { headers }))).toBe('haha!');
    expect(await streamText(await gar(b, { headers }))).toBe('from-header');
    expect(await streamText(await gar(b))).toBe('echo: pick-me');
    expect(await streamText(await gar(chatBody('nothing')))).toBe(PLAIN);
    fake.configure({ default_scenario: 'dup_text' });
    expect(await streamText(await gar(chatBody('nothing')))).toBe('haha!' );
    const kinds = fake.requests().map((r) => r.scenario);
    expect(kinds).toEqual(['dup_text', 'plain', 'echo', 'plain', 'dup_text']);
  });

  test('marker in the first history user message when the current message has none', async () => {
    const history = [{ userInputMessage: { content: 'SYSTEM [[fake:dup_text]]' } }, { assistantResponseMessage: { content: 'ok' } }];
    expect((await streamText(await gar(chatBody('[[fake:thinking]]', { history })))).startsWith('<thi')).toBe(true);
    expect((await streamText(await gar(chatBody('hi', { history })))).startsWith('haha!')).toBe(true);
  });

  test('queue entries: FIFO, match.token, times, -1 = forever, over HTTP too', async () => {
    fake.enqueue([
      { scenario: 'capacity', match: { token: 'at-b' }, times: 2 },
      { scenario: 'monthly_limit' },
    ]);
    expect((await gar(chatBody('x'))).status).toBe(402); // at-a skips the at-b entry
    expect((await gar(chatBody('x'), { token: 'at-b' })).status).toBe(429);
    expect((await gar(chatBody('x'), { token: 'at-b' })).status).toBe(429);
    expect((await gar(chatBody('x'), { token: 'at-b' })).status).toBe(200);
    const q = await fetch(`${fake.url}/__fake/queue`, { method: 'POST', body: JSON.stringify({ scenario: 'http_error', args: { status: 418 }, times: -1 }) });
    expect(q.status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await gar(chatBody('x'))).status).toBe(418);
    expect(await (await fetch(`${fake.url}/__fake/queue`)).json()).toHaveLength(1);
  });
});

describe('non-streaming operations in both dialects', () => {
  const rpc = (target: string, body: unknown = {}, token = 'at-a') =>
    fetch(`${fake.url}/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'x-amz-target': `AmazonCodeWhispererService.${target}`, 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify(body),
    });

  test('ListAvailableModels', async () => {
    const r = await rpc('ListAvailableModels', { origin: 'AI_EDITOR' });
    expect(r.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    const doc = await r.json();
    expect(doc.defaultModel.modelId).toBe('auto');
    expect(doc.models.map((m: { modelId: string }) => m.modelId)).toEqual(fake.config().known_models);
    expect(doc.models.find((m: { modelId: string }) => m.modelId === 'claude-sonnet-4.5')).toEqual({
      modelId: 'claude-sonnet-4.5',
      modelName: 'Claude Sonnet 4.5',
      description: 'The Claude Sonnet 4.5 model',
      rateMultiplier: 1.3,
      rateUnit: 'Credit',
      supportedInputTypes: ['TEXT', 'IMAGE'],
      promptCaching: { supportsPromptCaching: true, maximumCacheCheckpointsPerRequest: 4, minimumTokensPerCacheCheckpoint: 1024 },
      tokenLimits: { maxInputTokens: 200000, maxOutputTokens: 64000 },
    });
    const rest = await fetch(`${fake.url}/ListAvailableModels?origin=AI_EDITOR&maxResults=3`, { headers: { authorization: 'Bearer at-a' } });
    expect(rest.headers.get('content-type')).toBe('application/json');
    const page = await rest.json();
    expect(page.models).toHaveLength(3);
    expect(page.nextToken).toBe('3');
    const unauth = await fetch(`${fake.url}/ListAvailableModels?origin=AI_EDITOR`);
    expect(unauth.status).toBe(403);
  });

  test('GetUsageLimits', async () => {
    const doc = await (await rpc('GetUsageLimits', { origin: 'AI_EDITOR', resourceType: 'AGENTIC_REQUEST' })).json();
    expect(doc.nextDateReset).toBe(Date.UTC(2026, 11, 1) / 1000);
    expect(doc.daysUntilReset).toBe(3);
    expect(doc.usageBreakdownList[0]).toMatchObject({ resourceType: 'CREDIT', currentUsageWithPrecision: 0, usageLimitWithPrecision: 50 });
    await (await gar(chatBody('[[fake:plain:usage=1.5]]'))).arrayBuffer();
    const rest = await (await fetch(`${fake.url}/getUsageLimits?origin=AI_EDITOR&resourceType=AGENTIC_REQUEST`, { headers: { authorization: 'Bearer at-a' } })).json();
    expect(rest.usageBreakdownList[0].currentUsageWithPrecision).toBe(1.5);
    const other = await (await rpc('GetUsageLimits', {}, 'at-b')).json();
    expect(other.usageBreakdownList[0].currentUsageWithPrecision).toBe(0);
  });

  test('ListAvailableProfiles and GetProfile', async () => {
    const profile = { arn: FAKE_PROFILE_ARN, profileName: 'FakeProfile', status: 'ACTIVE', profileType: 'Q_DEVELOPER' };
    expect(await (await rpc('ListAvailableProfiles')).json()).toEqual({ profiles: [profile] });
    expect(await (await rpc('GetProfile', { profileArn: FAKE_PROFILE_ARN })).json()).toEqual({ profile });
    expect((await rpc('GetProfile', { profileArn: 'arn:aws:codewhisperer:us-east-1:1:profile/X' })).status).toBe(404);
  });

  test('require_profile_arn: always / social; a foreign ARN is a 403', async () => {
    fake.configure({ require_profile_arn: 'social' });
    await expectError(await gar(chatBody('hi')), 400, 'ValidationException', MALFORMED);
    expect((await gar(chatBody('hi'), { token: 'at-b' })).status).toBe(200);
    expect((await gar(chatBody('hi', { profileArn: FAKE_PROFILE_ARN }))).status).toBe(200);
    fake.configure({ require_profile_arn: 'always' });
    expect((await gar(chatBody('hi'), { token: 'at-b' })).status).toBe(400);
    expect((await fetch(`${fake.url}/getUsageLimits?origin=AI_EDITOR`, { headers: { authorization: 'Bearer at-a' } })).status).toBe(400);
    expect((await fetch(`${fake.url}/getUsageLimits?profileArn=${encodeURIComponent(FAKE_PROFILE_ARN)}`, { headers: { authorization: 'Bearer at-a' } })).status).toBe(200);
    fake.seedToken({ accessToken: 'at-p', authMethod: 'social', profileArn: FAKE_PROFILE_ARN });
    await expectError(
      await gar(chatBody('hi', { profileArn: 'arn:aws:codewhisperer:us-east-1:699475941385:profile/EHGA3GRVQMUK' }), { token: 'at-p' }),
      403,
      'AccessDeniedException',
      '{"message":"User is not authorized to access this feature.","reason":null}',
    );
  });
});

describe('recordings and stats', () => {
  test('requests: redacted Authorization, parsed body, scenario, status, bytes', async () => {
    const res = await gar(chatBody('[[fake:dup_text:tail=0]]'), { rest: true, headers: { 'x-amzn-kiro-agent-mode': 'vibe' } });
    const bytes = (await res.arrayBuffer()).byteLength;
    const [rec] = fake.requests();
    expect(rec).toMatchObject({
      seq: 1,
      time: T0,
      listener: 'q',
      method: 'POST',
      path: '/generateAssistantResponse',
      operation: 'GenerateAssistantResponse',
      scenario: 'dup_text',
      scenarioArgs: { tail: '0' },
      tokenFingerprint: tokenFingerprint('at-a'),
      status: 200,
      bytesSent: bytes,
      done: true,
      disconnectedEarly: false,
    });
    expect(rec!.headers.authorization).toBe(`Bearer ${tokenFingerprint('at-a')}`);
    expect(rec!.headers['x-amzn-kiro-agent-mode']).toBe('vibe');
    expect(JSON.stringify(rec)).not.toContain('at-a');
    expect((rec!.body as { conversationState: { chatTriggerType: string } }).conversationState.chatTriggerType).toBe('MANUAL');
    const viaHttp = await (await fetch(`${fake.url}/__fake/requests?since=0`)).json();
    expect(viaHttp).toEqual(fake.requests());
    expect(await (await fetch(`${fake.url}/__fake/requests?since=1`)).json()).toEqual([]);
  });

  test('stats: routes, operations, scenarios, statuses, tokens', async () => {
    await (await gar(chatBody('[[fake:dup_text]]'))).arrayBuffer();
    await (await gar(chatBody('[[fake:capacity]]'))).arrayBuffer();
    await (await gar(chatBody('x'), { token: 'at-b' })).arrayBuffer();
    const stats = await (await fetch(`${fake.url}/__fake/stats`)).json();
    expect(stats).toMatchObject({
      requests: 3,
      routes: { 'POST /': 3 },
      operations: { GenerateAssistantResponse: 3 },
      scenarios: { dup_text: 1, capacity: 1, plain: 1 },
      statuses: { '200': 2, '429': 1 },
      tokens: { [tokenFingerprint('at-a')]: 2, [tokenFingerprint('at-b')]: 1 },
      streams: { started: 2, inFlight: 0, peak: 1 },
    });
    expect(stats).toEqual(fake.stats());
  });

  test('admin API rejects bad input loudly and 404s unknown routes', async () => {
    const bad = await fetch(`${fake.url}/__fake/config`, { method: 'POST', body: JSON.stringify({ no_such_key: 1 }) });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toContain('no_such_key');
    expect((await fetch(`${fake.url}/__fake/config`, { method: 'POST', body: JSON.stringify({ chunk_chars: 0 }) })).status).toBe(400);
    const ok = await fetch(`${fake.url}/__fake/config`, { method: 'POST', body: JSON.stringify({ chunk_chars: 100 }) });
    expect((await ok.json()).chunk_chars).toBe(100);
    expect(await streamText(await gar(chatBody('x')))).toBe(PLAIN);
    expect(fake.requests().at(-1)!.bytesSent).toBeLessThan(600); // one text frame + tail, not 19
    expect((await fetch(`${fake.url}/__fake/queue`, { method: 'POST', body: '{"args":{}}' })).status).toBe(400);
    expect((await fetch(`${fake.url}/__fake/tokens`, { method: 'POST', body: '{}' })).status).toBe(400);
    expect((await fetch(`${fake.url}/__fake/nope`)).status).toBe(404);
    expect((await fetch(`${fake.url}/__fake/reset`, { method: 'POST' })).status).toBe(200);
    expect(fake.config().chunk_chars).toBe(4);
    expect(fake.requests()).toEqual([]);
  });

  test('two fakes in one process share nothing', async () => {
    const other = await startFakeUpstream({ accept_any_token: true });
    try {
      await (await fetch(`${other.url}/generateAssistantResponse`, { method: 'POST', headers: { authorization: 'Bearer z' }, body: chatBody('x') })).arrayBuffer();
      expect(other.requests()).toHaveLength(1);
      expect(fake.requests()).toHaveLength(0);
      expect((await gar(chatBody('x'), { token: 'z' })).status).toBe(403);
    } finally {
      await other.stop();
    }
  });
});
