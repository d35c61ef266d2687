// Classification of upstream HTTP and auth errors: every §3.2 catalogue body, plus the edge cases.
import { describe, expect, test } from 'bun:test';
import {
  AuthError,
  classifyAuthError,
  classifyHttpError,
  classifyStreamFault,
  ERROR_REACTIONS,
  isRetryableOnAnotherAccount,
  parseRetryAfter,
  resolveErrorType,
  sanitizeErrorType,
  UpstreamError,
  type UpstreamErrorKind,
} from '../../src/upstream/errors';

const CORAL = ':http://internal.amazon.com/coral/com.amazon.aws.codewhisperer/';
const hdr = (type?: string, extra: Record<string, string> = {}): Headers =>
  new Headers({ 'content-type': 'application/json', ...(type ? { 'x-amzn-ErrorType': `${type}${CORAL}` } : {}), ...extra });

interface Case {
  name: string;
  status: number;
  type?: string;
  body: string;
  kind: UpstreamErrorKind;
  reason?: string;
}

// upstream-protocol.md §3.2, verbatim bodies.
const CATALOGUE: Case[] = [
  { name: 'invalid/expired bearer', status: 403, type: 'AccessDeniedException', body: '{"message":"The bearer token included in the request is invalid.","reason":null}', kind: 'invalid_token' },
  { name: 'suspended', status: 403, type: 'AccessDeniedException', body: `{"message":"Your User ID (d-9067642ac7.e4c8e4a8-1011-70d4-5f3c-5b4b0b0b0b0b) temporarily is suspended. We've locked your account as a security precaution. To restore access, please contact our support team to verify your identity: https://support.aws.amazon.com/#/contacts/kiro","reason":null}`, kind: 'suspended' },
  { name: 'suspended (reason only)', status: 403, type: 'AccessDeniedException', body: '{"message":"Access denied.","reason":"TEMPORARILY_SUSPENDED"}', kind: 'suspended', reason: 'TEMPORARILY_SUSPENDED' },
  { name: 'subscription not entitled (__type only)', status: 403, body: '{"__type":"com.amazon.aws.codewhisperer#AccessDeniedException","message":"Your subscription does not support this application. Please contact your administrator."}', kind: 'forbidden' },
  { name: 'feature not allowed', status: 403, type: 'AccessDeniedException', body: '{"message":"User is not authorized to access this feature.","reason":null}', kind: 'forbidden' },
  { name: 'rate limit', status: 429, type: 'ThrottlingException', body: '{"message":"Too many requests, please wait before trying again.","reason":null}', kind: 'throttled' },
  { name: 'model capacity', status: 429, type: 'ThrottlingException', body: '{"message":"I am experiencing high traffic, please try again shortly.","reason":"INSUFFICIENT_MODEL_CAPACITY"}', kind: 'capacity', reason: 'INSUFFICIENT_MODEL_CAPACITY' },
  { name: 'abuse throttle', status: 429, type: 'ThrottlingException', body: '{"message":"Due to suspicious activity, we are imposing temporary limits on how frequently your account (123) can send a request to Kiro while we investigate.","reason":null}', kind: 'throttled' },
  { name: 'monthly limit (Kiro)', status: 402, type: 'ServiceQuotaExceededException', body: '{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}', kind: 'quota', reason: 'MONTHLY_REQUEST_COUNT' },
  { name: 'overage cap', status: 402, type: 'ServiceQuotaExceededException', body: '{"message":"You have reached the limit for overages.","reason":"OVERAGE_REQUEST_LIMIT_EXCEEDED"}', kind: 'quota', reason: 'OVERAGE_REQUEST_LIMIT_EXCEEDED' },
  { name: 'legacy monthly limit (400)', status: 400, type: 'ThrottlingException', body: '{"message":"Maximum com.amazon.aws.codewhisperer.streaming.GenerateAssistantResponse reached for this month."}', kind: 'quota' },
  { name: 'legacy monthly limit (429)', status: 429, type: 'ThrottlingException', body: '{"message":"Maximum com.amazon.aws.codewhisperer.streaming.GenerateAssistantResponse reached for this month."}', kind: 'quota' },
  { name: 'daily limit', status: 429, type: 'ThrottlingException', body: `{"message":"You've reached your daily usage limit. Please return tomorrow to continue building.","reason":"DAILY_REQUEST_COUNT"}`, kind: 'quota', reason: 'DAILY_REQUEST_COUNT' },
  { name: 'context too long', status: 400, type: 'ValidationException', body: '{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}', kind: 'too_long', reason: 'CONTENT_LENGTH_EXCEEDS_THRESHOLD' },
  { name: 'bad model', status: 400, type: 'ValidationException', body: '{"message":"Invalid model. Please select a different model to continue.","reason":"INVALID_MODEL_ID"}', kind: 'invalid_model', reason: 'INVALID_MODEL_ID' },
  { name: 'malformed conversation', status: 400, type: 'ValidationException', body: '{"message":"Improperly formed request.","reason":null}', kind: 'bad_request' },
  { name: 'internal', status: 500, type: 'InternalServerException', body: '{"message":"Encountered an unexpected error when processing the request, please try again.","reason":null}', kind: 'server_error' },
  { name: 'legacy overload (500)', status: 500, type: 'InternalServerException', body: '{"message":"Encountered unexpectedly high load when processing the request, please try again."}', kind: 'capacity' },
  { name: 'legacy overload (503)', status: 503, type: 'ServiceUnavailableException', body: '{"message":"Encountered unexpectedly high load when processing the request, please try again."}', kind: 'capacity' },
  { name: 'unavailable', status: 503, type: 'ServiceUnavailableException', body: '{"message":"..."}', kind: 'server_error' },
];

