// Sealing format and failure modes of the at-rest encryption.
import { describe, expect, test } from 'bun:test';
import { createSealer, SealError } from '../../src/store/crypto';

const sealer = createSealer(new Uint8Array(32).fill(1));
const other = createSealer(new Uint8Array(32).fill(2));

describe('sealer', () => {
  test('seals to v1:<nonce>:<ciphertext+tag> and opens again', () => {
    const sealed = sealer.seal('secret refresh token ✓', 'accounts.refreshToken:1');
    expect(sealed).toMatch(/^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('secret');
    expect(sealer.open(sealed, 'accounts.refreshToken:1')).toBe('secret refresh token ✓');
    expect(sealer.open(sealer.seal('', 'c'), 'c')).toBe('');
  });

  test('uses a fresh nonce every time', () => {
    const a = sealer.seal('same', 'c');
    const b = sealer.seal('same', 'c');
    expect(a).not.toBe(b);
    expect(a.split(':')[1]).not.toBe(b.split(':')[1]);
  });

  test('refuses another key, another context, tampering and unknown versions', () => {
    const sealed = sealer.seal('x', 'accounts.accessToken:1');
    expect(() => other.open(sealed, 'accounts.accessToken:1')).toThrow(SealError);
    expect(() => sealer.open(sealed, 'accounts.accessToken:2')).toThrow(SealError);
    const [v, nonce, body] = sealed.split(':') as [string, string, string];
    const flipped = body.slice(0, -2) + (body.at(-2) === 'A' ? 'B' : 'A') + body.at(-1);
    expect(() => sealer.open(`${v}:${nonce}:${flipped}`, 'accounts.accessToken:1')).toThrow(SealError);
    expect(() => sealer.open(`v2:${nonce}:${body}`, 'accounts.accessToken:1')).toThrow(SealError);
    expect(() => sealer.open('plaintext-token', 'accounts.accessToken:1')).toThrow(SealError);
  });

  test('refresh-token hash is a keyed, stable hex HMAC', () => {
    const h = sealer.hashRefreshToken('rt');
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(sealer.hashRefreshToken('rt')).toBe(h);
    expect(other.hashRefreshToken('rt')).not.toBe(h);
    expect(sealer.hashRefreshToken('rt2')).not.toBe(h);
  });

  test('rejects a master key shorter than 32 bytes', () => {
    expect(() => createSealer(new Uint8Array(16))).toThrow(RangeError);
  });
});
