// Everything one fake instance remembers: config, token registry, scenario counters, the scenario
// queue, recorded requests, usage and stats. One object per startFakeUpstream(), no module state.

import { ConfigError, validateConfigPatch, type FakeConfig } from './config';
import { makeRng, randomUuid, type Rng } from './random';
import { Registry } from './registry';

export type Listener = 'q' | 'auth';

export interface QueueMatch {
  /** exact bearer (Q) or refresh token (auth) */
  token?: string;
  /** substring of the raw request body */
  contains?: string;
  /** exact request path (useful for auth entries: /token, /refreshToken, …) */
  path?: string;
}

export interface QueueEntryInput {
  scenario: string;
  args?: Record<string, unknown>;
  /** how many requests consume it; -1 = forever */
  times?: number;
  match?: QueueMatch;
  target?: 'q' | 'auth';
}

export interface QueueEntry {
  seq: number;
  target: Listener;
  scenario: string;
  args: Record<string, unknown>;
  remaining: number;
  match: QueueMatch;
}

export interface RecordedRequest {
  seq: number;
  /** epoch ms from the injected clock */
  time: number;
  listener: Listener;
  method: string;
  path: string;
  query: Record<string, string>;
  /** lower-case names; authorization reduced to `Bearer sha256:<12 hex>` */
  headers: Record<string, string>;
  /** parsed JSON, else the raw text, else null for an empty body */
  body: unknown;
  operation: string | null;
  scenario: string | null;
  scenarioArgs: Record<string, string> | null;
  tokenFingerprint: string | null;
  /** why the fake answered as it did, when not obvious (e.g. which strict rule failed) */
  note: string | null;
  status: number;
  bytesSent: number;
  durationMs: number;
  done: boolean;
  disconnectedEarly: boolean;
  disconnectedAt: number | null;
}

export interface FakeStats {
  requests: number;
  routes: Record<string, number>;
  operations: Record<string, number>;
  scenarios: Record<string, number>;
  statuses: Record<string, number>;
  /** Q requests per bearer fingerprint */
  tokens: Record<string, number>;
  refresh: {
    oidc: number;
    kiro: number;
    inFlight: number;
    peak: number;
    /** per refresh-token fingerprint: calls and concurrent peak (single-flight checks) */
    byToken: Record<string, { calls: number; peak: number }>;
  };
  streams: { started: number; inFlight: number; peak: number; disconnectedEarly: number };
}

function emptyStats(): FakeStats {
  return {
    requests: 0,
    routes: {},
    operations: {},
    scenarios: {},
    statuses: {},
    tokens: {},
    refresh: { oidc: 0, kiro: 0, inFlight: 0, peak: 0, byToken: {} },
    streams: { started: 0, inFlight: 0, peak: 0, disconnectedEarly: 0 },
  };
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

export function parseQueueEntry(raw: unknown): QueueEntryInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('queue entry must be an object');
  const e = raw as Record<string, unknown>;
  if (typeof e.scenario !== 'string' || e.scenario === '') throw new ConfigError('queue entry needs "scenario"');
  if (e.args !== undefined && (e.args === null || typeof e.args !== 'object' || Array.isArray(e.args))) {
    throw new ConfigError('queue entry "args" must be an object');
  }
  if (e.times !== undefined && (typeof e.times !== 'number' || !Number.isInteger(e.times) || (e.times < 1 && e.times !== -1))) {
    throw new ConfigError('queue entry "times" must be an integer >= 1, or -1');
  }
  if (e.target !== undefined && e.target !== 'q' && e.target !== 'auth') throw new ConfigError('queue entry "target" must be q|auth');
  const match: QueueMatch = {};
  if (e.match !== undefined) {
    if (e.match === null || typeof e.match !== 'object') throw new ConfigError('queue entry "match" must be an object');
    for (const [k, v] of Object.entries(e.match)) {
      if (k !== 'token' && k !== 'contains' && k !== 'path') throw new ConfigError(`unknown match key: ${k}`);
      if (typeof v !== 'string') throw new ConfigError(`match.${k} must be a string`);
      match[k] = v;
    }
  }
  return {
    scenario: e.scenario,
    args: (e.args as Record<string, unknown> | undefined) ?? {},
    times: (e.times as number | undefined) ?? 1,
    match,
    target: (e.target as 'q' | 'auth' | undefined) ?? 'q',
  };
}

export class FakeState {
  config: FakeConfig;
  registry: Registry;
  /** request ids, user codes: one seeded source per instance */
  rng: Rng;
  /** stateful scenario counters keyed by scenario id (§6.3) */
  counters = new Map<string, number>();
  queue: QueueEntry[] = [];
  recorded: RecordedRequest[] = [];
  stats: FakeStats = emptyStats();
  /** credits consumed per account (fed by meteringEvent), reported by GetUsageLimits */
  usage = new Map<string, number>();
  /** bumped by reset(): work started before a reset must not leak into the new state */
  epoch = 0;
  private seq = { queue: 0, request: 0 };
  private readonly refreshInFlight = new Map<string, number>();
  private liveRecords = new WeakSet<RecordedRequest>();

  constructor(private readonly initialConfig: FakeConfig) {
    this.config = { ...initialConfig };
    this.rng = makeRng(this.config.seed);
    this.registry = new Registry(() => this.config, this.rng);
  }

