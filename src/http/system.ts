// System routes: liveness/readiness (`/healthz`) and the `HEAD /` probe Claude Code sends first.

import { Elysia } from 'elysia';
import type { AppContext } from '../context';

/** A slow database must not hang the health check: answer "unreachable" after this long. */
export const HEALTH_DB_TIMEOUT_MS = 2_000;

async function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)));
  try {
    return await Promise.race([p.catch(() => fallback), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function systemRoutes(ctx: AppContext) {
  return new Elysia({ name: 'system' })
    .get(
      '/healthz',
      async ({ set }) => {
        const database = await withTimeout(ctx.store.ping(), HEALTH_DB_TIMEOUT_MS, false);
        const enabledAccounts = database
          ? await withTimeout(ctx.store.accounts.countEnabled(), HEALTH_DB_TIMEOUT_MS, null)
          : null;
        if (!database) set.status = 503;
        return {
          status: database ? 'ok' : 'degraded',
          version: ctx.version,
          uptime_s: Math.round((ctx.clock.now() - ctx.startedAt) / 1000),
          database: { dialect: ctx.store.dialect, reachable: database },
          accounts: { enabled: enabledAccounts },
        };
      },
      { detail: { summary: 'Health: version, uptime, database reachability, enabled accounts', tags: ['system'] } },
    )
    .head('/', () => new Response(null, { status: 200 }), { detail: { hide: true } });
}
