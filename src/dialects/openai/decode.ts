// OpenAI Chat Completions request JSON → Conversation (pure). Parameters Q cannot honour are either
// tolerated (documented below, so clients written for OpenAI keep working) or rejected with a 400
// naming the field; nothing is silently mis-served.

import { type Conversation, MAX_MODEL_NAME_CHARS, MAX_TOOLS, type ResponseFormat, type ThinkingRequest, type ToolChoice, type ToolDefinition } from '../conversation';
import { decodeMessages, invalid, isRecord, type PendingImage } from './decode-messages';

export type { PendingImage } from './decode-messages';

export interface DecodedChatRequest {
  conversation: Conversation;
  stream: boolean;
  /** `stream_options.include_usage`: one extra chunk with `choices: []` and `usage` before [DONE] */
  includeUsage: boolean;
  /** http(s) images the shell must fetch (and fill in) before the conversation is run */
  pendingImages: PendingImage[];
}

/** OpenAI's own limit on `stop` sequences. */
export const MAX_STOP_SEQUENCES = 4;

/**
 * `reasoning_effort` → the thinking hint, as adaptive thinking with an effort (the request builder
 * turns it into Kiro's budget). OpenAI's `none` turns thinking off; `minimal` is the least Kiro
 * offers (`low`); `xhigh` and the non-standard `max` some clients send ask for the most.
 */
const EFFORT: Readonly<Record<string, ThinkingRequest>> = {
  none: { type: 'disabled' },
  minimal: { type: 'adaptive', effort: 'low' },
  low: { type: 'adaptive', effort: 'low' },
  medium: { type: 'adaptive', effort: 'medium' },
  high: { type: 'adaptive', effort: 'high' },
  xhigh: { type: 'adaptive', effort: 'max' },
  max: { type: 'adaptive', effort: 'max' },
};

function optionalNumber(body: Record<string, unknown>, key: string, min: number, max: number): void {
  const v = body[key];
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw invalid(`${key} must be a number from ${min} to ${max}.`, key);
  }
}

function positiveInt(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw invalid(`${key} must be a positive integer.`, key);
  return v;
}

function decodeTools(raw: unknown): ToolDefinition[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid('tools must be an array.', 'tools');
  if (raw.length > MAX_TOOLS) throw invalid(`tools takes at most ${MAX_TOOLS} tools.`, 'tools');
  const seen = new Set<string>();
  return raw.map((t, i) => {
    const at = `tools[${i}]`;
    if (!isRecord(t)) throw invalid(`${at} must be an object.`, at);
    if (t.type !== 'function') {
      throw invalid(`${at}.type ${JSON.stringify(t.type)} is not supported; only "function" tools are.`, `${at}.type`);
    }
    const fn = t.function;
    if (!isRecord(fn)) throw invalid(`${at}.function must be an object.`, `${at}.function`);
    if (typeof fn.name !== 'string' || fn.name === '') {
      throw invalid(`${at}.function.name must be a non-empty string.`, `${at}.function.name`);
    }
    if (seen.has(fn.name)) throw invalid(`${at}.function.name ${JSON.stringify(fn.name)} is defined twice.`, `${at}.function.name`);
    seen.add(fn.name);
    if (fn.description !== undefined && fn.description !== null && typeof fn.description !== 'string') {
      throw invalid(`${at}.function.description must be a string.`, `${at}.function.description`);
    }
    if (fn.parameters !== undefined && fn.parameters !== null && !isRecord(fn.parameters)) {
      throw invalid(`${at}.function.parameters must be a JSON Schema object.`, `${at}.function.parameters`);
    }
    // OpenAI documents a missing `parameters` as "a function with an empty parameter list".
    const inputSchema = isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} };
    return { name: fn.name, description: typeof fn.description === 'string' ? fn.description : '', inputSchema };
  });
}

function decodeToolChoice(raw: unknown, tools: ToolDefinition[]): ToolChoice {
  if (raw === undefined || raw === null) return { type: tools.length > 0 ? 'auto' : 'none' };
  if (raw === 'none') return { type: 'none' };
  if (raw === 'auto') return { type: 'auto' };
  if (raw === 'required') {
    if (tools.length === 0) throw invalid('tool_choice "required" needs at least one tool in tools.', 'tool_choice');
    return { type: 'any' };
  }
  if (isRecord(raw) && raw.type === 'function' && isRecord(raw.function) && typeof raw.function.name === 'string') {
    const name = raw.function.name;
    if (!tools.some((t) => t.name === name)) {
      throw invalid(`tool_choice names the function ${JSON.stringify(name)}, which is not in tools.`, 'tool_choice');
    }
    return { type: 'tool', name };
  }
  throw invalid('tool_choice must be "none", "auto", "required" or {"type":"function","function":{"name":…}}.', 'tool_choice');
}

function decodeStop(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) {
    throw invalid('stop must be a string or an array of strings.', 'stop');
  }
  if (list.length > MAX_STOP_SEQUENCES) throw invalid(`stop takes at most ${MAX_STOP_SEQUENCES} sequences.`, 'stop');
  // An empty sequence would match at once; OpenAI ignores it, so do we.
  return (list as string[]).filter((s) => s !== '');
}

