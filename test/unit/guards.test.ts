import { describe, expect, test } from 'bun:test';
import { checkAdminKey, checkClientKey, clientKey, createFailureLimiter, secretEquals } from '../../src/http/guards';
import { GatewayError } from '../../src/http/errors';

const h = (o: Record<string, string>) => new Headers(o);

test('secretEquals compares values of any length', () => {
  expect(secretEquals('abc', 'abc')).toBe(true);
  expect(secretEquals('abc', 'abd')).toBe(false);
  expect(secretEquals('abc', 'abcd')).toBe(false);
});

describe('client keys', () => {
  test('Authorization wins over x-api-key; Bearer prefix optional', () => {
    expect(clientKey(h({ authorization: 'Bearer k1', 'x-api-key': 'k2' }))).toBe('k1');
    expect(clientKey(h({ 'x-api-key': 'k2' }))).toBe('k2');
    expect(clientKey(h({ authorization: 'k3' }))).toBe('k3');
  });
  test('empty key list is open; otherwise missing and wrong keys are 401', () => {
    expect(() => checkClientKey(h({}), [])).not.toThrow();
    expect(() => checkClientKey(h({ 'x-api-key': 'good' }), ['other', 'good'])).not.toThrow();
    for (const headers of [h({}), h({ 'x-api-key': 'bad' })]) {
      try {
        checkClientKey(headers, ['good']);
        throw new Error('accepted');
      } catch (e) {
        expect(e).toBeInstanceOf(GatewayError);
        expect((e as GatewayError).status).toBe(401);
      }
    }
  });
});

describe('admin key and limiter', () => {
  test('locks an address out after 10 failures until the window passes, others unaffected', () => {
    let now = 1_000_000;
    const limiter = createFailureLimiter({ now: () => now });
    const attempt = (key: string, addr = '10.0.0.1') => {
      try {
        checkAdminKey(h({ authorization: `Bearer ${key}` }), 'the-admin-key', addr, limiter);
        return 200;
      } catch (e) {
        return (e as GatewayError).status;
      }
    };
    const checkMissing = (addr: string) => {
      try {
        checkAdminKey(h({}), 'the-admin-key', addr, limiter);
        return 200;
      } catch (e) {
        return (e as GatewayError).status;
      }
    };
    for (let i = 0; i < 10; i++) expect(attempt('wrong')).toBe(401);
    expect(attempt('the-admin-key')).toBe(429); // even the right key waits: no oracle while locked
    expect(attempt('the-admin-key', '10.0.0.2')).toBe(200);
    for (let i = 0; i < 20; i++) expect(checkMissing('10.0.0.3')).toBe(401); // no key at all is not a guess
    expect(attempt('the-admin-key', '10.0.0.3')).toBe(200);
    now += 5 * 60_000;
    expect(attempt('the-admin-key')).toBe(200);
  });
});
