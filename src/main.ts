#!/usr/bin/env bun
// CLI entry: `q2api [serve]`, `q2api migrate`, `q2api accounts …`, `--help`, `--version`.
// Builds the one AppContext (config, logger, clock, store, pool) and hands it down.

import { existsSync, readFileSync } from 'node:fs';
import { ConfigError, isLoopbackHost, mergeEnv, parseConfig, parseDotenv, redactUrl, type Config } from './config';
import { createLogger, type Logger } from './log';
import { systemClock, systemRandom, type AppContext } from './context';
import { VERSION } from './version';
import { migrateOnly, openStore, resolveAdminKey, resolveMasterKey } from './store';
import { createApp, serveOptions } from './app';
import { createUpstream } from './upstream/index';
import { createAccountPool } from './pool/pool';
import { runAccountsCommand } from './cli/accounts';
import { runLoginCommand } from './cli/login';
import { createMetrics } from './obs/metrics';
import { createShutdown } from './obs/shutdown';
import { createOps } from './obs/index';

/** After the grace period, how long the streams just ended get to write their in-stream error. */
export const SHUTDOWN_CLOSE_MS = 2_000;

const HELP = `q2api ${VERSION} — Amazon Q Developer / Kiro accounts as an OpenAI- and Anthropic-compatible API

Usage:
  q2api [serve]                 start the server (PORT, HOST; SQLite in DATA_DIR unless DATABASE_URL is set)
  q2api migrate                 apply database migrations and exit
  q2api accounts list|add|import|enable|disable|delete|stats|reset-errors|retry-failed …
                                manage accounts in the configured database (q2api accounts --help)
  q2api login [--label L] [--start-url URL] [--region R]
                                add an account by device-code login (Builder ID or Identity Center)
  q2api --version | --help

Configuration comes from the environment and a .env file in the working directory;
see README.md for every variable.`;

function loadConfig(): Config {
  const dotenvPath = `${process.cwd()}/.env`;
  const dotenv = existsSync(dotenvPath) ? parseDotenv(readFileSync(dotenvPath, 'utf8')) : {};
  return parseConfig(mergeEnv(process.env, dotenv));
}

/** Everything a command needs, built once. */
export async function buildContext(config: Config, log: Logger): Promise<AppContext> {
  const master = await resolveMasterKey(config);
  if (master.generated) {
    log.warn('MASTER_KEY is not set: generated a key for sealing secrets. Fine for development; in production set MASTER_KEY and keep it safe', { path: master.path });
  }
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, masterKey: master.key, clock: () => systemClock.now() });
  const admin = await resolveAdminKey(config);
  const upstream = createUpstream(config);
  // The token lifecycle reports refresh outcomes to the metrics it finds in its deps.
  const metrics = createMetrics({ version: VERSION });
  const base = { config, log, clock: systemClock, random: systemRandom, store, upstream, metrics };
  const pool = createAccountPool(base);
  const shutdown = createShutdown();
  const ops = createOps({ config, log, clock: systemClock, metrics, shutdown, store });
  return { ...base, pool, ops, shutdown, adminKey: admin.key, adminKeyGenerated: admin.generated, adminKeyPath: admin.path, version: VERSION, startedAt: systemClock.now() };
}

