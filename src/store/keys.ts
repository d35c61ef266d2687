// Load-or-create of the two keys that may live in DATA_DIR when not configured: master.key (seals
// secrets; development convenience) and admin.key (console/admin login). Files are 0600, the dir 0700.
import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_ADMIN_KEY_LENGTH, MIN_MASTER_KEY_BYTES } from '../config';

export const MASTER_KEY_FILE = 'master.key';
export const ADMIN_KEY_FILE = 'admin.key';
/** A generated master key: exactly what AES-256 needs. */
const GENERATED_MASTER_KEY_BYTES = 32;
/** A generated admin key: 256 bits of randomness, 43 base64url characters. */
const GENERATED_ADMIN_KEY_BYTES = 32;
/** Owner-only: these files are as sensitive as the secrets they unlock. */
const KEY_FILE_MODE = 0o600;
const KEY_DIR_MODE = 0o700;

export interface ResolvedMasterKey {
  key: Uint8Array;
  /** true when the key file was created by this call */
  generated: boolean;
  /** set when the key comes from a file in DATA_DIR (development only: warn the operator) */
  path?: string;
}

export interface ResolvedAdminKey {
  key: string;
  /** true when the key file was created by this call: print the key once */
  generated: boolean;
  /** set when the key comes from a file in DATA_DIR */
  path?: string;
}

/** MASTER_KEY when configured; otherwise `${dataDir}/master.key` (hex), created with 32 random bytes if missing. */
export async function resolveMasterKey(config: { masterKey?: Uint8Array; dataDir: string }): Promise<ResolvedMasterKey> {
  if (config.masterKey) return { key: config.masterKey, generated: false };
  const path = join(config.dataDir, MASTER_KEY_FILE);
  const { text, created } = readOrCreate(path, () => randomBytes(GENERATED_MASTER_KEY_BYTES).toString('hex') + '\n');
  const hex = text.trim();
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || hex.length / 2 < MIN_MASTER_KEY_BYTES) {
    throw new Error(
      `${path}: expected at least ${MIN_MASTER_KEY_BYTES} bytes as hex; fix or restore the file, or set MASTER_KEY`,
    );
  }
  return { key: Uint8Array.from(Buffer.from(hex, 'hex')), generated: created, path };
}

/** ADMIN_KEY when configured; otherwise `${dataDir}/admin.key`, created with a random base64url key if missing. */
export async function resolveAdminKey(config: { adminKey?: string; dataDir: string }): Promise<ResolvedAdminKey> {
  if (config.adminKey) return { key: config.adminKey, generated: false };
  const path = join(config.dataDir, ADMIN_KEY_FILE);
  const { text, created } = readOrCreate(path, () => randomBytes(GENERATED_ADMIN_KEY_BYTES).toString('base64url') + '\n');
  const key = text.trim();
  if (key.length < MIN_ADMIN_KEY_LENGTH) {
    throw new Error(`${path}: expected a key of at least ${MIN_ADMIN_KEY_LENGTH} characters; delete the file to get a new one, or set ADMIN_KEY`);
  }
  return { key, generated: created, path };
}

/** Creates DATA_DIR (0700) when missing, with its parents. */
export function ensureDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: KEY_DIR_MODE });
}

/** Reads `path`, or creates it atomically: the content is written to a private temp file that is then
 *  hard-linked into place, which fails if another process got there first — then we read theirs. So two
 *  processes starting together agree on one key, and nobody ever reads a half-written file. */
function readOrCreate(path: string, make: () => string): { text: string; created: boolean } {
  try {
    return { text: readFileSync(path, 'utf8'), created: false };
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err;
  }
  ensureDataDir(join(path, '..'));
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const text = make();
  writeFileSync(tmp, text, { mode: KEY_FILE_MODE, flag: 'wx' });
  try {
    chmodSync(tmp, KEY_FILE_MODE); // the umask can only narrow the mode; make it exact regardless
    linkSync(tmp, path);
    return { text, created: true };
  } catch (err) {
    if (!isCode(err, 'EEXIST')) throw err;
    return { text: readFileSync(path, 'utf8'), created: false };
  } finally {
    unlinkSync(tmp);
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
