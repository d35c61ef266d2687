// The fake's identity store, shared by the Q routes and the auth routes (§6.1): access and refresh
// tokens, OIDC client registrations, device codes and authorization codes.

import type { FakeConfig } from './config';
import { randomUserCode, type Rng } from './random';

export type AuthMethod = 'social' | 'idc';

/** The one profile the fake knows (§6.2, §6.5). */
export const FAKE_PROFILE_ARN = 'arn:aws:codewhisperer:us-east-1:000000000000:profile/FAKEPROFILE01';

export interface AccessTokenRecord {
  token: string;
  /** stable across refreshes: usage counters follow the account, not the token */
  account: string;
  authMethod: AuthMethod;
  profileArn: string | null;
  clientId: string | null;
  /** epoch ms */
  expiresAt: number;
  revoked: boolean;
}

export interface RefreshTokenRecord {
  token: string;
  account: string;
  authMethod: AuthMethod;
  profileArn: string | null;
  clientId: string | null;
  revoked: boolean;
  /** the access token most recently issued from this refresh token (revoke_old_on_refresh) */
  lastAccessToken: string | null;
}

export interface ClientRecord {
  clientId: string;
  clientSecret: string;
  clientName: string;
  /** epoch seconds, as on the wire */
  issuedAt: number;
  expiresAt: number;
  scopes: string[];
  grantTypes: string[];
  redirectUris: string[];
}

export type DeviceStatus = 'pending' | 'approved' | 'denied' | 'consumed';

export interface DeviceRecord {
  deviceCode: string;
  userCode: string;
  clientId: string;
  /** epoch ms */
  expiresAt: number;
  interval: number;
  status: DeviceStatus;
  polls: number;
  lastPollAt: number | null;
}

export interface AuthCodeRecord {
  code: string;
  /** null for Kiro social login codes, which have no OIDC client */
  clientId: string | null;
  redirectUri: string;
  codeChallenge: string;
  expiresAt: number;
  used: boolean;
}

export interface SeedTokenInput {
  accessToken?: string;
  refreshToken?: string;
  expiresIn?: number;
  authMethod?: AuthMethod;
  profileArn?: string;
  clientId?: string;
  clientSecret?: string;
}

export type AccessCheck =
  | { ok: true; record: AccessTokenRecord }
  | { ok: false; why: 'missing' | 'unknown' | 'expired' | 'revoked' };

// Authorization codes are exchanged within seconds by real clients; 10 minutes is the OAuth norm.
const AUTH_CODE_TTL_MS = 10 * 60 * 1000;

export class Registry {
  private readonly access = new Map<string, AccessTokenRecord>();
  private readonly refresh = new Map<string, RefreshTokenRecord>();
  private readonly clients = new Map<string, ClientRecord>();
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly codes = new Map<string, AuthCodeRecord>();
  private seq = { token: 0, account: 0, client: 0, device: 0, code: 0 };

  constructor(
    private readonly config: () => FakeConfig,
    private readonly rng: Rng,
  ) {}

  private now(): number {
    return this.config().now();
  }

  // ── tokens ──

  /** A fresh token family (device grant, authorization code, Kiro login). */
  issue(opts: { authMethod: AuthMethod; profileArn: string | null; clientId: string | null }): {
    access: AccessTokenRecord;
    refresh: RefreshTokenRecord;
  } {
    const account = `acct-${++this.seq.account}`;
    const n = this.nextTokenNumber();
    const refresh = this.addRefresh(`fake-rt-${n}`, { ...opts, account });
    const access = this.addAccess(`fake-at-${n}`, { ...opts, account }, this.config().access_token_ttl_s);
    refresh.lastAccessToken = access.token;
    return { access, refresh };
  }

