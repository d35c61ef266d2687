// The scenario catalogue of §6.4: successful streams here, HTTP errors and transport faults in
// faults.ts. Each builder turns a request context into a Plan; none does I/O.

import { faultScenarios } from './faults';
import {
  chunkText,
  commonArgs,
  ev,
  PLAIN_TEXT,
  streamPlan,
  textPlan,
  type ScenarioBuilder,
  type ScenarioContext,
  type StreamItem,
} from './plan';
import { ScenarioArgError, stripMarkers } from './selection';

const DEFAULT_TOOL = 'get_weather';
const TOOL_INPUT_FRAGMENTS = ['{"city":', '"Paris","un', 'it":"celsius"}'] as const;

/** `tooluse_fake` + 18 digits: 22 chars after `tooluse_`, like the real ids (§2.5 rule 5). */
export function fakeToolUseId(n: number): string {
  return `tooluse_fake${String(n).padStart(18, '0')}`;
}

function toolName(ctx: ScenarioContext, index: number): string {
  const explicit = ctx.args.str('name');
  if (explicit) return explicit;
  if (ctx.toolNames.length === 0) return DEFAULT_TOOL;
  return ctx.toolNames[index % ctx.toolNames.length]!;
}

/** The three raw `input` fragments; `input_b64=` replaces the JSON, cut into three near-equal parts. */
function inputFragments(ctx: ScenarioContext): string[] {
  const b64 = ctx.args.str('input_b64');
  if (b64 === undefined) return [...TOOL_INPUT_FRAGMENTS];
  const json = Buffer.from(b64, 'base64').toString('utf8');
  if (json === '') throw new ScenarioArgError('input_b64 decodes to an empty string');
  const size = Math.max(1, Math.ceil(Array.from(json).length / 3));
  return chunkText(json, size);
}

/** T0, Ti…, Ts for one tool call (§2.7 order). */
function toolCall(id: string, name: string, fragments: readonly string[]): StreamItem[] {
  return [ev.toolStart(id, name), ...fragments.map((f) => ev.toolInput(id, name, f)), ev.toolStop(id, name)];
}

const plain: ScenarioBuilder = (ctx) => {
  const common = commonArgs(ctx);
  return textPlan(ctx, common, common.text ?? PLAIN_TEXT);
};

const echo: ScenarioBuilder = (ctx) => {
  const common = commonArgs(ctx);
  return textPlan(ctx, common, `echo: ${stripMarkers(ctx.content)}`);
};

const long: ScenarioBuilder = (ctx) => {
  const common = commonArgs(ctx);
  const n = ctx.args.int('n', 500, 0, 1_000_000);
  const word = common.text ?? 'lorem ';
  return streamPlan(ctx, common, Array.from({ length: n }, () => ev.text(word)), { outputChars: n * word.length });
};

const THINKING_DELTAS = ['<thi', 'nking>The user gre', 'ets me; reply briefly.</thi', 'nking>\n\nHel', 'lo!'];

const thinking: ScenarioBuilder = (ctx) => {
  const common = commonArgs(ctx);
  const mode = ctx.args.oneOf('mode', ['text', 'event'] as const, 'text');
  if (mode === 'event') {
    const core = [
      ev.reasoning({ text: 'The user greets me; ' }),
      ev.reasoning({ text: 'reply briefly.' }),
      ev.reasoning({ signature: 'fake-sig' }),
      ev.text('Hello!'),
    ];
    return streamPlan(ctx, common, core, { outputChars: 40 });
  }
  return streamPlan(ctx, common, THINKING_DELTAS.map(ev.text), { outputChars: THINKING_DELTAS.join('').length });
};

const thinkingUnclosed: ScenarioBuilder = (ctx) =>
  streamPlan(ctx, commonArgs(ctx), [ev.text('<thinking>partial'), ev.text(' reasoning')], { tail: false });

