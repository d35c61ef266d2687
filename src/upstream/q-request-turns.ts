// Conversation messages → alternating Q turns with paired tool uses and results (upstream-protocol.md
// §2.5 rules 2, 3, 5). Pure; used only by q-request.ts.

import type { ContentPart, ImagePart, Message, ToolResultPart } from '../dialects/conversation';
import { type ToolNamer, toolInputObject, upstreamToolUseId } from './q-request-tools';

/** Q CLI sends at most 10 images per message (§2.4); more risks a rejection. */
export const MAX_IMAGES_PER_MESSAGE = 10;
/** Inserted where alternation needs a user turn (a conversation that starts with the assistant). */
export const USER_PLACEHOLDER = 'Continue';
/** What a user turn says when it only carries tool results (§2.5 rule 1: content must be non-empty). */
export const TOOL_RESULTS_PLACEHOLDER = 'Tool results provided.';
/** An assistant turn with nothing to say (e.g. it only held thinking): kiro.rs's filler. */
export const ASSISTANT_PLACEHOLDER = 'OK';
/** Content of an assistant turn that only calls tools: kiro.rs found "" rejected, a space accepted. */
export const ASSISTANT_TOOL_ONLY_CONTENT = ' ';
/** The user turn after an assistant prefill: Q cannot continue a message, so we ask the model to. */
export const PREFILL_CONTINUATION = 'Continue your previous response exactly where it stopped. Do not repeat any of it.';
/** Text of a tool result that had none: an empty `text` may be rejected, and the model should know. */
export const EMPTY_TOOL_RESULT = '(empty result)';
/** Result sent for a tool call the client never answered, so every toolUse stays paired. */
export const MISSING_TOOL_RESULT = 'Error: no result was provided for this tool call.';
/** Q has no image slot in toolResults: the image rides on the message and the result says so. */
export const TOOL_RESULT_IMAGE_NOTE = '(The tool returned an image; it is attached to this message.)';

export interface QImage {
  format: string;
  source: { bytes: string };
}
export interface QToolUse {
  toolUseId: string;
  name: string;
  input: Record<string, unknown>;
}
export interface QToolResult {
  toolUseId: string;
  content: Array<{ text: string }>;
  status: 'success' | 'error';
}

export interface Turn {
  role: 'user' | 'assistant';
  parts: ContentPart[];
  /** index of the first message merged into it; -1 for a turn the builder made up */
  from: number;
}
export interface AssistantTurnOut {
  content: string;
  toolUses: QToolUse[];
}
export interface UserTurnOut {
  /** the turn's own text; '' when it had none (the caller picks the placeholder) */
  text: string;
  images: QImage[];
  toolResults: QToolResult[];
}

/**
 * Merges consecutive same-role messages and shapes the list as user, assistant, …, user (§2.5
 * rule 2). A trailing assistant message (prefill) is kept as history and followed by a user turn
 * asking to continue it; a leading assistant message gets a placeholder user turn before it.
 */
export function toTurns(messages: readonly Message[], warnings: string[]): Turn[] {
  const turns: Turn[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.content.length === 0) continue;
    const last = turns[turns.length - 1];
    if (last && last.role === m.role) last.parts.push(...m.content);
    else turns.push({ role: m.role, parts: [...m.content], from: i });
  }
  const last = turns[turns.length - 1];
  if (last?.role === 'assistant') {
    const meaningful = last.parts.some((p) => (p.type === 'text' ? p.text.trim() !== '' : p.type === 'tool_call' || p.type === 'tool_result'));
    if (meaningful) {
      turns.push({ role: 'user', parts: [{ type: 'text', text: PREFILL_CONTINUATION }], from: -1 });
      warnings.push('assistant prefill sent as history; the model was asked to continue it');
    } else turns.pop();
  }
  if (turns[0]?.role === 'assistant') turns.unshift({ role: 'user', parts: [], from: -1 });
  if (turns.length === 0) turns.push({ role: 'user', parts: [], from: -1 });
  return turns;
}

function qImage(part: ImagePart): QImage {
  return { format: part.mediaType.slice('image/'.length), source: { bytes: part.data } };
}

function nonEmpty(text: string): boolean {
  return text.trim() !== '';
}

/** What a TurnConverter carries from one turn to the next. */
export interface ConverterState {
  /** upstream toolUseIds used so far */
  seenUseIds: ReadonlySet<string>;
  /** client tool-call id → tool name (for orphan notes) */
  nameByClientId: ReadonlyMap<string, string>;
}

/** Shared per-request state: tool-use ids seen so far, client id → tool name (for orphan notes). */
export class TurnConverter {
  readonly #seenUseIds: Set<string>;
  readonly #nameByClientId: Map<string, string>;

  /** `from`: resume after turns converted earlier (copied, never shared). */
  constructor(
    private readonly namer: Pick<ToolNamer, 'upstream'>,
    private readonly warnings: string[],
    from?: ConverterState,
  ) {
    this.#seenUseIds = new Set(from?.seenUseIds);
    this.#nameByClientId = new Map(from?.nameByClientId);
  }

