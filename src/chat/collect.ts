// Non-streaming responses are the fold of the stream (architecture.md §1): StreamParts collected
// into one message of thinking, text and tool-call blocks, with finish reason, usage or error.

import type { StreamPart, Usage } from '../dialects/conversation';
import { GatewayError } from '../http/errors';
import type { CollectedBlock, CollectedMessage } from './types';

const NO_USAGE: Readonly<Usage> = Object.freeze({ inputTokens: 0, outputTokens: 0, reasoningTokens: 0 });

export async function collectParts(parts: AsyncIterable<StreamPart>): Promise<CollectedMessage> {
  const content: CollectedBlock[] = [];
  const message: CollectedMessage = { content, finishReason: null, usage: { ...NO_USAGE } };
  /** the thinking block still receiving deltas (closed by thinking-end) */
  let thinking: Extract<CollectedBlock, { type: 'thinking' }> | null = null;
  const tools = new Map<string, Extract<CollectedBlock, { type: 'tool_call' }>>();
  let ended = false;

  try {
    for await (const p of parts) {
      switch (p.type) {
        case 'text-delta': {
          const last = content.at(-1);
          if (last?.type === 'text') last.text += p.text;
          else content.push({ type: 'text', text: p.text });
          break;
        }
        case 'thinking-delta':
          if (thinking === null) {
            thinking = { type: 'thinking', text: '' };
            content.push(thinking);
          }
          thinking.text += p.text;
          break;
        case 'thinking-end':
          // A signature without deltas still makes a (signed, empty) block: it came from the upstream.
          if (thinking === null && p.signature !== undefined) content.push({ type: 'thinking', text: '', signature: p.signature });
          else if (thinking !== null && p.signature !== undefined) thinking.signature = p.signature;
          thinking = null;
          break;
        case 'tool-call-start': {
          const block: Extract<CollectedBlock, { type: 'tool_call' }> = { type: 'tool_call', id: p.id, name: p.name, input: {} };
          tools.set(p.id, block);
          content.push(block);
          break;
        }
        case 'tool-call-delta':
          // The parsed input arrives with tool-call-end; raw fragments only matter to streaming clients.
          break;
        case 'tool-call-end': {
          const block = tools.get(p.id);
          if (block) {
            block.input = p.input;
            if (p.invalid !== undefined) block.invalid = p.invalid;
          }
          break;
        }
        case 'finish':
          message.finishReason = p.reason;
          if (p.stopSequence !== undefined) message.stopSequence = p.stopSequence;
          message.usage = p.usage;
          ended = true;
          break;
        case 'error':
          message.error = p.error;
          message.usage = p.usage;
          ended = true;
          break;
      }
    }
  } catch (e) {
    const what = e instanceof Error ? e.message : String(e);
    message.error = e instanceof GatewayError ? e : new GatewayError('internal', `Response stream failed: ${what}`, { cause: e });
    return message;
  }
  if (!ended) message.error = new GatewayError('upstream', 'The response ended without a finish or an error.');
  return message;
}
