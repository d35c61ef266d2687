// AWS SSO OIDC client (Builder ID / IAM Identity Center, upstream-protocol.md §4): client
// registration, device authorization and CreateToken. Unsigned JSON POSTs; failures are AuthError.
import { AuthError, classifyAuthError, parseJsonObject } from './errors';
import { fetchProxyOption, type ProxyConfig } from './proxy';

/** Builder ID is served from us-east-1 only; IdC uses the region of the instance. */
export const oidcEndpointFor = (region: string): string => `https://oidc.${region}.amazonaws.com`;

/** Public AWS Builder ID start URL; IdC users bring `https://<alias>.awsapps.com/start`. */
export const BUILDER_ID_START_URL = 'https://view.awsapps.com/start';

/**
 * Scopes Q CLI and Kiro request. Q CLI deliberately leaves out `sso:account:access`, which would
 * make IdC ask for account access the service never uses.
 */
export const Q_SCOPES: readonly string[] = Object.freeze([
  'codewhisperer:completions',
  'codewhisperer:analysis',
  'codewhisperer:conversations',
]);
/** Optional extras some clients add (code transformation, /dev task assist). */
export const Q_OPTIONAL_SCOPES: readonly string[] = Object.freeze(['codewhisperer:transformations', 'codewhisperer:taskassist']);

/** The name shown on the consent page. Kiro accounts are registered as "Kiro IDE", Q CLI's as below. */
export const KIRO_CLIENT_NAME = 'Kiro IDE';
export const Q_CLI_CLIENT_NAME = 'Amazon Q Developer for command line';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/** Auth calls sit on the request path when a token expires; 30 s keeps a hung host from stalling it forever. */
export const DEFAULT_AUTH_TIMEOUT_MS = 30_000;

export type AuthFetchFn = (input: string | URL | Request, init?: BunFetchRequestInit) => Promise<Response>;

export interface OidcClientOptions {
  /** e.g. https://oidc.us-east-1.amazonaws.com (see oidcEndpointFor) */
  endpoint: string;
  fetch?: AuthFetchFn;
  proxy?: ProxyConfig;
  timeoutMs?: number;
}

export interface RegisterClientInput {
  clientName: string;
  scopes: readonly string[];
  /** PKCE registrations only */
  grantTypes?: readonly string[];
  redirectUris?: readonly string[];
  issuerUrl?: string;
}

export interface RegisteredClient {
  clientId: string;
  clientSecret: string;
  /** epoch seconds */
  clientIdIssuedAt: number;
  /** epoch seconds; re-register shortly before (registrations live ≈ 90 days) */
  clientSecretExpiresAt: number;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
}

export interface StartDeviceAuthorizationInput {
  clientId: string;
  clientSecret: string;
  startUrl: string;
}

export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string;
  /** seconds the device code lives */
  expiresIn: number;
  /** minimum seconds between CreateToken polls */
  interval: number;
}

interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

export type CreateTokenInput = ClientCredentials &
  (
    | { grantType: 'device_code'; deviceCode: string }
    | { grantType: 'refresh_token'; refreshToken: string }
    | { grantType: 'authorization_code'; code: string; codeVerifier: string; redirectUri: string }
  );

export interface OidcToken {
  accessToken: string;
  /** seconds */
  expiresIn: number;
  /** refresh responses may omit it: then keep the old one; when present always persist it (rotation) */
  refreshToken?: string;
  tokenType?: string;
  idToken?: string;
  /** some Kiro refresh responses carry it */
  profileArn?: string;
}

export interface OidcClient {
  registerClient(input: RegisterClientInput, signal?: AbortSignal): Promise<RegisteredClient>;
  startDeviceAuthorization(input: StartDeviceAuthorizationInput, signal?: AbortSignal): Promise<DeviceAuthorization>;
  createToken(input: CreateTokenInput, signal?: AbortSignal): Promise<OidcToken>;
}

