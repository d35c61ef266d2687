// Shared by the benchmarks: free ports, waiting for a server, a process's CPU time and RSS from
// /proc, percentiles, and starting the fake upstream and a gateway as separate processes (so the
// gateway's CPU and RSS are its own; the bench process is only the load generator).

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { upstreamEnv } from '../test/support/upstream-env';

export const ROOT = resolve(import.meta.dir, '..');
/** Linux USER_HZ: /proc/<pid>/stat times are in 1/100 s. */
export const CLK_TCK = 100;
export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789';

export async function freePort(): Promise<number> {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', development: false, fetch: () => new Response() });
  const p = s.port!;
  s.stop(true);
  return p;
}

export async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await Bun.sleep(20);
    }
  }
  throw new Error(`${url} did not come up`);
}

/** Per process: the last schedstat reading of each thread, and the time of threads seen to end. */
const threadTimes = new Map<number, { live: Map<string, number>; ended: number }>();

/**
 * CPU time of a process, all threads, in ms. From each thread's schedstat (nanoseconds) when the
 * kernel keeps it: utime + stime only tick every 10 ms, too coarse for a per-request figure. A thread
 * that ends keeps the time it had at the previous reading (call often: the runtime's worker threads
 * come and go), so readings only grow.
 */
export function cpuMs(pid: number): number {
  try {
    let t = threadTimes.get(pid);
    if (t === undefined) threadTimes.set(pid, (t = { live: new Map(), ended: 0 }));
    const seen = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]; // starttime: tells a reused tid apart
        seen.set(`${tid}:${start}`, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
      } catch {
        // the thread ended while being read
      }
    }
    for (const [key, ns] of t.live) if (!seen.has(key)) t.ended += ns;
    t.live = seen;
    let ns = t.ended;
    for (const v of seen.values()) ns += v;
    if (ns > 0) return ns / 1e6;
  } catch {
    // no schedstat: fall back to the tick counters
  }
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime + stime
}

export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]);
}

export const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

export interface Proc {
  url: string;
  proc: ReturnType<typeof Bun.spawn>;
}

