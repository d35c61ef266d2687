// Kiro social-login token refresh (upstream-protocol.md §5.2): POST {endpoint}/refreshToken.
// A rejected refresh token is a permanent AuthError('invalid_grant'): the account needs a new login.
import { authPostJson, type AuthFetchFn, parseToken } from './oidc';
import type { ProxyConfig } from './proxy';

export const kiroAuthEndpointFor = (region: string): string => `https://prod.${region}.auth.desktop.kiro.dev`;

/** Kiro IDE version claimed in the refresh User-Agent (kiro.rs sends `KiroIDE-<ver>-<machineId>`). */
const DEFAULT_KIRO_VERSION = '0.11.63';

export interface KiroAuthClientOptions {
  /** e.g. https://prod.us-east-1.auth.desktop.kiro.dev (see kiroAuthEndpointFor) */
  endpoint: string;
  fetch?: AuthFetchFn;
  proxy?: ProxyConfig;
  timeoutMs?: number;
  kiroVersion?: string;
}

export interface KiroRefreshOptions {
  /** per-account 64-hex id, as sent to the Q service */
  machineId?: string;
  signal?: AbortSignal;
}

export interface KiroToken {
  accessToken: string;
  /** persist when present: Kiro rotates refresh tokens */
  refreshToken?: string;
  profileArn?: string;
  /** seconds */
  expiresIn: number;
}

export interface KiroAuthClient {
  refreshToken(refreshToken: string, options?: KiroRefreshOptions): Promise<KiroToken>;
}

export function createKiroAuthClient(options: KiroAuthClientOptions): KiroAuthClient {
  const base = options.endpoint.replace(/\/+$/, '');
  new URL(base);
  const version = options.kiroVersion ?? DEFAULT_KIRO_VERSION;
  return {
    async refreshToken(refreshToken, opts = {}) {
      const o = await authPostJson({
        url: `${base}/refreshToken`,
        body: { refreshToken },
        grant: 'refresh_token',
        headers: { 'User-Agent': opts.machineId ? `KiroIDE-${version}-${opts.machineId}` : `KiroIDE-${version}` },
        signal: opts.signal,
        fetch: options.fetch,
        proxy: options.proxy,
        timeoutMs: options.timeoutMs,
      });
      const t = parseToken(o);
      const out: KiroToken = { accessToken: t.accessToken, expiresIn: t.expiresIn };
      if (t.refreshToken !== undefined) out.refreshToken = t.refreshToken;
      if (t.profileArn !== undefined) out.profileArn = t.profileArn;
      return out;
    },
  };
}
