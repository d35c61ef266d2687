// Fake AWS SSO OIDC (§4, §6.5): RegisterClient, StartDeviceAuthorization, CreateToken (device
// code, refresh token, authorization code + PKCE) and the /authorize redirect.

import { renderOidcError } from './errors';
import { sha256Base64Url } from './random';
import type { AccessTokenRecord, RefreshTokenRecord } from './registry';
import { sendJson, sendRendered, type RouteContext } from './route';

type Body = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function oidcError(ctx: RouteContext, code: string, description?: string): Promise<void> {
  ctx.record.note = code;
  return sendRendered(ctx, renderOidcError(code, description));
}

function tokenResponse(ctx: RouteContext, access: AccessTokenRecord, refresh: RefreshTokenRecord | null): Promise<void> {
  const doc: Record<string, unknown> = {
    accessToken: access.token,
    tokenType: 'Bearer',
    expiresIn: ctx.state.config.access_token_ttl_s,
  };
  if (refresh) doc.refreshToken = refresh.token;
  return sendJson(ctx, 200, doc);
}

export async function registerClient(ctx: RouteContext, body: Body): Promise<void> {
  const clientName = str(body.clientName);
  if (!clientName || body.clientType !== 'public') return oidcError(ctx, 'invalid_client_metadata', 'clientName is required and clientType must be public');
  const grantTypes = strings(body.grantTypes);
  const client = ctx.state.registry.registerClient({
    clientName,
    scopes: strings(body.scopes),
    grantTypes,
    redirectUris: strings(body.redirectUris),
  });
  const doc: Record<string, unknown> = {
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    clientIdIssuedAt: client.issuedAt,
    clientSecretExpiresAt: client.expiresAt,
  };
  if (grantTypes.includes('authorization_code')) {
    doc.authorizationEndpoint = `${ctx.baseUrl}/authorize`;
    doc.tokenEndpoint = `${ctx.baseUrl}/token`;
  }
  return sendJson(ctx, 200, doc);
}

export async function startDeviceAuthorization(ctx: RouteContext, body: Body): Promise<void> {
  const client = ctx.state.registry.checkClient(body.clientId, body.clientSecret);
  if (!client) return oidcError(ctx, 'invalid_client');
  if (!str(body.startUrl)) return oidcError(ctx, 'invalid_request', 'startUrl is required');
  const device = ctx.state.registry.createDevice(client.clientId);
  const verificationUri = `${ctx.baseUrl}/device`;
  return sendJson(ctx, 200, {
    deviceCode: device.deviceCode,
    userCode: device.userCode,
    verificationUri,
    verificationUriComplete: `${verificationUri}?user_code=${device.userCode}`,
    expiresIn: ctx.state.config.device_code_ttl_s,
    interval: device.interval,
  });
}

async function deviceGrant(ctx: RouteContext, body: Body, clientId: string): Promise<void> {
  const { state } = ctx;
  const device = state.registry.device(str(body.deviceCode) ?? '');
  if (!device || device.clientId !== clientId || device.status === 'consumed') {
    return oidcError(ctx, 'invalid_grant', 'Invalid device code provided');
  }
  const now = state.now();
  if (now >= device.expiresAt) return oidcError(ctx, 'expired_token', 'Device code has expired');
  if (device.status === 'denied') return oidcError(ctx, 'access_denied', 'Authorization request was denied');
  const tooSoon = device.lastPollAt !== null && now - device.lastPollAt < device.interval * 1000;
  device.lastPollAt = now;
  if (tooSoon) return oidcError(ctx, 'slow_down');
  device.polls++;
  const auto = state.config.device_auto_approve_after_polls;
  if (device.status === 'pending' && auto !== null && device.polls > auto) device.status = 'approved';
  if (device.status !== 'approved') return oidcError(ctx, 'authorization_pending', 'Authorization is still pending');
  device.status = 'consumed';
  const { access, refresh } = state.registry.issue({ authMethod: 'idc', profileArn: null, clientId });
  return tokenResponse(ctx, access, refresh);
}

