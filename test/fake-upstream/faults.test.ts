// Failure scenarios of §6.4 on the wire: exact HTTP error bodies and headers, stateful
// fail-then-succeed, in-stream exceptions/error frames, truncation, RST, corrupt CRC/length,
// slow and stalled streams, and byte-identical split writes.

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { EventStreamDecoder, EventStreamError } from '../../src/upstream/eventstream';
import { encodeEvent } from '../../src/upstream/eventstream-encode';
import { startFakeUpstream, type FakeUpstream } from './server';
import { chatBody, decodeBody, GAR_TARGET, headerOrder, Q_ERROR_TYPE, rawRequest, smithyEvents, text, waitFor } from './test-helpers';

let fake: FakeUpstream;
const PLAIN = 'Hello from the fake upstream. This reply is split into many small events.';
const UNEXPECTED = 'Encountered an unexpected error when processing the request, please try again.';

beforeAll(async () => {
  fake = await startFakeUpstream({ accept_any_token: true });
});
afterAll(() => fake.stop());
beforeEach(() => fake.reset());

/** The live response, for tests that watch the stream as it arrives. */
function open(content: string, token = 'any') {
  return fetch(`${fake.url}/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'x-amz-target': GAR_TARGET, 'content-type': 'application/x-amz-json-1.0' },
    body: chatBody(content),
  });
}

/** Buffered: a test never leaves a stream running into the next test. */
async function post(content: string, token = 'any'): Promise<Response> {
  const res = await open(content, token);
  return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
}

function raw(content: string, extra: { abortAfterMs?: number; scenario?: string } = {}) {
  const headers: Record<string, string> = { authorization: 'Bearer any', 'x-amz-target': GAR_TARGET };
  if (extra.scenario) headers['x-fake-scenario'] = extra.scenario;
  return rawRequest(fake.port, { headers, body: chatBody(content), abortAfterMs: extra.abortAfterMs });
}

/**
 * Decode until the decoder fails; returns the frames before the failure and the error kind.
 * Fed byte by byte: push() throws for the whole chunk, dropping frames completed earlier in it.
 */
function decodeUntilError(bytes: Uint8Array): { texts: string[]; error: string | null } {
  const decoder = new EventStreamDecoder();
  const texts: string[] = [];
  try {
    for (let i = 0; i < bytes.length; i++) {
      for (const f of decoder.push(bytes.subarray(i, i + 1))) texts.push(new TextDecoder().decode(f.payload));
    }
    decoder.end();
    return { texts, error: null };
  } catch (err) {
    expect(err).toBeInstanceOf(EventStreamError);
    return { texts, error: (err as EventStreamError).kind };
  }
}

const frameOf = (content: string) => encodeEvent('assistantResponseEvent', { content });

describe('HTTP errors: exact bodies of §3.2', () => {
  const suspended = (id: string, reason: string | null) =>
    JSON.stringify({
      message: `Your User ID (${id}) temporarily is suspended. We've locked your account as a security precaution. To restore access, please contact our support team to verify your identity: https://support.aws.amazon.com/#/contacts/kiro`,
      reason,
    });
  const cases: Array<[string, number, string, string]> = [
    ['capacity', 429, 'ThrottlingException', '{"message":"I am experiencing high traffic, please try again shortly.","reason":"INSUFFICIENT_MODEL_CAPACITY"}'],
    ['throttle:n=5', 429, 'ThrottlingException', '{"message":"Too many requests, please wait before trying again.","reason":null}'],
    ['monthly_limit', 402, 'ServiceQuotaExceededException', '{"message":"You have reached the limit.","reason":"MONTHLY_REQUEST_COUNT"}'],
    ['overage_limit', 402, 'ServiceQuotaExceededException', '{"message":"You have reached the limit for overages.","reason":"OVERAGE_REQUEST_LIMIT_EXCEEDED"}'],
    ['suspended', 403, 'AccessDeniedException', suspended('fake-user-0001', null)],
    ['suspended:user=u-42,reason=TEMPORARILY_SUSPENDED', 403, 'AccessDeniedException', suspended('u-42', 'TEMPORARILY_SUSPENDED')],
    ['not_entitled', 403, 'AccessDeniedException', '{"__type":"com.amazon.aws.codewhisperer#AccessDeniedException","message":"Your subscription does not support this application. Please contact your administrator."}'],
    ['feature_denied', 403, 'AccessDeniedException', '{"message":"User is not authorized to access this feature.","reason":null}'],
    ['abuse_throttle:user=77', 429, 'ThrottlingException', '{"message":"Due to suspicious activity, we are imposing temporary limits on how frequently your account (77) can send a request to Kiro while we investigate.","reason":null}'],
    ['daily_limit', 429, 'ThrottlingException', `{"message":"You've reached your daily usage limit. Please return tomorrow to continue building.","reason":"DAILY_REQUEST_COUNT"}`],
    ['legacy_monthly_limit', 400, 'ThrottlingException', '{"message":"Maximum com.amazon.aws.codewhisperer.streaming.GenerateAssistantResponse reached for this month."}'],
    ['legacy_monthly_limit:status=429', 429, 'ThrottlingException', '{"message":"Maximum com.amazon.aws.codewhisperer.streaming.GenerateAssistantResponse reached for this month."}'],
    ['too_long', 400, 'ValidationException', '{"message":"Input is too long.","reason":"CONTENT_LENGTH_EXCEEDS_THRESHOLD"}'],
    ['invalid_model', 400, 'ValidationException', '{"message":"Invalid model. Please select a different model to continue.","reason":"INVALID_MODEL_ID"}'],
    ['malformed', 400, 'ValidationException', '{"message":"Improperly formed request.","reason":null}'],
    ['internal', 500, 'InternalServerException', `{"message":"${UNEXPECTED}","reason":null}`],
    ['high_load', 500, 'InternalServerException', '{"message":"Encountered unexpectedly high load when processing the request, please try again."}'],
    ['unavailable', 503, 'ServiceUnavailableException', '{"message":"Service is currently unavailable. Please try again later."}'],
  ];
  for (const [spec, status, type, body] of cases) {
    test(`${spec} → ${status} ${type}`, async () => {
      const res = await post(`[[fake:${spec}]]`);
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('x-amzn-errortype')).toBe(Q_ERROR_TYPE(type));
      expect(res.headers.get('x-amzn-requestid')).toBeTruthy();
      expect(res.headers.get('retry-after')).toBeNull();
      expect(await res.text()).toBe(body);
    });
  }

  test('http_error: status/type/reason/message and type_in=header|body|both', async () => {
    const h = await post('[[fake:http_error:status=409,type=ConflictException,reason=MISMATCHED_KMS_KEY,message=kms%2C%20oops]]');
    expect(h.status).toBe(409);
    expect(h.headers.get('x-amzn-errortype')).toBe(Q_ERROR_TYPE('ConflictException'));
    expect(await h.text()).toBe('{"message":"kms, oops","reason":"MISMATCHED_KMS_KEY"}');
    const b = await post('[[fake:http_error:status=429,type=ThrottlingException,type_in=body]]');
    expect(b.headers.get('x-amzn-errortype')).toBeNull();
    expect(await b.text()).toBe(`{"__type":"com.amazon.aws.codewhisperer#ThrottlingException","message":"${UNEXPECTED}","reason":null}`);
    const both = await post('[[fake:http_error:type_in=both]]');
    expect(both.status).toBe(500);
    expect(both.headers.get('x-amzn-errortype')).toBe(Q_ERROR_TYPE('InternalServerException'));
    expect(JSON.parse(await both.text()).__type).toBe('com.amazon.aws.codewhisperer#InternalServerException');
  });

  test('unknown scenario or bad arg is a loud fake error, not a real-looking one', async () => {
    const res = await post('[[fake:no_such_thing]]');
    expect(res.status).toBe(500);
    expect(res.headers.get('x-amzn-errortype')).toBe('FakeUpstreamMisuse');
    expect((await res.json()).message).toContain('no_such_thing');
    const bad = await post('[[fake:throttle:n=abc]]');
    expect((await bad.json()).message).toContain('n=abc');
  });
});