  /** Refresh grant: a new access token, and a new refresh token when rotating (old one dies). */
  rotate(old: RefreshTokenRecord): { access: AccessTokenRecord; refresh: RefreshTokenRecord } {
    const cfg = this.config();
    if (cfg.revoke_old_on_refresh && old.lastAccessToken) {
      const prev = this.access.get(old.lastAccessToken);
      if (prev) prev.revoked = true;
    }
    const n = this.nextTokenNumber();
    let refresh = old;
    if (cfg.refresh_rotates) {
      old.revoked = true;
      refresh = this.addRefresh(`fake-rt-${n}`, old);
    }
    const access = this.addAccess(`fake-at-${n}`, old, cfg.access_token_ttl_s);
    refresh.lastAccessToken = access.token;
    return { access, refresh };
  }

  /** Seeded tokens may use the fake's own naming scheme; never hand out a name twice. */
  private nextTokenNumber(): number {
    let n = ++this.seq.token;
    while (this.access.has(`fake-at-${n}`) || this.refresh.has(`fake-rt-${n}`)) n = ++this.seq.token;
    return n;
  }

  /** Pre-seeded account (§6.6 POST /__fake/tokens), e.g. an imported Kiro credential file. */
  seed(input: SeedTokenInput): { accessToken: string | null; refreshToken: string | null; expiresAt: number | null; account: string } {
    if (!input.accessToken && !input.refreshToken) throw new Error('seed needs accessToken and/or refreshToken');
    const authMethod: AuthMethod = input.authMethod ?? (input.clientId ? 'idc' : 'social');
    const existing = (input.refreshToken && this.refresh.get(input.refreshToken)) || (input.accessToken && this.access.get(input.accessToken));
    const account = existing ? existing.account : `acct-${++this.seq.account}`;
    const family = { account, authMethod, profileArn: input.profileArn ?? null, clientId: input.clientId ?? null };
    if (input.clientId && input.clientSecret && !this.clients.has(input.clientId)) {
      const now = Math.floor(this.now() / 1000);
      this.clients.set(input.clientId, {
        clientId: input.clientId,
        clientSecret: input.clientSecret,
        clientName: 'seeded',
        issuedAt: now,
        expiresAt: now + this.config().client_ttl_s,
        scopes: [],
        grantTypes: ['refresh_token'],
        redirectUris: [],
      });
    }
    const refresh = input.refreshToken ? this.addRefresh(input.refreshToken, family) : null;
    const access = input.accessToken
      ? this.addAccess(input.accessToken, family, input.expiresIn ?? this.config().access_token_ttl_s)
      : null;
    if (refresh && access) refresh.lastAccessToken = access.token;
    return { accessToken: access?.token ?? null, refreshToken: refresh?.token ?? null, expiresAt: access?.expiresAt ?? null, account };
  }

  checkAccess(token: string | null): AccessCheck {
    if (!token) return { ok: false, why: 'missing' };
    const record = this.access.get(token);
    if (!record) return { ok: false, why: 'unknown' };
    if (record.revoked) return { ok: false, why: 'revoked' };
    if (this.now() >= record.expiresAt) return { ok: false, why: 'expired' };
    return { ok: true, record };
  }

  accessRecord(token: string): AccessTokenRecord | undefined {
    return this.access.get(token);
  }

  /** undefined for unknown and revoked refresh tokens alike: both are invalid_grant */
  liveRefresh(token: string): RefreshTokenRecord | undefined {
    const record = this.refresh.get(token);
    return record && !record.revoked ? record : undefined;
  }

  /** Revoking a token the fake never issued still works, so `accept_any_token` bearers can die too. */
  revoke(opts: { accessToken?: string; refreshToken?: string }): { accessTokens: number; refreshTokens: number } {
    let accessTokens = 0;
    let refreshTokens = 0;
    if (opts.accessToken) {
      const record =
        this.access.get(opts.accessToken) ??
        this.addAccess(opts.accessToken, { account: `acct-${++this.seq.account}`, authMethod: 'social', profileArn: null, clientId: null }, 0);
      if (!record.revoked) accessTokens++;
      record.revoked = true;
    }
    if (opts.refreshToken) {
      const record = this.refresh.get(opts.refreshToken);
      if (record && !record.revoked) {
        record.revoked = true;
        refreshTokens++;
      }
    }
    return { accessTokens, refreshTokens };
  }

