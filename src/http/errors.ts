// One error type for the whole gateway (GatewayError), rendered by each API family in its own shape:
// Anthropic, OpenAI, and the admin API (FastAPI-compatible `detail` plus a structured `error`).

export type GatewayErrorKind =
  | 'invalid_request'
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'request_too_large'
  | 'conflict'
  | 'rate_limit'
  | 'overloaded'
  | 'upstream'
  | 'unavailable'
  | 'timeout'
  | 'internal';

const DEFAULT_STATUS: Record<GatewayErrorKind, number> = {
  invalid_request: 400,
  authentication: 401,
  permission: 403,
  not_found: 404,
  request_too_large: 413,
  conflict: 409,
  rate_limit: 429,
  overloaded: 529,
  upstream: 502,
  unavailable: 503,
  timeout: 504,
  internal: 500,
};

export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly kind: GatewayErrorKind,
    message: string,
    opts: { status?: number; param?: string; code?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'GatewayError';
    this.status = opts.status ?? DEFAULT_STATUS[kind];
    this.param = opts.param;
    this.code = opts.code;
    this.headers = opts.headers ?? {};
  }
  readonly param: string | undefined;
  readonly code: string | undefined;
  readonly headers: Record<string, string>;
}

export type Dialect = 'anthropic' | 'openai' | 'admin';

const ANTHROPIC_TYPE: Record<GatewayErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  request_too_large: 'request_too_large',
  conflict: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  overloaded: 'overloaded_error',
  upstream: 'api_error',
  unavailable: 'overloaded_error',
  timeout: 'api_error',
  internal: 'api_error',
};

const OPENAI_TYPE: Record<GatewayErrorKind, string> = {
  invalid_request: 'invalid_request_error',
  authentication: 'authentication_error',
  permission: 'permission_error',
  not_found: 'not_found_error',
  request_too_large: 'invalid_request_error',
  conflict: 'invalid_request_error',
  rate_limit: 'rate_limit_error',
  overloaded: 'server_error',
  upstream: 'server_error',
  unavailable: 'server_error',
  timeout: 'server_error',
  internal: 'server_error',
};

/** The JSON body of an error in the caller's dialect. */
export function errorBody(err: GatewayError, dialect: Dialect, requestId?: string): unknown {
  switch (dialect) {
    case 'anthropic':
      return {
        type: 'error',
        error: { type: ANTHROPIC_TYPE[err.kind], message: err.message },
        ...(requestId ? { request_id: requestId } : {}),
      };
    case 'openai':
      return {
        error: {
          message: err.message,
          type: OPENAI_TYPE[err.kind],
          param: err.param ?? null,
          code: err.code ?? null,
        },
      };
    case 'admin':
      return {
        detail: err.message,
        error: { kind: err.kind, message: err.message, ...(err.param ? { field: err.param } : {}) },
      };
  }
}

export function errorResponse(err: GatewayError, dialect: Dialect, requestId?: string): Response {
  return new Response(JSON.stringify(errorBody(err, dialect, requestId)), {
    status: err.status,
    headers: { 'content-type': 'application/json', ...err.headers },
  });
}

/**
 * Which dialect speaks for a request: decides the shape of errors raised before a handler runs.
 * Shared routes (`/v1/models`) answer Anthropic clients, recognised by their headers, in Anthropic's shape.
 */
export function dialectFor(path: string, headers: Headers): Dialect {
  if (path.startsWith('/v1/messages')) return 'anthropic';
  if (path === '/v2' || path.startsWith('/v2/')) return 'admin';
  if (headers.has('anthropic-version') || (headers.has('x-api-key') && !headers.has('authorization'))) return 'anthropic';
  return 'openai';
}
