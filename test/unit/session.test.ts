// Console session tokens and the admin gate's cookie path: expiry, tampering, the wrong key, the CSRF
// rule, cookie attributes, and that a stale cookie never locks the operator out.

import { describe, expect, test } from 'bun:test';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  SESSION_TTL_S,
  clearedSessionCookie,
  csrfSatisfied,
  isHttps,
  issueSession,
  sessionCookie,
  sessionToken,
  verifySession,
} from '../../src/http/session';
import { checkAdminKey, createFailureLimiter } from '../../src/http/guards';
import { GatewayError } from '../../src/http/errors';

const KEY = 'the-admin-key-0123';
const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const nonce = new Uint8Array(16).fill(7);

describe('session tokens', () => {
  test('a fresh token verifies until it expires, and not a moment after', () => {
    const { token, expiresAt } = issueSession(KEY, NOW, nonce);
    expect(expiresAt).toBe(NOW + SESSION_TTL_S * 1000);
    expect(verifySession(token, KEY, NOW)).toEqual({ ok: true, expiresAt });
    expect(verifySession(token, KEY, expiresAt - 1).ok).toBe(true);
    expect(verifySession(token, KEY, expiresAt)).toEqual({ ok: false, reason: 'expired' });
  });

  test('tampering with the expiry, the nonce or the signature is caught', () => {
    const { token } = issueSession(KEY, NOW, nonce);
    const [v, exp, n, sig] = token.split('.') as [string, string, string, string];
    const later = `${v}.${Number(exp) + 86_400}.${n}.${sig}`;
    expect(verifySession(later, KEY, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifySession(`${v}.${exp}.AAAA${n.slice(4)}.${sig}`, KEY, NOW).ok).toBe(false);
    const flipped = sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A');
    expect(verifySession(`${v}.${exp}.${n}.${flipped}`, KEY, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  test('a token made under another admin key is refused (rotating the key ends every session)', () => {
    const { token } = issueSession('another-admin-key-999', NOW, nonce);
    expect(verifySession(token, KEY, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  test('malformed tokens are refused without throwing', () => {
    for (const bad of ['', 'x', 'v1.1.2', 'v2.9999999999.abc.def', 'v1.notanumber.abc.def', 'v1.1.a b.c', `v1.${'9'.repeat(13)}.a.b`]) {
      expect(verifySession(bad, KEY, NOW).ok, bad).toBe(false);
    }
  });

  test('two sessions issued at the same second differ (by nonce), and both verify', () => {
    const a = issueSession(KEY, NOW, nonce).token;
    const b = issueSession(KEY, NOW, new Uint8Array(16).fill(9)).token;
    expect(a).not.toBe(b);
    expect(verifySession(b, KEY, NOW).ok).toBe(true);
  });
});

describe('cookie and CSRF rules', () => {
  test('the cookie is HttpOnly, SameSite=Strict, scoped to /v2, Secure only over TLS', () => {
    expect(sessionCookie('tok', 60, false)).toBe(`${SESSION_COOKIE}=tok; Path=/v2; Max-Age=60; HttpOnly; SameSite=Strict`);
    expect(sessionCookie('tok', 60, true)).toEndWith('; Secure');
    expect(clearedSessionCookie(false)).toContain('Max-Age=0');
    expect(isHttps(new Request('https://q.example/v2/session'))).toBe(true);
    expect(isHttps(new Request('http://10.0.0.1/v2/session', { headers: { 'x-forwarded-proto': 'https' } }))).toBe(true);
    expect(isHttps(new Request('http://localhost/v2/session'))).toBe(false);
  });

  test('the token is read from among other cookies', () => {
    expect(sessionToken(new Headers({ cookie: `a=1; ${SESSION_COOKIE}=v1.2.3.4; b=2` }))).toBe('v1.2.3.4');
    expect(sessionToken(new Headers({ cookie: 'a=1' }))).toBeUndefined();
    expect(sessionToken(new Headers())).toBeUndefined();
  });

  test('safe methods pass on the cookie alone; every other method needs the CSRF header', () => {
    const none = new Headers();
    const withHeader = new Headers({ [CSRF_HEADER]: '1' });
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'get']) expect(csrfSatisfied(m, none), m).toBe(true);
    for (const m of ['POST', 'PATCH', 'PUT', 'DELETE']) {
      expect(csrfSatisfied(m, none), m).toBe(false);
      expect(csrfSatisfied(m, withHeader), m).toBe(true);
    }
  });
});

describe('admin gate with a session cookie', () => {
  const status = (f: () => void): number => {
    try {
      f();
      return 200;
    } catch (e) {
      if (!(e instanceof GatewayError)) throw e;
      return e.status;
    }
  };
  const cookieFor = (token: string, extra: Record<string, string> = {}) => new Headers({ cookie: `${SESSION_COOKIE}=${token}`, ...extra });

  test('valid session: GET passes, POST needs the CSRF header (403 without), callers without request info are strict', () => {
    let now = NOW;
    const limiter = createFailureLimiter({ now: () => now });
    const { token } = issueSession(KEY, NOW, nonce);
    expect(status(() => checkAdminKey(cookieFor(token), KEY, 'a', limiter, { method: 'GET', now }))).toBe(200);
    expect(status(() => checkAdminKey(cookieFor(token), KEY, 'a', limiter, { method: 'POST', now }))).toBe(403);
    expect(status(() => checkAdminKey(cookieFor(token, { [CSRF_HEADER]: '1' }), KEY, 'a', limiter, { method: 'POST', now }))).toBe(200);
    // no request info: the header is required even for a read, and the limiter's clock times the session
    expect(status(() => checkAdminKey(cookieFor(token), KEY, 'a', limiter))).toBe(403);
    expect(status(() => checkAdminKey(cookieFor(token, { [CSRF_HEADER]: '1' }), KEY, 'a', limiter))).toBe(200);
    now = NOW + SESSION_TTL_S * 1000;
    expect(status(() => checkAdminKey(cookieFor(token, { [CSRF_HEADER]: '1' }), KEY, 'a', limiter))).toBe(401);
  });

  test('expired or forged cookies are 401 but never count towards the lockout', () => {
    const limiter = createFailureLimiter({ now: () => NOW }, 3);
    const expired = issueSession(KEY, NOW - SESSION_TTL_S * 1000 - 1, nonce).token;
    for (let i = 0; i < 10; i++) {
      expect(status(() => checkAdminKey(cookieFor(expired), KEY, 'b', limiter, { method: 'GET', now: NOW }))).toBe(401);
      expect(status(() => checkAdminKey(cookieFor('v1.1.a.b'), KEY, 'b', limiter, { method: 'GET', now: NOW }))).toBe(401);
    }
    expect(limiter.blockedFor('b')).toBe(0);
    expect(status(() => checkAdminKey(new Headers({ authorization: `Bearer ${KEY}` }), KEY, 'b', limiter))).toBe(200);
  });

  test('a Bearer header wins over the cookie: a wrong Bearer fails even with a valid session', () => {
    const limiter = createFailureLimiter({ now: () => NOW });
    const { token } = issueSession(KEY, NOW, nonce);
    const headers = cookieFor(token, { authorization: 'Bearer wrong-key', [CSRF_HEADER]: '1' });
    expect(status(() => checkAdminKey(headers, KEY, 'c', limiter, { method: 'GET', now: NOW }))).toBe(401);
  });
});
