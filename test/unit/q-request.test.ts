// Conversation → Q request body. Fixtures are named after what they reproduce; every built body also
// goes through the §2.5 validity checker, and so do 500 seeded random conversations.
import { describe, expect, test } from 'bun:test';
import type { ContentPart, Conversation, Message, ToolDefinition } from '../../src/dialects/conversation';
import { buildQRequest, type BuildOptions, type BuiltRequest, MAX_TOOL_DESCRIPTION } from '../../src/upstream/q-request';
import { cleanToolSchema, STUB_TOOL_DESCRIPTION, upstreamToolUseId } from '../../src/upstream/q-request-tools';
import { EMPTY_TOOL_RESULT, MISSING_TOOL_RESULT, PREFILL_CONTINUATION } from '../../src/upstream/q-request-turns';
import { defaultConfig } from '../fake-upstream/config';
import { strictViolation } from '../fake-upstream/validation';
import { qRequestProblems } from '../support/q-request-validity';
import { mulberry32 } from '../support/prng';
import { assistant, conversation, text, user } from '../support/conversation';

type Json = Record<string, any>;

const OPTS: BuildOptions = { modelId: 'claude-sonnet-4.5', conversationId: '6a0c1d6e-9a8f-4c1e-9b0a-0d2f8b7b1c11' };

