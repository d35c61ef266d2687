// API docs: /docs (Swagger UI, its assets embedded in the binary, so it works with no network) and
// /docs/json (OpenAPI 3.1 generated from the routes' schemas and `detail`, plus request shapes for the
// /v1 routes, which read their bodies by hand, and the security each API family needs).

import { Elysia, t, type AnyElysia, type TSchema } from 'elysia';
import swaggerJs from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' };
import swaggerCss from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' };
import type { AppContext } from '../context';
import { SESSION_COOKIE } from './session';

export const DOCS_PATH = '/docs';
const ASSETS = '/docs-assets';
const OPENAPI_VERSION = '3.1.2';
/** The vendored UI never changes within one binary: let browsers keep it for a day. */
const ASSET_CACHE = 'public, max-age=86400';

// The /v1 routes parse their bodies by hand (to answer in their own dialect's error shape), so the
// generator cannot see a schema: these describe the main fields for the docs, not for validation.
const Content = t.Union([t.String(), t.Array(t.Record(t.String(), t.Unknown()))]);
const AnthropicRequest = t.Object({
  model: t.String({ examples: ['claude-sonnet-4.5'] }),
  messages: t.Array(t.Object({ role: t.Union([t.Literal('user'), t.Literal('assistant')]), content: Content })),
  max_tokens: t.Integer({ minimum: 1 }),
  system: t.Optional(Content),
  stream: t.Optional(t.Boolean()),
  thinking: t.Optional(t.Object({ type: t.String({ examples: ['enabled', 'adaptive', 'disabled'] }), budget_tokens: t.Optional(t.Integer()) })),
  tools: t.Optional(t.Array(t.Object({ name: t.String(), description: t.Optional(t.String()), input_schema: t.Optional(t.Record(t.String(), t.Unknown())) }))),
  tool_choice: t.Optional(t.Record(t.String(), t.Unknown())),
  temperature: t.Optional(t.Number()),
  top_p: t.Optional(t.Number()),
  top_k: t.Optional(t.Integer()),
  stop_sequences: t.Optional(t.Array(t.String())),
  metadata: t.Optional(t.Record(t.String(), t.Unknown())),
});
const AnthropicMessage = t.Object({
  id: t.String(),
  type: t.Literal('message'),
  role: t.Literal('assistant'),
  model: t.String(),
  content: t.Array(t.Record(t.String(), t.Unknown()), { description: 'thinking, text and tool_use blocks' }),
  stop_reason: t.Union([t.String(), t.Null()]),
  usage: t.Object({ input_tokens: t.Integer(), output_tokens: t.Integer() }),
});
const OpenAIRequest = t.Object({
  model: t.String({ examples: ['claude-sonnet-4.5'] }),
  messages: t.Array(t.Object({ role: t.String({ examples: ['system', 'user', 'assistant', 'tool'] }), content: t.Optional(t.Union([Content, t.Null()])) })),
  stream: t.Optional(t.Boolean()),
  stream_options: t.Optional(t.Object({ include_usage: t.Optional(t.Boolean()) })),
  max_tokens: t.Optional(t.Integer()),
  max_completion_tokens: t.Optional(t.Integer()),
  reasoning_effort: t.Optional(t.String({ examples: ['low', 'medium', 'high'] })),
  tools: t.Optional(t.Array(t.Record(t.String(), t.Unknown()))),
  tool_choice: t.Optional(t.Unknown()),
  response_format: t.Optional(t.Record(t.String(), t.Unknown())),
  temperature: t.Optional(t.Number()),
  top_p: t.Optional(t.Number()),
  stop: t.Optional(t.Union([t.String(), t.Array(t.String())])),
  user: t.Optional(t.String()),
});
const ChatCompletion = t.Object({
  id: t.String(),
  object: t.Literal('chat.completion'),
  created: t.Integer(),
  model: t.String(),
  choices: t.Array(t.Record(t.String(), t.Unknown())),
  usage: t.Record(t.String(), t.Unknown()),
});

type Reference = Record<string, Record<string, { body?: TSchema; response?: Record<number, TSchema> }>>;
const REFERENCES: Reference = {
  '/v1/messages': { post: { body: AnthropicRequest, response: { 200: AnthropicMessage } } },
  '/v1/messages/count_tokens': { post: { body: t.Omit(AnthropicRequest, ['max_tokens', 'stream']), response: { 200: t.Object({ input_tokens: t.Integer() }) } } },
  '/v1/chat/completions': { post: { body: OpenAIRequest, response: { 200: ChatCompletion } } },
};

