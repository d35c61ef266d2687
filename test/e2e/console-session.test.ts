// Console session and playground routes over HTTP (two in-process gateways as two replicas, the fake
// upstream behind them): login and its lockout, cookie + CSRF on the admin API, a session accepted by
// another replica, logout, and the playground reaching /v1 without the client key.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { startGateway, TEST_ADMIN_KEY, type Gateway } from '../support/gateway';

let fake: FakeUpstream;
let a: Gateway;
let b: Gateway;
let dir: string;

beforeAll(async () => {
  fake = await startFakeUpstream({ accept_any_token: true });
  dir = mkdtempSync(join(tmpdir(), 'q2api-session-'));
  const env = { OPENAI_KEYS: 'sk-only-for-clients', ADMIN_MAX_FAILURES: '3' };
  const databaseUrl = `sqlite:${join(dir, 'shared.sqlite3')}`;
  a = await startGateway({ upstreamUrl: fake.url, env, databaseUrl });
  b = await startGateway({ upstreamUrl: fake.url, env, databaseUrl });
  await a.admin('POST', '/v2/accounts', { label: 'pg', refreshToken: 'aor-session-test', accessToken: 'at-session-test' });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await fake?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const login = (gw: Gateway, key: string) =>
  fetch(`${gw.url}/v2/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key }) });

async function session(gw: Gateway): Promise<string> {
  const res = await login(gw, TEST_ADMIN_KEY);
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

describe('console session over HTTP', () => {
  test('login sets an HttpOnly SameSite=Strict cookie; the cookie opens /v2 reads; writes need the CSRF header', async () => {
    const res = await login(a, TEST_ADMIN_KEY);
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(/^q2api_session=v1\.[^;]+; Path=\/v2; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    expect((await fetch(`${a.url}/v2/accounts`, { headers: { cookie } })).status).toBe(200);
    expect(await (await fetch(`${a.url}/v2/session`, { headers: { cookie } })).json()).toMatchObject({ via: 'session', client_keys_required: true });
    // what a cross-site form post would look like: the cookie, a foreign Origin, no custom header
    const forged = await fetch(`${a.url}/v2/accounts`, {
      method: 'POST',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: 'aor-forged' }),
    });
    expect(forged.status).toBe(403);
    const ok = await fetch(`${a.url}/v2/accounts`, {
      method: 'POST',
      headers: { cookie, 'x-q2api-csrf': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'via-session', refreshToken: 'aor-via-session' }),
    });
    expect(ok.status).toBe(201);
    // /v2/overview checks the key itself (ops.ts): the session works there too
    expect((await fetch(`${a.url}/v2/overview`, { headers: { cookie, 'x-q2api-csrf': '1' } })).status).toBe(200);
  });

  test('another replica with the same admin key accepts the session (stateless)', async () => {
    const cookie = await session(a);
    expect((await fetch(`${b.url}/v2/accounts`, { headers: { cookie } })).status).toBe(200);
  });

  test('logout clears the cookie', async () => {
    const cookie = await session(a);
    const out = await fetch(`${a.url}/v2/session`, { method: 'DELETE', headers: { cookie, 'x-q2api-csrf': '1' } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
  });

  test('a key no header could carry is a 400, not a crash', async () => {
    expect((await login(a, 'line\nbreak-admin-key')).status).toBe(400);
    expect((await login(a, '密钥密钥密钥密钥密钥密钥')).status).toBe(400);
  });

  test('wrong keys at the login count against the same limiter as wrong Bearer keys', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await login(b, 'wrong-key-wrong-key')).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await login(b, TEST_ADMIN_KEY)).status).toBe(429); // locked: even the right key waits
  });

  test('playground: models and a streamed chat through the session, while /v1 itself wants the client key', async () => {
    const cookie = await session(a);
    expect((await fetch(`${a.url}/v1/models`)).status).toBe(401);
    const models = await fetch(`${a.url}/v2/playground/models`, { headers: { cookie } });
    expect(models.status).toBe(200);
    expect(((await models.json()) as { data: unknown[] }).data.length).toBeGreaterThan(0);
    const chat = await fetch(`${a.url}/v2/playground/chat`, {
      method: 'POST',
      headers: { cookie, 'x-q2api-csrf': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4.5', max_tokens: 100, stream: true, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi [[fake:thinking]]' }] }),
    });
    expect(chat.status).toBe(200);
    expect(chat.headers.get('content-type')).toContain('text/event-stream');
    const text = await chat.text();
    expect(text).toContain('"thinking_delta"');
    expect(text).toContain('"text_delta"');
    expect(text).toContain('event: message_stop');
    const bad = await fetch(`${a.url}/v2/playground/chat`, { method: 'POST', headers: { cookie, 'x-q2api-csrf': '1', 'content-type': 'application/json' }, body: JSON.stringify({ messages: [] }) });
    expect(bad.status).toBe(400);
  });
});
