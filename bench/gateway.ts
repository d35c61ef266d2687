// Gateway overhead benchmark: streaming requests through q2api (/v1/messages) versus the same
// scripted reply straight from the fake upstream, at several concurrencies; gateway CPU per request,
// RSS and memory per open stream; and the cost of a repeated Claude Code–sized request.
//
//   bun bench/gateway.ts [--requests 400] [--concurrency 1,50,500] [--gap 20] [--large 50] [--quick]
//                        [--turns 150] [--floor] [--lockstep] [--shared]
//
// The fake upstream and the gateway run as separate processes (so the gateway's CPU and RSS are its
// own, read from /proc); this process is only the load generator. By default the gateway runs on
// CPU 0 and this process and the fake on CPU 1 (taskset), so the added latency is the gateway's own
// work; --shared lets the scheduler put all three anywhere (every latency then includes waiting for a
// CPU the other two hold). --floor also measures a pass-through proxy (bench/passthrough.ts) on the
// gateway's CPU: what one extra HTTP hop costs here before the gateway does any work.
//
// Streams run in steady state: the `concurrency` workers start spread over one reply's duration, as
// independent clients are. --lockstep starts them all at once instead; since every scripted reply
// lasts the same, they then stay in step for the whole run and every 20 ms all their deltas arrive
// in the same millisecond (a burst that the direct side, the pass-through and the gateway all queue
// behind).

import { parseArgs } from 'node:util';
import { addAccounts, cpuMs, directToFake, pct, rssKb, spawnFake, spawnGateway, spawnPassthrough, timed } from './lib';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    requests: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '1,50,500' },
    quick: { type: 'boolean', default: false },
    // Real replies trickle in (tens of ms between deltas); gap 0 turns the run into a saturation test.
    gap: { type: 'string', default: '20' },
    shared: { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
    lockstep: { type: 'boolean', default: false },
    // measured repeats of the large request (after as many warm-up requests)
    large: { type: 'string', default: '50' },
    // exchanges of history in the large request (the bench prints the gateway's token count for it)
    turns: { type: 'string', default: '150' },
  },
});

