// Operations of one gateway process (issue 8), built once in main.ts and kept in the AppContext:
// per-request trackers for the chat routes, the usage recorder, the request log, the overview ring,
// and the timers that flush and prune them. The Prometheus registries are ctx.metrics.

import type { Config } from '../config';
import type { Clock } from '../context';
import type { Logger } from '../log';
import type { Store } from '../store';
import { createClientKeyLabeler } from './client-key';
import { createMetrics, type Metrics } from './metrics';
import { createOverviewRing, type OverviewRing } from './overview';
import { createRequestLog, type RequestLog } from './request-log';
import { createShutdown, type Shutdown } from './shutdown';
import { type RequestStart, type RequestTracker, startTracker } from './tracker';
import { createUsageRecorder, type UsageRecorder } from './usage-recorder';

export type { Metrics } from './metrics';
export type { Shutdown } from './shutdown';
export type { RequestTracker } from './tracker';

/** Usage counters reach the database this often: a crash loses at most this much usage. */
export const USAGE_FLUSH_MS = 5_000;
/** Request-log rows reach the database this often (REQUEST_LOG=db|both). */
export const REQUEST_LOG_FLUSH_MS = 1_000;
/** Old request-log rows are deleted this often (and once at start). */
export const REQUEST_LOG_PRUNE_MS = 60 * 60_000;
/** How often waitIdle looks at the in-flight count. */
const IDLE_POLL_MS = 25;

export interface Ops {
  overview: OverviewRing;
  usage: UsageRecorder;
  requestLog: RequestLog;
  /** a tracker for one chat request (the client key is labelled from its headers) */
  begin(start: Omit<RequestStart, 'clientKey'> & { headers: Headers }): RequestTracker;
  /** chat requests being served now */
  inFlight(): number;
  /** resolves true once nothing is in flight, false when `ms` passed first */
  waitIdle(ms: number): Promise<boolean>;
  /** starts the flush / prune / lag timers (all unref'd) */
  start(): void;
  stop(): void;
  /** writes usage and request-log rows still in memory */
  flush(): Promise<void>;
}

export interface OpsDeps {
  config: Pick<Config, 'openaiKeys' | 'ops'>;
  log: Logger;
  clock: Clock;
  metrics: Metrics;
  shutdown: Shutdown;
  /** absent for detached ops (contexts assembled by hand in tests): nothing is written anywhere */
  store?: Pick<Store, 'usage' | 'requestLog'>;
  monotonic?: () => number;
}

const NO_STORE: Pick<Store, 'usage' | 'requestLog'> = {
  usage: { add: async () => {}, query: async () => [], accountStates: async () => [] },
  requestLog: { insert: async () => {}, list: async () => [], prune: async () => 0 },
};

export function createOps(deps: OpsDeps): Ops {
  const { metrics, clock, log } = deps;
  const store = deps.store ?? NO_STORE;
  const monotonic = deps.monotonic ?? (() => performance.now());
  const overview = createOverviewRing(clock);
  const usage = createUsageRecorder({ repo: store.usage, log, metrics });
  const requestLog = createRequestLog({
    mode: deps.store ? deps.config.ops.requestLog : 'off',
    retentionDays: deps.config.ops.requestLogDays,
    log,
    repo: store.requestLog,
    metrics,
    clock,
  });
  const labelKey = createClientKeyLabeler(deps.config.openaiKeys);
  const trackerDeps = { metrics, overview, usage, requestLog, shutdown: deps.shutdown, clock, monotonic, logBodies: deps.config.ops.logBodies };
  const timers: Array<ReturnType<typeof setInterval>> = [];
  const every = (ms: number, fn: () => Promise<void>) => {
    const t = setInterval(() => void fn().catch((e: unknown) => log.warn('background task failed', { error: e })), ms);
    (t as { unref?: () => void }).unref?.();
    timers.push(t);
  };
  const inFlight = () => metrics.requestsInFlight.value();

  return {
    overview,
    usage,
    requestLog,
    begin(start) {
      return startTracker(trackerDeps, { id: start.id, route: start.route, dialect: start.dialect, clientKey: labelKey(start.headers) });
    },
    inFlight,
    async waitIdle(ms) {
      const until = monotonic() + ms;
      while (inFlight() > 0) {
        if (monotonic() >= until) return false;
        await Bun.sleep(Math.min(IDLE_POLL_MS, Math.max(1, until - monotonic())));
      }
      return true;
    },
    start() {
      if (timers.length > 0) return;
      metrics.start();
      every(USAGE_FLUSH_MS, () => usage.flush());
      if (deps.store && deps.config.ops.requestLog !== 'off' && deps.config.ops.requestLog !== 'stdout') {
        every(REQUEST_LOG_FLUSH_MS, () => requestLog.flush());
        every(REQUEST_LOG_PRUNE_MS, () => requestLog.prune());
        void requestLog.prune();
      }
    },
    stop() {
      metrics.stop();
      for (const t of timers.splice(0)) clearInterval(t);
    },
    async flush() {
      await Promise.all([usage.flush(), requestLog.flush()]);
    },
  };
}

/** Ops for a context assembled by hand (route unit tests): counts in memory, writes nowhere. */
export function detachedOps(ctx: { config?: Partial<Pick<Config, 'openaiKeys' | 'ops'>>; log: Logger; clock?: Clock }): Ops {
  return createOps({
    config: {
      openaiKeys: ctx.config?.openaiKeys ?? [],
      ops: ctx.config?.ops ?? { requestLog: 'off', requestLogDays: 1, logBodies: false, metricsPublic: false, shutdownGraceMs: 0 },
    },
    log: ctx.log,
    clock: ctx.clock ?? { now: () => Date.now() },
    metrics: createMetrics({ version: 'detached' }),
    shutdown: createShutdown(),
  });
}