const conv = conversation;
const call = (id: string, name: string, input: unknown = {}): ContentPart => ({ type: 'tool_call', id, name, input });
const result = (toolCallId: string, t: string, isError = false): ContentPart => ({
  type: 'tool_result',
  toolCallId,
  content: t === '' ? [] : [{ type: 'text', text: t }],
  isError,
});
const tool = (name: string, description = `the ${name} tool`, inputSchema: Record<string, unknown> = { type: 'object', properties: { x: { type: 'string' } } }): ToolDefinition => ({
  name,
  description,
  inputSchema,
});
const PNG = { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' } as const;

/** Builds and asserts validity: every fixture goes through the checker. */
function build(c: Conversation, opts: BuildOptions = OPTS): BuiltRequest & { cs: Json; current: Json; history: any[] } {
  const built = buildQRequest(c, opts);
  expect(qRequestProblems(built.body)).toEqual([]);
  const cs = built.body.conversationState as Json;
  return { ...built, cs, current: cs.currentMessage.userInputMessage, history: cs.history ?? [] };
}

describe('system text', () => {
  test('system kept when the turn only returns tool results', () => {
    const r = build(
      conv([user(text('list files')), assistant(call('toolu_1', 'Bash', { cmd: 'ls' })), user(result('toolu_1', 'a.txt'))], {
        system: 'You are Claude Code.',
        tools: [tool('Bash')],
      }),
    );
    expect(r.history[0].userInputMessage.content).toStartWith('--- SYSTEM PROMPT BEGIN ---\nYou are Claude Code.\n--- SYSTEM PROMPT END ---\n\nlist files');
    expect(r.current.content).toBe('Tool results provided.');
    expect(r.current.userInputMessageContext.toolResults).toEqual([{ toolUseId: 'toolu_1', content: [{ text: 'a.txt' }], status: 'success' }]);
  });

  test('system goes into currentMessage when there is no history', () => {
    const r = build(conv([user(text('hi'))], { system: 'Be brief.' }));
    expect(r.cs.history).toBeUndefined();
    expect(r.current.content).toBe('--- SYSTEM PROMPT BEGIN ---\nBe brief.\n--- SYSTEM PROMPT END ---\n\nhi');
  });

  const shapes: Array<[string, Message[]]> = [
    ['text', [user(text('q'))]],
    ['image only', [user(PNG)]],
    ['empty', []],
    ['tool results only', [user(text('go')), assistant(call('t1', 'Read')), user(result('t1', 'data'))]],
    ['prefill', [user(text('q')), assistant(text('{"a":'))]],
    ['starts with assistant', [assistant(text('Hello! How can I help?')), user(text('q'))]],
  ];
  for (const [name, messages] of shapes) {
    test(`system present whatever the last turn: ${name}`, () => {
      const r = build(conv(messages, { system: 'SYS-MARK' }));
      expect(JSON.stringify(r.body).split('SYS-MARK').length - 1).toBe(1);
    });
  }

  test('whitespace-only system sends no system block', () => {
    const r = build(conv([user(text('hi'))], { system: '  \n' }));
    expect(r.current.content).toBe('hi');
  });
});

describe('turn shape', () => {
  test('consecutive assistant turns merged (kiro.rs#79: dropped connection, client retried)', () => {
    const r = build(conv([user(text('a')), assistant(text('part 1')), assistant(text('part 2'), call('t1', 'Read')), user(result('t1', 'ok'))], { tools: [tool('Read')] }));
    expect(r.history).toHaveLength(2);
    expect(r.history[1].assistantResponseMessage).toEqual({ content: 'part 1\n\npart 2', toolUses: [{ toolUseId: 't1', name: 'Read', input: {} }] });
  });

  test('consecutive user turns merged: tool_result then text (the Python q2api answered 400)', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'Read')), user(result('t1', 'file body')), user(text('now summarise'))], { tools: [tool('Read')] }));
    expect(r.history).toHaveLength(2);
    expect(r.current.content).toBe('now summarise');
    expect(r.current.userInputMessageContext.toolResults[0].toolUseId).toBe('t1');
  });

  test('conversation starting with the assistant gets a placeholder user turn', () => {
    const r = build(conv([assistant(text('Hello!')), user(text('hi'))]));
    expect(r.history.map((h) => Object.keys(h)[0])).toEqual(['userInputMessage', 'assistantResponseMessage']);
    expect(r.history[0].userInputMessage.content).toBe('Continue');
  });

  test('empty conversation sends "Continue"', () => {
    expect(build(conv([])).current.content).toBe('Continue');
  });

  test('empty messages are skipped, so their neighbours merge', () => {
    const r = build(conv([user(text('a')), assistant(), user(text('b'))]));
    expect(r.cs.history).toBeUndefined();
    expect(r.current.content).toBe('a\n\nb');
  });

  test('assistant prefill moved into history with a continue turn', () => {
    const r = build(conv([user(text('give JSON')), assistant(text('{"name":'))]));
    expect(r.history[1].assistantResponseMessage.content).toBe('{"name":');
    expect(r.current.content).toBe(PREFILL_CONTINUATION);
    expect(r.warnings.some((w) => w.includes('prefill'))).toBe(true);
  });

  test('an empty trailing assistant message is dropped, not continued', () => {
    const r = build(conv([user(text('q')), assistant(text('  '))]));
    expect(r.cs.history).toBeUndefined();
    expect(r.current.content).toBe('q');
  });

  test('thinking in assistant history dropped, signed or not', () => {
    const r = build(conv([user(text('q')), assistant({ type: 'thinking', text: 'secret plan', signature: 'sig' }, text('answer')), user(text('more'))]));
    expect(r.history[1].assistantResponseMessage).toEqual({ content: 'answer' });
    expect(JSON.stringify(r.body)).not.toContain('secret plan');
  });

  test('assistant turn with only thinking gets a placeholder', () => {
    const r = build(conv([user(text('q')), assistant({ type: 'thinking', text: 'hmm' }), user(text('more'))]));
    expect(r.history[1].assistantResponseMessage.content).toBe('OK');
  });

  test('modelId and origin on every user message; custom origin; profileArn at the top', () => {
    const arn = 'arn:aws:codewhisperer:us-east-1:123456789012:profile/ABCDEFGHIJKL';
    const r = build(conv([user(text('a')), assistant(text('b')), user(text('c'))]), { ...OPTS, origin: 'KIRO_CLI', profileArn: arn });
    for (const m of [r.history[0].userInputMessage, r.current]) expect([m.modelId, m.origin]).toEqual(['claude-sonnet-4.5', 'KIRO_CLI']);
    expect(r.history[1].assistantResponseMessage.modelId).toBeUndefined();
    expect(r.body.profileArn).toBe(arn);
    expect(r.cs).toMatchObject({ conversationId: OPTS.conversationId, chatTriggerType: 'MANUAL', agentTaskType: 'vibe' });
  });

  test('default origin is AI_EDITOR and no profileArn key without one', () => {
    const r = build(conv([user(text('a'))]));
    expect(r.current.origin).toBe('AI_EDITOR');
    expect('profileArn' in r.body).toBe(false);
  });
});

