// Fixture tests of the OpenAI Chat Completions decoder: request JSON → Conversation, and the 400s
// (with `param`) for everything the gateway refuses.
import { describe, expect, test } from 'bun:test';
import { decodeChatRequest } from '../../src/dialects/openai/decode';
import { GatewayError } from '../../src/http/errors';

const PNG_B64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const base = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...extra });

function rejects(body: unknown): GatewayError {
  try {
    decodeChatRequest(body);
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).status).toBe(400);
    return e as GatewayError;
  }
  throw new Error('expected a 400');
}

describe('messages', () => {
  test('system and developer text joins into system; user strings and parts keep order', () => {
    const { conversation: c, stream, includeUsage } = decodeChatRequest({
      model: ' claude-sonnet-4.5 ',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Use French.' }, { type: 'text', text: 'No emoji.' }] },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}` } }] },
      ],
    });
    expect(c.model).toBe('claude-sonnet-4.5');
    expect(c.system).toBe('Be brief.\n\nUse French.\nNo emoji.');
    expect(c.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', mediaType: 'image/png', data: PNG_B64 }] },
    ]);
    expect(stream).toBe(false);
    expect(includeUsage).toBe(false);
    expect(c.toolChoice).toEqual({ type: 'none' });
    expect(c.thinking).toEqual({ type: 'disabled' });
    expect(c.responseFormat).toEqual({ type: 'text' });
    expect(c.maxTokens).toBeUndefined();
  });

  test('a tool round trip: assistant tool_calls (JSON-string arguments), tool results by id', () => {
    const { conversation: c } = decodeChatRequest({
      model: 'm',
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'I should call the tool.',
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'noon' }] },
      ],
      tools: [
        { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
        { type: 'function', function: { name: 'get_time' } },
      ],
      tool_choice: 'required',
    });
    expect(c.messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'thinking', text: 'I should call the tool.' },
        { type: 'tool_call', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_call', id: 'call_2', name: 'get_time', input: {} },
      ],
    });
    expect(c.messages[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', toolCallId: 'call_1', content: [{ type: 'text', text: '18C' }], isError: false }] });
    expect(c.messages[3]!.content[0]).toMatchObject({ type: 'tool_result', toolCallId: 'call_2', content: [{ type: 'text', text: 'noon' }] });
    expect(c.tools[1]).toEqual({ name: 'get_time', description: '', inputSchema: { type: 'object', properties: {} } });
    expect(c.toolChoice).toEqual({ type: 'any' });
  });

  test('broken echoed arguments become {} with a warning; empty assistant turns are dropped', () => {
    const { conversation: c } = decodeChatRequest({
      model: 'm',
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{"path":"/srv/a' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'error: bad args' },
        { role: 'assistant', content: null },
        { role: 'user', content: 'again' },
      ],
    });
    expect(c.messages[1]!.content).toEqual([{ type: 'tool_call', id: 'c1', name: 'f', input: {} }]);
    expect(c.messages.length).toBe(4);
    expect(c.warnings).toEqual(['messages[1].tool_calls[0].function.arguments is not a JSON object; sent as {}']);
  });

  test('http image URLs are left for the shell to fetch, with the field they came from', () => {
    const { conversation: c, pendingImages } = decodeChatRequest({
      model: 'm',
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png', detail: 'high' } }] }],
    });
    expect(pendingImages.length).toBe(1);
    expect(pendingImages[0]!.url).toBe('https://example.com/cat.png');
    expect(pendingImages[0]!.param).toBe('messages[0].content[0].image_url');
    expect(c.messages[0]!.content[0]).toBe(pendingImages[0]!.part);
  });

  test('refusals and text parts in assistant history become text', () => {
    const { conversation: c } = decodeChatRequest({
      model: 'm',
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'refusal', refusal: 'no' }] },
        { role: 'user', content: 'y' },
      ],
    });
    expect(c.messages[1]!.content).toEqual([{ type: 'text', text: 'a' }, { type: 'text', text: 'no' }]);
  });
});