/** `bun test/fake-upstream/main.ts --quiet` on a free port. */
export async function spawnFake(): Promise<Proc> {
  const port = await freePort();
  const proc = Bun.spawn([process.execPath, join(ROOT, 'test/fake-upstream/main.ts'), '--port', String(port), '--quiet'], {
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/__fake/stats`);
  return { url, proc };
}

/** One line of the gateway's request log (REQUEST_LOG=stdout), the fields the benches read. */
export interface RequestLine {
  route: string;
  status: number;
  ttfb_ms: number | null;
  upstream_ttfb_ms?: number;
}

/**
 * `bun src/main.ts serve` against `fakeUrl`, SQLite in a temp DATA_DIR; `cleanup` removes it. With
 * `requestLog`, the gateway logs one line per chat request (at info) and `requests` collects them.
 */
export async function spawnGateway(
  fakeUrl: string,
  env: Record<string, string> = {},
  opts: { cpus?: string; requestLog?: boolean } = {},
): Promise<Proc & { cleanup(): void; requests: RequestLine[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'q2api-bench-'));
  const port = await freePort();
  // `cpus`: run the gateway on these CPUs only (taskset), so that its latency is its own work and
  // not the scheduler sharing cores between the gateway, the fake and the load generator.
  const pin = opts.cpus === undefined ? [] : ['taskset', '-c', opts.cpus];
  const proc = Bun.spawn([...pin, process.execPath, join(ROOT, 'src/main.ts'), 'serve'], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: join(dir, 'data'),
      ADMIN_KEY: BENCH_ADMIN_KEY,
      MASTER_KEY: 'ab'.repeat(32),
      LOG_LEVEL: opts.requestLog ? 'info' : 'warn',
      REQUEST_LOG: 'stdout',
      ...upstreamEnv(fakeUrl),
      ADMIN_MAX_FAILURES: '1000',
      ...env,
    },
    stdout: opts.requestLog ? 'pipe' : 'ignore',
    stderr: 'inherit',
  });
  const requests: RequestLine[] = [];
  if (opts.requestLog) void collectRequestLines(proc.stdout as ReadableStream<Uint8Array>, requests);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/healthz`);
  return { url, proc, requests, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** bench/passthrough.ts (the floor: one extra HTTP hop, no work) in front of `fakeUrl`. */
export async function spawnPassthrough(fakeUrl: string, opts: { cpus?: string } = {}): Promise<Proc> {
  const port = await freePort();
  const pin = opts.cpus === undefined ? [] : ['taskset', '-c', opts.cpus];
  const proc = Bun.spawn([...pin, process.execPath, join(ROOT, 'bench/passthrough.ts')], {
    // As the gateway: more than Bun's 256 concurrent fetches (see "load" in bench/README.md).
    env: { PATH: process.env.PATH ?? '', PORT: String(port), Q_ENDPOINT: fakeUrl, BUN_CONFIG_MAX_HTTP_REQUESTS: '65535' },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(url);
  return { url, proc };
}

async function collectRequestLines(stdout: ReadableStream<Uint8Array>, into: RequestLine[]): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.includes('"msg":"request"')) continue;
      try {
        into.push(JSON.parse(line) as RequestLine);
      } catch {
        // not a JSON line
      }
    }
  }
}

/** `n` social accounts with long-lived tokens, known to both the fake and the gateway. */
export async function addAccounts(gwUrl: string, fakeUrl: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const accessToken = `bench-at-${i}`;
    await fetch(`${fakeUrl}/__fake/tokens`, {
      method: 'POST',
      body: JSON.stringify({ accessToken, refreshToken: `bench-rt-${i}`, expiresIn: 86_400, authMethod: 'social' }),
    });
    const r = await fetch(`${gwUrl}/v2/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BENCH_ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: `bench-rt-${i}`, accessToken, authMethod: 'social', expiresAt: new Date(Date.now() + 86_400_000).toISOString() }),
    });
    if (!r.ok) throw new Error(`adding account: ${r.status} ${await r.text()}`);
  }
}

/** A streaming /v1/messages request to the gateway. */
export function viaGateway(gwUrl: string, prompt: string): Promise<Response> {
  return fetch(`${gwUrl}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: prompt }] }),
  });
}

/**
 * The same conversation straight to the fake's Q endpoint (the reply the gateway relays); `fakeUrl`
 * may also be a pass-through proxy in front of it.
 */
export function directToFake(fakeUrl: string, prompt: string, token = 'bench-at-0'): Promise<Response> {
  return fetch(`${fakeUrl}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': 'AmazonCodeWhispererStreamingService.GenerateAssistantResponse',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({
      conversationState: {
        chatTriggerType: 'MANUAL',
        currentMessage: { userInputMessage: { content: prompt, modelId: 'claude-sonnet-4.5', origin: 'AI_EDITOR' } },
      },
    }),
  });
}

/** Reads a streaming response through; TTFB is the first body chunk. Throws on any failure. */
export async function timed(req: () => Promise<Response>, opts: { sse?: boolean } = {}): Promise<{ ttfb: number; total: number }> {
  const t0 = performance.now();
  const res = await req();
  if (!res.ok || !res.body) throw new Error(`status ${res.status}`);
  const reader = res.body.getReader();
  const first = await reader.read();
  const ttfb = performance.now() - t0;
  if (first.done) throw new Error('empty body');
  const decoder = new TextDecoder();
  let tail = decoder.decode(first.value, { stream: true });
  let sawError = tail.includes('event: error');
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // Only the last bytes matter for the end check; an error event anywhere fails the request.
    tail = (tail + decoder.decode(value, { stream: true })).slice(-4096);
    if (tail.includes('event: error')) sawError = true;
  }
  if (sawError) throw new Error('in-stream error');
  if (opts.sse && !tail.includes('message_stop')) throw new Error('stream ended without message_stop');
  return { ttfb, total: performance.now() - t0 };
}
