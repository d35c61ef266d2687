// The fake Amazon Q service (§6.2): operation routing for both dialects, bearer auth, request
// validation, scenario selection (§6.3) and the non-streaming operations.

import { qErrors, renderQError, type QError } from './errors';
import type { ScenarioContext } from './plan';
import { listModelsDocument, profileObject, usageDocument } from './q-documents';
import { tokenFingerprint } from './random';
import { FAKE_PROFILE_ARN, type AccessTokenRecord } from './registry';
import { bearerToken, jsonObject, sendJson, sendRendered, type RouteContext } from './route';
import { dryRun, SCENARIOS } from './scenarios';
import { findMarker, parseSpec, ScenarioArgError, specFromObject, type ScenarioSpec } from './selection';
import { writePlan } from './stream';
import { firstHistoryUserContent, parseChatRequest, strictViolation, type ChatRequest } from './validation';

type QOperation = 'GenerateAssistantResponse' | 'SendMessage' | 'ListAvailableModels' | 'GetUsageLimits' | 'ListAvailableProfiles' | 'GetProfile';
type Dialect = 'rpc' | 'rest';

const RPC_TARGETS: Record<string, QOperation> = {
  'AmazonCodeWhispererStreamingService.GenerateAssistantResponse': 'GenerateAssistantResponse',
  'AmazonCodeWhispererStreamingService.SendMessage': 'SendMessage',
  'AmazonCodeWhispererService.ListAvailableModels': 'ListAvailableModels',
  'AmazonCodeWhispererService.GetUsageLimits': 'GetUsageLimits',
  'AmazonCodeWhispererService.ListAvailableProfiles': 'ListAvailableProfiles',
  'AmazonCodeWhispererService.GetProfile': 'GetProfile',
};

// Path casing copied from Kiro tools exactly (§2.2): /ListAvailableModels vs /getUsageLimits.
const REST_ROUTES: Record<string, QOperation> = {
  'POST /generateAssistantResponse': 'GenerateAssistantResponse',
  'POST /sendMessage': 'SendMessage',
  'GET /ListAvailableModels': 'ListAvailableModels',
  'GET /getUsageLimits': 'GetUsageLimits',
};

function resolveOperation(ctx: RouteContext): { op: QOperation; dialect: Dialect } | null {
  const { req } = ctx;
  if (req.method === 'POST' && req.path === '/') {
    const op = RPC_TARGETS[req.headers.get('x-amz-target') ?? ''];
    return op ? { op, dialect: 'rpc' } : null;
  }
  const op = REST_ROUTES[`${req.method} ${req.path}`];
  return op ? { op, dialect: 'rest' } : null;
}

interface Caller {
  token: string;
  record: AccessTokenRecord | null;
  /** usage counters are per account, which survives token refreshes */
  account: string;
}

function authenticate(ctx: RouteContext): Caller | null {
  const token = bearerToken(ctx.req);
  const check = ctx.state.registry.checkAccess(token);
  if (check.ok) return { token: token!, record: check.record, account: check.record.account };
  // accept_any_token lets unknown bearers through, never revoked or expired ones.
  if (token && check.why === 'unknown' && ctx.state.config.accept_any_token) {
    return { token, record: null, account: `any:${tokenFingerprint(token)}` };
  }
  return null;
}

/** require_profile_arn (§6.1, §5.5): missing ARN → 400; an ARN the token does not own → 403. */
function profileProblem(ctx: RouteContext, caller: Caller, requestArn: string | null): QError | null {
  const mode = ctx.state.config.require_profile_arn;
  if (mode === 'never') return null;
  const needed = mode === 'always' || caller.record?.authMethod === 'social';
  if (needed && !requestArn) return qErrors.malformed();
  const owned = caller.record?.profileArn;
  if (requestArn && owned && requestArn !== owned) return qErrors.featureDenied();
  return null;
}

async function sendError(ctx: RouteContext, error: QError, note?: string): Promise<void> {
  if (note) ctx.record.note = note;
  await sendRendered(ctx, renderQError(error));
}

/** §6.3: queue, then x-fake-scenario header, then prompt marker, then default_scenario. */
function selectScenario(ctx: RouteContext, caller: Caller, chat: ChatRequest): ScenarioSpec {
  const { state, req } = ctx;
  const queued = state.takeQueued('q', { token: caller.token, text: new TextDecoder().decode(req.body), path: req.path });
  if (queued) return specFromObject(queued.scenario, queued.args, 'queue', `queue#${queued.seq}`);
  const header = req.headers.get('x-fake-scenario');
  if (header) return parseSpec(header, 'header');
  const history = firstHistoryUserContent(chat.body);
  const marker = findMarker(chat.content) ?? (history === null ? null : findMarker(history));
  if (marker) return marker;
  return parseSpec(state.config.default_scenario, 'default');
}

