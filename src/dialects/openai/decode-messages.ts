// OpenAI Chat Completions `messages[]` → the Conversation's system text and Messages (pure). Every
// rejection names the exact field (`messages[2].content[0].image_url`) so clients can show it.

import { GatewayError } from '../../http/errors';
import { base64Bytes, type ContentPart, type ImageMediaType, type ImagePart, MAX_IMAGE_BYTES, type Message, type TextPart } from '../conversation';

/** An image given by http(s) URL: the shell fetches it and fills `part` in place before the run. */
export interface PendingImage {
  url: string;
  /** the request field it came from, for error messages (`messages[1].content[0].image_url`) */
  param: string;
  part: ImagePart;
}

export interface DecodedMessages {
  system: string;
  messages: Message[];
  pendingImages: PendingImage[];
  warnings: string[];
}

const MEDIA_TYPES: Readonly<Record<string, ImageMediaType>> = {
  'image/png': 'image/png',
  'image/jpeg': 'image/jpeg',
  'image/jpg': 'image/jpeg', // not registered, but common in hand-built data URLs
  'image/gif': 'image/gif',
  'image/webp': 'image/webp',
};

/** Error messages quote the offending value; a hostile one could be megabytes (found by test/bad-input). */
export const MAX_ERROR_MESSAGE_CHARS = 1_000;

