/**
 * Webhooks of one gateway (SQLite, no Redis) in front of a real simulator, delivered over real HTTP
 * to receivers on 127.0.0.1 that verify every delivery with the standardwebhooks package: the
 * events of real calls, in order; retries on a short schedule, Retry-After, 410 Gone, the dead
 * letter and redelivery, a rotated secret; refused URLs; the admin scope.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApiKeyStore } from '../../src/access/api-keys.js';
import { Gatekeeper } from '../../src/access/gatekeeper.js';
import { runKeysCommand } from '../../src/access/keys-cli.js';
import { startTestGateway, type TestGateway } from '../http/gateway-harness.js';
import { WebhookReceiver, type Received } from './receiver.js';

/** Short waits, so a schedule runs out in a second. */
const retrySchedule = [150, 200, 250];

interface Answer {
  status: number;
  body: any;
}

function client(base: () => string, key?: string) {
  return async (method: string, url: string, body?: unknown): Promise<Answer> => {
    const response = await fetch(`${base()}${url}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { authorization: `Bearer ${key}` } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
}

async function eventually<T>(what: string, read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const receivers: WebhookReceiver[] = [];
async function receiver(): Promise<WebhookReceiver> {
  const made = await WebhookReceiver.start();
  receivers.push(made);
  return made;
}

describe('webhooks of one gateway', () => {
  let gw: TestGateway;
  const api = client(() => gw.url);
  before(async () => {
    gw = await startTestGateway({}, {}, { webhooks: { retrySchedule, timeoutMs: 2000 } });
  });
  after(async () => {
    await gw.close();
    for (const r of receivers) await r.close();
  });

  async function subscribe(url: string, fields: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
    const made = await api('POST', '/api/v1/webhooks', { url, ...fields });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    return { id: made.body.webhook.id, secret: made.body.secret };
  }

  test('every CALLSTART, CALLSTOP and RECORDINGSTOPPED of real calls arrives signed, in the order of the log', async () => {
    const hooks = await receiver();
    const { id, secret } = await subscribe(hooks.url, { eventTypes: ['CALLSTART', 'CALLSTOP', 'RECORDINGSTOPPED'], description: 'calls' });
    const other = await receiver();
    await subscribe(other.url, { deviceId: 'nobody' });
    // The first webhook subscribes the gateway to the core's events, listeners or not.
    await eventually('the event subscription', async () => gw.events.upstream, (state) => state === 'up');
    for (const device of ['4101', '4102', '4101']) {
      assert.equal((await api('POST', '/api/v1/calls/start', { deviceId: device })).status, 200);
      assert.equal((await api('POST', '/api/v1/calls/stop', { deviceId: device })).status, 200);
    }
    const wanted = ['CALLSTART', 'CALLSTOP', 'RECORDINGSTOPPED'];
    const expected = await eventually(
      'the log holds the calls',
      async () => gw.events.feed!.recordsAfter(0, 1000).filter((r) => wanted.includes(r.type)),
      (records) => records.length === 9,
    );
    const got = await hooks.waitFor(9);
    const payloads = got.map((r) => WebhookReceiver.verify(secret, r) as { id: number; type: string; data: { deviceId: string } });
    assert.deepEqual(
      payloads.map((p) => p.id),
      expected.map((r) => r.id),
      'every event, once, in order',
    );
    assert.deepEqual(got.map((r) => r.body), expected.map((r) => r.json), 'the body is the event as the stream sends it');
    assert.deepEqual(got.map((r) => r.headers['webhook-id']), expected.map((r) => `msg_${r.id}`));
    assert.equal(got[0]!.headers['content-type'], 'application/json');
    assert.deepEqual(payloads.filter((p) => p.type === 'CALLSTART').map((p) => p.data.deviceId), ['4101', '4102', '4101']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(other.received.length, 0, 'a device filter lets no other device through');
    const { body } = await api('GET', `/api/v1/webhooks/${id}/deliveries?status=delivered`);
    assert.equal(body.deliveries.length, 9);
    assert.ok(body.deliveries.every((d: { attempts: number; responseStatus: number }) => d.attempts === 1 && d.responseStatus === 204));
  });

  test('a receiver answering 500 for a while is retried on the schedule until it answers 200', async () => {
    const hooks = await receiver();
    hooks.responder = (_request, n) => ({ status: n < 2 ? 500 : 200 });
    const { id, secret } = await subscribe(hooks.url);
    const queued = await api('POST', `/api/v1/webhooks/${id}/test`);
    assert.equal(queued.status, 202);
    const got = await hooks.waitFor(3);
    for (const r of got) assert.deepEqual((WebhookReceiver.verify(secret, r) as { type: string }).type, 'webhook.test');
    assert.equal(new Set(got.map((r) => r.headers['webhook-id'])).size, 1, 'one webhook-id across retries');
    assert.ok(got[1]!.at - got[0]!.at >= retrySchedule[0]! - 20 && got[2]!.at - got[1]!.at >= retrySchedule[1]! - 20, 'the schedule is waited');
    const [delivery] = (await eventually('delivered', () => api('GET', `/api/v1/webhooks/${id}/deliveries`), (a) => a.body.deliveries[0]?.status === 'delivered')).body.deliveries;
    assert.equal(delivery.id, queued.body.delivery.id);
    assert.equal(delivery.attempts, 3);
    assert.equal(delivery.responseStatus, 200);
    assert.equal(delivery.lastError, null);
  });

  test('429 with Retry-After is waited as asked', async () => {
    const hooks = await receiver();
    hooks.responder = (_request, n) => (n === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 204 });
    const { id } = await subscribe(hooks.url);
    await api('POST', `/api/v1/webhooks/${id}/test`);
    const [first, second] = await hooks.waitFor(2);
    assert.ok(second!.at - first!.at >= 950, `waited ${second!.at - first!.at} ms, not the schedule's ${retrySchedule[0]} ms`);
  });

  test('410 Gone turns the webhook off; its queue waits, and goes out in order once it is turned on again', async () => {
    const hooks = await receiver();
    hooks.responder = (_request, n) => ({ status: n === 0 ? 410 : 204 });
    const { id } = await subscribe(hooks.url);
    const first = await api('POST', `/api/v1/webhooks/${id}/test`);
    await hooks.waitFor(1);
    const off = await eventually('turned off', () => api('GET', `/api/v1/webhooks/${id}`), (a) => a.body.webhook.enabled === false);
    assert.equal(off.body.webhook.disabledReason, 'gone');
    assert.equal((await api('POST', `/api/v1/webhooks/${id}/test`)).status, 409, 'a webhook that is off takes no test');
    await new Promise((resolve) => setTimeout(resolve, retrySchedule[2]! * 2));
    assert.equal(hooks.received.length, 1, 'nothing more is sent while it is off');
    const [waiting] = (await api('GET', `/api/v1/webhooks/${id}/deliveries`)).body.deliveries;
    assert.equal(waiting.id, first.body.delivery.id);
    assert.equal(waiting.responseStatus, 410);

    const on = await api('PATCH', `/api/v1/webhooks/${id}`, { enabled: true });
    assert.equal(on.body.webhook.disabledReason, null);
    const second = await api('POST', `/api/v1/webhooks/${id}/test`);
    const got = await hooks.waitFor(3);
    assert.deepEqual(
      got.map((r: Received) => r.headers['webhook-id']),
      [first.body.delivery.webhookId, first.body.delivery.webhookId, second.body.delivery.webhookId],
      'the message that met the 410 goes first',
    );
  });

  test('after the last retry a delivery is dead-lettered, visible, and the queue moves on; redelivered, it arrives with the same webhook-id', async () => {
    const hooks = await receiver();
    let refusing: string | undefined;
    hooks.responder = (request) => ({ status: request.headers['webhook-id'] === refusing ? 500 : 204 });
    const { id, secret } = await subscribe(hooks.url);
    const doomed = await api('POST', `/api/v1/webhooks/${id}/test`);
    refusing = doomed.body.delivery.webhookId;
    const next = await api('POST', `/api/v1/webhooks/${id}/test`);
    const got = await hooks.waitFor(retrySchedule.length + 2);
    assert.deepEqual(
      got.map((r) => r.headers['webhook-id']),
      [...Array<string>(retrySchedule.length + 1).fill(refusing!), next.body.delivery.webhookId],
      'the next message waits for the dead letter',
    );
    const failed = (await eventually('dead-lettered', () => api('GET', `/api/v1/webhooks/${id}/deliveries?status=failed`), (a) => a.body.deliveries.length === 1)).body.deliveries[0];
    assert.equal(failed.id, doomed.body.delivery.id);
    assert.equal(failed.attempts, retrySchedule.length + 1);
    assert.equal(failed.responseStatus, 500);
    assert.equal(failed.nextAttemptAt, null);
    assert.match(failed.lastError, /500/);

    refusing = undefined;
    const again = await api('POST', `/api/v1/webhooks/${id}/deliveries/${failed.id}/redeliver`);
    assert.equal(again.status, 202);
    assert.notEqual(again.body.delivery.id, failed.id);
    assert.equal(again.body.delivery.webhookId, failed.webhookId);
    const [redelivered] = (await hooks.waitFor(retrySchedule.length + 3)).slice(-1);
    assert.equal(redelivered!.headers['webhook-id'], failed.webhookId);
    WebhookReceiver.verify(secret, redelivered!);
    assert.equal((await api('POST', `/api/v1/webhooks/${id}/deliveries/${next.body.delivery.id}/redeliver`)).status, 202, 'a delivered one may be sent again too');
    assert.equal((await api('POST', `/api/v1/webhooks/${id}/deliveries/dlv_AAAAAAAAAAAAAAAA/redeliver`)).status, 404);
  });

  test('after a rotation deliveries carry two signatures, each valid with its secret; the secret is shown on create and rotate only', async () => {
    const hooks = await receiver();
    const { id, secret } = await subscribe(hooks.url);
    const rotation = await api('POST', `/api/v1/webhooks/${id}/secret`);
    assert.equal(rotation.status, 200);
    const newSecret: string = rotation.body.secret;
    assert.notEqual(newSecret, secret);
    assert.ok(Date.parse(rotation.body.webhook.previousSecretExpiresAt) > Date.now() + 23 * 3600_000, 'the old secret signs for 24 hours');
    await api('POST', `/api/v1/webhooks/${id}/test`);
    const [got] = await hooks.waitFor(1);
    assert.equal(got!.headers['webhook-signature']!.split(' ').length, 2);
    WebhookReceiver.verify(secret, got!);
    WebhookReceiver.verify(newSecret, got!);
    const shown = JSON.stringify([(await api('GET', `/api/v1/webhooks/${id}`)).body, (await api('GET', '/api/v1/webhooks')).body]);
    assert.ok(!shown.includes(secret) && !shown.includes(newSecret) && !shown.includes('whsec_'), 'no secret in reads');
  });

  test('update, bounds, delete; metrics tell the outcomes and the queue', async () => {
    const { id } = await subscribe('http://127.0.0.1:9/hooks');
    assert.equal((await api('PATCH', `/api/v1/webhooks/${id}`, { eventTypes: ['RECORDINGSTOPPED'], deviceId: '7001', description: 'd' })).body.webhook.deviceId, '7001');
    assert.equal((await api('PATCH', `/api/v1/webhooks/${id}`, { eventTypes: ['NOSUCHEVENT'] })).status, 400);
    assert.equal((await api('PATCH', `/api/v1/webhooks/${id}`, {})).status, 400);
    assert.equal((await api('POST', '/api/v1/webhooks', { url: 'https://example.com/', description: 'x'.repeat(501) })).status, 400);
    assert.equal((await api('POST', '/api/v1/webhooks', { url: 'https://example.com/', surprise: 1 })).status, 400);
    assert.equal((await api('DELETE', `/api/v1/webhooks/${id}`)).status, 204);
    assert.equal((await api('GET', `/api/v1/webhooks/${id}`)).status, 404);
    assert.equal((await api('DELETE', `/api/v1/webhooks/${id}`)).status, 404);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(metrics, /uptivity_webhook_deliveries_total\{outcome="delivered"\} \d+/);
    assert.match(metrics, /uptivity_webhook_deliveries_total\{outcome="failed"\} [1-9]/);
    assert.match(metrics, /uptivity_webhook_attempt_duration_seconds_count\{result="delivered"\} \d+/);
    assert.match(metrics, /uptivity_webhook_queue_depth \d+/);
  });
});

