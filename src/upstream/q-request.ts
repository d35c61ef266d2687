// Conversation → GenerateAssistantResponse body (upstream-protocol.md §2.4–2.7), shaped so Q never
// answers "Improperly formed request" (§2.5). Pure: ids and time come from the caller.
//
// Decisions (see also docs in q-request-turns.ts / q-request-tools.ts):
// - System text has no slot: it opens the first user message of the history (the current message
//   when there is none), so it is sent on every request whatever the last turn holds.
// - Thinking in assistant history is dropped: Q CLI never sends reasoning back, unsigned
//   `reasoningContent` is a rejection risk, and `<thinking>` text would teach the model to print tags.
// - A trailing assistant message (prefill) stays in history; a user turn asks to continue it.
// - tool_choice has no Q equivalent: it becomes an instruction at the end of the user turn.
// - With a HistoryResume, the history a previous request of the conversation already converted is
//   reused, serialised, once it is checked equal (q-request-cache.ts): a Claude Code request
//   repeats ~150k tokens of history to add one turn.

import type { Conversation, Message, ResponseFormat, ThinkingRequest } from '../dialects/conversation';
import { appendChunk, type ClientToolsSnapshot, type HistoryResume, type HistorySnapshot } from './q-request-cache';
import {
  MAX_TOOL_DESCRIPTION,
  MAX_TOOL_NAME,
  stubToolSpec,
  toolChoiceInstruction,
  ToolNamer,
  toolSpec,
} from './q-request-tools';
import {
  type QImage,
  type QToolResult,
  type QToolUse,
  TOOL_RESULTS_PLACEHOLDER,
  toTurns,
  TurnConverter,
  USER_PLACEHOLDER,
  type UserTurnOut,
} from './q-request-turns';

export { MAX_TOOL_DESCRIPTION, MAX_TOOL_NAME };

export interface BuildOptions {
  /** resolved Q model id (models.ts) */
  modelId: string;
  /** a UUID from the caller (no randomness in here) */
  conversationId: string;
  /** sent as the top-level profileArn when set */
  profileArn?: string;
  /** default 'AI_EDITOR' */
  origin?: string;
}

/** upstream tool name → the client's original name, for the names we had to alias */
export type ToolNameMap = ReadonlyMap<string, string>;

export interface BuiltRequest {
  /** the body as sent, {"conversationState":{…},"profileArn"?}: made once, reusable for every attempt */
  payload(): Blob;
  /** the same as text (made on first use: the gateway itself sends only `payload`) */
  readonly json: string;
  /** the same, parsed (on first use) */
  readonly body: Record<string, unknown>;
  /** what the next request of this conversation can resume from (absent when nothing is worth keeping) */
  snapshot?: HistorySnapshot;
  toolNames: ToolNameMap;
  /** what the builder changed that the client may notice (truncations, synthesized results, stubs…); not the Conversation's own warnings */
  warnings: string[];
}

/** Kiro IDE's origin (§5.6); the Python q2api's KIRO_CLI also works. */
export const DEFAULT_ORIGIN = 'AI_EDITOR';
/** The budget sent when an `enabled` request carries no usable one (the Python q2api's value). */
export const DEFAULT_THINKING_BUDGET = 16_000;
/** Markers around the system text (the Python q2api's, so prompts look the same to the model). */
const SYSTEM_BEGIN = '--- SYSTEM PROMPT BEGIN ---';
const SYSTEM_END = '--- SYSTEM PROMPT END ---';
const INSTRUCTION_BEGIN = '--- INSTRUCTION BEGIN ---';
const INSTRUCTION_END = '--- INSTRUCTION END ---';
const JSON_ONLY =
  'Respond with a single valid JSON value only: no text before or after it and no Markdown code fences.';


