// Device-code login routes (/v2/auth/start, /status/{authId}, /claim/{authId}): the Python q2api's
// routes and shapes, with sessions in the database. Mounted after adminRoutes, whose onRequest hook
// checks the admin key on every /v2 path, these included.

import { Elysia, t } from 'elysia';
import type { AppContext } from '../context';
import { createDeviceLogin, type ClaimResult } from '../pool/device-login';
import type { Sleep } from '../pool/lifecycle';
import { REGION_PATTERN } from '../pool/oidc-endpoints';
import { accountView } from './account-view';
import { GatewayError } from './errors';

const StartBody = t.Object({
  label: t.Optional(t.Nullable(t.String({ maxLength: 200 }))),
  enabled: t.Optional(t.Boolean()),
  startUrl: t.Optional(t.String({ maxLength: 512, pattern: '^https?://' })),
  region: t.Optional(t.String({ maxLength: 32, pattern: REGION_PATTERN })),
});

/** A claim that ended without an account becomes the error the Python q2api's clients expect. */
function claimFailure(r: ClaimResult): GatewayError {
  switch (r.status) {
    case 'expired':
      return new GatewayError('timeout', r.error ?? 'Authorization timeout (5 minutes)', { status: 408, code: 'expired' });
    case 'denied':
      return new GatewayError('permission', r.error ?? 'The authorization request was denied.', { code: 'access_denied' });
    default:
      return new GatewayError('upstream', `OIDC error: ${r.error ?? 'login failed'}`, { code: 'login_error' });
  }
}

export function authLoginRoutes(ctx: AppContext, opts: { sleep?: Sleep } = {}) {
  const login = createDeviceLogin({ ...ctx, ...(opts.sleep ? { sleep: opts.sleep } : {}) });
  return new Elysia({ prefix: '/v2/auth' })
    .post('/start', ({ body }) => login.start(body), {
      body: StartBody,
      detail: { summary: 'Start a device-code login (AWS Builder ID or IAM Identity Center)', tags: ['auth'] },
    })
    .get('/status/:authId', ({ params }) => login.status(params.authId), {
      detail: { summary: 'State of a device-code login (polls the token endpoint at most once per interval)', tags: ['auth'] },
    })
    .post(
      '/claim/:authId',
      async ({ params, request }) => {
        const r = await login.claim(params.authId, request.signal);
        if (r.status !== 'completed' || !r.account) throw claimFailure(r);
        return { status: r.status, accountId: r.account.id, account: accountView(r.account, new Date(ctx.clock.now())) };
      },
      { detail: { summary: 'Wait for the user to approve, then create the account', tags: ['auth'] } },
    );
}
