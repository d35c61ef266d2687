// Gateways for the fault and bad-input suites. `inProcessGateway`: the real context and app (engine,
// pool, store on in-memory SQLite, upstream client) answering through app.handle — no listener, so a
// table of dozens of fresh gateways stays cheap (a dev-mode Bun.serve holds an inotify instance).
// `spawnGateway`: `bun src/main.ts serve` as a child process, for RSS, SIGKILL and SIGTERM tests.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseConfig, type Env } from '../../src/config';
import { createLogger } from '../../src/log';
import { buildContext } from '../../src/main';
import { createApp } from '../../src/app';
import type { AppContext } from '../../src/context';
import { adminCall } from '../support/gateway';
import { upstreamEnv } from '../support/upstream-env';

export const ROOT = resolve(import.meta.dir, '../..');
export const ADMIN_KEY = 'faults-admin-key-0123456789';
export const MASTER_KEY = 'c3'.repeat(32);

export interface InProcessGateway {
  ctx: AppContext;
  /** fetch-like: a URL path (or full URL) and init, answered by the app in this process */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  stop(): Promise<void>;
}

export async function inProcessGateway(opts: { upstreamUrl?: string; env?: Env; databaseUrl?: string } = {}): Promise<InProcessGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'q2api-faults-'));
  const config = parseConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: opts.databaseUrl ?? 'sqlite::memory:',
    ADMIN_KEY,
    MASTER_KEY,
    LOG_LEVEL: 'error',
    REQUEST_LOG: 'off',
    ...(opts.upstreamUrl ? upstreamEnv(opts.upstreamUrl) : {}),
    ...opts.env,
  });
  const ctx = await buildContext(config, createLogger(config.logLevel, () => {}));
  const app = createApp(ctx);
  return {
    ctx,
    fetch: (path, init) => app.handle(new Request(path.startsWith('http') ? path : `http://localhost${path}`, init)),
    async stop() {
      await ctx.pool.close();
      await ctx.store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', development: false, fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

export async function waitForUrl(url: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url);
      return;
    } catch {
      if (Date.now() > until) throw new Error(`${url} did not come up`);
      await Bun.sleep(20);
    }
  }
}

export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

export interface SpawnedGateway {
  url: string;
  proc: ReturnType<typeof Bun.spawn>;
  dataDir: string;
  /** stdout lines so far (JSON log lines) */
  output(): string[];
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
  kill(signal?: NodeJS.Signals | number): Promise<number>;
  cleanup(): void;
}

/** `bun src/main.ts serve` on a free port, SQLite in a temp DATA_DIR unless DATABASE_URL is given. */
export async function spawnGateway(env: Record<string, string> = {}): Promise<SpawnedGateway> {
  const dataDir = mkdtempSync(join(tmpdir(), 'q2api-spawn-'));
  const port = await freePort();
  const proc = Bun.spawn([process.execPath, join(ROOT, 'src/main.ts'), 'serve'], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: join(dataDir, 'data'),
      ADMIN_KEY,
      MASTER_KEY,
      ADMIN_MAX_FAILURES: '100000',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdout: 'pipe',
    stderr: 'inherit',
  });
  const lines: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
    }
  })();
  const url = `http://127.0.0.1:${port}`;
  await waitForUrl(`${url}/healthz`);
  return {
    url,
    proc,
    dataDir,
    output: () => lines,
    admin: (method, path, body) => adminCall(url, ADMIN_KEY, method, path, body),
    async kill(signal = 'SIGTERM') {
      proc.kill(signal);
      return proc.exited;
    },
    cleanup() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
