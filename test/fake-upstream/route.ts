// What every route handler receives, and the small helpers they share to answer with JSON.

import type { RenderedError } from './errors';
import type { HttpRequest, HttpResponse } from './http';
import type { FakeState, RecordedRequest } from './state';

export interface RouteContext {
  state: FakeState;
  req: HttpRequest;
  res: HttpResponse;
  /** this request's entry in /__fake/requests; handlers fill operation/scenario/token */
  record: RecordedRequest;
  /** x-amzn-RequestId and Date: on every response */
  baseHeaders: Array<[string, string]>;
  /** http://host:port as the client addressed us (verification URIs point back here) */
  baseUrl: string;
}

export function bearerToken(req: HttpRequest): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get('authorization') ?? '');
  return m ? m[1]! : null;
}

/** undefined = not JSON (or not UTF-8) */
export function parseJson(body: Uint8Array): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return undefined;
  }
}

export function jsonObject(body: Uint8Array): Record<string, unknown> | null {
  const v = parseJson(body);
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

export async function sendJson(
  ctx: RouteContext,
  status: number,
  body: unknown,
  opts: { contentType?: string; headers?: Array<[string, string]> } = {},
): Promise<void> {
  await ctx.res.send(
    status,
    [['Content-Type', opts.contentType ?? 'application/json'], ...(opts.headers ?? []), ...ctx.baseHeaders],
    typeof body === 'string' ? body : JSON.stringify(body),
  );
}

export async function sendRendered(ctx: RouteContext, rendered: RenderedError): Promise<void> {
  await ctx.res.send(rendered.status, [...rendered.headers, ...ctx.baseHeaders], rendered.body);
}
