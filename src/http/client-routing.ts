// What a chat route tells the engine about the client behind a request: the conversation key for
// sticky sessions and the scope its conversations are remembered under (src/chat/memo.ts).

import { stickyKeyFor } from '../chat/sticky';
import type { ChatRunOptions } from '../chat/types';
import type { Config } from '../config';
import type { Conversation } from '../dialects/conversation';
import { clientScope } from './guards';

export function clientRouting(
  config: Pick<Config, 'pool' | 'openaiKeys'>,
  headers: Headers,
  body: unknown,
  conversation: Conversation,
): Pick<ChatRunOptions, 'stickyKey' | 'scope'> {
  const stickyKey = stickyKeyFor(config, headers, body, conversation);
  return { ...(stickyKey !== undefined ? { stickyKey } : {}), scope: clientScope(headers, config.openaiKeys) };
}
