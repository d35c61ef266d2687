// Operations routes: GET /metrics (Prometheus text; admin key unless METRICS_PUBLIC=true),
// GET /v2/usage (daily usage from the database) and GET /v2/overview (this replica's last hour);
// and, while the process drains on SIGTERM, a 503 for new chat requests.

import { Elysia } from 'elysia';
import type { ChatEngine } from '../chat/types';
import type { AppContext } from '../context';
import type { UsageGroup } from '../store/usage';
import { utcDay } from '../obs/usage-recorder';
import { shuttingDownError } from '../obs/shutdown';
import { GatewayError, dialectFor, errorResponse } from './errors';
import { checkAdminKey, type FailureLimiter } from './guards';

/** Accounts-by-state is one GROUP BY; scrapes closer together than this reuse the last answer. */
export const ACCOUNT_STATES_TTL_MS = 10_000;
/** A slow database must not hang a scrape: the gauge keeps its last value after this long. */
export const ACCOUNT_STATES_TIMEOUT_MS = 2_000;
/** Longest range one usage query covers (a year of days). */
export const MAX_USAGE_DAYS = 366;
/** Default range of GET /v2/usage: the last 30 days including today. */
const DEFAULT_USAGE_DAYS = 30;

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const CHAT_PATHS = new Set(['/v1/messages', '/v1/chat/completions']);

function parseDay(name: string, raw: string | null, fallback: string): string {
  if (raw === null || raw === '') return fallback;
  const d = new Date(`${raw}T00:00:00Z`);
  if (!DAY.test(raw) || Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== raw) {
    throw new GatewayError('invalid_request', `${name}: expected a date as YYYY-MM-DD`, { param: name });
  }
  return raw;
}

export function opsRoutes(ctx: AppContext, limiter: FailureLimiter, chat?: Pick<ChatEngine, 'memoStats'>) {
  const states: { at: number; pending: Promise<void> | null } = { at: -Infinity, pending: null };

  const admin = (request: Request, server: { requestIP(r: Request): { address: string } | null } | null) =>
    checkAdminKey(request.headers, ctx.adminKey, server?.requestIP(request)?.address ?? 'unknown', limiter);

  /** Refreshes the accounts gauge from the database, at most every ACCOUNT_STATES_TTL_MS. */
  async function refreshAccountStates(): Promise<void> {
    if (ctx.clock.now() - states.at < ACCOUNT_STATES_TTL_MS) return;
    states.pending ??= (async () => {
      const rows = await ctx.store.usage.accountStates(new Date(ctx.clock.now()));
      ctx.metrics.accounts.clear();
      for (const r of rows) {
        const state = !r.enabled ? 'disabled' : r.coolingDown ? 'cooling_down' : 'active';
        ctx.metrics.accounts.inc({ state, reason: r.enabled ? '' : (r.disabledReason ?? 'unknown') }, r.count);
      }
      states.at = ctx.clock.now();
    })()
      .catch((e: unknown) => ctx.log.warn('metrics: could not count accounts by state', { error: e }))
      .finally(() => {
        states.pending = null;
      });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([states.pending, new Promise<void>((r) => (timer = setTimeout(r, ACCOUNT_STATES_TIMEOUT_MS)))]);
    clearTimeout(timer);
  }

  const app = new Elysia({ name: 'ops' })
    // Draining: the listener is closed already, but keep-alive connections can still bring requests.
    .onRequest(({ request }) => {
      if (!ctx.shutdown.draining) return;
      const path = new URL(request.url).pathname;
      if (!CHAT_PATHS.has(path)) return;
      const res = errorResponse(shuttingDownError(), dialectFor(path, request.headers));
      res.headers.set('connection', 'close');
      res.headers.set('retry-after', '1');
      return res;
    })
    .get(
      '/metrics',
      async ({ request, server }) => {
        if (!ctx.config.ops.metricsPublic) {
          try {
            admin(request, server);
          } catch (e) {
            if (e instanceof GatewayError) return errorResponse(e, 'admin');
            throw e;
          }
        }
        await refreshAccountStates();
        if (chat) {
          const memo = chat.memoStats();
          ctx.metrics.memoBytes.set({}, memo.bytes);
          ctx.metrics.memoConversations.set({}, memo.conversations);
          ctx.metrics.memoLookups.setTotal({ result: 'hit' }, memo.hits);
          ctx.metrics.memoLookups.setTotal({ result: 'miss' }, memo.misses);
        }
        return new Response(ctx.metrics.render(), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
      },
      { detail: { summary: 'Prometheus metrics (admin key unless METRICS_PUBLIC=true)', tags: ['ops'] } },
    );
  if (!ctx.config.enableConsole) return app;
  return app
    .get(
      '/v2/usage',
      async ({ request, server }) => {
        admin(request, server);
        const q = new URL(request.url).searchParams;
        const today = utcDay(ctx.clock.now());
        const to = parseDay('to', q.get('to'), today);
        const from = parseDay('from', q.get('from'), utcDay(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_USAGE_DAYS - 1) * 86_400_000));
        if (from > to) throw new GatewayError('invalid_request', 'from: must not be after to', { param: 'from' });
        if ((Date.parse(to) - Date.parse(from)) / 86_400_000 >= MAX_USAGE_DAYS) {
          throw new GatewayError('invalid_request', `from..to: at most ${MAX_USAGE_DAYS} days`, { param: 'from' });
        }
        const groupRaw = q.get('group');
        if (groupRaw !== null && groupRaw !== '' && groupRaw !== 'day' && groupRaw !== 'account' && groupRaw !== 'client_key') {
          throw new GatewayError('invalid_request', 'group: expected day, account or client_key', { param: 'group' });
        }
        const group = (groupRaw || undefined) as UsageGroup | undefined;
        // Counters still in memory first, so the answer includes the requests just made.
        await ctx.ops.usage.flush();
        let rows;
        try {
          rows = await ctx.store.usage.query({ from, to, ...(group ? { group } : {}) });
        } catch (e) {
          throw new GatewayError('unavailable', 'The database is unavailable.', { cause: e });
        }
        const totals = { requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, credits: 0 };
        for (const r of rows) {
          totals.requests += r.requests;
          totals.errors += r.errors;
          totals.input_tokens += r.input_tokens;
          totals.output_tokens += r.output_tokens;
          totals.credits += r.credits;
        }
        return { from, to, group: group ?? null, rows, totals };
      },
      { detail: { summary: 'Usage per day, account and client key: ?from=YYYY-MM-DD&to=YYYY-MM-DD&group=day|account|client_key', tags: ['ops'] } },
    )
    .get(
      '/v2/overview',
      ({ request, server }) => {
        admin(request, server);
        return ctx.ops.overview.snapshot();
      },
      { detail: { summary: "This replica's last hour per minute, and per account with requests in flight", tags: ['ops'] } },
    );
}
