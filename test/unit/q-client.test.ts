// Q client behaviour that needs no server: what it hands to fetch (proxy, URL, headers) and how it
// treats odd responses. The fake-upstream suite is test/e2e/q-client.test.ts.
import { describe, expect, test } from 'bun:test';
import { createQClient, DEFAULT_Q_TIMEOUTS, type FetchFn } from '../../src/upstream/client';
import { UpstreamError } from '../../src/upstream/errors';
import { encodeEvent } from '../../src/upstream/eventstream-encode';
import { rejectionOf } from '../support/rejection';

interface Seen {
  url: string;
  init: BunFetchRequestInit;
}

function recordingFetch(respond: (url: string) => Response | Promise<Response>): { fetch: FetchFn; seen: Seen[] } {
  const seen: Seen[] = [];
  const f: FetchFn = async (input, init) => {
    seen.push({ url: String(input), init: init ?? {} });
    return respond(String(input));
  };
  return { fetch: f, seen };
}

/** A fetch that never answers but honours its signal, like a black-holed connection. */
const hangingFetch: FetchFn = (_input, init) =>
  new Promise((_resolve, reject) => {
    init?.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
  });

const eventStream = (...frames: Uint8Array[]) =>
  new Response(Buffer.concat(frames), { headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': 'rid-1' } });

const rejection = (p: Promise<unknown>) => rejectionOf(p, UpstreamError);

describe('createQClient', () => {
  test('defaults', () => {
    const c = createQClient({ endpoint: 'https://q.us-east-1.amazonaws.com/' });
    expect(c.dialect).toBe('rpc');
    expect(c.endpoint).toBe('https://q.us-east-1.amazonaws.com');
    expect(DEFAULT_Q_TIMEOUTS).toEqual({ connectMs: 10_000, firstByteMs: 120_000, idleMs: 300_000 });
  });

  test('rejects a garbage endpoint at construction', () => {
    expect(() => createQClient({ endpoint: 'not a url' })).toThrow();
  });

  test('https target uses httpsProxy, explicitly; NO_PROXY gives proxy:false', async () => {
    const { fetch, seen } = recordingFetch(() => eventStream(encodeEvent('assistantResponseEvent', { content: 'x' })));
    const proxy = { httpProxy: 'http://plain:3128', httpsProxy: 'http://tls:3128', noProxy: '.internal' };
    for await (const _ of (await createQClient({ endpoint: 'https://q.us-east-1.amazonaws.com', proxy, fetch }).generateAssistantResponse({ body: {}, accessToken: 't' })).events);
    await createQClient({ endpoint: 'https://q.corp.internal', proxy, fetch }).getUsageLimits({ accessToken: 't' }).catch(() => undefined);
    expect(seen[0]!.init.proxy).toEqual({ url: 'http://tls:3128', respectNoProxy: false });
    expect(seen[1]!.init.proxy).toBe(false);
  });

  test('REST GET query of getUsageLimits / ListAvailableModels, models without modelId dropped', async () => {
    const { fetch, seen } = recordingFetch((url) =>
      Response.json(url.includes('ListAvailableModels') ? { models: [{ modelId: 'auto' }, { nope: 1 }, null] } : { limits: [] }),
    );
    const c = createQClient({ endpoint: 'https://q.example', dialect: 'rest', fetch });
    await c.getUsageLimits({ accessToken: 't', profileArn: 'arn:p', isEmailRequired: true });
    const models = await c.listAvailableModels({ accessToken: 't', nextToken: 'n1' });
    expect(seen[0]!.url).toBe('https://q.example/getUsageLimits?origin=AI_EDITOR&resourceType=AGENTIC_REQUEST&profileArn=arn%3Ap&isEmailRequired=true');
    expect(seen[0]!.init.method).toBe('GET');
    expect(seen[1]!.url).toBe('https://q.example/ListAvailableModels?origin=AI_EDITOR&nextToken=n1');
    expect(models.models).toEqual([{ modelId: 'auto' }]);
  });

  test('a string body is sent as is', async () => {
    const { fetch, seen } = recordingFetch(() => eventStream());
    await createQClient({ endpoint: 'https://q.example', fetch }).generateAssistantResponse({ body: '{"a":1}', accessToken: 't' });
    expect(seen[0]!.init.body).toBe('{"a":1}');
  });
});

describe('odd responses', () => {
  test('200 that is not an event stream → server_error before the first byte', async () => {
    const { fetch } = recordingFetch(() => new Response('<html>login</html>', { headers: { 'content-type': 'text/html' } }));
    const err = await rejection(createQClient({ endpoint: 'https://q.example', fetch }).generateAssistantResponse({ body: {}, accessToken: 't' }));
    expect(err.kind).toBe('server_error');
    expect(err.phase).toBe('before_first_byte');
  });

  test('unary 200 with a non-JSON body → server_error', async () => {
    const { fetch } = recordingFetch(() => new Response('oops', { status: 200 }));
    const err = await rejection(createQClient({ endpoint: 'https://q.example', fetch }).getUsageLimits({ accessToken: 't' }));
    expect(err.kind).toBe('server_error');
  });

  test('huge error bodies are read only up to a cap', async () => {
    const big = `{"message":"${'x'.repeat(1_000_000)}"}`;
    const { fetch } = recordingFetch(() => new Response(big, { status: 500 }));
    const err = await rejection(createQClient({ endpoint: 'https://q.example', fetch }).generateAssistantResponse({ body: {}, accessToken: 't' }));
    expect(err.kind).toBe('server_error');
    expect(err.upstreamMessage).toBeUndefined(); // the capped text is no longer valid JSON
  });

  test('unary calls are bounded by connectMs', async () => {
    const started = performance.now();
    const err = await rejection(createQClient({ endpoint: 'https://q.example', fetch: hangingFetch, timeouts: { connectMs: 50 } }).listAvailableModels({ accessToken: 't' }));
    expect(err.kind).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('frame errors carry the request id', async () => {
    const { fetch } = recordingFetch(() => eventStream(encodeEvent('assistantResponseEvent', { content: 1 })));
    const s = await createQClient({ endpoint: 'https://q.example', fetch }).generateAssistantResponse({ body: {}, accessToken: 't' });
    expect(s.requestId).toBe('rid-1');
    let caught: unknown;
    try {
      for await (const _ of s.events);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UpstreamError);
    expect((caught as UpstreamError).requestId).toBe('rid-1');
    expect((caught as UpstreamError).message).toContain('"content" is number');
  });

  test('an already-aborted signal never reaches the network', async () => {
    const ac = new AbortController();
    ac.abort(new Error('too late'));
    const { fetch, seen } = recordingFetch(() => eventStream());
    const c = createQClient({ endpoint: 'https://q.example', fetch });
    await expect(c.generateAssistantResponse({ body: {}, accessToken: 't', signal: ac.signal })).rejects.toThrow('too late');
    await expect(c.getUsageLimits({ accessToken: 't', signal: ac.signal })).rejects.toThrow('too late');
    expect(seen).toHaveLength(0);
  });
});
