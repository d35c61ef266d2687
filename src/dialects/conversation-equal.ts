// Exact equality of Conversation pieces, for the caches that reuse work from the previous request of
// a conversation (token counts, the serialised Q history). Pure.
//
// "Equal" means: every consumer would produce the same output from either value. Object keys are
// compared in order (JSON.stringify, and so the Q body, follows insertion order), numbers with
// Object.is; anything unusual only makes two values unequal, which costs a cache miss, never a
// wrong answer. Comparing two equal strings is a memcmp, so a 1.4 MB history compares in well
// under a millisecond; a hash alone would risk a collision (and a collision a client could aim).

import type { ContentPart, Message, ToolDefinition } from './conversation';

/** Structural equality of JSON-like values, key order included. Depth is bounded by MAX_JSON_DEPTH upstream. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === 'number' && typeof b === 'number' && Object.is(a, b);
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** One content part, field by field (no key lists to allocate for the common kinds). */
export function samePart(a: ContentPart, b: ContentPart): boolean {
  if (a === b) return true;
  switch (a.type) {
    case 'text':
      return b.type === 'text' && a.text === b.text;
    case 'image':
      return b.type === 'image' && a.mediaType === b.mediaType && a.data === b.data;
    case 'thinking':
      return b.type === 'thinking' && a.text === b.text && a.signature === b.signature;
    case 'tool_call':
      return b.type === 'tool_call' && a.id === b.id && a.name === b.name && sameJson(a.input, b.input);
    case 'tool_result': {
      if (b.type !== 'tool_result' || a.toolCallId !== b.toolCallId || a.isError !== b.isError || a.content.length !== b.content.length) return false;
      for (let i = 0; i < a.content.length; i++) if (!samePart(a.content[i]!, b.content[i]!)) return false;
      return true;
    }
  }
}

export function sameParts(a: readonly ContentPart[], b: readonly ContentPart[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!samePart(a[i]!, b[i]!)) return false;
  return true;
}

export function sameMessage(a: Message, b: Message): boolean {
  return a === b || (a.role === b.role && sameParts(a.content, b.content));
}

export function sameTool(a: ToolDefinition, b: ToolDefinition): boolean {
  return a === b || (a.name === b.name && a.description === b.description && sameJson(a.inputSchema, b.inputSchema));
}

/**
 * A cheap key for "which conversation is this": the first message's role and text parts, hashed.
 * It only picks a cache slot; equality is always checked part by part before anything is reused.
 */
export function conversationKey(first: Message | undefined): string {
  if (first === undefined) return '';
  let h = Bun.hash(first.role);
  for (const p of first.content) {
    if (p.type === 'text' || p.type === 'thinking') h = Bun.hash(p.text, h);
    else if (p.type === 'tool_call') h = Bun.hash(p.id, h);
    else if (p.type === 'tool_result') h = Bun.hash(p.toolCallId, h);
    else h = Bun.hash(p.data.slice(0, 256), h);
  }
  return `${h.toString(36)}:${first.content.length}`;
}