function toolItems(ctx: ScenarioContext): StreamItem[] {
  return [ev.text('Let me check.'), ...toolCall(fakeToolUseId(1), toolName(ctx, 0), inputFragments(ctx))];
}

const tool: ScenarioBuilder = (ctx) => streamPlan(ctx, commonArgs(ctx), toolItems(ctx), { outputChars: 13 });

const tools: ScenarioBuilder = (ctx) => {
  const n = ctx.args.int('n', 2, 1, 1000);
  const fragments = inputFragments(ctx);
  const core = Array.from({ length: n }, (_, i) => toolCall(fakeToolUseId(i + 1), toolName(ctx, i), fragments)).flat();
  return streamPlan(ctx, commonArgs(ctx), core);
};

const toolThenText: ScenarioBuilder = (ctx) =>
  streamPlan(ctx, commonArgs(ctx), [...toolItems(ctx), ev.text('Done.')], { outputChars: 18 });

const toolTruncated: ScenarioBuilder = (ctx) => {
  const id = fakeToolUseId(1);
  const name = toolName(ctx, 0);
  return streamPlan(ctx, commonArgs(ctx), [ev.toolStart(id, name), ev.toolInput(id, name, '{"path":"/srv/a')], { tail: false });
};

const toolObjectInput: ScenarioBuilder = (ctx) => {
  const id = fakeToolUseId(1);
  const name = toolName(ctx, 0);
  const core = [ev.toolStart(id, name), ev.toolInput(id, name, { city: 'Paris', unit: 'celsius' }), ev.toolStop(id, name)];
  return streamPlan(ctx, commonArgs(ctx), core);
};

const dupText: ScenarioBuilder = (ctx) =>
  streamPlan(ctx, commonArgs(ctx), [ev.text('ha'), ev.text('ha'), ev.text('!')], { outputChars: 5 });

/** Known-but-irrelevant and unknown events interleaved with text: a client must skip them all. */
const unknownEvents: ScenarioBuilder = (ctx) => {
  const common = commonArgs(ctx);
  const text = common.text ?? PLAIN_TEXT;
  const noise = [
    ev.other('codeReferenceEvent', { references: [] }),
    ev.other('supplementaryWebLinksEvent', { supplementaryWebLinks: [] }),
    ev.other('followupPromptEvent', { followupPrompt: { content: 'More?' } }),
    ev.other('futureEvent', { x: 1 }),
  ];
  const deltas = chunkText(text, common.chunk);
  const core: StreamItem[] = [];
  deltas.forEach((delta, i) => {
    core.push(ev.text(delta));
    if (i < noise.length) core.push(noise[i]!);
  });
  // Short texts still carry every kind of noise.
  core.push(...noise.slice(Math.min(noise.length, deltas.length)));
  return streamPlan(ctx, common, core, { outputChars: text.length });
};

const empty: ScenarioBuilder = (ctx) => {
  const common = commonArgs(ctx);
  return streamPlan(ctx, { ...common, meta: false }, [], { tail: false });
};

/** SendMessage with `dryRun: true` answers a single dryRunSucceedEvent (§2.6). */
export const dryRun: ScenarioBuilder = (ctx) =>
  streamPlan(ctx, { ...commonArgs(ctx), meta: false }, [ev.other('dryRunSucceedEvent', {})], { tail: false });

export const SCENARIOS: ReadonlyMap<string, ScenarioBuilder> = new Map<string, ScenarioBuilder>([
  ['plain', plain],
  ['echo', echo],
  ['long', long],
  ['thinking', thinking],
  ['thinking_unclosed', thinkingUnclosed],
  ['tool', tool],
  ['tools', tools],
  ['tool_then_text', toolThenText],
  ['tool_truncated', toolTruncated],
  ['tool_object_input', toolObjectInput],
  ['dup_text', dupText],
  ['unknown_events', unknownEvents],
  ['empty', empty],
  ...faultScenarios(plain),
]);
