// Frame → QEvent mapping: every event of §2.6, the three message types of §1.5, malformed payloads.
import { describe, expect, test } from 'bun:test';
import { UpstreamError } from '../../src/upstream/errors';
import { EventStreamDecoder, type Frame, type HeaderValue } from '../../src/upstream/eventstream';
import { encodeErrorFrame, encodeEvent, encodeException, encodeFrame } from '../../src/upstream/eventstream-encode';
import { frameToEvent, type QEvent } from '../../src/upstream/q-events';

const decode = (bytes: Uint8Array): Frame => {
  const frames = new EventStreamDecoder().push(bytes);
  expect(frames).toHaveLength(1);
  return frames[0]!;
};
const s = (value: string): HeaderValue => ({ type: 'string', value });
const raw = (eventType: string, payload: string): Frame =>
  decode(
    encodeFrame(
      [
        [':event-type', s(eventType)],
        [':content-type', s('application/json')],
        [':message-type', s('event')],
      ],
      new TextEncoder().encode(payload),
    ),
  );
const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));

const catchErr = (f: () => unknown): UpstreamError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UpstreamError);
    return e as UpstreamError;
  }
  throw new Error('expected a throw');
};

describe('events', () => {
  const cases: Array<[string, string, unknown, QEvent]> = [
    ['text delta', 'assistantResponseEvent', { content: 'Hel' }, { type: 'assistantResponse', content: 'Hel' }],
    ['empty text delta', 'assistantResponseEvent', { content: '' }, { type: 'assistantResponse', content: '' }],
    ['text delta with modelId', 'assistantResponseEvent', { content: 'x', modelId: 'claude-sonnet-4.5' }, { type: 'assistantResponse', content: 'x' }],
    ['reasoning text', 'reasoningContentEvent', { text: 'The user greets me; ' }, { type: 'reasoning', text: 'The user greets me; ' }],
    ['reasoning signature', 'reasoningContentEvent', { signature: 'fake-sig' }, { type: 'reasoning', signature: 'fake-sig' }],
    ['reasoning redacted', 'reasoningContentEvent', { redactedContent: 'AAEC' }, { type: 'reasoning', redactedContent: 'AAEC' }],
    ['tool start', 'toolUseEvent', { toolUseId: 'tooluse_1', name: 'calc' }, { type: 'toolUse', toolUseId: 'tooluse_1', name: 'calc' }],
    ['tool fragment', 'toolUseEvent', { toolUseId: 'tooluse_1', name: 'calc', input: '{"city":' }, { type: 'toolUse', toolUseId: 'tooluse_1', name: 'calc', input: '{"city":' }],
    ['tool stop', 'toolUseEvent', { toolUseId: 'tooluse_1', name: 'calc', stop: true }, { type: 'toolUse', toolUseId: 'tooluse_1', name: 'calc', stop: true }],
    ['tool object input (lenient)', 'toolUseEvent', { toolUseId: 't', name: 'n', input: { path: '/a' }, stop: true }, { type: 'toolUse', toolUseId: 't', name: 'n', input: '{"path":"/a"}', stop: true }],
    ['tool null input', 'toolUseEvent', { toolUseId: 't', name: 'n', input: null }, { type: 'toolUse', toolUseId: 't', name: 'n' }],
    ['message metadata', 'messageMetadataEvent', { conversationId: 'c1', utteranceId: 'u1' }, { type: 'messageMetadata', conversationId: 'c1', utteranceId: 'u1' }],
    [
      'metadata',
      'metadataEvent',
      { tokenUsage: { uncachedInputTokens: 10, outputTokens: 5, totalTokens: 15, cacheReadInputTokens: 0, cacheWriteInputTokens: 2, bogus: 1 }, stopReason: 'END_TURN' },
      { type: 'metadata', tokenUsage: { uncachedInputTokens: 10, outputTokens: 5, totalTokens: 15, cacheReadInputTokens: 0, cacheWriteInputTokens: 2 }, stopReason: 'END_TURN' },
    ],
    ['metadata without usage', 'metadataEvent', {}, { type: 'metadata' }],
    ['metering (Kiro)', 'meteringEvent', { unit: 'credit', unitPlural: 'credits', usage: 0.01 }, { type: 'metering', usage: 0.01, unit: 'credit', unitPlural: 'credits' }],
    ['metering (Q model)', 'meteringEvent', { usage: 2 }, { type: 'metering', usage: 2 }],
    ['context usage', 'contextUsageEvent', { contextUsagePercentage: 1.7 }, { type: 'contextUsage', percentage: 1.7 }],
    ['code reference', 'codeReferenceEvent', { references: [] }, { type: 'ignored', eventType: 'codeReferenceEvent' }],
    ['web links', 'supplementaryWebLinksEvent', { supplementaryWebLinks: [] }, { type: 'ignored', eventType: 'supplementaryWebLinksEvent' }],
    ['followup', 'followupPromptEvent', { followupPrompt: { content: 'More?' } }, { type: 'ignored', eventType: 'followupPromptEvent' }],
    ['initial-response', 'initial-response', {}, { type: 'ignored', eventType: 'initial-response' }],
    ['unknown future event', 'futureEvent', { x: 1 }, { type: 'ignored', eventType: 'futureEvent' }],
  ];
  test.each(cases)('%s', (_n, eventType, payload, expected) => {
    expect(frameToEvent(decode(encodeEvent(eventType, payload)))).toEqual(expected);
  });

  test('golden §1.6 frame', () => {
    const hex =
      '0000007c0000005c3bddcf780b3a6576656e742d74797065070016617373697374616e74526573706f6e73654576656e740d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e0d3a6d6573736167652d747970650700056576656e747b22636f6e74656e74223a224869227db02babdc';
    expect(frameToEvent(decode(fromHex(hex)))).toEqual({ type: 'assistantResponse', content: 'Hi' });
  });

  test('unknown events are ignored even with garbage payloads', () => {
    expect(frameToEvent(raw('futureEvent', 'not json'))).toEqual({ type: 'ignored', eventType: 'futureEvent' });
  });
});