describe('stateful scenarios', () => {
  test('throttle n=2: 429, 429, then plain; counters keyed by marker text and id', async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post('[[fake:throttle:n=2]]')).status);
    expect(statuses).toEqual([429, 429, 200]);
    // Another id has its own counter; the same id shares it across different marker texts.
    expect((await post('[[fake:throttle:n=2,id=b]]')).status).toBe(429);
    expect((await post('[[fake:throttle:n=1,id=b]]')).status).toBe(200);
    fake.reset();
    expect((await post('[[fake:throttle:n=2]]')).status).toBe(429);
  });

  test('throttle retry_after= adds Retry-After', async () => {
    const res = await post('[[fake:throttle:retry_after=7]]');
    expect(res.headers.get('retry-after')).toBe('7');
  });

  test('internal: always without n, n times with n', async () => {
    expect([(await post('[[fake:internal]]')).status, (await post('[[fake:internal]]')).status]).toEqual([500, 500]);
    expect([(await post('[[fake:internal:n=1]]')).status, (await post('[[fake:internal:n=1]]')).status]).toEqual([500, 200]);
  });

  test('expired_token: revokes the presented token once, then a fresh token succeeds', async () => {
    fake.configure({ accept_any_token: false });
    fake.seedToken({ accessToken: 'at-old', refreshToken: 'rt-old' });
    fake.seedToken({ accessToken: 'at-new', refreshToken: 'rt-new' });
    const first = await post('[[fake:expired_token]]', 'at-old');
    expect(first.status).toBe(403);
    expect(first.headers.get('x-amzn-errortype')).toBe(Q_ERROR_TYPE('AccessDeniedException'));
    expect(await first.text()).toBe('{"message":"The bearer token included in the request is invalid.","reason":null}');
    expect((await post('hello', 'at-old')).status).toBe(403);
    const second = await post('[[fake:expired_token]]', 'at-new');
    expect(second.status).toBe(200);
    expect(text(decodeBody(new Uint8Array(await second.arrayBuffer())))).toBe(PLAIN);
  });
});

