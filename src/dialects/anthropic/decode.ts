// Anthropic Messages request JSON → Conversation (pure). Accepts everything the Anthropic API
// accepts; what Amazon Q cannot do is dropped with a warning or refused with a 400 naming the field.

import { type Conversation, MAX_MODEL_NAME_CHARS, type Message, type ResponseFormat, type ThinkingEffort, type ThinkingRequest } from '../conversation';
import { decodeContent, type ContentSink, type PendingImage } from './content';
import {
  asArray,
  asObject,
  invalid,
  isObject,
  join,
  oneOf,
  optionalBoolean,
  optionalInteger,
  optionalNumber,
  optionalString,
  requiredString,
} from './fields';
import { decodeToolChoice, decodeTools } from './tools';

export type { PendingImage } from './content';

export interface DecodedAnthropicRequest {
  conversation: Conversation;
  stream: boolean;
  /** URL image sources: their placeholder parts are inside `conversation` until the shell fills them */
  pendingImages: PendingImage[];
}

export interface DecodeOptions {
  /** `/v1/messages` requires `max_tokens`; `/v1/messages/count_tokens` does not take it */
  requireMaxTokens: boolean;
}

const EFFORTS = ['low', 'medium', 'high', 'max'] as const satisfies readonly ThinkingEffort[];

function decodeSystem(raw: unknown): string {
  if (raw === undefined || raw === null) return '';
  if (typeof raw === 'string') return raw;
  // cache_control and citations on system blocks are accepted and ignored: Q has no prompt cache API.
  return asArray(raw, 'system')
    .map((item, i) => {
      const param = join('system', i);
      const block = asObject(item, param);
      oneOf(block, 'type', param, ['text'] as const);
      return requiredString(block, 'text', param);
    })
    .filter((t) => t !== '')
    .join('\n\n');
}

function decodeMessages(raw: unknown, sink: ContentSink): Message[] {
  if (raw === undefined || raw === null) throw invalid('messages', 'Field required');
  const list = asArray(raw, 'messages');
  if (list.length === 0) throw invalid('messages', 'at least one message is required');
  return list.map((item, i) => {
    const param = join('messages', i);
    const message = asObject(item, param);
    const role = oneOf(message, 'role', param, ['user', 'assistant'] as const);
    return { role, content: decodeContent(message.content, join(param, 'content'), sink) };
  });
}

/** `thinking` plus `output_config.effort` (the effort knob of adaptive thinking). */
function decodeThinking(raw: unknown, outputConfig: Record<string, unknown> | undefined): ThinkingRequest {
  const effort =
    outputConfig && outputConfig.effort !== undefined && outputConfig.effort !== null
      ? oneOf(outputConfig, 'effort', 'output_config', EFFORTS)
      : undefined;
  if (raw === undefined || raw === null) return { type: 'disabled' };
  const thinking = asObject(raw, 'thinking');
  const type = oneOf(thinking, 'type', 'thinking', ['enabled', 'disabled', 'adaptive'] as const);
  if (type === 'disabled') return { type };
  if (type === 'adaptive') return effort ? { type, effort } : { type };
  const budget = optionalInteger(thinking, 'budget_tokens', 'thinking', 1);
  if (budget === undefined) throw invalid('thinking.budget_tokens', 'Field required');
  return { type, budgetTokens: budget };
}

/** Structured outputs: `output_config.format` (GA) or the older beta `output_format`. */
function decodeResponseFormat(raw: unknown, param: string): ResponseFormat {
  if (raw === undefined || raw === null) return { type: 'text' };
  const format = asObject(raw, param);
  oneOf(format, 'type', param, ['json_schema'] as const);
  const schema = asObject(format.schema, join(param, 'schema'));
  return { type: 'json_schema', schema };
}

function decodeStopSequences(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  return asArray(raw, 'stop_sequences')
    .map((s, i) => {
      if (typeof s !== 'string') throw invalid(join('stop_sequences', i), 'Input should be a valid string');
      return s;
    })
    .filter((s) => s !== ''); // an empty stop sequence would cut every answer at its first character
}

/** Decodes one request body. Throws a GatewayError (400, `param` set) on the first invalid field. */
export function decodeAnthropicRequest(body: unknown, opts: DecodeOptions = { requireMaxTokens: true }): DecodedAnthropicRequest {
  if (!isObject(body)) throw invalid('', 'The request body must be a JSON object.');
  const model = requiredString(body, 'model', '');
  if (model.trim() === '') throw invalid('model', 'String should have at least 1 character');
  if (model.length > MAX_MODEL_NAME_CHARS) throw invalid('model', `String should have at most ${MAX_MODEL_NAME_CHARS} characters`);

  let maxTokens = optionalInteger(body, 'max_tokens', '', 1);
  if (maxTokens === undefined && opts.requireMaxTokens) throw invalid('max_tokens', 'Field required');
  if (!opts.requireMaxTokens) maxTokens = undefined; // count_tokens ignores it

  const sink: ContentSink = { pendingImages: [], warnings: [] };
  const system = decodeSystem(body.system);
  const messages = decodeMessages(body.messages, sink);
  const tools = decodeTools(body.tools, sink.warnings);
  const toolChoice = decodeToolChoice(body.tool_choice);

  const outputConfig = body.output_config === undefined || body.output_config === null ? undefined : asObject(body.output_config, 'output_config');
  const thinking = decodeThinking(body.thinking, outputConfig);
  const responseFormat = outputConfig?.format !== undefined && outputConfig.format !== null
    ? decodeResponseFormat(outputConfig.format, 'output_config.format')
    : decodeResponseFormat(body.output_format, 'output_format');

  // Sampling knobs are validated like Anthropic does, then ignored: Q exposes none of them.
  optionalNumber(body, 'temperature', '', 0, 1);
  optionalNumber(body, 'top_p', '', 0, 1);
  optionalInteger(body, 'top_k', '', 0);
  if (body.metadata !== undefined && body.metadata !== null) {
    const metadata = asObject(body.metadata, 'metadata');
    optionalString(metadata, 'user_id', 'metadata');
  }
  const stream = optionalBoolean(body, 'stream', '') ?? false;

  const conversation: Conversation = {
    model,
    system,
    messages,
    tools,
    toolChoice,
    thinking,
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    stopSequences: decodeStopSequences(body.stop_sequences),
    responseFormat,
    warnings: sink.warnings,
  };
  return { conversation, stream, pendingImages: sink.pendingImages };
}