  now(): number {
    return this.config.now();
  }

  requestId(): string {
    return randomUuid(this.rng);
  }

  /** Back to the start-up state, including the start-up config, so tests stay independent. */
  reset(): void {
    this.config = { ...this.initialConfig };
    this.rng = makeRng(this.config.seed);
    this.registry = new Registry(() => this.config, this.rng);
    this.counters.clear();
    this.queue = [];
    this.recorded = [];
    this.stats = emptyStats();
    this.usage.clear();
    this.refreshInFlight.clear();
    this.seq = { queue: 0, request: 0 };
    this.liveRecords = new WeakSet();
    this.epoch++;
  }

  configure(patch: unknown): FakeConfig {
    this.config = { ...this.config, ...validateConfigPatch(patch) };
    return this.config;
  }

  enqueue(input: QueueEntryInput): QueueEntry {
    const entry: QueueEntry = {
      seq: ++this.seq.queue,
      target: input.target ?? 'q',
      scenario: input.scenario,
      args: input.args ?? {},
      remaining: input.times ?? 1,
      match: input.match ?? {},
    };
    this.queue.push(entry);
    return entry;
  }

  /** FIFO: the oldest matching entry is consumed (§6.3 rule 1). */
  takeQueued(target: Listener, probe: { token: string | null; text: string; path: string }): QueueEntry | null {
    const index = this.queue.findIndex(
      (e) =>
        e.target === target &&
        (e.match.token === undefined || e.match.token === probe.token) &&
        (e.match.contains === undefined || probe.text.includes(e.match.contains)) &&
        (e.match.path === undefined || e.match.path === probe.path),
    );
    if (index < 0) return null;
    const entry = this.queue[index]!;
    if (entry.remaining !== -1 && --entry.remaining === 0) this.queue.splice(index, 1);
    return entry;
  }

  /** Returns the counter value before incrementing: 0 on the first call for this id. */
  countUp(key: string): number {
    const n = this.counters.get(key) ?? 0;
    this.counters.set(key, n + 1);
    return n;
  }

  /** `epoch` is the one the request started in; credits of a pre-reset stream are dropped. */
  addUsage(account: string, credits: number, epoch: number): void {
    if (epoch !== this.epoch) return;
    this.usage.set(account, (this.usage.get(account) ?? 0) + credits);
  }

  startRecord(fields: Omit<RecordedRequest, 'seq' | 'status' | 'bytesSent' | 'durationMs' | 'done' | 'disconnectedEarly' | 'disconnectedAt' | 'operation' | 'scenario' | 'scenarioArgs' | 'tokenFingerprint' | 'note'>): RecordedRequest {
    const record: RecordedRequest = {
      seq: ++this.seq.request,
      ...fields,
      operation: null,
      scenario: null,
      scenarioArgs: null,
      tokenFingerprint: null,
      note: null,
      status: 0,
      bytesSent: 0,
      durationMs: 0,
      done: false,
      disconnectedEarly: false,
      disconnectedAt: null,
    };
    this.recorded.push(record);
    this.liveRecords.add(record);
    if (this.recorded.length > this.config.max_recorded_requests) this.recorded.splice(0, this.recorded.length - this.config.max_recorded_requests);
    this.stats.requests++;
    bump(this.stats.routes, `${fields.method} ${fields.path}`);
    return record;
  }

  finishRecord(record: RecordedRequest): void {
    if (!this.liveRecords.has(record)) return; // started before a reset
    bump(this.stats.statuses, String(record.status));
    if (record.operation) bump(this.stats.operations, record.operation);
    if (record.scenario) bump(this.stats.scenarios, record.scenario);
    if (record.listener === 'q' && record.tokenFingerprint) bump(this.stats.tokens, record.tokenFingerprint);
  }

  /** Brackets one streamed response; the returned function ends it. */
  streamStarted(): (disconnectedEarly: boolean) => void {
    const stats = this.stats;
    const s = stats.streams;
    s.started++;
    s.inFlight++;
    s.peak = Math.max(s.peak, s.inFlight);
    return (disconnectedEarly) => {
      if (stats !== this.stats) return; // a reset in between started a new epoch
      s.inFlight--;
      if (disconnectedEarly) s.disconnectedEarly++;
    };
  }

  /** Brackets one refresh call; the returned function ends it. Peaks expose missing single-flight. */
  refreshStarted(kind: 'oidc' | 'kiro', fingerprint: string): () => void {
    const r = this.stats.refresh;
    r[kind]++;
    r.inFlight++;
    r.peak = Math.max(r.peak, r.inFlight);
    const per = (r.byToken[fingerprint] ??= { calls: 0, peak: 0 });
    per.calls++;
    const now = (this.refreshInFlight.get(fingerprint) ?? 0) + 1;
    this.refreshInFlight.set(fingerprint, now);
    per.peak = Math.max(per.peak, now);
    const stats = this.stats;
    let ended = false;
    return () => {
      if (ended || stats !== this.stats) return; // a reset in between started a new epoch
      ended = true;
      r.inFlight--;
      this.refreshInFlight.set(fingerprint, (this.refreshInFlight.get(fingerprint) ?? 1) - 1);
    };
  }
}
