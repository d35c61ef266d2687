// Fixture tests of the Anthropic encoder: StreamParts → the exact SSE event sequence, and the
// collected message → Message JSON.

import { describe, expect, test } from 'bun:test';
import type { StreamPart, Usage } from '../../src/dialects/conversation';
import { AnthropicSseEncoder, encodeAnthropicMessage, PING_EVENT } from '../../src/dialects/anthropic/encode';
import { issueSignature, readSignature } from '../../src/dialects/anthropic/signature';
import { GatewayError } from '../../src/http/errors';

const usage: Usage = { inputTokens: 42, outputTokens: 7, reasoningTokens: 0 };
const meta = { id: 'msg_01test', model: 'claude-sonnet-4-5-20250929', inputTokens: 40 };

/** Runs parts through a fresh encoder; returns the raw SSE text and the parsed events. */
function run(parts: StreamPart[]) {
  const enc = new AnthropicSseEncoder(meta, 'req_1');
  let text = enc.start();
  for (const p of parts) text += enc.encode(p);
  const events = text
    .split('\n\n')
    .filter(Boolean)
    .map((frame) => {
      const [eventLine, dataLine, ...rest] = frame.split('\n');
      expect(rest).toEqual([]);
      const name = eventLine!.slice('event: '.length);
      const data = JSON.parse(dataLine!.slice('data: '.length));
      expect(data.type).toBe(name);
      return data as Record<string, any>;
    });
  return { text, events, done: enc.ended };
}

/** A compact trace: event type, plus index and delta type where they exist. */
const trace = (events: Record<string, any>[]) =>
  events.map((e) => [e.type, e.index, e.delta?.type ?? e.content_block?.type].filter((x) => x !== undefined).join(':'));

