// Child process for the "two processes start at once" tests: opens (and so migrates) one store, then exits.
// argv: databaseUrl dataDir masterKeyHex
import { openStore } from '../../src/store';

const [databaseUrl, dataDir, keyHex] = process.argv.slice(2);
if (!databaseUrl || !dataDir || !keyHex) throw new Error('usage: open-store-child.ts DATABASE_URL DATA_DIR MASTER_KEY_HEX');
const store = await openStore({ databaseUrl, dataDir, masterKey: Uint8Array.from(Buffer.from(keyHex, 'hex')) });
const ok = await store.ping();
await store.close();
console.log(ok ? 'opened' : 'ping failed');
