// The compiled q2api binary for end-to-end tests: built once per test file into a temp dir (the very
// command of `bun run build`, about a second), then started on a free port from any working directory.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dir, '../..');

/** The command of `bun run build` from package.json, with the output path swapped: tests build what ships. */
function buildCommand(out: string): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { build: string } };
  const argv = pkg.scripts.build.split(/\s+/);
  if (argv[0] !== 'bun' || !argv.includes('--outfile')) throw new Error(`unexpected build script: ${pkg.scripts.build}`);
  argv[0] = process.execPath;
  argv[argv.indexOf('--outfile') + 1] = out;
  return argv;
}

/** Builds the binary into `dir`/q2api and returns its absolute path (Q2API_BIN skips the build). */
export async function buildBinary(dir = mkdtempSync(join(tmpdir(), 'q2api-bin-'))): Promise<string> {
  if (process.env.Q2API_BIN) return resolve(process.env.Q2API_BIN);
  const out = join(dir, 'q2api');
  const proc = Bun.spawn(buildCommand(out), { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' });
  if ((await proc.exited) !== 0) throw new Error(`build failed:\n${await new Response(proc.stderr).text()}`);
  return out;
}

export interface RunningBinary {
  url: string;
  proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>;
  /** ms from spawn to the first 200 of /healthz */
  startMs: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the binary in `cwd` on port 0 and waits for /healthz; the URL comes from its "listening" log line. */
export async function startBinary(bin: string, cwd: string, env: Record<string, string>, timeoutMs = 10_000): Promise<RunningBinary> {
  const started = performance.now();
  const proc = Bun.spawn([bin, 'serve'], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, HOST: '127.0.0.1', PORT: '0', DATA_DIR: join(cwd, 'data'), ...env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  let out = '';
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) out += new TextDecoder().decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const deadline = started + timeoutMs;
  let url = '';
  while (performance.now() < deadline) {
    url ||= /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1]?.replace('localhost', '127.0.0.1') ?? '';
    if (url) {
      const ok = await fetch(`${url}/healthz`).then((r) => r.status === 200, () => false);
      if (ok) break;
    }
    if (proc.exitCode !== null) throw new Error(`q2api exited with ${proc.exitCode}:\n${out}`);
    await Bun.sleep(2);
  }
  if (!url) {
    proc.kill();
    throw new Error(`q2api did not start within ${timeoutMs} ms:\n${out}`);
  }
  const startMs = performance.now() - started;
  return {
    url,
    proc,
    startMs,
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      await proc.exited;
    },
  };
}
