// Sealing of secrets at rest: AES-256-GCM under a sub-key HKDF-derived from MASTER_KEY, plus a keyed
// hash of refresh tokens (a second sub-key) so duplicates are found although each seal uses a fresh nonce.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/** Prefix of every sealed value; a new scheme gets a new version so old rows stay readable. */
export const SEAL_VERSION = 'v1';
/** GCM's standard nonce size; random 96-bit nonces are safe for far more seals than a pool ever makes. */
const NONCE_BYTES = 12;
/** Full 128-bit GCM tag: shorter tags weaken forgery resistance for no useful saving. */
const TAG_BYTES = 16;
/** AES-256 key size. */
const KEY_BYTES = 32;
/** HKDF `info` labels: one per purpose, so the sealing key and the hashing key are independent. */
const SEAL_INFO = 'q2api/store/seal/v1';
const HASH_INFO = 'q2api/store/refresh-token-hmac/v1';
/** Fixed HKDF salt: the master key is already uniformly random, the salt only separates this application. */
const HKDF_SALT = 'q2api';

/** A sealed value could not be opened: wrong MASTER_KEY, tampering, or a value moved to another row. */
export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

export interface Sealer {
  /** Encrypts `plaintext`; `context` (e.g. `accounts.refreshToken:<id>`) is bound as associated data,
   *  so a sealed value copied into another row or column fails to open instead of being accepted. */
  seal(plaintext: string, context: string): string;
  /** Decrypts a value made by `seal` with the same key and context; throws SealError otherwise. */
  open(sealed: string, context: string): string;
  /** Hex HMAC-SHA256 of a refresh token: equal tokens give equal hashes, and without MASTER_KEY the
   *  hash reveals nothing (a plain SHA-256 of a token could be checked against a leaked token). */
  hashRefreshToken(token: string): string;
}

export function createSealer(masterKey: Uint8Array): Sealer {
  if (masterKey.length < KEY_BYTES) throw new RangeError(`master key must be at least ${KEY_BYTES} bytes`);
  const sealKey = Buffer.from(hkdfSync('sha256', masterKey, HKDF_SALT, SEAL_INFO, KEY_BYTES));
  const hashKey = Buffer.from(hkdfSync('sha256', masterKey, HKDF_SALT, HASH_INFO, KEY_BYTES));

  return {
    seal(plaintext, context) {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealKey, nonce, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${SEAL_VERSION}:${nonce.toString('base64url')}:${body.toString('base64url')}`;
    },

    open(sealed, context) {
      const parts = sealed.split(':');
      if (parts.length !== 3 || parts[0] !== SEAL_VERSION) {
        throw new SealError(`sealed value for ${context} is not in the ${SEAL_VERSION}:<nonce>:<ciphertext> format`);
      }
      const nonce = Buffer.from(parts[1]!, 'base64url');
      const body = Buffer.from(parts[2]!, 'base64url');
      if (nonce.length !== NONCE_BYTES || body.length < TAG_BYTES) {
        throw new SealError(`sealed value for ${context} is truncated`);
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', sealKey, nonce, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
        return plain.toString('utf8');
      } catch {
        throw new SealError(`cannot open the sealed value for ${context}: wrong MASTER_KEY or altered data`);
      }
    },

    hashRefreshToken(token) {
      return createHmac('sha256', hashKey).update(token, 'utf8').digest('hex');
    },
  };
}
