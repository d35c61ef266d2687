// Device-code login (upstream-protocol.md §4.7) for /v2/auth/* and `q2api login`: register (or reuse)
// an OIDC client, start device authorization, poll CreateToken, create the account. Sessions live in
// the database and polling is leased, so any replica may serve any step and one session makes one account.

import { createHash } from 'node:crypto';
import type { AppContext } from '../context';
import { GatewayError } from '../http/errors';
import { type Account, DuplicateAccountError } from '../store/accounts';
import type { LoginSession, LoginStatus } from '../store/login-sessions';
import { AuthError } from '../upstream/errors';
import { BUILDER_ID_START_URL, DEFAULT_AUTH_TIMEOUT_MS, type OidcClient, Q_CLI_CLIENT_NAME, Q_SCOPES } from '../upstream/oidc';
import { systemSleep, type Sleep } from './lifecycle';
import { createOidcResolver } from './oidc-endpoints';

/** Python q2api's limit: a claim waits at most 5 minutes, here counted from start (not from the claim). */
export const CLAIM_WINDOW_MS = 5 * 60_000;
/** RFC 8628 §3.5: every slow_down adds 5 seconds to the polling interval. */
export const SLOW_DOWN_STEP_MS = 5_000;
/** One CreateToken call cannot outlive this (the auth client times out first), so a poller that died
 *  mid-call blocks the session no longer than this. */
export const POLL_LEASE_MS = 2 * DEFAULT_AUTH_TIMEOUT_MS;
/** Q CLI drops a registration 1 minute before clientSecretExpiresAt, so no login starts on a dying client. */
export const REGISTRATION_MARGIN_MS = 60_000;
/** Sessions stay readable (status) for a day, then go at the next start. */
export const SESSION_RETENTION_MS = 24 * 3_600_000;
/** A claim re-reads the session at least this often, to see an end reached by another replica. */
export const CLAIM_RECHECK_MS = 1_000;
/** Guards against a zero or absurd interval turning the claim loop into a busy loop. */
export const MIN_POLL_INTERVAL_MS = 10;
/** Q CLI's client name, as the Python q2api registers; the scopes are Q CLI's and Kiro's (oidc.ts). */
export const LOGIN_CLIENT_NAME = Q_CLI_CLIENT_NAME;

export interface StartLoginInput {
  label?: string | null;
  /** the account starts enabled (default true) */
  enabled?: boolean;
  /** Builder ID by default; IAM Identity Center users give https://<alias>.awsapps.com/start */
  startUrl?: string;
  /** IdC region (selects the OIDC endpoint); Builder ID is us-east-1 */
  region?: string;
}

export interface StartedLogin {
  authId: string;
  verificationUriComplete: string;
  userCode: string;
  /** seconds the device code lives */
  expiresIn: number;
  /** seconds between polls */
  interval: number;
}

export interface LoginState {
  status: LoginStatus;
  accountId?: string;
  error?: string;
  /** seconds left before claims give up */
  remaining: number;
}

export interface ClaimResult extends LoginState {
  /** the account, once completed */
  account?: Account;
}

export interface DeviceLogin {
  start(input: StartLoginInput): Promise<StartedLogin>;
  /** The session's state, after at most one poll of the token endpoint (none before the interval is up). */
  status(authId: string): Promise<LoginState>;
  /** Polls until the session ends (approved, denied, expired, failed) or `signal` aborts. */
  claim(authId: string, signal?: AbortSignal): Promise<ClaimResult>;
}

export type DeviceLoginDeps = Pick<AppContext, 'config' | 'log' | 'clock' | 'random' | 'store' | 'upstream'> & { sleep?: Sleep };

const notFound = () => new GatewayError('not_found', 'Auth session not found');
const oidcError = (e: unknown) =>
  new GatewayError('upstream', `OIDC error: ${e instanceof Error ? e.message : String(e)}`, { cause: e });

