// The engine's failover tables: what each UpstreamError kind does before commit, and the
// GatewayError a client gets when every account failed.
import { describe, expect, test } from 'bun:test';
import { headerSafe, MAX_WARNINGS_HEADER_CHARS } from '../../src/chat/engine';
import { clientError, DEFAULT_RETRY_AFTER_S, exhaustedError, failoverAction, PROMPT_TOO_LONG } from '../../src/chat/failover';
import { UpstreamError, type UpstreamErrorKind } from '../../src/upstream/errors';

const err = (kind: UpstreamErrorKind, init: ConstructorParameters<typeof UpstreamError>[2] = {}) => new UpstreamError(kind, `${kind} happened`, init);

describe('failoverAction', () => {
  test.each([
    ['too_long', 'reject'],
    ['invalid_model', 'reject'],
    ['bad_request', 'reject'],
    ['invalid_token', 'refresh'],
    ['suspended', 'next_account'],
    ['forbidden', 'next_account'],
    ['quota', 'next_account'],
    ['throttled', 'next_account'],
    ['capacity', 'next_account'],
    ['server_error', 'next_account'],
    ['network', 'next_account'],
    ['timeout', 'next_account'],
    ['stream', 'next_account'],
  ] as const)('%s → %s', (kind, action) => {
    expect(failoverAction(err(kind)).action).toBe(action);
  });
});

describe('exhaustedError', () => {
  test.each([
    ['throttled', 'rate_limit', 429],
    ['quota', 'rate_limit', 429],
    ['capacity', 'overloaded', 529],
    ['timeout', 'timeout', 504],
    ['server_error', 'upstream', 502],
    ['network', 'upstream', 502],
    ['stream', 'upstream', 502],
    ['suspended', 'unavailable', 503],
    ['forbidden', 'unavailable', 503],
    ['invalid_token', 'unavailable', 503],
  ] as const)('%s → %s %d', (kind, gatewayKind, status) => {
    const e = exhaustedError(err(kind), 2);
    expect(e.kind).toBe(gatewayKind);
    expect(e.status).toBe(status);
    expect(e.message).toContain('2 accounts');
  });

  test('throttled carries retry-after: the upstream value rounded up, else the default', () => {
    expect(exhaustedError(err('throttled', { retryAfterMs: 7_200 }), 1).headers['retry-after']).toBe('8');
    expect(exhaustedError(err('throttled'), 1).headers['retry-after']).toBe(String(DEFAULT_RETRY_AFTER_S));
  });

  test('quota says the accounts are out of quota', () => {
    expect(exhaustedError(err('quota'), 3).message).toContain('out of quota');
  });
});

describe('clientError', () => {
  const ctx = { inputTokens: 1000, contextWindow: 200_000, qModelId: 'claude-sonnet-4.5' };

  test('too_long says "prompt is too long", with Anthropic-style numbers only when they are true', () => {
    const tooLong = err('too_long', { upstreamMessage: 'Input is too long.' });
    const vague = clientError(tooLong, ctx);
    expect(vague).toMatchObject({ kind: 'invalid_request', status: 400 });
    expect(vague.message.startsWith(PROMPT_TOO_LONG)).toBe(true);
    expect(vague.message).not.toMatch(/tokens >/);
    expect(clientError(tooLong, { ...ctx, inputTokens: 250_000 }).message).toContain('250000 tokens > 200000 maximum');
  });

  test('invalid model and bad request are 400s naming the upstream message', () => {
    const model = clientError(err('invalid_model', { upstreamMessage: 'Invalid model.' }), ctx);
    expect(model).toMatchObject({ kind: 'invalid_request', status: 400, param: 'model' });
    expect(model.message).toContain('claude-sonnet-4.5');
    expect(clientError(err('bad_request', { upstreamMessage: 'Improperly formed request.' }), ctx).message).toContain('Improperly formed request.');
  });
});

describe('headerSafe', () => {
  test('printable ASCII only, bounded', () => {
    expect(headerSafe('dropped “web_search”\r\nnext')).toBe('dropped web_search next');
    const long = headerSafe('x'.repeat(5000));
    expect(long.length).toBe(MAX_WARNINGS_HEADER_CHARS);
    expect(long.endsWith('...')).toBe(true);
  });
});
