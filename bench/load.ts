// Load and soak benchmark: N concurrent streaming requests through the gateway (/v1/messages) for a
// fixed time, against the fake upstream, each one a scripted ~10 s stream; the same load straight to
// the fake first, so the TTFB the gateway adds can be told apart from the fake's own. Reports
// throughput, errors, TTFB p50/p99 (direct, gateway, added), gateway CPU per request, and gateway
// RSS at start and end (sampled throughout).
//
//   bun bench/load.ts [--concurrency 1000] [--duration 60] [--direct 15] [--words 20] [--gap 500]
//   bun bench/load.ts --soak 30          # 30 minutes through the gateway, RSS every minute
//
// The fake upstream and the gateway are separate processes; this process only generates load.

import { parseArgs } from 'node:util';
import { addAccounts, cpuMs, directToFake, pct, rssKb, spawnFake, spawnGateway, timed, viaGateway } from './lib';

/**
 * Bun's fetch runs at most 256 requests at once per process (BUN_CONFIG_MAX_HTTP_REQUESTS, read only
 * at start-up): beyond that they queue inside fetch. Both this load generator and the gateway (whose
 * upstream calls are fetches) need more for 1,000 concurrent streams; the generator re-runs itself.
 */
const MAX_HTTP_REQUESTS = '65535';
if (process.env.BUN_CONFIG_MAX_HTTP_REQUESTS === undefined) {
  const child = Bun.spawn([process.execPath, ...process.argv.slice(1)], {
    env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: MAX_HTTP_REQUESTS },
    stdio: ['inherit', 'inherit', 'inherit'],
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  process.exit(await child.exited);
}

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    concurrency: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '60' },
    direct: { type: 'string', default: '15' },
    soak: { type: 'string' },
    words: { type: 'string', default: '20' },
    gap: { type: 'string', default: '500' },
    accounts: { type: 'string', default: '20' },
    // the gateway's BUN_CONFIG_MAX_HTTP_REQUESTS; 'default' leaves Bun's 256 (to see the difference)
    'gateway-max-http': { type: 'string', default: MAX_HTTP_REQUESTS },
  },
});
const CONCURRENCY = Number(args.concurrency);
const SOAK_MIN = args.soak === undefined ? undefined : Number(args.soak);
const DURATION_S = SOAK_MIN !== undefined ? SOAK_MIN * 60 : Number(args.duration);
const DIRECT_S = Number(args.direct);
/** The reply: `words` text events `gap` ms apart: a ~10 s stream by default, tokens trickling in like a real answer. */
const PROMPT = `[[fake:long:n=${Number(args.words)},gap_ms=${Number(args.gap)},text=token%20]] load`;
/** RSS is sampled this often; a soak prints each minute's min/mean/max (GC makes single samples noisy). */
const SAMPLE_MS = 5_000;

interface Result {
  ttfb: number[];
  total: number[];
  errors: number;
  errorKinds: Map<string, number>;
  seconds: number;
}