export function createDeviceLogin(deps: DeviceLoginDeps): DeviceLogin {
  const { store, clock, log } = deps;
  const sessions = store.loginSessions;
  const sleep = deps.sleep ?? systemSleep;
  const oidcFor = createOidcResolver(deps);
  /** Names this process as the poller in session rows. */
  const owner = deps.random.uuid();
  const at = (ms: number) => new Date(ms);

  const registrationKey = (endpoint: string) =>
    createHash('sha256').update(`${endpoint}\n${LOGIN_CLIENT_NAME}\n${Q_SCOPES.join(' ')}`).digest('hex');

  async function registration(endpoint: string, oidc: OidcClient, fresh: boolean): Promise<{ clientId: string; clientSecret: string }> {
    const key = registrationKey(endpoint);
    const cached = fresh ? null : await store.oidcClients.get(key);
    if (cached && cached.expiresAt.getTime() - REGISTRATION_MARGIN_MS > clock.now()) return cached;
    const reg = await oidc.registerClient({ clientName: LOGIN_CLIENT_NAME, scopes: Q_SCOPES });
    await store.oidcClients.put(key, {
      endpoint,
      clientName: LOGIN_CLIENT_NAME,
      clientId: reg.clientId,
      clientSecret: reg.clientSecret,
      expiresAt: at(reg.clientSecretExpiresAt * 1000),
    });
    log.info('registered OIDC client', { endpoint, clientId: reg.clientId });
    return reg;
  }

  const stateOf = (s: LoginSession): LoginState => ({
    status: s.status,
    ...(s.accountId ? { accountId: s.accountId } : {}),
    ...(s.error ? { error: s.error } : {}),
    remaining: s.status === 'pending' ? Math.max(0, Math.ceil((s.deadlineAt.getTime() - clock.now()) / 1000)) : 0,
  });

  async function reread(id: string): Promise<LoginSession> {
    const s = await sessions.get(id);
    if (!s) throw notFound();
    return s;
  }

  async function completeWith(s: LoginSession, token: { accessToken: string; refreshToken?: string; expiresIn: number }): Promise<void> {
    const now = clock.now();
    let accountId: string;
    try {
      const account = await store.accounts.create({
        label: s.label,
        clientId: s.clientId,
        clientSecret: s.clientSecret,
        refreshToken: token.refreshToken ?? null,
        accessToken: token.accessToken,
        expiresAt: at(now + token.expiresIn * 1000),
        authMethod: 'idc',
        region: s.region,
        enabled: s.enabled,
        other: { source: 'device_login', startUrl: s.startUrl },
      });
      accountId = account.id;
      await store.accounts.update(accountId, { lastRefreshTime: at(now), lastRefreshStatus: 'success' });
    } catch (e) {
      if (!(e instanceof DuplicateAccountError)) throw e;
      accountId = e.existingId; // the same login already produced this account
    }
    await sessions.finish(s.id, { status: 'completed', accountId });
    log.info('device login completed', { authId: s.id, account: accountId });
  }

  /** At most one CreateToken poll, if due and nobody else is polling; returns the session after it. */
  async function advance(s: LoginSession): Promise<LoginSession> {
    if (s.status !== 'pending') return s;
    const now = clock.now();
    if (now >= s.deadlineAt.getTime()) {
      await sessions.finish(s.id, { status: 'expired', error: 'Authorization timeout (5 minutes)' });
      return reread(s.id);
    }
    if (now < s.nextPollAt.getTime()) return s;
    if (!(await sessions.takePoll(s.id, owner, at(now + POLL_LEASE_MS), at(now)))) return s;
    const reschedule = (intervalMs: number, error: string | null) =>
      sessions.reschedule(s.id, owner, { intervalMs, nextPollAt: at(clock.now() + intervalMs), error });
    const { client } = oidcFor(s.region);
    let token;
    try {
      token = await client.createToken({ grantType: 'device_code', clientId: s.clientId, clientSecret: s.clientSecret, deviceCode: s.deviceCode });
    } catch (e) {
      if (!(e instanceof AuthError)) {
        await reschedule(s.intervalMs, e instanceof Error ? e.message : String(e));
        throw e;
      }
      switch (e.error) {
        case 'authorization_pending':
          await reschedule(s.intervalMs, null);
          break;
        case 'slow_down':
          await reschedule(s.intervalMs + SLOW_DOWN_STEP_MS, null);
          break;
        case 'expired_token':
          await sessions.finish(s.id, { status: 'expired', error: e.message });
          break;
        case 'access_denied':
          await sessions.finish(s.id, { status: 'denied', error: e.message });
          break;
        case 'server_error':
        case 'network':
        case 'timeout':
        case 'invalid_response':
          // Transient: poll again at the next interval, keeping the message for the status route.
          await reschedule(s.intervalMs, e.message);
          break;
        default:
          if (e.error === 'invalid_client') await store.oidcClients.forget(registrationKey(oidcFor(s.region).endpoint));
          await sessions.finish(s.id, { status: 'error', error: e.message });
      }
      return reread(s.id);
    }
    try {
      await completeWith(s, token);
    } catch (e) {
      // The device code is spent: a later poll would only get invalid_grant, so end the session here.
      await sessions.finish(s.id, { status: 'error', error: `account could not be stored: ${e instanceof Error ? e.message : String(e)}` });
      throw e;
    }
    return reread(s.id);
  }

  return {
    async start(input) {
      const startUrl = input.startUrl ?? BUILDER_ID_START_URL;
      const { endpoint, client } = oidcFor(input.region);
      // Finished sessions are only kept for status lookups; starting a new one is a fine time to prune.
      await sessions.deleteCreatedBefore(at(clock.now() - SESSION_RETENTION_MS)).catch((e: unknown) => log.warn('could not prune login sessions', { error: e }));
      let reg;
      let device;
      try {
        reg = await registration(endpoint, client, false);
        try {
          device = await client.startDeviceAuthorization({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl });
        } catch (e) {
          // The cached registration was revoked or expired early: register once more.
          if (!(e instanceof AuthError && e.error === 'invalid_client')) throw e;
          reg = await registration(endpoint, client, true);
          device = await client.startDeviceAuthorization({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl });
        }
      } catch (e) {
        if (e instanceof AuthError) throw oidcError(e);
        throw e;
      }
      const now = clock.now();
      const intervalMs = Math.max(MIN_POLL_INTERVAL_MS, Math.round(device.interval * 1000));
      const lifetimeMs = device.expiresIn * 1000;
      const session = await sessions.create({
        id: deps.random.uuid(),
        label: input.label ?? null,
        enabled: input.enabled ?? true,
        region: input.region ?? null,
        startUrl,
        clientId: reg.clientId,
        clientSecret: reg.clientSecret,
        deviceCode: device.deviceCode,
        userCode: device.userCode,
        verificationUriComplete: device.verificationUriComplete,
        intervalMs,
        expiresAt: at(now + lifetimeMs),
        deadlineAt: at(now + Math.min(lifetimeMs, CLAIM_WINDOW_MS)),
        // §4.7: wait one interval before the first poll; nobody approves within a second anyway.
        nextPollAt: at(now + intervalMs),
      });
      log.info('device login started', { authId: session.id, userCode: device.userCode });
      return {
        authId: session.id,
        verificationUriComplete: device.verificationUriComplete,
        userCode: device.userCode,
        expiresIn: device.expiresIn,
        interval: device.interval,
      };
    },

    async status(authId) {
      const s = await sessions.get(authId);
      if (!s) throw notFound();
      return stateOf(await advance(s));
    },

    async claim(authId, signal) {
      let s = await sessions.get(authId);
      if (!s) throw notFound();
      for (;;) {
        s = await advance(s);
        if (s.status !== 'pending') break;
        const now = clock.now();
        const due = s.nextPollAt.getTime() - now;
        // Not due yet: sleep until it is. Due but not polled: another replica is polling; look again soon.
        const wait = Math.min(due > 0 ? due : s.intervalMs, CLAIM_RECHECK_MS, Math.max(1, s.deadlineAt.getTime() - now));
        await sleep(wait, signal);
        s = await reread(authId);
      }
      const result: ClaimResult = stateOf(s);
      if (s.status === 'completed' && s.accountId) {
        const account = await store.accounts.get(s.accountId);
        if (account) result.account = account;
      }
      return result;
    },
  };
}
