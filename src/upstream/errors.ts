// Typed upstream failures and their classification (upstream-protocol.md §3, §4.5, §5.2).
// Pure: turns status + headers + body text (or a stream exception) into one error kind.
import type { EventStreamErrorKind } from './eventstream';

export type UpstreamErrorKind =
  | 'invalid_token'
  | 'suspended'
  | 'forbidden'
  | 'quota'
  | 'throttled'
  | 'capacity'
  | 'too_long'
  | 'invalid_model'
  | 'bad_request'
  | 'server_error'
  | 'network'
  | 'timeout'
  | 'stream';

/** Whether anything had been received from the upstream body when the failure happened. */
export type UpstreamErrorPhase = 'before_first_byte' | 'mid_stream';

export interface UpstreamErrorInit {
  status?: number;
  errorType?: string;
  reason?: string;
  upstreamMessage?: string;
  requestId?: string;
  retryAfterMs?: number;
  phase?: UpstreamErrorPhase;
  /** for kind 'stream': the framing failure that ended the stream, when it was one */
  streamErrorKind?: EventStreamErrorKind;
  cause?: unknown;
}

export class UpstreamError extends Error {
  readonly kind: UpstreamErrorKind;
  declare readonly status?: number;
  declare readonly errorType?: string;
  declare readonly reason?: string;
  declare readonly upstreamMessage?: string;
  declare readonly requestId?: string;
  declare readonly retryAfterMs?: number;
  readonly phase: UpstreamErrorPhase;
  declare readonly streamErrorKind?: EventStreamErrorKind;

  constructor(kind: UpstreamErrorKind, message: string, init: UpstreamErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'UpstreamError';
    this.kind = kind;
    this.phase = init.phase ?? 'before_first_byte';
    // Optional fields are `declare`d and only assigned when present, so logs and toEqual show no `undefined` noise.
    if (init.status !== undefined) this.status = init.status;
    if (init.errorType !== undefined) this.errorType = init.errorType;
    if (init.reason !== undefined) this.reason = init.reason;
    if (init.upstreamMessage !== undefined) this.upstreamMessage = init.upstreamMessage;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.streamErrorKind !== undefined) this.streamErrorKind = init.streamErrorKind;
  }
}

/** Copy of `err` that names the request it belongs to (frame mapping happens before the id is known). */
export function withRequestId(err: UpstreamError, requestId: string): UpstreamError {
  const init: UpstreamErrorInit = { phase: err.phase, requestId };
  if (err.status !== undefined) init.status = err.status;
  if (err.errorType !== undefined) init.errorType = err.errorType;
  if (err.reason !== undefined) init.reason = err.reason;
  if (err.upstreamMessage !== undefined) init.upstreamMessage = err.upstreamMessage;
  if (err.retryAfterMs !== undefined) init.retryAfterMs = err.retryAfterMs;
  if (err.streamErrorKind !== undefined) init.streamErrorKind = err.streamErrorKind;
  if (err.cause !== undefined) init.cause = err.cause;
  return new UpstreamError(err.kind, err.message, init);
}

// ---------------------------------------------------------------------------------------------
// Body / header parsing

/** The fields of an AWS JSON error body we care about; everything optional because bodies vary. */
export interface ErrorBody {
  message?: string;
  reason?: string;
  code?: string;
  type?: string;
}

