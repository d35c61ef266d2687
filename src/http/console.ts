// The web console: its page (an HTML bundle embedded in the binary), login and logout as a signed
// session cookie, and the playground's admin-authenticated passage to /v1, so no client key has to
// reach the browser. Mounted with the admin routes, whose /v2 gate checks the session.

import { Elysia, t } from 'elysia';
import consolePage from '../../console/index.html';
import type { AppContext } from '../context';
import { bearerToken, checkAdminKey, type FailureLimiter } from './guards';
import {
  SESSION_PATH,
  SESSION_TTL_S,
  clearedSessionCookie,
  isHttps,
  issueSession,
  sessionCookie,
  sessionToken,
  verifySession,
} from './session';

/** Runs a request through the whole app, as if it came from outside (the playground's /v1 calls). */
export type Dispatch = (request: Request) => Promise<Response>;

/** Nonce bytes in a session token: makes every token distinct, nothing more (the HMAC is the lock). */
const SESSION_NONCE_BYTES = 16;

const PlaygroundBody = t.Object(
  {
    model: t.String({ maxLength: 200, description: 'a model id from GET /v2/playground/models' }),
    messages: t.Array(t.Unknown(), { minItems: 1, description: 'Anthropic Messages API messages' }),
    system: t.Optional(t.Unknown()),
    max_tokens: t.Optional(t.Integer({ minimum: 1 })),
    stream: t.Optional(t.Boolean()),
    thinking: t.Optional(t.Unknown()),
    tools: t.Optional(t.Array(t.Unknown())),
  },
  // Forwarded as it is: /v1/messages validates the rest, and stripping fields here would hide them.
  { additionalProperties: true, description: 'An Anthropic Messages API request' },
);

/**
 * The page as a Bun.serve static route, handed to the app's `serve.routes`: Elysia only turns an
 * HTML bundle route into a static one when no global onRequest hook exists, and the admin gate is one.
 * Its JS and CSS chunks are served by Bun at the root (`/chunk-<hash>.js`). HEAD / stays Elysia's.
 */
export function consoleStaticRoutes(): Bun.Serve.Routes<unknown, string> {
  // Bun accepts an HTML bundle per method (Elysia itself relies on it); bun-types only lists Responses there.
  return { '/': { GET: consolePage as unknown as Response } };
}

export function consoleRoutes(ctx: AppContext, limiter: FailureLimiter, dispatch: Dispatch) {
  // /v1 may be locked by OPENAI_KEYS; the playground, already behind the admin gate, uses the first key.
  const clientHeaders = (): Record<string, string> => {
    const key = ctx.config.openaiKeys[0];
    return key ? { authorization: `Bearer ${key}` } : {};
  };
  const noStore = { 'cache-control': 'no-store' };

  return new Elysia({ name: 'console' })
    .post(
      SESSION_PATH,
      ({ body, request, server, set }) => {
        const address = server?.requestIP(request)?.address ?? 'unknown';
        // The same check, limiter and errors as a Bearer call: a login form is no cheaper to brute-force.
        checkAdminKey(new Headers({ authorization: `Bearer ${body.key}` }), ctx.adminKey, address, limiter);
        const { token, expiresAt } = issueSession(ctx.adminKey, ctx.clock.now(), ctx.random.bytes(SESSION_NONCE_BYTES));
        set.headers['set-cookie'] = sessionCookie(token, SESSION_TTL_S, isHttps(request));
        Object.assign(set.headers, noStore);
        return { authenticated: true, expires_at: new Date(expiresAt).toISOString() };
      },
      {
        // printable ASCII: what an Authorization header can carry, so the Bearer check below sees the same key
        body: t.Object({ key: t.String({ minLength: 1, maxLength: 4096, pattern: '^[\\x20-\\x7e]+$', description: 'the admin key' }) }),
        detail: {
          summary: 'Console login: trade the admin key for an HttpOnly session cookie (12 h)',
          description: 'Wrong keys count against the same per-address limiter as a wrong Bearer key.',
          tags: ['console'],
          security: [],
        },
      },
    )
    .get(
      SESSION_PATH,
      ({ request, set }) => {
        Object.assign(set.headers, noStore);
        const token = bearerToken(request.headers) === undefined ? sessionToken(request.headers) : undefined;
        const check = token === undefined ? undefined : verifySession(token, ctx.adminKey, ctx.clock.now());
        return {
          authenticated: true,
          via: check?.ok ? 'session' : 'bearer',
          expires_at: check?.ok ? new Date(check.expiresAt).toISOString() : null,
          version: ctx.version,
          /** whether /v1 needs a client key (the playground passes one for you) */
          client_keys_required: ctx.config.openaiKeys.length > 0,
        };
      },
      { detail: { summary: 'Who is calling: session or Bearer, expiry, server version', tags: ['console'] } },
    )
    .delete(
      SESSION_PATH,
      ({ request, set }) => {
        // Stateless tokens cannot be revoked one by one: logout drops the cookie; rotating ADMIN_KEY ends all.
        set.headers['set-cookie'] = clearedSessionCookie(isHttps(request));
        Object.assign(set.headers, noStore);
        return { authenticated: false };
      },
      { detail: { summary: 'Console logout: clear the session cookie', tags: ['console'] } },
    )
    .get('/v2/playground/models', () => dispatch(new Request('http://localhost/v1/models', { headers: clientHeaders() })), {
      detail: { summary: 'GET /v1/models for the console (OpenAI list shape), without a client key', tags: ['console'] },
    })
    .post(
      '/v2/playground/chat',
      async ({ body, request, server }) => {
        // A long answer must not be cut by Bun's idle timer on the outer (browser) connection either.
        server?.timeout(request, 0);
        return dispatch(
          new Request('http://localhost/v1/messages', {
            method: 'POST',
            headers: { ...clientHeaders(), 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
            body: JSON.stringify(body),
            // The Stop button (or a closed tab) aborts the upstream call through /v1/messages' own handling.
            signal: request.signal,
          }),
        );
      },
      {
        body: PlaygroundBody,
        detail: {
          summary: 'POST /v1/messages for the console, without a client key (streams Anthropic SSE when stream is true)',
          tags: ['console'],
        },
      },
    );
}