describe('tool uses and results', () => {
  const tools = [tool('Read'), tool('Bash')];

  test('orphan tool_result becomes text', () => {
    const r = build(conv([user(text('hi')), assistant(text('hello')), user(result('toolu_gone', 'stale output', true), text('continue please'))], { tools }));
    expect(r.current.userInputMessageContext?.toolResults).toBeUndefined();
    expect(r.current.content).toBe('[Result of tool call toolu_gone, an error]\nstale output\n\ncontinue please');
  });

  test('orphan result in the first user turn becomes text', () => {
    const r = build(conv([user(result('x1', 'out'))]));
    expect(r.current.content).toBe('[Result of tool call x1]\nout');
  });

  test('result answering an older turn is an orphan, named after its tool', () => {
    const r = build(
      conv([user(text('a')), assistant(call('t1', 'Read')), user(result('t1', 'one')), assistant(text('done')), user(result('t1', 'again'))], { tools }),
    );
    expect(r.current.content).toBe('[Result of tool call t1 (Read)]\nagain');
  });

  test('tool results reordered to match the order of the tool uses', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'Read'), call('t2', 'Bash'), call('t3', 'Read')), user(result('t3', 'c'), result('t1', 'a'), result('t2', 'b'))], { tools }));
    expect(r.current.userInputMessageContext.toolResults.map((x: Json) => [x.toolUseId, x.content[0].text])).toEqual([['t1', 'a'], ['t2', 'b'], ['t3', 'c']]);
  });

  test('duplicate tool results removed (a client retry sent the same result twice)', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'Read')), user(result('t1', 'same'), result('t1', 'same'))], { tools }));
    expect(r.current.userInputMessageContext.toolResults).toEqual([{ toolUseId: 't1', content: [{ text: 'same' }], status: 'success' }]);
    expect(r.current.content).toBe('Tool results provided.');
    expect(r.warnings).toContain('duplicate tool result for t1 dropped');
  });

  test('a second, different result for one id: first paired, second kept as text', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'Read')), user(result('t1', 'first'), result('t1', 'second'))], { tools }));
    expect(r.current.userInputMessageContext.toolResults).toEqual([{ toolUseId: 't1', content: [{ text: 'first' }], status: 'success' }]);
    expect(r.current.content).toBe('[Result of tool call t1 (Read)]\nsecond');
  });

  test('tool use without a result gets a synthetic error result', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'Read'), call('t2', 'Bash')), user(result('t2', 'b'))], { tools }));
    expect(r.current.userInputMessageContext.toolResults).toEqual([
      { toolUseId: 't1', content: [{ text: MISSING_TOOL_RESULT }], status: 'error' },
      { toolUseId: 't2', content: [{ text: 'b' }], status: 'success' },
    ]);
  });

  test('tool uses in the middle of history without results are paired too', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'Read')), user(text('never mind')), assistant(text('ok')), user(text('bye'))], { tools }));
    expect(r.history[2].userInputMessage.userInputMessageContext.toolResults[0]).toMatchObject({ toolUseId: 't1', status: 'error' });
    expect(r.history[2].userInputMessage.content).toBe('never mind');
  });

  test('duplicate tool call ids across assistant turns: the repeat is dropped', () => {
    const r = build(
      conv([user(text('a')), assistant(call('t1', 'Read')), user(result('t1', 'x')), assistant(call('t1', 'Read')), user(result('t1', 'y'))], { tools }),
    );
    expect(r.history[3].assistantResponseMessage.toolUses).toBeUndefined();
    expect(r.history[3].assistantResponseMessage.content).toBe('OK');
    expect(r.current.content).toContain('y');
  });

  test('client tool ids with dots or over 64 chars mapped consistently', () => {
    const dotted = 'functions.Read:0';
    const long = `call_${'x'.repeat(80)}`;
    const r = build(conv([user(text('a')), assistant(call(dotted, 'Read'), call(long, 'Bash')), user(result(long, 'b'), result(dotted, 'a'))], { tools }));
    const uses = r.history[1].assistantResponseMessage.toolUses.map((u: Json) => u.toolUseId);
    expect(uses).toEqual([upstreamToolUseId(dotted), upstreamToolUseId(long)]);
    expect(uses[0]).not.toBe(uses[1]);
    expect(r.current.userInputMessageContext.toolResults.map((x: Json) => x.toolUseId)).toEqual(uses);
    // stable across requests, so the same history always builds the same body
    const next = build(conv([user(text('z')), assistant(call(dotted, 'Read')), user(result(dotted, 'again'))], { tools }));
    expect(next.history[1].assistantResponseMessage.toolUses[0].toolUseId).toBe(uses[0]);
    expect(upstreamToolUseId('tooluse_r3wojsl-QZ-l9idYXz3fiA')).toBe('tooluse_r3wojsl-QZ-l9idYXz3fiA');
  });

  test('tool call input: non-objects wrapped, JSON strings parsed, nulls stripped', () => {
    const r = build(
      conv([user(text('a')), assistant(call('t1', 'Read', 'plain'), call('t2', 'Read', '{"p":1}'), call('t3', 'Read', [1, null]), call('t4', 'Read', { a: null, b: { c: null, d: 2 } }), call('t5', 'Read', null)), user(text('x'))], { tools }),
    );
    expect(r.history[1].assistantResponseMessage.toolUses.map((u: Json) => u.input)).toEqual([{ value: 'plain' }, { p: 1 }, { value: [1] }, { b: { d: 2 } }, {}]);
  });

  test('empty tool result gets a placeholder text', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'Bash')), user(result('t1', ''), result('t1', 'dup'))], { tools }));
    expect(r.current.userInputMessageContext.toolResults[0].content).toEqual([{ text: EMPTY_TOOL_RESULT }]);
  });

  test('tool result images move to the message images and are mentioned in the result', () => {
    const shot: ContentPart = { type: 'tool_result', toolCallId: 't1', isError: false, content: [{ type: 'text', text: 'screenshot:' }, { type: 'image', mediaType: 'image/jpeg', data: 'AAAA' }] };
    const r = build(conv([user(text('a')), assistant(call('t1', 'Bash')), user(shot)], { tools }));
    expect(r.current.images).toEqual([{ format: 'jpeg', source: { bytes: 'AAAA' } }]);
    expect(r.current.userInputMessageContext.toolResults[0].content[1].text).toContain('image');
  });

  test('user images: format from the media type, on their own message (history too)', () => {
    const webp: ContentPart = { type: 'image', mediaType: 'image/webp', data: 'UklG' };
    const r = build(conv([user(text('look'), webp), assistant(text('a cat')), user(PNG)]));
    expect(r.history[0].userInputMessage.images).toEqual([{ format: 'webp', source: { bytes: 'UklG' } }]);
    expect(r.current.images).toEqual([{ format: 'png', source: { bytes: PNG.data } }]);
    expect(r.current.content).toBe('Continue');
  });

  test('more than 10 images on one message: the extras dropped with a warning', () => {
    const r = build(conv([user(...Array.from({ length: 12 }, () => PNG))]));
    expect(r.current.images).toHaveLength(10);
    expect(r.warnings.some((w) => w.includes('image'))).toBe(true);
  });
});