/** `concurrency` workers, each sending one request after another until `seconds` have passed. */
async function run(seconds: number, one: () => Promise<{ ttfb: number; total: number }>, onTick?: (elapsedS: number) => void): Promise<Result> {
  const r: Result = { ttfb: [], total: [], errors: 0, errorKinds: new Map(), seconds };
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const ticker = onTick ? setInterval(() => onTick((performance.now() - t0) / 1000), SAMPLE_MS) : undefined;
  const worker = async () => {
    while (performance.now() < until) {
      try {
        const x = await one();
        r.ttfb.push(x.ttfb);
        r.total.push(x.total);
      } catch (e) {
        r.errors++;
        const kind = e instanceof Error ? e.message.slice(0, 60) : String(e);
        r.errorKinds.set(kind, (r.errorKinds.get(kind) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  clearInterval(ticker);
  r.seconds = (performance.now() - t0) / 1000;
  return r;
}

const f1 = (x: number) => x.toFixed(1);
const mb = (kb: number) => (kb / 1024).toFixed(0);

const fake = await spawnFake();
// REQUEST_LOG=stdout (the default) and LOG_LEVEL=info: the request log is part of the cost measured.
const gwMaxHttp = args['gateway-max-http']!;
const gw = await spawnGateway(fake.url, {
  LOG_LEVEL: 'info',
  REQUEST_LOG: 'stdout',
  // the gateway sets 65535 itself when unset; 'default' pins Bun's own 256 to show the difference
  BUN_CONFIG_MAX_HTTP_REQUESTS: gwMaxHttp === 'default' ? '256' : gwMaxHttp,
});
// Ctrl-C must not leave the two servers behind.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    gw.proc.kill('SIGKILL');
    fake.proc.kill('SIGKILL');
    gw.cleanup();
    process.exit(130);
  });
}
try {
  await addAccounts(gw.url, fake.url, Number(args.accounts));
  const gateway = () => timed(() => viaGateway(gw.url, PROMPT), { sse: true });
  const direct = () => timed(() => directToFake(fake.url, PROMPT));

  // Warm-up: JIT, connection pools, tokenizer.
  const warm = CONCURRENCY;
  await Promise.all(Array.from({ length: Math.min(100, warm) }, () => direct().catch(() => {})));
  await Promise.all(Array.from({ length: Math.min(100, warm) }, () => gateway().catch(() => {})));

  console.log(
    `load bench: ${CONCURRENCY} concurrent streams, reply ${args.words} events ${args.gap} ms apart, gateway BUN_CONFIG_MAX_HTTP_REQUESTS=${gwMaxHttp}, ` +
      `bun ${Bun.version}, ${navigator.hardwareConcurrency} cores`,
  );
  let d: Result | undefined;
  if (SOAK_MIN === undefined && DIRECT_S > 0) {
    d = await run(DIRECT_S, direct);
    console.log(
      `direct to fake (${f1(d.seconds)} s): ${d.total.length} streams, ${f1(d.total.length / d.seconds)}/s, errors ${d.errors}, ` +
        `TTFB p50 ${f1(pct(d.ttfb, 50))} ms p99 ${f1(pct(d.ttfb, 99))} ms`,
    );
  }

  Bun.gc(true);
  await Bun.sleep(500);
  const rssStart = rssKb(gw.proc.pid);
  const samples: string[] = [];
  let minute: number[] = [];
  const cpu0 = cpuMs(gw.proc.pid);
  const g = await run(DURATION_S, gateway, (s) => {
    const rss = rssKb(gw.proc.pid);
    samples.push(`${s.toFixed(0)}s:${mb(rss)}MB`);
    minute.push(rss);
    if (SOAK_MIN !== undefined && minute.length * SAMPLE_MS >= 60_000) {
      const mean = minute.reduce((a, b) => a + b, 0) / minute.length;
      console.log(`  soak minute ${Math.round(s / 60)}: RSS min ${mb(Math.min(...minute))} / mean ${mb(mean)} / max ${mb(Math.max(...minute))} MB`);
      minute = [];
    }
  });
  const cpu = cpuMs(gw.proc.pid) - cpu0;
  const rssEnd = rssKb(gw.proc.pid);
  await Bun.sleep(2_000); // streams closed, timers settled
  const rssIdle = rssKb(gw.proc.pid);

  console.log(
    `through gateway (${f1(g.seconds)} s): ${g.total.length} streams, ${f1(g.total.length / g.seconds)}/s, errors ${g.errors}` +
      `${g.errors ? ` (${[...g.errorKinds].map(([k, n]) => `${k} ×${n}`).join('; ')})` : ''}, ` +
      `TTFB p50 ${f1(pct(g.ttfb, 50))} ms p99 ${f1(pct(g.ttfb, 99))} ms, stream p50 ${f1(pct(g.total, 50))} ms`,
  );
  if (d) {
    console.log(`added TTFB by the gateway: p50 ${f1(pct(g.ttfb, 50) - pct(d.ttfb, 50))} ms, p99 ${f1(pct(g.ttfb, 99) - pct(d.ttfb, 99))} ms`);
  }
  console.log(`gateway CPU: ${(cpu / Math.max(1, g.total.length + g.errors)).toFixed(2)} ms per request (${f1(cpu / 1000)} s over ${f1(g.seconds)} s = ${f1((cpu / 10) / g.seconds)} % of one core)`);
  console.log(`gateway RSS: start ${mb(rssStart)} MB, end ${mb(rssEnd)} MB, 2 s after ${mb(rssIdle)} MB`);
  if (SOAK_MIN === undefined) console.log(`gateway RSS every ${SAMPLE_MS / 1000} s: ${samples.join(' ')}`);
} finally {
  gw.proc.kill('SIGTERM');
  fake.proc.kill('SIGTERM');
  await Promise.allSettled([gw.proc.exited, fake.proc.exited]);
  gw.cleanup();
}
