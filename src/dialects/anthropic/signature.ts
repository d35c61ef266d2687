// Thinking-block signatures: the ones this gateway issues and how it recognises them when a client
// sends its history back.
//
// Why issue any: Claude Code drops thinking blocks that end without a `signature_delta` (peers.md
// §3.4), so every thinking block we emit is closed with one. Why not forge: a signature is
// Anthropic's proof that a block is genuine; a fake that looked like one would make a session that
// later moves to a real Anthropic upstream fail with "Invalid signature in thinking block" and hide
// where the block came from. So ours are openly marked (`q2api.v1.` prefix) and carry only what the
// upstream itself signed, if anything:
//   q2api.v1.none           — the block came from `<thinking>` tags; nobody signed it
//   q2api.v1.s.<base64url>  — the upstream (reasoningContentEvent) signed it with the wrapped value
// On the way back in, only our own are honoured; Anthropic's (or anyone else's) are removed and the
// thinking text is kept unsigned, since Q can use the reasoning but cannot verify the signature.

export const SIGNATURE_PREFIX = 'q2api.v1.';
const UNSIGNED = `${SIGNATURE_PREFIX}none`;
const SIGNED = `${SIGNATURE_PREFIX}s.`;

/** The signature to send to the client for a thinking block, given what the upstream signed (if anything). */
export function issueSignature(upstreamSignature?: string): string {
  if (!upstreamSignature) return UNSIGNED;
  return SIGNED + Buffer.from(upstreamSignature, 'utf8').toString('base64url');
}

/**
 * What a client-sent signature means: `ours` when this gateway issued it, with the upstream's own
 * signature when there was one.
 */
export function readSignature(signature: unknown): { ours: boolean; upstream?: string } {
  if (typeof signature !== 'string' || !signature.startsWith(SIGNATURE_PREFIX)) return { ours: false };
  if (signature === UNSIGNED) return { ours: true };
  if (signature.startsWith(SIGNED)) {
    const payload = signature.slice(SIGNED.length);
    if (/^[A-Za-z0-9_-]+$/.test(payload)) return { ours: true, upstream: Buffer.from(payload, 'base64url').toString('utf8') };
  }
  return { ours: false };
}
