// The floor for bench/gateway.ts: a Bun server that forwards each POST, body and headers unchanged,
// to the fake upstream's Q endpoint and streams the answer back without touching it. Whatever it adds
// over the direct request is the price of one extra HTTP hop through Bun on this machine (a second
// connection, a server and a fetch client), which no gateway can avoid; the gateway's own work is
// what it adds beyond this.
//
//   PORT=… Q_ENDPOINT=http://127.0.0.1:… bun bench/passthrough.ts

const upstream = process.env.Q_ENDPOINT;
if (upstream === undefined) throw new Error('Q_ENDPOINT is required');
const FORWARDED = ['content-type', 'x-amz-target', 'authorization'];

Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: '127.0.0.1',
  development: false,
  idleTimeout: 0,
  async fetch(req) {
    if (req.method !== 'POST') return new Response('ok');
    const headers = new Headers();
    for (const name of FORWARDED) {
      const value = req.headers.get(name);
      if (value !== null) headers.set(name, value);
    }
    const res = await fetch(`${upstream}/`, { method: 'POST', headers, body: await req.arrayBuffer(), signal: req.signal });
    return new Response(res.body, { status: res.status, headers: { 'content-type': res.headers.get('content-type') ?? 'application/octet-stream' } });
  },
});
