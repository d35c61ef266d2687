// Token counting cost of a repeated large request: a Claude Code-like conversation of ~150k tokens
// with 40 tools is counted, then counted again grown by one turn (the per-block cache at work).
// Run: bun bench/tokens.ts [--turns 78] [--runs 5]   (results: bench/README.md)
import type { ContentPart, Conversation, Message, ToolDefinition } from '../src/dialects/conversation.ts';
import { createTokenCounter } from '../src/tokens.ts';
import { mulberry32 } from '../test/support/prng';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const TURNS = arg('turns', 78); // tool-call rounds; 78 ≈ 150k tokens with the system prompt and tools
const RUNS = arg('runs', 5);

const rand = mulberry32(42);
const WORDS = ('const let function return if else for while import export from async await value error request ' +
  'response stream token model user assistant tool result file line code path src test expect describe the of and to in')
  .split(' ');
/** A random identifier: real code and logs are full of them, and they defeat the tokenizer's own word cache. */
function identifier(): string {
  let s = '';
  for (let n = 3 + Math.floor(rand() * 8); n > 0; n--) s += String.fromCharCode(97 + Math.floor(rand() * 26));
  return s;
}
function prose(words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    out.push(rand() < 0.3 ? identifier() : WORDS[Math.floor(rand() * WORDS.length)]! + (rand() < 0.1 ? `_${Math.floor(rand() * 1000)}` : ''));
    if (rand() < 0.08) out.push('\n');
  }
  return out.join(' ');
}

const tools: ToolDefinition[] = Array.from({ length: 40 }, (_, i) => ({
  name: `tool_${i}`,
  description: prose(120),
  inputSchema: { type: 'object', properties: { path: { type: 'string', description: prose(10) }, limit: { type: 'integer' } }, required: ['path'] },
}));

/** Each pair: a user turn with a tool result of ~700 tokens, an assistant turn with text and a call. */
const messages: Message[] = [{ role: 'user', content: [{ type: 'text', text: prose(200) }] }];
for (let i = 0; i < TURNS; i++) {
  const callId = `toolu_${i.toString().padStart(6, '0')}`;
  messages.push({
    role: 'assistant',
    content: [
      { type: 'text', text: prose(60) },
      { type: 'tool_call', id: callId, name: `tool_${i % 40}`, input: { path: `src/file_${i}.ts`, limit: 200 } },
    ],
  });
  const result: ContentPart = { type: 'tool_result', toolCallId: callId, isError: false, content: [{ type: 'text', text: prose(800) }] };
  messages.push({ role: 'user', content: [result] });
}
const base: Conversation = {
  model: 'claude-sonnet-4-5',
  system: prose(2_000),
  messages,
  tools,
  toolChoice: { type: 'auto' },
  thinking: { type: 'disabled' },
  stopSequences: [],
  responseFormat: { type: 'text' },
  warnings: [],
};

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
async function measure<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = cpuMs();
  const value = await f();
  return { ms: cpuMs() - t0, value };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const load = await measure(() => createTokenCounter({ multiplier: 1 }).countText('warm up'));
console.log(`tokenizer lazy load (first call):     ${load.ms.toFixed(1)} ms CPU`);

const cold: number[] = [];
const warm: number[] = [];
const uncached: number[] = [];
let tokens = 0;
for (let r = 0; r < RUNS; r++) {
  const counter = createTokenCounter({ multiplier: 1 });
  const first = await measure(() => counter.countConversation(base));
  tokens = first.value;
  cold.push(first.ms);
  // the next request of the session: same history plus one assistant reply and one user turn
  const grown: Conversation = {
    ...base,
    messages: [...base.messages, { role: 'assistant', content: [{ type: 'text', text: prose(80) }] }, { role: 'user', content: [{ type: 'text', text: `${prose(40)} #${r}` }] }],
  };
  warm.push((await measure(() => counter.countConversation(grown))).ms);
  const noCache = createTokenCounter({ multiplier: 1, cacheEntries: 0 });
  uncached.push((await measure(() => noCache.countConversation(grown))).ms);
}
console.log(`conversation: ${tokens} tokens, ${base.messages.length} messages, ${tools.length} tools; median of ${RUNS} runs`);
console.log(`first count (cold cache):             ${median(cold).toFixed(1)} ms CPU`);
console.log(`second count, one new turn (cached):  ${median(warm).toFixed(1)} ms CPU`);
console.log(`same second count without the cache:  ${median(uncached).toFixed(1)} ms CPU`);