/** §2.7: the prompt prefix that turns reasoning on for Claude via Kiro. */
function thinkingHint(thinking: ThinkingRequest): string | undefined {
  switch (thinking.type) {
    case 'disabled':
      return undefined;
    case 'enabled': {
      const n = Math.floor(thinking.budgetTokens);
      const budget = Number.isFinite(n) && n > 0 ? n : DEFAULT_THINKING_BUDGET;
      return `<thinking_mode>enabled</thinking_mode><max_thinking_length>${budget}</max_thinking_length>`;
    }
    case 'adaptive':
      return `<thinking_mode>adaptive</thinking_mode><thinking_effort>${thinking.effort ?? 'high'}</thinking_effort>`;
  }
}

function responseFormatInstruction(format: ResponseFormat): string | undefined {
  if (format.type === 'json_object') return `${JSON_ONLY} The value must be a JSON object.`;
  if (format.type === 'json_schema') {
    const name = format.name ? ` "${format.name}"` : '';
    return `${JSON_ONLY} It must conform to this JSON Schema${name}:\n${JSON.stringify(format.schema)}`;
  }
  return undefined;
}

function toolDocumentation(docs: ReadonlyArray<{ name: string; description: string }>): string | undefined {
  if (docs.length === 0) return undefined;
  const entries = docs.map((d) => `Tool: ${d.name}\nFull description:\n${d.description}`);
  return `Tool documentation (full descriptions of tools whose description was shortened):\n\n${entries.join('\n\n')}`;
}

/** The client's tools as specs (unless tool_choice is none). */
function clientTools(conv: Conversation, namer: Pick<ToolNamer, 'upstream'>): ClientToolsSnapshot {
  const specs: string[] = [];
  const docs: Array<{ name: string; description: string }> = [];
  const warnings: string[] = [];
  const offered = new Set<string>();
  const namerCalls: Array<readonly [string, string]> = [];
  if (conv.toolChoice.type !== 'none') {
    for (const tool of conv.tools) {
      const name = namer.upstream(tool.name);
      namerCalls.push([tool.name, name]);
      // Kiro matches tool names case-insensitively (kiro.rs): two specs of one name would clash.
      if (offered.has(name.toLowerCase())) {
        warnings.push(`duplicate tool definition ${tool.name} dropped`);
        continue;
      }
      offered.add(name.toLowerCase());
      const { spec, fullDescription } = toolSpec(tool, name);
      if (fullDescription !== undefined) {
        docs.push({ name, description: fullDescription });
        warnings.push(`description of tool ${tool.name} (${fullDescription.length} chars) truncated to ${MAX_TOOL_DESCRIPTION}; full text moved to the system prompt`);
      }
      specs.push(JSON.stringify(spec));
    }
  }
  return { specs, docs, warnings, offered: [...offered], namerCalls };
}

/** The tools Q gets: the client's plus stubs for names only history uses. */
function buildTools(client: ClientToolsSnapshot, historyNames: Iterable<string>, warnings: string[]) {
  const specs = [...client.specs];
  warnings.push(...client.warnings);
  const offered = new Set(client.offered);
  const offeredByClient = specs.length > 0;
  for (const name of historyNames) {
    if (offered.has(name.toLowerCase())) continue;
    offered.add(name.toLowerCase());
    specs.push(JSON.stringify(stubToolSpec(name)));
    warnings.push(`stub spec sent for tool ${name}, used in history but not offered`);
  }
  return { specs, docs: client.docs, offeredByClient };
}

/**
 * `{"userInputMessage":{…}}` as JSON, by hand around the tool specs (already JSON), in the key order
 * (and so to the bytes) JSON.stringify gives {content, modelId, origin, images?,
 * userInputMessageContext?: {toolResults?, tools?}}.
 */
function userMessageJson(content: string, out: UserTurnOut, modelId: string, origin: string, toolSpecs: readonly string[] = []): string {
  let json = `{"userInputMessage":{"content":${JSON.stringify(content)},"modelId":${JSON.stringify(modelId)},"origin":${JSON.stringify(origin)}`;
  if (out.images.length > 0) json += `,"images":${JSON.stringify(out.images)}`;
  const results = out.toolResults.length > 0;
  if (results || toolSpecs.length > 0) {
    json += ',"userInputMessageContext":{';
    if (results) json += `"toolResults":${JSON.stringify(out.toolResults)}`;
    if (toolSpecs.length > 0) json += `${results ? ',' : ''}"tools":[${toolSpecs.join(',')}]`;
    json += '}';
  }
  return `${json}}}`;
}

