// `kill -9` in the middle of account writes: a spawned `q2api serve` on a SQLite file is hammered
// through the admin API (creates, batch creates, patches, deletes from several clients at once) and
// killed without warning. The file must open intact, and every write the API acknowledged must be
// there, secrets included (a torn sealed value would not open).

import { Database } from 'bun:sqlite';
import { afterAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import { openStore, type Store } from '../../src/store';
import { decodeKeyMaterial } from '../../src/config';
import { ADMIN_KEY, MASTER_KEY, spawnGateway, type SpawnedGateway } from './harness';

const WORKERS = 8;
/** Writes acknowledged before the kill: enough that the kill lands mid-write, not in a lull. */
const ACKS_BEFORE_KILL = 300;

let gw: SpawnedGateway | undefined;
let store: Store | undefined;
afterAll(async () => {
  await store?.close();
  gw?.cleanup();
});

interface Expect {
  refreshToken: string;
  /** labels the row may carry: acknowledged value first, then writes in flight at the kill */
  labels: string[];
  deleted: 'no' | 'acked' | 'maybe';
}

test('SIGKILL during account writes: the database opens intact with every acknowledged write', async () => {
  gw = await spawnGateway({ LOG_LEVEL: 'warn', REQUEST_LOG: 'off' });
  const expected = new Map<string, Expect>();
  const problems: string[] = [];
  let acks = 0;
  let stop = false;
  const post = (path: string, method: string, body?: unknown) =>
    fetch(gw!.url + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const label = `w${w}-${i}`;
      const refreshToken = `rt-kill-${w}-${i}-${'x'.repeat(40)}`;
      try {
        if (i % 5 === 4) {
          // A batch: acknowledged means every one of its accounts was written.
          const accounts = [0, 1, 2].map((k) => ({ label: `${label}-b${k}`, refreshToken: `${refreshToken}-b${k}`, authMethod: 'social' }));
          const res = await post('/v2/accounts/batch', 'POST', { accounts });
          if (res.ok) {
            const body = (await res.json()) as { results: Array<{ id: string; status: string }> };
            body.results.forEach((r, k) => {
              if (r.status !== 'created') problems.push(`batch item ${k}: ${r.status}`);
              expected.set(r.id, { refreshToken: accounts[k]!.refreshToken, labels: [accounts[k]!.label], deleted: 'no' });
            });
            acks++;
          }
          continue;
        }
        const res = await post('/v2/accounts', 'POST', { label, refreshToken, authMethod: 'social' });
        if (!res.ok) continue;
        const { id } = (await res.json()) as { id: string };
        const e: Expect = { refreshToken, labels: [label], deleted: 'no' };
        expected.set(id, e);
        acks++;
        const patched = `${label}-patched`;
        e.labels.push(patched); // in flight: either value may be there after a kill
        const p = await post(`/v2/accounts/${id}`, 'PATCH', { label: patched, priority: i % 7 });
        if (p.ok) {
          e.labels = [patched];
          acks++;
        }
        if (i % 3 === 0) {
          e.deleted = 'maybe';
          const d = await post(`/v2/accounts/${id}`, 'DELETE');
          if (d.ok) {
            e.deleted = 'acked';
            acks++;
          }
        }
      } catch {
        // the connection died with the process: this write's outcome is unknown, which is allowed
        return;
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w));
  while (acks < ACKS_BEFORE_KILL) await Bun.sleep(5);
  gw.proc.kill('SIGKILL');
  const code = await gw.proc.exited;
  stop = true;
  await Promise.all(workers);
  expect(problems).toEqual([]);
  expect(gw.proc.signalCode).toBe('SIGKILL');
  expect(code).not.toBe(0);

  const file = join(gw.dataDir, 'data', 'data.sqlite3');
  const raw = new Database(file);
  try {
    expect(raw.query('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
  } finally {
    raw.close();
  }
  store = await openStore({ databaseUrl: '', dataDir: join(gw.dataDir, 'data'), masterKey: decodeKeyMaterial(MASTER_KEY)! });
  const { items } = await store.accounts.list();
  const byId = new Map(items.map((a) => [a.id, a]));
  let checked = 0;
  for (const [id, e] of expected) {
    const a = byId.get(id);
    if (e.deleted === 'acked') {
      expect(a).toBeUndefined();
      continue;
    }
    if (e.deleted === 'maybe' && a === undefined) continue;
    expect(a).toBeDefined();
    expect(e.labels).toContain(a!.label!);
    expect(a!.refreshToken).toBe(e.refreshToken); // the sealed secret opens and is whole
    checked++;
  }
  expect(checked).toBeGreaterThan(50);
}, 20_000);
