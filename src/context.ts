// The one context object built in main.ts and passed down: config, logger, clock, randomness,
// store. No module keeps state of its own, so two apps can run side by side in one process.

import type { Config } from './config';
import type { Logger } from './log';
import type { Store } from './store';
import type { Upstream } from './upstream/index';
import type { AccountPool } from './pool/pool';
import type { Metrics, Ops, Shutdown } from './obs/index';

export interface Clock {
  /** milliseconds since the Unix epoch */
  now(): number;
}

export interface Random {
  uuid(): string;
  bytes(n: number): Uint8Array;
  /** uniform in [0, 1) */
  float(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export const systemRandom: Random = {
  uuid: () => crypto.randomUUID(),
  bytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
  float: () => crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32,
};

export interface AppContext {
  config: Config;
  log: Logger;
  clock: Clock;
  random: Random;
  store: Store;
  upstream: Upstream;
  pool: AccountPool;
  /** every Prometheus registry of this process (/metrics); the token lifecycle reports refreshes here */
  metrics: Metrics;
  /** request trackers, usage counters, request log, overview ring (src/obs) */
  ops: Ops;
  /** SIGTERM: draining, then the end of the grace period that open streams watch */
  shutdown: Shutdown;
  /** the admin key in force (from ADMIN_KEY or generated into DATA_DIR) */
  adminKey: string;
  /** true when the admin key was generated on this start (it is printed once) */
  adminKeyGenerated?: boolean;
  adminKeyPath?: string;
  version: string;
  /** when this process started serving, ms since the epoch */
  startedAt: number;
}
