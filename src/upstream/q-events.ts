// Maps decoded event-stream frames of GenerateAssistantResponse to typed QEvents (upstream-protocol.md
// §1.5, §2.6). Pure; stream-level errors (exception / error frames, garbage payloads) are thrown as UpstreamError.
import { classifyStreamFault, parseErrorBody, sanitizeErrorType, UpstreamError } from './errors';
import { type Frame, stringHeader } from './eventstream';

export interface TokenUsage {
  uncachedInputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

export type QEvent =
  | { type: 'assistantResponse'; content: string }
  | { type: 'reasoning'; text?: string; signature?: string; redactedContent?: string }
  | { type: 'toolUse'; toolUseId: string; name: string; input?: string; stop?: boolean }
  | { type: 'messageMetadata'; conversationId?: string; utteranceId?: string }
  | { type: 'metadata'; tokenUsage?: TokenUsage; stopReason?: string }
  | { type: 'metering'; usage: number; unit?: string; unitPlural?: string }
  | { type: 'contextUsage'; percentage: number }
  /** known-but-irrelevant (codeReferenceEvent, followupPromptEvent, …) and unknown event types */
  | { type: 'ignored'; eventType: string };

type JsonObject = Record<string, unknown>;

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Throws UpstreamError for exception/error frames and malformed known events. */
export function frameToEvent(frame: Frame): QEvent {
  const messageType = stringHeader(frame, ':message-type');
  switch (messageType) {
    case 'event':
      return eventFrame(frame);
    case 'exception':
      throw exceptionFrame(frame);
    case 'error':
      throw errorFrame(frame);
    default:
      // Spec: unknown message types are fatal (unlike unknown event types).
      throw new UpstreamError('stream', `unrecognized :message-type ${JSON.stringify(messageType ?? null)}`, {
        phase: 'mid_stream',
      });
  }
}

function eventFrame(frame: Frame): QEvent {
  const eventType = stringHeader(frame, ':event-type');
  if (eventType === undefined) {
    throw new UpstreamError('stream', 'event frame without :event-type', { phase: 'mid_stream' });
  }
  switch (eventType) {
    case 'assistantResponseEvent': {
      const p = payloadObject(frame, eventType);
      return { type: 'assistantResponse', content: requireString(p, 'content', eventType) };
    }
    case 'reasoningContentEvent': {
      const p = payloadObject(frame, eventType);
      const ev: QEvent & { type: 'reasoning' } = { type: 'reasoning' };
      const text = optionalString(p, 'text', eventType);
      if (text !== undefined) ev.text = text;
      const signature = optionalString(p, 'signature', eventType);
      if (signature !== undefined) ev.signature = signature;
      const redacted = optionalString(p, 'redactedContent', eventType);
      if (redacted !== undefined) ev.redactedContent = redacted;
      return ev;
    }
    case 'toolUseEvent':
      return toolUse(payloadObject(frame, eventType));
    case 'messageMetadataEvent': {
      const p = payloadObject(frame, eventType);
      const ev: QEvent & { type: 'messageMetadata' } = { type: 'messageMetadata' };
      const conversationId = optionalString(p, 'conversationId', eventType);
      if (conversationId !== undefined) ev.conversationId = conversationId;
      const utteranceId = optionalString(p, 'utteranceId', eventType);
      if (utteranceId !== undefined) ev.utteranceId = utteranceId;
      return ev;
    }
    case 'metadataEvent': {
      const p = payloadObject(frame, eventType);
      const ev: QEvent & { type: 'metadata' } = { type: 'metadata' };
      const usage = tokenUsage(p.tokenUsage);
      if (usage !== undefined) ev.tokenUsage = usage;
      const stopReason = optionalString(p, 'stopReason', eventType);
      if (stopReason !== undefined) ev.stopReason = stopReason;
      return ev;
    }
    case 'meteringEvent': {
      const p = payloadObject(frame, eventType);
      const ev: QEvent & { type: 'metering' } = { type: 'metering', usage: requireNumber(p, 'usage', eventType) };
      const unit = optionalString(p, 'unit', eventType);
      if (unit !== undefined) ev.unit = unit;
      const unitPlural = optionalString(p, 'unitPlural', eventType);
      if (unitPlural !== undefined) ev.unitPlural = unitPlural;
      return ev;
    }
    case 'contextUsageEvent': {
      const p = payloadObject(frame, eventType);
      return { type: 'contextUsage', percentage: requireNumber(p, 'contextUsagePercentage', eventType) };
    }
    default:
      // codeReferenceEvent, followupPromptEvent, initial-response, future additions: payloads are not
      // even parsed, so a new event type can never break a stream.
      return { type: 'ignored', eventType };
  }
}

function toolUse(p: JsonObject): QEvent {
  const where = 'toolUseEvent';
  const ev: QEvent & { type: 'toolUse' } = {
    type: 'toolUse',
    toolUseId: requireString(p, 'toolUseId', where),
    name: requireString(p, 'name', where),
  };
  const input = p.input;
  if (typeof input === 'string') ev.input = input;
  // A few producers send already-parsed input; re-serialise so consumers see one representation.
  else if (input !== undefined && input !== null) ev.input = JSON.stringify(input);
  const stop = p.stop;
  if (typeof stop === 'boolean') ev.stop = stop;
  else if (stop !== undefined && stop !== null) throw malformed(where, `"stop" is ${typeof stop}, expected boolean`);
  return ev;
}

function tokenUsage(v: unknown): TokenUsage | undefined {
  if (v === undefined || v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as JsonObject;
  const out: TokenUsage = {};
  for (const k of ['uncachedInputTokens', 'outputTokens', 'totalTokens', 'cacheReadInputTokens', 'cacheWriteInputTokens'] as const) {
    const n = o[k];
    if (typeof n === 'number' && Number.isFinite(n)) out[k] = n;
  }
  return out;
}

/** `:exception-type` names the union member (`error` for the one modeled InternalServerException). */
function exceptionFrame(frame: Frame): UpstreamError {
  const exceptionType = stringHeader(frame, ':exception-type');
  const bodyText = decoder.decode(frame.payload);
  const body = parseErrorBody(bodyText);
  const fromPayload = body.type ?? body.code;
  let errorType: string | undefined;
  if (fromPayload !== undefined) errorType = sanitizeErrorType(fromPayload);
  else if (exceptionType === 'error') errorType = 'InternalServerException';
  else if (exceptionType !== undefined) errorType = sanitizeErrorType(exceptionType);
  return classifyStreamFault({ errorType, reason: body.reason, message: body.message ?? nonJsonText(bodyText), bodyText });
}

/** Unmodeled error frame: everything lives in headers, the payload is normally empty. */
function errorFrame(frame: Frame): UpstreamError {
  const code = stringHeader(frame, ':error-code');
  const message = stringHeader(frame, ':error-message');
  const bodyText = decoder.decode(frame.payload);
  return classifyStreamFault({
    errorType: code === undefined ? undefined : sanitizeErrorType(code),
    message: message ?? nonJsonText(bodyText),
    bodyText,
  });
}

function nonJsonText(text: string): string | undefined {
  const t = text.trim();
  if (t === '' || t.startsWith('{')) return undefined;
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

function payloadObject(frame: Frame, eventType: string): JsonObject {
  const text = decoder.decode(frame.payload);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const preview = text.length > 80 ? `${text.slice(0, 80)}…` : text;
    throw malformed(eventType, `payload is not JSON (${frame.payload.length} bytes: ${JSON.stringify(preview)})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw malformed(eventType, `payload is ${Array.isArray(parsed) ? 'an array' : String(parsed === null ? 'null' : typeof parsed)}, expected an object`);
  }
  return parsed as JsonObject;
}

function requireString(p: JsonObject, key: string, where: string): string {
  const v = p[key];
  if (typeof v !== 'string') throw malformed(where, `"${key}" is ${describe(v)}, expected string`);
  return v;
}

/** Absent and null both mean "not sent" (the service is not supposed to send nulls, but proxies do). */
function optionalString(p: JsonObject, key: string, where: string): string | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw malformed(where, `"${key}" is ${describe(v)}, expected string`);
  return v;
}

function requireNumber(p: JsonObject, key: string, where: string): number {
  const v = p[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw malformed(where, `"${key}" is ${describe(v)}, expected number`);
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function malformed(eventType: string, what: string): UpstreamError {
  return new UpstreamError('stream', `malformed ${eventType}: ${what}`, { phase: 'mid_stream' });
}