describe('in-stream failures', () => {
  test('midstream_exception: after deltas, a modeled exception frame, then EOF', async () => {
    const res = await post('[[fake:midstream_exception:after=2]]');
    const bytes = new Uint8Array(await res.arrayBuffer());
    const events = decodeBody(bytes);
    expect(events.map((e) => e.messageType)).toEqual(['event', 'event', 'exception']);
    expect(events[2]).toEqual({ messageType: 'exception', type: 'error', payload: { __type: 'InternalServerException', message: UNEXPECTED } });
    expect(headerOrder(bytes)[2]).toEqual([':message-type', ':exception-type', ':content-type']);
    const typed = decodeBody(new Uint8Array(await (await post('[[fake:midstream_exception:after=0,type=ThrottlingException]]')).arrayBuffer()));
    expect(typed).toEqual([{ messageType: 'exception', type: 'ThrottlingException', payload: { __type: 'ThrottlingException', message: UNEXPECTED } }]);
  });

  test('midstream_error: the unmodeled error frame is byte-identical to the §1.7 vector', async () => {
    const res = await post('[[fake:midstream_error:after=0]]');
    expect(Buffer.from(await res.arrayBuffer()).toString('hex')).toBe(
      '0000007600000066b7610e6b0d3a6d6573736167652d747970650700056572726f720b3a6572726f722d636f646507000d496e7465726e616c4572726f720e3a6572726f722d6d657373616765070022416e20696e7465726e616c20736572766572206572726f72206f636375727265642e8ba171ef',
    );
    const after = decodeBody(new Uint8Array(await (await post('[[fake:midstream_error]]')).arrayBuffer()));
    expect(after.map((e) => e.messageType)).toEqual(['event', 'event', 'event', 'error']);
  });

  test('truncated: partial frame then a clean end (terminal chunk + FIN)', async () => {
    const r = await raw('[[fake:truncated:after=2]]');
    expect(r.status).toBe(200);
    expect(r.complete).toBe(true);
    expect(r.ended).toBe(true);
    expect(r.error).toBeNull();
    const third = frameOf('o fr');
    expect(r.body.length).toBe(frameOf('Hell').length + frameOf('o fr').length + Math.floor(third.length / 2));
    expect(decodeUntilError(r.body)).toEqual({ texts: ['{"content":"Hell"}', '{"content":"o fr"}'], error: 'truncated' });
    const cut = await raw('[[fake:truncated:after=0,bytes=5,eof=fin]]');
    expect(cut.complete).toBe(false);
    expect(cut.ended).toBe(true);
    expect(cut.body).toEqual(frameOf('Hell').subarray(0, 5));
  });

  test('reset: RST after the events; fetch body read fails', async () => {
    const r = await raw('[[fake:reset:after=2]]');
    expect(r.error).toBe('ECONNRESET');
    expect(r.complete).toBe(false);
    const res = await open('[[fake:reset:after=1]]');
    expect(res.status).toBe(200);
    await expect(res.arrayBuffer()).rejects.toThrow();
    const rec = await waitFor(() => fake.requests().find((x) => x.scenarioArgs?.after === '1' && x.done));
    expect(rec.disconnectedEarly).toBe(false);
  });

  test('bad_crc which=message: last byte flipped, good frames follow', async () => {
    const res = await post('[[fake:bad_crc:after=1,tail=0]]');
    const bytes = new Uint8Array(await res.arrayBuffer());
    const good = frameOf('o fr');
    const bad = bytes.subarray(frameOf('Hell').length, frameOf('Hell').length + good.length);
    expect(Buffer.from(bad.subarray(0, -1)).toString('hex')).toBe(Buffer.from(good.subarray(0, -1)).toString('hex'));
    expect(bad.at(-1)).toBe(good.at(-1)! ^ 0xff);
    expect(decodeUntilError(bytes)).toEqual({ texts: ['{"content":"Hell"}'], error: 'message_crc' });
    expect(() => smithyEvents(bytes)).toThrow();
    // More frames follow the bad one (a client must stop anyway).
    expect(bytes.length).toBe(frameOf('Hell').length + good.length + frameOf(' fro').length + frameOf('m th').length);
  });

  test('bad_crc which=prelude flips byte 8', async () => {
    const bytes = new Uint8Array(await (await post('[[fake:bad_crc:after=0,which=prelude,tail=0]]')).arrayBuffer());
    const good = frameOf('Hell');
    expect(bytes[8]).toBe(good[8]! ^ 0xff);
    expect(decodeUntilError(bytes).error).toBe('prelude_crc');
  });

  test('bad_length: 0xFFFFFFF0 with a correct prelude CRC, 1 KiB filler, EOF', async () => {
    const bytes = new Uint8Array(await (await post('[[fake:bad_length:after=1]]')).arrayBuffer());
    const first = frameOf('Hell').length;
    expect(bytes.length).toBe(first + 12 + 1024);
    const prelude = bytes.subarray(first, first + 12);
    const view = new DataView(prelude.buffer, prelude.byteOffset, 12);
    expect(view.getUint32(0)).toBe(0xfffffff0);
    expect(view.getUint32(8)).toBe(Bun.hash.crc32(prelude.subarray(0, 8)));
    const decoder = new EventStreamDecoder();
    expect(decoder.push(bytes)).toHaveLength(1); // the good frame, then the error on the next call
    expect(() => decoder.end()).toThrow(EventStreamError);
    expect(decoder.bufferedBytes).toBeLessThan(2048);
  });
});