// Status/reason/text rules of §3.3 not exercised by the catalogue bodies.
const EXTRA: Case[] = [
  { name: '401 anything', status: 401, body: '{"message":"Unauthorized"}', kind: 'invalid_token' },
  { name: '401 empty body', status: 401, body: '', kind: 'invalid_token' },
  { name: '403 empty body', status: 403, body: '', kind: 'forbidden' },
  { name: '429 html body', status: 429, body: '<html><body>Too Many Requests</body></html>', kind: 'throttled' },
  { name: '500 empty body', status: 500, body: '', kind: 'server_error' },
  { name: '502 html from a load balancer', status: 502, body: '<html>Bad Gateway</html>', kind: 'server_error' },
  { name: '400 non-JSON', status: 400, body: 'Bad Request', kind: 'bad_request' },
  { name: '404 unknown route', status: 404, body: '{"message":"not found"}', kind: 'bad_request' },
  { name: '413 from a proxy', status: 413, body: '', kind: 'too_long' },
  { name: 'too long by message only', status: 400, type: 'ValidationException', body: '{"message":"Input is too long."}', kind: 'too_long' },
  { name: 'MONTHLY_REQUEST_COUNT on a 429', status: 429, type: 'ThrottlingException', body: '{"message":"x","reason":"MONTHLY_REQUEST_COUNT"}', kind: 'quota', reason: 'MONTHLY_REQUEST_COUNT' },
  { name: 'quota marker in a 400 message', status: 400, body: '{"message":"limit MONTHLY_REQUEST_COUNT exceeded"}', kind: 'quota' },
  { name: 'quota marker in non-JSON text', status: 400, body: 'error: OVERAGE_REQUEST_LIMIT_EXCEEDED', kind: 'quota' },
  { name: '500 MODEL_TEMPORARILY_UNAVAILABLE', status: 500, type: 'InternalServerException', body: '{"message":"Model unavailable","reason":"MODEL_TEMPORARILY_UNAVAILABLE"}', kind: 'capacity', reason: 'MODEL_TEMPORARILY_UNAVAILABLE' },
  { name: '403 with bearer but not invalid', status: 403, body: '{"message":"The bearer token lacks scopes."}', kind: 'forbidden' },
  { name: 'Message key spelled with capital M', status: 403, body: '{"Message":"The bearer token included in the request is invalid."}', kind: 'invalid_token' },
  { name: 'errorMessage key', status: 403, body: '{"errorMessage":"The bearer token included in the request is invalid."}', kind: 'invalid_token' },
];