export function invalid(message: string, param: string): GatewayError {
  const text = message.length <= MAX_ERROR_MESSAGE_CHARS ? message : `${message.slice(0, MAX_ERROR_MESSAGE_CHARS)}…`;
  return new GatewayError('invalid_request', text, { param: param.length <= MAX_ERROR_MESSAGE_CHARS ? param : param.slice(0, MAX_ERROR_MESSAGE_CHARS) });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `image/jpg` → `image/jpeg`; undefined for media types Q does not take. */
export function imageMediaType(raw: string): ImageMediaType | undefined {
  return MEDIA_TYPES[raw.trim().toLowerCase()];
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** `data:image/png;base64,…` → an ImagePart; throws a 400 naming `param` for anything else. */
export function decodeDataUrl(url: string, param: string): ImagePart {
  const m = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(url);
  if (!m) throw invalid(`${param}: malformed data: URL.`, param);
  const mediaType = imageMediaType(m[1]!);
  if (!mediaType) {
    throw invalid(`${param}: unsupported image type ${JSON.stringify(m[1])}; use PNG, JPEG, GIF or WebP.`, param);
  }
  if (!m[2]!.split(';').includes('base64')) throw invalid(`${param}: image data: URLs must be base64-encoded.`, param);
  const data = m[3]!.replace(/\s+/g, '');
  if (data === '' || !BASE64.test(data)) throw invalid(`${param}: the data: URL is not valid base64.`, param);
  if (base64Bytes(data) > MAX_IMAGE_BYTES) throw invalid(`${param}: the image exceeds ${MAX_IMAGE_BYTES / 1024 / 1024} MiB.`, param);
  return { type: 'image', mediaType, data };
}

/** A string, or an array of `{type:"text"}` parts (system, developer and tool messages). */
function textOnly(content: unknown, param: string, what: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(`${param} must be a string or an array of text parts.`, param);
  return content
    .map((p, j) => {
      const at = `${param}[${j}]`;
      if (typeof p === 'string') return p; // some clients send bare strings in the array
      if (!isRecord(p) || p.type !== 'text' || typeof p.text !== 'string') {
        throw invalid(`${at}: ${what} content parts must be {"type":"text","text":"…"}.`, at);
      }
      return p.text;
    })
    .join('\n');
}

function imagePart(p: Record<string, unknown>, at: string, pending: PendingImage[]): ImagePart {
  const param = `${at}.image_url`;
  // The spec says `image_url: {url}`; a bare string is a common client shortcut.
  const url = typeof p.image_url === 'string' ? p.image_url : isRecord(p.image_url) ? p.image_url.url : undefined;
  if (typeof url !== 'string' || url === '') throw invalid(`${param}.url must be a non-empty string.`, param);
  if (url.startsWith('data:')) return decodeDataUrl(url, param);
  if (/^https?:\/\//i.test(url)) {
    const part: ImagePart = { type: 'image', mediaType: 'image/png', data: '' };
    pending.push({ url, param, part });
    return part;
  }
  throw invalid(`${param}: expected a data: URL or an http(s) URL.`, param);
}

/** User content (and tool results, which may carry images from lenient clients): text and images. */
function richContent(content: unknown, param: string, pending: PendingImage[]): Array<TextPart | ImagePart> {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw invalid(`${param} must be a string or an array of content parts.`, param);
  const out: Array<TextPart | ImagePart> = [];
  content.forEach((p, j) => {
    const at = `${param}[${j}]`;
    if (typeof p === 'string') {
      out.push({ type: 'text', text: p });
      return;
    }
    if (!isRecord(p)) throw invalid(`${at} must be a content part object.`, at);
    switch (p.type) {
      case 'text':
        if (typeof p.text !== 'string') throw invalid(`${at}.text must be a string.`, `${at}.text`);
        out.push({ type: 'text', text: p.text });
        return;
      case 'image_url':
        out.push(imagePart(p, at, pending));
        return;
      case 'input_audio':
        throw invalid(`${at}: audio input is not supported by this gateway (Amazon Q takes text and images).`, at);
      case 'file':
        throw invalid(`${at}: file inputs are not supported; send the text, or images as image_url parts.`, at);
      default:
        throw invalid(`${at}.type ${JSON.stringify(p.type)} is not supported; use "text" or "image_url".`, `${at}.type`);
    }
  });
  return out;
}

/**
 * Arguments arrive as a JSON string (spec) or, from lenient clients, an object. Unparseable or
 * non-object arguments (a tool call the model cut off, echoed back) become `{}` with a warning:
 * Q needs an object, and refusing the whole history over one broken past call helps nobody.
 */
function toolArguments(raw: unknown, at: string, warnings: string[]): unknown {
  if (isRecord(raw)) return raw;
  if (raw === undefined || raw === null || raw === '') return {};
  if (typeof raw !== 'string') throw invalid(`${at} must be a JSON string.`, at);
  try {
    const parsed: unknown = JSON.parse(raw);
    if (isRecord(parsed)) return parsed;
  } catch {
    // fall through to the warning
  }
  warnings.push(`${at} is not a JSON object; sent as {}`);
  return {};
}

function assistantMessage(m: Record<string, unknown>, at: string, warnings: string[]): Message {
  const content: ContentPart[] = [];
  // DeepSeek-style agents echo the reasoning back; it goes in as unsigned thinking, and the request
  // builder applies the same policy as to unsigned Anthropic thinking blocks.
  const reasoning = typeof m.reasoning_content === 'string' ? m.reasoning_content : m.reasoning;
  if (typeof reasoning === 'string' && reasoning !== '') content.push({ type: 'thinking', text: reasoning });
  if (m.content !== undefined && m.content !== null) {
    if (typeof m.content === 'string') {
      if (m.content !== '') content.push({ type: 'text', text: m.content });
    } else if (Array.isArray(m.content)) {
      m.content.forEach((p, j) => {
        const pat = `${at}.content[${j}]`;
        if (typeof p === 'string') content.push({ type: 'text', text: p });
        else if (isRecord(p) && p.type === 'text' && typeof p.text === 'string') content.push({ type: 'text', text: p.text });
        else if (isRecord(p) && p.type === 'refusal' && typeof p.refusal === 'string') content.push({ type: 'text', text: p.refusal });
        else throw invalid(`${pat}: assistant content parts must be "text" or "refusal" parts.`, pat);
      });
    } else throw invalid(`${at}.content must be a string, an array of text parts, or null.`, `${at}.content`);
  }
  if (typeof m.refusal === 'string' && m.refusal !== '') content.push({ type: 'text', text: m.refusal });
  if (m.function_call !== undefined && m.function_call !== null) {
    throw invalid(`${at}.function_call (legacy functions API) is not supported; use tool_calls.`, `${at}.function_call`);
  }
  if (m.tool_calls !== undefined && m.tool_calls !== null) {
    if (!Array.isArray(m.tool_calls)) throw invalid(`${at}.tool_calls must be an array.`, `${at}.tool_calls`);
    m.tool_calls.forEach((c, j) => {
      const cat = `${at}.tool_calls[${j}]`;
      if (!isRecord(c)) throw invalid(`${cat} must be an object.`, cat);
      if (c.type !== undefined && c.type !== 'function') {
        throw invalid(`${cat}.type must be "function".`, `${cat}.type`);
      }
      if (typeof c.id !== 'string' || c.id === '') throw invalid(`${cat}.id must be a non-empty string.`, `${cat}.id`);
      const fn = c.function;
      if (!isRecord(fn) || typeof fn.name !== 'string' || fn.name === '') {
        throw invalid(`${cat}.function.name must be a non-empty string.`, `${cat}.function.name`);
      }
      const input = toolArguments(fn.arguments, `${cat}.function.arguments`, warnings);
      content.push({ type: 'tool_call', id: c.id, name: fn.name, input });
    });
  }
  return { role: 'assistant', content };
}

/** Decodes `messages`; system and developer text is joined in order (the Conversation has one system). */
export function decodeMessages(raw: unknown): DecodedMessages {
  if (!Array.isArray(raw) || raw.length === 0) throw invalid('messages must be a non-empty array.', 'messages');
  const system: string[] = [];
  const messages: Message[] = [];
  const pendingImages: PendingImage[] = [];
  const warnings: string[] = [];
  raw.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (!isRecord(m)) throw invalid(`${at} must be an object.`, at);
    switch (m.role) {
      case 'system':
      case 'developer': {
        const text = textOnly(m.content, `${at}.content`, String(m.role));
        if (text !== '') system.push(text);
        return;
      }
      case 'user': {
        const content = richContent(m.content, `${at}.content`, pendingImages);
        messages.push({ role: 'user', content });
        return;
      }
      case 'assistant': {
        const msg = assistantMessage(m, at, warnings);
        // An assistant turn with nothing in it (content null, no calls) says nothing; dropping it
        // spares the builder an empty turn Q would reject.
        if (msg.content.length > 0) messages.push(msg);
        return;
      }
      case 'tool': {
        if (typeof m.tool_call_id !== 'string' || m.tool_call_id === '') {
          throw invalid(`${at}.tool_call_id must be a non-empty string.`, `${at}.tool_call_id`);
        }
        const content = Array.isArray(m.content)
          ? richContent(m.content, `${at}.content`, pendingImages)
          : [{ type: 'text' as const, text: textOnly(m.content ?? '', `${at}.content`, 'tool') }].filter((p) => p.text !== '');
        messages.push({ role: 'user', content: [{ type: 'tool_result', toolCallId: m.tool_call_id, content, isError: false }] });
        return;
      }
      case 'function':
        throw invalid(
          `${at}: the legacy "function" role is not supported; send tool results as {"role":"tool","tool_call_id":…}.`,
          `${at}.role`,
        );
      default:
        throw invalid(
          `${at}.role ${JSON.stringify(m.role)} is not one of system, developer, user, assistant, tool.`,
          `${at}.role`,
        );
    }
  });
  if (!messages.some((m) => m.role === 'user')) {
    throw invalid('messages must contain at least one user or tool message.', 'messages');
  }
  return { system: system.join('\n\n'), messages, pendingImages, warnings };
}