async function serve(config: Config, log: Logger): Promise<void> {
  const ctx = await buildContext(config, log);
  const app = createApp(ctx);
  app.listen({ hostname: config.host, port: config.port, ...serveOptions(config) });
  ctx.pool.lifecycle.start(); // background refresh sweep; pool.close() stops it
  ctx.ops.start(); // usage / request-log flushes, request-log pruning, event-loop lag
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `http://${shownHost}:${app.server?.port ?? config.port}`;
  log.info('q2api listening', {
    url,
    version: VERSION,
    database: ctx.store.dialect,
    databaseUrl: config.databaseUrl ? redactUrl(config.databaseUrl) : undefined,
    console: config.enableConsole,
  });
  if (ctx.adminKeyGenerated && config.enableConsole) {
    // Printed once, on the run that generated it, so the operator can log in; never logged again.
    process.stdout.write(
      `\n  Admin key (generated, saved in ${ctx.adminKeyPath}):\n\n    ${ctx.adminKey}\n\n  Console: ${url}/\n\n`,
    );
  }
  if (config.openaiKeys.length === 0 && !isLoopbackHost(config.host)) {
    log.warn('OPENAI_KEYS is empty: /v1/* is open to anyone who can reach this address. Set OPENAI_KEYS or HOST=127.0.0.1', { host: config.host });
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      ctx.shutdown.expire(); // a second signal: no more waiting for open streams
      return;
    }
    stopping = true;
    const graceMs = config.ops.shutdownGraceMs;
    log.info('shutting down: draining', { signal, inFlight: ctx.ops.inFlight(), graceS: graceMs / 1000 });
    // No new connections; requests in flight carry on, new ones on open connections get a 503.
    ctx.shutdown.drain();
    void app.server?.stop(false);
    if (!(await ctx.ops.waitIdle(graceMs))) {
      log.warn('shutdown grace period over: ending the streams still open', { inFlight: ctx.ops.inFlight() });
      ctx.shutdown.expire();
      await ctx.ops.waitIdle(SHUTDOWN_CLOSE_MS);
    }
    try {
      await app.stop(true);
      ctx.ops.stop();
      // Refreshes in flight finish (each is one atomic write), then the counters still in memory.
      await ctx.pool.close();
      await ctx.ops.flush();
      await ctx.store.close();
    } catch (e) {
      log.error('error while shutting down', { error: e });
    }
    log.info('stopped', { signal });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

export async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`q2api ${VERSION}\n`);
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`q2api: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  try {
    switch (command) {
      case 'serve':
        await serve(config, log);
        return -1; // keep running
      case 'migrate': {
        const r = await migrateOnly({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
        process.stdout.write(`${r.dialect}: ${r.applied} migration(s) applied, ${r.total} in all\n`);
        return 0;
      }
      case 'login':
      case 'accounts': {
        const ctx = await buildContext(config, log);
        try {
          const io = { out: (s: string) => process.stdout.write(s), err: (s: string) => process.stderr.write(s) };
          return await (command === 'login' ? runLoginCommand(ctx, rest, io) : runAccountsCommand(ctx, rest, io));
        } finally {
          await ctx.pool.close();
          await ctx.store.close();
        }
      }
      default:
        process.stderr.write(`q2api: unknown command "${command}"\n\n${HELP}\n`);
        return 2;
    }
  } catch (e) {
    process.stderr.write(`q2api: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/**
 * Settings the runtime reads only when the process starts, so `serve` re-executes itself once with
 * them set, in place (same pid, so signals and supervisors are unaffected). A value already in the
 * environment is kept.
 * - BUN_CONFIG_MAX_HTTP_REQUESTS: Bun's fetch runs at most 256 requests at once per process, and
 *   every upstream stream is a fetch: a busy gateway would queue streams behind that limit.
 * - MIMALLOC_PURGE_DELAY: Bun's allocator hands freed memory back to the system after 10 ms, so each
 *   large request faulted its megabytes of buffers in again (~400 page faults for a Claude Code–sized
 *   request, ~0.4 ms of its CPU; bench/README.md). Keeping freed memory for a second costs at most
 *   what the last second of requests used.
 */
export const RUNTIME_ENV: Readonly<Record<string, string>> = {
  BUN_CONFIG_MAX_HTTP_REQUESTS: '65535',
  MIMALLOC_PURGE_DELAY: '1000',
};

function ensureRuntimeSettings(args: string[]): void {
  const command = args[0] ?? 'serve';
  const missing = Object.entries(RUNTIME_ENV).filter(([name]) => !process.env[name]);
  if (command !== 'serve' || missing.length === 0) return;
  const execve = (process as { execve?: (file: string, argv: string[], env: Record<string, string | undefined>) => never }).execve;
  if (typeof execve !== 'function') return;
  // A compiled binary's argv[1] is its embedded entry (/$bunfs/…), which it must not get back as an argument.
  const compiled = (process.argv[1] ?? '').startsWith('/$bunfs/');
  const argv = compiled ? [process.execPath, ...args] : [process.execPath, process.argv[1]!, ...args];
  execve(process.execPath, argv, { ...process.env, ...Object.fromEntries(missing) });
}

if (import.meta.main) {
  ensureRuntimeSettings(process.argv.slice(2));
  const code = await main(process.argv.slice(2));
  if (code >= 0) process.exit(code);
}