function decodeThinking(body: Record<string, unknown>): ThinkingRequest {
  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null) {
    const t = typeof effort === 'string' ? EFFORT[effort.toLowerCase()] : undefined;
    if (!t) throw invalid('reasoning_effort must be one of none, minimal, low, medium, high, xhigh, max.', 'reasoning_effort');
    return t;
  }
  // Some OpenAI-compatible clients pass Anthropic's `thinking` object through; honour it when well-formed.
  const th = body.thinking;
  if (isRecord(th)) {
    if (th.type === 'disabled') return { type: 'disabled' };
    if (th.type === 'adaptive') return { type: 'adaptive' };
    if (th.type === 'enabled' && typeof th.budget_tokens === 'number' && th.budget_tokens > 0) {
      return { type: 'enabled', budgetTokens: Math.floor(th.budget_tokens) };
    }
  }
  return { type: 'disabled' };
}

function decodeResponseFormat(raw: unknown): ResponseFormat {
  if (raw === undefined || raw === null) return { type: 'text' };
  if (!isRecord(raw)) throw invalid('response_format must be an object.', 'response_format');
  switch (raw.type) {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const js = raw.json_schema;
      if (!isRecord(js) || (js.schema !== undefined && !isRecord(js.schema))) {
        throw invalid('response_format.json_schema must be {"name":…, "schema":{…}}.', 'response_format.json_schema');
      }
      const out: ResponseFormat = { type: 'json_schema', schema: isRecord(js.schema) ? js.schema : {} };
      if (typeof js.name === 'string') out.name = js.name;
      if (typeof js.strict === 'boolean') out.strict = js.strict;
      return out;
    }
    default:
      throw invalid('response_format.type must be "text", "json_object" or "json_schema".', 'response_format.type');
  }
}

/** Rejections for features Q cannot serve at all: answering without them would be a silent lie. */
function rejectUnsupported(body: Record<string, unknown>): void {
  if (body.n !== undefined && body.n !== null && body.n !== 1) {
    throw invalid('n must be 1: this gateway generates one choice per request.', 'n');
  }
  if (body.logprobs === true) throw invalid('logprobs are not available from Amazon Q.', 'logprobs');
  if (typeof body.top_logprobs === 'number' && body.top_logprobs > 0) {
    throw invalid('top_logprobs is not available from Amazon Q.', 'top_logprobs');
  }
  if (Array.isArray(body.modalities) && body.modalities.some((m) => m !== 'text')) {
    throw invalid('only the "text" output modality is supported.', 'modalities');
  }
  if (body.audio !== undefined && body.audio !== null) throw invalid('audio output is not supported.', 'audio');
  const legacy = (['functions', 'function_call'] as const).find((k) => body[k] !== undefined && body[k] !== null);
  if (legacy) throw invalid(`${legacy} (legacy functions API) is not supported; use tools and tool_choice.`, legacy);
}

/**
 * Decodes a request body. Tolerated and ignored: `temperature`, `top_p` (range-checked),
 * `frequency_penalty`, `presence_penalty`, `logit_bias`, `seed`, `user`, `metadata`, `store`,
 * `service_tier`, `prediction`, `logprobs:false`. `parallel_tool_calls:false` cannot be enforced
 * (Q has no switch) and is reported in `warnings`.
 */
export function decodeChatRequest(body: unknown): DecodedChatRequest {
  if (!isRecord(body)) throw invalid('The request body must be a JSON object.', 'body');
  if (typeof body.model !== 'string' || body.model.trim() === '') throw invalid('model must be a non-empty string.', 'model');
  if (body.model.length > MAX_MODEL_NAME_CHARS) throw invalid(`model must be at most ${MAX_MODEL_NAME_CHARS} characters.`, 'model');
  rejectUnsupported(body);
  optionalNumber(body, 'temperature', 0, 2);
  optionalNumber(body, 'top_p', 0, 1);
  optionalNumber(body, 'frequency_penalty', -2, 2);
  optionalNumber(body, 'presence_penalty', -2, 2);
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw invalid('stream must be a boolean.', 'stream');
  }
  if (body.stream_options !== undefined && body.stream_options !== null && !isRecord(body.stream_options)) {
    throw invalid('stream_options must be an object.', 'stream_options');
  }
  if (body.parallel_tool_calls !== undefined && body.parallel_tool_calls !== null && typeof body.parallel_tool_calls !== 'boolean') {
    throw invalid('parallel_tool_calls must be a boolean.', 'parallel_tool_calls');
  }

  const { system, messages, pendingImages, warnings } = decodeMessages(body.messages);
  const tools = decodeTools(body.tools);
  const toolChoice = decodeToolChoice(body.tool_choice, tools);
  if (body.parallel_tool_calls === false && tools.length > 0) {
    warnings.push('parallel_tool_calls=false is not enforced: the model may still call several tools at once');
  }
  // max_completion_tokens replaced max_tokens in the OpenAI API; when both come, the newer one wins
  // (both are still validated).
  positiveInt(body, 'max_tokens');
  const maxCompletion = positiveInt(body, 'max_completion_tokens');
  const maxTokens = maxCompletion ?? positiveInt(body, 'max_tokens');

  const conversation: Conversation = {
    model: body.model.trim(),
    system,
    messages,
    tools,
    toolChoice,
    thinking: decodeThinking(body),
    stopSequences: decodeStop(body.stop),
    responseFormat: decodeResponseFormat(body.response_format),
    warnings,
  };
  if (maxTokens !== undefined) conversation.maxTokens = maxTokens;
  const stream = body.stream === true;
  const includeUsage = stream && isRecord(body.stream_options) && body.stream_options.include_usage === true;
  return { conversation, stream, includeUsage, pendingImages };
}
