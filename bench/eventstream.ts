// Event-stream decode throughput: our decoder vs @smithy/eventstream-codec on the same bytes.
// Run: bun run bench:eventstream [--mb 64] [--runs 5] [--chunk 16384]   (results: bench/README.md)
import { EventStreamCodec } from '@smithy/eventstream-codec';
// The SDK's own splitter (the codec's dependency, not a direct one of ours): it cuts a byte
// stream into whole messages, which is what EventStreamCodec.decode expects.
import { getChunkedStream } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { decodeEventStream, EventStreamDecoder } from '../src/upstream/eventstream';
import { encodeEvent } from '../src/upstream/eventstream-encode';
import { mulberry32 } from '../test/support/prng';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const TARGET_BYTES = arg('mb', 64) * 1024 * 1024;
const RUNS = arg('runs', 5);
const CHUNK_BYTES = arg('chunk', 16 * 1024); // a typical TLS-record-sized network read

const WORDS = ('the of and to in is that it for on with as this be are by from function return const value ' +
  'error request response stream token model user assistant tool result file line code → ok “quoted” ünïcode')
  .split(' ');

/** Realistic Q reply traffic: mostly 3–20 char text deltas, some tool calls, tail events. */
function buildStream(targetBytes: number): { bytes: Uint8Array; frames: number } {
  const rand = mulberry32(0x5eed);
  const parts: Uint8Array[] = [];
  let size = 0;
  const add = (frame: Uint8Array) => {
    parts.push(frame);
    size += frame.length;
  };
  let reply = 0;
  while (size < targetBytes) {
    const deltas = 20 + Math.floor(rand() * 200);
    for (let i = 0; i < deltas; i++) {
      let text = '';
      const want = 3 + Math.floor(rand() * 18);
      while (text.length < want) text += (text ? ' ' : '') + WORDS[Math.floor(rand() * WORDS.length)];
      add(encodeEvent('assistantResponseEvent', { content: text.slice(0, want) }));
    }
    if (rand() < 0.3) {
      const toolUseId = `tooluse_${(reply++).toString(36).padStart(22, '0')}`;
      add(encodeEvent('toolUseEvent', { toolUseId, name: 'read_file' }));
      for (const input of ['{"path":', '"/srv/app/', 'main.ts"}']) add(encodeEvent('toolUseEvent', { toolUseId, name: 'read_file', input }));
      add(encodeEvent('toolUseEvent', { toolUseId, name: 'read_file', stop: true }));
    }
    add(encodeEvent('meteringEvent', { unit: 'credit', unitPlural: 'credits', usage: Math.round(rand() * 100) / 100 }));
    add(encodeEvent('contextUsageEvent', { contextUsagePercentage: Math.round(rand() * 1000) / 10 }));
  }
  const bytes = new Uint8Array(size);
  let p = 0;
  for (const f of parts) {
    bytes.set(f, p);
    p += f.length;
  }
  return { bytes, frames: parts.length };
}

function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = 0; p < bytes.length; p += size) out.push(bytes.subarray(p, p + size));
  return out;
}

/** Whole messages, as the SDK's chunked-stream splitter hands them to EventStreamCodec.decode. */
function messagesOf(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  for (let p = 0; p < bytes.length; ) {
    const total = view.getUint32(p);
    out.push(bytes.slice(p, p + total));
    p += total;
  }
  return out;
}

async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

/** Every variant reads each payload, as a real consumer would; counts one per frame. */
function touch(payload: Uint8Array): number {
  return payload.length > 0 ? 1 : 0;
}

interface Variant {
  name: string;
  /** Prepares inputs outside the timing; teardown drops them again so that no other variant's
   *  GC has to trace half a million extra live objects. */
  setup?: () => void;
  teardown?: () => void;
  run: () => Promise<number> | number; // returns frames decoded
}

async function measure(v: Variant, bytes: number, expectFrames: number): Promise<{ mbps: number; fps: number }> {
  const seconds: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t0 = performance.now();
    const frames = await v.run();
    const dt = (performance.now() - t0) / 1000;
    if (frames !== expectFrames) throw new Error(`${v.name}: decoded ${frames} frames, expected ${expectFrames}`);
    if (i > 0) seconds.push(dt); // run 0 warms the JIT
  }
  seconds.sort((a, b) => a - b);
  const median = seconds[Math.floor(seconds.length / 2)]!;
  return { mbps: bytes / 1e6 / median, fps: expectFrames / median };
}

const { bytes, frames } = buildStream(TARGET_BYTES);
const chunks = chunksOf(bytes, CHUNK_BYTES);
let messages: Uint8Array[] = [];
const codec = new EventStreamCodec(toUtf8, fromUtf8);

const variants: Variant[] = [
  {
    name: 'ours: EventStreamDecoder.push (sync)',
    run: () => {
      const d = new EventStreamDecoder();
      let n = 0;
      for (const c of chunks) for (const f of d.push(c)) n += touch(f.payload);
      d.end();
      return n;
    },
  },
  {
    name: 'ours: decodeEventStream (async generator)',
    run: async () => {
      let n = 0;
      for await (const f of decodeEventStream(iterate(chunks))) n += touch(f.payload);
      return n;
    },
  },
  {
    name: 'smithy: EventStreamCodec.decode, pre-split (sync)',
    setup: () => {
      messages = messagesOf(bytes);
    },
    teardown: () => {
      messages = [];
    },
    run: () => {
      let n = 0;
      for (const m of messages) n += touch(codec.decode(m).body);
      return n;
    },
  },
  {
    name: 'smithy: getChunkedStream + decode (async, as the SDK)',
    run: async () => {
      let n = 0;
      for await (const m of getChunkedStream(iterate(chunks))) n += touch(codec.decode(m).body);
      return n;
    },
  },
];

console.log(
  `eventstream bench: ${(bytes.length / 1e6).toFixed(1)} MB, ${frames} frames ` +
    `(avg ${(bytes.length / frames).toFixed(1)} B/frame), ${CHUNK_BYTES}-byte chunks, median of ${RUNS} runs, ` +
    `bun ${Bun.version}`,
);
const results: { name: string; mbps: number; fps: number }[] = [];
for (const v of variants) {
  Bun.gc(true); // don't bill one variant for the previous one's garbage
  v.setup?.();
  results.push({ name: v.name, ...(await measure(v, bytes.length, frames)) });
  v.teardown?.();
}
const width = Math.max(...results.map((r) => r.name.length));
console.log(`${'variant'.padEnd(width)}  ${'MB/s'.padStart(8)}  ${'frames/s'.padStart(11)}`);
for (const r of results) {
  console.log(`${r.name.padEnd(width)}  ${r.mbps.toFixed(0).padStart(8)}  ${Math.round(r.fps).toLocaleString('en-US').padStart(11)}`);
}
const ratio = (a: number, b: number): string => `${(results[a]!.mbps / results[b]!.mbps).toFixed(2)}x`;
console.log(`ratio, sync:  ours.push / smithy.decode                  ${ratio(0, 2)}`);
console.log(`ratio, async: ours.decodeEventStream / smithy SDK path   ${ratio(1, 3)}`);