describe('malformed known events → stream error that says what', () => {
  test.each([
    ['non-JSON payload', 'assistantResponseEvent', '{"content":', /assistantResponseEvent.*not JSON/],
    ['empty payload', 'meteringEvent', '', /meteringEvent.*not JSON/],
    ['array payload', 'assistantResponseEvent', '[1]', /array/],
    ['null payload', 'toolUseEvent', 'null', /null/],
    ['content missing', 'assistantResponseEvent', '{}', /"content" is missing/],
    ['content a number', 'assistantResponseEvent', '{"content":5}', /"content" is number/],
    ['toolUseId missing', 'toolUseEvent', '{"name":"x"}', /"toolUseId"/],
    ['stop not boolean', 'toolUseEvent', '{"toolUseId":"t","name":"x","stop":"yes"}', /"stop"/],
    ['usage missing', 'meteringEvent', '{"unit":"credit"}', /"usage"/],
    ['percentage a string', 'contextUsageEvent', '{"contextUsagePercentage":"3"}', /contextUsagePercentage/],
    ['reasoning text not a string', 'reasoningContentEvent', '{"text":1}', /"text"/],
  ] as const)('%s', (_n, eventType, payload, pattern) => {
    const err = catchErr(() => frameToEvent(raw(eventType, payload)));
    expect(err.kind).toBe('stream');
    expect(err.phase).toBe('mid_stream');
    expect(err.message).toMatch(pattern);
  });
});

