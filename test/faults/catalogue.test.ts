// The fault table: every scenario of the fake upstream's catalogue (test/fake-upstream/scenarios.ts,
// faults.ts) mapped to what a client sees, in both dialects, streaming and not. Each row runs on a
// fresh in-process gateway with two accounts (so "fails once" scenarios show failover) and short
// upstream timeouts (so stalls are quick).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream/server';
import { SCENARIOS } from '../fake-upstream/scenarios';
import { inProcessGateway } from './harness';
import { chatRequest, type Dialect, type Outcome, outcomeOf } from './outcome';

type Kind = 'invalid_request' | 'rate_limit' | 'overloaded' | 'upstream' | 'unavailable' | 'timeout';
type Stop = 'end_turn' | 'tool_use' | 'max_tokens';

/** The client-visible result of a row, independent of the dialect. */
type Expected =
  /** an answer: its text, stop reason, tool calls, thinking */
  | { ok: string; stop: Stop; tools?: number; thinking?: boolean }
  /** a failure before anything was committed: the same HTTP status streaming or not */
  | { status: number; kind: Kind }
  /** a failure after content was forwarded: an in-stream error after `prefix` when streaming, the
   *  HTTP status when not (a non-streaming answer is only sent once complete); `lossy`: a connection
   *  cut (RST, FIN mid-body) may discard bytes already in flight, so the text forwarded is some start of `prefix` — or none,
   *  and then it is a failed attempt like `after=0` (HTTP `status` once every account failed) */
  | { streamError: Kind; prefix: string; status: number; lossy?: true };

/** errors.ts's mapping, written out: the table says what clients see, not what the code does. */
const ERROR_TYPE: Record<Kind, Record<Dialect, string>> = {
  invalid_request: { anthropic: 'invalid_request_error', openai: 'invalid_request_error' },
  rate_limit: { anthropic: 'rate_limit_error', openai: 'rate_limit_error' },
  overloaded: { anthropic: 'overloaded_error', openai: 'server_error' },
  upstream: { anthropic: 'api_error', openai: 'server_error' },
  unavailable: { anthropic: 'overloaded_error', openai: 'server_error' },
  timeout: { anthropic: 'api_error', openai: 'server_error' },
};
const STOP: Record<Stop, Record<Dialect, string>> = {
  end_turn: { anthropic: 'end_turn', openai: 'stop' },
  tool_use: { anthropic: 'tool_use', openai: 'tool_calls' },
  max_tokens: { anthropic: 'max_tokens', openai: 'length' },
};

const PLAIN = 'Hello from the fake upstream. This reply is split into many small events.';
/** the first three deltas of PLAIN: what mid-stream faults forward before they break */
const PREFIX3 = 'Hello from t';
/** Upstream idle timeout of the gateways here: a stalled stream fails after this long. */
const IDLE_MS = 150;

const ROWS: Array<[scenario: string, args: string, expected: Expected]> = [
  // streams
  ['plain', '', { ok: PLAIN, stop: 'end_turn' }],
  ['echo', '', { ok: 'echo: hello', stop: 'end_turn' }],
  ['long', 'n=50', { ok: 'lorem '.repeat(50), stop: 'end_turn' }],
  ['thinking', '', { ok: 'Hello!', stop: 'end_turn', thinking: true }],
  ['thinking', 'mode=event', { ok: 'Hello!', stop: 'end_turn', thinking: true }],
  // an unclosed <thinking> tag: everything after it is thinking, no text
  ['thinking_unclosed', '', { ok: '', stop: 'end_turn', thinking: true }],
  ['tool', '', { ok: 'Let me check.', stop: 'tool_use', tools: 1 }],
  ['tools', 'n=3', { ok: '', stop: 'tool_use', tools: 3 }],
  ['tool_then_text', '', { ok: 'Let me check.Done.', stop: 'tool_use', tools: 1 }],
  // the upstream cut the tool input off: reported as hitting the output limit, never as a clean tool call
  ['tool_truncated', '', { ok: '', stop: 'max_tokens', tools: 1 }],
  ['tool_object_input', '', { ok: '', stop: 'tool_use', tools: 1 }],
  ['dup_text', '', { ok: 'haha!', stop: 'end_turn' }],
  ['unknown_events', '', { ok: PLAIN, stop: 'end_turn' }],
  ['empty', '', { status: 502, kind: 'upstream' }],
  // HTTP errors of §3.2
  ['expired_token', '', { ok: PLAIN, stop: 'end_turn' }], // refreshed, retried on the same account
  ['throttle', 'n=1', { ok: PLAIN, stop: 'end_turn' }], // failover to the second account
  ['throttle', 'n=5', { status: 429, kind: 'rate_limit' }],
  ['internal', '', { status: 502, kind: 'upstream' }],
  ['internal', 'n=1', { ok: PLAIN, stop: 'end_turn' }],
  ['capacity', '', { status: 529, kind: 'overloaded' }],
  ['monthly_limit', '', { status: 429, kind: 'rate_limit' }],
  ['overage_limit', '', { status: 429, kind: 'rate_limit' }],
  ['legacy_monthly_limit', '', { status: 429, kind: 'rate_limit' }],
  ['daily_limit', '', { status: 429, kind: 'rate_limit' }],
  ['abuse_throttle', '', { status: 429, kind: 'rate_limit' }],
  ['suspended', '', { status: 503, kind: 'unavailable' }],
  ['not_entitled', '', { status: 503, kind: 'unavailable' }],
  ['feature_denied', '', { status: 503, kind: 'unavailable' }],
  ['too_long', '', { status: 400, kind: 'invalid_request' }],
  ['invalid_model', '', { status: 400, kind: 'invalid_request' }],
  ['malformed', '', { status: 400, kind: 'invalid_request' }],
  ['high_load', '', { status: 529, kind: 'overloaded' }],
  ['unavailable', '', { status: 502, kind: 'upstream' }],
  ['http_error', 'status=418', { status: 400, kind: 'invalid_request' }], // an unknown 4xx: the request's fault
  ['http_error', 'status=500', { status: 502, kind: 'upstream' }],
  // faults: after content they are in-stream errors; before any content, failed attempts
  ['midstream_exception', '', { streamError: 'upstream', prefix: PREFIX3, status: 502 }],
  ['midstream_exception', 'after=0', { status: 502, kind: 'upstream' }],
  ['midstream_error', '', { streamError: 'upstream', prefix: PREFIX3, status: 502 }],
  ['truncated', '', { streamError: 'upstream', prefix: PREFIX3, status: 502 }],
  // a FIN mid-body: when the cut arrives with the last delta, Bun's fetch drops what it had buffered
  ['truncated', 'eof=fin', { streamError: 'upstream', prefix: PREFIX3, status: 502, lossy: true }],
  ['reset', '', { streamError: 'upstream', prefix: PREFIX3, status: 502, lossy: true }],
  ['reset', 'after=0', { status: 502, kind: 'upstream' }],
  ['bad_crc', '', { streamError: 'upstream', prefix: PREFIX3, status: 502 }],
  ['bad_length', '', { streamError: 'upstream', prefix: PREFIX3, status: 502 }],
  ['slow', 'first_ms=20,gap_ms=2', { ok: PLAIN, stop: 'end_turn' }],
  ['slow_headers', 'first_ms=40', { ok: PLAIN, stop: 'end_turn' }],
  ['stall', 'after=2', { streamError: 'upstream', prefix: 'Hello fr', status: 502 }],
  ['stall', 'after=0', { status: 504, kind: 'timeout' }],
];

