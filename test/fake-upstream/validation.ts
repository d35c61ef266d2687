// Request checks of §6.2: the minimal shape every GenerateAssistantResponse body must have, and
// the strict mode that enforces the §2.5 rules 1–6 plus known model ids with the real 400 bodies.

import type { FakeConfig } from './config';
import { qErrors, type QError } from './errors';

export interface ChatRequest {
  body: Record<string, unknown>;
  content: string;
  toolNames: string[];
  conversationId: string | null;
  profileArn: string | null;
  dryRun: boolean;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function toolNamesOf(message: Json): string[] {
  const ctx = message.userInputMessageContext;
  if (!isObject(ctx) || !Array.isArray(ctx.tools)) return [];
  const names: string[] = [];
  for (const t of ctx.tools) {
    const name = isObject(t) && isObject(t.toolSpecification) ? t.toolSpecification.name : undefined;
    if (typeof name === 'string') names.push(name);
  }
  return names;
}

/** Always applied: JSON object, conversationState.currentMessage.userInputMessage.content string, chatTriggerType. */
export function parseChatRequest(raw: Uint8Array): ChatRequest | QError {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    return qErrors.malformed();
  }
  if (!isObject(body) || !isObject(body.conversationState)) return qErrors.malformed();
  const cs = body.conversationState;
  const current = isObject(cs.currentMessage) ? cs.currentMessage.userInputMessage : undefined;
  if (!isObject(current) || typeof current.content !== 'string' || cs.chatTriggerType === undefined) return qErrors.malformed();
  return {
    body,
    content: current.content,
    toolNames: toolNamesOf(current),
    conversationId: typeof cs.conversationId === 'string' ? cs.conversationId : null,
    profileArn: typeof body.profileArn === 'string' ? body.profileArn : null,
    dryRun: body.dryRun === true,
  };
}

/** The first history userInputMessage content: where gateways put the system prompt (marker search). */
export function firstHistoryUserContent(body: Json): string | null {
  const cs = body.conversationState as Json;
  if (!Array.isArray(cs.history)) return null;
  for (const entry of cs.history) {
    if (isObject(entry) && isObject(entry.userInputMessage) && typeof entry.userInputMessage.content === 'string') {
      return entry.userInputMessage.content;
    }
  }
  return null;
}

// ── strict mode ──

const TOOL_USE_ID = /^[A-Za-z0-9_-]{1,64}$/;
// Limits from §2.5 rule 4 (kiro-gateway's 10 000-char description limit).
const MAX_TOOL_NAME = 64;
const MAX_TOOL_DESCRIPTION = 10_000;

class Violation extends Error {}

function fail(why: string): never {
  throw new Violation(why);
}

function noNulls(v: unknown, path: string): void {
  if (v === null) fail(`null at ${path}`);
  if (Array.isArray(v)) v.forEach((x, i) => noNulls(x, `${path}[${i}]`));
  else if (isObject(v)) for (const [k, x] of Object.entries(v)) noNulls(x, `${path}.${k}`);
}

function checkTools(ctx: Json): void {
  if (ctx.tools === undefined) return;
  if (!Array.isArray(ctx.tools)) fail('tools is not an array');
  for (const t of ctx.tools) {
    if (!isObject(t)) fail('tool entry is not an object');
    if (t.cachePoint !== undefined) continue;
    const spec = t.toolSpecification;
    if (!isObject(spec)) fail('tool without toolSpecification');
    if (typeof spec.name !== 'string' || spec.name === '' || spec.name.length > MAX_TOOL_NAME) fail('bad tool name');
    if (spec.description !== undefined && (typeof spec.description !== 'string' || spec.description.length > MAX_TOOL_DESCRIPTION)) {
      fail('bad tool description');
    }
    const schema = isObject(spec.inputSchema) ? spec.inputSchema.json : undefined;
    if (!isObject(schema)) fail('inputSchema.json is not an object');
    if (schema.type !== undefined && schema.type !== 'object') fail('inputSchema.json is not an object schema');
    for (const k of ['oneOf', 'allOf', 'anyOf']) if (k in schema) fail(`inputSchema.json has top-level ${k}`);
  }
}