const SECURITY_SCHEMES = {
  clientKey: { type: 'http', scheme: 'bearer', description: 'A client key from OPENAI_KEYS (open when OPENAI_KEYS is empty)' },
  clientApiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'The same client key, Anthropic style' },
  adminKey: { type: 'http', scheme: 'bearer', description: 'ADMIN_KEY' },
  consoleSession: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Console session (POST /v2/session); mutating calls also need the x-q2api-csrf header' },
} as const;

/** Which credentials a path needs, by API family; routes that set `security` themselves keep theirs. */
function securityFor(path: string): Array<Record<string, string[]>> | undefined {
  if (path.startsWith('/v1/')) return [{ clientKey: [] }, { clientApiKey: [] }];
  if (path.startsWith('/v2/')) return [{ adminKey: [] }, { consoleSession: [] }];
  if (path === '/metrics') return [{ adminKey: [] }, {}]; // {}: open when METRICS_PUBLIC=true
  return undefined;
}

type Operation = { security?: unknown; requestBody?: { content?: Record<string, unknown> } };

export async function buildOpenAPIDocument(app: AnyElysia, version: string) {
  // Loaded on the first /docs/json only: the generator is not needed to serve the API, nor to start fast.
  const { toOpenAPISchema } = await import('@elysiajs/openapi');
  const { paths, components } = toOpenAPISchema(app, { staticFile: true }, REFERENCES as never, undefined, OPENAPI_VERSION) as {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas?: Record<string, unknown> };
  };
  for (const [path, item] of Object.entries(paths)) {
    const security = securityFor(path);
    for (const [method, op] of Object.entries(item)) {
      if (security && op.security === undefined) op.security = security;
      // parse: 'none' routes get a request body with no media type from the generator: name it.
      const body = REFERENCES[path]?.[method]?.body;
      if (body && op.requestBody && Object.keys(op.requestBody.content ?? {}).length === 0) {
        op.requestBody.content = { 'application/json': { schema: body } };
      }
    }
  }
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'q2api',
      version,
      description:
        'Amazon Q Developer / Kiro accounts as an OpenAI- and Anthropic-compatible API. `/v1/*` takes a client key ' +
        '(OPENAI_KEYS), `/v2/*` the admin key or a console session.',
    },
    tags: [
      { name: 'anthropic', description: 'Anthropic Messages API' },
      { name: 'openai', description: 'OpenAI Chat Completions API' },
      { name: 'accounts', description: 'The account pool (admin)' },
      { name: 'auth', description: 'Device-code login (admin)' },
      { name: 'console', description: 'Console session and playground (admin)' },
      { name: 'ops', description: 'Usage, live overview and metrics (admin)' },
      { name: 'system', description: 'Health' },
    ],
    paths,
    components: { schemas: components.schemas ?? {}, securitySchemes: SECURITY_SCHEMES },
  };
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>q2api API docs</title>
<link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
<style>
  body { margin: 0; }
  @media (prefers-color-scheme: dark) {
    body { background: #1b1b1f; }
    .swagger-ui { filter: invert(88%) hue-rotate(180deg); }
    .swagger-ui .microlight { filter: invert(100%) hue-rotate(180deg); }
  }
</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="${ASSETS}/swagger-ui-bundle.js"></script>
<script>
  window.ui = SwaggerUIBundle({ url: '${DOCS_PATH}/json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: false });
</script>
</body>
</html>`;

/** `app` is the whole application, read when the document is first asked for (all routes are mounted by then). */
export function docsRoutes(ctx: AppContext, app: () => AnyElysia) {
  let document: Promise<Awaited<ReturnType<typeof buildOpenAPIDocument>>> | undefined;
  const asset = (path: string, type: string) => () =>
    new Response(Bun.file(path), { headers: { 'content-type': type, 'cache-control': ASSET_CACHE } });
  return new Elysia({ name: 'docs' })
    .get(DOCS_PATH, () => new Response(PAGE, { headers: { 'content-type': 'text/html; charset=utf-8' } }), { detail: { hide: true } })
    .get(`${DOCS_PATH}/json`, () => (document ??= buildOpenAPIDocument(app(), ctx.version)).catch((e: unknown) => {
      document = undefined; // a failed build is retried by the next request, not cached
      throw e;
    }), { detail: { hide: true } })
    .get(`${ASSETS}/swagger-ui-bundle.js`, asset(swaggerJs, 'text/javascript; charset=utf-8'), { detail: { hide: true } })
    .get(`${ASSETS}/swagger-ui.css`, asset(swaggerCss, 'text/css; charset=utf-8'), { detail: { hide: true } });
}