describe('streaming encoder', () => {
  test('message_start carries the full shell', () => {
    const { events } = run([]);
    expect(events[0]).toEqual({
      type: 'message_start',
      message: {
        id: 'msg_01test',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude-sonnet-4-5-20250929',
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 },
      },
    });
  });

  test('thinking, text and two tool calls: strictly increasing indexes, signature before stop', () => {
    const { events, done } = run([
      { type: 'thinking-delta', text: 'Let me ' },
      { type: 'thinking-delta', text: 'think.' },
      { type: 'thinking-end' },
      { type: 'text-delta', text: 'Checking ' },
      { type: 'text-delta', text: '' },
      { type: 'text-delta', text: 'both.' },
      { type: 'tool-call-start', id: 'tooluse_a', name: 'get_weather' },
      { type: 'tool-call-delta', id: 'tooluse_a', argumentsDelta: '{"city":' },
      { type: 'tool-call-delta', id: 'tooluse_a', argumentsDelta: '"Paris"}' },
      { type: 'tool-call-end', id: 'tooluse_a', input: { city: 'Paris' } },
      { type: 'tool-call-start', id: 'tooluse_b', name: 'get_time' },
      { type: 'tool-call-end', id: 'tooluse_b', input: { tz: 'CET' } },
      { type: 'finish', reason: 'tool_use', usage },
      { type: 'text-delta', text: 'ignored after finish' },
    ]);
    expect(done).toBe(true);
    expect(trace(events)).toEqual([
      'message_start',
      'content_block_start:0:thinking',
      'content_block_delta:0:thinking_delta',
      'content_block_delta:0:thinking_delta',
      'content_block_delta:0:signature_delta',
      'content_block_stop:0',
      'content_block_start:1:text',
      'content_block_delta:1:text_delta',
      'content_block_delta:1:text_delta',
      'content_block_stop:1',
      'content_block_start:2:tool_use',
      'content_block_delta:2:input_json_delta',
      'content_block_delta:2:input_json_delta',
      'content_block_stop:2',
      'content_block_start:3:tool_use',
      'content_block_delta:3:input_json_delta',
      'content_block_stop:3',
      'message_delta',
      'message_stop',
    ]);
    expect(events[1]!.content_block).toEqual({ type: 'thinking', thinking: '', signature: '' });
    expect(events[4]!.delta).toEqual({ type: 'signature_delta', signature: 'q2api.v1.none' });
    expect(events[10]!.content_block).toEqual({ type: 'tool_use', id: 'tooluse_a', name: 'get_weather', input: {} });
    expect(events[15]!.delta).toEqual({ type: 'input_json_delta', partial_json: '{"tz":"CET"}' });
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 42, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 7 },
    });
  });

  test('an upstream signature is wrapped, and a thinking block closed by text still gets one', () => {
    const signed = run([{ type: 'thinking-delta', text: 'a' }, { type: 'thinking-end', signature: 'fake-sig' }]).events;
    const sig = signed.find((e) => e.delta?.type === 'signature_delta')!.delta.signature;
    expect(sig).toBe(issueSignature('fake-sig'));
    expect(readSignature(sig)).toEqual({ ours: true, upstream: 'fake-sig' });
    const implicit = run([{ type: 'thinking-delta', text: 'a' }, { type: 'text-delta', text: 'b' }]).events;
    expect(trace(implicit).slice(1, 6)).toEqual([
      'content_block_start:0:thinking',
      'content_block_delta:0:thinking_delta',
      'content_block_delta:0:signature_delta',
      'content_block_stop:0',
      'content_block_start:1:text',
    ]);
  });

  test('stop sequence and max_tokens finishes', () => {
    const stop = run([{ type: 'text-delta', text: 'a' }, { type: 'finish', reason: 'stop_sequence', stopSequence: 'END', usage }]).events;
    expect(stop.at(-2)!.delta).toEqual({ stop_reason: 'stop_sequence', stop_sequence: 'END' });
    const max = run([{ type: 'text-delta', text: 'a' }, { type: 'finish', reason: 'max_tokens', usage }]).events;
    expect(max.at(-2)!.delta).toEqual({ stop_reason: 'max_tokens', stop_sequence: null });
  });

  test('an error part is an error event and nothing else: no block stop, no message_delta, no fake end_turn', () => {
    const error = new GatewayError('upstream', 'The upstream stream broke off.');
    const { text, events, done } = run([
      { type: 'text-delta', text: 'Hel' },
      { type: 'error', error, usage },
      { type: 'finish', reason: 'end_turn', usage },
    ]);
    expect(done).toBe(true);
    expect(trace(events)).toEqual(['message_start', 'content_block_start:0:text', 'content_block_delta:0:text_delta', 'error']);
    expect(events.at(-1)).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'The upstream stream broke off.' },
      request_id: 'req_1',
    });
    expect(text).not.toContain('end_turn');
  });

  test('overloaded mid-stream keeps its error type', () => {
    const { events } = run([{ type: 'error', error: new GatewayError('overloaded', 'Overloaded'), usage }]);
    expect(events.at(-1)!.error).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
  });

  test('ping frame', () => {
    expect(PING_EVENT).toBe('event: ping\ndata: {"type":"ping"}\n\n');
  });
});

describe('non-streaming encoder', () => {
  test('the collected message as Anthropic Message JSON', () => {
    const out = encodeAnthropicMessage(
      {
        content: [
          { type: 'thinking', text: 'hmm', signature: 'fake-sig' },
          { type: 'text', text: 'Let me check.' },
          { type: 'text', text: '' },
          { type: 'tool_call', id: 'tooluse_x', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_call', id: 'tooluse_y', name: 'broken', input: undefined, invalid: 'truncated' },
        ],
        finishReason: 'tool_use',
        usage,
      },
      meta,
    );
    expect(out).toEqual({
      ok: true,
      message: {
        id: 'msg_01test',
        type: 'message',
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: issueSignature('fake-sig') },
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'tooluse_x', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'tooluse_y', name: 'broken', input: {} },
        ],
        model: 'claude-sonnet-4-5-20250929',
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: { input_tokens: 42, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 7 },
      },
    });
  });

  test('stop_sequence is reported; an error is handed back for its status', () => {
    const stopped = encodeAnthropicMessage({ content: [{ type: 'text', text: 'a' }], finishReason: 'stop_sequence', stopSequence: '##', usage }, meta);
    expect(stopped.ok && [stopped.message.stop_reason, stopped.message.stop_sequence]).toEqual(['stop_sequence', '##']);
    const error = new GatewayError('rate_limit', 'slow down');
    expect(encodeAnthropicMessage({ content: [], finishReason: null, usage, error }, meta)).toEqual({ ok: false, error });
  });
});