describe('tools', () => {
  test('tool name over 64 chars aliased and restored map', () => {
    const long = 'mcp__my_company_internal_knowledge_base_server__search_documents_by_semantic_query';
    const r = build(conv([user(text('a')), assistant(call('t1', long, { q: 'x' })), user(result('t1', 'r'))], { tools: [tool(long), tool('Read')] }));
    const spec = r.current.userInputMessageContext.tools[0].toolSpecification;
    expect(spec.name.length).toBeLessThanOrEqual(64);
    expect(r.history[1].assistantResponseMessage.toolUses[0].name).toBe(spec.name);
    expect(r.toolNames.get(spec.name)).toBe(long);
    expect(r.toolNames.has('Read')).toBe(false);
    expect(r.toolNames.size).toBe(1);
    // deterministic: the next request of the session aliases the same way
    expect(buildQRequest(conv([user(text('b'))], { tools: [tool(long)] }), OPTS).toolNames.get(spec.name)).toBe(long);
  });

  test('tool names with characters Q rejects are aliased; two long names sharing a prefix stay distinct', () => {
    const a = `${'x'.repeat(60)}_alpha`;
    const b = `${'x'.repeat(60)}_beta`;
    const r = build(conv([user(text('a'))], { tools: [tool('my.tool'), tool('has space'), tool(a), tool(b)] }));
    const names = r.current.userInputMessageContext.tools.map((t: Json) => t.toolSpecification.name);
    expect(new Set(names).size).toBe(4);
    expect(names.map((n: string) => r.toolNames.get(n))).toEqual(['my.tool', 'has space', a, b]);
  });

  test('tool_choice {type: tool} names the alias the model sees', () => {
    const long = 'y'.repeat(70);
    const r = build(conv([user(text('a'))], { tools: [tool(long)], toolChoice: { type: 'tool', name: long } }));
    const alias = r.current.userInputMessageContext.tools[0].toolSpecification.name;
    expect(r.current.content).toContain(`You must call the tool "${alias}"`);
  });

  test('web-search-like tool already dropped by decoder: nothing sent for it, no repeated warning', () => {
    const c = conv([user(text('search the news'))], { tools: [tool('Read')], warnings: ['server tool web_search dropped'] });
    const r = build(c);
    expect(r.current.userInputMessageContext.tools.map((t: Json) => t.toolSpecification.name)).toEqual(['Read']);
    expect(r.warnings).toEqual([]);
  });

  test('history tool uses without tools get stub specs (CLIProxyAPIPlus #73)', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'Read'), call('t2', 'Bash')), user(result('t1', 'x'), result('t2', 'y')), assistant(text('done')), user(text('thanks'))]));
    const specs = r.current.userInputMessageContext.tools.map((t: Json) => t.toolSpecification);
    expect(specs.map((s: Json) => s.name)).toEqual(['Read', 'Bash']);
    expect(specs[0].description).toBe(STUB_TOOL_DESCRIPTION);
    expect(specs[0].inputSchema.json).toEqual({ type: 'object', properties: {} });
  });

  test('history tool no longer offered gets a stub next to the offered tools (case-insensitive match)', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'read'), call('t2', 'Gone')), user(result('t1', 'x'), result('t2', 'y'))], { tools: [tool('Read')] }));
    expect(r.current.userInputMessageContext.tools.map((t: Json) => t.toolSpecification.name)).toEqual(['Read', 'Gone']);
  });

  test('tool_choice none sends no tools but keeps stubs, and instructs', () => {
    const noHistory = build(conv([user(text('a'))], { tools: [tool('Read')], toolChoice: { type: 'none' } }));
    expect(noHistory.current.userInputMessageContext).toBeUndefined();
    expect(noHistory.current.content).toEndWith('--- INSTRUCTION BEGIN ---\nDo not call any tool in this response. Answer with text only.\n--- INSTRUCTION END ---');
    const withHistory = build(conv([user(text('a')), assistant(call('t1', 'Read')), user(result('t1', 'x'))], { tools: [tool('Read')], toolChoice: { type: 'none' } }));
    expect(withHistory.current.userInputMessageContext.tools[0].toolSpecification.description).toBe(STUB_TOOL_DESCRIPTION);
  });

  test('tool_choice any and tool add an instruction; auto adds nothing; no instruction without tools', () => {
    expect(build(conv([user(text('a'))], { tools: [tool('Read')], toolChoice: { type: 'any' } })).current.content).toContain('You must call at least one of the available tools');
    expect(build(conv([user(text('a'))], { tools: [tool('Read')], toolChoice: { type: 'tool', name: 'Read' } })).current.content).toContain('You must call the tool "Read"');
    expect(build(conv([user(text('a'))], { tools: [tool('Read')] })).current.content).toBe('a');
    expect(build(conv([user(text('a'))], { toolChoice: { type: 'any' } })).current.content).toBe('a');
  });

  test('long description truncated and moved to the system text', () => {
    const long = `Start. ${'lorem ipsum '.repeat(1_000)}END-OF-DOC`;
    const r = build(conv([user(text('a')), assistant(text('b')), user(text('c'))], { tools: [tool('Big', long)], system: 'SYS' }));
    const spec = r.current.userInputMessageContext.tools[0].toolSpecification;
    expect(spec.description.length).toBeLessThanOrEqual(MAX_TOOL_DESCRIPTION);
    expect(spec.description).toStartWith('Start. lorem');
    expect(spec.description).not.toContain('END-OF-DOC');
    const first = r.history[0].userInputMessage.content as string;
    expect(first).toContain('SYS\n\nTool documentation');
    expect(first).toContain(`Tool: Big\nFull description:\n${long}`);
    expect(r.warnings.some((w) => w.includes('Big') && w.includes('truncated'))).toBe(true);
  });

  test('empty description uses the name', () => {
    const r = build(conv([user(text('a'))], { tools: [tool('Read', '  ')] }));
    expect(r.current.userInputMessageContext.tools[0].toolSpecification.description).toBe('Read');
  });

  test('duplicate tool definitions: first kept', () => {
    const r = build(conv([user(text('a'))], { tools: [tool('Read', 'one'), tool('Read', 'two')] }));
    expect(r.current.userInputMessageContext.tools.map((t: Json) => t.toolSpecification.description)).toEqual(['one']);
  });
});

