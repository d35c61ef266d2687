// The master-key canary: a known text sealed into `meta` on first open. Opening it on every start-up
// proves MASTER_KEY is the key the database was sealed with, before any secret is read or written.
import { eq, isNotNull, or } from 'drizzle-orm';
import { sealContext } from './accounts';
import { SealError, type Sealer } from './crypto';
import type { Connection } from './db';
import { isUniqueViolation, MasterKeyMismatchError } from './errors';

const CANARY_KEY = 'master_key_canary';
const CANARY_TEXT = 'q2api master key canary v1';
const CANARY_CONTEXT = `meta.${CANARY_KEY}`;

export async function verifyMasterKey(conn: Connection, sealer: Sealer): Promise<void> {
  const m = conn.tables.meta;
  const read = async () => (await conn.db.select({ value: m.value }).from(m).where(eq(m.key, CANARY_KEY)))[0]?.value;

  let stored = await read();
  if (stored === undefined) {
    // A database sealed before the canary existed (or whose meta row was lost) must still be checked:
    // try one stored secret before vouching for this key with a new canary.
    await checkOneSecret(conn, sealer);
    try {
      await conn.db.insert(m).values({ key: CANARY_KEY, value: sealer.seal(CANARY_TEXT, CANARY_CONTEXT) });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err; // a process starting alongside wrote it first: check theirs
    }
    stored = await read();
    if (stored === undefined) throw new Error('the master-key canary could not be stored in the meta table');
  }
  let text: string;
  try {
    text = sealer.open(stored, CANARY_CONTEXT);
  } catch (err) {
    if (err instanceof SealError) throw new MasterKeyMismatchError('the stored key check does not decrypt');
    throw err;
  }
  if (text !== CANARY_TEXT) throw new MasterKeyMismatchError('the stored key check decrypts to unexpected text');
}

async function checkOneSecret(conn: Connection, sealer: Sealer): Promise<void> {
  const a = conn.tables.accounts;
  const [row] = await conn.db
    .select({ id: a.id, clientSecret: a.clientSecret, refreshToken: a.refreshToken, accessToken: a.accessToken })
    .from(a)
    .where(or(isNotNull(a.refreshToken), isNotNull(a.clientSecret), isNotNull(a.accessToken)))
    .limit(1);
  if (!row) return;
  for (const column of ['refreshToken', 'clientSecret', 'accessToken'] as const) {
    const value = row[column];
    if (value == null) continue;
    try {
      sealer.open(value, sealContext(column, row.id));
      return;
    } catch (err) {
      if (err instanceof SealError) throw new MasterKeyMismatchError(`account ${row.id} does not decrypt`);
      throw err;
    }
  }
}
