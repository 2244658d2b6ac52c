/**
 * Redis away (a Redis of this test's own, frozen with SIGSTOP, then let go): the webhooks API
 * answers 503 with Retry-After while calls go on, and once Redis answers again the message it had
 * accepted before the outage is delivered.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { SharedState } from '../../src/cluster/redis.js';
import { RedisWebhookStore } from '../../src/webhooks/redis-store.js';
import { freePort } from '../core/harness.js';
import { startTestGateway } from '../http/gateway-harness.js';
import { WebhookReceiver } from './receiver.js';

const redisServer = '/usr/bin/redis-server';
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('Redis frozen and let go: the API says 503, calls go on, and what Redis had accepted is delivered after', { skip: !fs.existsSync(redisServer) && 'redis-server is not installed', timeout: 60_000 }, async () => {
  const port = await freePort();
  const redis = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  cleanups.push(() => {
    redis.kill('SIGCONT');
    redis.kill('SIGKILL');
  });
  for (let deadline = Date.now() + 10_000; !spawnSync('redis-cli', ['-p', String(port), 'ping']).stdout?.toString().includes('PONG'); await sleep(20)) {
    assert.ok(Date.now() < deadline, 'the private Redis starts');
  }
  const shared = new SharedState({ url: `redis://127.0.0.1:${port}`, prefix: 'outage:' });
  cleanups.push(() => shared.close());
  for (let deadline = Date.now() + 5000; !shared.up; await sleep(20)) assert.ok(Date.now() < deadline);
  const gw = await startTestGateway({}, {}, {
    shared,
    webhooks: { store: new RedisWebhookStore(shared, { holder: 'only', leaseMs: 500 }), leaseMs: 500, retrySchedule: Array<number>(20).fill(300) },
  });
  cleanups.push(() => gw.close());
  const receiver = await WebhookReceiver.start();
  cleanups.push(() => receiver.close());
  let failing = true;
  receiver.responder = () => ({ status: failing ? 500 : 204 });
  const api = async (method: string, url: string, body?: unknown): Promise<Response> =>
    fetch(`${gw.url}${url}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : null });

  const made = (await (await api('POST', '/api/v1/webhooks', { url: receiver.url })).json()) as { webhook: { id: string }; secret: string };
  const queued = (await (await api('POST', `/api/v1/webhooks/${made.webhook.id}/test`)).json()) as { delivery: { webhookId: string } };
  await receiver.waitFor(1);

  redis.kill('SIGSTOP');
  const refused = await api('GET', '/api/v1/webhooks');
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '5');
  assert.equal((await api('GET', '/api/v1/system/test')).status, 200, 'calls do not need Redis');
  failing = false;
  await sleep(1500);
  redis.kill('SIGCONT');

  const delivered = await receiver.waitFor(receiver.received.length + 1, 15_000);
  const last = delivered.at(-1)!;
  assert.equal(last.headers['webhook-id'], queued.delivery.webhookId);
  WebhookReceiver.verify(made.secret, last);
  for (let deadline = Date.now() + 10_000; ; await sleep(100)) {
    const listed = (await (await api('GET', `/api/v1/webhooks/${made.webhook.id}/deliveries`)).json()) as { deliveries?: { status: string }[] };
    if (listed.deliveries?.[0]?.status === 'delivered') break;
    assert.ok(Date.now() < deadline, JSON.stringify(listed));
  }
});