describe('schema cleaning', () => {
  test('Claude Code style schema: $schema and additionalProperties removed, the rest kept', () => {
    const s = cleanToolSchema({
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { file_path: { type: 'string', description: 'path' }, limit: { type: 'integer', minimum: 1 } },
      required: ['file_path'],
      additionalProperties: false,
    });
    expect(s).toEqual({ type: 'object', properties: { file_path: { type: 'string', description: 'path' }, limit: { type: 'integer', minimum: 1 } }, required: ['file_path'] });
  });

  test('top-level anyOf merged: union of properties, only commonly required fields required', () => {
    const s = cleanToolSchema({
      anyOf: [
        { type: 'object', properties: { a: { type: 'string' }, id: { type: 'string' } }, required: ['id', 'a'] },
        { type: 'object', properties: { b: { type: 'number' }, id: { type: 'string' } }, required: ['id'] },
      ],
    });
    expect(s).toEqual({ type: 'object', properties: { a: { type: 'string' }, id: { type: 'string' }, b: { type: 'number' } }, required: ['id'] });
  });

  test('top-level allOf merged with required union; oneOf with a non-object branch requires nothing', () => {
    expect(cleanToolSchema({ allOf: [{ properties: { a: {} }, required: ['a'] }, { properties: { b: {} }, required: ['b'] }] })).toEqual({
      type: 'object',
      properties: { a: {}, b: {} },
      required: ['a', 'b'],
    });
    expect(cleanToolSchema({ oneOf: [{ properties: { a: {} }, required: ['a'] }, true] })).toEqual({ type: 'object', properties: { a: {} } });
  });

  test('nested combinators kept; nulls and empty arrays removed; property names that look like keywords kept', () => {
    const s = cleanToolSchema({
      type: 'object',
      $id: 'x',
      properties: { not: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null }, $ref: { type: 'string', enum: ['a', null] }, e: { enum: [] } },
      required: [],
      description: null,
    });
    expect(s).toEqual({ type: 'object', properties: { not: { anyOf: [{ type: 'string' }, { type: 'null' }] }, $ref: { type: 'string', enum: ['a'] }, e: {} } });
  });

  test('local $ref inlined from $defs; cycles become permissive', () => {
    const s = cleanToolSchema({
      type: 'object',
      properties: { node: { $ref: '#/$defs/Node' }, other: { $ref: '#/definitions/Missing' } },
      $defs: { Node: { type: 'object', properties: { name: { type: 'string' }, child: { $ref: '#/$defs/Node' } } } },
    });
    expect(s).toEqual({ type: 'object', properties: { node: { type: 'object', properties: { name: { type: 'string' }, child: {} } }, other: {} } });
  });

  test('non-object schemas replaced by an object schema', () => {
    expect(cleanToolSchema(undefined)).toEqual({ type: 'object', properties: {} });
    expect(cleanToolSchema({ type: 'string', enum: ['a'] })).toEqual({ type: 'object', properties: {} });
    expect(cleanToolSchema({ type: ['object', 'null'], properties: { a: true } })).toEqual({ type: 'object', properties: { a: {} } });
  });
});

