/**
 * Webhooks without Redis survive a restart: a gateway whose receiver is down queues and retries,
 * stops, and the gateway started again on the same data dir finds the webhook, the queue in its
 * order, the attempts made, and the fan-out's cursor, and delivers once the receiver is back.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startSimulator } from '../../src/sim/simulator.js';
import { SqliteWebhookStore } from '../../src/webhooks/sqlite-store.js';
import { startTestGateway } from '../http/gateway-harness.js';
import { WebhookReceiver } from './receiver.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-restart-'));
const cleanups: (() => Promise<void> | void)[] = [() => fs.rmSync(dataDir, { recursive: true, force: true })];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test('a restart loses no webhook, no queued delivery, no retry state, nor the fan-out cursor', { timeout: 30_000 }, async () => {
  const sim = await startSimulator({ port: 0, eventPort: 0 });
  cleanups.push(() => sim.close());
  const receiver = await WebhookReceiver.start();
  cleanups.push(() => receiver.close());
  let down = true;
  receiver.responder = () => ({ status: down ? 503 : 204 });
  const options = { sim, recordings: { dataDir }, webhooks: { retrySchedule: Array<number>(10).fill(200) } };

  const first = await startTestGateway({}, {}, options);
  const post = async (url: string, body?: unknown): Promise<any> =>
    (await fetch(url, { method: 'POST', headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : null })).json();
  const { webhook, secret } = await post(`${first.url}/api/v1/webhooks`, { url: receiver.url, eventTypes: ['CALLSTART'] });
  for (let deadline = Date.now() + 5000; first.events.upstream !== 'up'; await new Promise((r) => setTimeout(r, 20))) assert.ok(Date.now() < deadline);
  await post(`${first.url}/api/v1/calls/start`, { deviceId: '4301' });
  const test1 = await post(`${first.url}/api/v1/webhooks/${webhook.id}/test`);
  await receiver.waitFor(2);
  await first.close();
  const triedBefore = receiver.received.length;

  // What the file holds, as the next start reads it.
  const store = new SqliteWebhookStore({ file: path.join(dataDir, 'webhooks.sqlite') });
  const queued = await store.deliveries(webhook.id, { limit: 10 });
  const cursor = await store.fanOutCursor();
  await store.close();
  assert.deepEqual(
    queued.map((d) => d.eventType),
    ['webhook.test', 'CALLSTART'],
  );
  assert.ok(queued.every((d) => d.status === 'retrying' || d.status === 'pending'));
  assert.ok(queued[1]!.attempts >= 1 && queued[1]!.responseStatus === 503, 'the retry state is kept');
  assert.ok(cursor !== undefined && cursor >= queued[1]!.eventId!, 'the cursor is past the event fanned out');

  down = false;
  const second = await startTestGateway({}, {}, options);
  cleanups.push(() => second.close());
  const after = await (await fetch(`${second.url}/api/v1/webhooks/${webhook.id}`)).json();
  assert.equal(after.webhook.url, receiver.url);
  const delivered = (await receiver.waitFor(triedBefore + 3)).slice(-3).map((r) => WebhookReceiver.verify(secret, r) as { type: string; from?: string; to?: string });
  assert.deepEqual(
    delivered.map((p) => p.type),
    ['CALLSTART', 'webhook.test', 'gap'],
    'in the order they were queued, signed with the secret kept; then the window the gateway was down, whatever the filter',
  );
  const gap = delivered[2]!;
  assert.ok(Date.parse(gap.from!) <= Math.floor(cursor! / 1000) && Date.parse(gap.to!) >= Date.parse(gap.from!), JSON.stringify(gap));
  const listed = (await (await fetch(`${second.url}/api/v1/webhooks/${webhook.id}/deliveries?status=delivered`)).json()).deliveries;
  assert.deepEqual(
    listed.map((d: { id: string; eventType: string }) => (d.eventType === 'gap' ? 'gap' : d.id)),
    ['gap', test1.delivery.id, queued[1]!.id],
  );
  assert.ok(listed[2].attempts > queued[1]!.attempts, 'attempts go on counting from where they stood');
});