  private addAccess(token: string, family: Omit<AccessTokenRecord, 'token' | 'expiresAt' | 'revoked'>, ttlSeconds: number): AccessTokenRecord {
    const record: AccessTokenRecord = {
      token,
      account: family.account,
      authMethod: family.authMethod,
      profileArn: family.profileArn,
      clientId: family.clientId,
      expiresAt: this.now() + ttlSeconds * 1000,
      revoked: false,
    };
    this.access.set(token, record);
    return record;
  }

  private addRefresh(token: string, family: Omit<RefreshTokenRecord, 'token' | 'revoked' | 'lastAccessToken'>): RefreshTokenRecord {
    const record: RefreshTokenRecord = {
      token,
      account: family.account,
      authMethod: family.authMethod,
      profileArn: family.profileArn,
      clientId: family.clientId,
      revoked: false,
      lastAccessToken: null,
    };
    this.refresh.set(token, record);
    return record;
  }

  // ── OIDC clients ──

  registerClient(opts: { clientName: string; scopes: string[]; grantTypes: string[]; redirectUris: string[] }): ClientRecord {
    const n = ++this.seq.client;
    const issuedAt = Math.floor(this.now() / 1000);
    const record: ClientRecord = {
      clientId: `fake-client-${n}`,
      clientSecret: `fake-secret-${n}`,
      issuedAt,
      expiresAt: issuedAt + this.config().client_ttl_s,
      ...opts,
    };
    this.clients.set(record.clientId, record);
    return record;
  }

  /** null = invalid_client (unknown, wrong secret, registration expired) */
  checkClient(clientId: unknown, clientSecret: unknown): ClientRecord | null {
    if (typeof clientId !== 'string' || typeof clientSecret !== 'string') return null;
    const record = this.clients.get(clientId);
    if (!record || record.clientSecret !== clientSecret) return null;
    return this.now() / 1000 < record.expiresAt ? record : null;
  }

  client(clientId: string): ClientRecord | undefined {
    return this.clients.get(clientId);
  }

  // ── device authorization ──

  createDevice(clientId: string): DeviceRecord {
    const cfg = this.config();
    let userCode = randomUserCode(this.rng);
    while ([...this.devices.values()].some((d) => d.userCode === userCode)) userCode = randomUserCode(this.rng);
    const record: DeviceRecord = {
      deviceCode: `fake-device-${++this.seq.device}`,
      userCode,
      clientId,
      expiresAt: this.now() + cfg.device_code_ttl_s * 1000,
      interval: cfg.device_poll_interval_s,
      status: 'pending',
      polls: 0,
      lastPollAt: null,
    };
    this.devices.set(record.deviceCode, record);
    return record;
  }

  device(deviceCode: string): DeviceRecord | undefined {
    return this.devices.get(deviceCode);
  }

  deviceByUserCode(userCode: string): DeviceRecord | undefined {
    const wanted = userCode.toUpperCase();
    for (const d of this.devices.values()) if (d.userCode === wanted) return d;
    return undefined;
  }

  // ── authorization codes (OIDC PKCE and Kiro social login) ──

  createCode(opts: { clientId: string | null; redirectUri: string; codeChallenge: string }): AuthCodeRecord {
    const record: AuthCodeRecord = {
      code: `fake-code-${++this.seq.code}`,
      ...opts,
      expiresAt: this.now() + AUTH_CODE_TTL_MS,
      used: false,
    };
    this.codes.set(record.code, record);
    return record;
  }

  /** Single use: a code is burnt by its first exchange attempt, successful or not. */
  takeCode(code: string): AuthCodeRecord | undefined {
    const record = this.codes.get(code);
    if (!record || record.used || this.now() >= record.expiresAt) return undefined;
    record.used = true;
    return record;
  }
}