describe('hints and instructions', () => {
  test('thinking enabled: budget hint prefixes the current content', () => {
    const r = build(conv([user(text('q'))], { thinking: { type: 'enabled', budgetTokens: 8000 }, system: 'S' }));
    expect(r.current.content).toStartWith('<thinking_mode>enabled</thinking_mode><max_thinking_length>8000</max_thinking_length>\n--- SYSTEM PROMPT BEGIN ---');
  });

  test('thinking adaptive: effort hint, high by default', () => {
    expect(build(conv([user(text('q'))], { thinking: { type: 'adaptive' } })).current.content).toBe('<thinking_mode>adaptive</thinking_mode><thinking_effort>high</thinking_effort>\nq');
    expect(build(conv([user(text('q'))], { thinking: { type: 'adaptive', effort: 'max' } })).current.content).toStartWith('<thinking_mode>adaptive</thinking_mode><thinking_effort>max</thinking_effort>');
  });

  test('thinking hint on tool-result turns too, history untouched', () => {
    const r = build(conv([user(text('a')), assistant(call('t1', 'Read')), user(result('t1', 'x'))], { tools: [tool('Read')], thinking: { type: 'enabled', budgetTokens: 1024 } }));
    expect(r.current.content).toBe('<thinking_mode>enabled</thinking_mode><max_thinking_length>1024</max_thinking_length>\nTool results provided.');
    expect(r.history[0].userInputMessage.content).toBe('a');
  });

  test('thinking disabled: no hint', () => {
    expect(build(conv([user(text('q'))])).current.content).toBe('q');
  });

  test('response format json_schema: instruction with the schema in the system text', () => {
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const r = build(conv([user(text('where?'))], { responseFormat: { type: 'json_schema', name: 'place', schema } }));
    expect(r.current.content).toContain('--- SYSTEM PROMPT BEGIN ---\nRespond with a single valid JSON value only');
    expect(r.current.content).toContain(`"place":\n${JSON.stringify(schema)}\n--- SYSTEM PROMPT END ---`);
  });

  test('response format json_object: instruction after the client system text', () => {
    const r = build(conv([user(text('a')), assistant(text('b')), user(text('c'))], { system: 'S', responseFormat: { type: 'json_object' } }));
    expect(r.history[0].userInputMessage.content).toContain('S\n\nRespond with a single valid JSON value only');
    expect(r.current.content).toBe('c');
  });
});

