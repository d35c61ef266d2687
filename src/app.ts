// createApp(context) → the Elysia app: the only place the API families are wired together, and where
// framework-level failures (bad JSON, schema validation, unknown routes) become dialect-shaped errors.

import { Elysia } from 'elysia';
import type { AppContext } from './context';
import type { Config } from './config';
import { GatewayError, dialectFor, errorResponse } from './http/errors';
import { systemRoutes } from './http/system';
import { adminRoutes } from './http/admin';
import { authLoginRoutes } from './http/auth-login';
import { createFailureLimiter } from './http/guards';
import { isDatabaseUnavailable } from './store/errors';
import { createChatEngine } from './chat/engine';
import { anthropicRoutes } from './http/anthropic';
import { openaiRoutes } from './http/openai';
import { opsRoutes } from './http/ops';
import { consoleRoutes, consoleStaticRoutes } from './http/console';
import { docsRoutes } from './http/docs';

function validationMessage(error: unknown): { message: string; field?: string } {
  // Elysia's ValidationError carries the TypeBox errors; report the first with its JSON path.
  const e = error as { all?: Array<{ path?: string; message?: string; summary?: string }>; message?: string };
  const first = e.all?.[0];
  if (first) {
    const field = first.path?.replace(/^\//, '').replace(/\//g, '.') || undefined;
    return { message: `${field ? `${field}: ` : ''}${first.summary ?? first.message ?? 'invalid value'}`, field };
  }
  return { message: 'Invalid request body.' };
}

export function createApp(ctx: AppContext) {
  const adminLimiter = createFailureLimiter(ctx.clock, ctx.config.adminMaxFailures);
  const chat = createChatEngine(ctx);
  const app = new Elysia({ name: 'q2api', serve: ctx.config.enableConsole ? { routes: consoleStaticRoutes() } : undefined })
    .onError(({ code, error, request }) => {
      const path = new URL(request.url).pathname;
      const dialect = dialectFor(path, request.headers);
      if (error instanceof GatewayError) return errorResponse(error, dialect);
      switch (code) {
        case 'VALIDATION': {
          const { message, field } = validationMessage(error);
          return errorResponse(new GatewayError('invalid_request', message, { param: field }), dialect);
        }
        case 'PARSE':
          return errorResponse(
            new GatewayError('invalid_request', 'The request body is not valid JSON.'),
            dialect,
          );
        case 'NOT_FOUND':
          return errorResponse(new GatewayError('not_found', `No route for ${request.method} ${path}.`), dialect);
        default: {
          if (isDatabaseUnavailable(error)) {
            ctx.log.warn('database unavailable', { path, error });
            return errorResponse(
              new GatewayError('unavailable', 'The database is unavailable; try again shortly.', { headers: { 'retry-after': '5' } }),
              dialect,
            );
          }
          ctx.log.error('unhandled error', { path, code: String(code), error });
          return errorResponse(new GatewayError('internal', 'Internal server error.'), dialect);
        }
      }
    })
    .use(systemRoutes(ctx))
    .use(opsRoutes(ctx, adminLimiter, chat))
    .use(anthropicRoutes(ctx, chat))
    .use(openaiRoutes(ctx, chat));
  if (ctx.config.enableConsole) app.use(adminRoutes(ctx, adminLimiter)).use(authLoginRoutes(ctx));
  // The console after the admin routes: their /v2 gate also guards its session and playground routes.
  if (ctx.config.enableConsole) app.use(consoleRoutes(ctx, adminLimiter, (r) => app.handle(r)));
  app.use(docsRoutes(ctx, () => app));
  return app;
}

export type App = ReturnType<typeof createApp>;

/**
 * Bun.serve options that follow the config. Bun refuses bodies over 128 MB by default with its own
 * plain-text 413; allow a little more than MAX_REQUEST_BYTES so our routes answer in the caller's
 * dialect instead.
 */
export function serveOptions(config: Config): { maxRequestBodySize: number } {
  return { maxRequestBodySize: config.maxRequestBytes + 1024 * 1024 };
}
