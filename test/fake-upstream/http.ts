// Minimal HTTP/1.1 server on raw node:net. The fake needs byte-level control that Bun.serve and
// node:http hide: the exact moment of the status line, one TCP write per chunk, partial frames,
// a clean FIN mid-body, and an RST (socket.resetAndDestroy) - all verified on the wire in Bun 1.4.5.

import net from 'node:net';

export interface HttpRequest {
  method: string;
  /** raw request-target as sent */
  target: string;
  path: string;
  query: URLSearchParams;
  /** lower-case names; repeated headers joined with ", " */
  headers: Map<string, string>;
  body: Uint8Array;
}

export type HttpHandler = (req: HttpRequest, res: HttpResponse) => Promise<void>;

export interface HttpServer {
  port: number;
  close(): Promise<void>;
}

// Generous bounds: request bodies carry base64 images (≤ 10 MiB each, §2.4) and too-long prompts.
const MAX_HEAD_BYTES = 64 * 1024;
const MAX_BODY_BYTES = 64 * 1024 * 1024;

const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 302: 'Found', 400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required',
  403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

class ProtocolError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One response on one connection. Every write is awaited until the socket has taken it, so each
 * call is its own flush (and, with Nagle disabled, its own TCP segment on loopback).
 */
export class HttpResponse {
  status = 0;
  headersSent = false;
  finished = false;
  /** body bytes written (chunk framing excluded) */
  bodyBytes = 0;
  /** the client went away before the response finished */
  disconnectedEarly = false;
  disconnectedAt: number | null = null;
  /** the fake deliberately broke the connection (reset / fin / stall teardown) */
  serverAborted = false;
  private chunked = false;

  constructor(
    private readonly conn: Connection,
    private readonly keepAlive: boolean,
  ) {}

  /** true once the socket is gone, whoever closed it */
  get closed(): boolean {
    return this.conn.closed;
  }

  whenClosed(): Promise<void> {
    return this.conn.closedPromise;
  }

  /** Runs `listener` when the socket goes away; returns the unsubscribe (timers use it, so a long
   * slow stream does not pile up one closure per sleep). */
  onClose(listener: () => void): () => void {
    return this.conn.onClose(listener);
  }

