/**
 * What a WebAPI caller sees when the XML core misbehaves: the gateway's own RESULTs with the
 * documented codes and fitting HTTP statuses, and recovery.
 */
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { accessPlugin } from '../../src/http/access/plugin.js';
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import Fastify from 'fastify';
import { CorePool } from '../../src/core/pool.js';
import { GatewayMetrics } from '../../src/http/ops/metrics.js';
import { webApiPlugin } from '../../src/http/webapi/plugin.js';
import { childText, parseXml } from '../../src/protocol/xml.js';
import { startTestGateway, type TestGateway } from './gateway-harness.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function call(path: string): Promise<{ status: number; retryAfter: string | null; code: number; message: string; requestType: string; requestId: string }> {
  const response = await fetch(gw!.url + path);
  const root = parseXml(await response.text());
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    code: Number(childText(root, 'RESULTCODE')),
    message: childText(root, 'RESULTMSG') ?? '',
    requestType: childText(root, 'REQUESTTYPE') ?? '',
    requestId: childText(root, 'REQUESTID') ?? '',
  };
}

test('a core that answers too late: 504, and the late answer never reaches the next caller', async () => {
  gw = await startTestGateway({}, { requestTimeoutMs: 300, size: 1 });
  gw.sim.faults.add({ kind: 'delay', type: 'DEVICELIST', delayMs: 1000, times: 1 });
  const slow = await call('/webAPI.aspx?type=devicelist&requestid=41');
  assert.equal(slow.status, 504);
  assert.equal(slow.code, 11);
  assert.equal(slow.requestType, 'DEVICELIST');
  assert.equal(slow.requestId, '41');
  const next = await call('/webAPI.aspx?type=test&requestid=42');
  assert.equal(next.status, 200);
  assert.equal(next.requestType, 'TEST');
  assert.equal(next.requestId, '42');
});

test('a core answering another request: 502', async () => {
  gw = await startTestGateway();
  // Bound to DEVICELIST: the pool's health probes are TESTs.
  gw.sim.faults.add({ kind: 'mismatch', type: 'DEVICELIST', times: 1 });
  const answer = await call('/webAPI.aspx?type=devicelist&requestid=7');
  assert.equal(answer.status, 502);
  assert.equal(answer.code, 11);
  assert.equal((await call('/webAPI.aspx?type=test&requestid=8')).status, 200);
});

