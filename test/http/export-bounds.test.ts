/**
 * Exports cannot be held hostage: a client that stops reading has its export ended after the stall
 * bound, and exports at once are bounded overall (503) and per caller (429), with Retry-After.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

const gateways: TestGateway[] = [];
after(async () => {
  for (const gw of gateways) await gw.close();
});

/** Sixty seeded recordings combined into one WAV: far more than the sockets between us can hold. */
const combined = `/api/v1/recordings/media?recordIds=${Array.from({ length: 60 }, (_, i) => 10121901 + i).join(',')}&format=wav&as=combined`;

/** A GET whose answer nobody reads: the connection, and what it had received when it closed. */
function unreadGet(url: string): { socket: net.Socket; closed: Promise<Buffer> } {
  const { hostname, port, pathname, search } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`);
  socket.pause();
  const chunks: Buffer[] = [];
  const closed = new Promise<Buffer>((resolve) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.on('error', () => undefined);
  });
  return { socket, closed };
}

describe('a client that stops reading', () => {
  test('has its export ended after the stall bound, and its slot freed', async () => {
    const gw = await startTestGateway({ seed: true }, {}, { exportBounds: { max: 1, maxPerCaller: 1, stallTimeoutMs: 500 } });
    gateways.push(gw);
    const head = await fetch(`${gw.url}${combined}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    const length = Number(head.headers.get('content-length'));
    assert.ok(length > 20 * 1024 * 1024, `the export is large: ${length} bytes`);
    const started = Date.now();
    const stalled = unreadGet(`${gw.url}${combined}`);
    // Its one slot is taken while it is held.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await fetch(`${gw.url}${combined}`, { method: 'GET' })).status, 503);
    // Reading again only once the gateway has given up on it: what arrives stops short.
    await new Promise((r) => setTimeout(r, 1500));
    stalled.socket.resume();
    const received = await stalled.closed;
    const body = received.subarray(received.indexOf('\r\n\r\n') + 4);
    assert.match(received.subarray(0, 20).toString(), /^HTTP\/1.1 200/);
    assert.ok(body.length < length, `the export was cut: ${body.length} of ${length} bytes`);
    assert.ok(Date.now() - started < 10_000);
    // And the slot is free again.
    const next = await fetch(`${gw.url}/api/v1/recordings/10121902/media?format=wav`);
    assert.equal(next.status, 200);
    await next.arrayBuffer();
  });
});

describe('exports at once', () => {
  test('past a caller\'s share: 429 with Retry-After; past the whole bound: 503; each in its surface\'s format', async () => {
    const perCaller = await startTestGateway({ seed: true }, {}, { exportBounds: { max: 3, maxPerCaller: 2 } });
    gateways.push(perCaller);
    const held = [unreadGet(`${perCaller.url}${combined}`), unreadGet(`${perCaller.url}${combined}`)];
    await new Promise((r) => setTimeout(r, 300));
    const rest = await fetch(`${perCaller.url}/api/v1/recordings/10121902/media?format=wav`);
    assert.equal(rest.status, 429);
    assert.equal(rest.headers.get('retry-after'), '5');
    assert.match(rest.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(((await rest.json()) as { resultCode: number }).resultCode, 48);
    const webApi = await fetch(`${perCaller.url}/webAPI.aspx?type=export&requestid=5&uniquefield=ident&uniqueid=10121902&media_format=wav`);
    assert.equal(webApi.status, 429);
    assert.match(await webApi.text(), /<RESULTCODE>48<\/RESULTCODE>/);
    // HEAD exports nothing: it needs no slot.
    assert.equal((await fetch(`${perCaller.url}/api/v1/recordings/10121902/media?format=wav`, { method: 'HEAD' })).status, 200);
    for (const h of held) h.socket.destroy();

    const overall = await startTestGateway({ seed: true }, {}, { exportBounds: { max: 2, maxPerCaller: 2 } });
    gateways.push(overall);
    const full = [unreadGet(`${overall.url}${combined}`), unreadGet(`${overall.url}${combined}`)];
    await new Promise((r) => setTimeout(r, 300));
    const refused = await fetch(`${overall.url}/api/v1/recordings/10121902/media?format=wav`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '5');
    await refused.arrayBuffer();
    for (const h of full) h.socket.destroy();
    // Slots come back as their responses close.
    const deadline = Date.now() + 5000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      const response = await fetch(`${overall.url}/api/v1/recordings/10121902/media?format=wav`);
      status = response.status;
      await response.arrayBuffer();
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 200);
  });
});