describe('timing and disconnects', () => {
  test('slow: first_ms before the status line, gap_ms between events', async () => {
    const t0 = performance.now();
    const res = await open('[[fake:slow:first_ms=60,gap_ms=5,text=abcdefgh,tail=0]]');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    const events = decodeBody(new Uint8Array(await res.arrayBuffer()));
    expect(text(events)).toBe('abcdefgh');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(60);
  });

  test('slow_headers: headers at once, first frame after first_ms', async () => {
    const t0 = performance.now();
    const res = await open('[[fake:slow_headers:first_ms=80,text=ok,tail=0]]');
    expect(performance.now() - t0).toBeLessThan(60);
    expect(res.status).toBe(200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
    expect(text(decodeBody(bytes))).toBe('ok');
  });

  test('stall: silent after the events; the client disconnect is recorded', async () => {
    const r = await raw('[[fake:stall:after=2]]', { abortAfterMs: 40 });
    expect(decodeUntilError(r.body)).toEqual({ texts: ['{"content":"Hell"}', '{"content":"o fr"}'], error: null });
    const rec = await waitFor(() => fake.requests().find((x) => x.scenario === 'stall' && x.done));
    expect(rec.disconnectedEarly).toBe(true);
    expect(rec.disconnectedAt).toBeGreaterThan(rec.time);
    expect(rec.bytesSent).toBe(r.body.length);
    expect(fake.stats().streams).toMatchObject({ started: 1, inFlight: 0, disconnectedEarly: 1 });
  });

  test('stop() tears down stalled and slow connections at once', async () => {
    const other = await startFakeUpstream({ accept_any_token: true });
    const headers = { authorization: 'Bearer x', 'x-amz-target': GAR_TARGET };
    const stalled = rawRequest(other.port, { headers, body: chatBody('[[fake:stall:after=1]]') });
    const slow = rawRequest(other.port, { headers, body: chatBody('[[fake:slow]]') });
    await waitFor(() => other.stats().streams.inFlight === 2);
    const t0 = performance.now();
    await other.stop();
    const [a, b] = await Promise.all([stalled, slow]);
    expect(performance.now() - t0).toBeLessThan(500);
    expect([a.complete, b.complete, b.status]).toEqual([false, false, 0]);
  });

  test('a client leaving a slow stream is recorded as an early disconnect', async () => {
    const res = await open('[[fake:plain:gap_ms=20]]');
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const rec = await waitFor(() => fake.requests().find((x) => x.done));
    expect(rec.disconnectedEarly).toBe(true);
  });
});

describe('split writes', () => {
  test('split=1 and split=random are byte-identical to unsplit, in the promised write sizes', async () => {
    // Same body for every run (args in the header), so the tail's context percentage matches.
    const whole = await raw('hi', { scenario: 'tool' });
    const one = await raw('hi', { scenario: 'tool:split=1' });
    const rnd = await raw('hi', { scenario: 'tool:split=random,seed=7' });
    const rnd2 = await raw('hi', { scenario: 'tool:split=random,seed=7' });
    const three = await raw('hi', { scenario: 'tool:split=3' });
    expect(one.body).toEqual(whole.body);
    expect(rnd.body).toEqual(whole.body);
    expect(three.body).toEqual(whole.body);
    expect(one.chunks.every((c) => c.length === 1)).toBe(true);
    expect(one.chunks.length).toBe(whole.body.length);
    expect(rnd.chunks.every((c) => c.length >= 1 && c.length <= 7)).toBe(true);
    expect(new Set(rnd.chunks.map((c) => c.length)).size).toBeGreaterThan(3);
    expect(rnd2.chunks.map((c) => c.length)).toEqual(rnd.chunks.map((c) => c.length));
    expect(three.chunks.every((c) => c.length <= 3)).toBe(true);
    expect(decodeBody(one.body)).toEqual(decodeBody(whole.body));
  });

  test('split_gap_ms spaces the pieces so even a fetch client sees separate reads', async () => {
    const res = await open('[[fake:plain:text=ab,tail=0,split=25,split_gap_ms=5]]');
    const reader = res.body!.getReader();
    const reads: number[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads.push(value.length);
    }
    const frame = frameOf('ab').length;
    expect(reads.reduce((a, b) => a + b, 0)).toBe(frame);
    expect(reads.length).toBe(Math.ceil(frame / 25));
  });
});
