// Operations end to end on a real gateway in front of the fake upstream: the request log (stdout
// line and database rows, no prompt text, the key only as a hash label), usage, overview, /metrics
// and its guard, refresh outcomes, and the 503 for chat requests while draining.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { startGateway, type Gateway } from '../support/gateway';
import { keyLabel } from '../../src/obs/client-key';

const KEY = 'sk-ops-e2e-client-key';
const SECRET_PROMPT = 'the-secret-prompt-text-4711';

let fake: FakeUpstream;
let gw: Gateway;
let bodies: Gateway;

async function addAccount(g: Gateway, n: number, label: string) {
  fake.seedToken({ accessToken: `ops-at-${n}`, refreshToken: `ops-rt-${n}`, expiresIn: 3600, authMethod: 'social' });
  return g.ctx.store.accounts.create({ label, accessToken: `ops-at-${n}`, refreshToken: `ops-rt-${n}`, authMethod: 'social', expiresAt: new Date(Date.now() + 3600_000) });
}

const anthropic = (g: Gateway, content: string, extra: object = {}, key = KEY) =>
  fetch(`${g.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content }], ...extra }),
  });
const openai = (g: Gateway, content: string, extra: object = {}) =>
  fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content }], ...extra }),
  });

const requestLines = (g: Gateway) => g.logs.map((l) => JSON.parse(l) as Record<string, any>).filter((l) => l.msg === 'request');

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startGateway({ upstreamUrl: fake.url, env: { OPENAI_KEYS: `${KEY},sk-other-key`, REQUEST_LOG: 'both', LOG_LEVEL: 'debug' } });
  bodies = await startGateway({ upstreamUrl: fake.url, env: { OPENAI_KEYS: KEY, LOG_BODIES: 'true', METRICS_PUBLIC: 'true' } });
  await addAccount(gw, 1, 'first');
  await addAccount(bodies, 2, 'second');
});
afterAll(async () => {
  await gw.stop();
  await bodies.stop();
  await fake.stop();
});

describe('request log, usage, overview, metrics', () => {
  test('one line per chat request, with tokens, timings and attempts, and no prompt text or key', async () => {
    const before = requestLines(gw).length;
    // Amazon takes 40 ms to its first event: the line tells that share of the TTFB apart.
    const r1 = await anthropic(gw, `${SECRET_PROMPT} [[fake:plain:first_ms=40]]`, { stream: true });
    await r1.text();
    const r2 = await openai(gw, `${SECRET_PROMPT} [[fake:plain]]`);
    expect(r2.status).toBe(200);
    await r2.text();
    const r3 = await anthropic(gw, 'no max_tokens', { max_tokens: undefined });
    expect(r3.status).toBe(400);
    const r4 = await anthropic(gw, 'wrong key', {}, 'sk-wrong');
    expect(r4.status).toBe(401);
    const lines = requestLines(gw).slice(before);
    expect(lines).toHaveLength(4);
    const [stream, nonStream, bad, unauth] = lines;
    // (checked before toMatchObject, which in this bun replaces matched values with the matchers)
    expect(stream!.output_tokens).toBeGreaterThan(0);
    expect(stream!.ttfb_ms).toBeLessThanOrEqual(stream!.total_ms);
    expect(stream!.upstream_ttfb_ms).toBeGreaterThanOrEqual(39);
    expect(stream!.upstream_ttfb_ms).toBeLessThanOrEqual(stream!.ttfb_ms);
    expect(stream).toMatchObject({
      route: '/v1/messages',
      dialect: 'anthropic',
      model_requested: 'claude-sonnet-4-5',
      model_used: expect.any(String),
      account_id: expect.any(String),
      client_key: keyLabel(KEY),
      status: 200,
      stop_reason: 'end_turn',
      input_tokens: expect.any(Number),
      output_tokens: expect.any(Number),
      ttfb_ms: expect.any(Number),
      total_ms: expect.any(Number),
      attempts: 1,
      stream: true,
    });
    expect(nonStream).toMatchObject({ route: '/v1/chat/completions', dialect: 'openai', model_requested: 'gpt-4o', status: 200, stop_reason: 'end_turn', stream: false });
    expect(bad).toMatchObject({ status: 400, error: { kind: 'invalid_request' }, account_id: null, attempts: 0 });
    expect(unauth).toMatchObject({ status: 401, client_key: null });
    const text = gw.logs.join('\n');
    expect(text).not.toContain(SECRET_PROMPT);
    expect(text).not.toContain(KEY);
  });

  test('failed attempts are logged with their error kind and what the engine did', async () => {
    await addAccount(gw, 3, 'third');
    const before = requestLines(gw).length;
    const res = await anthropic(gw, '[[fake:throttle:n=1,id=ops-throttle]] hi');
    expect(res.status).toBe(200);
    const [line] = requestLines(gw).slice(before);
    expect(line!.attempts).toBe(2);
    expect(line!.attempt_log[0]).toMatchObject({ kind: 'throttled', action: 'next_account' });
    expect(line!.attempt_log[1].kind).toBeUndefined();
  });

  test('REQUEST_LOG=both also writes rows to the database', async () => {
    await gw.ctx.ops.flush();
    const rows = await gw.ctx.store.requestLog.list({ limit: 100 });
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const ok = rows.find((r) => r.route === '/v1/messages' && r.status === 200)!;
    expect(ok).toMatchObject({ dialect: 'anthropic', clientKey: keyLabel(KEY), stopReason: 'end_turn', attempts: expect.any(Number) });
    expect(JSON.parse(ok.detail!)).toMatchObject({ stream: expect.any(Boolean) });
    expect(JSON.stringify(rows)).not.toContain(SECRET_PROMPT);
  });

  test('GET /v2/usage: per day, account and key, grouped as asked, with totals', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const all = await gw.admin('GET', `/v2/usage?from=${today}&to=${today}`);
    expect(all.status).toBe(200);
    expect(all.json).toMatchObject({ from: today, to: today, totals: { requests: expect.any(Number) } });
    const mine = all.json.rows.filter((r: any) => r.client_key === keyLabel(KEY));
    expect(mine.length).toBeGreaterThanOrEqual(2); // the 400 has no account: a row of its own
    for (const r of all.json.rows) expect(Object.keys(r).sort()).toEqual(['account_id', 'client_key', 'credits', 'day', 'errors', 'input_tokens', 'output_tokens', 'requests']);
    const byKey = await gw.admin('GET', `/v2/usage?from=${today}&to=${today}&group=client_key`);
    expect(byKey.json.rows).toEqual([expect.objectContaining({ day: null, account_id: null, client_key: keyLabel(KEY), requests: 4, errors: 1 })]);
    expect(byKey.json.totals.requests).toBe(4); // the 401 is nobody's usage
    const byDay = await gw.admin('GET', `/v2/usage?group=day`);
    expect(byDay.json.rows.at(-1)).toMatchObject({ day: today, requests: 4 });
    expect(byDay.json.rows.at(-1).input_tokens).toBeGreaterThan(0);
    expect((await gw.admin('GET', '/v2/usage?from=2026-13-01')).status).toBe(400);
    expect((await gw.admin('GET', '/v2/usage?group=week')).status).toBe(400);
    expect((await fetch(`${gw.url}/v2/usage`)).status).toBe(401);
  });

  test('GET /v2/overview: the last hour per minute, per account with labels', async () => {
    const res = await gw.admin('GET', '/v2/overview');
    expect(res.status).toBe(200);
    expect(res.json.window_s).toBe(3600);
    expect(res.json.buckets).toHaveLength(60);
    expect(res.json.buckets.reduce((n: number, b: any) => n + b.requests, 0)).toBe(5);
    expect(res.json.buckets.at(-1)).toEqual({ t: expect.stringMatching(/:00\.000Z$/), requests: expect.any(Number), errors: expect.any(Number), input_tokens: expect.any(Number), output_tokens: expect.any(Number) });
    const labels = res.json.per_account.map((a: any) => a.label).sort();
    expect(labels).toEqual(['first', 'third']);
    for (const a of res.json.per_account) expect(a).toEqual({ id: expect.any(String), label: expect.any(String), requests: expect.any(Number), errors: expect.any(Number), in_flight: 0 });
  });

  test('GET /metrics: admin key required; Prometheus text with the request, error and account series', async () => {
    // The same conversation twice: the second request finds it in the memo.
    for (let i = 0; i < 2; i++) await (await anthropic(gw, 'memo check [[fake:plain]]')).text();
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${gw.url}/metrics`, { headers: gw.adminHeaders });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('q2api_requests_total{route="/v1/messages",status="200",model="');
    expect(text).toContain('q2api_requests_total{route="/v1/messages",status="400",model="none"} 1');
    expect(text).toContain('q2api_upstream_errors_total{kind="throttled"} 1');
    expect(text).toMatch(/q2api_ttfb_seconds_count\{route="\/v1\/messages"\} \d+/);
    expect(text).toMatch(/q2api_upstream_ttfb_seconds_count\{route="\/v1\/messages"\} [1-9]\d*/);
    expect(text).toMatch(/q2api_history_memo_lookups_total\{result="hit"\} [1-9]\d*/);
    expect(text).toMatch(/q2api_history_memo_conversations [1-9]\d*/);
    expect(text).toMatch(/q2api_history_memo_bytes [1-9]\d*/);
    expect(text).toContain('q2api_requests_in_flight 0');
    expect(text).toContain('q2api_streams_in_flight 0');
    // the account that answered 429 rests (pool cooldown)
    expect(text).toContain('q2api_accounts{state="active",reason=""} 1');
    expect(text).toContain('q2api_accounts{state="cooling_down",reason=""} 1');
    expect(text).toContain('q2api_event_loop_lag_seconds');
    // METRICS_PUBLIC=true: no key needed
    expect((await fetch(`${bodies.url}/metrics`)).status).toBe(200);
  });

  test('refresh outcomes are counted', async () => {
    const res = await anthropic(bodies, '[[fake:expired_token:id=ops-exp]] hi');
    expect(res.status).toBe(200);
    const text = await (await fetch(`${bodies.url}/metrics`)).text();
    expect(text).toContain('q2api_token_refreshes_total{outcome="success"} 1');
  });

  test('LOG_BODIES=true puts the request body and the response text in the line', async () => {
    const res = await anthropic(bodies, `${SECRET_PROMPT} [[fake:plain]]`);
    expect(res.status).toBe(200);
    const line = requestLines(bodies).at(-1)!;
    expect(line.request_body).toContain(SECRET_PROMPT);
    expect(line.response_text).toContain('Hello');
    expect(JSON.stringify(line)).not.toContain(KEY);
  });

  test('while draining, new chat requests get a 503 in their dialect; others are served', async () => {
    bodies.ctx.shutdown.drain();
    const a = await anthropic(bodies, 'late');
    expect(a.status).toBe(503);
    expect(await a.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    const o = await openai(bodies, 'late');
    expect(o.status).toBe(503);
    expect(await o.json()).toMatchObject({ error: { type: 'server_error', code: 'shutting_down' } });
    expect((await fetch(`${bodies.url}/healthz`)).status).toBe(200);
  });
});
