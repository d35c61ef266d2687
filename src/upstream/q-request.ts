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

import type { Conversation, ResponseFormat, ThinkingRequest } from '../dialects/conversation';
import {
  MAX_TOOL_DESCRIPTION,
  MAX_TOOL_NAME,
  stubToolSpec,
  toolChoiceInstruction,
  ToolNamer,
  toolSpec,
  type ToolSpecResult,
} from './q-request-tools';
import {
  type AssistantTurnOut,
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
  /** the JSON body: {conversationState:{…}, profileArn?} */
  body: Record<string, unknown>;
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

interface QUserInputMessage {
  content: string;
  modelId: string;
  origin: string;
  images?: QImage[];
  userInputMessageContext?: { tools?: Array<ToolSpecResult['spec']>; toolResults?: QToolResult[] };
}
type QChatMessage =
  | { userInputMessage: QUserInputMessage }
  | { assistantResponseMessage: { content: string; toolUses?: QToolUse[] } };

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

/** The tools Q gets: the client's (unless tool_choice is none) plus stubs for names only history uses. */
function buildTools(conv: Conversation, namer: ToolNamer, historyNames: Iterable<string>, warnings: string[]) {
  const specs: Array<ToolSpecResult['spec']> = [];
  const docs: Array<{ name: string; description: string }> = [];
  const offered = new Set<string>();
  if (conv.toolChoice.type !== 'none') {
    for (const tool of conv.tools) {
      const name = namer.upstream(tool.name);
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
      specs.push(spec);
    }
  }
  const offeredByClient = specs.length > 0;
  for (const name of historyNames) {
    if (offered.has(name.toLowerCase())) continue;
    offered.add(name.toLowerCase());
    specs.push(stubToolSpec(name));
    warnings.push(`stub spec sent for tool ${name}, used in history but not offered`);
  }
  return { specs, docs, offeredByClient };
}

function userMessage(content: string, out: UserTurnOut, opts: BuildOptions, tools?: Array<ToolSpecResult['spec']>): QUserInputMessage {
  const msg: QUserInputMessage = { content, modelId: opts.modelId, origin: opts.origin ?? DEFAULT_ORIGIN };
  if (out.images.length > 0) msg.images = out.images;
  const context: NonNullable<QUserInputMessage['userInputMessageContext']> = {};
  if (out.toolResults.length > 0) context.toolResults = out.toolResults;
  if (tools && tools.length > 0) context.tools = tools;
  if (context.toolResults || context.tools) msg.userInputMessageContext = context;
  return msg;
}

function turnText(out: UserTurnOut): string {
  if (out.text !== '') return out.text;
  return out.toolResults.length > 0 ? TOOL_RESULTS_PLACEHOLDER : USER_PLACEHOLDER;
}

export function buildQRequest(conv: Conversation, opts: BuildOptions): BuiltRequest {
  const warnings: string[] = [];
  const turns = toTurns(conv.messages, warnings);
  const clientNames = conv.tools.map((t) => t.name);
  for (const t of turns) for (const p of t.parts) if (p.type === 'tool_call') clientNames.push(p.name);
  const namer = new ToolNamer(clientNames);
  const convert = new TurnConverter(namer, warnings);

  // Turns alternate user/assistant starting with user and ending with user (toTurns), so turn i-1
  // is the assistant turn a user turn i answers, and the last turn is the current message.
  const outs: Array<AssistantTurnOut | UserTurnOut> = [];
  let previousUses: QToolUse[] = [];
  const historyToolNames = new Set<string>();
  for (const turn of turns) {
    if (turn.role === 'assistant') {
      const out = convert.assistant(turn.parts);
      for (const use of out.toolUses) historyToolNames.add(use.name);
      previousUses = out.toolUses;
      outs.push(out);
    } else {
      outs.push(convert.user(turn.parts, previousUses));
      previousUses = [];
    }
  }
  const current = outs.pop() as UserTurnOut; // toTurns never returns an empty list

  const tools = buildTools(conv, namer, historyToolNames, warnings);
  const systemParts = [conv.system.trim() !== '' ? conv.system : undefined, responseFormatInstruction(conv.responseFormat), toolDocumentation(tools.docs)];
  const systemText = systemParts.filter((s): s is string => s !== undefined).join('\n\n');
  const systemBlock = systemText === '' ? '' : `${SYSTEM_BEGIN}\n${systemText}\n${SYSTEM_END}\n\n`;

  const history: QChatMessage[] = outs.map((out, i) => {
    if ('toolResults' in out) return { userInputMessage: userMessage((i === 0 ? systemBlock : '') + turnText(out), out, opts) };
    return { assistantResponseMessage: out.toolUses.length > 0 ? { content: out.content, toolUses: out.toolUses } : { content: out.content } };
  });

  let content = (history.length === 0 ? systemBlock : '') + turnText(current);
  const instruction = toolChoiceInstruction(conv.toolChoice, namer, tools.offeredByClient);
  if (instruction !== undefined) content += `\n\n${INSTRUCTION_BEGIN}\n${instruction}\n${INSTRUCTION_END}`;
  const hint = thinkingHint(conv.thinking);
  if (hint !== undefined) content = `${hint}\n${content}`;

  const conversationState: Record<string, unknown> = { conversationId: opts.conversationId };
  if (history.length > 0) conversationState.history = history;
  conversationState.currentMessage = { userInputMessage: userMessage(content, current, opts, tools.specs) };
  conversationState.chatTriggerType = 'MANUAL';
  conversationState.agentTaskType = 'vibe';
  const body: Record<string, unknown> = { conversationState };
  if (opts.profileArn) body.profileArn = opts.profileArn;
  return { body, toolNames: namer.aliases, warnings };
}