/** `text` parsed as a JSON object; undefined for anything else (not JSON, an array, a scalar, null). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
}

/** Lenient JSON error-body reader: non-JSON or non-object bodies yield `{}`. */
export function parseErrorBody(bodyText: string): ErrorBody {
  const o = parseJsonObject(bodyText);
  if (o === undefined) return {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  const out: ErrorBody = {};
  // The SDKs accept all three spellings of the message key (json_errors.rs).
  const message = str(o.message) ?? str(o.Message) ?? str(o.errorMessage);
  if (message !== undefined) out.message = message;
  const reason = str(o.reason);
  if (reason !== undefined) out.reason = reason;
  const code = str(o.code);
  if (code !== undefined) out.code = code;
  const type = str(o.__type);
  if (type !== undefined) out.type = type;
  return out;
}

/** `com.amazon.aws.codewhisperer#AccessDeniedException:http://…` → `AccessDeniedException`. */
export function sanitizeErrorType(raw: string): string {
  const colon = raw.indexOf(':');
  const cut = colon >= 0 ? raw.slice(0, colon) : raw;
  const hash = cut.indexOf('#');
  return (hash >= 0 ? cut.slice(hash + 1) : cut).trim();
}

/** AWS SDK resolution order: `x-amzn-errortype` header, then body `code`, then body `__type`. */
export function resolveErrorType(headers: Headers, body: ErrorBody): string | undefined {
  const raw = headers.get('x-amzn-errortype') ?? body.code ?? body.type;
  if (raw === undefined || raw === null) return undefined;
  const t = sanitizeErrorType(raw);
  return t === '' ? undefined : t;
}

/** `Retry-After` as delta-seconds or an HTTP date; `nowMs` is only consulted for the date form. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

// ---------------------------------------------------------------------------------------------
// Classification (§3.3) — by status + reason + message text, never by SDK variant names.

const QUOTA_MARKERS = ['MONTHLY_REQUEST_COUNT', 'OVERAGE_REQUEST_LIMIT_EXCEEDED', 'DAILY_REQUEST_COUNT'];
const CAPACITY_REASONS = ['INSUFFICIENT_MODEL_CAPACITY', 'MODEL_TEMPORARILY_UNAVAILABLE'];

interface Fault {
  status: number;
  reason?: string;
  message?: string;
  /** raw body text, for markers that may appear "anywhere in the body" */
  bodyText: string;
}

function kindOf(f: Fault): UpstreamErrorKind {
  const msg = (f.message ?? '').toLowerCase();
  const reason = f.reason ?? '';
  const anywhere = `${reason}\n${f.bodyText}`;

  if (f.status === 401) return 'invalid_token';
  if (f.status === 403 && msg.includes('bearer token') && msg.includes('invalid')) return 'invalid_token';
  // Quota markers first: a 429/400 carrying them is exhausted quota, not a rate limit (§3.3).
  if (f.status === 402 || QUOTA_MARKERS.some((m) => anywhere.includes(m))) return 'quota';
  // Legacy Q free tier: "Maximum com.amazon…GenerateAssistantResponse reached for this month." (400 or 429).
  if (/maximum .* reached for this month/.test(msg)) return 'quota';
  if (f.status === 403) {
    if (msg.includes('suspended') || msg.includes('locked your account') || reason === 'TEMPORARILY_SUSPENDED') {
      return 'suspended';
    }
    return 'forbidden';
  }
  if (CAPACITY_REASONS.includes(reason) && (f.status === 429 || f.status >= 500)) return 'capacity';
  if (f.status >= 500 && msg.includes('unexpectedly high load')) return 'capacity';
  if (f.status === 429) return 'throttled';
  if (f.status === 400 || f.status === 413) {
    // 413 is a proxy/load balancer refusing the body size: same remedy as the service's own limit.
    if (f.status === 413 || reason === 'CONTENT_LENGTH_EXCEEDS_THRESHOLD' || msg.includes('input is too long')) {
      return 'too_long';
    }
    if (reason === 'INVALID_MODEL_ID') return 'invalid_model';
    return 'bad_request';
  }
  if (f.status >= 400 && f.status < 500) return 'bad_request';
  // 5xx, and statuses that should never come back from the service (1xx/3xx): not the caller's fault.
  return 'server_error';
}

/**
 * §3.3 classification of a non-2xx answer. `requestId` defaults to the x-amzn-RequestId header;
 * `nowMs` only matters for an HTTP-date Retry-After (pass the injected clock to stay deterministic).
 */
