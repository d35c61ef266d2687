// Admin API for accounts (/v2/accounts…): the Python q2api's routes and shapes, with every secret
// masked, validation errors that name the field, duplicates reported instead of inserted twice.

import { Elysia, t } from 'elysia';
import type { AppContext } from '../context';
import { GatewayError } from './errors';
import { checkAdminKey, type FailureLimiter } from './guards';
import { SESSION_PATH } from './session';
import { accountView } from './account-view';
import { InputError, MAX_BATCH, MAX_PROXY_LENGTH, parseImport, parseProxy, toNewAccount, parseTime, type AccountInput } from '../accounts/input';
import { DuplicateAccountError, type AccountPatch } from '../store/accounts';

const Nullable = <T extends Parameters<typeof t.Nullable>[0]>(s: T) => t.Optional(t.Nullable(s));
const AuthMethod = t.Union([t.Literal('idc'), t.Literal('social'), t.Literal('api_key')]);
const Secret = t.String({ maxLength: 16_384 });

const AccountBody = t.Object({
  label: Nullable(t.String({ maxLength: 200 })),
  clientId: Nullable(Secret),
  clientSecret: Nullable(Secret),
  refreshToken: Nullable(Secret),
  accessToken: Nullable(Secret),
  other: Nullable(t.Record(t.String(), t.Unknown())),
  enabled: t.Optional(t.Boolean()),
  authMethod: t.Optional(AuthMethod),
  region: Nullable(t.String({ maxLength: 32 })),
  profileArn: Nullable(t.String({ maxLength: 256 })),
  expiresAt: Nullable(t.Union([t.String({ maxLength: 64 }), t.Number()])),
  priority: t.Optional(t.Integer({ minimum: -1000, maximum: 1000 })),
  proxy: Nullable(t.String({ maxLength: MAX_PROXY_LENGTH })),
});

const PatchBody = t.Object({
  ...AccountBody.properties,
  resetErrors: t.Optional(t.Boolean()),
});

/** Largest page of accounts one list call returns. */
export const MAX_PAGE = 500;

function inputError(e: unknown): never {
  if (e instanceof InputError) throw new GatewayError('invalid_request', e.message, { param: e.field });
  throw e;
}