describe('parameters', () => {
  test('stream, include_usage, limits, stop, effort, response_format, named tool_choice', () => {
    const d = decodeChatRequest(
      base({
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 100,
        max_completion_tokens: 50,
        stop: ['END', ''],
        reasoning_effort: 'high',
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' }, strict: true } },
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
        temperature: 0.2,
        top_p: 1,
        seed: 7,
        user: 'u',
        logprobs: false,
        n: 1,
        parallel_tool_calls: false,
      }),
    );
    expect(d.stream).toBe(true);
    expect(d.includeUsage).toBe(true);
    const c = d.conversation;
    expect(c.maxTokens).toBe(50);
    expect(c.stopSequences).toEqual(['END']);
    expect(c.thinking).toEqual({ type: 'adaptive', effort: 'high' });
    expect(c.responseFormat).toEqual({ type: 'json_schema', name: 'x', schema: { type: 'object' }, strict: true });
    expect(c.toolChoice).toEqual({ type: 'tool', name: 'f' });
    expect(c.warnings[0]).toContain('parallel_tool_calls=false');
  });

  test('reasoning_effort values, include_usage without stream, string stop', () => {
    const effort = (e: string) => decodeChatRequest(base({ reasoning_effort: e })).conversation.thinking;
    expect(effort('minimal')).toEqual({ type: 'adaptive', effort: 'low' });
    expect(effort('medium')).toEqual({ type: 'adaptive', effort: 'medium' });
    expect(effort('max')).toEqual({ type: 'adaptive', effort: 'max' });
    expect(effort('none')).toEqual({ type: 'disabled' });
    expect(decodeChatRequest(base({ stream_options: { include_usage: true } })).includeUsage).toBe(false);
    expect(decodeChatRequest(base({ stop: 'x' })).conversation.stopSequences).toEqual(['x']);
    expect(decodeChatRequest(base({ response_format: { type: 'json_object' } })).conversation.responseFormat).toEqual({ type: 'json_object' });
  });
});

describe('400s name the field', () => {
  const cases: Array<[string, unknown, string]> = [
    ['not an object', [], 'body'],
    ['missing model', { messages: [{ role: 'user', content: 'x' }] }, 'model'],
    ['no messages', { model: 'm', messages: [] }, 'messages'],
    ['n > 1', base({ n: 2 }), 'n'],
    ['logprobs', base({ logprobs: true }), 'logprobs'],
    ['stop > 4', base({ stop: ['a', 'b', 'c', 'd', 'e'] }), 'stop'],
    ['bad temperature', base({ temperature: 3 }), 'temperature'],
    ['bad max_tokens', base({ max_tokens: 0 }), 'max_tokens'],
    ['bad effort', base({ reasoning_effort: 'extreme' }), 'reasoning_effort'],
    ['bad role', { model: 'm', messages: [{ role: 'bot', content: 'x' }] }, 'messages[0].role'],
    ['legacy function role', { model: 'm', messages: [{ role: 'user', content: 'x' }, { role: 'function', name: 'f', content: 'r' }] }, 'messages[1].role'],
    ['legacy functions param', base({ functions: [] }), 'functions'],
    ['audio part', { model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }, 'messages[0].content[0]'],
    ['file part', { model: 'm', messages: [{ role: 'user', content: [{ type: 'file', file: {} }] }] }, 'messages[0].content[0]'],
    ['svg data URL', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/svg+xml;base64,AAAA' } }] }] }, 'messages[0].content[0].image_url'],
    ['not base64', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } }] }] }, 'messages[0].content[0].image_url'],
    ['ftp image', { model: 'm', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] }, 'messages[0].content[0].image_url'],
    ['image in system', { model: 'm', messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'x' } }] }, { role: 'user', content: 'x' }] }, 'messages[0].content[0]'],
    ['tool without id', { model: 'm', messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'r' }] }, 'messages[1].tool_call_id'],
    ['tool call without name', { model: 'm', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: {} }] }] }, 'messages[1].tool_calls[0].function.name'],
    ['only system', { model: 'm', messages: [{ role: 'system', content: 'x' }] }, 'messages'],
    ['non-function tool', base({ tools: [{ type: 'custom', custom: { name: 'x' } }] }), 'tools[0].type'],
    ['duplicate tool', base({ tools: [{ type: 'function', function: { name: 'f' } }, { type: 'function', function: { name: 'f' } }] }), 'tools[1].function.name'],
    ['tool_choice unknown name', base({ tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: { type: 'function', function: { name: 'g' } } }), 'tool_choice'],
    ['required without tools', base({ tool_choice: 'required' }), 'tool_choice'],
    ['bad response_format', base({ response_format: { type: 'yaml' } }), 'response_format.type'],
  ];
  for (const [name, body, param] of cases) {
    test(name, () => {
      const e = rejects(body);
      expect(e.param).toBe(param);
      expect(e.kind).toBe('invalid_request');
    });
  }
});
