// Fake Kiro social auth service (§5.2, §5.3, §6.5): POST /refreshToken, POST /oauth/token and the
// GET /login redirect. Errors use Kiro's plain {"message"} shape, not the OIDC one.

import { redirectWithCode } from './oidc';
import { sha256Base64Url } from './random';
import { FAKE_PROFILE_ARN, type AccessTokenRecord, type RefreshTokenRecord } from './registry';
import { sendJson, type RouteContext } from './route';

type Body = Record<string, unknown>;

export const KIRO_ERRORS = {
  invalidRefresh: { status: 400, body: { message: 'Invalid refresh token provided' } },
  invalidCode: { status: 400, body: { message: 'Invalid authorization code provided' } },
  // Kiro has no documented slow-down or 5xx body; these are the fake's plausible stand-ins.
  throttled: { status: 429, body: { message: 'Too many requests, please wait before trying again.' } },
  internal: { status: 500, body: { message: 'Internal server error' } },
} as const;

export function kiroError(ctx: RouteContext, err: { status: number; body: unknown }): Promise<void> {
  ctx.record.note = JSON.stringify(err.body);
  return sendJson(ctx, err.status, err.body);
}

function socialTokens(ctx: RouteContext, access: AccessTokenRecord, refresh: RefreshTokenRecord): Promise<void> {
  return sendJson(ctx, 200, {
    accessToken: access.token,
    refreshToken: refresh.token,
    profileArn: access.profileArn ?? FAKE_PROFILE_ARN,
    expiresIn: ctx.state.config.access_token_ttl_s,
  });
}

export async function kiroRefresh(ctx: RouteContext, body: Body): Promise<void> {
  const { registry } = ctx.state;
  const token = typeof body.refreshToken === 'string' ? body.refreshToken : '';
  const old = registry.liveRefresh(token);
  if (!old || old.authMethod !== 'social') return kiroError(ctx, KIRO_ERRORS.invalidRefresh);
  // Kiro hands every social account its profile; seeded accounts without one get the fake's.
  old.profileArn ??= FAKE_PROFILE_ARN;
  const rotated = registry.rotate(old);
  return socialTokens(ctx, rotated.access, rotated.refresh);
}

export async function kiroOauthToken(ctx: RouteContext, body: Body): Promise<void> {
  const code = ctx.state.registry.takeCode(typeof body.code === 'string' ? body.code : '');
  const verifier = typeof body.code_verifier === 'string' ? body.code_verifier : '';
  if (!code || code.clientId !== null || code.redirectUri !== body.redirect_uri || sha256Base64Url(verifier) !== code.codeChallenge) {
    return kiroError(ctx, KIRO_ERRORS.invalidCode);
  }
  const { access, refresh } = ctx.state.registry.issue({ authMethod: 'social', profileArn: FAKE_PROFILE_ARN, clientId: null });
  return socialTokens(ctx, access, refresh);
}

/** Social login (§5.3): the IdP round trip is skipped; straight back with a code. */
export async function kiroLogin(ctx: RouteContext): Promise<void> {
  const q = ctx.req.query;
  const redirectUri = q.get('redirect_uri');
  const challenge = q.get('code_challenge');
  if (!redirectUri || !challenge || q.get('code_challenge_method') !== 'S256') {
    return kiroError(ctx, { status: 400, body: { message: 'redirect_uri and an S256 code_challenge are required' } });
  }
  return redirectWithCode(ctx, { clientId: null, redirectUri, codeChallenge: challenge, state: q.get('state') });
}
