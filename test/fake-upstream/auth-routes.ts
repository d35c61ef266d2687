// Dispatcher of the auth listener (§6.5): routes OIDC and Kiro paths, applies queued auth
// scenarios (`target: "auth"`), the special refresh tokens, auth_delay_ms and the concurrent-refresh
// accounting used by single-flight tests.

import { OIDC_ERROR_CODES, renderOidcError } from './errors';
import { KIRO_ERRORS, kiroError, kiroLogin, kiroOauthToken, kiroRefresh } from './kiro-auth';
import { authorize, createToken, devicePage, registerClient, startDeviceAuthorization } from './oidc';
import { tokenFingerprint } from './random';
import { jsonObject, sendJson, sendRendered, type RouteContext } from './route';
import { ScenarioArgError, specFromObject, type ScenarioSpec } from './selection';
import { sleepUnlessClosed } from './stream';

type Flavor = 'oidc' | 'kiro';
type Body = Record<string, unknown>;

interface AuthRoute {
  operation: string;
  flavor: Flavor;
  /** GET routes take no JSON body */
  json: boolean;
  run: (ctx: RouteContext, body: Body) => Promise<void>;
}

const ROUTES: Record<string, AuthRoute> = {
  'POST /client/register': { operation: 'RegisterClient', flavor: 'oidc', json: true, run: registerClient },
  'POST /device_authorization': { operation: 'StartDeviceAuthorization', flavor: 'oidc', json: true, run: startDeviceAuthorization },
  'POST /token': { operation: 'CreateToken', flavor: 'oidc', json: true, run: createToken },
  'GET /authorize': { operation: 'Authorize', flavor: 'oidc', json: false, run: (ctx) => authorize(ctx) },
  'GET /device': { operation: 'DeviceVerificationPage', flavor: 'oidc', json: false, run: (ctx) => devicePage(ctx) },
  'POST /refreshToken': { operation: 'KiroRefreshToken', flavor: 'kiro', json: true, run: kiroRefresh },
  'POST /oauth/token': { operation: 'KiroOAuthToken', flavor: 'kiro', json: true, run: kiroOauthToken },
  'GET /login': { operation: 'KiroLogin', flavor: 'kiro', json: false, run: (ctx) => kiroLogin(ctx) },
};

export const AUTH_PATHS: ReadonlySet<string> = new Set(Object.keys(ROUTES).map((r) => r.slice(r.indexOf(' ') + 1)));

/** Refresh tokens whose name is the scenario (§6.5). */
const SPECIAL_REFRESH_TOKENS: Record<string, 'invalid_grant' | 'slow_down' | 'server_error'> = {
  'fake-rt-invalid': 'invalid_grant',
  'fake-rt-slowdown': 'slow_down',
  'fake-rt-5xx': 'server_error',
};

const KIRO_EQUIVALENT: Record<string, { status: number; body: unknown }> = {
  invalid_grant: KIRO_ERRORS.invalidRefresh,
  slow_down: KIRO_ERRORS.throttled,
  server_error: KIRO_ERRORS.internal,
};

/** An OIDC error code rendered the way the route's service would. */
function sendAuthError(ctx: RouteContext, flavor: Flavor, code: string, description?: string): Promise<void> {
  const kiro = flavor === 'kiro' ? KIRO_EQUIVALENT[code] : undefined;
  if (kiro) return kiroError(ctx, kiro);
  ctx.record.note = code;
  return sendRendered(ctx, renderOidcError(code, description ?? (code === 'invalid_grant' ? 'Invalid refresh token provided' : undefined)));
}

/** A queued auth scenario: an OIDC error code, `http_error`, or `pass` (just the delay_ms). */
async function sendQueued(ctx: RouteContext, flavor: Flavor, spec: ScenarioSpec): Promise<void> {
  const { args } = spec;
  if (spec.name === 'http_error') {
    const status = args.int('status', 500, 100, 599);
    if (flavor === 'kiro') return kiroError(ctx, { status, body: { message: args.str('message', 'Internal server error') } });
    return sendRendered(ctx, renderOidcError(args.str('error', 'server_error'), args.str('description'), status));
  }
  if (OIDC_ERROR_CODES.includes(spec.name)) return sendAuthError(ctx, flavor, spec.name, args.str('description'));
  return sendJson(ctx, 500, { message: `[fake-upstream] unknown auth scenario ${JSON.stringify(spec.name)}` });
}

function refreshTokenOf(routeKey: string, body: Body): string | null {
  const isRefresh = (routeKey === 'POST /token' && body.grantType === 'refresh_token') || routeKey === 'POST /refreshToken';
  if (!isRefresh) return null;
  return typeof body.refreshToken === 'string' ? body.refreshToken : '';
}

export async function handleAuth(ctx: RouteContext): Promise<void> {
  const { state, req } = ctx;
  const routeKey = `${req.method} ${req.path}`;
  const route = ROUTES[routeKey];
  if (!route) return sendJson(ctx, 404, { message: `no route ${routeKey}` });
  ctx.record.operation = route.operation;

  let body: Body = {};
  if (route.json) {
    const parsed = jsonObject(req.body);
    if (!parsed) {
      if (route.flavor === 'kiro') return kiroError(ctx, { status: 400, body: { message: 'Request body must be a JSON object' } });
      return sendAuthError(ctx, 'oidc', 'invalid_request', 'Request body must be a JSON object');
    }
    body = parsed;
  }

  const refreshToken = refreshTokenOf(routeKey, body);
  if (refreshToken !== null) ctx.record.tokenFingerprint = tokenFingerprint(refreshToken);
  const endRefresh = refreshToken !== null ? state.refreshStarted(route.flavor, tokenFingerprint(refreshToken)) : null;
  try {
    // Delay first, decide after: concurrent refreshes of one rotating token then really race.
    if (refreshToken !== null) await sleepUnlessClosed(state.config.auth_delay_ms, ctx.res);

    const probe = [body.refreshToken, body.deviceCode, body.code].find((v): v is string => typeof v === 'string') ?? null;
    const queued = state.takeQueued('auth', { token: probe, text: new TextDecoder().decode(req.body), path: req.path });
    if (queued) {
      let spec: ScenarioSpec;
      try {
        spec = specFromObject(queued.scenario, queued.args, 'queue', `queue#${queued.seq}`);
        ctx.record.scenario = spec.name;
        ctx.record.scenarioArgs = spec.args.toJSON();
        await sleepUnlessClosed(spec.args.num('delay_ms', 0), ctx.res);
      } catch (err) {
        if (err instanceof ScenarioArgError) return sendJson(ctx, 500, { message: `[fake-upstream] ${err.message}` });
        throw err;
      }
      if (spec.name !== 'pass') return sendQueued(ctx, route.flavor, spec);
    }

    const special = refreshToken === null ? undefined : SPECIAL_REFRESH_TOKENS[refreshToken];
    if (special) return sendAuthError(ctx, route.flavor, special);
    return await route.run(ctx, body);
  } finally {
    endRefresh?.();
  }
}
