// Building blocks for Conversation fixtures: a conversation with every field at its neutral default,
// and one-line message and part helpers.

import type { ContentPart, Conversation, Message } from '../../src/dialects/conversation';

export function conversation(messages: Message[], over: Partial<Conversation> = {}): Conversation {
  return {
    model: 'claude-sonnet-4-5',
    system: '',
    messages,
    tools: [],
    toolChoice: { type: 'auto' },
    thinking: { type: 'disabled' },
    stopSequences: [],
    responseFormat: { type: 'text' },
    warnings: [],
    ...over,
  };
}
export const user = (...content: ContentPart[]): Message => ({ role: 'user', content });
export const assistant = (...content: ContentPart[]): Message => ({ role: 'assistant', content });
export const text = (t: string): ContentPart => ({ type: 'text', text: t });
