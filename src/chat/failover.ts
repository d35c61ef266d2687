// How the chat engine reacts to an upstream failure before the response is committed
// (upstream-protocol.md §3.3), and which GatewayError the client gets when every attempt failed.
// Pure: the decisions are tables over UpstreamError kinds.

import { GatewayError } from '../http/errors';
import type { UpstreamError, UpstreamErrorKind } from '../upstream/errors';

export type FailoverAction =
  /** the request itself is at fault: same answer on every account, so reject at once */
  | { action: 'reject' }
  /** the bearer was rejected: refresh it once and retry on the same account */
  | { action: 'refresh' }
  /** this account (or this attempt) failed: book it and try another account */
  | { action: 'next_account' };

const ACTIONS: Readonly<Record<UpstreamErrorKind, FailoverAction['action']>> = {
  too_long: 'reject',
  invalid_model: 'reject',
  bad_request: 'reject',
  invalid_token: 'refresh',
  suspended: 'next_account',
  forbidden: 'next_account',
  quota: 'next_account',
  throttled: 'next_account',
  // ERROR_REACTIONS calls capacity service-wide, but accounts land on different capacity pools
  // often enough that one more account is worth its few milliseconds before a 529.
  capacity: 'next_account',
  server_error: 'next_account',
  network: 'next_account',
  timeout: 'next_account',
  // Before the first content event nothing was forwarded, so a broken stream is just a failed attempt.
  stream: 'next_account',
};

export function failoverAction(err: UpstreamError): FailoverAction {
  return { action: ACTIONS[err.kind] };
}

/** Claude Code starts compaction on exactly this text (Anthropic's own wording). */
export const PROMPT_TOO_LONG = 'prompt is too long';

/** Seconds a throttled client is told to wait when the upstream named no Retry-After. */
export const DEFAULT_RETRY_AFTER_S = 5;

/** The 4xx a client error becomes: never retried, never booked against the account. */
export function clientError(err: UpstreamError, ctx: { inputTokens: number; contextWindow: number; qModelId: string }): GatewayError {
  const upstream = err.upstreamMessage ?? err.message;
  switch (err.kind) {
    case 'too_long': {
      // Anthropic's "N tokens > M maximum" lets clients size their compaction; only say it when true.
      const numbers = ctx.inputTokens > ctx.contextWindow ? `${ctx.inputTokens} tokens > ${ctx.contextWindow} maximum` : 'the input exceeds the model context limit';
      return new GatewayError('invalid_request', `${PROMPT_TOO_LONG}: ${numbers} (upstream: ${upstream})`, { cause: err });
    }
    case 'invalid_model':
      return new GatewayError('invalid_request', `The upstream does not accept model ${ctx.qModelId}: ${upstream}`, { param: 'model', cause: err });
    default:
      return new GatewayError('invalid_request', `The upstream rejected the request: ${upstream}`, { cause: err });
  }
}

/** The answer when every account tried failed; `last` is the final attempt's error. */
export function exhaustedError(last: UpstreamError, accountsTried: number): GatewayError {
  const tried = `after trying ${accountsTried} account${accountsTried === 1 ? '' : 's'}`;
  const detail = `${tried}; last error: ${last.message}`;
  switch (last.kind) {
    case 'throttled': {
      const seconds = last.retryAfterMs === undefined ? DEFAULT_RETRY_AFTER_S : Math.max(1, Math.ceil(last.retryAfterMs / 1000));
      return new GatewayError('rate_limit', `The upstream is rate limiting requests ${detail}`, {
        headers: { 'retry-after': String(seconds) },
        cause: last,
      });
    }
    case 'quota':
      return new GatewayError('rate_limit', `The accounts are out of quota (monthly/overage limit reached) ${detail}`, { cause: last });
    case 'capacity':
      return new GatewayError('overloaded', `The upstream model is overloaded ${detail}`, { cause: last });
    case 'timeout':
      return new GatewayError('timeout', `The upstream did not answer in time ${detail}`, { cause: last });
    case 'suspended':
    case 'forbidden':
    case 'invalid_token':
      return new GatewayError('unavailable', `No account could serve the request ${detail}`, { cause: last });
    default:
      return new GatewayError('upstream', `The upstream failed ${detail}`, { cause: last });
  }
}
