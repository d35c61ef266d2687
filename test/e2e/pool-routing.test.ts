// Where requests go, end to end: session stickiness over HTTP (x-conversation-id, metadata.user_id),
// the per-account concurrency cap with real streams, and the per-account proxy (a tiny local HTTP
// proxy that counts what passes through it) for chats, refreshes and quota readings.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type FakeUpstream, startFakeUpstream, tokenFingerprint } from '../fake-upstream/server';
import { chatTokens, offsetClock, type PoolGateway, startPoolGateway } from './pool-harness';

const clock = offsetClock();
let fake: FakeUpstream;
let gw: PoolGateway;

beforeAll(async () => {
  fake = await startFakeUpstream({ now: () => clock.now() });
  gw = await startPoolGateway(fake, clock, { ACCOUNT_STRATEGY: 'round-robin', STICKY_SESSIONS: 'true', ACCOUNT_MAX_CONCURRENCY: '1', QUOTA_POLL_S: '0' });
});
afterAll(async () => {
  await gw.stop();
  await fake.stop();
});
beforeEach(async () => {
  fake.reset();
  for (const x of (await gw.ctx.store.accounts.list()).items) await gw.ctx.store.accounts.delete(x.id);
});

const fp = (name: string) => tokenFingerprint(`at-${name}`);

