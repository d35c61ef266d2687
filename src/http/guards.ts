// The locks on the doors: the admin key (or a console session, session.ts) for /v2/*, the client keys
// (OPENAI_KEYS) for /v1/*, and a per-address limiter on failed admin attempts. Keys are compared in constant time.

import { GatewayError } from './errors';
import type { Clock } from '../context';
import { CSRF_HEADER, csrfSatisfied, sessionToken, verifySession } from './session';

/** Constant-time equality of two secrets of any length (compares SHA-256 digests). */
export function secretEquals(given: string, expected: string): boolean {
  const a = new Bun.CryptoHasher('sha256').update(given).digest();
  const b = new Bun.CryptoHasher('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** The bearer token of `Authorization: Bearer x`, or undefined. */
export function bearerToken(headers: Headers): string | undefined {
  const auth = headers.get('authorization');
  if (!auth) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
  return m ? m[1]!.trim() : undefined;
}

/** A client key from `Authorization: Bearer` or `x-api-key` (Authorization wins, as in the Python q2api). */
export function clientKey(headers: Headers): string | undefined {
  const auth = headers.get('authorization');
  if (auth) return bearerToken(headers) ?? auth.trim();
  return headers.get('x-api-key')?.trim() || undefined;
}

/** Whether a client presenting `headers` may use /v1/*. An empty key list is development mode: open. */
export function checkClientKey(headers: Headers, keys: readonly string[]): void {
  if (keys.length === 0) return;
  const key = clientKey(headers);
  if (key === undefined) {
    throw new GatewayError('authentication', 'Missing API key: send it as "Authorization: Bearer <key>" or "x-api-key: <key>".');
  }
  let ok = false;
  for (const k of keys) ok = secretEquals(key, k) || ok; // no early exit: same time for every position
  if (!ok) throw new GatewayError('authentication', 'Invalid API key.');
}

/**
 * Which client a request belongs to, for per-client state such as the conversation memo: '' for an
 * open gateway (no OPENAI_KEYS, one tenant), else a digest of the key presented (already checked).
 * Never the key itself.
 */
export function clientScope(headers: Headers, keys: readonly string[]): string {
  if (keys.length === 0) return '';
  return new Bun.CryptoHasher('sha256').update(clientKey(headers) ?? '').digest('base64url');
}

/** Failed admin attempts allowed per address in one window before it is locked out for the rest of it. */
export const ADMIN_FAILURES_PER_WINDOW = 10;
/** Window of the admin limiter: 10 tries per 5 minutes makes a 12+ character key unguessable. */
export const ADMIN_FAILURE_WINDOW_MS = 5 * 60_000;
/** Addresses remembered at most, so a flood of spoofed sources cannot grow memory without bound. */
const MAX_TRACKED_ADDRESSES = 10_000;

export interface FailureLimiter {
  /** ms until this address may try again, or 0 when it may try now */
  blockedFor(address: string): number;
  fail(address: string): void;
  succeed(address: string): void;
  /** the limiter's clock (ms since the epoch), which also times console sessions at the admin gate */
  now(): number;
}

export function createFailureLimiter(
  clock: Clock,
  limit = ADMIN_FAILURES_PER_WINDOW,
  windowMs = ADMIN_FAILURE_WINDOW_MS,
): FailureLimiter {
  const entries = new Map<string, { count: number; since: number }>();
  const current = (address: string) => {
    const e = entries.get(address);
    if (e && clock.now() - e.since >= windowMs) {
      entries.delete(address);
      return undefined;
    }
    return e;
  };
  return {
    blockedFor(address) {
      const e = current(address);
      return e && e.count >= limit ? e.since + windowMs - clock.now() : 0;
    },
    fail(address) {
      const e = current(address);
      if (e) e.count++;
      else {
        if (entries.size >= MAX_TRACKED_ADDRESSES) entries.delete(entries.keys().next().value!);
        entries.set(address, { count: 1, since: clock.now() });
      }
    },
    succeed(address) {
      entries.delete(address);
    },
    now: () => clock.now(),
  };
}

/** What the console-session path needs to know about a request. */
export interface AdminRequestInfo {
  method: string;
  /** ms since the epoch, to check the session's expiry */
  now: number;
}

/**
 * Admin check: throws a 401 (or 429 while the address is locked out) GatewayError unless the Bearer key
 * matches or, with no Bearer sent, the console session cookie is valid and, for a mutating request,
 * carries the CSRF header. Callers that do not pass `request` get the strict rule: the header is required.
 */
export function checkAdminKey(
  headers: Headers,
  adminKey: string,
  address: string,
  limiter: FailureLimiter,
  request: AdminRequestInfo = { method: 'POST', now: limiter.now() },
): void {
  const wait = limiter.blockedFor(address);
  if (wait > 0) {
    throw new GatewayError('rate_limit', 'Too many failed admin login attempts; try again later.', {
      headers: { 'retry-after': String(Math.ceil(wait / 1000)) },
    });
  }
  const given = bearerToken(headers);
  const session = given === undefined ? sessionToken(headers) : undefined;
  if (session !== undefined) {
    // A bad or expired cookie is not a guess (the signature is unguessable) and an open console polls
    // with its stale cookie, so it does not count against the address: the operator is not locked out.
    if (!verifySession(session, adminKey, request.now).ok) {
      throw new GatewayError('authentication', 'The console session has expired or is invalid: log in again.', { code: 'SESSION_INVALID' });
    }
    if (!csrfSatisfied(request.method, headers)) {
      throw new GatewayError('permission', `A console-session request that changes something needs the "${CSRF_HEADER}" header.`, { code: 'CSRF' });
    }
    return;
  }
  if (given === undefined) {
    // No key at all is not a guess: it costs the address nothing (browsers probe without one).
    throw new GatewayError('authentication', 'Unauthorized access: send "Authorization: Bearer <ADMIN_KEY>".', {
      code: 'UNAUTHORIZED',
    });
  }
  if (!secretEquals(given, adminKey)) {
    limiter.fail(address);
    throw new GatewayError('authentication', 'Invalid admin key.', { code: 'INVALID_PASSWORD' });
  }
  limiter.succeed(address);
}