export function createOidcClient(options: OidcClientOptions): OidcClient {
  const base = options.endpoint.replace(/\/+$/, '');
  new URL(base);
  const post = (path: string, body: Record<string, unknown>, signal: AbortSignal | undefined, grant?: string) =>
    authPostJson({ url: `${base}${path}`, body, signal, grant, fetch: options.fetch, proxy: options.proxy, timeoutMs: options.timeoutMs });

  return {
    async registerClient(input, signal) {
      const body: Record<string, unknown> = { clientName: input.clientName, clientType: 'public', scopes: [...input.scopes] };
      if (input.grantTypes) body.grantTypes = [...input.grantTypes];
      if (input.redirectUris) body.redirectUris = [...input.redirectUris];
      if (input.issuerUrl) body.issuerUrl = input.issuerUrl;
      const o = await post('/client/register', body, signal);
      const out: RegisteredClient = {
        clientId: need(o, 'clientId', 'string'),
        clientSecret: need(o, 'clientSecret', 'string'),
        clientIdIssuedAt: need(o, 'clientIdIssuedAt', 'number'),
        clientSecretExpiresAt: need(o, 'clientSecretExpiresAt', 'number'),
      };
      if (typeof o.authorizationEndpoint === 'string') out.authorizationEndpoint = o.authorizationEndpoint;
      if (typeof o.tokenEndpoint === 'string') out.tokenEndpoint = o.tokenEndpoint;
      return out;
    },

    async startDeviceAuthorization(input, signal) {
      const o = await post('/device_authorization', { clientId: input.clientId, clientSecret: input.clientSecret, startUrl: input.startUrl }, signal);
      return {
        deviceCode: need(o, 'deviceCode', 'string'),
        userCode: need(o, 'userCode', 'string'),
        verificationUri: need(o, 'verificationUri', 'string'),
        verificationUriComplete: need(o, 'verificationUriComplete', 'string'),
        expiresIn: need(o, 'expiresIn', 'number'),
        // The spec makes interval optional; RFC 8628 says 5 s when absent.
        interval: typeof o.interval === 'number' ? o.interval : 5,
      };
    },

    async createToken(input, signal) {
      const body: Record<string, unknown> = { clientId: input.clientId, clientSecret: input.clientSecret };
      switch (input.grantType) {
        case 'device_code':
          body.grantType = DEVICE_CODE_GRANT_TYPE;
          body.deviceCode = input.deviceCode;
          break;
        case 'refresh_token':
          body.grantType = 'refresh_token';
          body.refreshToken = input.refreshToken;
          break;
        case 'authorization_code':
          body.grantType = 'authorization_code';
          body.code = input.code;
          body.codeVerifier = input.codeVerifier;
          body.redirectUri = input.redirectUri;
          break;
      }
      return parseToken(await post('/token', body, signal, input.grantType));
    },
  };
}

/** Validates a token response (OIDC CreateToken and Kiro refreshToken share this shape). */
export function parseToken(o: Record<string, unknown>): OidcToken {
  const out: OidcToken = { accessToken: need(o, 'accessToken', 'string'), expiresIn: need(o, 'expiresIn', 'number') };
  for (const k of ['refreshToken', 'tokenType', 'idToken', 'profileArn'] as const) {
    const v = o[k];
    if (typeof v === 'string' && v !== '') out[k] = v;
  }
  return out;
}

function need<T extends 'string' | 'number'>(o: Record<string, unknown>, key: string, type: T): T extends 'string' ? string : number {
  const v = o[key];
  if (typeof v !== type || (type === 'string' && v === '')) {
    throw new AuthError('invalid_response', `auth response lacks ${type} "${key}"`);
  }
  return v as T extends 'string' ? string : number;
}

export interface AuthPostInput {
  url: string;
  body: Record<string, unknown>;
  signal?: AbortSignal | undefined;
  /** grant type of a CreateToken call, for deciding whether invalid_client is permanent */
  grant?: string | undefined;
  headers?: Record<string, string>;
  fetch?: AuthFetchFn | undefined;
  proxy?: ProxyConfig | undefined;
  timeoutMs?: number | undefined;
}

/** POSTs JSON and returns the JSON object answer; every failure becomes an AuthError. Shared with kiro-auth. */
export async function authPostJson(input: AuthPostInput): Promise<Record<string, unknown>> {
  const fetchFn = input.fetch ?? fetch;
  const timeoutMs = input.timeoutMs ?? DEFAULT_AUTH_TIMEOUT_MS;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('auth timeout'));
  }, timeoutMs);
  const onAbort = () => controller.abort(input.signal?.reason);
  if (input.signal?.aborted) controller.abort(input.signal.reason);
  else input.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let res: Response;
    let text: string;
    try {
      res = await fetchFn(input.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...input.headers },
        body: JSON.stringify(input.body),
        signal: controller.signal,
        proxy: fetchProxyOption(input.url, input.proxy),
      });
      text = await res.text();
    } catch (e) {
      if (timedOut) throw new AuthError('timeout', `${input.url} did not answer within ${timeoutMs} ms`, { cause: e });
      if (input.signal?.aborted) throw input.signal.reason;
      throw new AuthError('network', `${input.url}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (!res.ok) throw classifyAuthError(res.status, text, input.grant);
    const parsed = parseJsonObject(text);
    if (parsed === undefined) {
      throw new AuthError('invalid_response', `${input.url}: response is not a JSON object`, { status: res.status });
    }
    return parsed;
  } finally {
    clearTimeout(timer);
    input.signal?.removeEventListener('abort', onAbort);
  }
}