describe('exception and error frames', () => {
  test('modeled exception (:exception-type=error, the fake midstream_exception)', () => {
    const msg = 'Encountered an unexpected error when processing the request, please try again.';
    const err = catchErr(() => frameToEvent(decode(encodeException('error', { __type: 'InternalServerException', message: msg }))));
    expect(err.kind).toBe('stream');
    expect(err.phase).toBe('mid_stream');
    expect(err.errorType).toBe('InternalServerException');
    expect(err.upstreamMessage).toBe(msg);
  });

  test('modeled exception without __type still names InternalServerException', () => {
    const err = catchErr(() => frameToEvent(decode(encodeException('error', { message: 'boom', reason: 'MODEL_TEMPORARILY_UNAVAILABLE' }))));
    expect(err.errorType).toBe('InternalServerException');
    expect(err.reason).toBe('MODEL_TEMPORARILY_UNAVAILABLE');
    expect(err.kind).toBe('capacity');
  });

  test('golden §1.7 ThrottlingException frame → throttled, still mid_stream', () => {
    const hex =
      '000000b2000000613590d5d30d3a6d6573736167652d74797065070009657863657074696f6e0f3a657863657074696f6e2d747970650700135468726f74746c696e67457863657074696f6e0d3a636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b226d657373616765223a22546f6f206d616e792072657175657374732c20706c656173652077616974206265666f726520747279696e6720616761696e2e227d1d7c611b';
    const err = catchErr(() => frameToEvent(decode(fromHex(hex))));
    expect(err.kind).toBe('throttled');
    expect(err.phase).toBe('mid_stream');
    expect(err.errorType).toBe('ThrottlingException');
    expect(err.upstreamMessage).toBe('Too many requests, please wait before trying again.');
  });

  test.each([
    ['__type with namespace and suffix', { __type: 'com.amazon#ValidationException:http://x/', Message: 'Input is too long.', reason: 'CONTENT_LENGTH_EXCEEDS_THRESHOLD' }, 'ValidationException', 'too_long'],
    ['code key', { code: 'ServiceQuotaExceededException', errorMessage: 'You have reached the limit.', reason: 'MONTHLY_REQUEST_COUNT' }, 'ServiceQuotaExceededException', 'quota'],
    ['unknown code', { __type: 'SomethingNewException', message: 'x' }, 'SomethingNewException', 'stream'],
  ] as const)('unhandled exception type: %s', (_n, payload, errorType, kind) => {
    const err = catchErr(() => frameToEvent(decode(encodeException('somethingElse', payload))));
    expect(err.errorType).toBe(errorType);
    expect(err.kind).toBe(kind);
    expect(err.phase).toBe('mid_stream');
  });

  test('exception with a non-JSON payload', () => {
    const f = decode(encodeFrame([[':message-type', s('exception')], [':exception-type', s('ThrottlingException')]], new TextEncoder().encode('slow down')));
    const err = catchErr(() => frameToEvent(f));
    expect(err.kind).toBe('throttled');
    expect(err.upstreamMessage).toBe('slow down');
  });

  test('golden §1.7 unmodeled error frame', () => {
    const hex =
      '0000007600000066b7610e6b0d3a6d6573736167652d747970650700056572726f720b3a6572726f722d636f646507000d496e7465726e616c4572726f720e3a6572726f722d6d657373616765070022416e20696e7465726e616c20736572766572206572726f72206f636375727265642e8ba171ef';
    const err = catchErr(() => frameToEvent(decode(fromHex(hex))));
    expect(err.kind).toBe('stream');
    expect(err.phase).toBe('mid_stream');
    expect(err.errorType).toBe('InternalError');
    expect(err.upstreamMessage).toBe('An internal server error occurred.');
  });

  test('error frame with a throttling code', () => {
    const err = catchErr(() => frameToEvent(decode(encodeErrorFrame('ThrottlingException', 'Too many requests'))));
    expect(err.kind).toBe('throttled');
  });

  test.each([
    ['unknown :message-type', [[':message-type', s('weird')]]],
    ['missing :message-type', [[':event-type', s('assistantResponseEvent')]]],
    ['non-string :message-type', [[':message-type', { type: 'bool', value: true }]]],
    ['event without :event-type', [[':message-type', s('event')]]],
  ] as const)('%s → stream error', (_n, headers) => {
    const f = decode(encodeFrame(headers as unknown as Array<[string, HeaderValue]>, new TextEncoder().encode('{"content":"x"}')));
    const err = catchErr(() => frameToEvent(f));
    expect(err.kind).toBe('stream');
    expect(err.phase).toBe('mid_stream');
  });
});