async function generate(ctx: RouteContext, op: 'GenerateAssistantResponse' | 'SendMessage', caller: Caller): Promise<void> {
  const { state } = ctx;
  const chat = parseChatRequest(ctx.req.body);
  if ('status' in chat) return sendError(ctx, chat, 'basic validation failed');
  const profile = profileProblem(ctx, caller, chat.profileArn);
  if (profile) return sendError(ctx, profile, 'profileArn requirement');
  if (state.config.strict_requests) {
    const violation = strictViolation(chat.body, state.config);
    if (violation) return sendError(ctx, violation.error, `strict: ${violation.why}`);
  }

  let spec: ScenarioSpec;
  try {
    spec = selectScenario(ctx, caller, chat);
  } catch (err) {
    if (err instanceof ScenarioArgError) return sendError(ctx, qErrors.fakeMisuse(err.message));
    throw err;
  }
  const isDryRun = chat.dryRun && spec.source === 'default';
  ctx.record.scenario = isDryRun ? 'dry_run' : spec.name;
  ctx.record.scenarioArgs = spec.args.toJSON();
  const builder = isDryRun ? dryRun : SCENARIOS.get(spec.name);
  if (!builder) return sendError(ctx, qErrors.fakeMisuse(`unknown scenario ${JSON.stringify(spec.name)}`));

  const scenarioCtx: ScenarioContext = {
    spec,
    args: spec.args,
    state,
    operation: op,
    body: chat.body,
    rawBodyBytes: ctx.req.body.length,
    content: chat.content,
    toolNames: chat.toolNames,
    conversationId: chat.conversationId,
    token: caller.token,
    tokenRecord: caller.record,
  };
  let plan;
  try {
    plan = builder(scenarioCtx);
  } catch (err) {
    if (err instanceof ScenarioArgError) return sendError(ctx, qErrors.fakeMisuse(`${spec.name}: ${err.message}`));
    throw err;
  }
  const ended = plan.kind === 'stream' ? state.streamStarted() : null;
  const epoch = state.epoch;
  try {
    await writePlan(ctx.res, plan, {
      baseHeaders: ctx.baseHeaders,
      onCredits: (credits) => state.addUsage(caller.account, credits, epoch),
    });
  } finally {
    ended?.(ctx.res.disconnectedEarly);
  }
}

/** RPC reads inputs from the JSON body, REST from the query string. */
function inputs(ctx: RouteContext, dialect: Dialect): Record<string, unknown> {
  if (dialect === 'rest') return Object.fromEntries(ctx.req.query);
  return jsonObject(ctx.req.body) ?? {};
}

function optionalInt(v: unknown): number | null {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : null;
}

async function nonStreaming(ctx: RouteContext, op: QOperation, dialect: Dialect, caller: Caller): Promise<void> {
  const { state } = ctx;
  const input = inputs(ctx, dialect);
  const requestArn = typeof input.profileArn === 'string' ? input.profileArn : null;
  const contentType = dialect === 'rpc' ? 'application/x-amz-json-1.0' : 'application/json';
  const ok = (doc: unknown) => sendJson(ctx, 200, doc, { contentType });

  switch (op) {
    case 'ListAvailableModels': {
      const problem = profileProblem(ctx, caller, requestArn);
      if (problem) return sendError(ctx, problem, 'profileArn requirement');
      const nextToken = typeof input.nextToken === 'string' ? input.nextToken : null;
      return ok(listModelsDocument(state.config.known_models, optionalInt(input.maxResults), nextToken));
    }
    case 'GetUsageLimits': {
      const problem = profileProblem(ctx, caller, requestArn);
      if (problem) return sendError(ctx, problem, 'profileArn requirement');
      return ok(
        usageDocument({
          nowMs: state.now(),
          usedCredits: state.usage.get(caller.account) ?? 0,
          limit: state.config.usage_limit,
          account: caller.account,
        }),
      );
    }
    case 'ListAvailableProfiles':
      return ok({ profiles: [profileObject()] });
    case 'GetProfile':
      if (requestArn !== FAKE_PROFILE_ARN) {
        return sendError(ctx, { status: 404, type: 'ResourceNotFoundException', body: { message: 'Profile not found.', reason: null } });
      }
      return ok({ profile: profileObject() });
    default:
      throw new Error(`not a non-streaming operation: ${op}`);
  }
}

export async function handleQ(ctx: RouteContext): Promise<void> {
  const resolved = resolveOperation(ctx);
  if (!resolved) return sendError(ctx, qErrors.unknownOperation(), 'unknown operation');
  ctx.record.operation = resolved.op;
  const token = bearerToken(ctx.req);
  if (token) ctx.record.tokenFingerprint = tokenFingerprint(token);

  const caller = authenticate(ctx);
  if (!caller) return sendError(ctx, qErrors.invalidToken(), 'bearer rejected');

  if (resolved.op === 'GenerateAssistantResponse' || resolved.op === 'SendMessage') return generate(ctx, resolved.op, caller);
  return nonStreaming(ctx, resolved.op, resolved.dialect, caller);
}