function turnText(out: UserTurnOut): string {
  if (out.text !== '') return out.text;
  return out.toolResults.length > 0 ? TOOL_RESULTS_PLACEHOLDER : USER_PLACEHOLDER;
}

export function buildQRequest(conv: Conversation, opts: BuildOptions, resume?: HistoryResume): BuiltRequest {
  const warnings: string[] = [];
  const turns = toTurns(conv.messages, warnings);
  const clientNames = conv.tools.map((t) => t.name);
  for (const t of turns) for (const p of t.parts) if (p.type === 'tool_call') clientNames.push(p.name);
  const origin = opts.origin ?? DEFAULT_ORIGIN;
  // Turns alternate user/assistant starting with user and ending with user (toTurns): the last one
  // is the current message, the others are history (entry 0 a user turn).
  const historyCount = turns.length - 1;

  let namer = new ToolNamer(clientNames);
  const from = resume !== undefined && resumable(resume, conv.messages, historyCount, opts.modelId, origin, namer) ? resume.snapshot : undefined;
  if (from === undefined && resume !== undefined) namer = new ToolNamer(clientNames); // the check may have named tools

  // Every name the conversion asks for is recorded, so that a later request can check that its own
  // namer agrees before it reuses this conversion.
  const namerCalls: Array<readonly [string, string]> = from ? [...from.namerCalls] : [];
  const recordingNamer = {
    upstream(name: string): string {
      const upstream = namer.upstream(name);
      namerCalls.push([name, upstream]);
      return upstream;
    },
  };
  const convertWarnings: string[] = from ? [...from.warnings] : [];
  const convert = new TurnConverter(recordingNamer, convertWarnings, from?.converter);
  let first: UserTurnOut | undefined = from?.first;
  const added: string[] = [];
  let previousUses: readonly QToolUse[] = from?.previousUses ?? [];
  const historyToolNames = new Set<string>(from?.historyToolNames);
  for (let i = from ? from.turnCount : 0; i < historyCount; i++) {
    const turn = turns[i]!;
    if (turn.role === 'assistant') {
      const out = convert.assistant(turn.parts);
      for (const use of out.toolUses) historyToolNames.add(use.name);
      previousUses = out.toolUses;
      const message = out.toolUses.length > 0 ? { content: out.content, toolUses: out.toolUses } : { content: out.content };
      added.push(JSON.stringify({ assistantResponseMessage: message }));
    } else {
      const out = convert.user(turn.parts, previousUses);
      previousUses = [];
      if (i === 0) first = out;
      else added.push(userMessageJson(turnText(out), out, opts.modelId, origin));
    }
  }
  const historyCalls = namerCalls.length;
  const historyWarnings = convertWarnings.length;
  const converterState = convert.state();
  const current = convert.user(turns[historyCount]!.parts, previousUses);
  warnings.push(...convertWarnings);

  // The client's tools are reused with the history when they are the same list and name the same.
  const cached = from?.clientTools;
  const reuse = cached !== undefined && resume!.sameTools && conv.toolChoice.type !== 'none' && namesAgree(cached.namerCalls, namer);
  const client = reuse ? cached : clientTools(conv, namer);
  const tools = buildTools(client, historyToolNames, warnings);
  const systemParts = [conv.system.trim() !== '' ? conv.system : undefined, responseFormatInstruction(conv.responseFormat), toolDocumentation(tools.docs)];
  const systemText = systemParts.filter((s): s is string => s !== undefined).join('\n\n');
  const systemBlock = systemText === '' ? '' : `${SYSTEM_BEGIN}\n${systemText}\n${SYSTEM_END}\n\n`;

  let content = (historyCount === 0 ? systemBlock : '') + turnText(current);
  const instruction = toolChoiceInstruction(conv.toolChoice, namer, tools.offeredByClient);
  if (instruction !== undefined) content += `\n\n${INSTRUCTION_BEGIN}\n${instruction}\n${INSTRUCTION_END}`;
  const hint = thinkingHint(conv.thinking);
  if (hint !== undefined) content = `${hint}\n${content}`;

  // History entries 1… travel as UTF-8 chunks, kept for the next request of the conversation.
  const chunk = added.length > 0 ? new TextEncoder().encode(`,${added.join(',')}`) : undefined;
  const chunks = appendChunk(from?.chunks ?? [], chunk);

  // The body, in the order (and so to the bytes) JSON.stringify gives {conversationState:
  // {conversationId, history?, currentMessage, chatTriggerType, agentTaskType}, profileArn?}.
  const pieces: Array<string | Uint8Array> = [`{"conversationState":{"conversationId":${JSON.stringify(opts.conversationId)}`];
  if (first !== undefined) {
    pieces.push(`,"history":[${userMessageJson(systemBlock + turnText(first), first, opts.modelId, origin)}`, ...chunks, ']');
  }
  let tail = `,"currentMessage":${userMessageJson(content, current, opts.modelId, origin, tools.specs)},"chatTriggerType":"MANUAL","agentTaskType":"vibe"}`;
  tail += opts.profileArn ? `,"profileArn":${JSON.stringify(opts.profileArn)}}` : '}';
  pieces.push(tail);

  const opener = turns[historyCount]!.from;
  const snapshot: HistorySnapshot | undefined =
    first === undefined || opener < 0
      ? undefined
      : {
          messageCount: opener,
          turnCount: historyCount,
          modelId: opts.modelId,
          origin,
          first,
          chunks,
          converter: converterState,
          previousUses,
          historyToolNames: [...historyToolNames],
          namerCalls: namerCalls.slice(0, historyCalls),
          warnings: convertWarnings.slice(0, historyWarnings),
          ...(client.specs.length > 0 ? { clientTools: client } : {}),
        };
  return builtRequest(pieces, namer.aliases, warnings, snapshot);
}

