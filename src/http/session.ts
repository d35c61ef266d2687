// Console sessions: a stateless, signed, expiring token in an HttpOnly SameSite=Strict cookie, so the
// admin key never sits in the browser and any replica that knows the admin key accepts the session.
// Pure: time and randomness come from the caller.

import { createHmac, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'q2api_session';
/**
 * Cookie-authenticated mutating requests must carry this header. A cross-site page cannot set a custom
 * header without a CORS preflight, which q2api never grants, so its presence proves a same-origin caller
 * even where SameSite is not honoured (old browsers, some embedded views).
 */
export const CSRF_HEADER = 'x-q2api-csrf';
/** A working day: long enough not to interrupt an operator, short enough that a stolen cookie dies soon. */
export const SESSION_TTL_S = 12 * 3600;
/** The cookie only travels to the admin API; the page itself and /v1 never see it. */
export const SESSION_COOKIE_PATH = '/v2';
/** POST here logs in with the admin key (the one /v2 route the admin gate lets through without credentials). */
export const SESSION_PATH = '/v2/session';

const VERSION = 'v1';
/** Domain separation: the session key is derived from, but never equal to, the admin key. */
const KEY_LABEL = 'q2api/console-session/v1';

export type SessionCheck = { ok: true; expiresAt: number } | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' };

/**
 * HMAC key for session tokens. Derived from the admin key so that replicas sharing it accept each
 * other's sessions with no shared state, and rotating the admin key ends every session at once.
 */
export function sessionKey(adminKey: string): Buffer {
  return createHmac('sha256', adminKey).update(KEY_LABEL).digest();
}

function sign(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(payload).digest();
}

/** A new token `v1.<expires epoch s>.<nonce>.<signature>` and its expiry (ms since the epoch). */
export function issueSession(adminKey: string, nowMs: number, nonce: Uint8Array, ttlS = SESSION_TTL_S): { token: string; expiresAt: number } {
  const exp = Math.floor(nowMs / 1000) + ttlS;
  const payload = `${VERSION}.${exp}.${Buffer.from(nonce).toString('base64url')}`;
  return { token: `${payload}.${sign(sessionKey(adminKey), payload).toString('base64url')}`, expiresAt: exp * 1000 };
}

export function verifySession(token: string, adminKey: string, nowMs: number): SessionCheck {
  const parts = token.split('.');
  if (parts.length !== 4 || parts[0] !== VERSION || !/^\d{1,12}$/.test(parts[1]!) || !/^[\w-]+$/.test(parts[2]!)) {
    return { ok: false, reason: 'malformed' };
  }
  const payload = parts.slice(0, 3).join('.');
  const given = Buffer.from(parts[3]!, 'base64url');
  const expected = sign(sessionKey(adminKey), payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'bad_signature' };
  const expiresAt = Number(parts[1]) * 1000;
  if (expiresAt <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, expiresAt };
}

/** The session token from the request's Cookie header, or undefined. */
export function sessionToken(headers: Headers): string | undefined {
  const cookie = headers.get('cookie');
  if (!cookie) return undefined;
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** Safe methods read only, so a session cookie alone suffices for them (SameSite=Strict still applies). */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/** The CSRF rule for cookie-authenticated requests: a mutating method needs the custom header. */
export function csrfSatisfied(method: string, headers: Headers): boolean {
  return isSafeMethod(method.toUpperCase()) || (headers.get(CSRF_HEADER) ?? '') !== '';
}

/** Whether the client reached us over TLS (directly or through a proxy that says so): the cookie is then Secure. */
export function isHttps(request: Request): boolean {
  return new URL(request.url).protocol === 'https:' || request.headers.get('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
}

/** Set-Cookie value carrying a session; Max-Age matches the token so the browser forgets it on time. */
export function sessionCookie(token: string, maxAgeS: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=${SESSION_COOKIE_PATH}; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Set-Cookie value that removes the session cookie (logout). */
export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', 0, secure);
}
