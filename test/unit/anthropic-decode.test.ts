// Fixture tests of the Anthropic request decoder: what Claude Code and the SDKs send must decode,
// and every invalid field must be a 400 that names it.

import { describe, expect, test } from 'bun:test';
import { decodeAnthropicRequest } from '../../src/dialects/anthropic/decode';
import { issueSignature } from '../../src/dialects/anthropic/signature';
import { GatewayError } from '../../src/http/errors';

const base = { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }] };

function rejects(body: unknown, param: string, message?: RegExp, opts = { requireMaxTokens: true }): GatewayError {
  try {
    decodeAnthropicRequest(body, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    const err = e as GatewayError;
    expect(err.status).toBe(400);
    expect(err.kind).toBe('invalid_request');
    expect(err.param).toBe(param);
    expect(err.message.startsWith(`${param}: `)).toBe(true);
    if (message) expect(err.message).toMatch(message);
    return err;
  }
  throw new Error(`accepted: ${JSON.stringify(body)}`);
}

describe('top level', () => {
  test('minimal request', () => {
    const { conversation, stream, pendingImages } = decodeAnthropicRequest(base);
    expect(stream).toBe(false);
    expect(pendingImages).toEqual([]);
    expect(conversation).toEqual({
      model: 'claude-sonnet-4-5',
      system: '',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
      tools: [],
      toolChoice: { type: 'auto' },
      thinking: { type: 'disabled' },
      maxTokens: 1024,
      stopSequences: [],
      responseFormat: { type: 'text' },
      warnings: [],
    });
  });

  test('everything Claude Code sends is tolerated', () => {
    const { conversation, stream } = decodeAnthropicRequest({
      ...base,
      stream: true,
      system: [
        { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral', ttl: '1h' } },
      ],
      metadata: { user_id: 'user_abc_account__session_1' },
      temperature: 1,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ['END', ''],
      context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
      service_tier: 'auto',
      container: null,
      mcp_servers: [],
      some_future_field: { x: 1 },
      thinking: { type: 'enabled', budget_tokens: 31999 },
    });
    expect(stream).toBe(true);
    expect(conversation.system).toBe("You are Claude Code, Anthropic's official CLI for Claude.\n\nBe brief.");
    expect(conversation.stopSequences).toEqual(['END']);
    expect(conversation.thinking).toEqual({ type: 'enabled', budgetTokens: 31999 });
  });

  test('model and max_tokens are required; count_tokens needs no max_tokens', () => {
    rejects({ max_tokens: 1, messages: base.messages }, 'model', /Field required/);
    rejects({ ...base, model: 7 }, 'model', /valid string/);
    rejects({ model: 'm', messages: base.messages }, 'max_tokens', /Field required/);
    rejects({ ...base, max_tokens: 0 }, 'max_tokens', /greater than or equal to 1/);
    rejects({ ...base, max_tokens: 1.5 }, 'max_tokens', /valid integer/);
    const counted = decodeAnthropicRequest({ model: 'm', messages: base.messages }, { requireMaxTokens: false });
    expect(counted.conversation.maxTokens).toBeUndefined();
  });

  test('bad shapes name their field', () => {
    expect(() => decodeAnthropicRequest([])).toThrow(/JSON object/);
    rejects({ ...base, messages: [] }, 'messages', /at least one/);
    rejects({ ...base, messages: 'hi' }, 'messages', /valid list/);
    rejects({ ...base, messages: [{ role: 'system', content: 'x' }] }, 'messages.0.role', /'user' or 'assistant'/);
    rejects({ ...base, messages: [{ role: 'user' }] }, 'messages.0.content', /Field required/);
    rejects({ ...base, system: [{ type: 'image', text: 'x' }] }, 'system.0.type');
    rejects({ ...base, temperature: 2 }, 'temperature', /less than or equal to 1/);
    rejects({ ...base, top_k: 'x' }, 'top_k');
    rejects({ ...base, stream: 'yes' }, 'stream', /valid boolean/);
    rejects({ ...base, stop_sequences: ['a', 3] }, 'stop_sequences.1');
    rejects({ ...base, metadata: { user_id: 5 } }, 'metadata.user_id');
    rejects({ ...base, thinking: { type: 'on' } }, 'thinking.type', /'enabled', 'disabled' or 'adaptive'/);
    rejects({ ...base, thinking: { type: 'enabled' } }, 'thinking.budget_tokens', /Field required/);
    rejects({ ...base, output_config: { effort: 'extreme' } }, 'output_config.effort');
    rejects({ ...base, tool_choice: { type: 'tool' } }, 'tool_choice.name', /Field required/);
    rejects({ ...base, tool_choice: { type: 'required' } }, 'tool_choice.type');
  });

  test('thinking modes and effort', () => {
    const d = (extra: object) => decodeAnthropicRequest({ ...base, ...extra }).conversation.thinking;
    expect(d({ thinking: { type: 'disabled' } })).toEqual({ type: 'disabled' });
    expect(d({ thinking: { type: 'adaptive' } })).toEqual({ type: 'adaptive' });
    expect(d({ thinking: { type: 'adaptive' }, output_config: { effort: 'max' } })).toEqual({ type: 'adaptive', effort: 'max' });
    expect(d({ output_config: { effort: 'low' } })).toEqual({ type: 'disabled' });
  });

  test('structured output formats', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const d = (extra: object) => decodeAnthropicRequest({ ...base, ...extra }).conversation.responseFormat;
    expect(d({ output_config: { format: { type: 'json_schema', schema } } })).toEqual({ type: 'json_schema', schema });
    expect(d({ output_format: { type: 'json_schema', schema } })).toEqual({ type: 'json_schema', schema });
    rejects({ ...base, output_format: { type: 'json_schema' } }, 'output_format.schema');
  });
});

describe('content blocks', () => {
  const one = (content: unknown, role = 'user') =>
    decodeAnthropicRequest({ ...base, messages: [{ role, content }] }).conversation.messages[0]!.content;

  test('text blocks with cache_control and citations; empty text dropped', () => {
    expect(
      one([
        { type: 'text', text: 'a', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: '', citations: [] },
        { type: 'text', text: 'b' },
      ]),
    ).toEqual([
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
    ]);
    expect(one('')).toEqual([]);
  });

  test('base64 images; data: prefixes and line breaks tolerated; bad media types rejected', () => {
    expect(one([{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }])).toEqual([
      { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo=' },
    ]);
    expect(one([{ type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'data:image/jpeg;base64,/9j/\n4AAQ' } }])).toEqual([
      { type: 'image', mediaType: 'image/jpeg', data: '/9j/4AAQ' },
    ]);
    const bad = { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }, { type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'AA==' } }] }] };
    rejects(bad, 'messages.0.content.1.source.media_type', /'image\/jpeg'/);
    rejects(
      { ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: '%%%' } }] }] },
      'messages.0.content.0.source.data',
      /base64/,
    );
    rejects({ ...base, messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages.0.content.0.source');
    rejects(
      { ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] },
      'messages.0.content.0.source',
      /Files API/,
    );
  });

  test('URL images become pending parts inside the conversation', () => {
    const decoded = decodeAnthropicRequest({
      ...base,
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }] },
        { role: 'assistant', content: 'ok' },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image', source: { type: 'url', url: 'http://x/b.jpg' } }] }],
        },
      ],
    });
    expect(decoded.pendingImages.map((p) => [p.url, p.param])).toEqual([
      ['https://example.com/a.png', 'messages.0.content.0.source.url'],
      ['http://x/b.jpg', 'messages.2.content.0.content.0.source.url'],
    ]);
    decoded.pendingImages[0]!.part.data = 'AAAA';
    expect(decoded.conversation.messages[0]!.content[0]).toEqual({ type: 'image', mediaType: 'image/png', data: 'AAAA' });
    rejects(
      { ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'ftp://x/y.png' } }] }] },
      'messages.0.content.0.source.url',
    );
  });

  test('plain-text documents become text; PDFs are a clear 400', () => {
    expect(one([{ type: 'document', title: 'notes.txt', source: { type: 'text', media_type: 'text/plain', data: 'hello' } }])).toEqual([
      { type: 'text', text: 'notes.txt\n\nhello' },
    ]);
    expect(one([{ type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'p1' }] } }])).toEqual([
      { type: 'text', text: 'p1' },
    ]);
    const err = rejects(
      { ...base, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }] }] },
      'messages.0.content.0.source',
    );
    expect(err.message).toMatch(/PDF documents are not supported/);
  });

  test('tool_use and tool_result in every accepted form', () => {
    const assistant = one(
      [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' }, cache_control: { type: 'ephemeral' } },
      ],
      'assistant',
    );
    expect(assistant[1]).toEqual({ type: 'tool_call', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } });
    const results = one([
      { type: 'tool_result', tool_use_id: 'a', content: '18°C' },
      { type: 'tool_result', tool_use_id: 'b', content: [{ type: 'text', text: 'x' }, { type: 'image', source: { type: 'base64', media_type: 'image/gif', data: 'R0lG' } }] },
      { type: 'tool_result', tool_use_id: 'c', is_error: true, content: 'boom' },
      { type: 'tool_result', tool_use_id: 'd' },
      { type: 'tool_result', tool_use_id: 'e', content: [] },
      { type: 'tool_result', tool_use_id: 'f', content: [{ type: 'search_result', title: 'T', source: 'https://s', content: [{ type: 'text', text: 'body' }] }] },
    ]);
    expect(results).toEqual([
      { type: 'tool_result', toolCallId: 'a', isError: false, content: [{ type: 'text', text: '18°C' }] },
      {
        type: 'tool_result',
        toolCallId: 'b',
        isError: false,
        content: [
          { type: 'text', text: 'x' },
          { type: 'image', mediaType: 'image/gif', data: 'R0lG' },
        ],
      },
      { type: 'tool_result', toolCallId: 'c', isError: true, content: [{ type: 'text', text: 'boom' }] },
      { type: 'tool_result', toolCallId: 'd', isError: false, content: [] },
      { type: 'tool_result', toolCallId: 'e', isError: false, content: [] },
      { type: 'tool_result', toolCallId: 'f', isError: false, content: [{ type: 'text', text: 'T\nhttps://s\nbody' }] },
    ]);
    rejects({ ...base, messages: [{ role: 'user', content: [{ type: 'tool_result' }] }] }, 'messages.0.content.0.tool_use_id');
    rejects({ ...base, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 'x', name: 'n', input: 'str' }] }] }, 'messages.0.content.0.input');
  });

  test('thinking: our signatures kept, foreign ones removed, redacted thinking dropped', () => {
    const blocks = one(
      [
        { type: 'thinking', thinking: 'from tags', signature: issueSignature() },
        { type: 'thinking', thinking: 'from the upstream', signature: issueSignature('sig/+=') },
        { type: 'thinking', thinking: 'from Anthropic', signature: 'EqQBCkYIBhgCKkB…' },
        { type: 'thinking', thinking: '', signature: 'x' },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy3' },
        { type: 'text', text: 'Answer.' },
      ],
      'assistant',
    );
    expect(blocks).toEqual([
      { type: 'thinking', text: 'from tags' },
      { type: 'thinking', text: 'from the upstream', signature: 'sig/+=' },
      { type: 'thinking', text: 'from Anthropic' },
      { type: 'text', text: 'Answer.' },
    ]);
  });

  test('server tool blocks become text; unknown blocks are dropped with a warning', () => {
    const decoded = decodeAnthropicRequest({
      ...base,
      messages: [
        {
          role: 'assistant',
          content: [
            { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'bun' } },
            { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', title: 'Bun', url: 'https://bun.sh', encrypted_content: 'x' }] },
            { type: 'container_upload', file_id: 'f' },
          ],
        },
      ],
    });
    expect(decoded.conversation.messages[0]!.content).toEqual([
      { type: 'text', text: '[server tool call web_search: {"query":"bun"}]' },
      { type: 'text', text: '[web search results]\n- Bun (https://bun.sh)' },
    ]);
    expect(decoded.conversation.warnings).toEqual(['dropped a "container_upload" content block (messages.0.content.2): not supported by Amazon Q']);
  });
});

