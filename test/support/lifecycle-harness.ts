// Builds the pieces of an AppContext (config, store, upstream, logger) around a manual clock, for
// deterministic tests of the token lifecycle and device login without a running gateway.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Env } from '../../src/config';
import { systemRandom, type AppContext, type Clock } from '../../src/context';
import { createLogger } from '../../src/log';
import type { Sleep } from '../../src/pool/lifecycle';
import { openStore } from '../../src/store';
import { createUpstream } from '../../src/upstream/index';
import { upstreamEnv } from './upstream-env';

export const TEST_MASTER_KEY = new Uint8Array(32).fill(0xa1);

export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

export function manualClock(startMs: number): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

/** A sleep that moves the manual clock instead of waiting; yields once so other tasks run. */
export function clockSleep(clock: ManualClock, onSleep?: (ms: number) => void | Promise<void>): Sleep {
  return async (ms, signal) => {
    if (signal?.aborted) throw signal.reason;
    clock.advance(ms);
    await onSleep?.(ms);
    await new Promise((r) => setTimeout(r, 0));
  };
}

export type Deps = Pick<AppContext, 'config' | 'log' | 'clock' | 'random' | 'store' | 'upstream'>;

export interface Harness extends Deps {
  logs: string[];
  close(): Promise<void>;
}

/** A context on a fresh SQLite file (or `databaseUrl`), its upstream pointed at `upstreamUrl`. */
export async function harness(opts: { upstreamUrl: string; clock: Clock; databaseUrl?: string; env?: Env }): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'q2api-lc-'));
  const config = parseConfig({
    DATA_DIR: dir,
    DATABASE_URL: opts.databaseUrl ?? `sqlite:${join(dir, 'db.sqlite3')}`,
    ...upstreamEnv(opts.upstreamUrl),
    ...opts.env,
  });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: dir, masterKey: TEST_MASTER_KEY, clock: () => opts.clock.now() });
  const logs: string[] = [];
  const log = createLogger('debug', (l) => logs.push(l), () => opts.clock.now());
  return {
    config,
    log,
    logs,
    clock: opts.clock,
    random: systemRandom,
    store,
    upstream: createUpstream(config),
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
