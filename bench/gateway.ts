// Gateway overhead benchmark: streaming requests through q2api (/v1/messages) versus the same
// scripted reply straight from the fake upstream, at several concurrencies; gateway CPU per request,
// RSS and memory per open stream; and the cost of a repeated Claude Code–sized request.
//
//   bun bench/gateway.ts [--requests 400] [--concurrency 1,50,500] [--gap 20] [--quick] [--shared]
//
// The fake upstream and the gateway run as separate processes (so the gateway's CPU and RSS are its
// own, read from /proc); this process is only the load generator. By default the gateway runs on
// CPU 0 and this process and the fake on CPU 1 (taskset), so the added latency is the gateway's own
// work; --shared lets the scheduler put all three anywhere (every latency then includes waiting for a
// CPU the other two hold).

import { parseArgs } from 'node:util';
import { addAccounts, cpuMs, pct, rssKb, spawnFake, spawnGateway, timed } from './lib';

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    requests: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '1,50,500' },
    quick: { type: 'boolean', default: false },
    // Real replies trickle in (tens of ms between deltas); gap 0 turns the run into a saturation test.
    gap: { type: 'string', default: '20' },
    shared: { type: 'boolean', default: false },
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
const LEVELS = args.concurrency!.split(',').map(Number);
const ACCOUNTS = 20;

/** Runs `total` requests with `concurrency` in flight; returns TTFB and total ms per request. */
async function load(total: number, concurrency: number, one: () => Promise<{ ttfb: number; total: number }>) {
  const ttfb: number[] = [];
  const full: number[] = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < total) {
      next++;
      try {
        const r = await one();
        ttfb.push(r.ttfb);
        full.push(r.total);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { ttfb, full, errors };
}

const fake = await spawnFake();
const fakeUrl = fake.url;
const gateway = await spawnGateway(fakeUrl, {}, args.shared ? {} : { cpus: '0' });
const gw = gateway.proc;
const gwUrl = gateway.url;

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
  const direct = () =>
    timed(() =>
      fetch(`${fakeUrl}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'AmazonCodeWhispererStreamingService.GenerateAssistantResponse',
          authorization: 'Bearer bench-at-0',
        },
        body: JSON.stringify({
          conversationState: {
            chatTriggerType: 'MANUAL',
            currentMessage: { userInputMessage: { content: prompt, modelId: 'claude-sonnet-4.5', origin: 'AI_EDITOR' } },
          },
        }),
      }),
    );

  // warm both paths (JIT, connection pools, token counter)
  await load(50, 10, direct);
  await load(50, 10, viaGateway);

  console.log(
    `gateway bench: ${REQUESTS} streaming requests per level, ${ACCOUNTS} accounts, ${Number(args.gap)} ms between upstream deltas (~19 deltas a reply), ` +
      `${args.shared ? 'all processes on shared CPUs' : 'gateway on CPU 0, fake and load generator on CPU 1'}, bun ${Bun.version}`,
  );
  console.log('concurrency | direct TTFB p50/p99 | gateway TTFB p50/p99 | added TTFB p50/p99 | added total p50 | gw CPU/req | errors | gw RSS');
  for (const c of LEVELS) {
    const d = await load(REQUESTS, c, direct);
    const cpu0 = cpuMs(gw.pid);
    const g = await load(REQUESTS, c, viaGateway);
    const cpu = (cpuMs(gw.pid) - cpu0) / REQUESTS;
    const f = (x: number) => x.toFixed(2);
    console.log(
      `${String(c).padStart(11)} | ${f(pct(d.ttfb, 50))}/${f(pct(d.ttfb, 99))} ms | ${f(pct(g.ttfb, 50))}/${f(pct(g.ttfb, 99))} ms | ` +
        `${f(pct(g.ttfb, 50) - pct(d.ttfb, 50))}/${f(pct(g.ttfb, 99) - pct(d.ttfb, 99))} ms | ${f(pct(g.full, 50) - pct(d.full, 50))} ms | ` +
        `${f(cpu)} ms | ${d.errors + g.errors} | ${(rssKb(gw.pid) / 1024).toFixed(0)} MB`,
    );
  }

  // Memory per open stream: hold N streams open on a slow scenario and compare RSS.
  const OPEN = args.quick ? 100 : 500;
  Bun.gc(true);
  await Bun.sleep(200);
  const before = rssKb(gw.pid);
  const controllers: AbortController[] = [];
  const opened: Promise<unknown>[] = [];
  for (let i = 0; i < OPEN; i++) {
    const ac = new AbortController();
    controllers.push(ac);
    opened.push(
      fetch(`${gwUrl}/v1/messages`, {
        method: 'POST',
        signal: ac.signal,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 1024, stream: true, messages: [{ role: 'user', content: '[[fake:stall:after=2]] hold' }] }),
      }).then((r) => r.body?.getReader().read()),
    );
  }
  await Promise.allSettled(opened);
  await Bun.sleep(300);
  const during = rssKb(gw.pid);
  for (const ac of controllers) ac.abort();
  console.log(`open streams: ${OPEN}; gateway RSS idle ${(idleRss / 1024).toFixed(0)} MB, before ${(before / 1024).toFixed(0)} MB, with streams open ${(during / 1024).toFixed(0)} MB → ${((during - before) / OPEN).toFixed(1)} KB per open stream`);
  await Bun.sleep(300);

  // A Claude Code–sized request: ~150k tokens of history and 40 tools, then the same plus one turn.
  const tools = Array.from({ length: 40 }, (_, i) => ({
    name: `tool_${i}`,
    description: `Tool number ${i}: ${'does a useful thing with files and shells. '.repeat(8)}`,
    input_schema: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path'] },
  }));
  const history: Array<{ role: 'user' | 'assistant'; content: string }> = [];
  const para = 'The quick brown fox jumps over the lazy dog while the build runs its tests again. ';
  for (let i = 0; i < 300; i++) {
    history.push({ role: 'user', content: `turn ${i}: ${para.repeat(28)}` });
    history.push({ role: 'assistant', content: `answer ${i}: ${para.repeat(28)}` });
  }
  const big = (extra: string) =>
    fetch(`${gwUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        max_tokens: 1024,
        stream: false,
        system: 'You are Claude Code.',
        tools,
        messages: [...history, { role: 'user', content: `${extra} [[fake:plain]]` }],
      }),
    }).then((r) => r.json() as Promise<{ usage?: { input_tokens?: number } }>);
  let cpu0 = cpuMs(gw.pid);
  const first = await big('first question');
  const firstCpu = cpuMs(gw.pid) - cpu0;
  // /proc CPU times tick every 10 ms, so average over several repeats, each one turn longer.
  const REPEATS = 20;
  cpu0 = cpuMs(gw.pid);
  for (let i = 0; i < REPEATS; i++) {
    history.push({ role: 'user', content: `question ${i}` }, { role: 'assistant', content: `answer ${i}` });
    await big(`question ${i + 1}`);
  }
  const repeatCpu = (cpuMs(gw.pid) - cpu0) / REPEATS;
  console.log(
    `large request (~${first.usage?.input_tokens ?? '?'} input tokens, 40 tools): gateway CPU first ${firstCpu.toFixed(0)} ms; ` +
      `repeated with one new turn ${repeatCpu.toFixed(1)} ms (mean of ${REPEATS})`,
  );
} finally {
  gw.kill('SIGTERM');
  fake.proc.kill('SIGTERM');
  await Promise.allSettled([gw.exited, fake.proc.exited]);
  gateway.cleanup();
}
