// Anthropic content blocks → canonical ContentParts (one message's or one tool result's content).
// Pure: URL image sources become placeholder ImageParts listed in `pendingImages` for the shell to fill.

import { base64Bytes, type ContentPart, type ImageMediaType, type ImagePart, MAX_IMAGE_BYTES, type TextPart } from '../conversation';
import {
  asArray,
  asObject,
  invalid,
  isObject,
  join,
  oneOf,
  optionalBoolean,
  optionalString,
  requiredString,
  type JsonObject,
} from './fields';
import { readSignature } from './signature';
import { serverToolText } from './tools';

/** An image given by URL: `part` is already in the conversation; the shell sets its mediaType and data. */
export interface PendingImage {
  url: string;
  /** the field path of the source, for the 400 when fetching fails */
  param: string;
  part: ImagePart;
}

export interface ContentSink {
  pendingImages: PendingImage[];
  warnings: string[];
}

const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'] as const satisfies readonly ImageMediaType[];
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function image(block: JsonObject, param: string, sink: ContentSink): ImagePart {
  const sp = join(param, 'source');
  const source = asObject(block.source, sp);
  const kind = oneOf(source, 'type', sp, ['base64', 'url', 'file'] as const);
  if (kind === 'file') {
    throw invalid(sp, 'file sources (Files API) are not supported by this gateway; send the image as base64 or url');
  }
  if (kind === 'url') {
    const url = requiredString(source, 'url', sp);
    if (!/^https?:\/\//i.test(url)) throw invalid(join(sp, 'url'), 'only http:// and https:// image URLs are supported');
    // Placeholder until the shell fetches it; mediaType is corrected from the response.
    const part: ImagePart = { type: 'image', mediaType: 'image/png', data: '' };
    sink.pendingImages.push({ url, param: join(sp, 'url'), part });
    return part;
  }
  const mediaType = oneOf(source, 'media_type', sp, IMAGE_TYPES);
  let data = requiredString(source, 'data', sp);
  // Tolerate a data: URL where bare base64 is expected, and line-wrapped base64.
  if (data.startsWith('data:')) data = data.slice(data.indexOf(',') + 1);
  if (!BASE64.test(data)) {
    data = data.replace(/\s+/g, '');
    if (!BASE64.test(data)) throw invalid(join(sp, 'data'), 'Input should be valid base64');
  }
  if (data === '') throw invalid(join(sp, 'data'), 'image data is empty');
  if (base64Bytes(data) > MAX_IMAGE_BYTES) throw invalid(join(sp, 'data'), `image exceeds ${MAX_IMAGE_BYTES / 1024 / 1024} MiB`);
  return { type: 'image', mediaType, data };
}

function text(value: string): TextPart[] {
  // Empty text carries nothing; Q rejects empty content, so drop it here rather than 400 as Anthropic does.
  return value === '' ? [] : [{ type: 'text', text: value }];
}

/** A document block: plain text (and content-block) documents become text; PDFs cannot reach Q. */
function document(block: JsonObject, param: string, sink: ContentSink): Array<TextPart | ImagePart> {
  const sp = join(param, 'source');
  const source = asObject(block.source, sp);
  const kind = oneOf(source, 'type', sp, ['text', 'content', 'base64', 'url', 'file'] as const);
  const header = [optionalString(block, 'title', param), optionalString(block, 'context', param)].filter(Boolean).join('\n');
  if (kind === 'text') {
    const body = requiredString(source, 'data', sp);
    return text(header ? `${header}\n\n${body}` : body);
  }
  if (kind === 'content') {
    const inner = source.content;
    const parts: Array<TextPart | ImagePart> = header ? text(header) : [];
    if (typeof inner === 'string') return [...parts, ...text(inner)];
    asArray(inner, join(sp, 'content')).forEach((item, i) => {
      const ip = join(join(sp, 'content'), i);
      const b = asObject(item, ip);
      const t = oneOf(b, 'type', ip, ['text', 'image'] as const);
      if (t === 'text') parts.push(...text(requiredString(b, 'text', ip)));
      else parts.push(image(b, ip, sink));
    });
    return parts;
  }
  throw invalid(
    sp,
    `${kind === 'file' ? 'file' : 'PDF'} documents are not supported: Amazon Q accepts only text and images. ` +
      'Send the extracted text as a text block or as a document with source.type "text".',
  );
}

function searchResult(block: JsonObject, param: string): TextPart[] {
  const title = optionalString(block, 'title', param) ?? '';
  const source = optionalString(block, 'source', param) ?? '';
  const body = Array.isArray(block.content)
    ? block.content.filter(isObject).map((c) => (typeof c.text === 'string' ? c.text : '')).join('\n')
    : '';
  return text([title, source, body].filter(Boolean).join('\n'));
}

/** The content of a tool_result: a string, or text/image/document/search_result blocks. */
function toolResultContent(raw: unknown, param: string, sink: ContentSink): Array<TextPart | ImagePart> {
  if (raw === undefined || raw === null) return [];
  if (typeof raw === 'string') return text(raw);
  const out: Array<TextPart | ImagePart> = [];
  asArray(raw, param).forEach((item, i) => {
    const ip = join(param, i);
    const b = asObject(item, ip);
    const type = requiredString(b, 'type', ip);
    if (type === 'text') out.push(...text(requiredString(b, 'text', ip)));
    else if (type === 'image') out.push(image(b, ip, sink));
    else if (type === 'document') out.push(...document(b, ip, sink));
    else if (type === 'search_result') out.push(...searchResult(b, ip));
    else sink.warnings.push(`dropped a "${type}" block from a tool result (${ip}): not supported by Amazon Q`);
  });
  return out;
}

/** One message's `content` (string or block list) → ContentParts. */
export function decodeContent(raw: unknown, param: string, sink: ContentSink): ContentPart[] {
  if (typeof raw === 'string') return text(raw);
  if (raw === undefined || raw === null) throw invalid(param, 'Field required');
  const out: ContentPart[] = [];
  asArray(raw, param).forEach((item, i) => {
    const bp = join(param, i);
    const b = asObject(item, bp);
    const type = requiredString(b, 'type', bp);
    switch (type) {
      case 'text':
        out.push(...text(requiredString(b, 'text', bp)));
        return;
      case 'image':
        out.push(image(b, bp, sink));
        return;
      case 'document':
        out.push(...document(b, bp, sink));
        return;
      case 'search_result':
        out.push(...searchResult(b, bp));
        return;
      case 'tool_use': {
        const id = requiredString(b, 'id', bp);
        const name = requiredString(b, 'name', bp);
        const input = b.input === undefined ? {} : asObject(b.input, join(bp, 'input'));
        out.push({ type: 'tool_call', id, name, input });
        return;
      }
      case 'tool_result': {
        const toolCallId = requiredString(b, 'tool_use_id', bp);
        const isError = optionalBoolean(b, 'is_error', bp) ?? false;
        out.push({ type: 'tool_result', toolCallId, isError, content: toolResultContent(b.content, join(bp, 'content'), sink) });
        return;
      }
      case 'thinking': {
        const thinking = requiredString(b, 'thinking', bp);
        if (thinking === '') return;
        // Only signatures we issued are kept (signature.ts); a foreign one is removed, never passed on.
        const sig = readSignature(b.signature);
        out.push({ type: 'thinking', text: thinking, ...(sig.upstream ? { signature: sig.upstream } : {}) });
        return;
      }
      case 'redacted_thinking':
        // Encrypted by Anthropic for Anthropic: Q can neither read nor verify it.
        return;
      default: {
        const rendered = serverToolText(b);
        if (rendered !== undefined) out.push(...text(rendered));
        else sink.warnings.push(`dropped a "${type}" content block (${bp}): not supported by Amazon Q`);
      }
    }
  });
  return out;
}
