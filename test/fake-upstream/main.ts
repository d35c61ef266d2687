// Runs the fake upstream as a standalone process for manual trials and benchmarks:
//   bun test/fake-upstream/main.ts [--port N] [--host H] [--config file.json] [--quiet]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFakeUpstream, type FakeConfig } from './server';

function usage(message: string): never {
  console.error(`${message}\nusage: bun test/fake-upstream/main.ts [--port N] [--host H] [--config file.json] [--quiet]`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: {
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        config: { type: 'string' },
        quiet: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    return usage((err as Error).message);
  }
})();

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad --port ${values.port}`);

let config: Partial<FakeConfig> = {};
if (values.config) {
  try {
    config = JSON.parse(readFileSync(values.config, 'utf8')) as Partial<FakeConfig>;
  } catch (err) {
    usage(`cannot read --config ${values.config}: ${(err as Error).message}`);
  }
}

const fake = await (async () => {
  try {
    return await startFakeUpstream({
      ...config,
      port,
      host: values.host,
      onRequestDone: values.quiet
        ? undefined
        : (r) =>
            console.log(
              `${new Date(r.time).toISOString()} ${r.listener} ${r.method} ${r.path} ${r.operation ?? '-'} ` +
                `${r.scenario ?? '-'} -> ${r.status} ${r.bytesSent}B ${r.durationMs}ms${r.disconnectedEarly ? ' (client left early)' : ''}${r.note ? ` [${r.note}]` : ''}`,
            ),
    });
  } catch (err) {
    return usage(`cannot start: ${(err as Error).message}`);
  }
})();

// The first line is the URL alone, so scripts can read it: `url=$(… | head -1)`.
console.log(fake.url);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  if (!values.quiet) console.error(`fake-upstream: ${signal}, stopping`);
  await fake.stop();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