describe('classifyHttpError', () => {
  test.each([...CATALOGUE, ...EXTRA].map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const err = classifyHttpError(c.status, hdr(c.type), c.body, 'req-1');
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toBeInstanceOf(Error);
    expect(err.kind).toBe(c.kind);
    expect(err.status).toBe(c.status);
    expect(err.phase).toBe('before_first_byte');
    expect(err.requestId).toBe('req-1');
    expect(err.reason).toBe(c.reason);
    if (c.type) expect(err.errorType).toBe(c.type);
    expect(err.message).toContain(String(c.status));
  });

  test('errorType from __type when there is no header', () => {
    const c = CATALOGUE.find((x) => x.name.startsWith('subscription'))!;
    const err = classifyHttpError(c.status, new Headers(), c.body);
    expect(err.errorType).toBe('AccessDeniedException');
    expect(err.upstreamMessage).toBe('Your subscription does not support this application. Please contact your administrator.');
  });

  test('request id falls back to x-amzn-RequestId', () => {
    const err = classifyHttpError(500, new Headers({ 'x-amzn-RequestId': 'abc-123' }), '');
    expect(err.requestId).toBe('abc-123');
    expect(err.message).toContain('empty body');
  });

  test('Retry-After seconds and HTTP date', () => {
    const body = '{"message":"Too many requests, please wait before trying again.","reason":null}';
    expect(classifyHttpError(429, hdr('ThrottlingException', { 'Retry-After': '7' }), body).retryAfterMs).toBe(7000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    const err = classifyHttpError(429, hdr(undefined, { 'Retry-After': 'Thu, 01 Jan 2026 00:00:30 GMT' }), body, undefined, now);
    expect(err.retryAfterMs).toBe(30_000);
    expect(classifyHttpError(429, hdr(), body).retryAfterMs).toBeUndefined();
  });

  test('non-JSON body is kept (truncated) in the message', () => {
    const err = classifyHttpError(502, new Headers(), 'x'.repeat(500));
    expect(err.upstreamMessage).toBeUndefined();
    expect(err.message.length).toBeLessThan(260);
  });
});

describe('error type resolution (AWS SDK order)', () => {
  test.each([
    ['header wins over code and __type', new Headers({ 'x-amzn-errortype': 'ThrottlingException:http://x/' }), { code: 'A', type: 'B' }, 'ThrottlingException'],
    ['code before __type', new Headers(), { code: 'ns#CodeException', type: 'ns#TypeException' }, 'CodeException'],
    ['__type with namespace', new Headers(), { type: 'com.amazon.aws.codewhisperer#AccessDeniedException' }, 'AccessDeniedException'],
    ['nothing', new Headers(), {}, undefined],
  ] as const)('%s', (_n, headers, body, expected) => {
    expect(resolveErrorType(headers, body)).toBe(expected);
  });

  test('sanitizeErrorType cuts at ":" and keeps what follows "#"', () => {
    expect(sanitizeErrorType('aws.protocoltests#FooError:http://internal.amazon.com/coral/x/')).toBe('FooError');
    expect(sanitizeErrorType('FooError')).toBe('FooError');
  });

  test('parseRetryAfter rejects garbage', () => {
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
    expect(parseRetryAfter('1.5', 0)).toBe(1500);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:00 GMT', 5000)).toBe(0);
  });
});