async function refreshGrant(ctx: RouteContext, body: Body, clientId: string): Promise<void> {
  const { registry } = ctx.state;
  const old = registry.liveRefresh(str(body.refreshToken) ?? '');
  // A refresh token is bound to the client that obtained it; seeded ones without a client are not.
  if (!old || old.authMethod !== 'idc' || (old.clientId !== null && old.clientId !== clientId)) {
    return oidcError(ctx, 'invalid_grant', 'Invalid refresh token provided');
  }
  const rotated = registry.rotate(old);
  return tokenResponse(ctx, rotated.access, ctx.state.config.refresh_rotates ? rotated.refresh : null);
}

async function authorizationCodeGrant(ctx: RouteContext, body: Body, clientId: string): Promise<void> {
  const code = ctx.state.registry.takeCode(str(body.code) ?? '');
  const verifier = str(body.codeVerifier);
  if (
    !code ||
    code.clientId !== clientId ||
    code.redirectUri !== body.redirectUri ||
    !verifier ||
    sha256Base64Url(verifier) !== code.codeChallenge
  ) {
    return oidcError(ctx, 'invalid_grant', 'Invalid authorization code provided');
  }
  const { access, refresh } = ctx.state.registry.issue({ authMethod: 'idc', profileArn: null, clientId });
  return tokenResponse(ctx, access, refresh);
}

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

export async function createToken(ctx: RouteContext, body: Body): Promise<void> {
  const grantType = body.grantType;
  if (grantType !== DEVICE_GRANT && grantType !== 'refresh_token' && grantType !== 'authorization_code') {
    return oidcError(ctx, 'unsupported_grant_type');
  }
  const client = ctx.state.registry.checkClient(body.clientId, body.clientSecret);
  if (!client) return oidcError(ctx, 'invalid_client');
  if (grantType === DEVICE_GRANT) return deviceGrant(ctx, body, client.clientId);
  if (grantType === 'refresh_token') return refreshGrant(ctx, body, client.clientId);
  return authorizationCodeGrant(ctx, body, client.clientId);
}

/** Browser step of the PKCE flow: no consent page, straight back to the client with a code. */
export async function authorize(ctx: RouteContext): Promise<void> {
  const q = ctx.req.query;
  const clientId = q.get('client_id') ?? '';
  const client = ctx.state.registry.client(clientId);
  if (!client) return oidcError(ctx, 'invalid_client');
  const redirectUri = q.get('redirect_uri') ?? '';
  if (!redirectUri || (client.redirectUris.length > 0 && !client.redirectUris.includes(redirectUri))) {
    return oidcError(ctx, 'invalid_redirect_uri');
  }
  const challenge = q.get('code_challenge');
  if (q.get('response_type') !== 'code' || q.get('code_challenge_method') !== 'S256' || !challenge) {
    return oidcError(ctx, 'invalid_request', 'response_type=code and an S256 code_challenge are required');
  }
  return redirectWithCode(ctx, { clientId, redirectUri, codeChallenge: challenge, state: q.get('state') });
}

export async function redirectWithCode(
  ctx: RouteContext,
  opts: { clientId: string | null; redirectUri: string; codeChallenge: string; state: string | null },
): Promise<void> {
  const code = ctx.state.registry.createCode(opts);
  let location: URL;
  try {
    location = new URL(opts.redirectUri);
  } catch {
    return oidcError(ctx, 'invalid_redirect_uri');
  }
  location.searchParams.set('code', code.code);
  if (opts.state !== null) location.searchParams.set('state', opts.state);
  await ctx.res.send(302, [['Location', location.toString()], ['Content-Type', 'text/plain'], ...ctx.baseHeaders], '');
}

/** The verification page a human would open; approval itself goes through the admin API. */
export async function devicePage(ctx: RouteContext): Promise<void> {
  const code = ctx.req.query.get('user_code') ?? '<user code>';
  const text = `Fake device verification for ${code}.\nApprove: POST ${ctx.baseUrl}/__fake/device/approve {"userCode":"${code}"}\n`;
  await ctx.res.send(200, [['Content-Type', 'text/plain; charset=utf-8'], ...ctx.baseHeaders], text);
}