describe('webhook targets and access', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-access-'));
  const keysFile = path.join(dir, 'keys.yaml');
  let keys: ApiKeyStore;
  let gw: TestGateway;
  let adminKey: string;
  let callsKey: string;
  before(async () => {
    adminKey = runKeysCommand(['create', '--name', 'ops', '--scopes', 'admin'], keysFile).split('\n')[0]!;
    callsKey = runKeysCommand(['create', '--name', 'crm', '--scopes', 'calls,events,status'], keysFile).split('\n')[0]!;
    keys = new ApiKeyStore({ file: keysFile });
    const gatekeeper = new Gatekeeper({ open: false, keys, tokens: undefined, webApiNetworks: undefined, allowedOrigins: new Set() });
    // WEBHOOK_ALLOW_PRIVATE unset, as by default.
    gw = await startTestGateway({}, {}, { access: { gatekeeper, webApiQueryKeys: false, metricsAuth: false }, webhooks: { allowPrivate: false } });
  });
  after(async () => {
    await gw.close();
    keys.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a loopback, private, link-local or metadata URL is refused with 422 and says why', async () => {
    const api = client(() => gw.url, adminKey);
    for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost/hook', 'http://10.0.0.5/', 'http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]/', 'http://[::ffff:127.0.0.1]/']) {
      const refused = await api('POST', '/api/v1/webhooks', { url });
      assert.equal(refused.status, 422, url);
      assert.match(refused.body.detail, /non-public address|WEBHOOK_ALLOW_PRIVATE/, url);
    }
    const schemes = await api('POST', '/api/v1/webhooks', { url: 'ftp://example.com/' });
    assert.equal(schemes.status, 422);
    assert.equal((await api('GET', '/api/v1/webhooks')).body.webhooks.length, 0);
  });

  test('the webhooks need the admin scope: 403 without it, 401 without a key', async () => {
    const withoutAdmin = client(() => gw.url, callsKey);
    for (const [method, url] of [
      ['GET', '/api/v1/webhooks'],
      ['POST', '/api/v1/webhooks'],
      ['GET', '/api/v1/webhooks/wh_AAAAAAAAAAAAAAAA/deliveries'],
    ] as const) {
      const refused = await withoutAdmin(method, url, method === 'POST' ? { url: 'https://example.com/' } : undefined);
      assert.equal(refused.status, 403, `${method} ${url}`);
      assert.match(refused.body.detail, /admin/);
    }
    assert.equal((await client(() => gw.url)('GET', '/api/v1/webhooks')).status, 401);
    assert.equal((await client(() => gw.url, adminKey)('GET', '/api/v1/webhooks')).status, 200);
  });
});