describe('stickiness', () => {
  test('one x-conversation-id stays on one account while round-robin rotates the rest; a throttled account is fallen over', async () => {
    for (const n of ['a', 'b', 'c']) await gw.addAccount(n);
    const conv = { 'x-conversation-id': 'session-42' };
    for (let i = 0; i < 3; i++) expect((await gw.ask(`turn ${i}`, conv)).status).toBe(200);
    const [home] = chatTokens(fake);
    expect(chatTokens(fake)).toEqual([home!, home!, home!]);
    // other conversations rotate over the accounts
    for (let i = 0; i < 3; i++) expect((await gw.ask(`other ${i}`)).status).toBe(200);
    expect(new Set(chatTokens(fake).slice(3)).size).toBe(3);
    // the conversation's account is throttled: the turn is served elsewhere and stays there
    const name = ['a', 'b', 'c'].find((n) => fp(n) === home)!;
    fake.enqueue({ scenario: 'throttle', args: { retry_after: 30 }, match: { token: `at-${name}` } });
    expect((await gw.ask('turn 3', conv)).status).toBe(200);
    const moved = chatTokens(fake).at(-1)!;
    expect(moved).not.toBe(home);
    expect((await gw.ask('turn 4', conv)).status).toBe(200);
    expect(chatTokens(fake).at(-1)).toBe(moved);
  });

  test('Anthropic metadata.user_id (Claude Code’s session) is a conversation key too', async () => {
    for (const n of ['a', 'b']) await gw.addAccount(n);
    const send = async (userId: string) =>
      (
        await fetch(`${gw.url}/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 50, metadata: { user_id: userId }, messages: [{ role: 'user', content: `hi ${Math.random()}` }] }),
        })
      ).status;
    for (let i = 0; i < 4; i++) expect(await send('user_abc_account__session_1')).toBe(200);
    expect(new Set(chatTokens(fake)).size).toBe(1);
  });
});

describe('concurrency cap (ACCOUNT_MAX_CONCURRENCY=1)', () => {
  /** A streaming request that holds its account for about a second; resolves once it has committed. */
  async function openStream(signal?: AbortSignal): Promise<Response> {
    const res = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 4000, stream: true, messages: [{ role: 'user', content: `[[fake:long:n=60,gap_ms=20]] ${Math.random()}` }] }),
      signal,
    });
    expect(res.status).toBe(200);
    return res;
  }
  const inFlight = async () => (await gw.admin('GET', '/v2/stats')).json.totals.in_flight as number;

  test('the second concurrent request goes to the other account, the third gets 429 retry-after 1; slots come back', async () => {
    for (const n of ['a', 'b']) await gw.addAccount(n);
    const first = await openStream();
    const second = await openStream();
    expect(new Set(chatTokens(fake)).size).toBe(2);
    expect(await inFlight()).toBe(2);
    const third = await gw.ask('one too many');
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(third.json.error.message).toContain('ACCOUNT_MAX_CONCURRENCY');
    await Promise.all([first.text(), second.text()]);
    for (let i = 0; i < 50 && (await inFlight()) > 0; i++) await Bun.sleep(10);
    expect(await inFlight()).toBe(0);
    expect((await gw.ask('room again')).status).toBe(200);
  });

  test('a client that disconnects mid-stream gives its slot back; so do client errors', async () => {
    await gw.addAccount('a');
    const abort = new AbortController();
    const res = await openStream(abort.signal);
    expect(await inFlight()).toBe(1);
    abort.abort();
    await res.text().catch(() => {});
    for (let i = 0; i < 50 && (await inFlight()) > 0; i++) await Bun.sleep(10);
    expect(await inFlight()).toBe(0);
    expect((await gw.ask('[[fake:too_long]]')).status).toBe(400);
    expect((await gw.ask('[[fake:malformed]]')).status).toBe(400);
    expect(await inFlight()).toBe(0);
    expect((await gw.ask('fine')).status).toBe(200);
  });
});

describe('per-account proxy', () => {
  let proxy: Server;
  let proxyUrl: string;
  const seen: Array<{ url: string; auth: string | undefined }> = [];

  beforeAll(async () => {
    // A forward proxy for http:// targets: absolute-form request lines, relayed as they are.
    proxy = createServer((req, res) => {
      seen.push({ url: req.url ?? '', auth: req.headers['proxy-authorization'] });
      const target = new URL(req.url ?? '');
      const headers = { ...req.headers };
      delete headers['proxy-authorization'];
      delete headers['proxy-connection'];
      const up = httpRequest({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://alice:s3cret@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    proxy.close();
  });

  test('chats, refreshes and quota readings of the account go through its proxy; other accounts do not', async () => {
    seen.length = 0;
    const res = await gw.admin('POST', '/v2/accounts', { label: 'proxied', refreshToken: 'rt-p', accessToken: 'at-p', authMethod: 'social', proxy: proxyUrl, expiresAt: new Date(clock.now() + 3_600_000).toISOString() });
    expect(res.status).toBe(201);
    fake.seedToken({ accessToken: 'at-p', refreshToken: 'rt-p', expiresIn: 3600, authMethod: 'social' });
    const port = (proxy.address() as AddressInfo).port;
    expect(res.json.proxy).toBe(`http://alice:****@127.0.0.1:${port}`);
    expect(JSON.stringify(res.json)).not.toContain('s3cret');
    const id = res.json.id;

    expect((await gw.ask('via the proxy')).status).toBe(200);
    expect(seen.length).toBe(1);
    expect(seen[0]!.url.startsWith(fake.url)).toBe(true);
    expect(seen[0]!.auth).toBe(`Basic ${Buffer.from('alice:s3cret').toString('base64')}`);

    expect((await gw.admin('POST', `/v2/accounts/${id}/refresh`)).status).toBe(200);
    expect(seen.at(-1)!.url).toBe(`${fake.url}/refreshToken`);
    expect((await gw.admin('POST', `/v2/accounts/${id}/quota`)).status).toBe(200);
    expect(seen.length).toBe(3);

    // a second account without a proxy: straight to the upstream
    await gw.admin('PATCH', `/v2/accounts/${id}`, { enabled: false });
    await gw.addAccount('direct');
    expect((await gw.ask('direct')).status).toBe(200);
    expect(seen.length).toBe(3);
    // and the proxy can be cleared
    const cleared = await gw.admin('PATCH', `/v2/accounts/${id}`, { proxy: null, enabled: true });
    expect(cleared.json.proxy).toBeNull();
  });

  test('proxy input is validated on create, patch and import', async () => {
    const bad = await gw.admin('POST', '/v2/accounts', { refreshToken: 'rt-x', authMethod: 'social', proxy: 'socks5://127.0.0.1:1080' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain('proxy');
    const ok = await gw.admin('POST', '/v2/accounts', { refreshToken: 'rt-y', authMethod: 'social' });
    const patched = await gw.admin('PATCH', `/v2/accounts/${ok.json.id}`, { proxy: 'not a url' });
    expect(patched.status).toBe(400);
    const imported = await gw.admin('POST', '/v2/accounts/import', [{ refreshToken: 'rt-z', authMethod: 'social', proxy: 'http://127.0.0.1:3128' }]);
    expect(imported.json).toMatchObject({ created: 1 });
    const id = imported.json.results[0].id;
    expect((await gw.ctx.store.accounts.get(id))!.proxy).toBe('http://127.0.0.1:3128');
  });
});
