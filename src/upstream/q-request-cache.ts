// What buildQRequest keeps from one request of a conversation so that the next one (every Claude
// Code request repeats the whole history and adds a turn) converts and serialises only what is new.
// The caller stores it (src/chat/memo.ts) and hands it back with how many leading messages of the
// new request are exactly equal to those it was built from; the builder checks the rest (model,
// origin, tool names) and produces the same bytes as a build without it
// (test/unit/q-request-resume.test.ts).

import type { ConverterState, QToolUse, UserTurnOut } from './q-request-turns';

/** The converted history of one request. Never mutated once made. */
export interface HistorySnapshot {
  /** messages 0 … messageCount − 1 formed the history; message `messageCount` opened the current turn */
  readonly messageCount: number;
  /** history turns covered (turn 0 included) */
  readonly turnCount: number;
  readonly modelId: string;
  readonly origin: string;
  /** turn 0 converted: its entry is serialised per request, because the system text opens it */
  readonly first: UserTurnOut;
  /** UTF-8 of `,<entry>` for history entries 1 … turnCount − 1, in order, in a few chunks */
  readonly chunks: readonly Uint8Array[];
  readonly converter: ConverterState;
  /** toolUses of the last history turn, which the next user turn answers */
  readonly previousUses: readonly QToolUse[];
  /** names of tools used in history, in first-use order (they need a spec) */
  readonly historyToolNames: readonly string[];
  /** every ToolNamer.upstream call the conversion made, in order: [client name, upstream name] */
  readonly namerCalls: ReadonlyArray<readonly [string, string]>;
  /** warnings the conversion of these turns produced */
  readonly warnings: readonly string[];
  /** the client's tools as specs, when it offered any (and tool_choice was not none) */
  readonly clientTools?: ClientToolsSnapshot;
}

/** buildTools' work on the client's tool list. */
export interface ClientToolsSnapshot {
  /** JSON of each toolSpecification sent, in order */
  readonly specs: readonly string[];
  readonly docs: ReadonlyArray<{ name: string; description: string }>;
  readonly warnings: readonly string[];
  /** lower-cased upstream names offered */
  readonly offered: readonly string[];
  readonly namerCalls: ReadonlyArray<readonly [string, string]>;
}

/** What the caller knows about the new request relative to a snapshot's conversation. */
export interface HistoryResume {
  snapshot: HistorySnapshot;
  /** leading messages of the new request equal, part by part, to the snapshot's conversation */
  sharedMessages: number;
  /** the new request's tools equal the snapshot's conversation's tools, in order */
  sameTools: boolean;
}

/** More chunks than this are merged into one (one copy every so many requests). */
export const MAX_HISTORY_CHUNKS = 16;

/** The chunks plus one more, merged once they are too many. */
export function appendChunk(chunks: readonly Uint8Array[], chunk: Uint8Array | undefined): Uint8Array[] {
  const out = chunk === undefined || chunk.byteLength === 0 ? [...chunks] : [...chunks, chunk];
  if (out.length <= MAX_HISTORY_CHUNKS) return out;
  let size = 0;
  for (const c of out) size += c.byteLength;
  const merged = new Uint8Array(size);
  let at = 0;
  for (const c of out) {
    merged.set(c, at);
    at += c.byteLength;
  }
  return [merged];
}

/** Roughly what a snapshot keeps alive beyond the messages themselves, in bytes, erring high. */
export function snapshotBytes(s: HistorySnapshot): number {
  let n = 1024 + s.first.text.length * 2;
  for (const c of s.chunks) n += c.byteLength;
  // ids, names and warnings: a few dozen characters each, in Sets, Maps and arrays
  n += (s.converter.seenUseIds.size + s.converter.nameByClientId.size + s.namerCalls.length + s.historyToolNames.length + s.warnings.length) * 160;
  for (const use of s.previousUses) n += 2 * (JSON.stringify(use)?.length ?? 0) + 64;
  for (const image of s.first.images) n += image.source.bytes.length * 2;
  for (const r of s.first.toolResults) for (const c of r.content) n += c.text.length * 2;
  if (s.clientTools) {
    for (const spec of s.clientTools.specs) n += spec.length * 2;
    for (const doc of s.clientTools.docs) n += doc.description.length * 2;
  }
  return n;
}
