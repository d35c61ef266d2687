// Fetches an image a request refers to by URL (Anthropic `source.type:"url"`, OpenAI `image_url`),
// because Q only takes image bytes. Bounded: a size cap enforced while the body streams in, a
// timeout, and a media type from the response (or the bytes) limited to what Q accepts. Shared by
// the API dialects; failures are 400s naming the field.

import type { ImageMediaType } from '../dialects/conversation';
import { fetchProxyOption, type ProxyConfig } from '../upstream/proxy';
import { GatewayError } from './errors';
import { privateTargetReason } from './url-guard';

export interface ImageFetchOptions {
  maxBytes: number;
  timeoutMs: number;
  /** fetch loopback / private / link-local hosts too (off by default: see url-guard.ts) */
  allowPrivate?: boolean;
  proxy?: ProxyConfig;
  /** the client's request signal: a disconnect stops the download */
  signal?: AbortSignal;
}

export interface FetchedImage {
  mediaType: ImageMediaType;
  /** base64, no data: prefix */
  data: string;
}

/** Redirects followed by hand, each target checked like the first URL. */
export const MAX_IMAGE_REDIRECTS = 5;

/** Downloads of one request running at once: hides latency without opening dozens of connections. */
export const IMAGE_FETCH_CONCURRENCY = 4;

const MEDIA_TYPES: readonly ImageMediaType[] = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

/** The image type from magic bytes, for servers that send no or a generic content-type. */
export function sniffImageType(b: Uint8Array): ImageMediaType | undefined {
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 6 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x38) return 'image/gif';
  if (b.length >= 12 && String.fromCharCode(...b.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...b.subarray(8, 12)) === 'WEBP') {
    return 'image/webp';
  }
  return undefined;
}

function declaredType(contentType: string | null): ImageMediaType | undefined {
  const t = contentType?.split(';')[0]?.trim().toLowerCase();
  if (t === 'image/jpg') return 'image/jpeg';
  return MEDIA_TYPES.find((m) => m === t);
}

/** Downloads `url`; throws a 400 GatewayError with `param` on any failure. */
export async function fetchImage(url: string, param: string, opts: ImageFetchOptions): Promise<FetchedImage> {
  const fail = (why: string, cause?: unknown) =>
    new GatewayError('invalid_request', `${param}: Unable to download the image from ${url}: ${why}`, { param, cause });
  if (url.startsWith('data:')) return decodeDataUrl(url, param);
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let res: Response;
  let target = url;
  for (let hop = 0; ; hop++) {
    let parsed: URL;
    try {
      parsed = new URL(target);
    } catch {
      throw fail('not a valid URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw fail('only http and https URLs are fetched');
    if (!opts.allowPrivate) {
      const reason = await privateTargetReason(parsed);
      if (reason) throw fail(reason);
    }
    try {
      // Redirects are followed by hand so that every hop passes the same address check.
      res = await fetch(target, { signal, redirect: 'manual', proxy: fetchProxyOption(target, opts.proxy) } as RequestInit);
    } catch (e) {
      throw fail(timeout.aborted ? `no answer within ${opts.timeoutMs} ms` : 'connection failed', e);
    }
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) break;
    await res.body?.cancel().catch(() => {});
    if (hop >= MAX_IMAGE_REDIRECTS) throw fail(`more than ${MAX_IMAGE_REDIRECTS} redirects`);
    target = new URL(location, target).toString();
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw fail(`HTTP ${res.status}`);
  }
  const declaredLength = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declaredLength) && declaredLength > opts.maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw fail(`it is larger than ${opts.maxBytes} bytes`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > opts.maxBytes) {
        await reader.cancel().catch(() => {});
        throw fail(`it is larger than ${opts.maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof GatewayError) throw e;
    throw fail(timeout.aborted ? `no complete answer within ${opts.timeoutMs} ms` : 'the download broke off', e);
  }
  const bytes = Buffer.concat(chunks);
  const mediaType = sniffImageType(bytes) ?? declaredType(res.headers.get('content-type'));
  if (!mediaType) {
    throw fail(`unsupported content type ${JSON.stringify(res.headers.get('content-type') ?? '')}; expected PNG, JPEG, GIF or WebP`);
  }
  if (bytes.length === 0) throw fail('the response is empty');
  return { mediaType, data: bytes.toString('base64') };
}

function decodeDataUrl(url: string, param: string): FetchedImage {
  const m = /^data:([^;,]+)?(;base64)?,(.*)$/s.exec(url);
  const mediaType = declaredType(m?.[1] ?? null);
  if (!m || !m[2] || !mediaType) {
    throw new GatewayError('invalid_request', `${param}: expected a base64 data URL of a PNG, JPEG, GIF or WebP image`, { param });
  }
  return { mediaType, data: m[3]!.replace(/\s+/g, '') };
}

/** An image part a decoder left for the shell to download (both dialects' PendingImage have this shape). */
export interface PendingImageRef {
  url: string;
  param: string;
  part: { mediaType: ImageMediaType; data: string };
}

/** Downloads every pending image (a few at a time) and fills its part in place; the first failure wins. */
export async function fetchPendingImages(pending: readonly PendingImageRef[], opts: ImageFetchOptions): Promise<void> {
  if (pending.length === 0) return;
  // The first failure stops the other downloads: the request is answered with that 400 anyway.
  const stop = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal;
  let next = 0;
  const worker = async () => {
    while (next < pending.length && !signal.aborted) {
      const item = pending[next++]!;
      const image = await fetchImage(item.url, item.param, { ...opts, signal });
      item.part.mediaType = image.mediaType;
      item.part.data = image.data;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(IMAGE_FETCH_CONCURRENCY, pending.length) }, worker));
  } finally {
    stop.abort();
  }
}
