// Graceful shutdown of a spawned `q2api serve` (SHUTDOWN_GRACE_S=1): on SIGTERM it stops accepting,
// a stream that ends within the grace period ends normally, streams still open after it end with an
// in-stream error (Anthropic `event: error`, OpenAI error chunk), the process exits 0, and the usage
// and request-log rows of those requests are in the database afterwards.

import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { decodeKeyMaterial } from '../../src/config';
import { openStore, type Store } from '../../src/store';
import { keyLabel } from '../../src/obs/client-key';
import { MASTER_KEY, spawnGateway, type SpawnedGateway } from './harness';
import { chatRequest, type Dialect, outcomeOf } from './outcome';
import { upstreamEnv } from '../support/upstream-env';

const KEY = 'sk-shutdown-client';
let fake: FakeUpstream;
let gw: SpawnedGateway;
let store: Store | undefined;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await spawnGateway({
    ...upstreamEnv(fake.url),
    OPENAI_KEYS: KEY,
    SHUTDOWN_GRACE_S: '1',
    REQUEST_LOG: 'both',
  });
  fake.seedToken({ accessToken: 'sd-at', refreshToken: 'sd-rt', expiresIn: 3600, authMethod: 'social' });
  const r = await gw.admin('POST', '/v2/accounts', { accessToken: 'sd-at', refreshToken: 'sd-rt', authMethod: 'social', expiresAt: new Date(Date.now() + 3600_000).toISOString() });
  expect(r.status).toBe(201);
});
afterAll(async () => {
  await store?.close();
  gw?.cleanup();
  await fake?.stop();
});

/** Starts a streaming request and resolves once its first bytes arrived; `done` is the whole outcome. */
async function started(dialect: Dialect, marker: string) {
  const res = await chatRequest({ url: gw.url, key: KEY }, dialect, `${marker} shutdown`, { stream: true });
  expect(res.status).toBe(200);
  const [a, b] = res.body!.tee();
  const reader = a.getReader();
  await reader.read(); // committed and flowing
  reader.releaseLock();
  void a.cancel().catch(() => {});
  return { done: outcomeOf(dialect, new Response(b, { headers: res.headers })) };
}

test('SIGTERM: short streams finish, long ones end with an in-stream error, exit 0, rows flushed', async () => {
  const short = await started('anthropic', '[[fake:slow:first_ms=0,gap_ms=40]]'); // ~0.6 s, inside the grace
  const longA = await started('anthropic', '[[fake:long:n=2000,gap_ms=20]]'); // ~40 s
  const longO = await started('openai', '[[fake:long:n=2000,gap_ms=20]]');
  const t0 = Date.now();
  gw.proc.kill('SIGTERM');
  await Bun.sleep(100);
  // The listener is closed: a new connection is refused.
  const late = await fetch(`${gw.url}/healthz`).then(
    (r) => r.status,
    () => 'refused',
  );
  expect(late).toBe('refused');

  expect(await short.done).toMatchObject({ kind: 'ok', stop: 'end_turn' });
  expect(await longA.done).toMatchObject({ kind: 'stream_error', type: 'overloaded_error' });
  expect(await longO.done).toMatchObject({ kind: 'stream_error', type: 'server_error' });
  const code = await gw.proc.exited;
  expect(code).toBe(0);
  const took = Date.now() - t0;
  expect(took).toBeGreaterThanOrEqual(900);
  expect(took).toBeLessThan(5_000);
  expect(gw.output().some((l) => l.includes('shutdown grace period over'))).toBe(true);

  // Nothing half-written: the store opens, and the three requests are counted and logged.
  store = await openStore({ databaseUrl: '', dataDir: join(gw.dataDir, 'data'), masterKey: decodeKeyMaterial(MASTER_KEY)! });
  const today = new Date().toISOString().slice(0, 10);
  const [row] = await store.usage.query({ from: today, to: today, group: 'client_key' });
  expect(row).toMatchObject({ client_key: keyLabel(KEY), requests: 3, errors: 2 });
  const logged = await store.requestLog.list();
  expect(logged).toHaveLength(3);
  expect(logged.filter((r) => r.stopReason === 'error')).toHaveLength(2);
}, 15_000);