/** Rule 3 + 5: every result answers a tool use of the preceding assistant turn, once. */
function checkToolResults(ctx: Json, previousToolUseIds: Set<string>): void {
  if (ctx.toolResults === undefined) return;
  if (!Array.isArray(ctx.toolResults)) fail('toolResults is not an array');
  const seen = new Set<string>();
  for (const r of ctx.toolResults) {
    if (!isObject(r) || typeof r.toolUseId !== 'string' || !TOOL_USE_ID.test(r.toolUseId)) fail('bad toolResults entry');
    if (seen.has(r.toolUseId)) fail('duplicate toolUseId in toolResults');
    seen.add(r.toolUseId);
    if (!previousToolUseIds.has(r.toolUseId)) fail('toolResult without matching toolUse');
    if (!Array.isArray(r.content)) fail('toolResult content is not an array');
    if (r.status !== undefined && r.status !== 'success' && r.status !== 'error') fail('bad toolResult status');
  }
}

function checkUser(message: unknown, previousToolUseIds: Set<string>, models: string[]): void {
  if (!isObject(message)) fail('userInputMessage is not an object');
  if (typeof message.content !== 'string' || message.content.trim() === '') fail('empty user content');
  if (message.modelId !== undefined) models.push(String(message.modelId));
  const ctx = message.userInputMessageContext;
  if (ctx === undefined) return;
  if (!isObject(ctx)) fail('userInputMessageContext is not an object');
  checkTools(ctx);
  checkToolResults(ctx, previousToolUseIds);
}

function checkAssistant(message: unknown): Set<string> {
  if (!isObject(message)) fail('assistantResponseMessage is not an object');
  if (typeof message.content !== 'string') fail('assistant content is not a string');
  const ids = new Set<string>();
  if (message.toolUses === undefined) return ids;
  if (!Array.isArray(message.toolUses)) fail('toolUses is not an array');
  for (const u of message.toolUses) {
    if (!isObject(u) || typeof u.toolUseId !== 'string' || !TOOL_USE_ID.test(u.toolUseId)) fail('bad toolUseId');
    if (typeof u.name !== 'string' || u.name === '') fail('tool use without name');
    if (!isObject(u.input)) fail('tool use input is not an object');
    ids.add(u.toolUseId);
  }
  return ids;
}

function checkConversation(body: Json, models: string[]): void {
  noNulls(body, '$');
  const cs = body.conversationState as Json;
  const currentMessage = cs.currentMessage as Json;
  if (Object.keys(currentMessage).length !== 1) fail('currentMessage must hold exactly userInputMessage');
  let previousToolUseIds = new Set<string>();
  if (cs.history !== undefined) {
    if (!Array.isArray(cs.history) || cs.history.length === 0) fail('history must be omitted rather than empty');
    cs.history.forEach((entry, i) => {
      if (!isObject(entry) || Object.keys(entry).length !== 1) fail('history entry must hold exactly one message');
      const wantUser = i % 2 === 0;
      if (wantUser) {
        if (!('userInputMessage' in entry)) fail(`history[${i}] must be a userInputMessage`);
        checkUser(entry.userInputMessage, previousToolUseIds, models);
        previousToolUseIds = new Set();
      } else {
        if (!('assistantResponseMessage' in entry)) fail(`history[${i}] must be an assistantResponseMessage`);
        previousToolUseIds = checkAssistant(entry.assistantResponseMessage);
      }
    });
    if (cs.history.length % 2 !== 0) fail('history must end with an assistantResponseMessage');
  }
  checkUser(currentMessage.userInputMessage, previousToolUseIds, models);
}

/** null = acceptable. The reason is only for the fake's own log; the real service says nothing more. */
export function strictViolation(body: Json, config: FakeConfig): { error: QError; why: string } | null {
  const models: string[] = [];
  try {
    checkConversation(body, models);
  } catch (err) {
    if (err instanceof Violation) return { error: qErrors.malformed(), why: err.message };
    throw err;
  }
  const known = new Set([...config.known_models, ...config.hidden_models]);
  const bad = models.find((m) => !known.has(m));
  if (bad !== undefined) return { error: qErrors.invalidModel(), why: `unknown modelId ${bad}` };
  return null;
}
