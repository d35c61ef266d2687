// Device-code login on a manual clock shared with the fake OIDC server: polling cadence, slow_down,
// the 5-minute window counted from start, registration reuse, one account per session, the CLI.
import { Database } from 'bun:sqlite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { runLoginCommand } from '../../src/cli/login';
import { CLAIM_WINDOW_MS, createDeviceLogin, type DeviceLogin, SLOW_DOWN_STEP_MS } from '../../src/pool/device-login';
import { Q_CLI_CLIENT_NAME, Q_SCOPES } from '../../src/upstream/oidc';
import { type FakeUpstream, startFakeUpstream } from '../fake-upstream/server';
import { clockSleep, harness, type Harness, type ManualClock, manualClock } from '../support/lifecycle-harness';

const T0 = Date.parse('2026-06-01T00:00:00Z');
let clock: ManualClock = manualClock(T0);
let fake: FakeUpstream;
let h: Harness;
let login: DeviceLogin;

beforeAll(async () => {
  fake = await startFakeUpstream({ now: () => clock.now(), device_auto_approve_after_polls: null });
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(async () => {
  clock = manualClock(T0);
  fake.reset();
  h = await harness({ upstreamUrl: fake.url, clock });
  login = createDeviceLogin({ ...h, sleep: clockSleep(clock) });
});
afterEach(async () => {
  await h.close();
});

const tokenPolls = () => fake.requests().filter((r) => r.path === '/token');
const registrations = () => fake.stats().routes['POST /client/register'] ?? 0;

describe('start', () => {
  test('registers a Q CLI client once and reuses it until a minute before it expires', async () => {
    fake.configure({ client_ttl_s: 3600 });
    const first = await login.start({ label: 'mine' });
    expect(first).toMatchObject({ expiresIn: 600, interval: 1 });
    expect(first.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(first.verificationUriComplete).toContain(first.userCode);
    expect(fake.requests().find((r) => r.path === '/client/register')!.body).toEqual({
      clientName: Q_CLI_CLIENT_NAME,
      clientType: 'public',
      scopes: [...Q_SCOPES],
    });
    await login.start({});
    expect(registrations()).toBe(1);
    clock.advance(3600_000 - 30_000); // inside the last minute of the registration
    await login.start({});
    expect(registrations()).toBe(2);
  });

  test('a cached registration the service no longer knows is replaced', async () => {
    await login.start({});
    fake.reset(); // forgets every client
    const again = await login.start({});
    expect(again.userCode).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(registrations()).toBe(1);
  });

  test('device code and client secret are sealed in the session row', async () => {
    const s = await login.start({});
    const raw = new Database(h.config.databaseUrl.slice('sqlite:'.length));
    const row = raw.query('select * from login_sessions where id = ?').get(s.authId) as Record<string, string>;
    const client = raw.query('select * from oidc_clients').get() as Record<string, string>;
    raw.close();
    expect(row.device_code).toStartWith('v1:');
    expect(row.client_secret).toStartWith('v1:');
    expect(client.client_secret).toStartWith('v1:');
    expect(JSON.stringify(row)).not.toContain('fake-device-');
    expect(JSON.stringify(client)).not.toContain('fake-secret-');
  });
});

describe('status', () => {
  test('pending; polls the token endpoint at most once per interval', async () => {
    const s = await login.start({});
    expect(await login.status(s.authId)).toEqual({ status: 'pending', remaining: 300 });
    expect(tokenPolls()).toHaveLength(0); // the first poll waits one interval
    clock.advance(1000);
    expect((await login.status(s.authId)).status).toBe('pending');
    expect(await login.status(s.authId)).toEqual({ status: 'pending', remaining: 299 });
    expect(tokenPolls()).toHaveLength(1);
    fake.approveDevice(s.userCode);
    clock.advance(1000);
    const done = await login.status(s.authId);
    expect(done.status).toBe('completed');
    expect((await h.store.accounts.get(done.accountId!))!.authMethod).toBe('idc');
  });

  test('a transient token-endpoint failure keeps the session pending and is retried', async () => {
    const s = await login.start({});
    fake.enqueue({ target: 'auth', scenario: 'server_error', match: { path: '/token' }, times: 1 });
    clock.advance(1000);
    expect(await login.status(s.authId)).toMatchObject({ status: 'pending', error: expect.stringContaining('server_error') });
    fake.approveDevice(s.userCode);
    clock.advance(1000);
    expect((await login.status(s.authId)).status).toBe('completed');
  });

  test('an unknown session is a 404', async () => {
    await expect(login.status('nope')).rejects.toMatchObject({ kind: 'not_found', status: 404 });
    await expect(login.claim('nope')).rejects.toMatchObject({ kind: 'not_found' });
  });
});

describe('claim', () => {
  test('honours the interval and slow_down (+5 s), then creates the account', async () => {
    fake.configure({ device_auto_approve_after_polls: 2 });
    const s = await login.start({ label: 'dev box', enabled: false });
    fake.enqueue({ target: 'auth', scenario: 'slow_down', match: { path: '/token' }, times: 1 });
    const r = await login.claim(s.authId);
    expect(r.status).toBe('completed');
    const times = tokenPolls().map((p) => p.time - T0);
    // 1 s: slow_down; then every 6 s: pending, pending, approved
    expect(times).toEqual([1000, 1000 + 1000 + SLOW_DOWN_STEP_MS, 1000 + 2 * 6000, 1000 + 3 * 6000]);
    expect(tokenPolls().map((p) => p.status)).toEqual([400, 400, 400, 200]);
    const a = r.account!;
    expect(a).toMatchObject({ label: 'dev box', enabled: false, authMethod: 'idc', lastRefreshStatus: 'success', region: null });
    expect(a.clientId).toStartWith('fake-client-');
    expect(a.clientSecret).toStartWith('fake-secret-');
    expect(a.refreshToken).toStartWith('fake-rt-');
    expect(a.accessToken).toStartWith('fake-at-');
    expect(a.expiresAt!.getTime()).toBe(T0 + 19_000 + 3600_000);
    expect(await login.status(s.authId)).toEqual({ status: 'completed', accountId: a.id, remaining: 0 });
  });

  test('access_denied ends the session as denied, with no account', async () => {
    const s = await login.start({});
    fake.denyDevice(s.userCode);
    expect(await login.claim(s.authId)).toMatchObject({ status: 'denied', error: expect.stringContaining('access_denied') });
    expect((await h.store.accounts.list()).total).toBe(0);
  });

  test('expired_token from the service ends the session as expired', async () => {
    const s = await login.start({});
    fake.enqueue({ target: 'auth', scenario: 'expired_token', match: { path: '/token' }, times: 1 });
    expect(await login.claim(s.authId)).toMatchObject({ status: 'expired', error: expect.stringContaining('expired_token') });
  });

  test('gives up 5 minutes after start, not 5 minutes after the claim', async () => {
    fake.configure({ device_poll_interval_s: 5 });
    const s = await login.start({});
    clock.advance(4 * 60_000);
    const r = await login.claim(s.authId);
    expect(r).toMatchObject({ status: 'expired', error: 'Authorization timeout (5 minutes)', remaining: 0 });
    expect(clock.now()).toBe(T0 + CLAIM_WINDOW_MS);
    expect(tokenPolls().length).toBeLessThanOrEqual(13); // one a 5 s interval in the last minute
  });

  test('two concurrent claims of one session make one account', async () => {
    fake.configure({ device_auto_approve_after_polls: 1 });
    const s = await login.start({});
    const other = createDeviceLogin({ ...h, sleep: clockSleep(clock) }); // another replica
    const [a, b] = await Promise.all([login.claim(s.authId), other.claim(s.authId)]);
    expect(a.status).toBe('completed');
    expect(b.status).toBe('completed');
    expect(a.accountId).toBe(b.accountId!);
    expect((await h.store.accounts.list()).total).toBe(1);
    expect(tokenPolls().filter((p) => p.status === 200)).toHaveLength(1);
  });

  test('an aborted claim stops polling', async () => {
    const s = await login.start({});
    const ctl = new AbortController();
    ctl.abort(new Error('client went away'));
    await expect(login.claim(s.authId, ctl.signal)).rejects.toThrow('client went away');
  });
});

describe('q2api login', () => {
  test('prints the link and the code, waits, adds the account', async () => {
    fake.configure({ device_auto_approve_after_polls: 1 });
    let out = '';
    const code = await runLoginCommand(h, ['--label', 'cli', '--start-url', 'https://my-org.awsapps.com/start'], { out: (s) => (out += s), err: (s) => (out += s) }, { sleep: clockSleep(clock) });
    expect(code).toBe(0);
    expect(out).toMatch(/http:\/\/127\.0\.0\.1:\d+\/device\?user_code=[A-Z]{4}-[A-Z]{4}/);
    expect(out).toMatch(/code [A-Z]{4}-[A-Z]{4}/);
    expect(out).toContain('Logged in: account');
    const [a] = (await h.store.accounts.list()).items;
    expect(a).toMatchObject({ label: 'cli', enabled: true, other: { source: 'device_login', startUrl: 'https://my-org.awsapps.com/start' } });
    expect(fake.requests().find((r) => r.path === '/device_authorization')!.body).toMatchObject({ startUrl: 'https://my-org.awsapps.com/start' });
  });

  test('a denied login exits 1; bad flags exit 2', async () => {
    let err = '';
    const io = {
      // the user reads the code and turns the request down
      out: (s: string) => void fake.denyDevice(/code ([A-Z]{4}-[A-Z]{4})/.exec(s)?.[1] ?? ''),
      err: (s: string) => (err += s),
    };
    expect(await runLoginCommand(h, [], io, { sleep: clockSleep(clock) })).toBe(1);
    expect(err).toContain('the request was denied');
    expect(await runLoginCommand(h, ['--region', 'not a region'], io)).toBe(2);
    expect(await runLoginCommand(h, ['--bogus'], io)).toBe(2);
    expect(err).toContain('unknown option --bogus');
    expect((await h.store.accounts.list()).total).toBe(0);
  });
});
