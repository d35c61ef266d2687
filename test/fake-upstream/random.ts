// Seeded randomness for the fake: everything it emits (user codes, request ids, split sizes) is
// reproducible from a seed, so test runs and recorded traces are deterministic.

import { createHash } from 'node:crypto';
import { mulberry32 } from '../support/prng';

export type Rng = () => number;

/** mulberry32 (test/support/prng.ts): tiny, fast, good enough for test data (not for secrets). */
export const makeRng: (seed: number) => Rng = mulberry32;

/** integer in [min, max] */
export function randomInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

/** RFC 9562 version-4 layout, from the seeded source */
export function randomUuid(rng: Rng): string {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = randomInt(rng, 0, 255);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `ABCD-EFGH`, the user-code shape of §4.3 */
export function randomUserCode(rng: Rng): string {
  const letter = () => String.fromCharCode(65 + randomInt(rng, 0, 25));
  let code = '';
  for (let i = 0; i < 8; i++) code += (i === 4 ? '-' : '') + letter();
  return code;
}

/**
 * How secrets appear in recordings and stats: enough to tell tokens apart, useless to replay.
 * Tests compute the same value with this function.
 */
export function tokenFingerprint(token: string): string {
  return 'sha256:' + createHash('sha256').update(token).digest('hex').slice(0, 12);
}

export function sha256Base64Url(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