export function classifyHttpError(
  status: number,
  headers: Headers,
  bodyText: string,
  requestId?: string,
  nowMs: number = Date.now(),
): UpstreamError {
  const body = parseErrorBody(bodyText);
  const errorType = resolveErrorType(headers, body);
  const kind = kindOf({ status, reason: body.reason, message: body.message, bodyText });
  const init: UpstreamErrorInit = { status, phase: 'before_first_byte' };
  if (errorType !== undefined) init.errorType = errorType;
  if (body.reason !== undefined) init.reason = body.reason;
  if (body.message !== undefined) init.upstreamMessage = body.message;
  const rid = requestId ?? headers.get('x-amzn-requestid') ?? undefined;
  if (rid !== undefined) init.requestId = rid;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'), nowMs);
  if (retryAfterMs !== undefined) init.retryAfterMs = retryAfterMs;
  const what = [errorType, body.reason].filter((x) => x !== undefined).join('/');
  const detail = body.message ?? (bodyText.trim() === '' ? 'empty body' : truncate(bodyText.trim(), 200));
  return new UpstreamError(kind, `upstream ${status}${what ? ` ${what}` : ''}: ${detail}`, init);
}

/**
 * Stream exceptions carry a type name instead of a status; map the known families to the status
 * the same error has over HTTP so both paths share one classifier. Unknown types and internal
 * errors stay 'stream': after the first byte, "the stream broke" is what matters to the caller.
 */
const STATUS_BY_ERROR_TYPE: Record<string, number> = {
  ThrottlingException: 429,
  ServiceQuotaExceededException: 402,
  AccessDeniedException: 403,
  ValidationException: 400,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
};

export interface StreamFaultInput {
  errorType?: string;
  reason?: string;
  message?: string;
  /** raw payload text */
  bodyText: string;
  requestId?: string;
}

