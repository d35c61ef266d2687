// Fixture tests of the OpenAI encoder: StreamPart sequences → exact chunk frames, and the
// non-streaming chat.completion fold.
import { describe, expect, test } from 'bun:test';
import type { CollectedMessage } from '../../src/chat/types';
import type { StreamPart, Usage } from '../../src/dialects/conversation';
import { chatCompletion, createChunkEncoder, unwrapJsonFence, type CompletionMeta } from '../../src/dialects/openai/encode';
import { GatewayError } from '../../src/http/errors';

const meta: CompletionMeta = { id: 'chatcmpl-1', created: 1700000000, model: 'gpt-4o', systemFingerprint: 'fp_q2api', inputTokens: 11 };
const usage: Usage = { inputTokens: 12, outputTokens: 7, reasoningTokens: 3 };

/** Encodes parts and parses the frames back: JSON objects, '[DONE]' for the sentinel. */
function run(parts: StreamPart[], includeUsage = false): Array<Record<string, any> | '[DONE]'> {
  const enc = createChunkEncoder(meta, { includeUsage });
  const text = enc.start() + parts.map((p) => enc.encode(p)).join('');
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((f) => {
      expect(f.startsWith('data: ')).toBe(true);
      const data = f.slice(6);
      return data === '[DONE]' ? '[DONE]' : JSON.parse(data);
    });
}
const deltas = (frames: ReturnType<typeof run>) => frames.filter((f) => f !== '[DONE]' && f.choices?.length).map((f: any) => f.choices[0].delta);

describe('streaming chunks', () => {
  test('role first, thinking only in reasoning_content, text in content, stop + [DONE]', () => {
    const frames = run([
      { type: 'thinking-delta', text: 'hmm' },
      { type: 'thinking-end', signature: 'sig' },
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: '' },
      { type: 'text-delta', text: 'lo' },
      { type: 'finish', reason: 'end_turn', usage },
    ]);
    const first = frames[0] as Record<string, any>;
    expect(first).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: 'gpt-4o',
      system_fingerprint: 'fp_q2api',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
    });
    expect(deltas(frames)).toEqual([{ role: 'assistant', content: '' }, { reasoning_content: 'hmm' }, { content: 'Hel' }, { content: 'lo' }, {}]);
    expect((frames.at(-2) as any).choices[0].finish_reason).toBe('stop');
    expect(frames.at(-1)).toBe('[DONE]');
  });

  test('two tool calls: indexes 0 and 1, first fragment has id/type/name, later only arguments', () => {
    const frames = run([
      { type: 'tool-call-start', id: 'tooluse_a', name: 'f' },
      { type: 'tool-call-delta', id: 'tooluse_a', argumentsDelta: '{"x":' },
      { type: 'tool-call-delta', id: 'tooluse_a', argumentsDelta: '1}' },
      { type: 'tool-call-end', id: 'tooluse_a', input: { x: 1 } },
      { type: 'tool-call-start', id: 'tooluse_b', name: 'g' },
      { type: 'tool-call-end', id: 'tooluse_b', input: {} },
      { type: 'finish', reason: 'tool_use', usage },
    ]);
    expect(deltas(frames).slice(1)).toEqual([
      { tool_calls: [{ index: 0, id: 'tooluse_a', type: 'function', function: { name: 'f', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{"x":' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '1}' } }] },
      { tool_calls: [{ index: 1, id: 'tooluse_b', type: 'function', function: { name: 'g', arguments: '' } }] },
      // arguments that never streamed are sent whole at the end, so the client can parse them
      { tool_calls: [{ index: 1, function: { arguments: '{}' } }] },
      {},
    ]);
    expect((frames.at(-2) as any).choices[0].finish_reason).toBe('tool_calls');
  });

  test('include_usage: usage:null on chunks, then one usage chunk with empty choices before [DONE]', () => {
    const frames = run([{ type: 'text-delta', text: 'a' }, { type: 'finish', reason: 'max_tokens', usage }], true);
    expect((frames[0] as any).usage).toBeNull();
    expect((frames[2] as any).choices[0].finish_reason).toBe('length');
    expect(frames[3]).toMatchObject({
      object: 'chat.completion.chunk',
      choices: [],
      usage: {
        prompt_tokens: 12,
        completion_tokens: 7,
        total_tokens: 19,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 3 },
      },
    });
    expect(frames[4]).toBe('[DONE]');
  });

  test('stop_sequence is "stop"; missing input tokens fall back to the pre-count', () => {
    const frames = run([{ type: 'finish', reason: 'stop_sequence', stopSequence: 'END', usage: { ...usage, inputTokens: 0 } }], true);
    expect((frames[1] as any).choices[0].finish_reason).toBe('stop');
    expect((frames[2] as any).usage.prompt_tokens).toBe(11);
  });

  test('an error part becomes an error chunk and the stream ends without [DONE]', () => {
    const enc = createChunkEncoder(meta, { includeUsage: false });
    enc.start();
    enc.encode({ type: 'text-delta', text: 'par' });
    const text = enc.encode({ type: 'error', error: new GatewayError('upstream', 'stream broke', { code: 'upstream_error' }), usage });
    expect(text).toBe('data: {"error":{"message":"stream broke","type":"server_error","param":null,"code":"upstream_error"}}\n\n');
    expect(enc.ended).toBe(true);
    expect(enc.encode({ type: 'text-delta', text: 'late' })).toBe('');
  });
});

describe('non-streaming completion', () => {
  const msg = (content: CollectedMessage['content'], finishReason: CollectedMessage['finishReason'] = 'end_turn'): CollectedMessage => ({ content, finishReason, usage });

  test('text and reasoning', () => {
    const c = chatCompletion(msg([{ type: 'thinking', text: 'think' }, { type: 'text', text: 'Hi' }]), meta, { type: 'text' });
    expect(c).toEqual({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1700000000,
      model: 'gpt-4o',
      system_fingerprint: 'fp_q2api',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', reasoning_content: 'think', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 3 } },
    });
  });

  test('only tool calls: content null, arguments a JSON string, finish tool_calls', () => {
    const c = chatCompletion(msg([{ type: 'tool_call', id: 't1', name: 'f', input: { a: [1] } }], 'tool_use'), meta, { type: 'text' });
    expect(c.choices[0]!.message.content).toBeNull();
    expect(c.choices[0]!.message.tool_calls).toEqual([{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":[1]}' } }]);
    expect(c.choices[0]!.finish_reason).toBe('tool_calls');
    expect('reasoning_content' in c.choices[0]!.message).toBe(false);
  });

  test('json response_format unwraps a fenced answer only when it parses', () => {
    const c = chatCompletion(msg([{ type: 'text', text: '```json\n{"a":1}\n```' }]), meta, { type: 'json_object' });
    expect(c.choices[0]!.message.content).toBe('{"a":1}');
    expect(unwrapJsonFence('```json\n{broken\n```')).toBe('```json\n{broken\n```');
    expect(unwrapJsonFence('plain')).toBe('plain');
  });
});