describe('tools', () => {
  const tools = (list: unknown, extra: object = {}) => decodeAnthropicRequest({ ...base, tools: list, ...extra }).conversation;

  test('custom tools, with or without type "custom"', () => {
    const c = tools([
      { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: {} }, cache_control: { type: 'ephemeral' } },
      { type: 'custom', name: 'noop', input_schema: { type: 'object' } },
    ]);
    expect(c.tools).toEqual([
      { name: 'get_weather', description: 'Weather', inputSchema: { type: 'object', properties: {} } },
      { name: 'noop', description: '', inputSchema: { type: 'object' } },
    ]);
  });

  test('server tools without input_schema are dropped with a warning; client built-ins get schemas', () => {
    const c = tools([
      { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
      { type: 'bash_20250124', name: 'bash' },
      { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool' },
      { type: 'code_execution_20250825', name: 'code_execution' },
    ]);
    expect(c.tools.map((t) => t.name)).toEqual(['bash', 'str_replace_based_edit_tool']);
    expect(c.tools[0]!.inputSchema).toMatchObject({ properties: { command: { type: 'string' } } });
    expect(c.warnings).toEqual([
      'dropped tool "web_search" (web_search_20250305): Anthropic server tools cannot run on Amazon Q',
      'dropped tool "code_execution" (code_execution_20250825): Anthropic server tools cannot run on Amazon Q',
    ]);
  });

  test('tool_choice forms; disable_parallel_tool_use tolerated', () => {
    const choice = (tc: unknown) => tools([], { tool_choice: tc }).toolChoice;
    expect(choice({ type: 'auto', disable_parallel_tool_use: true })).toEqual({ type: 'auto' });
    expect(choice({ type: 'any' })).toEqual({ type: 'any' });
    expect(choice({ type: 'none' })).toEqual({ type: 'none' });
    expect(choice({ type: 'tool', name: 'get_weather' })).toEqual({ type: 'tool', name: 'get_weather' });
  });

  test('custom tool errors name the field', () => {
    rejects({ ...base, tools: [{ name: 'x' }] }, 'tools.0.input_schema', /Field required/);
    rejects({ ...base, tools: [{ input_schema: { type: 'object' } }] }, 'tools.0.name', /Field required/);
    rejects({ ...base, tools: [{ name: 'x', input_schema: 'object' }] }, 'tools.0.input_schema', /dictionary/);
    rejects({ ...base, tools: {} }, 'tools', /valid list/);
  });
});
