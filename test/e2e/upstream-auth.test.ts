// OIDC (register / device flow / refresh) and Kiro social refresh against the fake auth server.
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { createQClient } from '../../src/upstream/client';
import { AuthError } from '../../src/upstream/errors';
import { createKiroAuthClient } from '../../src/upstream/kiro-auth';
import { BUILDER_ID_START_URL, createOidcClient, KIRO_CLIENT_NAME, Q_SCOPES } from '../../src/upstream/oidc';
import { FAKE_PROFILE_ARN, type FakeUpstream, startFakeUpstream } from '../fake-upstream/server';
import { rejectionOf } from '../support/rejection';

// The fake's clock is ours: device polling intervals pass without sleeping.
let clock = Date.parse('2026-06-01T00:00:00Z');
let fake: FakeUpstream;

beforeAll(async () => {
  fake = await startFakeUpstream({ now: () => clock });
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.reset();
});

const authRejection = (p: Promise<unknown>) => rejectionOf(p, AuthError);

describe('SSO OIDC', () => {
  const oidc = () => createOidcClient({ endpoint: fake.url });

  test('register → device authorization → pending → slow_down → token → refresh', async () => {
    const c = oidc();
    const reg = await c.registerClient({ clientName: KIRO_CLIENT_NAME, scopes: Q_SCOPES });
    expect(reg.clientId).toStartWith('fake-client-');
    expect(reg.clientSecretExpiresAt).toBeGreaterThan(reg.clientIdIssuedAt);
    const recorded = fake.requests().at(-1)!;
    expect(recorded.body).toEqual({ clientName: 'Kiro IDE', clientType: 'public', scopes: [...Q_SCOPES] });

    const dev = await c.startDeviceAuthorization({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: BUILDER_ID_START_URL });
    expect(dev.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(dev.verificationUriComplete).toContain(dev.userCode);
    expect(dev.interval).toBeGreaterThan(0);

    const poll = () => c.createToken({ grantType: 'device_code', clientId: reg.clientId, clientSecret: reg.clientSecret, deviceCode: dev.deviceCode });
    const pending = await authRejection(poll());
    expect(pending.error).toBe('authorization_pending');
    expect(pending.status).toBe(400);
    expect(pending.permanent).toBe(false);
    // polled again without waiting the interval
    const slow = await authRejection(poll());
    expect(slow.error).toBe('slow_down');
    expect(slow.permanent).toBe(false);

    expect(fake.approveDevice(dev.userCode)).toBe(true);
    clock += dev.interval * 1000;
    const tok = await poll();
    expect(tok.accessToken).toStartWith('fake-at-');
    expect(tok.refreshToken).toStartWith('fake-rt-');
    expect(tok.tokenType).toBe('Bearer');
    expect(tok.expiresIn).toBeGreaterThan(0);
    expect(fake.requests().at(-1)!.body).toMatchObject({ grantType: 'urn:ietf:params:oauth:grant-type:device_code' });

    // the issued token works against Q
    const models = await createQClient({ endpoint: fake.url }).listAvailableModels({ accessToken: tok.accessToken });
    expect(models.models.length).toBeGreaterThan(0);

    const refreshed = await c.createToken({ grantType: 'refresh_token', clientId: reg.clientId, clientSecret: reg.clientSecret, refreshToken: tok.refreshToken! });
    expect(refreshed.accessToken).not.toBe(tok.accessToken);
    expect(refreshed.refreshToken).toBeDefined();

    // the consumed device code is dead now
    const used = await authRejection(poll());
    expect(used.error).toBe('invalid_grant');
  });

  test('denied and expired device codes', async () => {
    const c = oidc();
    const reg = await c.registerClient({ clientName: KIRO_CLIENT_NAME, scopes: Q_SCOPES });
    const start = () => c.startDeviceAuthorization({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: BUILDER_ID_START_URL });
    const d1 = await start();
    fake.denyDevice(d1.userCode);
    const denied = await authRejection(c.createToken({ grantType: 'device_code', ...reg, deviceCode: d1.deviceCode }));
    expect(denied.error).toBe('access_denied');
    const d2 = await start();
    clock += (d2.expiresIn + 1) * 1000;
    const expired = await authRejection(c.createToken({ grantType: 'device_code', ...reg, deviceCode: d2.deviceCode }));
    expect(expired.error).toBe('expired_token');
  });

  test('refresh failures: invalid_grant and invalid_client are permanent, slow_down and 5xx are not', async () => {
    const c = oidc();
    const reg = await c.registerClient({ clientName: KIRO_CLIENT_NAME, scopes: Q_SCOPES });
    const refresh = (refreshToken: string, creds = reg) => c.createToken({ grantType: 'refresh_token', clientId: creds.clientId, clientSecret: creds.clientSecret, refreshToken });

    const invalid = await authRejection(refresh('fake-rt-invalid'));
    expect([invalid.error, invalid.status, invalid.permanent]).toEqual(['invalid_grant', 400, true]);
    expect(invalid.description).toBe('Invalid refresh token provided');
    const unknown = await authRejection(refresh('no-such-token'));
    expect([unknown.error, unknown.permanent]).toEqual(['invalid_grant', true]);
    const slow = await authRejection(refresh('fake-rt-slowdown'));
    expect([slow.error, slow.permanent]).toEqual(['slow_down', false]);
    const five = await authRejection(refresh('fake-rt-5xx'));
    expect([five.error, five.status, five.permanent]).toEqual(['server_error', 500, false]);
    const badClient = await authRejection(refresh('whatever', { ...reg, clientSecret: 'wrong' }));
    expect([badClient.error, badClient.status, badClient.permanent]).toEqual(['invalid_client', 401, true]);
  });

  test('seeded IdC account refreshes with its client', async () => {
    const c = oidc();
    const reg = await c.registerClient({ clientName: KIRO_CLIENT_NAME, scopes: Q_SCOPES });
    fake.seedToken({ refreshToken: 'fake-rt-idc-1', authMethod: 'idc', clientId: reg.clientId, clientSecret: reg.clientSecret });
    const t = await c.createToken({ grantType: 'refresh_token', clientId: reg.clientId, clientSecret: reg.clientSecret, refreshToken: 'fake-rt-idc-1' });
    expect(t.accessToken).toStartWith('fake-at-');
  });

  test('invalid_client on device start is not permanent (re-register fixes it)', async () => {
    const err = await authRejection(oidc().startDeviceAuthorization({ clientId: 'x', clientSecret: 'y', startUrl: BUILDER_ID_START_URL }));
    expect([err.error, err.status, err.permanent]).toEqual(['invalid_client', 401, false]);
  });

  test('network failure and timeout', async () => {
    const probe = Bun.serve({ port: 0, fetch: () => new Response('') });
    const port = probe.port;
    await probe.stop(true);
    const net = await authRejection(createOidcClient({ endpoint: `http://127.0.0.1:${port}` }).registerClient({ clientName: 'x', scopes: [] }));
    expect([net.error, net.permanent]).toEqual(['network', false]);

    fake.configure({ auth_delay_ms: 2000 });
    const kiro = createKiroAuthClient({ endpoint: fake.url, timeoutMs: 100 });
    const slow = await authRejection(kiro.refreshToken('fake-rt-any'));
    expect([slow.error, slow.permanent]).toEqual(['timeout', false]);
  });
});

describe('Kiro social refresh', () => {
  test('valid refresh returns a rotated token and the profile ARN; the new token works', async () => {
    fake.seedToken({ accessToken: 'fake-at-social-old', refreshToken: 'fake-rt-social-1', expiresIn: 3600, authMethod: 'social' });
    const kiro = createKiroAuthClient({ endpoint: fake.url });
    const t = await kiro.refreshToken('fake-rt-social-1', { machineId: 'a'.repeat(64) });
    expect(t.accessToken).toStartWith('fake-at-');
    expect(t.refreshToken).toBeDefined();
    expect(t.profileArn).toBe(FAKE_PROFILE_ARN);
    expect(t.expiresIn).toBeGreaterThan(0);
    const r = fake.requests().at(-1)!;
    expect([r.method, r.path]).toEqual(['POST', '/refreshToken']);
    expect(r.body).toEqual({ refreshToken: 'fake-rt-social-1' });
    expect(r.headers['user-agent']).toMatch(/^KiroIDE-[\d.]+-a{64}$/);
    const usage = await createQClient({ endpoint: fake.url, dialect: 'rest' }).getUsageLimits({ accessToken: t.accessToken, profileArn: t.profileArn! });
    expect(usage).toBeObject();
  });

  test('"Invalid refresh token provided" → permanent invalid_grant', async () => {
    const kiro = createKiroAuthClient({ endpoint: fake.url });
    for (const token of ['fake-rt-invalid', 'never-issued']) {
      const err = await authRejection(kiro.refreshToken(token));
      expect([err.error, err.status, err.permanent]).toEqual(['invalid_grant', 400, true]);
    }
  });

  test('throttled and 5xx refreshes are transient', async () => {
    const kiro = createKiroAuthClient({ endpoint: fake.url });
    const slow = await authRejection(kiro.refreshToken('fake-rt-slowdown'));
    expect([slow.status, slow.permanent]).toEqual([429, false]);
    const five = await authRejection(kiro.refreshToken('fake-rt-5xx'));
    expect([five.error, five.status, five.permanent]).toEqual(['server_error', 500, false]);
  });
});
