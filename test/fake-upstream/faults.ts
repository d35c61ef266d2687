// Failure scenarios of §6.4: HTTP errors with the exact §3.2 bodies (some stateful: n failures,
// then success), in-stream exceptions and error frames, and transport faults (truncation, RST,
// corrupt CRC/length, slow and stalled streams).

import { encodeErrorFrame, encodeException } from '../../src/upstream/eventstream-encode';
import { MIDSTREAM_MESSAGE, qErrors, type QError, type TypeIn } from './errors';
import { commonArgs, errorPlan, ev, streamPlan, textDeltas, type ScenarioBuilder, type ScenarioContext, type StreamItem } from './plan';

const FAKE_USER_ID = 'fake-user-0001';

const fixed = (make: (ctx: ScenarioContext) => QError): ScenarioBuilder => (ctx) => errorPlan(ctx, make(ctx));

/**
 * `n` failures for this scenario id, then `success`. Without `n` (and no default) it always fails.
 * Counters live in FakeState, keyed by scenario name + id, and are cleared by reset.
 */
function failThenSucceed(name: string, defaultN: number | null, make: (ctx: ScenarioContext) => QError, success: ScenarioBuilder): ScenarioBuilder {
  return (ctx) => {
    const n = ctx.args.has('n') ? ctx.args.int('n', 0) : defaultN;
    const error = make(ctx);
    if (n === null) return errorPlan(ctx, error);
    const seen = ctx.state.countUp(`${name}|${ctx.spec.id}`);
    return seen < n ? errorPlan(ctx, error) : success(ctx);
  };
}

const throttled = (ctx: ScenarioContext): QError => {
  const err = qErrors.throttled();
  // The real service is not known to send Retry-After; only when a test asks for it.
  const retryAfter = ctx.args.str('retry_after');
  if (retryAfter !== undefined) err.extraHeaders = [['Retry-After', retryAfter]];
  return err;
};

/**
 * First request for this id: revoke the presented bearer and answer the invalid-token 403, as if
 * it had just expired. Later requests carry a different (refreshed) token and succeed.
 */
function expiredToken(success: ScenarioBuilder): ScenarioBuilder {
  return (ctx) => {
    if (ctx.state.countUp(`expired_token|${ctx.spec.id}`) > 0) return success(ctx);
    if (ctx.token) ctx.state.registry.revoke({ accessToken: ctx.token });
    return errorPlan(ctx, qErrors.invalidToken());
  };
}

const httpError: ScenarioBuilder = (ctx) => {
  const { args } = ctx;
  const status = args.int('status', 500, 100, 599);
  const error: QError = {
    status,
    type: args.str('type', 'InternalServerException'),
    body: { message: args.str('message', MIDSTREAM_MESSAGE), reason: args.str('reason') ?? null },
    typeIn: args.oneOf<TypeIn>('type_in', ['header', 'body', 'both'], 'header'),
  };
  return errorPlan(ctx, error);
};

/** `after` text deltas: the prefix every mid-stream fault starts with. */
function prefix(ctx: ScenarioContext, defaultAfter = 3): { items: StreamItem[]; common: ReturnType<typeof commonArgs> } {
  const common = commonArgs(ctx);
  const after = ctx.args.int('after', defaultAfter, 0, 100_000);
  return { items: textDeltas(common, after).map(ev.text), common };
}

const midstreamException: ScenarioBuilder = (ctx) => {
  const { items, common } = prefix(ctx);
  const type = ctx.args.str('type', 'error');
  const payload = { __type: type === 'error' ? 'InternalServerException' : type, message: ctx.args.str('message', MIDSTREAM_MESSAGE) };
  items.push({ bytes: encodeException(type, payload) });
  return streamPlan(ctx, common, items, { tail: false });
};

const midstreamError: ScenarioBuilder = (ctx) => {
  const { items, common } = prefix(ctx);
  items.push({ bytes: encodeErrorFrame(ctx.args.str('code', 'InternalError'), ctx.args.str('message', 'An internal server error occurred.')) });
  return streamPlan(ctx, common, items, { tail: false });
};

/** `after` events, then the first `bytes` of the next frame, then a clean end of body. */
const truncated: ScenarioBuilder = (ctx) => {
  const { items, common } = prefix(ctx);
  const next = ev.text(textDeltas(common, items.length + 1).at(-1) ?? 'x').bytes;
  const bytes = ctx.args.int('bytes', Math.floor(next.length / 2), 1, next.length - 1);
  items.push({ bytes: next.subarray(0, bytes) });
  // eof=chunk (default): terminal chunk then FIN, so only the event-stream layer sees the cut;
  // eof=fin: FIN without the terminal chunk, cut at the HTTP layer as well.
  const eof = ctx.args.oneOf('eof', ['chunk', 'fin'] as const, 'chunk');
  return streamPlan(ctx, common, items, { tail: false, ending: eof === 'chunk' ? 'eof_close' : 'fin' });
};

