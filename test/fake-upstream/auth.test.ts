// Fake SSO OIDC and Kiro auth (§4, §5, §6.5): device flow, refresh with rotation and revocation,
// PKCE, special refresh tokens, queued auth scenarios, auth_delay_ms and concurrent-refresh peaks.

import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { FAKE_PROFILE_ARN, startFakeUpstream, tokenFingerprint, type FakeUpstream } from './server';
import { chatBody, GAR_TARGET } from './test-helpers';

const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);
let clock = T0;
let fake: FakeUpstream;
const OIDC_NS = 'http://internal.amazon.com/coral/com.amazonaws.sso.oidc/';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

beforeAll(async () => {
  fake = await startFakeUpstream({ now: () => clock });
});
afterAll(() => fake.stop());
beforeEach(() => {
  clock = T0;
  fake.reset();
});

const post = (path: string, body: unknown) => fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function expectOidcError(res: Response, status: number, name: string, error: string, description?: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(res.headers.get('x-amzn-errortype')).toBe(`${name}:${OIDC_NS}`);
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = await res.json();
  expect(body.error).toBe(error);
  if (description !== undefined) expect(body.error_description).toBe(description);
  expect(Object.keys(body)).toEqual(['error', 'error_description']);
}

async function qStatus(token: string): Promise<number> {
  const res = await fetch(`${fake.url}/`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-amz-target': GAR_TARGET }, body: chatBody('hi') });
  await res.arrayBuffer();
  return res.status;
}

async function register(extra: Record<string, unknown> = {}) {
  const res = await post('/client/register', { clientName: 'Kiro IDE', clientType: 'public', scopes: ['codewhisperer:completions'], ...extra });
  expect(res.status).toBe(200);
  return (await res.json()) as { clientId: string; clientSecret: string; clientIdIssuedAt: number; clientSecretExpiresAt: number; authorizationEndpoint?: string };
}

async function startDevice(client: { clientId: string; clientSecret: string }) {
  const res = await post('/device_authorization', { ...client, startUrl: 'https://view.awsapps.com/start' });
  expect(res.status).toBe(200);
  return (await res.json()) as { deviceCode: string; userCode: string; verificationUri: string; verificationUriComplete: string; expiresIn: number; interval: number };
}

const poll = (client: { clientId: string; clientSecret: string }, deviceCode: string) =>
  post('/token', { clientId: client.clientId, clientSecret: client.clientSecret, grantType: DEVICE_GRANT, deviceCode });

describe('RegisterClient and StartDeviceAuthorization', () => {
  test('register returns the fake client with epoch-second times', async () => {
    const c = await register();
    expect(c).toEqual({ clientId: 'fake-client-1', clientSecret: 'fake-secret-1', clientIdIssuedAt: T0 / 1000, clientSecretExpiresAt: T0 / 1000 + 90 * 86400 });
    await expectOidcError(await post('/client/register', { clientType: 'public' }), 400, 'InvalidClientMetadataException', 'invalid_client_metadata');
    await expectOidcError(await post('/client/register', { clientName: 'x', clientType: 'confidential' }), 400, 'InvalidClientMetadataException', 'invalid_client_metadata');
  });

  test('device authorization: shape, and invalid_client (401) for unknown or expired clients', async () => {
    const c = await register();
    const d = await startDevice(c);
    expect(d.deviceCode).toBe('fake-device-1');
    expect(d.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(d.verificationUri).toBe(`${fake.url}/device`);
    expect(d.verificationUriComplete).toBe(`${fake.url}/device?user_code=${d.userCode}`);
    expect([d.expiresIn, d.interval]).toEqual([600, 1]);
    await expectOidcError(await post('/device_authorization', { clientId: c.clientId, clientSecret: 'wrong', startUrl: 'x' }), 401, 'InvalidClientException', 'invalid_client');
    clock += 91 * 86400 * 1000;
    await expectOidcError(await post('/device_authorization', { ...c, startUrl: 'x' }), 401, 'InvalidClientException', 'invalid_client');
  });
});

describe('device-code grant', () => {
  test('pending, slow_down, auto-approval after 2 polls, token works on Q, code single-use', async () => {
    const c = await register();
    const d = await startDevice(c);
    await expectOidcError(await poll(c, d.deviceCode), 400, 'AuthorizationPendingException', 'authorization_pending', 'Authorization is still pending');
    await expectOidcError(await poll(c, d.deviceCode), 400, 'SlowDownException', 'slow_down');
    clock += 1000;
    await expectOidcError(await poll(c, d.deviceCode), 400, 'AuthorizationPendingException', 'authorization_pending');
    clock += 1000;
    const ok = await poll(c, d.deviceCode);
    expect(ok.status).toBe(200);
    const tokens = await ok.json();
    expect(tokens).toEqual({ accessToken: 'fake-at-1', tokenType: 'Bearer', expiresIn: 3600, refreshToken: 'fake-rt-1' });
    expect(await qStatus(tokens.accessToken)).toBe(200);
    clock += 1000;
    await expectOidcError(await poll(c, d.deviceCode), 400, 'InvalidGrantException', 'invalid_grant');
  });

  test('manual approve / deny via the admin API; expiry; unknown code; other client', async () => {
    fake.configure({ device_auto_approve_after_polls: null, device_poll_interval_s: 0 });
    const c = await register();
    const d1 = await startDevice(c);
    await expectOidcError(await poll(c, d1.deviceCode), 400, 'AuthorizationPendingException', 'authorization_pending');
    const approve = await post('/__fake/device/approve', { userCode: d1.userCode.toLowerCase() });
    expect(approve.status).toBe(200);
    expect((await poll(c, d1.deviceCode)).status).toBe(200);
    expect((await post('/__fake/device/approve', { userCode: d1.userCode })).status).toBe(404);

    const d2 = await startDevice(c);
    expect(fake.denyDevice(d2.userCode)).toBe(true);
    await expectOidcError(await poll(c, d2.deviceCode), 400, 'AccessDeniedException', 'access_denied');

    const d3 = await startDevice(c);
    clock += 600_000;
    await expectOidcError(await poll(c, d3.deviceCode), 400, 'ExpiredTokenException', 'expired_token', 'Device code has expired');

    await expectOidcError(await poll(c, 'fake-device-999'), 400, 'InvalidGrantException', 'invalid_grant');
    const other = await register();
    const d4 = await startDevice(c);
    await expectOidcError(await poll(other, d4.deviceCode), 400, 'InvalidGrantException', 'invalid_grant');
    await expectOidcError(await post('/token', { ...c, grantType: 'password' }), 400, 'UnsupportedGrantTypeException', 'unsupported_grant_type');
    await expectOidcError(await fetch(`${fake.url}/token`, { method: 'POST', body: 'nope' }), 400, 'InvalidRequestException', 'invalid_request');
  });
});

describe('refresh grant', () => {
  async function loggedIn() {
    fake.configure({ device_auto_approve_after_polls: 0 });
    const c = await register();
    const d = await startDevice(c);
    const tokens = (await (await poll(c, d.deviceCode)).json()) as { accessToken: string; refreshToken: string };
    return { c, ...tokens };
  }
  const refresh = (c: { clientId: string; clientSecret: string }, refreshToken: string) =>
    post('/token', { clientId: c.clientId, clientSecret: c.clientSecret, grantType: 'refresh_token', refreshToken });

  test('rotation: new pair, old refresh token dead, old access token still valid', async () => {
    const { c, accessToken, refreshToken } = await loggedIn();
    const res = await refresh(c, refreshToken);
    expect(res.status).toBe(200);
    const next = await res.json();
    expect(next).toEqual({ accessToken: 'fake-at-2', tokenType: 'Bearer', expiresIn: 3600, refreshToken: 'fake-rt-2' });
    const again = await refresh(c, refreshToken);
    expect(again.status).toBe(400);
    expect(await again.text()).toBe('{"error":"invalid_grant","error_description":"Invalid refresh token provided"}');
    expect(await qStatus(accessToken)).toBe(200);
    expect(await qStatus(next.accessToken)).toBe(200);
  });

  test('revoke_old_on_refresh; refresh_rotates=false omits refreshToken and keeps the old one', async () => {
    const { c, accessToken, refreshToken } = await loggedIn();
    fake.configure({ revoke_old_on_refresh: true, refresh_rotates: false });
    const first = await (await refresh(c, refreshToken)).json();
    expect(first.refreshToken).toBeUndefined();
    expect(await qStatus(accessToken)).toBe(403);
    const second = await (await refresh(c, refreshToken)).json();
    expect(await qStatus(first.accessToken)).toBe(403);
    expect(await qStatus(second.accessToken)).toBe(200);
  });

  test('invalid_client (401), token of another client, revoked token, access_token_ttl_s expiry', async () => {
    const { c, accessToken, refreshToken } = await loggedIn();
    await expectOidcError(await refresh({ clientId: c.clientId, clientSecret: 'bad' }, refreshToken), 401, 'InvalidClientException', 'invalid_client');
    await expectOidcError(await refresh(await register(), refreshToken), 400, 'InvalidGrantException', 'invalid_grant');
    clock += 3600_000;
    expect(await qStatus(accessToken)).toBe(403);
    expect((await refresh(c, refreshToken)).status).toBe(200);
    expect(fake.revoke({ refreshToken: 'fake-rt-2' })).toEqual({ accessTokens: 0, refreshTokens: 1 });
    await expectOidcError(await refresh(c, 'fake-rt-2'), 400, 'InvalidGrantException', 'invalid_grant', 'Invalid refresh token provided');
  });

  test('seeded IdC account refreshes with its seeded client; social tokens are refused here', async () => {
    fake.seedToken({ refreshToken: 'rt-idc', authMethod: 'idc', clientId: 'imported', clientSecret: 'sec' });
    fake.seedToken({ refreshToken: 'rt-social', authMethod: 'social' });
    const ok = await refresh({ clientId: 'imported', clientSecret: 'sec' }, 'rt-idc');
    expect(ok.status).toBe(200);
    expect(await qStatus((await ok.json()).accessToken)).toBe(200);
    await expectOidcError(await refresh({ clientId: 'imported', clientSecret: 'sec' }, 'rt-social'), 400, 'InvalidGrantException', 'invalid_grant');
  });

  test('special refresh tokens, with or without a valid client', async () => {
    const c = { clientId: 'nobody', clientSecret: 'x' };
    await expectOidcError(await refresh(c, 'fake-rt-invalid'), 400, 'InvalidGrantException', 'invalid_grant', 'Invalid refresh token provided');
    await expectOidcError(await refresh(c, 'fake-rt-slowdown'), 400, 'SlowDownException', 'slow_down');
    await expectOidcError(await refresh(c, 'fake-rt-5xx'), 500, 'InternalServerException', 'server_error');
  });
});

describe('Kiro social auth', () => {
  test('/refreshToken rotates and returns the profile; bad tokens get the Kiro body', async () => {
    fake.seedToken({ accessToken: 'k-at', refreshToken: 'k-rt', authMethod: 'social' });
    const res = await post('/refreshToken', { refreshToken: 'k-rt' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ accessToken: 'fake-at-1', refreshToken: 'fake-rt-1', profileArn: FAKE_PROFILE_ARN, expiresIn: 3600 });
    expect(await qStatus(body.accessToken)).toBe(200);
    for (const bad of ['k-rt', 'nope']) {
      const r = await post('/refreshToken', { refreshToken: bad });
      expect(r.status).toBe(400);
      expect(await r.text()).toBe('{"message":"Invalid refresh token provided"}');
    }
    fake.seedToken({ refreshToken: 'idc-rt', authMethod: 'idc' });
    expect((await post('/refreshToken', { refreshToken: 'idc-rt' })).status).toBe(400);
  });

  test('special tokens on /refreshToken use Kiro-shaped errors', async () => {
    const r1 = await post('/refreshToken', { refreshToken: 'fake-rt-invalid' });
    expect([r1.status, await r1.text()]).toEqual([400, '{"message":"Invalid refresh token provided"}']);
    expect((await post('/refreshToken', { refreshToken: 'fake-rt-slowdown' })).status).toBe(429);
    expect((await post('/refreshToken', { refreshToken: 'fake-rt-5xx' })).status).toBe(500);
  });

  test('social login: /login redirect, then /oauth/token with the PKCE verifier', async () => {
    const verifier = 'v'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const redirect = 'kiro://kiro.kiroAgent/authenticate-success';
    const login = await fetch(`${fake.url}/login?idp=Google&redirect_uri=${encodeURIComponent(redirect)}&code_challenge=${challenge}&code_challenge_method=S256&state=s1`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const location = new URL(login.headers.get('location')!);
    expect(location.searchParams.get('state')).toBe('s1');
    const code = location.searchParams.get('code')!;
    const bad = await post('/oauth/token', { code, code_verifier: 'wrong', redirect_uri: redirect });
    expect(bad.status).toBe(400);
    // A code is burnt by its first exchange attempt.
    expect((await post('/oauth/token', { code, code_verifier: verifier, redirect_uri: redirect })).status).toBe(400);
    const login2 = await fetch(`${fake.url}/login?redirect_uri=${encodeURIComponent(redirect)}&code_challenge=${challenge}&code_challenge_method=S256`, { redirect: 'manual' });
    const code2 = new URL(login2.headers.get('location')!).searchParams.get('code')!;
    const ok = await post('/oauth/token', { code: code2, code_verifier: verifier, redirect_uri: redirect });
    const tokens = await ok.json();
    expect(tokens.profileArn).toBe(FAKE_PROFILE_ARN);
    expect(await qStatus(tokens.accessToken)).toBe(200);
  });
});

describe('OIDC authorization code + PKCE', () => {
  test('authorize redirects with code and state; token exchange verifies S256', async () => {
    const redirectUri = 'http://127.0.0.1:9999/oauth/callback';
    const c = await register({ grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [redirectUri], issuerUrl: 'https://view.awsapps.com/start' });
    expect(c.authorizationEndpoint).toBe(`${fake.url}/authorize`);
    const verifier = 'abc'.repeat(20);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const url = `${fake.url}/authorize?response_type=code&client_id=${c.clientId}&redirect_uri=${encodeURIComponent(redirectUri)}&scopes=codewhisperer%3Acompletions&state=xyz&code_challenge=${challenge}&code_challenge_method=S256`;
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
    expect(location.searchParams.get('state')).toBe('xyz');
    const code = location.searchParams.get('code')!;
    expect(code).toBe('fake-code-1');
    const tok = await post('/token', { clientId: c.clientId, clientSecret: c.clientSecret, grantType: 'authorization_code', code, codeVerifier: verifier, redirectUri });
    expect(tok.status).toBe(200);
    expect(await qStatus((await tok.json()).accessToken)).toBe(200);
    const reuse = await post('/token', { clientId: c.clientId, clientSecret: c.clientSecret, grantType: 'authorization_code', code, codeVerifier: verifier, redirectUri });
    await expectOidcError(reuse, 400, 'InvalidGrantException', 'invalid_grant');
    await expectOidcError(await fetch(url.replace(encodeURIComponent(redirectUri), 'http%3A%2F%2Fevil'), { redirect: 'manual' }), 400, 'InvalidRedirectUriException', 'invalid_redirect_uri');
  });
});

describe('queued auth scenarios, auth_delay_ms, refresh stats', () => {
  test('target=auth entries: OIDC errors, Kiro shape on Kiro routes, http_error, pass with delay', async () => {
    fake.seedToken({ refreshToken: 'k-rt', authMethod: 'social' });
    fake.enqueue([
      { target: 'auth', scenario: 'server_error', match: { path: '/token' } },
      { target: 'auth', scenario: 'invalid_grant', match: { path: '/refreshToken' } },
      { target: 'auth', scenario: 'http_error', args: { status: 503, message: 'busy' }, match: { path: '/refreshToken' } },
      { target: 'auth', scenario: 'pass', args: { delay_ms: 40 }, match: { token: 'k-rt' } },
    ]);
    await expectOidcError(await post('/token', { grantType: 'refresh_token', refreshToken: 'x' }), 500, 'InternalServerException', 'server_error');
    const kiro = await post('/refreshToken', { refreshToken: 'k-rt' });
    expect([kiro.status, await kiro.text()]).toEqual([400, '{"message":"Invalid refresh token provided"}']);
    const busy = await post('/refreshToken', { refreshToken: 'k-rt' });
    expect([busy.status, await busy.json()]).toEqual([503, { message: 'busy' }]);
    const t0 = performance.now();
    expect((await post('/refreshToken', { refreshToken: 'k-rt' })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    const recs = fake.requests().filter((r) => r.listener === 'auth');
    expect(recs.map((r) => r.scenario)).toEqual(['server_error', 'invalid_grant', 'http_error', 'pass']);
    expect(recs[1]!.tokenFingerprint).toBe(tokenFingerprint('k-rt'));
    expect(recs[1]!.body).toEqual({ refreshToken: 'k-rt' });
  });

  test('concurrent refreshes of one rotating token: one wins, peaks are recorded', async () => {
    fake.configure({ auth_delay_ms: 40 });
    fake.seedToken({ refreshToken: 'k-rt', authMethod: 'social' });
    const results = await Promise.all([0, 1, 2].map(() => post('/refreshToken', { refreshToken: 'k-rt' })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400]);
    const stats = fake.stats();
    expect(stats.refresh).toMatchObject({ kiro: 3, oidc: 0, inFlight: 0, peak: 3 });
    expect(stats.refresh.byToken[tokenFingerprint('k-rt')]).toEqual({ calls: 3, peak: 3 });
    await post('/token', { grantType: 'refresh_token', refreshToken: 'fake-rt-invalid' });
    expect(fake.stats().refresh).toMatchObject({ oidc: 1, peak: 3, inFlight: 0 });
  });
});
