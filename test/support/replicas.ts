// Two gateway instances sharing one fresh database of a dialect and one fake upstream: the set-up and
// tear-down of the replica suites, registered as beforeAll / afterAll of the calling describe.

import { afterAll, beforeAll } from 'bun:test';
import type { Dialect } from '../../src/store';
import { type FakeUpstream, startFakeUpstream } from '../fake-upstream/server';
import { createHarness, missingServer, type TestDatabase } from '../store/harness';
import { type Gateway, startGateway } from './gateway';

export interface Replicas {
  db: TestDatabase;
  fake: FakeUpstream;
  a: Gateway;
  b: Gateway;
}

/** Filled in by the beforeAll it registers; read it inside tests and hooks only. */
export function twoReplicas(dialect: Dialect, fakeConfig: Parameters<typeof startFakeUpstream>[0]): Replicas {
  const harness = createHarness(dialect);
  const r = {} as Replicas;
  beforeAll(async () => {
    const missing = missingServer(dialect);
    if (missing) throw new Error(missing);
    r.db = await harness.fresh();
    r.fake = await startFakeUpstream(fakeConfig);
    r.a = await startGateway({ databaseUrl: r.db.url, upstreamUrl: r.fake.url });
    r.b = await startGateway({ databaseUrl: r.db.url, upstreamUrl: r.fake.url });
  });
  afterAll(async () => {
    await r.a?.stop();
    await r.b?.stop();
    await r.fake?.stop();
    await harness.cleanup();
  });
  return r;
}