// Re-run pinned to CPU 1 (the fake inherits it), and with Bun's fetch limit raised: 500 concurrent
// streams from one process would otherwise queue inside fetch (BUN_CONFIG_MAX_HTTP_REQUESTS, 256).
if (!args.shared && Bun.which('taskset') === null) {
  console.error('taskset not found (util-linux): running unpinned, as with --shared');
  args.shared = true;
}
if (process.env.Q2API_BENCH_CHILD === undefined) {
  const pin = args.shared ? [] : ['taskset', '-c', '1'];
  const child = Bun.spawn([...pin, process.execPath, ...process.argv.slice(1)], {
    env: { ...process.env, Q2API_BENCH_CHILD: '1', BUN_CONFIG_MAX_HTTP_REQUESTS: '65535' },
    stdio: ['inherit', 'inherit', 'inherit'],
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => child.kill(sig));
  process.exit(await child.exited);
}
const REQUESTS = args.quick ? 100 : Number(args.requests);
// `--concurrency=` (empty) skips the latency runs: only memory per stream and the large request.
const LEVELS = args.concurrency!.split(',').filter((c) => c.trim() !== '').map(Number);
const ACCOUNTS = 20;
const LARGE_REPEATS = args.quick ? 10 : Number(args.large);
const LARGE_WARMUP = LARGE_REPEATS;
/** Streaming requests through the gateway before any measurement. */
const WARMUP = 2000;
/** Direct/gateway alternations per concurrency level. */
const ROUNDS = args.quick ? 2 : 4;

type Sample = { ttfb: number; total: number };

/**
 * Runs `total` requests with `concurrency` in flight; returns TTFB and total ms per request. Workers
 * start `spreadMs / concurrency` apart (0: all at once). The first `skip` requests (while the streams
 * ramp up, or the burst of a lockstep start) count for errors only.
 */
async function load(total: number, concurrency: number, one: () => Promise<Sample>, opts: { skip?: number; spreadMs?: number } = {}) {
  const ttfb: number[] = [];
  const full: number[] = [];
  let errors = 0;
  let next = 0;
  const workers = Math.min(concurrency, total);
  const worker = async (w: number) => {
    if (opts.spreadMs) await Bun.sleep((w / workers) * opts.spreadMs);
    while (next < total) {
      const index = next++;
      try {
        const r = await one();
        if (index < (opts.skip ?? 0)) continue;
        ttfb.push(r.ttfb);
        full.push(r.total);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return { ttfb, full, errors };
}

const fake = await spawnFake();
const fakeUrl = fake.url;
const gateway = await spawnGateway(fakeUrl, {}, { ...(args.shared ? {} : { cpus: '0' }), requestLog: true });
const gw = gateway.proc;
const gwUrl = gateway.url;
let floor: Awaited<ReturnType<typeof spawnPassthrough>> | undefined;

try {
  const idleRss = rssKb(gw.pid);
  await addAccounts(gwUrl, fakeUrl, ACCOUNTS);

  const prompt = `[[fake:plain:chunk=8,gap_ms=${Number(args.gap)}]] hello`;
  const viaGateway = () =>
    timed(() =>
      fetch(`${gwUrl}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: prompt }] }),
      }),
    );
  const direct = () => timed(() => directToFake(fakeUrl, prompt));
  if (args.floor && LEVELS.length > 0) floor = await spawnPassthrough(fakeUrl, args.shared ? {} : { cpus: '0' });
  const viaFloor = () => timed(() => directToFake(floor!.url, prompt));

  // Warm all paths (JIT, connection pools, token counter): a gateway that has served for a while
  // has its hot paths compiled; its first thousand requests still pay for the compiling. The large
  // request further down has warm-up requests of its own.
  let replyMs = 0;
  if (LEVELS.length > 0) {
    await load(args.quick ? 50 : 300, 10, direct);
    if (floor) await load(args.quick ? 50 : 1000, 50, viaFloor);
    await load(args.quick ? 50 : WARMUP, 50, viaGateway);
    // One reply's duration, over which steady-state workers spread their starts.
    const probe = await load(5, 1, direct);
    replyMs = pct(probe.full, 50);
    if (!(replyMs > 0)) throw new Error(`the probe requests straight to the fake failed (${probe.errors} errors)`);
  }

  if (LEVELS.length > 0) {
    console.log(
      `gateway bench: ≥ ${REQUESTS} streaming requests per side and level in ${ROUNDS} alternating runs ` +
        `(${floor ? 'direct, gateway, pass-through, then back' : 'direct, gateway, gateway, direct…'}), ` +
        `${args.lockstep ? 'each run starting all its streams at once (lockstep)' : `streams starting spread over one reply (${replyMs.toFixed(0)} ms; steady state)`}, ` +
        `each run's first \`concurrency\` requests not counted, after ${args.quick ? 50 : WARMUP} warm-up requests; ${ACCOUNTS} accounts, ${Number(args.gap)} ms between upstream events (10 text deltas and 2 usage events a reply), ` +
        `${args.shared ? 'all processes on shared CPUs' : `gateway${floor ? ' and pass-through' : ''} on CPU 0, fake and load generator on CPU 1`}, bun ${Bun.version}`,
    );
    console.log(
      `concurrency | direct TTFB p50/p99 | gateway TTFB p50/p99 | added TTFB p50/p99 |${floor ? ' pass-through added p50/p99 |' : ''} in-gateway TTFB p50/p99 | added total p50 | gw CPU/req | errors | gw RSS`,
    );
  }
  for (const c of LEVELS) {
    // The sides' runs alternate (A B B A …, or A B C C B A … with the pass-through) in rounds, so
    // drift in the machine's state (other load, CPU frequency) falls on every side alike.
    const logged = gateway.requests.length;
    const sides = { d: direct, g: viaGateway, ...(floor ? { f: viaFloor } : {}) };
    type Side = keyof typeof sides;
    const got = Object.fromEntries(Object.keys(sides).map((k) => [k, { ttfb: [] as number[], full: [] as number[], errors: 0 }])) as Record<Side, { ttfb: number[]; full: number[]; errors: number }>;
    let gwCpu = 0;
    // Each run is at least 8 × c requests; its first c are left out of the latency figures.
    const per = Math.max(Math.ceil(REQUESTS / ROUNDS), 8 * c);
    const order = Object.keys(sides) as Side[];
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 === 0 ? order : [...order].reverse()) {
        const cpu0 = cpuMs(gw.pid);
        const r = await load(per, c, sides[side]!, { skip: c > 1 ? c : 0, spreadMs: args.lockstep ? 0 : replyMs });
        if (side === 'g') gwCpu += cpuMs(gw.pid) - cpu0;
        got[side].ttfb.push(...r.ttfb);
        got[side].full.push(...r.full);
        got[side].errors += r.errors;
      }
    }
    const { d, g } = got;
    const cpu = gwCpu / (per * ROUNDS);
    // The gateway's own part of its TTFB, from its request log: ttfb_ms minus the upstream's share.
    await Bun.sleep(200);
    const own = gateway.requests
      .slice(logged)
      .filter((r) => r.status === 200 && r.ttfb_ms !== null && r.upstream_ttfb_ms !== undefined)
      .map((r) => r.ttfb_ms! - r.upstream_ttfb_ms!);
    const f = (x: number) => x.toFixed(2);
    const added = (x: { ttfb: number[] }) => `${f(pct(x.ttfb, 50) - pct(d.ttfb, 50))}/${f(pct(x.ttfb, 99) - pct(d.ttfb, 99))} ms`;
    const fl = (got as Partial<Record<'f', { ttfb: number[]; errors: number }>>).f;
    console.log(
      `${String(c).padStart(11)} | ${f(pct(d.ttfb, 50))}/${f(pct(d.ttfb, 99))} ms | ${f(pct(g.ttfb, 50))}/${f(pct(g.ttfb, 99))} ms | ` +
        `${added(g)} |${fl ? ` ${added(fl)} |` : ''} ${f(pct(own, 50))}/${f(pct(own, 99))} ms | ` +
        `${f(pct(g.full, 50) - pct(d.full, 50))} ms | ` +
        `${f(cpu)} ms | ${d.errors + g.errors + (fl?.errors ?? 0)} | ${(rssKb(gw.pid) / 1024).toFixed(0)} MB`,
    );
  }
  // The pass-through's CPU is the gateway's: free it before measuring memory and the large request.
  if (floor) {
    floor.proc.kill('SIGTERM');
    await floor.proc.exited;
    floor = undefined;
  }

  // Memory per open stream: hold N streams open on a stalled reply and compare RSS, on a gateway of its
  // own. On this one, memory the load above freed (kept a while by the allocator, MIMALLOC_PURGE_DELAY)
  // would be reused by the streams and hide their cost, or be returned meanwhile and show negative.
  const OPEN = args.quick ? 100 : 500;
  const fresh = await spawnGateway(fakeUrl, {}, args.shared ? {} : { cpus: '0' });
  try {
    await addAccounts(fresh.url, fakeUrl, ACCOUNTS);
    await load(20, 5, () => timed(() => fetch(`${fresh.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: '[[fake:plain]] hi' }] }) })));
    await Bun.sleep(1500);
    const before = rssKb(fresh.proc.pid);
    const controllers: AbortController[] = [];
    const opened: Promise<unknown>[] = [];
    for (let i = 0; i < OPEN; i++) {
      const ac = new AbortController();
      controllers.push(ac);
      opened.push(
        fetch(`${fresh.url}/v1/messages`, {
          method: 'POST',
          signal: ac.signal,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: '[[fake:stall:after=2]] hold' }] }),
        }).then((r) => r.body?.getReader().read()),
      );
    }
    await Promise.allSettled(opened);
    await Bun.sleep(300);
    const during = rssKb(fresh.proc.pid);
    for (const ac of controllers) ac.abort();
    console.log(
      `open streams: ${OPEN} on a fresh gateway; RSS idle ${(idleRss / 1024).toFixed(0)} MB, before ${(before / 1024).toFixed(0)} MB, ` +
        `with streams open ${(during / 1024).toFixed(0)} MB → ${((during - before) / OPEN).toFixed(1)} KB per open stream`,
    );
  } finally {
    fresh.proc.kill('SIGTERM');
    await fresh.proc.exited;
    fresh.cleanup();
  }

  // A Claude Code–sized request: a long history (--turns; the bench prints its token count) and 40
  // tools, then the same conversation one exchange longer each time, as Claude Code sends it: the
  // previous question repeated verbatim, the answer the gateway gave, a new question, and the
  // cache_control marker moved to the last message.
  const tools = Array.from({ length: 40 }, (_, i) => ({
    name: `tool_${i}`,
    description: `Tool number ${i}: ${'does a useful thing with files and shells. '.repeat(8)}`,
    input_schema: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path'] },
  }));
  type Block = { type: 'text'; text: string; cache_control?: { type: 'ephemeral' } };
  const history: Array<{ role: 'user' | 'assistant'; content: string | Block[] }> = [];
  const para = 'The quick brown fox jumps over the lazy dog while the build runs its tests again. ';
  for (let i = 0; i < Number(args.turns); i++) {
    history.push({ role: 'user', content: `turn ${i}: ${para.repeat(28)}` });
    history.push({ role: 'assistant', content: `answer ${i}: ${para.repeat(28)}` });
  }
  type Reply = { content?: Array<{ type: string; text?: string }> };
  const bigBody = (question: string) =>
    JSON.stringify({
      model: 'claude-sonnet-4-5',
      max_tokens: 1024,
      stream: false,
      system: 'You are Claude Code.',
      tools,
      messages: [...history, { role: 'user', content: [{ type: 'text', text: question, cache_control: { type: 'ephemeral' } }] }],
    });
  // The size the gateway itself counts (count_tokens, after the measurements so as not to warm anything).
  const counted = async (body: string): Promise<number> => {
    const res = await fetch(`${gwUrl}/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return ((await res.json()) as { input_tokens: number }).input_tokens;
  };
  const firstBody = bigBody('first question [[fake:plain]]');
  const big = async (question: string, body = bigBody(question)): Promise<Reply> => {
    const res = await fetch(`${gwUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const reply = (await res.json()) as Reply;
    if (!res.ok) throw new Error(`large request failed: ${res.status} ${JSON.stringify(reply)}`);
    history.push({ role: 'user', content: [{ type: 'text', text: question }] });
    history.push({ role: 'assistant', content: (reply.content ?? []).map((b) => ({ type: 'text' as const, text: b.text ?? '' })) });
    return reply;
  };
  let cpu0 = cpuMs(gw.pid);
  await big('first question [[fake:plain]]', firstBody);
  const firstCpu = cpuMs(gw.pid) - cpu0;
  // A server that has run for a while has its code compiled: warm up before measuring.
  for (let i = 0; i < LARGE_WARMUP; i++) await big(`warm-up question ${i} [[fake:plain]]`);
  const perRequest: number[] = [];
  for (let i = 0; i < LARGE_REPEATS; i++) {
    cpu0 = cpuMs(gw.pid);
    await big(`question ${i} [[fake:plain]]`);
    perRequest.push(cpuMs(gw.pid) - cpu0);
  }
  const mean = perRequest.reduce((a, b) => a + b, 0) / perRequest.length;
  // Not the reply's usage: the fake's contextUsageEvent grows with the body's bytes and stops at 100 %
  // of the window (200k), whatever the conversation's real size.
  const [firstTokens, lastTokens] = [await counted(firstBody), await counted(bigBody('last question'))];
  console.log(
    `large request (${firstTokens} input tokens by the gateway's count at first, ${lastTokens} at the end; 40 tools; ` +
      `${(Buffer.byteLength(firstBody) / 1e6).toFixed(1)} MB): gateway CPU first ${firstCpu.toFixed(0)} ms; ` +
      `repeated with one new exchange, after ${LARGE_WARMUP} warm-up requests: mean ${mean.toFixed(2)} ms, p50 ${pct(perRequest, 50).toFixed(2)} ms, ` +
      `p90 ${pct(perRequest, 90).toFixed(2)} ms (${LARGE_REPEATS} requests)`,
  );
} finally {
  gw.kill('SIGTERM');
  fake.proc.kill('SIGTERM');
  floor?.proc.kill('SIGTERM');
  await Promise.allSettled([gw.exited, fake.proc.exited, floor?.proc.exited]);
  gateway.cleanup();
}
