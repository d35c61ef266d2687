// A PostgreSQL server of the test's own (never the shared test servers), started the way
// scripts/databases.sh's start_pg does: initdb + pg_ctl as the postgres user, loopback only, no
// fsync. The test stops it (`pg_ctl stop -m fast`) and starts it again on the same port.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './harness';

export interface OwnPostgres {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Why this machine cannot run its own PostgreSQL, or null when it can. */
export function ownPostgresMissing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (runuser -u postgres)';
  try {
    if (pgBin() === null) return 'no /usr/lib/postgresql/*/bin';
  } catch {
    return 'no /usr/lib/postgresql';
  }
  return null;
}

function pgBin(): string | null {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
  const v = versions.at(-1);
  return v === undefined ? null : `/usr/lib/postgresql/${v}/bin`;
}

async function run(cmd: string[]): Promise<void> {
  const p = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'pipe' });
  const code = await p.exited;
  if (code !== 0) throw new Error(`${cmd.join(' ')} failed (${code}): ${await new Response(p.stderr).text()}`);
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const bin = pgBin()!;
  const dir = mkdtempSync(join(tmpdir(), 'q2api-ownpg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const sock = join(dir, 'run');
  await run(['install', '-d', '-o', 'postgres', '-g', 'postgres', '-m', '700', data]);
  await run(['install', '-d', '-o', 'postgres', '-g', 'postgres', sock]);
  await run(['runuser', '-u', 'postgres', '--', `${bin}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const opts = `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off`;
  const start = () => run(['runuser', '-u', 'postgres', '--', `${bin}/pg_ctl`, '-D', data, '-l', join(sock, 'pg.log'), '-w', '-t', '30', '-o', opts, 'start']);
  const stop = () => run(['runuser', '-u', 'postgres', '--', `${bin}/pg_ctl`, '-D', data, '-m', 'fast', '-w', 'stop']);
  await start();
  await run(['runuser', '-u', 'postgres', '--', `${bin}/createdb`, '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'q2api_outage']);
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/q2api_outage`,
    async stop() {
      await stop();
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async destroy() {
      if (running) await stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