  /** complete response with Content-Length */
  async send(status: number, headers: Array<[string, string]>, body: Uint8Array | string): Promise<void> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const head = this.head(status, [...headers, ['Content-Length', String(bytes.length)]]);
    this.bodyBytes += bytes.length;
    // Marked before the write resolves: a client that closes right after the last byte is not early.
    this.finished = true;
    await this.conn.write(Buffer.concat([head, bytes]));
  }

  /** status line + headers of a chunked response, flushed immediately */
  async begin(status: number, headers: Array<[string, string]>): Promise<void> {
    this.chunked = true;
    await this.conn.write(this.head(status, [...headers, ['Transfer-Encoding', 'chunked']]));
  }

  /** one HTTP chunk = one socket write */
  async write(data: Uint8Array): Promise<void> {
    if (!this.chunked) throw new Error('write() before begin()');
    if (data.length === 0 || this.conn.closed) return;
    this.bodyBytes += data.length;
    await this.conn.write(Buffer.concat([Buffer.from(data.length.toString(16) + '\r\n'), data, CRLF]));
  }

  /** terminal chunk; `close` also ends the connection with a FIN afterwards */
  async end(opts: { close?: boolean } = {}): Promise<void> {
    this.finished = true;
    if (this.chunked) await this.conn.write(LAST_CHUNK);
    if (opts.close) this.conn.endSocket();
  }

  /** FIN without the terminal chunk: the body is cut at the HTTP level too */
  fin(): void {
    this.serverAborted = true;
    this.conn.endSocket();
  }

  /** abort with RST (SO_LINGER 0) */
  reset(): void {
    this.serverAborted = true;
    this.conn.reset();
  }

  private head(status: number, headers: Array<[string, string]>): Buffer {
    if (this.headersSent) throw new Error('headers already sent');
    this.headersSent = true;
    this.status = status;
    let text = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}\r\n`;
    for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
    text += `Connection: ${this.keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`;
    return Buffer.from(text, 'latin1');
  }
}

class Connection {
  closed = false;
  /** we sent (or are sending) our FIN: no further request is served on this socket */
  private closing = false;
  readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  private buffer: Buffer = Buffer.alloc(0);
  private busy = false;
  private sentContinue = false;
  private current: HttpResponse | null = null;
  private readonly pendingWrites = new Set<() => void>();
  private readonly closeListeners = new Set<() => void>();

  constructor(
    readonly socket: net.Socket,
    private readonly handler: HttpHandler,
    private readonly clock: () => number,
  ) {
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      if (!this.busy) this.pump();
    });
    // 'error' (ECONNRESET from the client) is always followed by 'close'; handle it there.
    socket.on('error', () => {});
    socket.on('end', () => this.markClosed());
    socket.on('close', () => this.markClosed());
  }

  write(data: Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.pendingWrites.add(resolve);
      this.socket.write(data, () => {
        this.pendingWrites.delete(resolve);
        resolve();
      });
    });
  }

  onClose(listener: () => void): () => void {
    if (this.closed) {
      listener();
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  endSocket(): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.socket.end();
  }

  reset(): void {
    if (this.closed) return;
    this.socket.resetAndDestroy();
    this.markClosed();
  }

  destroy(): void {
    this.socket.destroy();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    const res = this.current;
    if (res && !res.finished && !res.serverAborted) {
      res.disconnectedEarly = true;
      res.disconnectedAt = this.clock();
    }
    // A write to a dead socket may never call back; release everyone waiting on one.
    for (const resolve of this.pendingWrites) resolve();
    this.pendingWrites.clear();
    for (const listener of this.closeListeners) listener();
    this.closeListeners.clear();
    this.resolveClosed();
  }

  private pump(): void {
    let parsed: { req: HttpRequest; keepAlive: boolean; consumed: number } | null;
    try {
      parsed = this.parse();
    } catch (err) {
      const status = err instanceof ProtocolError ? err.status : 400;
      const body = `${(err as Error).message}\n`;
      this.socket.end(`HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
      this.busy = true; // never parse again on this connection
      return;
    }
    if (!parsed) return;
    this.buffer = this.buffer.subarray(parsed.consumed);
    this.sentContinue = false;
    this.busy = true;
    const res = new HttpResponse(this, parsed.keepAlive);
    this.current = res;
    void this.run(parsed.req, res, parsed.keepAlive);
  }

  private async run(req: HttpRequest, res: HttpResponse, keepAlive: boolean): Promise<void> {
    try {
      await this.handler(req, res);
    } catch (err) {
      if (!res.headersSent && !this.closed) {
        await res.send(500, [['Content-Type', 'text/plain']], `fake-upstream handler error: ${(err as Error).message}\n`);
      } else {
        this.destroy();
      }
    }
    if (this.closed || this.closing) return;
    if (!res.finished || !keepAlive) {
      this.endSocket();
      return;
    }
    this.current = null;
    this.busy = false;
    if (this.buffer.length > 0) this.pump();
  }

  /** null = need more bytes */
  private parse(): { req: HttpRequest; keepAlive: boolean; consumed: number } | null {
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      if (this.buffer.length > MAX_HEAD_BYTES) throw new ProtocolError(431, 'request head too large');
      return null;
    }
    const lines = this.buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
    const match = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0] ?? '');
    if (!match) throw new ProtocolError(400, 'malformed request line');
    const [, method = '', target = '', minor] = match;
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon <= 0) throw new ProtocolError(400, 'malformed header line');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
    }
    const bodyStart = headEnd + 4;
    const body = this.parseBody(headers, bodyStart);
    if (!body) {
      if (!this.sentContinue && headers.get('expect')?.toLowerCase() === '100-continue') {
        this.sentContinue = true;
        this.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
      }
      return null;
    }
    const connection = (headers.get('connection') ?? '').toLowerCase();
    const keepAlive = minor === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    const url = new URL(target, 'http://fake.invalid');
    return {
      req: { method, target, path: url.pathname, query: url.searchParams, headers, body: body.bytes },
      keepAlive,
      consumed: body.end,
    };
  }

  private parseBody(headers: Map<string, string>, start: number): { bytes: Uint8Array; end: number } | null {
    const te = (headers.get('transfer-encoding') ?? '').toLowerCase();
    if (te.includes('chunked')) return this.parseChunked(start);
    const cl = headers.get('content-length');
    const length = cl === undefined ? 0 : Number(cl);
    if (!Number.isSafeInteger(length) || length < 0) throw new ProtocolError(400, 'bad content-length');
    if (length > MAX_BODY_BYTES) throw new ProtocolError(413, 'request body too large');
    if (this.buffer.length < start + length) return null;
    return { bytes: new Uint8Array(this.buffer.subarray(start, start + length)), end: start + length };
  }

  private parseChunked(start: number): { bytes: Uint8Array; end: number } | null {
    const parts: Buffer[] = [];
    let total = 0;
    let pos = start;
    for (;;) {
      const lineEnd = this.buffer.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const size = parseInt(this.buffer.subarray(pos, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
      if (!Number.isSafeInteger(size) || size < 0) throw new ProtocolError(400, 'bad chunk size');
      pos = lineEnd + 2;
      if (size === 0) {
        // Trailers (ignored) end with an empty line.
        for (;;) {
          const end = this.buffer.indexOf('\r\n', pos);
          if (end < 0) return null;
          const empty = end === pos;
          pos = end + 2;
          if (empty) return { bytes: new Uint8Array(Buffer.concat(parts)), end: pos };
        }
      }
      total += size;
      if (total > MAX_BODY_BYTES) throw new ProtocolError(413, 'request body too large');
      if (this.buffer.length < pos + size + 2) return null;
      parts.push(this.buffer.subarray(pos, pos + size));
      pos += size + 2;
    }
  }
}

export async function startHttpServer(opts: {
  host: string;
  port: number;
  handler: HttpHandler;
  clock: () => number;
}): Promise<HttpServer> {
  const connections = new Set<Connection>();
  const server = net.createServer((socket) => {
    const conn = new Connection(socket, opts.handler, opts.clock);
    connections.add(conn);
    void conn.closedPromise.then(() => connections.delete(conn));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    close: async () => {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const conn of connections) conn.destroy();
      await closing;
    },
  };
}
