import { describe, expect, test } from 'bun:test';
import { isPrivateAddress, privateTargetReason } from '../../src/http/url-guard';
import { fetchImage } from '../../src/http/image-fetch';

describe('isPrivateAddress', () => {
  test.each([
    '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0',
    '224.0.0.1', '::1', '::', 'fe80::1', 'fd00::1', 'fc12::3', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '64:ff9b::a00:1', 'not-an-ip',
  ])('%s is internal', (ip) => expect(isPrivateAddress(ip)).toBe(true));
  test.each(['1.1.1.1', '8.8.8.8', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('%s is public', (ip) =>
    expect(isPrivateAddress(ip)).toBe(false),
  );
});

describe('image URLs on internal hosts', () => {
  test('loopback by name and by address is refused unless allowed', async () => {
    expect(await privateTargetReason(new URL('http://localhost:9/x.png'))).toContain('IMAGE_FETCH_ALLOW_PRIVATE');
    expect(await privateTargetReason(new URL('http://[::1]:9/x.png'))).toContain('internal address');
    expect(await privateTargetReason(new URL('http://8.8.8.8/x.png'))).toBeUndefined();
  });

  test('fetchImage refuses an internal host with a 400 naming the field, and a redirect into one', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    let hits = 0;
    const server = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (req) => {
        hits++;
        return new URL(req.url).pathname === '/hop' ? Response.redirect('/img.png', 302) : new Response(png, { headers: { 'content-type': 'image/png' } });
      },
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const opts = { maxBytes: 1 << 20, timeoutMs: 2000 };
      const err = await fetchImage(`${base}/img.png`, 'messages.0.content.0.source', opts).catch((e) => e);
      expect(err.status).toBe(400);
      expect(err.param).toBe('messages.0.content.0.source');
      expect(hits).toBe(0); // refused before any connection
      // with the guard lifted, redirects are followed by hand (each hop checked) and the image arrives
      const ok = await fetchImage(`${base}/hop`, 'p', { ...opts, allowPrivate: true });
      expect(ok.mediaType).toBe('image/png');
      expect(hits).toBe(2);
    } finally {
      server.stop(true);
    }
  });
});