export function classifyStreamFault(f: StreamFaultInput): UpstreamError {
  const pseudoStatus = f.errorType === undefined ? undefined : STATUS_BY_ERROR_TYPE[f.errorType];
  let kind: UpstreamErrorKind = 'stream';
  if (pseudoStatus !== undefined) {
    const k = kindOf({ status: pseudoStatus, reason: f.reason, message: f.message, bodyText: f.bodyText });
    if (k !== 'server_error') kind = k;
  }
  const init: UpstreamErrorInit = { phase: 'mid_stream' };
  if (f.errorType !== undefined) init.errorType = f.errorType;
  if (f.reason !== undefined) init.reason = f.reason;
  if (f.message !== undefined) init.upstreamMessage = f.message;
  if (f.requestId !== undefined) init.requestId = f.requestId;
  const label = f.errorType ?? 'unknown error';
  return new UpstreamError(kind, `upstream stream error ${label}: ${f.message ?? 'no message'}`, init);
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}…`;
}

// ---------------------------------------------------------------------------------------------
// Intended reactions (§3.3), consumed by the pool's dispatcher.

export type AccountEffect =
  | 'none'
  /** refresh the access token once (single-flight), retry once; a second failure → needs login */
  | 'refresh_token'
  /** disable the account: no refresh, no retry on it */
  | 'disable'
  /** account cannot use this feature/application; do not refresh */
  | 'mark_unusable'
  /** quota exhausted until nextDateReset (GetUsageLimits) or the 1st of next month UTC */
  | 'cooldown_until_reset'
  /** short cooldown with jittered backoff (honour retryAfterMs when present) */
  | 'cooldown_backoff';

export interface ErrorReaction {
  account: AccountEffect;
  /** another account may succeed where this one failed (only before anything was forwarded) */
  tryAnotherAccount: boolean;
  /** the request itself is at fault: surface to the client, never retry */
  clientError: boolean;
  why: string;
}

export const ERROR_REACTIONS: Readonly<Record<UpstreamErrorKind, ErrorReaction>> = {
  invalid_token: { account: 'refresh_token', tryAnotherAccount: true, clientError: false, why: 'expired or revoked bearer; refresh fixes it' },
  suspended: { account: 'disable', tryAnotherAccount: true, clientError: false, why: 'account locked by AWS' },
  forbidden: { account: 'mark_unusable', tryAnotherAccount: true, clientError: false, why: 'entitlement problem of this account' },
  quota: { account: 'cooldown_until_reset', tryAnotherAccount: true, clientError: false, why: 'monthly/daily/overage limit; Q CLI forbids retrying' },
  throttled: { account: 'cooldown_backoff', tryAnotherAccount: true, clientError: false, why: 'per-account rate limit' },
  capacity: { account: 'none', tryAnotherAccount: false, clientError: false, why: 'model overloaded service-wide; back off or change model' },
  too_long: { account: 'none', tryAnotherAccount: false, clientError: true, why: 'context overflow; same on every account' },
  invalid_model: { account: 'none', tryAnotherAccount: false, clientError: true, why: 'unknown modelId' },
  bad_request: { account: 'none', tryAnotherAccount: false, clientError: true, why: 'malformed request' },
  server_error: { account: 'none', tryAnotherAccount: true, clientError: false, why: 'transient 5xx; retry with backoff' },
  network: { account: 'none', tryAnotherAccount: true, clientError: false, why: 'connection failed before any byte' },
  timeout: { account: 'none', tryAnotherAccount: true, clientError: false, why: 'no headers / no data in time' },
  stream: { account: 'none', tryAnotherAccount: false, clientError: false, why: 'stream broke after it started' },
};

/**
 * True when the dispatcher may transparently re-run the request on another account. Mid-stream
 * failures are excluded because output may already be on its way to the client; a dispatcher that
 * knows it has forwarded nothing may still decide otherwise.
 */
export function isRetryableOnAnotherAccount(err: UpstreamError): boolean {
  if (err.phase === 'mid_stream') return false;
  return ERROR_REACTIONS[err.kind].tryAnotherAccount;
}

// ---------------------------------------------------------------------------------------------
// OIDC / Kiro auth failures (§4.5, §5.2)

export type AuthErrorCode =
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'access_denied'
  | 'invalid_grant'
  | 'invalid_client'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_request'
  | 'invalid_scope'
  | 'invalid_client_metadata'
  | 'invalid_redirect_uri'
  | 'server_error'
  | 'network'
  | 'timeout'
  | 'invalid_response'
  | (string & {}); // unknown server codes are passed through verbatim

export interface AuthErrorInit {
  status?: number;
  description?: string;
  permanent?: boolean;
  cause?: unknown;
}

export class AuthError extends Error {
  readonly error: AuthErrorCode;
  declare readonly status?: number;
  declare readonly description?: string;
  /** the stored credentials are dead: the account needs a new login, do not retry */
  readonly permanent: boolean;

  constructor(error: AuthErrorCode, message: string, init: AuthErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AuthError';
    this.error = error;
    this.permanent = init.permanent ?? false;
    if (init.status !== undefined) this.status = init.status;
    if (init.description !== undefined) this.description = init.description;
  }
}

/**
 * Maps an auth-service error response to AuthError. `grant` tells whether this was a refresh:
 * invalid_client there means the stored client registration is gone, so only a new login helps.
 */
export function classifyAuthError(status: number, bodyText: string, grant?: string): AuthError {
  let error: string | undefined;
  let description: string | undefined;
  // non-JSON bodies (proxies, load balancers) are classified by status below
  const r = parseJsonObject(bodyText);
  if (r !== undefined) {
    if (typeof r.error === 'string' && r.error !== '') error = r.error;
    const d = r.error_description ?? r.message ?? r.Message;
    if (typeof d === 'string') description = d;
  }
  // Kiro social refresh answers `400 {"message":"Invalid refresh token provided"}` with no `error`.
  if (error === undefined && /invalid refresh token|invalid_grant/i.test(bodyText)) error = 'invalid_grant';
  if (error === undefined) error = status >= 500 ? 'server_error' : status === 429 ? 'slow_down' : status === 401 ? 'invalid_client' : 'invalid_request';
  const permanent = error === 'invalid_grant' || (error === 'invalid_client' && grant === 'refresh_token');
  const init: AuthErrorInit = { status, permanent };
  if (description !== undefined) init.description = description;
  return new AuthError(error, `auth ${status} ${error}${description ? `: ${description}` : ''}`, init);
}