describe('classifyStreamFault', () => {
  test.each([
    ['modeled InternalServerException', 'InternalServerException', undefined, 'Encountered an unexpected error', 'stream'],
    ['mid-stream throttling', 'ThrottlingException', undefined, 'Too many requests', 'throttled'],
    ['mid-stream capacity', 'ThrottlingException', 'INSUFFICIENT_MODEL_CAPACITY', 'high traffic', 'capacity'],
    ['mid-stream quota', 'ServiceQuotaExceededException', 'MONTHLY_REQUEST_COUNT', 'limit', 'quota'],
    ['mid-stream validation', 'ValidationException', 'CONTENT_LENGTH_EXCEEDS_THRESHOLD', 'Input is too long.', 'too_long'],
    ['unknown code', 'InternalError', undefined, 'An internal server error occurred.', 'stream'],
    ['no code at all', undefined, undefined, undefined, 'stream'],
  ] as const)('%s', (_n, errorType, reason, message, kind) => {
    const err = classifyStreamFault({ errorType, reason, message, bodyText: '' });
    expect(err.kind).toBe(kind);
    expect(err.phase).toBe('mid_stream');
    expect(err.status).toBeUndefined();
    expect(isRetryableOnAnotherAccount(err)).toBe(false);
  });
});

describe('reactions', () => {
  test('every kind has a reaction, and the table matches §3.3', () => {
    const kinds: UpstreamErrorKind[] = ['invalid_token', 'suspended', 'forbidden', 'quota', 'throttled', 'capacity', 'too_long', 'invalid_model', 'bad_request', 'server_error', 'network', 'timeout', 'stream'];
    expect(Object.keys(ERROR_REACTIONS).sort()).toEqual([...kinds].sort());
    expect(ERROR_REACTIONS.invalid_token.account).toBe('refresh_token');
    expect(ERROR_REACTIONS.suspended.account).toBe('disable');
    expect(ERROR_REACTIONS.quota.account).toBe('cooldown_until_reset');
    for (const k of ['too_long', 'invalid_model', 'bad_request'] as const) {
      expect(ERROR_REACTIONS[k].clientError).toBe(true);
      expect(ERROR_REACTIONS[k].tryAnotherAccount).toBe(false);
    }
  });

  test.each([
    ['invalid_token', true],
    ['suspended', true],
    ['quota', true],
    ['throttled', true],
    ['server_error', true],
    ['network', true],
    ['timeout', true],
    ['capacity', false],
    ['too_long', false],
    ['bad_request', false],
  ] as const)('isRetryableOnAnotherAccount(%s) = %p before the first byte', (kind, expected) => {
    expect(isRetryableOnAnotherAccount(new UpstreamError(kind, 'x'))).toBe(expected);
    expect(isRetryableOnAnotherAccount(new UpstreamError(kind, 'x', { phase: 'mid_stream' }))).toBe(false);
  });
});

describe('classifyAuthError (§4.5, §5.2)', () => {
  const oidc = (error: string, d = 'x') => JSON.stringify({ error, error_description: d });
  test.each([
    ['authorization_pending', 400, oidc('authorization_pending', 'Authorization is still pending'), undefined, 'authorization_pending', false],
    ['slow_down', 400, oidc('slow_down'), undefined, 'slow_down', false],
    ['expired_token', 400, oidc('expired_token', 'Device code has expired'), undefined, 'expired_token', false],
    ['access_denied', 400, oidc('access_denied'), undefined, 'access_denied', false],
    ['invalid_grant on refresh', 400, oidc('invalid_grant', 'Invalid refresh token provided'), 'refresh_token', 'invalid_grant', true],
    ['invalid_client on refresh', 401, oidc('invalid_client'), 'refresh_token', 'invalid_client', true],
    ['invalid_client on device start', 401, oidc('invalid_client'), undefined, 'invalid_client', false],
    ['server_error', 500, oidc('server_error'), 'refresh_token', 'server_error', false],
    ['Kiro social invalid refresh token', 400, '{"message":"Invalid refresh token provided"}', 'refresh_token', 'invalid_grant', true],
    ['5xx html', 502, '<html/>', 'refresh_token', 'server_error', false],
    ['429 no body', 429, '', 'refresh_token', 'slow_down', false],
  ] as const)('%s', (_n, status, body, grant, error, permanent) => {
    const err = classifyAuthError(status, body, grant);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.error).toBe(error);
    expect(err.status).toBe(status);
    expect(err.permanent).toBe(permanent);
  });

  test('description is kept', () => {
    expect(classifyAuthError(400, oidc('authorization_pending', 'Authorization is still pending')).description).toBe('Authorization is still pending');
  });
});
