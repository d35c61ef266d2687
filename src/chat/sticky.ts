// The conversation key STICKY_SESSIONS keeps on one account: the client's own conversation id
// (`x-conversation-id`), else Anthropic's `metadata.user_id` (Claude Code puts its session id in it),
// else a hash of the first user message, which every later turn of the conversation repeats.

import { createHash } from 'node:crypto';
import type { Config } from '../config';
import type { Conversation } from '../dialects/conversation';

export const CONVERSATION_ID_HEADER = 'x-conversation-id';
/** Longer client-supplied ids are hashed: the key lives in memory per conversation. */
const MAX_RAW_KEY_LENGTH = 200;

/** The sticky key for a request, or undefined when STICKY_SESSIONS is off (nothing is computed then). */
export function stickyKeyFor(config: Pick<Config, 'pool'>, headers: Headers, body: unknown, conversation: Conversation): string | undefined {
  // `?.`: route unit tests assemble configs by hand, without the pool section.
  if (!config.pool?.stickySessions) return undefined;
  const header = headers.get(CONVERSATION_ID_HEADER)?.trim();
  if (header) return bounded('c', header);
  const userId = metadataUserId(body);
  if (userId) return bounded('u', userId);
  const first = conversation.messages.find((m) => m.role === 'user');
  if (!first) return undefined;
  const hash = createHash('sha256');
  for (const part of first.content) {
    // Images are identified by their size and ends: hashing megabytes of base64 per request buys nothing.
    if (part.type === 'text') hash.update(`t:${part.text}\n`);
    else if (part.type === 'image') hash.update(`i:${part.data.length}:${part.data.slice(0, 64)}:${part.data.slice(-64)}\n`);
    else if (part.type === 'tool_result') hash.update(`r:${part.toolCallId}\n`);
  }
  return `m:${hash.digest('base64url')}`;
}

function metadataUserId(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const metadata = (body as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const id = (metadata as { user_id?: unknown }).user_id;
  return typeof id === 'string' && id.trim() !== '' ? id.trim() : undefined;
}

function bounded(kind: string, raw: string): string {
  return raw.length <= MAX_RAW_KEY_LENGTH ? `${kind}:${raw}` : `${kind}#${createHash('sha256').update(raw).digest('base64url')}`;
}