export function adminRoutes(ctx: AppContext, limiter: FailureLimiter) {
  const repo = ctx.store.accounts;
  const now = () => new Date(ctx.clock.now());

  const createOne = async (input: AccountInput) => {
    let fresh;
    try {
      fresh = toNewAccount(input);
    } catch (e) {
      if (e instanceof InputError) return { status: 'invalid' as const, field: e.field, error: e.message };
      throw e;
    }
    try {
      const account = await repo.create(fresh);
      return { status: 'created' as const, id: account.id, account: accountView(account, now()) };
    } catch (e) {
      if (e instanceof DuplicateAccountError) {
        return { status: 'duplicate' as const, id: e.existingId, error: 'an account with this refresh token exists' };
      }
      throw e;
    }
  };

  const summarise = (results: Array<{ status: 'created' | 'duplicate' | 'invalid' }>) => ({
    created: results.filter((r) => r.status === 'created').length,
    duplicates: results.filter((r) => r.status === 'duplicate').length,
    invalid: results.filter((r) => r.status === 'invalid').length,
  });

  return new Elysia({ name: 'admin', prefix: '/v2' })
    // onRequest runs before body parsing and validation, so an unauthenticated caller learns
    // nothing about the routes, not even whether its JSON would have been accepted.
    .onRequest(({ request, server }) => {
      const path = new URL(request.url).pathname;
      if (path !== '/v2' && !path.startsWith('/v2/')) return;
      // Console login (console.ts) checks the key in its body itself, under the same limiter.
      if (request.method === 'POST' && path === SESSION_PATH) return;
      const address = server?.requestIP(request)?.address ?? 'unknown';
      checkAdminKey(request.headers, ctx.adminKey, address, limiter, { method: request.method, now: ctx.clock.now() });
    })
    .post(
      '/accounts',
      async ({ body, set }) => {
        let fresh;
        try {
          fresh = toNewAccount(body);
        } catch (e) {
          inputError(e);
        }
        try {
          const account = await repo.create(fresh);
          set.status = 201;
          return accountView(account, now());
        } catch (e) {
          if (e instanceof DuplicateAccountError) {
            throw new GatewayError('conflict', `An account with this refresh token exists: ${e.existingId}.`, {
              param: 'refreshToken',
            });
          }
          throw e;
        }
      },
      { body: AccountBody, detail: { summary: 'Add one account', tags: ['accounts'] } },
    )
    .post(
      '/accounts/batch',
      async ({ body }) => {
        const results: Array<{ index: number; status: 'created' | 'duplicate' | 'invalid' }> = [];
        for (const [i, input] of body.accounts.entries()) results.push({ index: i, ...(await createOne(input)) });
        return { ...summarise(results), results };
      },
      {
        body: t.Object({ accounts: t.Array(t.Record(t.String(), t.Unknown()), { maxItems: MAX_BATCH }) }),
        detail: { summary: 'Add many accounts; each is reported as created, duplicate or invalid', tags: ['accounts'] },
      },
    )
    .post(
      '/accounts/import',
      async ({ body }) => {
        const items = parseImport(body);
        if (items.length > MAX_BATCH) {
          throw new GatewayError('invalid_request', `At most ${MAX_BATCH} accounts per import.`);
        }
        const results: Array<{ source: string; status: 'created' | 'duplicate' | 'invalid'; error?: string }> = [];
        for (const item of items) {
          if (item.error || !item.input) results.push({ source: item.source, status: 'invalid' as const, error: item.error });
          else results.push({ source: item.source, ...(await createOne(item.input)) });
        }
        return { ...summarise(results), results };
      },
      {
        body: t.Union([t.Record(t.String(), t.Unknown()), t.Array(t.Unknown(), { maxItems: MAX_BATCH })]),
        detail: {
          summary: 'Import Kiro credential files, proxy-style arrays or a q2api export',
          tags: ['accounts'],
        },
      },
    )
    .get(
      '/accounts',
      async ({ query }) => {
        const limit = query.limit ?? 100;
        const offset = query.offset ?? 0;
        const { items, total } = await repo.list({ enabled: query.enabled, limit, offset });
        const at = now();
        return { accounts: items.map((a) => accountView(a, at)), count: items.length, total, limit, offset };
      },
      {
        query: t.Object({
          enabled: t.Optional(t.BooleanString()),
          limit: t.Optional(t.Numeric({ minimum: 1, maximum: MAX_PAGE })),
          offset: t.Optional(t.Numeric({ minimum: 0 })),
        }),
        detail: { summary: 'List accounts (secrets masked)', tags: ['accounts'] },
      },
    )
    .get(
      '/accounts/:id',
      async ({ params }) => {
        const account = await repo.get(params.id);
        if (!account) throw new GatewayError('not_found', 'Account not found');
        return accountView(account, now());
      },
      { detail: { summary: 'One account (secrets masked)', tags: ['accounts'] } },
    )
    .patch(
      '/accounts/:id',
      async ({ params, body }) => {
        const patch: AccountPatch = {};
        for (const f of ['label', 'clientId', 'clientSecret', 'refreshToken', 'accessToken', 'other', 'region', 'profileArn'] as const) {
          if (body[f] !== undefined) (patch as Record<string, unknown>)[f] = body[f];
        }
        if (body.authMethod !== undefined) patch.authMethod = body.authMethod;
        if (body.priority !== undefined) patch.priority = body.priority;
        try {
          const proxy = parseProxy(body.proxy);
          if (proxy !== undefined) patch.proxy = proxy;
        } catch (e) {
          inputError(e);
        }
        if (body.expiresAt !== undefined) {
          try {
            patch.expiresAt = parseTime(body.expiresAt, 'expiresAt') ?? null;
          } catch (e) {
            inputError(e);
          }
        }
        if (body.enabled !== undefined) {
          patch.enabled = body.enabled;
          // Re-enabling starts afresh (the Python q2api kept error_count, so the account died again at once).
          if (body.enabled) Object.assign(patch, { disabledReason: null, errorCount: 0, cooldownUntil: null });
          else patch.disabledReason = 'manual';
        }
        if (body.resetErrors) Object.assign(patch, { errorCount: 0, lastError: null, cooldownUntil: null });
        try {
          const account = await repo.update(params.id, patch);
          if (!account) throw new GatewayError('not_found', 'Account not found');
          return accountView(account, now());
        } catch (e) {
          if (e instanceof DuplicateAccountError) {
            throw new GatewayError('conflict', `Another account has this refresh token: ${e.existingId}.`, {
              param: 'refreshToken',
            });
          }
          throw e;
        }
      },
      { body: PatchBody, detail: { summary: 'Change an account', tags: ['accounts'] } },
    )
    .delete(
      '/accounts/:id',
      async ({ params }) => {
        if (!(await repo.delete(params.id))) throw new GatewayError('not_found', 'Account not found');
        return { deleted: params.id };
      },
      { detail: { summary: 'Delete an account', tags: ['accounts'] } },
    )
    .post(
      '/accounts/:id/refresh',
      async ({ params }) => {
        const account = await ctx.pool.refresh(params.id);
        return accountView(account, now());
      },
      { detail: { summary: 'Refresh the access token now', tags: ['accounts'] } },
    )
    .post(
      '/accounts/:id/quota',
      async ({ params }) => accountView(await ctx.pool.checkQuota(params.id), now()),
      { detail: { summary: 'Read the account’s GetUsageLimits now (credits left, limit, reset date)', tags: ['accounts'] } },
    )
    .post(
      '/accounts/verify',
      async ({ body, request, server }) => {
        // Hundreds of accounts take a while: the connection must not idle out meanwhile.
        server?.timeout(request, 0);
        return { results: await ctx.pool.verify(body?.ids) };
      },
      {
        body: t.Optional(t.Object({ ids: t.Optional(t.Array(t.String({ maxLength: 64 }), { maxItems: MAX_BATCH })) })),
        detail: { summary: 'Check that accounts are alive (fresh token + GetUsageLimits), all or the given ids', tags: ['accounts'] },
      },
    )
    .get('/stats', () => ctx.pool.stats(), {
      detail: { summary: 'Pool state: strategy, totals, per-account status, in-flight, counts, quota', tags: ['accounts'] },
    });
}