test('a core that is down: 503 with Retry-After, /readyz 503, then recovery', async () => {
  gw = await startTestGateway({}, { requestTimeoutMs: 2000, connectTimeoutMs: 500, backoffInitialMs: 50, backoffMaxMs: 200, healthIntervalMs: 100 });
  assert.equal((await call('/webAPI.aspx?type=test&requestid=1')).status, 200);
  const { port } = gw.sim;
  await gw.sim.close();
  // Requests fail fast once the pool knows the core is down.
  let answer = await call('/webAPI.aspx?type=test&requestid=2');
  for (let i = 0; i < 20 && answer.status === 200; i++) answer = await call('/webAPI.aspx?type=test&requestid=2');
  assert.equal(answer.status, 503);
  assert.equal(answer.code, 34);
  assert.equal(answer.retryAfter, '5');
  const deadline = Date.now() + 5000;
  while ((await fetch(`${gw.url}/readyz`)).status !== 503 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal((await fetch(`${gw.url}/readyz`)).status, 503);
  const { startSimulator } = await import('../../src/sim/simulator.js');
  const revived = await startSimulator({ port, eventPort: 0 });
  try {
    let status = 0;
    const until = Date.now() + 10_000;
    while (status !== 200 && Date.now() < until) {
      status = (await fetch(`${gw.url}/readyz`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, 200);
    assert.equal((await call('/webAPI.aspx?type=test&requestid=3')).status, 200);
  } finally {
    await revived.close();
  }
});

/** Polls /readyz until its status is `status`; the milliseconds it took and its last body. */
async function readyzBecomes(status: number, withinMs: number): Promise<{ ms: number; body: { status: string; reason?: string } }> {
  const started = Date.now();
  for (;;) {
    const response = await fetch(`${gw!.url}/readyz`);
    const body = (await response.json()) as { status: string; reason?: string };
    if (response.status === status) return { ms: Date.now() - started, body };
    assert.ok(Date.now() - started < withinMs, `/readyz still ${response.status} after ${withinMs} ms: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a hung core (it accepts, answers nothing): /readyz fails within the probe bound with the reason, and recovers when the core answers', async () => {
  gw = await startTestGateway({}, { requestTimeoutMs: 10_000, probeTimeoutMs: 300, stallMs: 1000 });
  await readyzBecomes(200, 1000);
  gw.sim.faults.add({ kind: 'silent' });
  // A probe within a second of the last is shared: at most that second, then the probe bound.
  const failed = await readyzBecomes(503, 1000 + 300 + 500);
  assert.match(failed.body.reason ?? '', /did not answer TEST/);
  gw.sim.faults.clear();
  const recovered = await readyzBecomes(200, 3000);
  assert.ok(recovered.ms < 3000);
  gw.sim.faults.add({ kind: 'silent', type: 'CALLLIST' });
  const waiting = fetch(`${gw.url}/webAPI.aspx?type=calllist&requestid=10&callcount=1`).then((r) => r.status);
  // A request the core never answers makes the pool not ready once it has waited past the stall bound.
  const stalled = await readyzBecomes(503, 1000 + 1000 + 500);
  assert.match(stalled.body.reason ?? '', /a request has waited \d+ ms for the core/);
  gw.sim.faults.clear();
  await gw.close();
  gw = undefined;
  await waiting.catch(() => undefined);
});

test('a core back from a restart serves calls within a second of listening again, with the default backoff', async () => {
  gw = await startTestGateway({}, { requestTimeoutMs: 2000 });
  assert.equal((await call('/webAPI.aspx?type=test&requestid=1')).status, 200);
  const { port } = gw.sim;
  await gw.sim.close();
  await readyzBecomes(503, 5000);
  // Down for a while: the backoff has grown as far as it goes.
  await new Promise((r) => setTimeout(r, 3000));
  const { startSimulator } = await import('../../src/sim/simulator.js');
  const revived = await startSimulator({ port, eventPort: 0 });
  const listening = Date.now();
  try {
    let answer = await call('/webAPI.aspx?type=test&requestid=2');
    while (answer.status !== 200 && Date.now() - listening < 5000) {
      await new Promise((r) => setTimeout(r, 10));
      answer = await call('/webAPI.aspx?type=test&requestid=2');
    }
    const ms = Date.now() - listening;
    assert.equal(answer.status, 200);
    assert.ok(ms <= 1000, `calls succeeded ${ms} ms after the core listened again`);
  } finally {
    await gw.close();
    gw = undefined;
    await revived.close();
  }
});

test('a failure inside the gateway is an XML RESULT 11 with HTTP 500 that tells nothing of its internals', async () => {
  const app = Fastify({ logger: false });
  const pool = new CorePool({ host: '127.0.0.1', port: 9, size: 1, queueMax: 1, requestTimeoutMs: 1000, connectTimeoutMs: 1000 });
  try {
    // The WebAPI asks who its callers are: on loopback, in protected mode, anyone may do anything.
    const gatekeeper = new Gatekeeper({ open: false, keys: undefined, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
    await app.register(accessPlugin, { gatekeeper, webApiQueryKeys: false, render: { webapi: () => undefined, rest: () => undefined, events: () => undefined, metrics: () => undefined } });
    await app.register(webApiPlugin, {
      access: { gatekeeper, webApiQueryKeys: false },
      pool,
      metrics: new GatewayMetrics(() => pool.stats),
      coreTimeoutMs: 1000,
      gatewayCommands: async () => {
        throw new Error('ENOENT: /srv/secret/recordings/x.wav');
      },
    });
    const response = await app.inject({ url: '/webAPI.aspx?type=export&requestid=43&uniquefield=ident&uniqueid=1&media_format=wav' });
    assert.equal(response.statusCode, 500);
    assert.match(String(response.headers['content-type']), /^text\/xml/);
    const root = parseXml(response.body);
    assert.equal(childText(root, 'RESULTCODE'), '11');
    assert.equal(childText(root, 'REQUESTTYPE'), 'EXPORT');
    assert.equal(childText(root, 'REQUESTID'), '43');
    assert.doesNotMatch(response.body, /secret|ENOENT/);
  } finally {
    await app.close();
    await pool.close(0);
  }
});
