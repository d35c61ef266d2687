// Names a client key for logs and usage without the key itself: `key#` + the first 8 hex digits of
// its SHA-256. Only configured keys get a label, so a flood of made-up keys cannot grow the tables.

import { clientKey } from '../http/guards';

/** '' in open mode (no OPENAI_KEYS), null when no configured key was presented, else `key#…`. */
export type ClientKeyLabeler = (headers: Headers) => string | null;

export function keyLabel(key: string): string {
  return `key#${new Bun.CryptoHasher('sha256').update(key).digest('hex').slice(0, 8)}`;
}

export function createClientKeyLabeler(keys: readonly string[]): ClientKeyLabeler {
  if (keys.length === 0) return () => '';
  // Looked up by full digest: the time a lookup takes says nothing about how close a guess was.
  const byDigest = new Map<string, string>();
  for (const k of keys) byDigest.set(new Bun.CryptoHasher('sha256').update(k).digest('hex'), keyLabel(k));
  return (headers) => {
    const given = clientKey(headers);
    if (given === undefined) return null;
    return byDigest.get(new Bun.CryptoHasher('sha256').update(given).digest('hex')) ?? null;
  };
}
