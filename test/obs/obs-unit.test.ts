// The pure parts of src/obs: Prometheus exposition, the overview ring on an injected clock, the
// shutdown guard on a stream of parts, client-key labels, and the usage recorder's retry.
import { describe, expect, test } from 'bun:test';
import { Counter, Gauge, Histogram, MAX_SERIES_PER_METRIC } from '../../src/obs/prometheus';
import { createMetrics } from '../../src/obs/metrics';
import { createOverviewRing } from '../../src/obs/overview';
import { createShutdown, guardParts } from '../../src/obs/shutdown';
import { createClientKeyLabeler, keyLabel } from '../../src/obs/client-key';
import { createUsageRecorder } from '../../src/obs/usage-recorder';
import { createLogger } from '../../src/log';
import type { StreamPart } from '../../src/dialects/conversation';
import type { UsageIncrement, UsageRepository } from '../../src/store/usage';
import { parseConfig } from '../../src/config';

describe('prometheus exposition', () => {
  test('counters, gauges and histograms render in text format 0.0.4', () => {
    const c = new Counter('x_total', 'Things.', ['route', 'status']);
    c.inc({ route: '/v1/messages', status: '200' });
    c.inc({ route: '/v1/messages', status: '200' }, 2);
    c.inc({ route: 'we"ird\\\n', status: '500' });
    const g = new Gauge('y', 'Level.', []);
    g.inc();
    g.inc();
    g.dec();
    const h = new Histogram('z_seconds', 'Latency.', ['route'], [0.1, 1]);
    h.observe({ route: 'a' }, 0.05);
    h.observe({ route: 'a' }, 0.5);
    h.observe({ route: 'a' }, 5);
    expect(c.render()).toBe(
      '# HELP x_total Things.\n# TYPE x_total counter\nx_total{route="/v1/messages",status="200"} 3\nx_total{route="we\\"ird\\\\\\n",status="500"} 1\n',
    );
    expect(g.render()).toBe('# HELP y Level.\n# TYPE y gauge\ny 1\n');
    expect(h.render()).toBe(
      [
        '# HELP z_seconds Latency.',
        '# TYPE z_seconds histogram',
        'z_seconds_bucket{route="a",le="0.1"} 1',
        'z_seconds_bucket{route="a",le="1"} 2',
        'z_seconds_bucket{route="a",le="+Inf"} 3',
        'z_seconds_sum{route="a"} 5.55',
        'z_seconds_count{route="a"} 3',
        '',
      ].join('\n'),
    );
  });

  test('series beyond the cap fold into one "other" series', () => {
    const c = new Counter('many_total', 'Many.', ['k']);
    for (let i = 0; i < MAX_SERIES_PER_METRIC + 50; i++) c.inc({ k: String(i) });
    expect(c.value({ k: 'other' })).toBe(50);
    expect(c.render().split('\n').length).toBe(MAX_SERIES_PER_METRIC + 1 + 3);
  });

  test('the Metrics object renders every family, with event-loop lag from an injected clock', async () => {
    let t = 0;
    const m = createMetrics({ version: '1.2.3', monotonic: () => t });
    m.refreshOutcome('success');
    m.requests.inc({ route: '/v1/messages', status: '200', model: 'q' });
    const text = m.render();
    for (const name of [
      'q2api_requests_total',
      'q2api_requests_in_flight',
      'q2api_streams_in_flight',
      'q2api_ttfb_seconds',
      'q2api_upstream_ttfb_seconds',
      'q2api_request_duration_seconds',
      'q2api_upstream_errors_total',
      'q2api_token_refreshes_total{outcome="success"} 1',
      'q2api_accounts',
      'q2api_event_loop_lag_seconds',
      'process_resident_memory_bytes',
      'q2api_build_info{version="1.2.3"} 1',
    ]) {
      expect(text).toContain(name);
    }
    m.start();
    t = 2_000; // the first tick arrives "1.5 s late"
    await Bun.sleep(600);
    m.stop();
    expect(m.eventLoopLag.value()).toBeGreaterThan(1.4);
    expect(m.render()).toMatch(/q2api_event_loop_lag_max_seconds 1\.\d+/);
  });
});

describe('overview ring', () => {
  test('per-minute buckets for an hour, per-account counts and in-flight, old minutes age out', () => {
    let now = Date.parse('2026-11-28T10:00:30Z');
    const ring = createOverviewRing({ now: () => now });
    ring.acquired('a', 'Alice');
    ring.record({ accountId: 'a', error: false, inputTokens: 10, outputTokens: 5 });
    ring.record({ accountId: 'b', error: true, inputTokens: 1, outputTokens: 0 });
    now += 60_000;
    ring.record({ accountId: 'a', error: false, inputTokens: 2, outputTokens: 3 });
    let snap = ring.snapshot();
    expect(snap.window_s).toBe(3600);
    expect(snap.buckets).toHaveLength(60);
    expect(snap.buckets.at(-1)).toEqual({ t: '2026-11-28T10:01:00.000Z', requests: 1, errors: 0, input_tokens: 2, output_tokens: 3 });
    expect(snap.buckets.at(-2)).toEqual({ t: '2026-11-28T10:00:00.000Z', requests: 2, errors: 1, input_tokens: 11, output_tokens: 5 });
    expect(snap.per_account).toEqual([
      { id: 'a', label: 'Alice', requests: 2, errors: 0, in_flight: 1 },
      { id: 'b', label: null, requests: 1, errors: 1, in_flight: 0 },
    ]);
    ring.released('a');
    now += 60 * 60_000; // an hour later: everything aged out, the slots are reused
    ring.record({ accountId: null, error: false, inputTokens: 0, outputTokens: 0 });
    snap = ring.snapshot();
    expect(snap.buckets.reduce((n, b) => n + b.requests, 0)).toBe(1);
    expect(snap.per_account).toEqual([]);
  });
});

