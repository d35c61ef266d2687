// The server as an operator meets it: `bun src/main.ts` from a fresh directory, health, probes,
// start-up refusals, and the admin surface switched off.

import { afterAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startGateway } from '../support/gateway';

const MAIN = resolve(import.meta.dir, '../../src/main.ts');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir() {
  const d = mkdtempSync(join(tmpdir(), 'q2api-srv-'));
  dirs.push(d);
  return d;
}

/** Env for a child process: the parent's PATH only, so no developer .env or variables leak in. */
function childEnv(extra: Record<string, string>) {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...extra };
}

async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}

/** Polls /healthz for up to 5 s (a server that never answers fails the test's own assertions). */
async function waitForHealth(port: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/healthz`);
      return;
    } catch {
      await Bun.sleep(20);
    }
  }
}

describe('q2api serve', () => {
  test('answers /healthz within a second of starting, generates and prints the admin key once, keeps key files private', async () => {
    const cwd = tempDir();
    const port = await freePort();
    const started = performance.now();
    const proc = Bun.spawn([process.execPath, MAIN], { cwd, env: childEnv({ PORT: String(port), HOST: '127.0.0.1' }), stdout: 'pipe', stderr: 'pipe' });
    let health: Response | undefined;
    while (performance.now() - started < 5000) {
      try {
        health = await fetch(`http://127.0.0.1:${port}/healthz`);
        break;
      } catch {
        await Bun.sleep(20);
      }
    }
    const elapsed = performance.now() - started;
    expect(health?.status).toBe(200);
    const body = (await health!.json()) as any;
    expect(body).toMatchObject({ status: 'ok', database: { dialect: 'sqlite', reachable: true }, accounts: { enabled: 0 } });
    expect(typeof body.version).toBe('string');
    expect(elapsed).toBeLessThan(1000);
    expect((await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' })).status).toBe(200);
    proc.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    const out = await new Response(proc.stdout).text();
    const key = readFileSync(join(cwd, 'data/admin.key'), 'utf8').trim();
    expect(out).toContain(key);
    expect(statSync(join(cwd, 'data/admin.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(cwd, 'data/master.key')).mode & 0o777).toBe(0o600);
    expect(out).toContain('MASTER_KEY is not set');

    // second start: same key, not printed again
    const again = Bun.spawn([process.execPath, MAIN], { cwd, env: childEnv({ PORT: String(port), HOST: '127.0.0.1' }), stdout: 'pipe' });
    await waitForHealth(port);
    again.kill('SIGTERM');
    await again.exited;
    expect(await new Response(again.stdout).text()).not.toContain(key);
  });

  test('serve re-executes itself once with the runtime settings it needs, keeping values already set', async () => {
    const environOf = async (extra: Record<string, string>) => {
      const port = await freePort();
      const proc = Bun.spawn([process.execPath, MAIN, 'serve'], { cwd: tempDir(), env: childEnv({ PORT: String(port), HOST: '127.0.0.1', ...extra }), stdout: 'ignore', stderr: 'ignore' });
      try {
        await waitForHealth(port);
        // In place: the same pid now runs with the new environment.
        return readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0');
      } finally {
        proc.kill('SIGTERM');
        await proc.exited;
      }
    };
    const defaults = await environOf({});
    expect(defaults).toContain('BUN_CONFIG_MAX_HTTP_REQUESTS=65535');
    expect(defaults).toContain('MIMALLOC_PURGE_DELAY=1000');
    const own = await environOf({ MIMALLOC_PURGE_DELAY: '10' });
    expect(own).toContain('MIMALLOC_PURGE_DELAY=10');
    expect(own).toContain('BUN_CONFIG_MAX_HTTP_REQUESTS=65535');
  });

  test('a bad variable stops start-up, naming it', async () => {
    const proc = Bun.spawn([process.execPath, MAIN], { cwd: tempDir(), env: childEnv({ MAX_ERROR_COUNT: 'abc' }), stderr: 'pipe' });
    expect(await proc.exited).toBe(2);
    expect(await new Response(proc.stderr).text()).toContain('MAX_ERROR_COUNT="abc"');
  });

  test('a .env file in the working directory is honoured, the environment wins', async () => {
    const cwd = tempDir();
    await Bun.write(join(cwd, '.env'), 'MAX_ERROR_COUNT=abc\nLOG_LEVEL=loud\n');
    const proc = Bun.spawn([process.execPath, MAIN], { cwd, env: childEnv({ LOG_LEVEL: 'info' }), stderr: 'pipe' });
    expect(await proc.exited).toBe(2);
    const err = await new Response(proc.stderr).text();
    expect(err).toContain('MAX_ERROR_COUNT');
    expect(err).not.toContain('LOG_LEVEL');
  });

  test('the wrong MASTER_KEY refuses to open an existing database', async () => {
    const cwd = tempDir();
    const run = (key: string) =>
      Bun.spawn([process.execPath, MAIN, 'accounts', 'list'], { cwd, env: childEnv({ MASTER_KEY: key, ADMIN_KEY: 'admin-key-123456' }), stderr: 'pipe', stdout: 'pipe' });
    const first = run('11'.repeat(32));
    expect(await first.exited).toBe(0);
    const second = run('22'.repeat(32));
    expect(await second.exited).toBe(1);
    expect(await new Response(second.stderr).text()).toContain('MASTER_KEY');
  });

  test('--version and --help', async () => {
    const v = Bun.spawn([process.execPath, MAIN, '--version'], { stdout: 'pipe' });
    expect(await v.exited).toBe(0);
    expect(await new Response(v.stdout).text()).toMatch(/^q2api \d+\.\d+\.\d+/);
    const h = Bun.spawn([process.execPath, MAIN, '--help'], { stdout: 'pipe' });
    expect(await h.exited).toBe(0);
    expect(await new Response(h.stdout).text()).toContain('q2api accounts');
  });
});

describe('ENABLE_CONSOLE=false', () => {
  test('removes every /v2 route (404 even with the right key); health stays', async () => {
    const gw = await startGateway({ env: { ENABLE_CONSOLE: 'false' } });
    try {
      for (const [method, path] of [['GET', '/v2/accounts'], ['POST', '/v2/accounts'], ['GET', '/v2/accounts/x']] as const) {
        const res = await fetch(gw.url + path, { method, headers: gw.adminHeaders, body: method === 'POST' ? '{}' : undefined });
        expect(res.status).toBe(404);
      }
      expect((await fetch(gw.url + '/healthz')).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});

describe('/healthz', () => {
  test('reports enabled accounts', async () => {
    const gw = await startGateway();
    try {
      await gw.admin('POST', '/v2/accounts', { refreshToken: 'health-rt-1' });
      await gw.admin('POST', '/v2/accounts', { refreshToken: 'health-rt-2', enabled: false });
      const body = (await (await fetch(gw.url + '/healthz')).json()) as any;
      expect(body.accounts.enabled).toBe(1);
    } finally {
      await gw.stop();
    }
  });
});
