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
  const base = { config, log, clock: systemClock, random: systemRandom, store, upstream };
  const pool = createAccountPool(base);
  return { ...base, pool, adminKey: admin.key, adminKeyGenerated: admin.generated, adminKeyPath: admin.path, version: VERSION, startedAt: systemClock.now() };
}

async function serve(config: Config, log: Logger): Promise<void> {
  const ctx = await buildContext(config, log);
  const app = createApp(ctx);
  app.listen({ hostname: config.host, port: config.port, ...serveOptions(config) });
  ctx.pool.lifecycle.start(); // background refresh sweep; pool.close() stops it
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
    if (stopping) return;
    stopping = true;
    log.info('shutting down', { signal });
    await app.stop();
    await ctx.pool.close();
    await ctx.store.close();
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

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  if (code >= 0) process.exit(code);
}