describe('shutdown guard', () => {
  const usage = { inputTokens: 7, outputTokens: 0, reasoningTokens: 0 };
  test('a pending read is answered with an in-stream error at once, and the upstream is closed', async () => {
    let closed = false;
    const parts: AsyncIterable<StreamPart> = {
      [Symbol.asyncIterator]() {
        let n = 0;
        return {
          next: () => (n++ === 0 ? Promise.resolve({ done: false, value: { type: 'text-delta', text: 'hi' } as StreamPart }) : new Promise(() => {})),
          return: async () => {
            closed = true;
            return { done: true, value: undefined };
          },
        };
      },
    };
    const shutdown = createShutdown();
    const it = guardParts(parts, shutdown.signal, 7)[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual({ type: 'text-delta', text: 'hi' });
    const pending = it.next();
    shutdown.expire();
    const r = await pending;
    expect(r.value).toMatchObject({ type: 'error', usage });
    expect((r.value as Extract<StreamPart, { type: 'error' }>).error.status).toBe(503);
    expect(closed).toBe(true);
    expect((await it.next()).done).toBe(true);
  });

  test('a stream that finished is left alone', async () => {
    async function* parts(): AsyncGenerator<StreamPart> {
      yield { type: 'finish', reason: 'end_turn', usage };
    }
    const shutdown = createShutdown();
    const seen: StreamPart[] = [];
    for await (const p of guardParts(parts(), shutdown.signal, 7)) {
      seen.push(p);
      shutdown.expire();
    }
    expect(seen.map((p) => p.type)).toEqual(['finish']);
  });
});

describe('client key labels', () => {
  test('configured keys get key#<8 hex of sha256>; others null; open mode ""', () => {
    const label = createClientKeyLabeler(['sk-one', 'sk-two']);
    expect(label(new Headers({ authorization: 'Bearer sk-two' }))).toBe(keyLabel('sk-two'));
    expect(keyLabel('sk-two')).toMatch(/^key#[0-9a-f]{8}$/);
    expect(keyLabel('sk-two')).toBe(`key#${new Bun.CryptoHasher('sha256').update('sk-two').digest('hex').slice(0, 8)}`);
    expect(label(new Headers({ 'x-api-key': 'sk-one' }))).toBe(keyLabel('sk-one'));
    expect(label(new Headers({ 'x-api-key': 'sk-nope' }))).toBeNull();
    expect(label(new Headers())).toBeNull();
    expect(createClientKeyLabeler([])(new Headers({ 'x-api-key': 'anything' }))).toBe('');
  });
});

describe('usage recorder', () => {
  test('sums per cell, keeps the counters when the database fails, writes them once it is back', async () => {
    const written: UsageIncrement[][] = [];
    let down = true;
    const repo: UsageRepository = {
      add: async (rows) => {
        if (down) throw new Error('connection refused');
        written.push([...rows]);
      },
      query: async () => [],
      accountStates: async () => [],
    };
    const metrics = createMetrics({ version: 't' });
    const rec = createUsageRecorder({ repo, log: createLogger('error', () => {}), metrics });
    const t = Date.parse('2026-11-28T23:59:59Z');
    rec.record({ time: t, accountId: 'a', clientKey: 'k', error: false, inputTokens: 3, outputTokens: 4, credits: 0.5 });
    rec.record({ time: t, accountId: 'a', clientKey: 'k', error: true, inputTokens: 1, outputTokens: 0, credits: 0 });
    rec.record({ time: t + 1000, accountId: 'a', clientKey: 'k', error: false, inputTokens: 1, outputTokens: 1, credits: 0 });
    await rec.flush();
    expect(rec.pending()).toBe(2);
    expect(metrics.usageFlushFailures.value()).toBe(1);
    rec.record({ time: t, accountId: 'a', clientKey: 'k', error: false, inputTokens: 10, outputTokens: 0, credits: 0 });
    down = false;
    await rec.flush();
    expect(rec.pending()).toBe(0);
    expect(written.flat()).toEqual([
      { day: '2026-11-28', accountId: 'a', clientKey: 'k', requests: 3, errors: 1, inputTokens: 14, outputTokens: 4, credits: 0.5 },
      { day: '2026-11-29', accountId: 'a', clientKey: 'k', requests: 1, errors: 0, inputTokens: 1, outputTokens: 1, credits: 0 },
    ]);
  });
});

describe('operations config', () => {
  const base = { DATA_DIR: '/tmp/unused' };
  test('defaults', () => {
    expect(parseConfig(base).ops).toEqual({ requestLog: 'stdout', requestLogDays: 30, logBodies: false, metricsPublic: false, shutdownGraceMs: 25_000 });
  });
  test('values are parsed and bad ones named', () => {
    expect(parseConfig({ ...base, REQUEST_LOG: 'Both', REQUEST_LOG_DAYS: '7', LOG_BODIES: 'yes', METRICS_PUBLIC: '1', SHUTDOWN_GRACE_S: '0' }).ops).toEqual({
      requestLog: 'both',
      requestLogDays: 7,
      logBodies: true,
      metricsPublic: true,
      shutdownGraceMs: 0,
    });
    expect(() => parseConfig({ ...base, REQUEST_LOG: 'file', REQUEST_LOG_DAYS: '0', SHUTDOWN_GRACE_S: '-1', METRICS_PUBLIC: 'maybe' })).toThrow(
      /REQUEST_LOG="file"[\s\S]*REQUEST_LOG_DAYS="0"[\s\S]*METRICS_PUBLIC="maybe"[\s\S]*SHUTDOWN_GRACE_S="-1"/,
    );
  });
});