/** Whether the snapshot covers the new request's leading history exactly (see q-request-cache.ts). */
function resumable(resume: HistoryResume, messages: readonly Message[], historyCount: number, modelId: string, origin: string, namer: ToolNamer): boolean {
  const s = resume.snapshot;
  if (s.modelId !== modelId || s.origin !== origin || s.turnCount > historyCount) return false;
  // Messages 0 … messageCount − 1 made the snapshot's history turns; they are the same here. Its last
  // turn (an assistant one) ends the same way only if the next message with content is a user's.
  if (resume.sharedMessages < s.messageCount) return false;
  let next = s.messageCount;
  while (next < messages.length && messages[next]!.content.length === 0) next++;
  if (messages[next]?.role !== 'user') return false;
  return namesAgree(s.namerCalls, namer);
}

/** The same calls in the same order must give the same names (aliases depend on every name offered). */
function namesAgree(calls: ReadonlyArray<readonly [string, string]>, namer: ToolNamer): boolean {
  for (const [name, upstream] of calls) if (namer.upstream(name) !== upstream) return false;
  return true;
}

function builtRequest(pieces: ReadonlyArray<string | Uint8Array>, toolNames: ToolNameMap, warnings: string[], snapshot: HistorySnapshot | undefined): BuiltRequest {
  let payload: Blob | undefined;
  let json: string | undefined;
  let body: Record<string, unknown> | undefined;
  const built: BuiltRequest = {
    payload() {
      payload ??= new Blob(pieces as Array<string | Uint8Array<ArrayBuffer>>);
      return payload;
    },
    get json() {
      if (json === undefined) {
        const decoder = new TextDecoder();
        json = pieces.map((p) => (typeof p === 'string' ? p : decoder.decode(p))).join('');
      }
      return json;
    },
    get body() {
      body ??= JSON.parse(built.json) as Record<string, unknown>;
      return body;
    },
    toolNames,
    warnings,
  };
  if (snapshot !== undefined) built.snapshot = snapshot;
  return built;
}
