// PostgreSQL going away under a running gateway: chat requests answer cleanly (a 503 in the caller's
// dialect, or a success from what the pool holds in memory; never a 500 or a hang), /healthz says
// degraded, and once the server is back everything recovers by itself — with no usage or request-log
// row of the outage lost. Uses a PostgreSQL of its own (test/faults/own-postgres.ts).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { ADMIN_KEY, inProcessGateway, type InProcessGateway } from './harness';
import { chatRequest, type Dialect, outcomeOf } from './outcome';
import { ownPostgresMissing, startOwnPostgres, type OwnPostgres } from './own-postgres';

const KEY = 'sk-outage-client';
const missing = ownPostgresMissing();

describe('database outage (own PostgreSQL)', () => {
  let pg: OwnPostgres;
  let fake: FakeUpstream;
  let gw: InProcessGateway;
  /** a second replica on the same database that has not loaded its accounts yet */
  let cold: InProcessGateway;
  let sent = 0;
  const admin = (path: string) => gw.fetch(path, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });

  async function ask(dialect: Dialect, stream: boolean) {
    sent++;
    const res = await chatRequest({ url: '', fetch: gw.fetch, key: KEY }, dialect, `[[fake:plain]] outage ${sent}`, { stream });
    return { status: res.status, outcome: await outcomeOf(dialect, res) };
  }

  beforeAll(async () => {
    // Never skipped: a machine that cannot run its own PostgreSQL fails this suite, saying why.
    if (missing !== null) throw new Error(`the database-outage suite cannot start its own PostgreSQL: ${missing}`);
    [pg, fake] = await Promise.all([startOwnPostgres(), startFakeUpstream()]);
    gw = await inProcessGateway({ upstreamUrl: fake.url, databaseUrl: pg.url, env: { OPENAI_KEYS: KEY, REQUEST_LOG: 'db' } });
    cold = await inProcessGateway({ upstreamUrl: fake.url, databaseUrl: pg.url, env: { OPENAI_KEYS: KEY } });
    for (const n of [1, 2]) {
      fake.seedToken({ accessToken: `out-at-${n}`, refreshToken: `out-rt-${n}`, expiresIn: 3600, authMethod: 'social' });
      await gw.ctx.store.accounts.create({ accessToken: `out-at-${n}`, refreshToken: `out-rt-${n}`, authMethod: 'social', expiresAt: new Date(Date.now() + 3600_000) });
    }
  }, 60_000);
  afterAll(async () => {
    await gw?.stop().catch(() => {});
    await cold?.stop().catch(() => {});
    await fake?.stop();
    await pg?.destroy();
  });

  test('requests fail cleanly while PostgreSQL is down and recover by themselves', async () => {
    expect((await ask('anthropic', true)).outcome.kind).toBe('ok');

    await pg.stop();
    const during: Array<{ status: number; kind: string; type?: string }> = [];
    for (const dialect of ['anthropic', 'openai'] as Dialect[]) {
      for (const stream of [true, false]) {
        for (let i = 0; i < 3; i++) {
          const r = await ask(dialect, stream);
          during.push({ status: r.status, kind: r.outcome.kind, ...(r.outcome.kind === 'http_error' ? { type: r.outcome.type } : {}) });
          // A clean answer: served from the pool's memory, or a 503 in the dialect's own error shape.
          if (r.status === 503) expect(r.outcome).toEqual({ kind: 'http_error', status: 503, type: dialect === 'anthropic' ? 'overloaded_error' : 'server_error' });
          else expect(r.outcome.kind).toBe('ok');
        }
      }
    }
    // The cold replica must read its accounts from the database: a clean 503, in either dialect.
    for (const dialect of ['anthropic', 'openai'] as Dialect[]) {
      const res = await chatRequest({ url: '', fetch: cold.fetch, key: KEY }, dialect, '[[fake:plain]] cold', { stream: true });
      expect(await outcomeOf(dialect, res)).toEqual({ kind: 'http_error', status: 503, type: dialect === 'anthropic' ? 'overloaded_error' : 'server_error' });
    }
    const health = await gw.fetch('/healthz');
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: 'degraded', database: { reachable: false } });
    expect((await admin('/v2/usage')).status).toBe(503);
    // the accounts API too: a database outage is a 503 with retry-after, never a 500
    const accounts = await admin('/v2/accounts');
    expect(accounts.status).toBe(503);
    expect(accounts.headers.get('retry-after')).toBe('5');
    await gw.ctx.ops.flush(); // fails quietly: the rows stay in memory
    expect(gw.ctx.ops.usage.pending()).toBeGreaterThan(0);
    expect(gw.ctx.ops.requestLog.pending()).toBe(sent);

    await pg.start();
    // No restart, no operator: the connection pool reconnects on the next query.
    const until = Date.now() + 10_000;
    let healthy = false;
    while (!healthy && Date.now() < until) {
      healthy = (await gw.fetch('/healthz')).status === 200;
      if (!healthy) await Bun.sleep(100);
    }
    expect(healthy).toBe(true);
    for (const dialect of ['anthropic', 'openai'] as Dialect[]) expect((await ask(dialect, true)).outcome.kind).toBe('ok');
    const again = await chatRequest({ url: '', fetch: cold.fetch, key: KEY }, 'anthropic', '[[fake:plain]] cold again', { stream: true });
    expect((await outcomeOf('anthropic', again)).kind).toBe('ok');

    // Usage and request-log rows of the outage were kept in memory and written after it.
    await gw.ctx.ops.flush();
    const usage = await admin('/v2/usage?group=client_key');
    expect(usage.status).toBe(200);
    const totals = ((await usage.json()) as { totals: { requests: number; errors: number } }).totals;
    expect(totals.requests).toBe(sent);
    expect(totals.errors).toBe(during.filter((d) => d.status !== 200).length);
    expect((await gw.ctx.store.requestLog.list({ limit: 1000 })).length).toBe(sent);
  }, 30_000);
});
