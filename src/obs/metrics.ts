// Every Prometheus registry of a gateway in one `Metrics` object (kept in the AppContext, never in
// module state): chat requests, in-flight streams, TTFB and duration, upstream errors, refreshes,
// accounts by state, event-loop lag, and the process's own CPU and memory.

import { Counter, Gauge, Histogram, type Metric, renderAll } from './prometheus';

export type RefreshOutcome = 'success' | 'failed' | 'invalid_grant';

/** What the token lifecycle reports (src/pool/lifecycle.ts); Metrics implements it. */
export interface RefreshObserver {
  refreshOutcome(outcome: RefreshOutcome): void;
}

/** Seconds. From a fast local upstream (ms) up to Q's slowest first tokens and longest answers (minutes). */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
/** How often the event-loop lag timer fires: often enough to catch a 100 ms stall, cheap at 2/s. */
export const LAG_SAMPLE_MS = 500;

export interface Metrics extends RefreshObserver {
  requests: Counter;
  requestsInFlight: Gauge;
  streamsInFlight: Gauge;
  ttfb: Histogram;
  upstreamTtfb: Histogram;
  memoBytes: Gauge;
  memoConversations: Gauge;
  memoLookups: Counter;
  duration: Histogram;
  upstreamErrors: Counter;
  refreshes: Counter;
  accounts: Gauge;
  eventLoopLag: Gauge;
  eventLoopLagMax: Gauge;
  requestLogDropped: Counter;
  usageFlushFailures: Counter;
  /** starts the event-loop lag timer (unref'd: it never keeps a process alive) */
  start(): void;
  stop(): void;
  /** the /metrics body */
  render(): string;
}

export interface MetricsOptions {
  version: string;
  /** monotonic milliseconds for the lag timer (default performance.now) */
  monotonic?: () => number;
}

export function createMetrics(opts: MetricsOptions): Metrics {
  const monotonic = opts.monotonic ?? (() => performance.now());
  const requests = new Counter('q2api_requests_total', 'Chat requests by route, HTTP status and upstream model.', ['route', 'status', 'model']);
  const requestsInFlight = new Gauge('q2api_requests_in_flight', 'Chat requests being served (streaming or not).', []);
  const streamsInFlight = new Gauge('q2api_streams_in_flight', 'Streaming responses open to clients.', []);
  const ttfb = new Histogram('q2api_ttfb_seconds', 'Time from request to the first response content, per route.', ['route'], LATENCY_BUCKETS_S);
  const upstreamTtfb = new Histogram(
    'q2api_upstream_ttfb_seconds',
    'Time from the committed upstream call to its first content event, per route (the upstream share of q2api_ttfb_seconds).',
    ['route'],
    LATENCY_BUCKETS_S,
  );
  const memoBytes = new Gauge('q2api_history_memo_bytes', 'Estimated memory held by the conversation memo (HISTORY_CACHE_MB bounds it).', []);
  const memoConversations = new Gauge('q2api_history_memo_conversations', 'Conversations the memo remembers.', []);
  const memoLookups = new Counter('q2api_history_memo_lookups_total', 'Requests that found their conversation in the memo (hit) or not (miss).', ['result']);
  const duration = new Histogram('q2api_request_duration_seconds', 'Time from request to the end of the response, per route.', ['route'], LATENCY_BUCKETS_S);
  const upstreamErrors = new Counter('q2api_upstream_errors_total', 'Failed upstream attempts and broken upstream streams by error class.', ['kind']);
  const refreshes = new Counter('q2api_token_refreshes_total', 'Access-token refreshes by outcome.', ['outcome']);
  const accounts = new Gauge('q2api_accounts', 'Accounts by state (active, cooling_down, disabled) and disabled reason.', ['state', 'reason']);
  const eventLoopLag = new Gauge('q2api_event_loop_lag_seconds', 'Event-loop lag of the last timer sample.', []);
  const eventLoopLagMax = new Gauge('q2api_event_loop_lag_max_seconds', 'Largest event-loop lag since the previous scrape.', []);
  const requestLogDropped = new Counter('q2api_request_log_dropped_total', 'Request-log rows dropped because the database could not take them.', []);
  const usageFlushFailures = new Counter('q2api_usage_flush_failures_total', 'Failed writes of usage counters (they are retried).', []);
  const cpu = new Counter('process_cpu_seconds_total', 'User and system CPU time of this process.', []);
  const rss = new Gauge('process_resident_memory_bytes', 'Resident memory of this process.', []);
  const info = new Gauge('q2api_build_info', 'Version of this gateway (value is always 1).', ['version']);
  info.set({ version: opts.version }, 1);

  let timer: ReturnType<typeof setInterval> | undefined;
  let expected = 0;
  let maxLag = 0;

  // The metrics callers update by name; the process ones are only read at scrape time.
  const named = {
    requests,
    requestsInFlight,
    streamsInFlight,
    ttfb,
    upstreamTtfb,
    memoBytes,
    memoConversations,
    memoLookups,
    duration,
    upstreamErrors,
    refreshes,
    accounts,
    eventLoopLag,
    eventLoopLagMax,
    requestLogDropped,
    usageFlushFailures,
  };
  const all: Metric[] = [...Object.values(named), cpu, rss, info];

  return {
    ...named,
    refreshOutcome(outcome) {
      refreshes.inc({ outcome });
    },
    start() {
      if (timer !== undefined) return;
      expected = monotonic() + LAG_SAMPLE_MS;
      timer = setInterval(() => {
        const now = monotonic();
        // A timer can only be late, never early: the lateness is the time the loop was busy elsewhere.
        const lag = Math.max(0, now - expected) / 1000;
        expected = now + LAG_SAMPLE_MS;
        eventLoopLag.set({}, lag);
        if (lag > maxLag) maxLag = lag;
      }, LAG_SAMPLE_MS);
      (timer as { unref?: () => void }).unref?.();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    render() {
      const usage = process.cpuUsage();
      cpu.setTotal({}, (usage.user + usage.system) / 1e6);
      rss.set({}, process.memoryUsage.rss());
      eventLoopLagMax.set({}, maxLag);
      maxLag = 0;
      return renderAll(all);
    },
  };
}