function expectedOutcome(e: Expected, dialect: Dialect, stream: boolean): Outcome {
  if ('ok' in e) {
    return { kind: 'ok', text: e.ok, stop: STOP[e.stop][dialect], tools: e.tools ?? 0, thinking: e.thinking ?? false };
  }
  if ('streamError' in e) {
    return stream
      ? { kind: 'stream_error', type: ERROR_TYPE[e.streamError][dialect], text: e.prefix }
      : { kind: 'http_error', status: e.status, type: ERROR_TYPE[e.streamError][dialect] };
  }
  return { kind: 'http_error', status: e.status, type: ERROR_TYPE[e.kind][dialect] };
}

let fake: FakeUpstream;
let seq = 0;
beforeAll(async () => {
  fake = await startFakeUpstream();
});
afterAll(async () => {
  await fake.stop();
});

describe('fault catalogue → client-visible outcome', () => {
  test('the table covers every scenario of the catalogue', () => {
    const covered = new Set(ROWS.map(([name]) => name));
    expect([...SCENARIOS.keys()].filter((k) => !covered.has(k))).toEqual([]);
  });

  test.each(ROWS)('%s %s', async (scenario, args, expected) => {
    const seen: Record<string, Outcome> = {};
    const want: Record<string, Outcome> = {};
    for (const dialect of ['anthropic', 'openai'] as Dialect[]) {
      for (const stream of [true, false]) {
        // A fresh gateway per request: cooldowns and disabled accounts from one case never leak into the next.
        const n = ++seq;
        const gw = await inProcessGateway({
          upstreamUrl: fake.url,
          env: { UPSTREAM_IDLE_TIMEOUT_MS: String(IDLE_MS), UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '2000' },
        });
        try {
          for (const a of [0, 1]) {
            fake.seedToken({ accessToken: `fc-at-${n}-${a}`, refreshToken: `fc-rt-${n}-${a}`, expiresIn: 3600, authMethod: 'social' });
            await gw.ctx.store.accounts.create({ accessToken: `fc-at-${n}-${a}`, refreshToken: `fc-rt-${n}-${a}`, authMethod: 'social', expiresAt: new Date(Date.now() + 3600_000) });
          }
          const marker = `[[fake:${scenario}:${args ? `${args},` : ''}id=fc${n}]]`;
          const key = `${dialect} ${stream ? 'stream' : 'json'}`;
          const got = await outcomeOf(dialect, await chatRequest({ url: '', fetch: gw.fetch }, dialect, `${marker} hello`, { stream }));
          want[key] = expectedOutcome(expected, dialect, stream);
          const w = want[key];
          // A cut connection may eat the last deltas, or all of them: any start of the expected text (or the
          // failure before commit) is the same outcome.
          if ('lossy' in expected && w.kind === 'stream_error') {
            if (got.kind === 'stream_error' && w.text.startsWith(got.text)) got.text = w.text;
            if (got.kind === 'http_error' && got.status === expected.status && got.type === w.type) seen[key] = w;
          }
          seen[key] ??= got;
        } finally {
          await gw.stop();
        }
      }
    }
    expect(seen).toEqual(want);
  });
});