describe('body hygiene', () => {
  test('history omitted when empty; no nulls, no empty arrays, no undefined', () => {
    const r = build(conv([user(text('a'))], { tools: [tool('T', 'd', { type: 'object', properties: { a: { type: 'string', default: null } }, required: [] })] }));
    expect(r.cs.history).toBeUndefined();
    expect(qRequestProblems(r.body)).toEqual([]);
  });

  test('the checker itself catches broken bodies', () => {
    const bad = { conversationState: { conversationId: 'c', chatTriggerType: 'MANUAL', history: [{ userInputMessage: { content: 'a', modelId: 'm', origin: 'o' } }], currentMessage: { userInputMessage: { content: '', modelId: 'm', origin: 'o', images: [] } } } };
    const problems = qRequestProblems(bad);
    expect(problems.some((p) => p.includes('empty array'))).toBe(true);
    expect(problems.some((p) => p.includes('rule 1'))).toBe(true);
    expect(problems.some((p) => p.includes('alternation'))).toBe(true);
  });

  test('deterministic: the same conversation builds the same body', () => {
    const c = conv([user(text('a')), assistant(call('a.b', 'z'.repeat(80), { q: 1 })), user(result('a.b', 'r'))], { tools: [tool('z'.repeat(80))] });
    expect(JSON.stringify(buildQRequest(c, OPTS).body)).toBe(JSON.stringify(buildQRequest(c, OPTS).body));
  });

  test('the input conversation is not mutated', () => {
    const c = conv([user(text('a')), assistant(text('b')), assistant(call('t', 'R', { n: null })), user(result('t', 'x'))], { tools: [tool('R', 'd', { $schema: 's', type: 'object' })] });
    const before = JSON.stringify(c);
    buildQRequest(c, OPTS);
    expect(JSON.stringify(c)).toBe(before);
  });
});

// ---- random conversations ----