const reset: ScenarioBuilder = (ctx) => {
  const { items, common } = prefix(ctx);
  return streamPlan(ctx, common, items, { tail: false, ending: 'reset' });
};

/** A corrupt frame between good ones: a client must stop at it, not skip it (§1.8 rule 2). */
const badCrc: ScenarioBuilder = (ctx) => {
  const { items, common } = prefix(ctx);
  const which = ctx.args.oneOf('which', ['message', 'prelude'] as const, 'message');
  const deltas = textDeltas(common, items.length + 3);
  const bad = ev.text(deltas[items.length]!).bytes.slice();
  const at = which === 'message' ? bad.length - 1 : 8;
  bad[at] = bad[at]! ^ 0xff;
  items.push({ bytes: bad }, ...deltas.slice(items.length + 1).map(ev.text));
  return streamPlan(ctx, common, items);
};

/** Absurd total_length behind a valid prelude CRC: the client must refuse, never allocate 4 GiB. */
const badLength: ScenarioBuilder = (ctx) => {
  const { items, common } = prefix(ctx);
  const prelude = new Uint8Array(12);
  const view = new DataView(prelude.buffer);
  view.setUint32(0, 0xfffffff0);
  view.setUint32(4, 0);
  view.setUint32(8, Bun.hash.crc32(prelude.subarray(0, 8)));
  items.push({ bytes: prelude }, { bytes: new Uint8Array(1024) });
  return streamPlan(ctx, common, items, { tail: false });
};

function slowHeaders(plain: ScenarioBuilder): ScenarioBuilder {
  return (ctx) => {
    const plan = plain(ctx);
    if (plan.kind !== 'stream') return plan;
    // Headers go out at once; first_ms (default 3000) delays the first frame instead.
    return { ...plan, headerDelayMs: 0, firstItemDelayMs: ctx.args.num('first_ms', 3000) };
  };
}

const stall: ScenarioBuilder = (ctx) => {
  const { items, common } = prefix(ctx);
  return streamPlan(ctx, common, items, { tail: false, ending: 'stall' });
};

export function faultScenarios(plain: ScenarioBuilder): Array<[string, ScenarioBuilder]> {
  // Same script as plain with slow defaults: first_ms 3000 before the status line, gap_ms 1000.
  const slowPlain: ScenarioBuilder = (ctx) => {
    const common = commonArgs(ctx, { firstMs: 3000, gapMs: 1000 });
    const plan = plain(ctx);
    if (plan.kind !== 'stream') return plan;
    return { ...plan, headerDelayMs: common.firstMs, gapMs: common.gapMs };
  };
  return [
    ['expired_token', expiredToken(plain)],
    ['throttle', failThenSucceed('throttle', 1, throttled, plain)],
    ['internal', failThenSucceed('internal', null, () => qErrors.internal(), plain)],
    ['capacity', fixed(() => qErrors.capacity())],
    ['monthly_limit', fixed(() => qErrors.monthlyLimit())],
    ['overage_limit', fixed(() => qErrors.overageLimit())],
    ['legacy_monthly_limit', fixed((ctx) => qErrors.legacyMonthlyLimit(ctx.args.int('status', 400, 100, 599)))],
    ['daily_limit', fixed(() => qErrors.dailyLimit())],
    ['abuse_throttle', fixed((ctx) => qErrors.abuse(ctx.args.str('user', FAKE_USER_ID)))],
    ['suspended', fixed((ctx) => qErrors.suspended(ctx.args.str('user', FAKE_USER_ID), ctx.args.str('reason') ?? null))],
    ['not_entitled', fixed(() => qErrors.notEntitled())],
    ['feature_denied', fixed(() => qErrors.featureDenied())],
    ['too_long', fixed(() => qErrors.tooLong())],
    ['invalid_model', fixed(() => qErrors.invalidModel())],
    ['malformed', fixed(() => qErrors.malformed())],
    ['high_load', fixed(() => qErrors.highLoad())],
    ['unavailable', fixed(() => qErrors.unavailable())],
    ['http_error', httpError],
    ['midstream_exception', midstreamException],
    ['midstream_error', midstreamError],
    ['truncated', truncated],
    ['reset', reset],
    ['bad_crc', badCrc],
    ['bad_length', badLength],
    ['slow', slowPlain],
    ['slow_headers', slowHeaders(plain)],
    ['stall', stall],
  ];
}