  /** A copy of the state after the turns converted so far. */
  state(): ConverterState {
    return { seenUseIds: new Set(this.#seenUseIds), nameByClientId: new Map(this.#nameByClientId) };
  }

  assistant(parts: readonly ContentPart[]): AssistantTurnOut {
    const texts: string[] = [];
    const toolUses: QToolUse[] = [];
    for (const part of parts) {
      if (part.type === 'text') {
        if (nonEmpty(part.text)) texts.push(part.text);
      } else if (part.type === 'tool_call') {
        const toolUseId = upstreamToolUseId(part.id);
        this.#nameByClientId.set(part.id, part.name);
        // §2.5 rule 3: an id may be used once; a repeat (retried stream, merged turns) is dropped.
        if (this.#seenUseIds.has(toolUseId)) {
          this.warnings.push(`duplicate tool call id ${part.id} dropped`);
          continue;
        }
        this.#seenUseIds.add(toolUseId);
        toolUses.push({ toolUseId, name: this.namer.upstream(part.name), input: toolInputObject(part.input) });
      } else if (part.type === 'tool_result') {
        // Malformed (results belong to user turns): keep the information as text.
        texts.push(this.#resultAsText(part, []));
      }
      // Thinking is dropped: Q CLI never sends reasoning back, and plain history is what Q accepts
      // without signatures (see q-request.ts). Images cannot be part of an assistant message.
    }
    const content = texts.join('\n\n') || (toolUses.length > 0 ? ASSISTANT_TOOL_ONLY_CONTENT : ASSISTANT_PLACEHOLDER);
    return { content, toolUses };
  }

  /**
   * A user turn. Results answering `previous` (the preceding assistant turn's toolUses) are sent in
   * that order, one per id; results for any other id (orphans) become text; uses left unanswered
   * get an error result (§2.5 rule 3).
   */
  user(parts: readonly ContentPart[], previous: readonly QToolUse[]): UserTurnOut {
    const texts: string[] = [];
    const images: QImage[] = [];
    const expected = new Set(previous.map((u) => u.toolUseId));
    const answered = new Map<string, QToolResult>();
    for (const part of parts) {
      if (part.type === 'text') {
        if (nonEmpty(part.text)) texts.push(part.text);
      } else if (part.type === 'image') {
        images.push(qImage(part));
      } else if (part.type === 'tool_result') {
        const toolUseId = upstreamToolUseId(part.toolCallId);
        const first = answered.get(toolUseId);
        if (!expected.has(toolUseId)) {
          texts.push(this.#resultAsText(part, images));
        } else if (first === undefined) {
          answered.set(toolUseId, { toolUseId, content: this.#resultContent(part, images), status: part.isError ? 'error' : 'success' });
        } else if (JSON.stringify(first.content) === JSON.stringify(this.#resultContent(part, []))) {
          // §2.5 rule 3: one result per id; an identical repeat (a client retry) carries nothing new.
          this.warnings.push(`duplicate tool result for ${part.toolCallId} dropped`);
        } else {
          // A differing repeat: kept as text so nothing the client sent is lost.
          this.warnings.push(`second tool result for ${part.toolCallId} sent as text`);
          texts.push(this.#resultAsText(part, images));
        }
      } else if (part.type === 'tool_call') {
        // Malformed (calls belong to assistant turns): keep the information as text.
        texts.push(`(tool call ${part.name}: ${JSON.stringify(toolInputObject(part.input))})`);
      }
    }
    const toolResults = previous.map((use): QToolResult => {
      const r = answered.get(use.toolUseId);
      if (r) return r;
      this.warnings.push(`tool call ${use.toolUseId} (${use.name}) had no result; sent an error result`);
      return { toolUseId: use.toolUseId, content: [{ text: MISSING_TOOL_RESULT }], status: 'error' };
    });
    if (images.length > MAX_IMAGES_PER_MESSAGE) {
      this.warnings.push(`${images.length - MAX_IMAGES_PER_MESSAGE} image(s) beyond ${MAX_IMAGES_PER_MESSAGE} per message dropped`);
      images.length = MAX_IMAGES_PER_MESSAGE;
    }
    return { text: texts.join('\n\n'), images, toolResults };
  }

  #resultContent(part: ToolResultPart, images: QImage[]): Array<{ text: string }> {
    const content: Array<{ text: string }> = [];
    for (const c of part.content) {
      if (c.type === 'text') {
        if (nonEmpty(c.text)) content.push({ text: c.text });
      } else {
        images.push(qImage(c));
        content.push({ text: TOOL_RESULT_IMAGE_NOTE });
      }
    }
    return content.length > 0 ? content : [{ text: EMPTY_TOOL_RESULT }];
  }

  /** An orphan result as plain text, so its information survives without breaking pairing. */
  #resultAsText(part: ToolResultPart, images: QImage[]): string {
    const name = this.#nameByClientId.get(part.toolCallId);
    const label = `[Result of tool call ${part.toolCallId}${name ? ` (${name})` : ''}${part.isError ? ', an error' : ''}]`;
    return `${label}\n${this.#resultContent(part, images).map((c) => c.text).join('\n')}`;
  }
}