function randomConversation(rand: () => number): Conversation {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const chance = (p: number) => rand() < p;
  const names = ['Read', 'Bash', 'read', 'my.tool', 'with space', '', `mcp__${'server_'.repeat(8)}tool`, 'x'.repeat(65), 'Edit'];
  const schemas: unknown[] = [
    { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
    { $schema: 'http://json-schema.org/draft-07/schema#', $id: 'x', type: 'object', additionalProperties: false, properties: {} },
    { anyOf: [{ type: 'object', properties: { a: {} } }, { type: 'string' }] },
    { type: 'object', properties: { n: null, d: { type: 'string', default: null } }, required: null },
    { type: 'object', properties: { r: { $ref: '#/$defs/R' } }, $defs: { R: { type: 'object', properties: { r: { $ref: '#/$defs/R' } } } } },
    { type: 'string' },
    {},
  ];
  const texts = ['hello', '', '   ', 'multi\nline', 'null', 'x'.repeat(300), '{"json":true}', 'ünïcode ✓'];
  const tools: ToolDefinition[] = [];
  for (let i = Math.floor(rand() * 5); i > 0; i--) {
    tools.push({ name: pick(names), description: chance(0.1) ? 'd'.repeat(MAX_TOOL_DESCRIPTION + 50) : pick(['', 'does things', ' ']), inputSchema: pick(schemas) as Record<string, unknown> });
  }
  const callIds: string[] = [];
  const messages: Message[] = [];
  for (let i = Math.floor(rand() * 12); i > 0; i--) {
    const role = chance(0.5) ? 'user' : 'assistant';
    const content: ContentPart[] = [];
    for (let j = Math.floor(rand() * 4); j > 0; j--) {
      const kind = rand();
      if (kind < 0.3) content.push({ type: 'text', text: pick(texts) });
      else if (kind < 0.4) content.push({ type: 'image', mediaType: pick(['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const), data: 'AAAA' });
      else if (kind < 0.6) {
        const id = chance(0.2) && callIds.length > 0 ? pick(callIds) : pick(['toolu_', 'call.', 'tooluse_', '', `id_${'z'.repeat(70)}`]) + Math.floor(rand() * 1000);
        callIds.push(id);
        content.push({ type: 'tool_call', id, name: pick(names), input: pick<unknown>([{}, { a: 1 }, 'str', null, [1, 2], { b: null }]) });
      } else if (kind < 0.85) {
        const toolCallId = callIds.length > 0 && chance(0.8) ? pick(callIds) : `orphan_${Math.floor(rand() * 100)}`;
        const parts = chance(0.2) ? [] : [{ type: 'text' as const, text: pick(texts) }];
        if (chance(0.1)) parts.push({ type: 'image', mediaType: 'image/png', data: 'BBBB' } as never);
        content.push({ type: 'tool_result', toolCallId, content: parts, isError: chance(0.2) });
      } else content.push({ type: 'thinking', text: pick(texts), ...(chance(0.5) ? { signature: 'sig' } : {}) });
    }
    messages.push({ role, content });
  }
  return conv(messages, {
    system: pick(['', 'You are helpful.', '  ']),
    tools,
    toolChoice: pick([{ type: 'auto' }, { type: 'any' }, { type: 'none' }, { type: 'tool', name: pick(names) }] as const),
    thinking: pick([{ type: 'disabled' }, { type: 'enabled', budgetTokens: 4096 }, { type: 'adaptive', effort: 'low' }] as const),
    responseFormat: pick([{ type: 'text' }, { type: 'json_object' }, { type: 'json_schema', schema: { type: 'object' } }] as const),
  });
}

/** Every non-blank text the client sent (except thinking) must reach the body somewhere. */
function sentTexts(c: Conversation): string[] {
  const out: string[] = [];
  for (const m of c.messages)
    for (const p of m.content) {
      if (p.type === 'text' && p.text.trim() !== '') out.push(p.text);
      if (p.type === 'tool_result') for (const x of p.content) if (x.type === 'text' && x.text.trim() !== '') out.push(x.text);
    }
  return out;
}

test('500 random conversations build valid, deterministic bodies that keep every text', () => {
  const rand = mulberry32(0x5eed);
  const fakeConfig = defaultConfig();
  for (let i = 0; i < 500; i++) {
    const c = randomConversation(rand);
    const built = buildQRequest(c, OPTS);
    const problems = qRequestProblems(built.body);
    if (problems.length > 0) throw new Error(`conversation #${i}: ${problems.join('; ')}\n${JSON.stringify(c)}`);
    // the fake upstream's strict mode (§6) must accept it too
    expect(strictViolation(built.body, fakeConfig)?.why).toBeUndefined();
    expect(JSON.stringify(buildQRequest(c, OPTS).body)).toBe(JSON.stringify(built.body));
    const all = JSON.stringify(built.body);
    for (const t of sentTexts(c)) if (!all.includes(JSON.stringify(t).slice(1, -1))) throw new Error(`conversation #${i}: text lost: ${t.slice(0, 40)}\n${JSON.stringify(c)}\n${all}`);
    for (const [alias, original] of built.toolNames) expect(alias).not.toBe(original);
  }
});
